//! `<service> serve | migrate | print-config [--config FILE]`.
use std::path::PathBuf;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Run the service until SIGTERM/SIGINT.
    Serve,
    /// Apply this service's database migrations and exit.
    Migrate,
    /// Print the effective configuration with secrets redacted and exit.
    PrintConfig,
    /// One of the service's own maintenance tasks (e.g. reporting's `rebuild`), by its index in
    /// the list the service declares.
    Task(usize),
}

#[derive(Debug, Clone)]
pub struct Cli {
    pub command: Command,
    pub config_file: Option<PathBuf>,
}

impl Cli {
    pub fn from_env() -> Result<Self> {
        Self::parse(std::env::args().skip(1))
    }

    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self> {
        Self::parse_with_tasks(args, &[])
    }

    /// Parses the arguments of a service whose own tasks are `tasks` (name, what it does).
    pub fn parse_with_tasks(args: impl IntoIterator<Item = String>, tasks: &[(&str, &str)]) -> Result<Self> {
        let mut command = None;
        let mut config_file = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "serve" => command = Some(Command::Serve),
                "migrate" => command = Some(Command::Migrate),
                "print-config" | "--print-config" => command = Some(Command::PrintConfig),
                "--config" | "-c" => {
                    config_file =
                        Some(PathBuf::from(args.next().ok_or_else(|| Error::Usage("--config needs a file".into()))?))
                }
                "-h" | "--help" => return Err(Error::Usage(usage_with(tasks))),
                other => match tasks.iter().position(|(name, _)| *name == other) {
                    Some(index) => command = Some(Command::Task(index)),
                    None => return Err(Error::Usage(format!("unknown argument `{other}`\n{}", usage_with(tasks)))),
                },
            }
        }
        let command = command.ok_or_else(|| Error::Usage(usage_with(tasks)))?;
        Ok(Self { command, config_file })
    }
}

fn usage_with(tasks: &[(&str, &str)]) -> String {
    let program = std::env::args().next().unwrap_or_else(|| "pasokh-service".into());
    let mut commands = vec!["serve", "migrate", "print-config"];
    commands.extend(tasks.iter().map(|(name, _)| *name));
    let described: String = tasks.iter().map(|(name, what)| format!("  {name}: {what}\n")).collect();
    format!(
        "usage: {program} <{}> [--config FILE]\n{described}\
         configuration: defaults, then FILE (or config/<service>.toml when present), then PASOKH__* environment variables",
        commands.join("|")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli> {
        Cli::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_commands_and_config_file() {
        assert_eq!(parse(&["serve"]).unwrap().command, Command::Serve);
        let cli = parse(&["migrate", "--config", "x.toml"]).unwrap();
        assert_eq!(cli.command, Command::Migrate);
        assert_eq!(cli.config_file.unwrap(), PathBuf::from("x.toml"));
        assert_eq!(parse(&["--print-config"]).unwrap().command, Command::PrintConfig);
    }

    #[test]
    fn refuses_missing_and_unknown_commands() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["server"]).is_err());
        assert!(parse(&["serve", "--config"]).is_err());
    }
}
