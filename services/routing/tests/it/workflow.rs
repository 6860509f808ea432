//! The case workflow end to end through the officers' gRPC API with real JWTs:
//! a real intake takes the petitions and the citizen's replies and ratings,
//! routing runs the cases, on the real PostgreSQL and Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::common::{World, authed, kind, token};
use chrono::{DateTime, Utc};
use pasokh_domain::Role;
use pasokh_platform::auth::dev;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::routing::v1::{
    CaseCommand, CaseRef, GetCitizenMessageRequest, ListQueueRequest, MergeRequest, ReferRequest, RejectRequest,
    SetExpectedDateRequest,
};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;
use uuid::Uuid;

fn command(petition_id: Uuid, message: &str) -> CaseCommand {
    CaseCommand { petition_id: petition_id.to_string(), message: message.into(), expected_version: 0 }
}

fn case_ref(petition_id: Uuid) -> CaseRef {
    CaseRef { petition_id: petition_id.to_string() }
}

fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_officer_takes_a_case_from_queue_to_closed_and_every_step_is_history_and_an_event() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(21, "unpaid-wages", "کارفرمای کارگاه نساجی چهار ماه است حقوق ما را نداده است").await;
    let officer = token(Role::Officer, "IR-23", "labour-inspection");
    let mut cases = world.cases().await;

    // the case waits in the labour inspectorate's Tehran queue, due date in Jalali
    let queue = cases.list_queue(authed(ListQueueRequest::default(), &officer)).await.unwrap().into_inner();
    let listed = queue.cases.iter().find(|c| c.petition_id == filed.petition_id.to_string()).expect("in the queue");
    assert_eq!((listed.status.as_str(), listed.unit.as_str()), ("routed", "labour-inspection/IR-23"));
    assert_eq!(listed.status_fa, "ارجاع شده به واحد رسیدگی");
    assert!(listed.resolution_due_jalali.starts_with("۱۴"), "{}", listed.resolution_due_jalali);
    assert_eq!(listed.sla_state, "on_track");

    // a transition the lifecycle does not allow is refused, and says why
    let refused = cases.close(authed(command(filed.petition_id, ""), &officer)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(refused.message(), "a routed case cannot be closed");

    cases.acknowledge(authed(command(filed.petition_id, ""), &officer)).await.unwrap();
    // a question without words is a bad argument naming the field
    let empty = cases.request_info(authed(command(filed.petition_id, "  "), &officer)).await.unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert_eq!(bad_request_fields(&empty), ["message"]);
    let question = "لطفاً نام و نشانی کارگاه و تاریخ آخرین پرداخت را بنویسید";
    let asked = cases.request_info(authed(command(filed.petition_id, question), &officer)).await.unwrap().into_inner();
    assert_eq!(asked.summary.unwrap().status, "info_requested");

    // the citizen answers at intake with the tracking code and mobile; a wrong mobile finds nothing
    let reply = json!({"mobile": filed.mobile, "text": "کارگاه نساجی البرز، خیابان ۱۷ شهریور؛ آخرین پرداخت خرداد"});
    let (status, _) =
        world.citizen_posts(&filed.tracking_code, "replies", json!({"mobile": "09121111111", "text": "x y"})).await;
    assert_eq!(status, 404);
    let (status, body) = world.citizen_posts(&filed.tracking_code, "replies", reply.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(world.wait_status(filed.petition_id, |s| s == "in_progress").await, "in_progress");
    // the officer can no longer be answered without asking again
    let (status, body) = world.citizen_posts(&filed.tracking_code, "replies", reply).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("reply_not_requested")));

    let answer = "بازرس کار از کارگاه بازدید کرد و کارفرما موظف به پرداخت معوقات تا پایان ماه شد";
    cases.respond(authed(command(filed.petition_id, answer), &officer)).await.unwrap();
    // the citizen's good rating closes the case
    let (status, body) =
        world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 5})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(world.wait_status(filed.petition_id, |s| s == "closed").await, "closed");
    let (status, body) =
        world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 4})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("already_rated")));

    let detail = cases.get_case_detail(authed(case_ref(filed.petition_id), &officer)).await.unwrap().into_inner();
    let steps: Vec<(String, String)> = detail.history.iter().map(|h| (h.action.clone(), h.to_status.clone())).collect();
    let expected = [
        ("submitted", "submitted"),
        ("routed", "routed"),
        ("acknowledged", "acknowledged"),
        ("asked for information", "info_requested"),
        ("given information", "in_progress"),
        ("responded to", "responded"),
        ("closed", "closed"),
    ];
    assert_eq!(steps, expected.map(|(a, s)| (a.to_owned(), s.to_owned())));
    assert!(detail.history[4].note.contains("کارگاه نساجی البرز"), "the reply is in the history for the officer");
    assert_eq!(detail.history[2].actor, "Officer-IR-23-labour-inspection");
    assert_eq!(detail.history[4].actor, "citizen");
    assert_eq!(detail.rating, 5);
    assert!(detail.history[0].at_jalali.starts_with("۱۴"), "{}", detail.history[0].at_jalali);

    // every step is on the lifecycle topic, in order, and what officers wrote is kept out of it
    let events = world.events_of(filed.petition_id, 9).await;
    let kinds: Vec<String> = events.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "submitted",
            "routed",
            "acknowledged",
            "info_requested",
            "info_provided",
            "work_started",
            "responded",
            "rated",
            "closed"
        ]
    );
    // each producer numbers its own events of the petition: intake submitted 1, info_provided 2, rated 3;
    // routing 1 … 6 in the order it changed the case
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 1, 2, 3, 2, 4, 5, 3, 6]);
    let Some(Body::Closed(closed)) = &events[8].body else { unreachable!() };
    assert_eq!(closed.reason, "accepted");
    // notification gets the officer's words for the SMS from routing, by event
    let mut lookup = world.lookup().await;
    let words = lookup
        .get_citizen_message(
            world
                .as_notification(GetCitizenMessageRequest {
                    petition_id: filed.petition_id.to_string(),
                    event_id: events[6].event_id.clone(),
                })
                .await,
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(words.text, answer);
    // the citizen's timeline: every change of status and the unit's words, without officers' notes
    let timeline = lookup
        .get_citizen_timeline(
            world
                .as_notification(pasokh_proto::routing::v1::GetCaseRequest {
                    petition_id: filed.petition_id.to_string(),
                })
                .await,
        )
        .await
        .unwrap()
        .into_inner();
    let statuses: Vec<&str> = timeline.entries.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses.first(), Some(&"submitted"));
    assert_eq!(statuses.last(), Some(&"closed"));
    assert!(timeline.entries.iter().any(|e| e.action == "responded to" && e.message == answer), "{timeline:?}");
    let seconds: Vec<i64> = timeline.entries.iter().map(|e| e.at.as_ref().map_or(0, |t| t.seconds)).collect();
    assert!(seconds.windows(2).all(|w| w[0] <= w[1]) && seconds[0] > 0, "oldest first: {seconds:?}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_and_command_is_scoped_by_the_callers_role_organisation_and_province() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(22, "pension-payment", "مستمری بازنشستگی آبان ماه واریز نشده است").await;
    let mut cases = world.cases().await;
    let id = filed.petition_id;
    let sees = async |token: &str| {
        let mut cases = world.cases().await;
        let listed = cases.list_queue(authed(ListQueueRequest::default(), token)).await.unwrap().into_inner();
        let in_queue = listed.cases.iter().any(|c| c.petition_id == id.to_string());
        let detail = cases.get_case_detail(authed(case_ref(id), token)).await;
        assert_eq!(in_queue, detail.is_ok(), "queue and detail agree");
        if let Err(status) = &detail {
            assert_eq!(status.code(), Code::NotFound, "another's case is as if it did not exist");
        }
        in_queue
    };
    assert!(sees(&token(Role::Officer, "IR-23", "sso")).await, "SSO's Tehran officer");
    assert!(!sees(&token(Role::Officer, "IR-23", "welfare")).await, "another organisation in Tehran");
    assert!(!sees(&token(Role::Officer, "IR-25", "sso")).await, "SSO in another province");
    assert!(sees(&token(Role::Supervisor, "IR-23", "")).await, "Tehran's director");
    assert!(!sees(&token(Role::Supervisor, "IR-25", "")).await, "Qom's director");
    assert!(sees(&token(Role::Inspector, "", "")).await, "HQ inspection");

    // nor can they touch it
    let outsider = token(Role::Officer, "IR-25", "sso");
    let touched = cases.acknowledge(authed(command(id, ""), &outsider)).await.unwrap_err();
    assert_eq!(touched.code(), Code::NotFound);
    assert_eq!(world.status(id).await.as_deref(), Some("routed"));

    // desk operators have no cases; no token, a forged one or an expired one get nothing
    let operator = cases.list_queue(authed(ListQueueRequest::default(), &token(Role::Operator, "IR-23", ""))).await;
    assert_eq!(operator.unwrap_err().code(), Code::PermissionDenied);
    let anonymous = cases.list_queue(tonic::Request::new(ListQueueRequest::default())).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let claims = dev::claims("mallory", "inspector", "", "", &[], "pasokh-routing", 3600);
    let forged = dev::mint(&claims, "not-the-key");
    assert_eq!(
        cases.list_queue(authed(ListQueueRequest::default(), &forged)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let expired = dev::mint(
        &dev::claims("late", "inspector", "", "", &[], "pasokh-routing", -3600),
        pasokh_platform::auth::DEV_KEY,
    );
    assert_eq!(
        cases.list_queue(authed(ListQueueRequest::default(), &expired)).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // an officer works the case but only a director reopens it
    let officer = token(Role::Officer, "IR-23", "sso");
    cases.acknowledge(authed(command(id, ""), &officer)).await.unwrap();
    cases.respond(authed(command(id, "مستمری در فهرست پرداخت هفته آینده است"), &officer)).await.unwrap();
    let reopen = cases.reopen(authed(command(id, ""), &officer)).await.unwrap_err();
    assert_eq!(reopen.code(), Code::PermissionDenied);
    let director = token(Role::Supervisor, "IR-23", "");
    let reopened = cases.reopen(authed(command(id, "پاسخ کافی نیست"), &director)).await.unwrap().into_inner();
    assert_eq!(reopened.summary.unwrap().status, "reopened");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poor_rating_reopens_the_case_as_an_appeal_in_the_directors_queue() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(23, "disability-support", "مستمری معلولیت فرزندم از بهزیستی قطع شده است").await;
    let officer = token(Role::Officer, "IR-23", "welfare");
    let mut cases = world.cases().await;
    // nothing to rate before a response
    let (status, body) =
        world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 1})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("rating_not_open")));
    let (status, body) =
        world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 9})).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (400, Some("score"), Some("score_out_of_range"))
    );

    cases.acknowledge(authed(command(filed.petition_id, ""), &officer)).await.unwrap();
    cases.respond(authed(command(filed.petition_id, "پرونده در دست بررسی کمیسیون است"), &officer)).await.unwrap();
    let (status, body) = world
        .citizen_posts(
            &filed.tracking_code,
            "rating",
            json!({"mobile": filed.mobile, "score": 1, "comment": "پاسخی نگرفتم"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(world.wait_status(filed.petition_id, |s| s == "reopened").await, "reopened");

    // the appeal waits in the provincial director's queue, with a fresh resolution target
    let director = token(Role::Supervisor, "IR-23", "");
    let appeals = ListQueueRequest { min_escalation_level: 1, ..Default::default() };
    let queue = cases.list_queue(authed(appeals, &director)).await.unwrap().into_inner();
    let appeal = queue.cases.iter().find(|c| c.petition_id == filed.petition_id.to_string()).expect("an appeal");
    assert_eq!((appeal.status.as_str(), appeal.escalation_level), ("reopened", 1));
    let events = world.events_of(filed.petition_id, 6).await;
    let Some(Body::Reopened(reopened)) = &events.last().unwrap().body else { panic!("{:?}", events.last()) };
    assert_eq!((reopened.cause.as_str(), reopened.to_unit.as_str()), ("appeal", "mcls-directorate/IR-23/director"));

    // the director answers the appeal; the citizen rates this new response, and it closes
    cases.start_work(authed(command(filed.petition_id, ""), &director)).await.unwrap();
    cases
        .respond(authed(command(filed.petition_id, "مستمری از ماه آینده دوباره برقرار می‌شود"), &director))
        .await
        .unwrap();
    let (status, body) =
        world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 4})).await;
    assert_eq!(status, 201, "a new response is rated again: {body}");
    assert_eq!(world.wait_status(filed.petition_id, |s| s == "closed").await, "closed");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ratings_sent_at_once_rate_the_response_once() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(26, "disability-support", "مستمری معلولیت فرزندم از بهزیستی قطع شده است").await;
    let officer = token(Role::Officer, "IR-23", "welfare");
    let mut cases = world.cases().await;
    cases.acknowledge(authed(command(filed.petition_id, ""), &officer)).await.unwrap();
    cases.respond(authed(command(filed.petition_id, "مستمری از ماه آینده برقرار می‌شود"), &officer)).await.unwrap();
    // a double tap, or two tabs: a 5 and a 1 for the same response, at the same moment
    let good = world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 5}));
    let poor = world.citizen_posts(&filed.tracking_code, "rating", json!({"mobile": filed.mobile, "score": 1}));
    let ((good_status, good_body), (poor_status, poor_body)) = tokio::join!(good, poor);
    let mut statuses = [good_status, poor_status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "one rating counts: {good_body} / {poor_body}");
    let refused = if good_status == 409 { &good_body } else { &poor_body };
    assert_eq!(refused["code"], "already_rated");
    let status = world.wait_status(filed.petition_id, |s| s == "closed" || s == "reopened").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let ratings: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM case_history WHERE petition_id = $1 AND actor = 'citizen' AND action <> 'submitted'",
    )
    .bind(filed.petition_id)
    .fetch_one(&world.pool)
    .await
    .unwrap();
    assert_eq!(ratings, 1, "routing saw one rating and the case is {status}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_letter_filed_in_another_province_is_a_case_of_that_province() {
    let world = World::start("IR-23", |_| {}).await;
    let qom = world.intake_for("IR-25").await;
    let text = "مستمری بازنشستگی من از مهر ماه واریز نشده و شعبه پاسخی نمی‌دهد";
    let tehran = world.file(41, "pension-payment", text).await;
    // the same citizen, the same words, at Qom's desk: Qom's office must answer it (finding 10)
    let in_qom = world.file_at(&qom, 41, "pension-payment", text).await;
    let status = world.wait_status(in_qom.petition_id, |s| s != "submitted").await;
    assert_eq!(status, "routed", "a petition is never merged into another province's case");
    let unit: String = sqlx::query_scalar("SELECT unit FROM cases WHERE petition_id = $1")
        .bind(in_qom.petition_id)
        .fetch_one(&world.pool)
        .await
        .unwrap();
    assert!(unit.ends_with("/IR-25"), "routed to a unit in Qom: {unit}");
    // within Tehran the repeat still joins Tehran's open case
    let again = world.file(41, "pension-payment", text).await;
    assert_eq!(world.status(again.petition_id).await.as_deref(), Some("merged"));
    assert_eq!(world.status(tehran.petition_id).await.as_deref(), Some("routed"));
    qom.stop().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_routing_replicas_given_the_same_letter_at_once_make_one_case_of_it() {
    let world = World::start("IR-23", |_| {}).await;
    let replica = world.routing_replica().await;
    // time for the group to give the second replica its share of the partitions
    tokio::time::sleep(Duration::from_secs(8)).await;
    let text = "کارفرما حق بیمه شش ماه گذشته را به حساب سازمان واریز نکرده است";
    // each citizen's two copies have different petition ids, so they usually land on partitions
    // that different replicas own, and are routed at the same moment
    let citizens: Vec<u32> = (60..76).collect();
    let filings = citizens.iter().flat_map(|&citizen| {
        [
            world.file_at(&world.intake, citizen, "insurance-record", text),
            world.file_at(&world.intake, citizen, "insurance-record", text),
        ]
    });
    let filed = futures_util::future::join_all(filings).await;
    for pair in filed.chunks(2) {
        let mut statuses = Vec::new();
        for petition in pair {
            statuses.push(world.wait_status(petition.petition_id, |s| s != "submitted").await);
        }
        statuses.sort();
        assert_eq!(statuses, ["merged", "routed"], "one case per letter, across replicas (finding 10)");
    }
    replica.stop().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn petitions_routed_in_one_batch_find_the_duplicates_the_batch_itself_opened() {
    // a long poll: everything filed below lands in one batch, hence one transaction
    let world = World::start("IR-23", |s| s.kafka.consumer.max_wait_ms = 3_000).await;
    let letter = "مستمری بازنشستگی من از مهر ماه واریز نشده است";
    let twins = [
        world.file_at(&world.intake, 40, "pension-payment", letter).await,
        world.file_at(&world.intake, 40, "pension-payment", "مستمری بازنشستگی من از مهر ماه واریز نشده است.").await,
    ];
    let other_text =
        world.file_at(&world.intake, 40, "pension-payment", "حکم بازنشستگی من اشتباه محاسبه شده است").await;
    let other_citizen = world.file_at(&world.intake, 41, "pension-payment", letter).await;

    let mut statuses = Vec::new();
    for twin in &twins {
        statuses.push((world.wait_status(twin.petition_id, |s| s != "submitted").await, twin));
    }
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    let [(merged_status, merged), (routed_status, original)] = statuses.as_slice() else { unreachable!() };
    assert_eq!((merged_status.as_str(), routed_status.as_str()), ("merged", "routed"), "one case per letter");
    for separate in [&other_text, &other_citizen] {
        assert_eq!(world.wait_status(separate.petition_id, |s| s != "submitted").await, "routed");
    }
    let opened: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT created_at) FROM cases").fetch_one(&world.pool).await.unwrap();
    assert_eq!(opened, 1, "the four cases were opened in one transaction");

    let events = world.events_of(merged.petition_id, 2).await;
    let Some(Body::Merged(joined)) = &events[1].body else { panic!("{events:?}") };
    assert_eq!(joined.into_tracking_code, original.tracking_code, "the citizen is told the original code");
    // each new case's history: submitted, then its first change; the original also notes the twin
    let history: Vec<(Uuid, String)> = sqlx::query_as("SELECT petition_id, action FROM case_history ORDER BY id")
        .fetch_all(&world.pool)
        .await
        .unwrap();
    let actions_of = |petition: Uuid| -> Vec<&str> {
        history.iter().filter(|(p, _)| *p == petition).map(|(_, a)| a.as_str()).collect()
    };
    assert_eq!(actions_of(original.petition_id), ["submitted", "routed", "duplicate joined"]);
    assert_eq!(actions_of(other_text.petition_id), ["submitted", "routed"]);
    assert_eq!(actions_of(merged.petition_id)[0], "submitted");
    let routed = world.events_of(other_citizen.petition_id, 2).await;
    assert!(matches!(routed[1].body, Some(Body::Routed(_))), "{routed:?}");
    assert_eq!(routed[1].sequence, 1, "a new case's first event is version 1");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_petition_of_the_same_citizen_joins_the_open_case_and_a_different_one_does_not() {
    let world = World::start("IR-23", |_| {}).await;
    let first = world.file(24, "insurance-record", "سوابق بیمه سال ۱۳۹۸ تا ۱۴۰۰ من در سامانه ثبت نشده است").await;
    // the same letter again, typed differently
    let again = world.file(24, "insurance-record", "سوابق بيمه سال 1398 تا 1400 من در سامانه ثبت نشده است!").await;
    // the same citizen about something else, and another citizen with the same words
    let other_text = world.file(24, "insurance-record", "کارفرمای قبلی حق بیمه من را با دستمزد کمتر رد کرده است").await;
    let other_citizen =
        world.file(25, "insurance-record", "سوابق بیمه سال ۱۳۹۸ تا ۱۴۰۰ من در سامانه ثبت نشده است").await;

    assert_eq!(world.status(again.petition_id).await.as_deref(), Some("merged"));
    for separate in [&first, &other_text, &other_citizen] {
        assert_eq!(world.status(separate.petition_id).await.as_deref(), Some("routed"));
    }
    let events = world.events_of(again.petition_id, 2).await;
    let Some(Body::Merged(merged)) = &events[1].body else { panic!("{events:?}") };
    assert_eq!(merged.into_tracking_code, first.tracking_code, "the citizen is told the original code");
    assert!(merged.automatic && merged.similarity >= 0.6, "{merged:?}");

    let inspector = token(Role::Inspector, "", "");
    let mut cases = world.cases().await;
    let original = cases.get_case_detail(authed(case_ref(first.petition_id), &inspector)).await.unwrap().into_inner();
    assert_eq!(original.duplicates, std::slice::from_ref(&again.tracking_code));
    assert!(original.history.iter().any(|h| h.action == "duplicate joined"), "{:?}", original.history);

    // an officer merges by hand; a merged case accepts nothing more
    let officer = token(Role::Officer, "IR-23", "sso");
    let merge = MergeRequest {
        petition_id: other_text.petition_id.to_string(),
        into_petition_id: first.petition_id.to_string(),
        expected_version: 0,
    };
    cases.merge(authed(merge, &officer)).await.unwrap();
    let late = cases.acknowledge(authed(command(other_text.petition_id, ""), &officer)).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(late.message(), "a merged case cannot be acknowledged");
    // never into another citizen's case: they would be sent someone else's tracking code
    let foreign = MergeRequest {
        petition_id: other_citizen.petition_id.to_string(),
        into_petition_id: first.petition_id.to_string(),
        expected_version: 0,
    };
    let refused = cases.merge(authed(foreign, &officer)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(world.status(other_citizen.petition_id).await.as_deref(), Some("routed"));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn referrals_move_the_case_within_the_province_up_to_the_configured_limit() {
    let world = World::start("IR-23", |s| s.workflow.max_transfers = 1).await;
    let filed = world.file(26, "other", "درباره وام قرض‌الحسنه ازدواج از بانک رفاه سؤال دارم").await;
    let director = token(Role::Supervisor, "IR-23", "");
    let mut cases = world.cases().await;
    let refer = |to: &str| ReferRequest {
        petition_id: filed.petition_id.to_string(),
        to_unit: to.into(),
        message: "موضوع مربوط به بانک است".into(),
        expected_version: 0,
    };
    let elsewhere = cases.refer(authed(refer("refah-bank/IR-25"), &director)).await.unwrap_err();
    assert_eq!((elsewhere.code(), bad_request_fields(&elsewhere)), (Code::InvalidArgument, vec!["to_unit".to_owned()]));
    // the directorate's own officer transfers it, and sees the result though the case is no longer theirs
    let directorate = token(Role::Officer, "IR-23", "mcls-directorate");
    let referred = cases.refer(authed(refer("refah-bank/IR-23"), &directorate)).await.unwrap().into_inner();
    let gone = cases.get_case_detail(authed(case_ref(filed.petition_id), &directorate)).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "out of their scope from now on");
    assert_eq!(referred.summary.as_ref().unwrap().unit, "refah-bank/IR-23");
    assert_eq!((referred.transfers, referred.summary.unwrap().status.as_str()), (1, "routed"));
    // the bank's officer now has it, the directorate's does not
    let bank = token(Role::Officer, "IR-23", "refah-bank");
    cases.acknowledge(authed(command(filed.petition_id, ""), &bank)).await.unwrap();
    let limit = cases.refer(authed(refer("sso/IR-23"), &bank)).await.unwrap_err();
    assert_eq!(limit.code(), Code::FailedPrecondition);
    assert_eq!(limit.message(), "the case was already transferred 1 times");
    let events = world.events_of(filed.petition_id, 4).await;
    let Some(Body::Referred(body)) = &events[2].body else { panic!("{events:?}") };
    assert_eq!((body.kind.as_str(), body.from_unit.as_str()), ("transfer", "mcls-directorate/IR-23"));

    // rejecting needs a known reason and words for the citizen
    let reject = |code: &str, text: &str| RejectRequest {
        petition_id: filed.petition_id.to_string(),
        reason_code: code.into(),
        message: text.into(),
        expected_version: 0,
    };
    let unknown = cases.reject(authed(reject("bored", "x"), &bank)).await.unwrap_err();
    assert_eq!(bad_request_fields(&unknown), ["reason_code"]);
    let rejected = cases.reject(authed(reject("out_of_scope", "وام ازدواج در بانک ملی است"), &bank)).await.unwrap();
    assert_eq!(rejected.into_inner().summary.unwrap().status, "rejected");
    world.stop().await;
}

/// The earliest first-response warning, and the latest of each deadline, over all cases: the cases
/// were filed seconds apart, so a clock set past the latest moment is past it for every case.
async fn due_times(world: &World) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
    sqlx::query_as(
        "SELECT min(first_response_warn), max(first_response_warn), max(first_response_due), min(resolution_warn), \
         max(resolution_due) FROM cases",
    )
    .fetch_one(&world.pool)
    .await
    .unwrap()
}

async fn alerts(world: &World) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT c.tracking_code, h.note FROM case_history h JOIN cases c USING (petition_id) \
         WHERE h.action IN ('target warning', 'target breached', 'escalated') ORDER BY h.id",
    )
    .fetch_all(&world.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watchdog_warns_breaches_and_escalates_on_a_controllable_clock_once_per_case() {
    // the service's own watchdog sleeps for an hour: only the passes below, at chosen times, run
    let world = World::start("IR-23", |s| s.watchdog.interval_secs = 3600).await;
    let mut filed = Vec::new();
    for n in 0..12 {
        filed.push(world.file(30 + n, "workplace-safety", &format!("داربست کارگاه شماره {n} ایمن نیست")).await);
    }
    let (earliest_warn, first_warn, first_due, resolution_warn, resolution_due) = due_times(&world).await;
    assert!(first_warn < first_due && first_due < resolution_warn && resolution_warn < resolution_due);
    let settings = world.settings.clone();
    let second = chrono::Duration::seconds(1);

    // before the warning nothing happens
    assert_eq!(pasokh_routing::run_watchdog_once(&settings, earliest_warn - second).await.unwrap(), 0);
    // 80 % of the first-response target: a warning per case, from two replicas at once, each exactly once
    let (a, b) = tokio::join!(
        pasokh_routing::run_watchdog_once(&settings, first_warn + second),
        pasokh_routing::run_watchdog_once(&settings, first_warn + second),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 12);
    assert_eq!(pasokh_routing::run_watchdog_once(&settings, first_warn + second).await.unwrap(), 0, "nothing twice");

    // one officer answers in time; the rest breach and go to the provincial director
    let officer = token(Role::Officer, "IR-23", "labour-inspection");
    let mut cases = world.cases().await;
    cases.acknowledge(authed(command(filed[0].petition_id, ""), &officer)).await.unwrap();
    assert_eq!(pasokh_routing::run_watchdog_once(&settings, first_due + second).await.unwrap(), 11 * 2);
    // past the resolution target: every case breaches it; the second breach goes to HQ inspection
    let recorded = pasokh_routing::run_watchdog_once(&settings, resolution_due + second).await.unwrap();
    assert_eq!(recorded, 12 * 2, "12 resolution breaches: 11 second escalations to HQ, the answered case's first");

    let all = alerts(&world).await;
    let of = |code: &str| all.iter().filter(|(c, _)| c == code).map(|(_, n)| n.clone()).collect::<Vec<_>>();
    let late = of(&filed[1].tracking_code);
    assert_eq!(late.len(), 5, "{late:?}");
    assert!(late[0].starts_with("first_response target warning"), "{late:?}");
    assert!(late[1].starts_with("first_response target breach"), "{late:?}");
    assert!(late[2].starts_with("escalated to mcls-directorate/IR-23/director (sla_breach)"), "{late:?}");
    assert!(late[3].starts_with("resolution target breach"), "{late:?}");
    assert!(late[4].starts_with("escalated to mcls-hq/inspection (sla_breach)"), "{late:?}");
    let answered = of(&filed[0].tracking_code);
    // its first-response warning; then the clock jumped past the resolution warning straight to the breach
    assert_eq!(answered.len(), 3, "{answered:?}");
    assert!(answered[2].starts_with("escalated to mcls-directorate/IR-23/director"), "{answered:?}");

    // HQ inspection's queue: breached and escalated to level 2
    let hq = ListQueueRequest { sla_state: "breached".into(), min_escalation_level: 2, ..Default::default() };
    let queue = cases.list_queue(authed(hq, &token(Role::Inspector, "", ""))).await.unwrap().into_inner();
    assert_eq!(queue.cases.len(), 11);
    let events = world.events_of(filed[1].petition_id, 7).await;
    let escalations: Vec<u32> = events
        .iter()
        .filter_map(|e| match &e.body {
            Some(Body::Escalated(escalated)) => Some(escalated.level),
            _ => None,
        })
        .collect();
    assert_eq!(escalations, [1, 2]);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expected_date_beyond_the_target_needs_an_interim_reason_for_the_citizen() {
    let world = World::start("IR-23", |_| {}).await;
    let filed = world.file(50, "labour-dispute", "کارفرما بدون اطلاع قبلی قرارداد مرا فسخ کرده است").await;
    let officer = token(Role::Officer, "IR-23", "dispute-boards");
    let mut cases = world.cases().await;
    let far = (Utc::now() + chrono::Duration::days(120)).date_naive().to_string();
    let expect = |date: &str, reason: &str| SetExpectedDateRequest {
        petition_id: filed.petition_id.to_string(),
        expected_date: date.into(),
        interim_reason: reason.into(),
        expected_version: 0,
    };
    let missing = cases.set_expected_date(authed(expect(&far, ""), &officer)).await.unwrap_err();
    assert_eq!(bad_request_fields(&missing), ["interim_reason"]);
    let bad_date = cases.set_expected_date(authed(expect("1405/13/40", "x"), &officer)).await.unwrap_err();
    assert_eq!(bad_request_fields(&bad_date), ["expected_date"]);
    let reason = "جلسه هیئت تشخیص تا سه ماه آینده تشکیل نمی‌شود";
    let detail = cases.set_expected_date(authed(expect(&far, reason), &officer)).await.unwrap().into_inner();
    assert_eq!(detail.interim_reason, reason);
    let events = world.events_of(filed.petition_id, 3).await;
    let Some(Body::ExpectedDateSet(set)) = &events[2].body else { panic!("{events:?}") };
    assert!(set.beyond_target);
    let mut lookup = world.lookup().await;
    let words = lookup
        .get_citizen_message(
            world
                .as_notification(GetCitizenMessageRequest {
                    petition_id: filed.petition_id.to_string(),
                    event_id: events[2].event_id.clone(),
                })
                .await,
        )
        .await
        .unwrap()
        .into_inner();
    assert!(words.text.starts_with(reason), "the citizen's SMS carries the reason: {}", words.text);
    tokio::time::sleep(Duration::from_millis(10)).await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_officers_workspace_sees_versions_counts_the_citizens_other_petitions_and_desk_promises() {
    let world = World::start("IR-23", |_| {}).await;
    let first = world.file(31, "pension-payment", "مستمری مهر ماه من هنوز واریز نشده است و پیگیری نتیجه نداد").await;
    let second = world.file(31, "insurance-record", "سابقهٔ بیمهٔ دو سال کار من در سامانه ثبت نشده است").await;
    let officer = token(Role::Officer, "IR-23", "sso");
    let mut cases = world.cases().await;

    // the detail carries the version; a command on it moves the case and the version on
    let seen = cases.get_case_detail(authed(case_ref(first.petition_id), &officer)).await.unwrap().into_inner();
    let version = seen.summary.as_ref().unwrap().version;
    assert!(version >= 1, "the routed event numbered the case");
    let acknowledged = CaseCommand { expected_version: version, ..command(first.petition_id, "") };
    let after = cases.acknowledge(authed(acknowledged, &officer)).await.unwrap().into_inner();
    assert_eq!(after.summary.as_ref().unwrap().version, version + 1);
    // a second officer still holding the old version is refused, and nothing changes
    let stale = CaseCommand { expected_version: version, ..command(first.petition_id, "") };
    let conflict = cases.start_work(authed(stale, &officer)).await.unwrap_err();
    assert_eq!(conflict.code(), Code::Aborted);
    assert_eq!(conflict.get_details_error_info().map(|i| i.reason), Some("version_conflict".to_owned()));
    assert_eq!(world.status(first.petition_id).await.as_deref(), Some("acknowledged"));

    // the queue counts the whole view, not only the page
    let page = ListQueueRequest { page_size: 1, ..ListQueueRequest::default() };
    let queue = cases.list_queue(authed(page, &officer)).await.unwrap().into_inner();
    assert_eq!((queue.cases.len(), queue.total), (1, 2));
    assert!(!queue.next_page_token.is_empty());
    // a forged page token is the caller's mistake, not something to retry
    let forged = ListQueueRequest { page_token: "-5".into(), ..ListQueueRequest::default() };
    assert_eq!(cases.list_queue(authed(forged, &officer)).await.unwrap_err().code(), Code::InvalidArgument);

    // the case page lists the same citizen's other petition, and how many referrals are left
    let detail = cases.get_case_detail(authed(case_ref(second.petition_id), &officer)).await.unwrap().into_inner();
    let others: Vec<&str> = detail.other_petitions.iter().map(|o| o.tracking_code.as_str()).collect();
    assert_eq!(others, [first.tracking_code.as_str()]);
    assert_eq!((detail.channel.as_str(), detail.forwards_left, detail.transfers_left), ("web", 5, 3));

    // an official promises at a desk meeting: the promise reaches the unit's queue with its day
    let supervisor = world.provider.staff_token("supervisor-tehran").await;
    let now = Utc::now();
    let event: serde_json::Value = world
        .http
        .post(format!("{}/v1/desk-events", world.intake.http))
        .bearer_auth(&supervisor)
        .json(&json!({"title": "میز خدمت آزمون", "venue": "مصلی", "starts_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
            "ends_at": (now + chrono::Duration::hours(3)).to_rfc3339(), "organisations": ["sso"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let due = (now + chrono::Duration::days(10)).date_naive().to_string();
    let meeting = world
        .http
        .post(format!("{}/v1/desk-events/{}/meetings", world.intake.http, event["id"].as_str().unwrap()))
        .bearer_auth(&supervisor)
        .json(&json!({"official_name": "آقای الف", "official_title": "مدیرکل", "organisation": "sso",
            "tracking_code": second.tracking_code, "promise": "پیگیری ثبت سابقه", "promise_due": due}))
        .send()
        .await
        .unwrap();
    assert_eq!(meeting.status(), 201, "{}", meeting.text().await.unwrap());
    let promised = ListQueueRequest { with_promise: true, ..ListQueueRequest::default() };
    let listed = pasokh_testkit::eventually(Duration::from_secs(30), "the promise in the queue", || {
        let (mut cases, request) = (cases.clone(), authed(promised.clone(), &officer));
        async move {
            let queue = cases.list_queue(request).await.unwrap().into_inner();
            queue.cases.into_iter().next()
        }
    })
    .await;
    assert_eq!(
        (listed.tracking_code.as_str(), listed.promise_due.as_str()),
        (second.tracking_code.as_str(), due.as_str())
    );
    assert_eq!(listed.promise_organisation, "sso");
    world.stop().await;
}
