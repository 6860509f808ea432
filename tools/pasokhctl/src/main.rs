//! Operators' tool.
//!
//! `pasokhctl login --user officer-sso-tehran` signs in at the identity
//! provider (password grant, or `--device` for the device grant) and prints an
//! access token for grpcurl or curl.
//!
//! `pasokhctl token --role operator --province IR-23 --dev-key builtin` mints a
//! development token (HS256). Services accept those only where
//! `auth.dev_tokens.enabled` is set, which a production start refuses; the key
//! must be named explicitly: `--dev-key builtin` or `PASOKH_DEV_TOKEN_KEY`.
//!
//! `pasokhctl dlq replay --topic pasokh.petition.lifecycle.v1` sends the
//! records of `<topic>.dlq` back to the topic they came from.
use std::process::ExitCode;
use std::time::Duration;

use pasokh_events::dlq::{Replay, replay};
use pasokh_platform::auth::{DEV_KEY, dev};

const USAGE: &str = "usage:
  pasokhctl login --user NAME [--issuer URL] [--client pasokhctl] [--device]
      signs in at the identity provider and prints the access token; the password is read from
      PASOKH_PASSWORD or the first line of stdin; --device prints a code to confirm in a browser instead;
      the issuer defaults to PASOKH__AUTH__ISSUER or the local realm http://127.0.0.1:18180/realms/pasokh
  pasokhctl token --role <operator|supervisor|officer|inspector> --dev-key builtin [--province IR-23] \
[--organisation CODE] [--permission hq-action] [--sub NAME] [--audience pasokh-routing] [--ttl-minutes 60]
      a development token (HS256), accepted only by services started with auth.dev_tokens.enabled;
      the key is PASOKH_DEV_TOKEN_KEY, or the public built-in one with --dev-key builtin
  pasokhctl dlq replay --topic TOPIC [--bootstrap HOST:PORT] [--group CONSUMER_GROUP] [--dry-run]
      replays TOPIC.dlq into TOPIC (only what GROUP dead-lettered, with --group);
      the broker defaults to PASOKH__KAFKA__BOOTSTRAP_SERVERS or 127.0.0.1:19092";

/// Development tokens live at most as long as services accept by default.
const MAX_DEV_TTL_MINUTES: i64 = 60;

fn token(args: &[String]) -> Result<String, String> {
    let mut role = None;
    let (mut province, mut organisation, mut sub, mut audience) =
        (String::new(), String::new(), "developer".to_owned(), "pasokh-routing".to_owned());
    let (mut ttl_minutes, mut key, mut permissions) = (60i64, std::env::var("PASOKH_DEV_TOKEN_KEY").ok(), Vec::new());
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--role" => role = Some(value()?),
            "--province" => province = value()?,
            "--organisation" => organisation = value()?,
            "--permission" => permissions.push(value()?),
            "--sub" => sub = value()?,
            "--audience" => audience = value()?,
            "--ttl-minutes" => {
                ttl_minutes = value()?.parse().map_err(|_| "--ttl-minutes must be a number".to_owned())?;
            }
            "--dev-key" => match value()?.as_str() {
                "builtin" => key = Some(DEV_KEY.to_owned()),
                other => return Err(format!("--dev-key takes `builtin` (or set PASOKH_DEV_TOKEN_KEY), not `{other}`")),
            },
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let role = role.ok_or_else(|| format!("--role is required\n{USAGE}"))?;
    pasokh_domain::Role::parse(&role).map_err(|e| format!("{}\n{USAGE}", e.message))?;
    let key = key.ok_or_else(|| {
        "no development key: pass --dev-key builtin or set PASOKH_DEV_TOKEN_KEY (development tokens work only \
         where a service turned auth.dev_tokens on; use `pasokhctl login` for a real token)"
            .to_owned()
    })?;
    if !(1..=MAX_DEV_TTL_MINUTES).contains(&ttl_minutes) {
        return Err(format!("--ttl-minutes must be between 1 and {MAX_DEV_TTL_MINUTES}"));
    }
    let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
    let claims = dev::claims(&sub, &role, &province, &organisation, &permissions, &audience, ttl_minutes * 60);
    Ok(dev::mint(&claims, &key))
}

