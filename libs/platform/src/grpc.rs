//! gRPC plumbing: the standard health service and a server that drains on shutdown.
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

/// Serves `routes` plus `grpc.health.v1.Health` (reporting SERVING for `service_name`) until the token is cancelled.
pub async fn serve(
    listener: TcpListener,
    service_name: &'static str,
    routes: Routes,
    token: CancellationToken,
) -> crate::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(service_name, tonic_health::ServingStatus::Serving)
        .await;
    tracing::info!(%address, service = service_name, "grpc listening");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health))
        .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
        .await?;
    Ok(())
}
