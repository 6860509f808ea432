//! Intake with its PostgreSQL frozen (SIGSTOP, as a paused VM): a client that was answered 503
//! or timed out meanwhile must never find its petition filed behind its back once the database
//! thaws (finding 8 of the security audit).
//!
//! This binary holds a single test because it freezes the shared database; cargo runs test
//! binaries one after another, so no other test sees the pause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_testkit::intake::{TestIntake, valid_petition};
use pasokh_testkit::{Stack, repo_root};

#[tokio::test(flavor = "multi_thread")]
async fn a_petition_answered_503_while_the_database_is_frozen_is_never_saved_later() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh_with(&stack, |s| s.limits.request_timeout_ms = 700).await;
    let (status, body) = intake.submit(&valid_petition()).await;
    assert_eq!(status, 201, "{body}");

    let pause = tokio::task::spawn_blocking(|| {
        std::process::Command::new(repo_root().join("scripts/stack.sh")).args(["pg-pause", "4"]).status().unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await; // the pause has taken hold
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..5 {
        let mut petition = valid_petition();
        petition["mobile"] = format!("0935123456{n}").into();
        let url = format!("{}/v1/petitions", intake.http);
        attempts.spawn(async move {
            let response = reqwest::Client::new().post(url).json(&petition).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap_or_default())
        });
    }
    for (status, body) in attempts.join_all().await {
        assert_eq!(status, 503, "the client is told it was not saved: {body}");
    }
    assert!(pause.await.unwrap().success(), "stack.sh pg-pause failed");

    // the writer had those five queued when the database froze; give it time to (wrongly) write them
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(intake.count("petitions").await, 1, "only the petition that got its 201 is stored");
    intake.stop().await;
}
