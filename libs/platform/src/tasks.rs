//! Runs a service's long-lived tasks (servers, consumers, relays) together:
//! the first to stop, for any reason, stops the others.
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub struct ServiceTasks {
    set: JoinSet<(&'static str, Result<(), BoxError>)>,
    token: CancellationToken,
}

impl ServiceTasks {
    pub fn new(token: CancellationToken) -> Self {
        Self { set: JoinSet::new(), token }
    }

    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub fn spawn<F, E>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.set.spawn(async move { (name, task.await.map_err(Into::into)) });
    }

    /// Waits until shutdown is requested or a task ends, then cancels the rest
    /// and gives them `drain` to finish. Returns the first task's error, if any.
    pub async fn run(mut self, drain: Duration) -> Result<(), BoxError> {
        let mut first_error: Option<BoxError> = None;
        tokio::select! {
            _ = self.token.cancelled() => {},
            Some(joined) = self.set.join_next() => {
                match joined {
                    Ok((name, Ok(()))) => tracing::warn!(task = name, "task ended, stopping the service"),
                    Ok((name, Err(error))) => {
                        tracing::error!(task = name, error = %error_chain(error.as_ref()), "task failed, stopping the service");
                        first_error = Some(format!("{name} failed: {}", error_chain(error.as_ref())).into());
                    }
                    Err(join_error) => first_error = Some(Box::new(join_error)),
                }
            }
        }
        self.token.cancel();
        let drained = tokio::time::timeout(drain, async {
            while let Some(joined) = self.set.join_next().await {
                if let Ok((name, Err(error))) = joined {
                    tracing::warn!(task = name, error = %error_chain(error.as_ref()), "task failed while draining");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(?drain, "tasks did not drain in time, aborting them");
            self.set.abort_all();
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `outer: inner: innermost`, the way an operator wants to read an error in one log line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
