//! Builds the web: the public site and the staff console on their own
//! listeners, each with the ops endpoints, over one sessions database.
use std::sync::Arc;
use std::time::Duration;

use pasokh_platform::auth::{AuthSettings, TokenSource};
use pasokh_platform::http::{Readiness, with_ops};
use pasokh_platform::metrics::HttpMetrics;
use pasokh_platform::service::{Listeners, Service};
use pasokh_platform::tasks::{BoxError, ServiceTasks};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::intake::Intake;
use crate::oidc::Oidc;
use crate::routes::{self, AppState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct App {
    public: (TcpListener, axum::Router),
    staff: (TcpListener, axum::Router),
    drain: Duration,
}

/// The web's own client at the provider, as a service account (client credentials).
fn service_account(oidc: &crate::config::OidcSettings) -> AuthSettings {
    let mut settings = AuthSettings { issuer: oidc.issuer.clone(), ..AuthSettings::for_audience(&oidc.client_id) };
    settings.client.id = oidc.client_id.clone();
    settings.client.secret = oidc.client_secret.clone();
    settings
}

/// `https://sso.example` of `https://sso.example/realms/pasokh`.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

impl Service for App {
    const NAME: &'static str = "web";
    const SERVICE_NAME: &'static str = "pasokh-web";
    type Settings = Settings;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: &Settings) -> Result<Self, BoxError> {
        let pool = settings.database.pool()?;
        let intake = Intake::new(&settings.intake)?;
        let browser_issuer =
            if settings.oidc.browser_issuer.is_empty() { &settings.oidc.issuer } else { &settings.oidc.browser_issuer };
        let state = AppState {
            pool: pool.clone(),
            intake: intake.clone(),
            oidc: Arc::new(Oidc::new(&settings.oidc)),
            session: settings.session.clone(),
            content_security_policy: routes::content_security_policy(origin(browser_issuer).as_deref()),
            trust_forwarded_for: settings.trust_forwarded_for,
            tokens: TokenSource::from_settings(&service_account(&settings.oidc)).map(Arc::new),
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(settings.intake.timeout_ms))
                .build()
                .map_err(|e| crate::Error::Config(format!("HTTP client: {e}")))?,
            notification_url: settings.notification_url.clone(),
            routing: crate::routing::Routing::new(
                &settings.routing_url,
                Duration::from_millis(settings.intake.timeout_ms),
            )?,
            reporting: crate::reporting::Reporting::new(
                &settings.reporting_url,
                Duration::from_millis(settings.intake.timeout_ms),
            )?,
            calendar: Arc::new(pasokh_domain::BusinessCalendar::iranian(false)),
            templates: Arc::new(crate::templates::ResponseTemplates::load(&settings.response_templates_file)?),
            one_time_code: settings.one_time_code.clone(),
            desk_events: Arc::default(),
        };
        let mut registry = Registry::with_prefix("pasokh");
        let metrics = HttpMetrics::register(&mut registry);
        let registry = Arc::new(registry);
        let readiness = Readiness::default().with_database(pool).with_advisory_check("intake", move || {
            let intake = intake.clone();
            async move { intake.reachable().await }
        });
        let public = with_ops(routes::public(state.clone()), readiness.clone(), registry.clone(), metrics.clone());
        let staff = with_ops(routes::staff(state), readiness, registry, metrics);
        let host = settings.listen.host.as_str();
        Ok(Self {
            public: (TcpListener::bind((host, settings.listen.public_port)).await?, public),
            staff: (TcpListener::bind((host, settings.listen.staff_port)).await?, staff),
            drain: Duration::from_secs(settings.shutdown_drain_secs),
        })
    }

    fn addresses(&self) -> Listeners {
        // the public site is the service's HTTP address; the console is logged on its own line
        Listeners { http: self.public.0.local_addr().ok(), grpc: None, internal_grpc: None }
    }

    async fn run(self, token: CancellationToken) -> Result<(), BoxError> {
        tracing::info!(public = ?self.public.0.local_addr().ok(), staff = ?self.staff.0.local_addr().ok(), "web listening");
        let mut tasks = ServiceTasks::new(token.clone());
        tasks.spawn("public-http", pasokh_platform::http::serve(self.public.0, self.public.1, token.clone()));
        tasks.spawn("staff-http", pasokh_platform::http::serve(self.staff.0, self.staff.1, token));
        tasks.run(self.drain).await
    }
}

impl App {
    /// Where the staff console listens (tests).
    pub fn staff_address(&self) -> Option<std::net::SocketAddr> {
        self.staff.0.local_addr().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_origin_is_its_scheme_and_host() {
        assert_eq!(origin("http://127.0.0.1:18180/realms/pasokh").as_deref(), Some("http://127.0.0.1:18180"));
        assert_eq!(origin("https://sso.mcls.gov.ir/realms/pasokh").as_deref(), Some("https://sso.mcls.gov.ir"));
        assert_eq!(origin(""), None);
    }
}
