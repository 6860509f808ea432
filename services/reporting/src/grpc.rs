//! gRPC `ReportingService`, scoped by the caller's staff token like the HTTP API.
use std::sync::Arc;

use pasokh_platform::auth::TokenVerifier;
use pasokh_proto::reporting::v1::reporting_service_server::ReportingService;
use pasokh_proto::reporting::v1::{GetSummaryRequest, Summary, SummaryRow};
use tonic::{Request, Response, Status};

use crate::report::{Reports, scope_of};
use crate::store;

pub(crate) struct ReportingGrpc {
    pub reports: Reports,
    pub verifier: Arc<TokenVerifier>,
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    async fn get_summary(&self, request: Request<GetSummaryRequest>) -> Result<Response<Summary>, Status> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let staff = self.verifier.staff(header).await.map_err(crate::Error::from)?;
        let scope = scope_of(&staff, Some(request.get_ref().province.as_str()), None)?;
        let summary =
            store::summary(&self.reports.pool, scope.province.as_deref(), scope.organisation.as_deref()).await?;
        Ok(Response::new(Summary {
            total: summary.total,
            by_status: summary.by_status.into_iter().collect(),
            rows: summary
                .rows
                .into_iter()
                .map(|r| SummaryRow { province: r.province, category: r.category, status: r.status, count: r.count })
                .collect(),
        }))
    }
}
