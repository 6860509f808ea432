//! gRPC plumbing: health, reflection, trace propagation both ways, and a
//! server that drains on shutdown.
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codegen::Service;
use tonic::codegen::http;
use tonic::service::Routes;
use tracing::Instrument;

/// Serves `routes` plus `grpc.health.v1.Health` (SERVING for `service_name`)
/// until the token is cancelled; with `reflection` (descriptors given) also
/// server reflection, so `grpcurl` works without the proto files.
pub async fn serve(
    listener: TcpListener,
    service_name: &'static str,
    routes: Routes,
    reflection: Option<&'static [u8]>,
    token: CancellationToken,
) -> crate::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(service_name, tonic_health::ServingStatus::Serving).await;
    let mut routes = routes.add_service(health);
    if let Some(descriptors) = reflection {
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptors)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| crate::Error::Reflection(e.to_string()))?;
        routes = routes.add_service(reflection);
    }
    tracing::info!(%address, service = service_name, reflection = reflection.is_some(), "grpc listening");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .layer(tower_layer::layer_fn(|inner| TracedCalls { inner }))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
        .await?;
    Ok(())
}

/// `package.Service` and `Method` of a gRPC request path `/package.Service/Method`.
fn rpc_names(path: &str) -> (&str, &str) {
    path.trim_start_matches('/').split_once('/').unwrap_or((path, ""))
}

/// Probes and tooling, whose calls would only bury the petitions' traces.
fn is_plumbing(service: &str) -> bool {
    service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.")
}

/// The server half of trace propagation: every call runs in a server span that continues the
/// caller's `traceparent` (W3C trace context in the request metadata).
#[derive(Clone)]
pub struct TracedCalls<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for TracedCalls<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = if is_plumbing(service) {
            tracing::Span::none()
        } else {
            let span = tracing::info_span!("grpc call", otel.name = %format!("{service}/{method}"),
                otel.kind = "server", rpc.system = "grpc", rpc.service = %service, rpc.method = %method,
                trace_id = tracing::field::Empty);
            crate::telemetry::continue_trace(&span, crate::telemetry::extract(request.headers()));
            span
        };
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}

/// The client half: a client span for the call, whose context goes out as `traceparent`.
/// Call it where the request is sent, inside the caller's span; run the call in the span returned.
pub fn start_client_call<B>(request: &mut http::Request<B>) -> tracing::Span {
    let (service, method) = rpc_names(request.uri().path());
    let span = tracing::info_span!("grpc client call", otel.name = %format!("{service}/{method}"),
        otel.kind = "client", rpc.system = "grpc", rpc.service = %service, rpc.method = %method);
    crate::telemetry::inject(&span, request.headers_mut());
    span
}

/// A channel whose calls carry the caller's trace: for clients that add their own credentials
/// per request (the staff console's calls on behalf of a member of staff).
#[derive(Clone)]
pub struct TracedChannel {
    inner: tonic::transport::Channel,
}

impl TracedChannel {
    pub fn new(inner: tonic::transport::Channel) -> Self {
        Self { inner }
    }
}

impl Service<http::Request<tonic::body::Body>> for TracedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = tracing::instrument::Instrumented<
        <tonic::transport::Channel as Service<http::Request<tonic::body::Body>>>::Future,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        let span = start_client_call(&mut request);
        self.inner.call(request).instrument(span)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_response::MessageResponse};

    /// The services a port lists over reflection; `Err` with the status when it serves none.
    async fn listed_services(reflection: Option<&'static [u8]>) -> Result<Vec<String>, tonic::Code> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let token = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(super::serve(
            listener,
            "pasokh.test.v1.Nothing",
            tonic::service::Routes::default(),
            reflection,
            token.clone(),
        ));
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
        let mut client = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let outcome = match client.server_reflection_info(tokio_stream_once(request)).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                match stream.message().await {
                    Ok(Some(answer)) => match answer.message_response {
                        Some(MessageResponse::ListServicesResponse(list)) => {
                            Ok(list.service.into_iter().map(|s| s.name).collect())
                        }
                        other => panic!("{other:?}"),
                    },
                    Ok(None) => Ok(Vec::new()),
                    Err(status) => Err(status.code()),
                }
            }
            Err(status) => Err(status.code()),
        };
        token.cancel();
        server.await.unwrap().unwrap();
        outcome
    }

    fn tokio_stream_once<T: Send + 'static>(item: T) -> impl tonic::codegen::tokio_stream::Stream<Item = T> {
        tonic::codegen::tokio_stream::once(item)
    }

    #[tokio::test]
    async fn reflection_is_served_only_when_turned_on() {
        assert_eq!(listed_services(None).await, Err(tonic::Code::Unimplemented), "off by default (finding 24)");
        let listed = listed_services(Some(tonic_health::pb::FILE_DESCRIPTOR_SET)).await.unwrap();
        assert!(listed.iter().any(|s| s == "grpc.health.v1.Health"), "{listed:?}");
    }
}
