use pasokh_proto::reporting::v1::reporting_service_server::ReportingService;
use pasokh_proto::reporting::v1::{GetSummaryRequest, Summary, SummaryRow};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::store;

pub(crate) struct ReportingGrpc {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    async fn get_summary(&self, request: Request<GetSummaryRequest>) -> Result<Response<Summary>, Status> {
        let province = request.get_ref().province.trim();
        let province = if province.is_empty() {
            None
        } else {
            Some(
                pasokh_domain::ProvinceCode::parse(province)
                    .map_err(|e| Status::invalid_argument(e.message))?
                    .to_string(),
            )
        };
        let summary = store::summary(&self.pool, province.as_deref()).await?;
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
