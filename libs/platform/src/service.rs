//! The shared `main` of every Pasokh service: parse the CLI, load settings,
//! start telemetry, then `migrate` or `serve` until a signal.
use std::future::Future;
use std::net::SocketAddr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command};
use crate::config::ListenSettings;
use crate::db::DatabaseSettings;
use crate::tasks::{BoxError, error_chain};
use crate::telemetry::TelemetrySettings;

/// What the shared `main` reads from every service's settings, under the same names in each
/// (`environment`, `database`, `telemetry`); [`crate::service_settings!`] implements it.
pub trait ServiceSettings: Default + Serialize + DeserializeOwned + Send + Sync {
    fn telemetry(&self) -> &TelemetrySettings;
    fn database(&self) -> &DatabaseSettings;
    /// Where the service runs; development credentials are refused in production.
    fn environment(&self) -> crate::config::Environment;
}

/// Implements [`ServiceSettings`] for a settings struct with `environment`, `database` and
/// `telemetry` fields.
#[macro_export]
macro_rules! service_settings {
    ($settings:ty) => {
        impl $crate::service::ServiceSettings for $settings {
            fn telemetry(&self) -> &$crate::telemetry::TelemetrySettings {
                &self.telemetry
            }
            fn database(&self) -> &$crate::db::DatabaseSettings {
                &self.database
            }
            fn environment(&self) -> $crate::config::Environment {
                self.environment
            }
        }
    };
}

pub trait Service: Sized + Send {
    /// `intake`, `routing`, …: names the default config file `config/<name>.toml`.
    const NAME: &'static str;
    /// `pasokh-intake`, …: the telemetry service name.
    const SERVICE_NAME: &'static str;
    type Settings: ServiceSettings;

    /// The service's migrations, embedded with `sqlx::migrate!`.
    fn migrator() -> &'static Migrator;

    /// Applies the service's migrations to its own database.
    fn migrate(settings: &Self::Settings) -> impl Future<Output = Result<(), BoxError>> + Send {
        async move {
            let pool = settings.database().pool()?;
            crate::db::migrate(&pool, Self::migrator()).await?;
            Ok(())
        }
    }
    /// The development credentials these settings turn on, by their setting's name.
    fn development_credentials(_settings: &Self::Settings) -> Vec<&'static str> {
        Vec::new()
    }
    fn build(settings: &Self::Settings) -> impl Future<Output = Result<Self, BoxError>> + Send;

    /// The service's own maintenance commands: (name, what it does), run by [`Service::run_task`].
    fn tasks() -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Runs the task at `index` of [`Service::tasks`] to completion.
    fn run_task(settings: &Self::Settings, index: usize) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = (settings, index);
        async { Err::<(), BoxError>("this service has no tasks".into()) }
    }
    /// Where it listens, for the start-up log line.
    fn addresses(&self) -> Listeners;
    fn run(self, token: CancellationToken) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// Runs a service binary; returns the error chain to print when it fails.
pub async fn main<S: Service>() -> Result<(), String> {
    let cli = Cli::parse_with_tasks(std::env::args().skip(1), S::tasks()).map_err(|e| e.to_string())?;
    let settings: S::Settings = crate::config::load(S::NAME, cli.config_file.as_deref())
        .map_err(|e| format!("loading {} configuration: {}", S::NAME, error_chain(&e)))?;
    if cli.command == Command::PrintConfig {
        let mut printed = crate::config::to_redacted_value(&settings);
        if let Some(object) = printed.as_object_mut() {
            object.insert("active_development_credentials".into(), S::development_credentials(&settings).into());
        }
        println!("{}", serde_json::to_string_pretty(&printed).unwrap_or_default());
        return Ok(());
    }
    let _telemetry = crate::telemetry::init(S::SERVICE_NAME, settings.telemetry()).map_err(|e| e.to_string())?;
    crate::crash::arm_from_env();
    let outcome = match cli.command {
        Command::Migrate => S::migrate(&settings).await.map_err(|e| format!("migrating: {}", error_chain(e.as_ref()))),
        Command::Task(index) => {
            let name = S::tasks().get(index).map_or("task", |(name, _)| *name);
            S::run_task(&settings, index).await.map_err(|e| format!("{name}: {}", error_chain(e.as_ref())))
        }
        _ => serve::<S>(&settings).await,
    };
    if let Err(error) = &outcome {
        tracing::error!(error = %error, "{} exited with an error", S::SERVICE_NAME);
    }
    outcome
}

