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

use clap::{Parser, Subcommand};
use pasokh_events::dlq::{Replay, replay};
use pasokh_platform::auth::{DEV_KEY, dev};

/// Pasokh's operator tool.
#[derive(Debug, Parser)]
#[command(name = "pasokhctl", version, about)]
enum Command {
    /// Signs in at the identity provider and prints the access token. The password is read from
    /// PASOKH_PASSWORD or the first line of stdin; --device prints a code to confirm in a browser
    /// instead.
    Login(LoginArgs),
    /// Mints a development token (HS256), accepted only by services started with
    /// auth.dev_tokens.enabled. The key is PASOKH_DEV_TOKEN_KEY, or the public built-in one with
    /// --dev-key builtin.
    Token(TokenArgs),
    /// Dead-lettered records.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// the member of staff, e.g. officer-sso-tehran (not needed with --device)
    #[arg(long)]
    user: Option<String>,
    /// the provider's issuer URL
    #[arg(long, env = "PASOKH__AUTH__ISSUER", default_value = "http://127.0.0.1:18180/realms/pasokh")]
    issuer: String,
    /// the public client at the provider
    #[arg(long, default_value = "pasokhctl")]
    client: String,
    /// the device grant: confirm a code in a browser instead of typing a password here
    #[arg(long)]
    device: bool,
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// operator, supervisor, officer or inspector
    #[arg(long)]
    role: String,
    /// the key: `builtin` (the public development key); else PASOKH_DEV_TOKEN_KEY
    #[arg(long, value_parser = ["builtin"])]
    dev_key: Option<String>,
    /// e.g. IR-23
    #[arg(long, default_value = "")]
    province: String,
    #[arg(long, default_value = "")]
    organisation: String,
    /// e.g. hq-action; repeatable
    #[arg(long = "permission")]
    permissions: Vec<String>,
    #[arg(long, default_value = "developer")]
    sub: String,
    #[arg(long, default_value = "pasokh-routing")]
    audience: String,
    /// at most 60: services accept no longer-lived development tokens by default
    #[arg(long, default_value_t = 60)]
    ttl_minutes: i64,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Replays TOPIC.dlq into TOPIC (only what GROUP dead-lettered, with --group).
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// the topic whose dead letters to replay (`.dlq` may be left off)
    #[arg(long)]
    topic: String,
    #[arg(long, env = "PASOKH__KAFKA__BOOTSTRAP_SERVERS", default_value = "127.0.0.1:19092")]
    bootstrap: String,
    /// only the records this consumer group dead-lettered
    #[arg(long)]
    group: Option<String>,
    /// list what would be replayed, send nothing
    #[arg(long)]
    dry_run: bool,
}

/// Development tokens live at most as long as services accept by default.
const MAX_DEV_TTL_MINUTES: i64 = 60;

fn token(args: TokenArgs) -> Result<String, String> {
    let TokenArgs { role, dev_key, province, organisation, permissions, sub, audience, ttl_minutes } = args;
    let key = match dev_key {
        Some(_) => Some(DEV_KEY.to_owned()),
        None => std::env::var("PASOKH_DEV_TOKEN_KEY").ok(),
    };
    pasokh_domain::Role::parse(&role).map_err(|e| e.message)?;
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

async fn login(args: LoginArgs) -> Result<String, String> {
    let LoginArgs { user, issuer, client, device } = args;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let discovery = pasokh_platform::auth::verify::discover(&http, &issuer)
        .await
        .map_err(|e| format!("cannot reach the identity provider at {issuer}: {e}"))?;
    if device {
        return device_login(&http, &discovery, &client).await;
    }
    let user = user.ok_or("--user is required (or use --device)")?;
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

async fn dlq_replay(args: ReplayArgs) -> Result<String, String> {
    let options = Replay {
        bootstrap_servers: args.bootstrap,
        dlq_topic: format!("{}.dlq", args.topic.trim_end_matches(".dlq")),
        only_group: args.group,
        dry_run: args.dry_run,
        idle: Duration::from_secs(5),
    };
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
    // a usage error prints clap's help and exits 2
    let outcome = match Command::parse() {
        Command::Token(args) => token(args),
        Command::Login(args) => login(args).await,
        Command::Dlq(DlqCommand::Replay(args)) => dlq_replay(args).await,
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
