//! Intake, black-box, against the real Keycloak of the local stack: the
//! internal RPCs refuse every caller but allow-listed services with a valid
//! provider token for intake; the desk's permission table holds for every
//! demo member of staff; a rotated signing key is picked up without a restart;
//! and an intake started with defaults accepts no development credential.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::Duration;

use pasokh_platform::auth::{DEV_KEY, dev};
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_proto::intake::v1::{GetContactRequest, GetTextRequest};
use pasokh_testkit::intake::{TestIntake, valid_petition};
use pasokh_testkit::{Caller, Provider, Stack, internal_rpc_refusals, serve_in_background, with_bearer};
use serde_json::{Value, json};
use tonic::Code;

/// One intake for the refusal tests, serving from its own runtime for the whole test binary.
struct Shared {
    internal_grpc: String,
    petition_id: String,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        serve_in_background(|| async {
            let stack = Stack::from_env();
            // development tokens on, so the HS256 refusal is the internal RPCs' own and not the default's
            let intake = TestIntake::fresh_with(&stack, |s| {
                s.auth.dev_tokens.enabled = true;
                s.internal_clients.insert("pasokh-test-short-lived".into());
            })
            .await;
            let (status, body) = intake.submit(&valid_petition()).await;
            assert_eq!(status, 201, "{body}");
            let shared = Shared {
                internal_grpc: intake.internal_grpc.clone(),
                petition_id: body["id"].as_str().unwrap().to_owned(),
            };
            // kept serving for the other tests of this binary
            std::mem::forget(intake);
            shared
        })
    })
}

async fn get_contact(caller: Caller) -> Result<(), tonic::Status> {
    let shared = shared();
    let mut client = IntakeInternalClient::connect(shared.internal_grpc.clone()).await.unwrap();
    let message = GetContactRequest { petition_id: shared.petition_id.clone() };
    let request = caller.request(message, "pasokh-intake").await;
    let contact = client.get_contact(request).await?.into_inner();
    assert_eq!(contact.mobile, pasokh_testkit::intake::MOBILE);
    Ok(())
}

async fn get_text(caller: Caller) -> Result<(), tonic::Status> {
    let shared = shared();
    let mut client = IntakeInternalClient::connect(shared.internal_grpc.clone()).await.unwrap();
    let message = GetTextRequest { petition_id: shared.petition_id.clone(), reply_id: String::new() };
    let request = caller.request(message, "pasokh-intake").await;
    let text = client.get_text(request).await?.into_inner();
    assert!(text.text.contains("مستمری"), "{}", text.text);
    Ok(())
}

internal_rpc_refusals!(get_contact);
internal_rpc_refusals!(get_text);

/// Every demo member of staff against the desk's two permissions, at Tehran's intake (IR-23).
#[tokio::test(flavor = "multi_thread")]
async fn the_desk_permissions_hold_for_every_demo_member_of_staff() {
    let stack = Stack::from_env();
    let intake = TestIntake::fresh(&stack).await;
    let provider = Provider::from_env();
    // user: (may open a desk event here, may register at this province's desks)
    let table = [
        ("operator-tehran", false, true),
        ("supervisor-tehran", true, true),
        ("operator-qom", false, false),
        ("director-qom", false, false),
        ("officer-sso-tehran", false, false),
        ("officer-sso-qom", false, false),
        ("inspector-hq", false, false),
        ("inspector-hq-action", false, false),
    ];
    let client = reqwest::Client::new();
    for (user, manages_events, files_at_desk) in table {
        let token = provider.staff_token(user).await;
        let start = chrono::Utc::now();
        let event = json!({
            "title": format!("میز خدمت آزمایشی {user}"), "venue": "ستاد", "organisations": ["sso"],
            "starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::hours(2)).to_rfc3339()
        });
        let created = client
            .post(format!("{}/v1/desk-events", intake.http))
            .bearer_auth(&token)
            .json(&event)
            .send()
            .await
            .unwrap();
        let expected = if manages_events { 201 } else { 403 };
        assert_eq!(created.status().as_u16(), expected, "{user} opening a desk event");
        let listed = client.get(format!("{}/v1/desk-events", intake.http)).bearer_auth(&token).send().await.unwrap();
        let expected = if files_at_desk { 200 } else { 403 };
        assert_eq!(listed.status().as_u16(), expected, "{user} at the desk");
        if !files_at_desk {
            let problem: Value = listed.json().await.unwrap();
            assert_eq!(problem["code"], "forbidden", "{user}: {problem}");
        }
    }
    let letter = client
        .post(format!("{}/v1/desk-events", intake.http))
        .bearer_auth("not.a.token")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(letter.status(), 401);
    assert_eq!(letter.headers()["www-authenticate"], "Bearer");
    intake.stop().await;
}

/// A realm of its own, so rotating its keys disturbs no other test.
async fn rotation_realm(provider: &Provider) -> Provider {
    let realm = format!("rotation-{}", uuid::Uuid::new_v4().simple());
    let created = provider
        .admin(
            reqwest::Method::POST,
            "/realms",
            Some(json!({
                "realm": realm, "enabled": true, "sslRequired": "none",
                "clients": [{
                    "clientId": "pasokh-routing", "secret": "dev-secret-pasokh-routing", "enabled": true,
                    "publicClient": false, "serviceAccountsEnabled": true, "standardFlowEnabled": false,
                    "directAccessGrantsEnabled": false, "clientAuthenticatorType": "client-secret",
                    "optionalClientScopes": [],
                    "protocolMappers": [{
                        "name": "audience pasokh-intake", "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {"included.custom.audience": "pasokh-intake", "access.token.claim": "true"}
                    }]
                }]
            })),
        )
        .await;
    assert!(created.status().is_success(), "creating realm {realm}: {}", created.text().await.unwrap());
    Provider::at(&provider.base_url, &realm)
}

