//! gRPC plumbing: health, reflection, and a server that drains on shutdown.
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

/// Serves `routes` plus `grpc.health.v1.Health` (SERVING for `service_name`)
/// and server reflection over `descriptors` (so `grpcurl` works without the
/// proto files) until the token is cancelled.
pub async fn serve(
    listener: TcpListener,
    service_name: &'static str,
    routes: Routes,
    descriptors: &'static [u8],
    token: CancellationToken,
) -> crate::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(service_name, tonic_health::ServingStatus::Serving).await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptors)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| crate::Error::Reflection(e.to_string()))?;
    tracing::info!(%address, service = service_name, "grpc listening");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health).add_service(reflection))
        .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
        .await?;
    Ok(())
}
