//! Who may call what: a caller of each kind, and the check that a call was refused with the
//! expected status and reason.
use std::future::Future;
use std::time::Duration;

use crate::{Provider, with_bearer};

/// The callers an internal RPC must refuse, and the one it must admit: each presents the token
/// named here to the service whose audience is `callee` (`pasokh-intake` or `pasokh-routing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// no `authorization` at all
    Anonymous,
    /// a provider token that expired (the test service tolerates no clock skew)
    Expired,
    /// a provider token of an allow-listed service, for the other service's audience
    OtherAudience,
    /// a development token (HS256), for the right audience
    Hs256,
    /// a provider token for the right audience, of a client nobody allow-listed
    NotAllowListed,
    /// notification's provider token for the callee: admitted
    AllowListed,
}

impl Caller {
    /// The token this caller presents to `callee`. The service under test must allow-list
    /// `pasokh-test-short-lived` too, so an expired token is refused for its expiry alone.
    pub async fn token(self, callee: &str) -> Option<String> {
        let provider = Provider::from_env();
        let other = if callee == "pasokh-intake" { "pasokh-routing" } else { "pasokh-intake" };
        match self {
            Caller::Anonymous => None,
            Caller::Expired => {
                let token = provider.client_token("pasokh-test-short-lived", callee).await;
                // the local realm gives this client one-second tokens
                tokio::time::sleep(Duration::from_millis(2100)).await;
                Some(token)
            }
            Caller::OtherAudience => Some(provider.client_token("pasokh-notification", other).await),
            Caller::Hs256 => {
                let claims = pasokh_platform::auth::dev::claims("pasokh-notification", "", "", "", &[], callee, 600);
                Some(pasokh_platform::auth::dev::mint(&claims, pasokh_platform::auth::DEV_KEY))
            }
            Caller::NotAllowListed => Some(provider.client_token("partner-unlisted", callee).await),
            Caller::AllowListed => Some(provider.client_token("pasokh-notification", callee).await),
        }
    }

    /// `message` as this caller sends it to `callee`.
    pub async fn request<T>(self, message: T, callee: &str) -> tonic::Request<T> {
        match self.token(callee).await {
            Some(token) => with_bearer(message, &token),
            None => tonic::Request::new(message),
        }
    }
}

/// Asserts the call was refused with `code` and a message that says `reason`.
pub fn assert_refused(outcome: Result<(), tonic::Status>, code: tonic::Code, reason: &str) {
    let status = outcome.expect_err("the call must be refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(reason), "{:?} should say {reason:?}", status.message());
}

/// One test per refused caller, and one for the admitted one, of the internal RPC `$rpc`: an
/// `async fn $rpc(caller: Caller) -> Result<(), tonic::Status>` in scope that makes the call.
#[macro_export]
macro_rules! internal_rpc_refusals {
    ($rpc:ident) => {
        mod $rpc {
            use tonic::Code;
            use $crate::{Caller, assert_refused};

            #[tokio::test(flavor = "multi_thread")]
            async fn without_a_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Anonymous).await, Code::Unauthenticated, "no bearer token");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_an_expired_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Expired).await, Code::Unauthenticated, "expired");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_a_token_for_another_audience_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::OtherAudience).await, Code::Unauthenticated, "another audience");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn with_an_hs256_token_is_unauthenticated() {
                assert_refused(super::$rpc(Caller::Hs256).await, Code::Unauthenticated, "HS256");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn from_a_client_not_on_the_allow_list_is_permission_denied() {
                assert_refused(super::$rpc(Caller::NotAllowListed).await, Code::PermissionDenied, "partner-unlisted");
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn from_an_allow_listed_service_is_answered() {
                super::$rpc(Caller::AllowListed).await.unwrap();
            }
        }
    };
}

/// Runs `start` on a runtime of its own thread and returns what it yields, leaving what it started
/// (services, sinks) serving until the test binary exits: one service shared by many tests, each of
/// which has its own runtime.
pub fn serve_in_background<T, F, Fut>(start: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            sender.send(start().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("the background service did not start")
}
