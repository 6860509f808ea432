//! Routing, black-box, against the real Keycloak of the local stack: the
//! internal `CaseLookup` refuses every caller but allow-listed services with a
//! valid provider token for routing, and the permission table holds for every
//! demo member of staff through `CaseService`, with tokens the provider issued.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use crate::common::World;
use pasokh_platform::config::ListenSettings;
use pasokh_platform::db::DatabaseSettings;
use pasokh_proto::routing::v1::case_lookup_client::CaseLookupClient;
use pasokh_proto::routing::v1::{CaseCommand, CaseRef, GetCaseRequest, GetCitizenMessageRequest, ListQueueRequest};
use pasokh_testkit::{Caller, Provider, Stack, internal_rpc_refusals, serve_in_background, start_service, with_bearer};
use tonic::Code;
use uuid::Uuid;

/// One routing for the refusal tests, serving from its own runtime for the whole test binary.
fn internal_grpc() -> &'static str {
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED.get_or_init(|| {
        serve_in_background(|| async {
            let stack = Stack::from_env();
            let provider = Provider::from_env();
            let topics = stack.fresh_topics("routing_identity").await;
            let mut settings = pasokh_routing::Settings {
                listen: ListenSettings::new(0, 0),
                database: DatabaseSettings::at(&stack.fresh_database("routing_identity").await),
                kafka: stack.kafka_settings(&topics, "routing"),
                auth: provider.auth_settings("pasokh-routing", Some("pasokh-routing")),
                ..pasokh_routing::Settings::default()
            };
            // development tokens on, so the HS256 refusal is the internal RPCs' own and not the default's
            settings.auth.dev_tokens.enabled = true;
            settings.internal_clients.insert("pasokh-test-short-lived".into());
            let routing = start_service::<pasokh_routing::App>(&settings).await;
            let address = routing.internal_grpc.clone().unwrap();
            // kept serving for the other tests of this binary
            std::mem::forget(routing);
            address
        })
    })
}

/// Looks up a case nobody filed: an admitted caller gets NOT_FOUND, a refused one never gets that far.
async fn get_case(caller: Caller) -> Result<(), tonic::Status> {
    let mut client = CaseLookupClient::connect(internal_grpc().to_owned()).await.unwrap();
    let message = GetCaseRequest { petition_id: Uuid::now_v7().to_string() };
    match client.get_case(caller.request(message, "pasokh-routing").await).await {
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(status),
        Ok(found) => panic!("no such case exists: {found:?}"),
    }
}

async fn get_citizen_message(caller: Caller) -> Result<(), tonic::Status> {
    let mut client = CaseLookupClient::connect(internal_grpc().to_owned()).await.unwrap();
    let message =
        GetCitizenMessageRequest { petition_id: Uuid::now_v7().to_string(), event_id: Uuid::now_v7().to_string() };
    match client.get_citizen_message(caller.request(message, "pasokh-routing").await).await {
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(status),
        Ok(found) => panic!("no such message exists: {found:?}"),
    }
}

async fn get_citizen_timeline(caller: Caller) -> Result<(), tonic::Status> {
    let mut client = CaseLookupClient::connect(internal_grpc().to_owned()).await.unwrap();
    let message = GetCaseRequest { petition_id: Uuid::now_v7().to_string() };
    match client.get_citizen_timeline(caller.request(message, "pasokh-routing").await).await {
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(status),
        Ok(found) => panic!("no such case exists: {found:?}"),
    }
}

internal_rpc_refusals!(get_case);
internal_rpc_refusals!(get_citizen_message);
internal_rpc_refusals!(get_citizen_timeline);

/// What a call's outcome says about the permission table: admitted (whatever the workflow then said),
/// refused by role, or the case out of the caller's reach (NOT_FOUND, as if it did not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Admitted,
    Denied,
    OutOfReach,
}

fn outcome<T>(result: Result<T, tonic::Status>) -> Outcome {
    match result {
        Ok(_) => Outcome::Admitted,
        Err(status) => match status.code() {
            Code::PermissionDenied => Outcome::Denied,
            Code::NotFound => Outcome::OutOfReach,
            // the workflow's own refusals (a routed case cannot be reopened) come after the permission check
            Code::FailedPrecondition | Code::InvalidArgument => Outcome::Admitted,
            other => panic!("unexpected {other:?}: {status:?}"),
        },
    }
}

/// Every demo member of staff, with the provider's token, against a Tehran case of the Social Security
/// Organization: read (ReadCases), acknowledge (WorkCases), reopen (ReopenCases).
#[tokio::test(flavor = "multi_thread")]
async fn the_case_permissions_hold_for_every_demo_member_of_staff() {
    use Outcome::*;
    let world = World::start("IR-23", |s| s.auth.dev_tokens.enabled = false).await;
    let filed = world.file(1, "pension-payment", "مستمری من پرداخت نشده است").await;
    let id = filed.petition_id.to_string();
    let table = [
        // user, read, work, reopen
        ("officer-sso-tehran", Admitted, Admitted, Denied),
        ("officer-welfare-tehran", OutOfReach, OutOfReach, Denied),
        ("officer-sso-qom", OutOfReach, OutOfReach, Denied),
        ("supervisor-tehran", Admitted, Admitted, Admitted),
        ("director-qom", OutOfReach, OutOfReach, OutOfReach),
        ("operator-tehran", Denied, Denied, Denied),
        ("operator-qom", Denied, Denied, Denied),
        ("inspector-hq", Admitted, Denied, Denied),
        ("inspector-hq-action", Admitted, Admitted, Admitted),
    ];
    let mut cases = world.cases().await;
    for (user, read, work, reopen) in table {
        let token = world.provider.staff_token(user).await;
        let got = outcome(cases.get_case_detail(with_bearer(CaseRef { petition_id: id.clone() }, &token)).await);
        assert_eq!(got, read, "{user} reading the case");
        let command = || CaseCommand { petition_id: id.clone(), message: String::new(), expected_version: 0 };
        let got = outcome(cases.acknowledge(with_bearer(command(), &token)).await);
        assert_eq!(got, work, "{user} acknowledging the case");
        let got = outcome(cases.reopen(with_bearer(command(), &token)).await);
        assert_eq!(got, reopen, "{user} reopening the case");
        // the queue is the read permission's other face: admitted callers see only their reach
        let queue = cases.list_queue(with_bearer(ListQueueRequest::default(), &token)).await;
        match read {
            Denied => assert_eq!(queue.unwrap_err().code(), Code::PermissionDenied, "{user}'s queue"),
            Admitted => assert!(queue.unwrap().into_inner().cases.iter().any(|c| c.petition_id == id), "{user}"),
            OutOfReach => assert!(queue.unwrap().into_inner().cases.is_empty(), "{user} sees no Tehran SSO case"),
        }
    }
    // routing's own client-credentials token is not a member of staff's
    let service = world.provider.client_token("pasokh-intake", "pasokh-routing").await;
    let status = cases.get_case_detail(with_bearer(CaseRef { petition_id: id.clone() }, &service)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    world.stop().await;
}
