//! gRPC plumbing: health, reflection, and a server that drains on shutdown.
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

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
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
        .await?;
    Ok(())
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
