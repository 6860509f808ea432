//! gRPC between services: a channel that puts the caller's service token in
//! every request, and the check the callee runs on its internal listener.
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::codegen::Service;
use tonic::codegen::http::{self, HeaderValue, header::AUTHORIZATION};
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument;

use super::{AuthError, ServiceCaller, TokenSource, TokenVerifier};

/// A lazily connected channel to `url` whose requests carry a token for `audience`.
#[derive(Clone)]
pub struct AuthorizedChannel {
    inner: Channel,
    tokens: Option<Arc<TokenSource>>,
    audience: Arc<str>,
}

impl AuthorizedChannel {
    /// `timeout` bounds each call; `tokens` is `None` when this service has no client at the provider,
    /// and then every call fails rather than going out without a token.
    pub fn connect_lazy(
        url: &str,
        audience: &str,
        tokens: Option<Arc<TokenSource>>,
        timeout: Duration,
    ) -> Result<Self, tonic::transport::Error> {
        let inner = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(timeout)
            .connect_lazy();
        Ok(Self { inner, tokens, audience: Arc::from(audience) })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<http::Request<Body>> for AuthorizedChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let span = crate::grpc::start_client_call(&mut request);
        // the channel that was polled ready serves this call; a fresh clone takes its place
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let tokens = self.tokens.clone();
        let audience = self.audience.clone();
        Box::pin(
            async move {
                let Some(tokens) = tokens else {
                    return Err(tonic::Status::unavailable(format!(
                        "no service client is configured (auth.client), so nothing is sent to {audience}"
                    ))
                    .into());
                };
                // a boxed Status reaches the caller as that status
                let token = tokens.token_for(&audience).await.map_err(|e| {
                    Box::new(tonic::Status::unavailable(format!("no service token for {audience}: {e}"))) as BoxError
                })?;
                let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    Box::new(tonic::Status::internal("the service token is not a header value")) as BoxError
                })?;
                request.headers_mut().insert(AUTHORIZATION, value);
                ready.call(request).await.map_err(Into::into)
            }
            .instrument(span),
        )
    }
}

/// What an internal or partner RPC checks first: a provider-issued client-credentials token for this
/// service from an allow-listed client.
#[derive(Clone)]
pub struct ClientGuard {
    pub verifier: Arc<TokenVerifier>,
    pub allowed: Arc<BTreeSet<String>>,
}

impl ClientGuard {
    pub fn new(verifier: Arc<TokenVerifier>, allowed: impl IntoIterator<Item = String>) -> Self {
        Self { verifier, allowed: Arc::new(allowed.into_iter().collect()) }
    }

    pub async fn check<T>(&self, request: &tonic::Request<T>) -> Result<ServiceCaller, tonic::Status> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        match self.verifier.service(header, &self.allowed).await {
            Ok(caller) => Ok(caller),
            Err(error) => {
                if !matches!(error, AuthError::Missing) {
                    tracing::warn!(%error, "call refused");
                }
                Err(error.into())
            }
        }
    }
}