async fn serve<S: Service>(settings: &S::Settings) -> Result<(), String> {
    crate::config::check_development_credentials(settings.environment(), &S::development_credentials(settings))
        .map_err(|e| e.to_string())?;
    let token = crate::shutdown::on_signal();
    let service = S::build(settings).await.map_err(|e| format!("starting: {}", error_chain(e.as_ref())))?;
    let addresses = service.addresses();
    tracing::info!(http = ?addresses.http, grpc = ?addresses.grpc, "{} ready", S::SERVICE_NAME);
    service.run(token).await.map_err(|e| format!("stopped: {}", error_chain(e.as_ref())))?;
    tracing::info!("{} stopped cleanly", S::SERVICE_NAME);
    Ok(())
}

/// Addresses a service bound; `None` for a protocol it does not serve.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listeners {
    pub http: Option<SocketAddr>,
    pub grpc: Option<SocketAddr>,
    pub internal_grpc: Option<SocketAddr>,
}

/// A service's HTTP and gRPC servers, bound but not yet serving.
pub struct Servers {
    http: TcpListener,
    grpc: TcpListener,
    router: axum::Router,
    grpc_name: &'static str,
    grpc_routes: tonic::service::Routes,
    internal: Option<(TcpListener, &'static str, tonic::service::Routes)>,
    /// the descriptors reflection serves on the public port, when `listen.grpc_reflection` is on
    reflection: Option<&'static [u8]>,
}

impl Servers {
    /// Binds both listeners (port 0 picks a free port, for tests).
    pub async fn bind(
        listen: &ListenSettings,
        router: axum::Router,
        grpc_name: &'static str,
        grpc_routes: tonic::service::Routes,
        descriptors: &'static [u8],
    ) -> crate::Result<Self> {
        let http = TcpListener::bind((listen.host.as_str(), listen.http_port)).await?;
        let grpc = TcpListener::bind((listen.host.as_str(), listen.grpc_port)).await?;
        let reflection = listen.grpc_reflection.then_some(descriptors);
        Ok(Self { http, grpc, router, grpc_name, grpc_routes, internal: None, reflection })
    }

    /// Adds the internal gRPC listener (`listen.internal_grpc_port`) serving `routes`.
    pub async fn with_internal(
        mut self,
        listen: &ListenSettings,
        name: &'static str,
        routes: tonic::service::Routes,
    ) -> crate::Result<Self> {
        let listener = TcpListener::bind((listen.host.as_str(), listen.internal_grpc_port)).await?;
        self.internal = Some((listener, name, routes));
        Ok(self)
    }

    pub fn addresses(&self) -> Listeners {
        Listeners {
            http: self.http.local_addr().ok(),
            grpc: self.grpc.local_addr().ok(),
            internal_grpc: self.internal.as_ref().and_then(|(l, _, _)| l.local_addr().ok()),
        }
    }

    /// Starts both servers as tasks; they drain when the tasks' token is cancelled.
    pub fn spawn(self, tasks: &mut crate::tasks::ServiceTasks) {
        let token = tasks.token();
        tasks.spawn("http", crate::http::serve(self.http, self.router, token.clone()));
        if let Some((listener, name, routes)) = self.internal {
            tasks.spawn("internal-grpc", crate::grpc::serve(listener, name, routes, None, token.clone()));
        }
        tasks.spawn("grpc", crate::grpc::serve(self.grpc, self.grpc_name, self.grpc_routes, self.reflection, token));
    }
}