async fn routing_token(realm: &Provider) -> String {
    let response = reqwest::Client::new()
        .post(realm.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "pasokh-routing"),
            ("client_secret", "dev-secret-pasokh-routing"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_signing_key_is_picked_up_without_a_restart_and_the_retired_one_refused() {
    let stack = Stack::from_env();
    let provider = Provider::from_env();
    let realm = rotation_realm(&provider).await;
    let intake = TestIntake::fresh_with(&stack, |s| {
        s.auth = realm.auth_settings("pasokh-intake", None);
        s.auth.jwks_min_refresh_secs = 1;
    })
    .await;
    let (_, body) = intake.submit(&valid_petition()).await;
    let petition_id = body["id"].as_str().unwrap().to_owned();
    let client = IntakeInternalClient::connect(intake.internal_grpc.clone()).await.unwrap();
    let contact = |token: String| {
        let mut client = client.clone();
        let petition_id = petition_id.clone();
        async move { client.get_contact(with_bearer(GetContactRequest { petition_id }, &token)).await }
    };
    let before = routing_token(&realm).await;
    contact(before.clone()).await.expect("the realm's first key");

    // the provider gets a new key of higher priority and the old ones go
    let path = format!("/realms/{}", realm.issuer.rsplit('/').next().unwrap());
    let providers: Value = provider
        .admin(reqwest::Method::GET, &format!("{path}/components?type=org.keycloak.keys.KeyProvider"), None)
        .await
        .json()
        .await
        .unwrap();
    let realm_id: Value = provider.admin(reqwest::Method::GET, &path, None).await.json().await.unwrap();
    let added = provider
        .admin(
            reqwest::Method::POST,
            &format!("{path}/components"),
            Some(json!({
                "name": "rotated-2026", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id["id"], "config": {"priority": ["500"], "keySize": ["2048"], "algorithm": ["RS256"]}
            })),
        )
        .await;
    assert!(added.status().is_success(), "{}", added.text().await.unwrap());
    for old in providers.as_array().unwrap().iter().filter(|p| p["providerId"] == "rsa-generated") {
        let id = old["id"].as_str().unwrap();
        let removed = provider.admin(reqwest::Method::DELETE, &format!("{path}/components/{id}"), None).await;
        assert!(removed.status().is_success());
    }
    let after = routing_token(&realm).await;
    assert_ne!(kid(&before), kid(&after), "the provider signs with the new key");
    // unknown kids trigger a JWKS fetch at most once a second here
    tokio::time::sleep(Duration::from_millis(1100)).await;
    contact(after).await.expect("the new key is fetched from the JWKS on its first token");
    let retired = contact(before).await.unwrap_err();
    assert_eq!(retired.code(), Code::Unauthenticated, "a key the provider dropped is no longer trusted");
    assert!(retired.message().contains("unknown key"), "{}", retired.message());
    intake.stop().await;
    provider.admin(reqwest::Method::DELETE, &path, None).await;
}

/// An intake with nothing configured but its database, broker and a real citizen_ref key.
#[tokio::test(flavor = "multi_thread")]
async fn an_intake_started_with_defaults_accepts_no_development_credential() {
    let stack = Stack::from_env();
    let db = stack.fresh_database("intake_defaults").await;
    let topics = stack.fresh_topics("intake_defaults").await;
    let settings = pasokh_intake::Settings {
        listen: pasokh_platform::config::ListenSettings::new(0, 0),
        database: pasokh_platform::db::DatabaseSettings::at(&db),
        kafka: stack.kafka_settings(&topics, "intake"),
        citizen_ref_key: pasokh_platform::config::Secret::new("a-real-key-for-this-test"),
        ..pasokh_intake::Settings::default()
    };
    assert!(settings.development_credentials().is_empty());
    let intake = pasokh_testkit::start_service::<pasokh_intake::App>(&settings).await;
    let client = reqwest::Client::new();

    // a development token for Tehran's supervisor, signed with the built-in key
    let claims = dev::claims("mallory", "supervisor", "IR-23", "", &[], "pasokh-intake", 600);
    let listed = client
        .get(format!("{}/v1/desk-events", intake.http))
        .bearer_auth(dev::mint(&claims, DEV_KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 401, "a development token");
    // nor a provider token: no issuer is configured, so none is trusted
    let provider_token = Provider::from_env().staff_token("supervisor-tehran").await;
    let listed =
        client.get(format!("{}/v1/desk-events", intake.http)).bearer_auth(provider_token).send().await.unwrap();
    assert_eq!(listed.status(), 401, "no provider configured");
    // the development Open311 partner
    let filed = client
        .post(format!("{}/open311/v2/requests.json", intake.http))
        .form(&[
            ("api_key", "dev-open311-key"),
            ("service_code", "workplace-safety"),
            ("description", "کارگاه بدون تجهیزات ایمنی"),
            ("phone", "09121234567"),
            ("attribute[national_id]", "0499370899"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 403, "the development Open311 key");
    // the development citizen_ref key is not the one in use
    let (_, body) = {
        let response =
            client.post(format!("{}/v1/petitions", intake.http)).json(&valid_petition()).send().await.unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT citizen_ref FROM petitions WHERE id = $1::uuid")
        .bind(body["id"].as_str().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    let national_id = pasokh_domain::NationalId::parse(pasokh_testkit::intake::NATIONAL_ID).unwrap();
    let with_dev_key = pasokh_domain::CitizenRef::derive(
        &pasokh_domain::CitizenRefKey::new(pasokh_intake::config::DEV_CITIZEN_REF_KEY),
        &national_id,
    );
    assert_ne!(stored, with_dev_key.as_str());
    intake.stop().await;
}
