//! PostgreSQL pools and migrations, the same for every service.
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Result;
use crate::config::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/database`
    pub url: Secret,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

impl DatabaseSettings {
    pub fn local(database: &str) -> Self {
        Self {
            url: Secret::new(format!("postgres://pasokh:pasokh@127.0.0.1:55432/{database}")),
            max_connections: 10,
            acquire_timeout_ms: 5_000,
        }
    }

    /// Settings for a database at `url` with the default pool size.
    pub fn at(url: &str) -> Self {
        Self { url: Secret::new(url), ..Self::local("") }
    }

    fn options(&self) -> Result<PgConnectOptions> {
        Ok(self.url.expose().parse()?)
    }

    /// A pool that connects lazily, so a service starts (and reports not-ready) while its database is down.
    pub fn pool(&self) -> Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(Duration::from_millis(self.acquire_timeout_ms))
            .connect_lazy_with(self.options()?))
    }
}

/// Applies migrations, retrying the first connection for a while so `migrate` can run while PostgreSQL starts.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> Result<()> {
    // the shared policy: 250 ms doubling to 2 s, jittered, so a rollout's Jobs do not knock in step
    let backoff = crate::retry::Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    let mut attempt = 0;
    loop {
        match pool.acquire().await {
            Ok(_) => break,
            Err(error) if std::time::Instant::now() < give_up => {
                attempt += 1;
                let delay = backoff.delay(attempt);
                tracing::warn!(%error, attempt, ?delay, "database not reachable yet, retrying");
                tokio::time::sleep(delay).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
    migrator.run(pool).await?;
    tracing::info!(migrations = migrator.iter().count(), "database migrated");
    Ok(())
}

/// True when a trivial query succeeds within a short time: the readiness probe's database check.
pub async fn is_reachable(pool: &PgPool) -> bool {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(tokio::time::timeout(Duration::from_secs(2), probe).await, Ok(Ok(1)))
}