async fn login(args: &[String]) -> Result<String, String> {
    let mut user = None;
    let mut issuer =
        std::env::var("PASOKH__AUTH__ISSUER").unwrap_or_else(|_| "http://127.0.0.1:18180/realms/pasokh".to_owned());
    let (mut client, mut device) = ("pasokhctl".to_owned(), false);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--user" => user = Some(value()?),
            "--issuer" => issuer = value()?,
            "--client" => client = value()?,
            "--device" => device = true,
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let discovery = pasokh_platform::auth::verify::discover(&http, &issuer)
        .await
        .map_err(|e| format!("cannot reach the identity provider at {issuer}: {e}"))?;
    if device {
        return device_login(&http, &discovery, &client).await;
    }
    let user = user.ok_or_else(|| format!("--user is required (or use --device)\n{USAGE}"))?;
    let password = match std::env::var("PASOKH_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprint!("password for {user}: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let form = [
        ("grant_type", "password"),
        ("client_id", client.as_str()),
        ("username", user.as_str()),
        ("password", password.as_str()),
        ("scope", "openid"),
    ];
    token_request(&http, &discovery.token_endpoint, &form).await
}

async fn device_login(
    http: &reqwest::Client,
    discovery: &pasokh_platform::auth::verify::Discovery,
    client: &str,
) -> Result<String, String> {
    let endpoint = discovery
        .device_authorization_endpoint
        .clone()
        .ok_or("the identity provider offers no device authorization endpoint")?;
    let started: serde_json::Value = http
        .post(&endpoint)
        .form(&[("client_id", client), ("scope", "openid")])
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let text = |k: &str| started[k].as_str().unwrap_or_default().to_owned();
    let device_code = text("device_code");
    if device_code.is_empty() {
        return Err(format!("the provider refused the device grant: {started}"));
    }
    eprintln!("open {} and confirm the code {}", text("verification_uri_complete"), text("user_code"));
    let interval = Duration::from_secs(started["interval"].as_u64().unwrap_or(5).max(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(started["expires_in"].as_u64().unwrap_or(600));
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", client),
        ("device_code", device_code.as_str()),
    ];
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(interval).await;
        match token_request(http, &discovery.token_endpoint, &form).await {
            Ok(token) => return Ok(token),
            Err(error) if error.contains("authorization_pending") || error.contains("slow_down") => {}
            Err(error) => return Err(error),
        }
    }
    Err("the device code expired before it was confirmed".into())
}

async fn token_request(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Result<String, String> {
    let response = http.post(url).form(form).send().await.map_err(|e| e.without_url().to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| e.without_url().to_string())?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!(
            "sign-in refused ({status}): {} {}",
            body["error"].as_str().unwrap_or_default(),
            body["error_description"].as_str().unwrap_or_default()
        )),
    }
}

async fn dlq_replay(args: &[String]) -> Result<String, String> {
    let mut options = Replay {
        bootstrap_servers: std::env::var("PASOKH__KAFKA__BOOTSTRAP_SERVERS")
            .unwrap_or_else(|_| "127.0.0.1:19092".to_owned()),
        dlq_topic: String::new(),
        only_group: None,
        dry_run: false,
        idle: Duration::from_secs(5),
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--topic" => options.dlq_topic = format!("{}.dlq", value()?.trim_end_matches(".dlq")),
            "--bootstrap" => options.bootstrap_servers = value()?,
            "--group" => options.only_group = Some(value()?),
            "--dry-run" => options.dry_run = true,
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    if options.dlq_topic.is_empty() {
        return Err(format!("--topic is required\n{USAGE}"));
    }
    let verb = if options.dry_run { "would replay" } else { "replaying" };
    let letters = replay(&options, |letter| {
        eprintln!(
            "{verb} {}[{}]@{} → {} (dead-lettered by {}: {})",
            options.dlq_topic, letter.partition, letter.offset, letter.to_topic, letter.consumer_group, letter.reason
        );
    })
    .await
    .map_err(|error| format!("replay failed: {error}"))?;
    let done = if options.dry_run { "listed" } else { "replayed" };
    Ok(format!("{done} {} record(s) from {}", letters.len(), options.dlq_topic))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        (Some("token"), _) => token(&args[1..]),
        (Some("login"), _) => login(&args[1..]).await,
        (Some("dlq"), Some("replay")) => dlq_replay(&args[2..]).await,
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}
