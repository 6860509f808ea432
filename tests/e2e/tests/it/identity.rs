//! The service binaries as an operator starts them: a development credential
//! stops a production start with a clear message, a development environment
//! starts and says what it accepts, and `pasokhctl` mints development tokens
//! only when a key is named and signs in at the real provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pasokh_testkit::bin_dir;
use pasokh_testkit::{Provider, Stack, free_port};
use tokio::process::Command;

/// Runs `binary serve` with `env` for at most 20 s; (exit code, stderr) when it exits.
async fn serve(binary: &str, env: &[(&str, String)]) -> Option<(i32, String)> {
    let mut command = Command::new(bin_dir().join(binary));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(20), command.output()).await.ok()?.unwrap();
    Some((output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned()))
}

async fn base_env(stack: &Stack, service: &str) -> Vec<(&'static str, String)> {
    let database = stack.fresh_database(&format!("{service}_start")).await;
    vec![
        ("PASOKH__DATABASE__URL", database),
        ("PASOKH__KAFKA__BOOTSTRAP_SERVERS", stack.kafka.clone()),
        ("PASOKH__LISTEN__HTTP_PORT", free_port().to_string()),
        ("PASOKH__LISTEN__GRPC_PORT", free_port().to_string()),
        ("PASOKH__LISTEN__INTERNAL_GRPC_PORT", free_port().to_string()),
        ("PASOKH__TELEMETRY__LOG_FILTER", "warn".into()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_refuses_a_production_start_with_development_tokens_turned_on() {
    let stack = Stack::from_env();
    let mut env = base_env(&stack, "routing").await;
    env.push(("PASOKH__AUTH__DEV_TOKENS__ENABLED", "true".into()));
    let (code, stderr) = serve("pasokh-routing", &env).await.expect("routing must exit, not serve");
    assert_ne!(code, 0);
    assert!(stderr.contains("refusing to start") && stderr.contains("auth.dev_tokens"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_refuses_a_production_start_with_the_development_open311_partner_or_citizen_ref_key() {
    let stack = Stack::from_env();
    let mut env = base_env(&stack, "intake").await;
    env.push(("PASOKH__CITIZEN_REF_KEY", "a-real-key".into()));
    env.push(("PASOKH__OPEN311__ALLOW_DEV_KEY", "true".into()));
    let (code, stderr) = serve("pasokh-intake", &env).await.expect("intake must exit, not serve");
    assert_ne!(code, 0);
    assert!(stderr.contains("refusing to start") && stderr.contains("open311.allow_dev_key"), "{stderr}");

    let mut env = base_env(&stack, "intake").await;
    env.push(("PASOKH__DEV_CITIZEN_REF_KEY", "true".into()));
    let (code, stderr) = serve("pasokh-intake", &env).await.expect("intake must exit, not serve");
    assert_ne!(code, 0);
    assert!(stderr.contains("dev_citizen_ref_key"), "{stderr}");

    // and without any citizen_ref key it says what is missing instead of inventing one
    let env = base_env(&stack, "intake").await;
    let (code, stderr) = serve("pasokh-intake", &env).await.expect("intake must exit, not serve");
    assert_ne!(code, 0);
    assert!(stderr.contains("citizen_ref_key is not set"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_development_environment_starts_with_what_it_turned_on_and_print_config_names_it() {
    let stack = Stack::from_env();
    let mut env = base_env(&stack, "routing").await;
    env.push(("PASOKH__ENVIRONMENT", "development".into()));
    env.push(("PASOKH__AUTH__DEV_TOKENS__ENABLED", "true".into()));
    let printed = Command::new(bin_dir().join("pasokh-routing"))
        .arg("print-config")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed["active_development_credentials"], serde_json::json!(["auth.dev_tokens"]));
    assert_eq!(printed["auth"]["dev_tokens"]["key"], "[redacted]");
    let http = env.iter().find(|(k, _)| *k == "PASOKH__LISTEN__HTTP_PORT").unwrap().1.clone();
    let migrate = Command::new(bin_dir().join("pasokh-routing"))
        .arg("migrate")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .await
        .unwrap();
    assert!(migrate.success());
    let mut child = Command::new(bin_dir().join("pasokh-routing"))
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let healthy = pasokh_testkit::eventually(Duration::from_secs(30), "routing to serve", || async {
        let response = reqwest::get(format!("http://127.0.0.1:{http}/healthz")).await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    assert_eq!(healthy, ());
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pasokhctl_mints_development_tokens_only_against_a_named_key_and_signs_in_at_the_provider() {
    let pasokhctl = || {
        let mut command = Command::new(bin_dir().join("pasokhctl"));
        command.env_remove("PASOKH_DEV_TOKEN_KEY");
        command
    };
    let refused = pasokhctl().args(["token", "--role", "inspector"]).output().await.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no development key"));
    let overlong = pasokhctl()
        .args(["token", "--role", "inspector", "--dev-key", "builtin", "--ttl-minutes", "6000"])
        .output()
        .await
        .unwrap();
    assert!(!overlong.status.success(), "development tokens live an hour at most");
    let minted = pasokhctl()
        .args(["token", "--role", "operator", "--province", "IR-23", "--dev-key", "builtin"])
        .output()
        .await
        .unwrap();
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).unwrap();
    assert_eq!(jsonwebtoken::decode_header(token.trim()).unwrap().alg, jsonwebtoken::Algorithm::HS256);

    let provider = Provider::from_env();
    let login = pasokhctl()
        .args(["login", "--user", "inspector-hq", "--issuer", &provider.issuer])
        .env("PASOKH_PASSWORD", pasokh_testkit::DEMO_PASSWORD)
        .output()
        .await
        .unwrap();
    assert!(login.status.success(), "{}", String::from_utf8_lossy(&login.stderr));
    let token = String::from_utf8(login.stdout).unwrap();
    let header = jsonwebtoken::decode_header(token.trim()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256, "the provider signs asymmetrically");
    let wrong = pasokhctl()
        .args(["login", "--user", "inspector-hq", "--issuer", &provider.issuer])
        .env("PASOKH_PASSWORD", "not-the-password")
        .output()
        .await
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("invalid_grant"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}
