//! The shared client-credentials source of `libs/platform` against the real
//! Keycloak, through a link that can be cut: tokens are cached per audience
//! and renewed before they expire; while the provider is unreachable a
//! still-valid token keeps being used; without one, a call to another service
//! fails as unavailable and is never sent without a token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_platform::auth::{AuthError, TokenSource};
use pasokh_proto::intake::v1::GetContactRequest;
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_testkit::{Provider, TcpProxy};

/// Notification's token source, asking the provider through `proxy`.
fn source(provider: &Provider, proxy: &TcpProxy, renew_before_secs: u64) -> TokenSource {
    let mut settings = provider.auth_settings("pasokh-notification", Some("pasokh-notification"));
    let realm_path = provider.issuer.trim_start_matches(&provider.base_url);
    settings.client.token_url = format!("http://{}{realm_path}/protocol/openid-connect/token", proxy.address);
    settings.client.renew_before_secs = renew_before_secs;
    TokenSource::from_settings(&settings).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_cached_per_audience_and_renewed_before_they_expire() {
    let provider = Provider::from_env();
    let proxy = TcpProxy::start(provider.base_url.trim_start_matches("http://")).await;
    let cached = source(&provider, &proxy, 60);
    let first = cached.token_for("pasokh-intake").await.unwrap();
    assert_eq!(cached.token_for("pasokh-intake").await.unwrap(), first, "a fresh token is reused");
    let routing = cached.token_for("pasokh-routing").await.unwrap();
    assert_ne!(routing, first, "one token per callee audience");
    let claims: serde_json::Value = {
        use base64::Engine;
        let payload = routing.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    assert_eq!(claims["aud"], "pasokh-routing", "{claims}");

    // a token within its renewal window (here: always, as the local realm's tokens live 300 s) is renewed
    let renewing = source(&provider, &proxy, 299);
    let before = renewing.token_for("pasokh-intake").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_ne!(renewing.token_for("pasokh-intake").await.unwrap(), before, "renewed ahead of expiry");

    // the provider becomes unreachable: the still-valid token carries on (the renewal attempt fails)
    let held = renewing.token_for("pasokh-intake").await.unwrap();
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let during = renewing.token_for("pasokh-intake").await.expect("the cached token while the provider is away");
    assert_eq!(during, held, "the one it had, not a new one: the provider was not reached");
    proxy.restore();
    assert_ne!(renewing.token_for("pasokh-intake").await.unwrap(), during, "renewed once the provider is back");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_a_call_fails_as_unavailable_and_is_never_sent_unauthenticated() {
    let provider = Provider::from_env();
    let proxy = TcpProxy::start(provider.base_url.trim_start_matches("http://")).await;
    proxy.cut();
    let tokens = Arc::new(source(&provider, &proxy, 60));
    match tokens.token_for("pasokh-intake").await {
        Err(AuthError::ProviderUnavailable(_)) => {}
        other => panic!("expected the provider to be unavailable, got {other:?}"),
    }
    // a callee that would answer anyone: a plain TCP listener that records whether anything arrived
    let callee = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", callee.local_addr().unwrap());
    let arrived =
        tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(3), callee.accept()).await.is_ok() });
    let channel = AuthorizedChannel::connect_lazy(&url, "pasokh-intake", Some(tokens), Duration::from_secs(2)).unwrap();
    let status = IntakeInternalClient::new(channel)
        .get_contact(GetContactRequest { petition_id: uuid::Uuid::now_v7().to_string() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("no service token"), "{}", status.message());
    assert!(!arrived.await.unwrap(), "nothing was sent to the callee without a token");

    // and a service with no client configured sends nothing either
    let channel = AuthorizedChannel::connect_lazy(&url, "pasokh-intake", None, Duration::from_secs(2)).unwrap();
    let status = IntakeInternalClient::new(channel)
        .get_contact(GetContactRequest { petition_id: uuid::Uuid::now_v7().to_string() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().contains("no service client is configured"), "{}", status.message());
}
