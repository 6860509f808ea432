//! Operators' tool.
//!
//! `pasokhctl token --role operator --province IR-23` prints a bearer token
//! signed the way intake and routing verify them. The key comes from
//! `PASOKH_AUTH_KEY` (with `--kid`, default `dev`); without it, the
//! development key every service accepts by default.
//!
//! `pasokhctl dlq replay --topic pasokh.petition.lifecycle.v1` sends the
//! records of `<topic>.dlq` back to the topic they came from.
use std::process::ExitCode;
use std::time::Duration;

use pasokh_events::dlq::{Replay, replay};

use pasokh_platform::auth::{AuthSettings, DEV_KEY, DEV_KEY_ID, Role, mint};

const USAGE: &str = "usage:
  pasokhctl token --role <operator|supervisor|officer|inspector> [--province IR-23] \
[--organisation CODE] [--sub NAME] [--ttl-hours 8] [--kid dev]
      the signing key is read from PASOKH_AUTH_KEY (default: the development key)
  pasokhctl dlq replay --topic TOPIC [--bootstrap HOST:PORT] [--group CONSUMER_GROUP] [--dry-run]
      replays TOPIC.dlq into TOPIC (only what GROUP dead-lettered, with --group);
      the broker defaults to PASOKH__KAFKA__BOOTSTRAP_SERVERS or 127.0.0.1:19092";

fn role(name: &str) -> Option<Role> {
    match name {
        "operator" => Some(Role::Operator),
        "supervisor" => Some(Role::Supervisor),
        "officer" => Some(Role::Officer),
        "inspector" => Some(Role::Inspector),
        _ => None,
    }
}

fn token(args: &[String]) -> Result<String, String> {
    let mut role_name = None;
    let (mut province, mut organisation, mut sub, mut ttl_hours, mut kid) =
        (String::new(), String::new(), "developer".to_owned(), 8i64, DEV_KEY_ID.to_owned());
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--role" => role_name = Some(value()?),
            "--province" => province = value()?,
            "--organisation" => organisation = value()?,
            "--sub" => sub = value()?,
            "--ttl-hours" => ttl_hours = value()?.parse().map_err(|_| "--ttl-hours must be a number".to_owned())?,
            "--kid" => kid = value()?,
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let role_name = role_name.ok_or_else(|| format!("--role is required\n{USAGE}"))?;
    let role = role(&role_name).ok_or_else(|| format!("unknown role `{role_name}`\n{USAGE}"))?;
    let key = std::env::var("PASOKH_AUTH_KEY").unwrap_or_else(|_| {
        eprintln!("pasokhctl: PASOKH_AUTH_KEY not set, signing with the development key");
        DEV_KEY.to_owned()
    });
    let settings = AuthSettings::default();
    Ok(mint(&settings.claims(&sub, role, &province, &organisation, ttl_hours * 3600), &kid, &key))
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
