//! Layered configuration: defaults in code → optional TOML file → `PASOKH__…` environment.
use std::cell::Cell;
use std::fmt;
use std::path::Path;

use ::config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Result;

/// Loads a service's settings. `file` wins over `config/<service>.toml`; a
/// missing default file is fine, a missing explicit one is an error.
///
/// Environment variables use `__` between levels: `PASOKH__DATABASE__URL`,
/// `PASOKH__HTTP__PORT`.
pub fn load<T>(service: &str, file: Option<&Path>) -> Result<T>
where
    T: Default + Serialize + DeserializeOwned,
{
    let defaults = Config::try_from(&T::default())?;
    let mut builder = Config::builder().add_source(defaults);
    builder = match file {
        Some(path) => builder.add_source(File::from(path).format(FileFormat::Toml).required(true)),
        None => {
            builder.add_source(File::with_name(&format!("config/{service}")).format(FileFormat::Toml).required(false))
        }
    };
    let settings = builder
        .add_source(Environment::with_prefix("PASOKH").prefix_separator("__").separator("__").try_parsing(true))
        .build()?;
    Ok(settings.try_deserialize()?)
}

thread_local! {
    static REDACTING: Cell<bool> = const { Cell::new(false) };
}

/// The settings as pretty JSON with every [`Secret`] replaced by a marker, for `print-config`.
pub fn to_redacted_json<T: Serialize>(settings: &T) -> String {
    REDACTING.with(|r| r.set(true));
    let json = serde_json::to_string_pretty(settings);
    REDACTING.with(|r| r.set(false));
    json.unwrap_or_else(|error| format!("{{\"error\": \"settings cannot be shown: {error}\"}}"))
}

/// A configuration value that must not appear in logs or `print-config` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    // The real value is serialised so defaults can feed the config builder;
    // only `to_redacted_json` (print-config) hides it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if REDACTING.with(Cell::get) {
            serializer.serialize_str("[redacted]")
        } else {
            serializer.serialize_str(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Where a service listens for HTTP (public API and ops endpoints) and gRPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenSettings {
    pub host: String,
    /// 0 picks a free port (tests)
    pub http_port: u16,
    pub grpc_port: u16,
}

impl ListenSettings {
    pub fn new(http_port: u16, grpc_port: u16) -> Self {
        Self { host: "127.0.0.1".into(), http_port, grpc_port }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        name: String,
        password: Secret,
    }

    impl Default for Example {
        fn default() -> Self {
            Self { name: "n".into(), password: Secret::new("hunter2") }
        }
    }

    #[test]
    fn defaults_load_and_secrets_are_redacted_only_when_printed() {
        let loaded: Example = load("does-not-exist", None).unwrap();
        assert_eq!(loaded.password.expose(), "hunter2");
        let printed = to_redacted_json(&loaded);
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("hunter2"));
        assert!(!format!("{loaded:?}").contains("hunter2"));
        assert!(serde_json::to_string(&loaded).unwrap().contains("hunter2"));
    }

    #[test]
    fn an_unknown_key_in_a_file_fails() {
        let dir = std::env::temp_dir().join(format!("pasokh-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.toml");
        std::fs::write(&file, "nmae = \"typo\"\n").unwrap();
        assert!(load::<Example>("x", Some(&file)).is_err());
        std::fs::write(&file, "name = \"from-file\"\n").unwrap();
        assert_eq!(load::<Example>("x", Some(&file)).unwrap().name, "from-file");
    }
}
