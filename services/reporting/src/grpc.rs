//! gRPC `ReportingService`: the HTTP API's reports as protobuf, scoped by the
//! caller's staff token the same way.
use std::sync::Arc;

use pasokh_platform::auth::TokenVerifier;
use pasokh_proto::reporting::v1 as pb;
use pasokh_proto::reporting::v1::reporting_service_server::ReportingService;
use tonic::{Request, Response, Status};

use crate::desk::MeetingCounts;
use crate::indicators::Indicators;
use crate::period::{Bucket, Period};
use crate::query::{GroupBy, Scope};
use crate::report::{
    BacklogDocument, DeskEventDocument, DeskEventsDocument, IndicatorsDocument, PeriodDocument, RankingDocument,
    RankingEntry, Reports, ScopeDocument, TrendDocument, scope_of,
};
use crate::{Error, store};

pub(crate) struct ReportingGrpc {
    pub reports: Reports,
    pub verifier: Arc<TokenVerifier>,
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

impl ReportingGrpc {
    /// The caller's scope, narrowed as asked.
    async fn scope<T>(&self, request: &Request<T>, asked: Option<&pb::Scope>) -> Result<Scope, Error> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let staff = self.verifier.staff(header).await?;
        let (province, organisation) =
            asked.map_or((None, None), |s| (non_empty(&s.province), non_empty(&s.organisation)));
        scope_of(&staff, province, organisation)
    }
}

fn period_of(period: Option<&pb::Period>) -> Result<Period, Error> {
    let p = period.cloned().unwrap_or_default();
    Ok(Period::parse(non_empty(&p.kind), non_empty(&p.date), non_empty(&p.from), non_empty(&p.to))?)
}

fn counted(scope: &ScopeDocument, period: Option<&PeriodDocument>) -> pb::Counted {
    pb::Counted {
        province: scope.province.clone().unwrap_or_default(),
        organisation: scope.organisation.clone().unwrap_or_default(),
        from: period.map(|p| p.period.from.to_string()).unwrap_or_default(),
        to: period.map(|p| p.period.to.to_string()).unwrap_or_default(),
        from_jalali: period.map(|p| p.from_jalali.clone()).unwrap_or_default(),
        to_jalali: period.map(|p| p.to_jalali.clone()).unwrap_or_default(),
        kind: period
            .and_then(|p| serde_json::to_value(p.period.kind).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

fn indicators(i: &Indicators) -> pb::Indicators {
    pb::Indicators {
        volume: i.volume,
        backlog: i.backlog,
        first_response_on_time: i.first_response_on_time,
        resolution_on_time: i.resolution_on_time,
        median_working_days_to_resolution: i.median_working_days_to_resolution,
        p90_working_days_to_resolution: i.p90_working_days_to_resolution,
        breaches: i.breaches,
        escalations: i.escalations,
        escalated_share: i.escalated_share,
        reopen_rate: i.reopen_rate,
        appeal_rate: i.appeal_rate,
        satisfaction_mean: i.satisfaction_mean,
        satisfaction_high_share: i.satisfaction_high_share,
        rated_share: i.rated_share,
        repeat_petition_rate: i.repeat_petition_rate,
        at_desk: i.at_desk,
        on_spot_resolution_rate: i.on_spot_resolution_rate,
        referrals: i.referrals,
        info_requests: i.info_requests,
    }
}

fn meetings(m: &MeetingCounts) -> pb::MeetingCounts {
    pb::MeetingCounts {
        held: m.held,
        promises: m.promises,
        kept: m.kept,
        late: m.late,
        overdue: m.overdue,
        pending: m.pending,
        untracked: m.untracked,
        kept_on_time_share: m.kept_on_time_share,
    }
}

fn indicators_report(doc: &IndicatorsDocument) -> pb::IndicatorsReport {
    pb::IndicatorsReport {
        counted: Some(counted(&doc.scope, Some(&doc.period))),
        indicators: Some(indicators(&doc.indicators)),
        responsiveness_index: doc.responsiveness_index,
        index_version: doc.index_version.clone(),
        meetings: Some(meetings(&doc.meetings)),
    }
}

fn entry(e: &RankingEntry) -> pb::RankingEntry {
    pb::RankingEntry {
        code: e.code.clone(),
        name_fa: e.name_fa.clone(),
        volume: e.volume,
        responsiveness_index: e.responsiveness_index,
        rank: e.rank.map(|r| r as u32),
        indicators: Some(indicators(&e.indicators)),
    }
}

fn ranking(doc: &RankingDocument) -> pb::Ranking {
    pb::Ranking {
        counted: Some(counted(&doc.scope, Some(&doc.period))),
        of: doc.of.to_owned(),
        index_version: doc.index_version.clone(),
        groups: doc
            .groups
            .iter()
            .map(|g| pb::PeerGroup {
                name: g.name.clone(),
                name_fa: g.name_fa.clone(),
                min_volume: g.min_volume,
                entries: g.entries.iter().map(entry).collect(),
            })
            .collect(),
        unranked: doc.unranked.iter().map(entry).collect(),
    }
}

fn backlog(doc: &BacklogDocument) -> pb::Backlog {
    pb::Backlog {
        counted: Some(counted(&doc.scope, None)),
        open: doc.open,
        median_age_working_days: doc.median_age_working_days,
        p90_age_working_days: doc.p90_age_working_days,
        ages: doc
            .ages
            .iter()
            .map(|a| pb::AgeBucket {
                label_fa: a.label_fa.to_owned(),
                min_working_days: a.min_working_days,
                max_working_days: a.max_working_days,
                cases: a.cases,
            })
            .collect(),
        as_of_jalali: doc.as_of_jalali.clone(),
    }
}

fn trend(doc: &TrendDocument) -> pb::Trend {
    pb::Trend {
        counted: Some(counted(&doc.scope, Some(&doc.period))),
        bucket: serde_json::to_value(doc.bucket).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        points: doc
            .points
            .iter()
            .map(|p| pb::TrendPoint {
                start: p.start.to_string(),
                start_jalali: p.start_jalali.clone(),
                indicators: Some(indicators(&p.indicators)),
            })
            .collect(),
    }
}

fn desk_event(doc: &DeskEventDocument) -> pb::DeskEventReport {
    pb::DeskEventReport {
        desk_event_id: doc.desk_event_id.clone(),
        people_served: doc.people_served,
        resolved_on_spot: doc.resolved_on_spot,
        by_organisation: doc
            .by_organisation
            .iter()
            .map(|o| pb::OrganisationCount {
                organisation: o.organisation.clone(),
                organisation_fa: o.organisation_fa.clone(),
                submitted: o.submitted,
                categories: o
                    .categories
                    .iter()
                    .map(|c| pb::CategoryCount {
                        category: c.category.clone(),
                        category_fa: c.category_fa.clone(),
                        submitted: c.submitted,
                        resolved_on_spot: c.resolved_on_spot,
                        open: c.open,
                        resolved: c.resolved,
                    })
                    .collect(),
            })
            .collect(),
        follow_up: Some(pb::FollowUp {
            open: doc.follow_up.open,
            responded: doc.follow_up.responded,
            closed: doc.follow_up.closed,
            rejected: doc.follow_up.rejected,
            merged: doc.follow_up.merged,
        }),
        indicators: Some(indicators(&doc.indicators)),
        title: doc.event.as_ref().map(|e| e.title.clone()).unwrap_or_default(),
        venue: doc.event.as_ref().map(|e| e.venue.clone()).unwrap_or_default(),
        starts_at_jalali: doc.event.as_ref().map(|e| e.starts_at_jalali.clone()).unwrap_or_default(),
        meetings: Some(meetings(&doc.meetings)),
        promises: doc
            .promises
            .iter()
            .map(|p| pb::Promise {
                organisation: p.organisation.clone(),
                organisation_fa: p.organisation_fa.clone(),
                official_title: p.official_title.clone(),
                tracking_code: p.tracking_code.clone(),
                promise_due: p.promise_due.map(|d| d.to_string()).unwrap_or_default(),
                promise_due_jalali: p.promise_due_jalali.clone(),
                status: serde_json::to_value(p.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                status_fa: p.status_fa.to_owned(),
            })
            .collect(),
    }
}

fn desk_events(doc: &DeskEventsDocument) -> pb::DeskEvents {
    pb::DeskEvents {
        counted: Some(counted(&doc.scope, Some(&doc.period))),
        events: doc
            .events
            .iter()
            .map(|e| pb::DeskEventLine {
                desk_event_id: e.desk_event_id.clone(),
                title: e.title.clone(),
                province: e.province.clone(),
                province_fa: e.province_fa.clone(),
                people_served: e.people_served,
                resolved_on_spot: e.resolved_on_spot,
                open: e.open,
            })
            .collect(),
        provinces: doc.provinces as u32,
        totals: Some(indicators(&doc.totals)),
        meetings: Some(meetings(&doc.meetings)),
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    #[tracing::instrument(skip_all)]
    async fn get_summary(&self, request: Request<pb::GetSummaryRequest>) -> Result<Response<pb::Summary>, Status> {
        let asked = pb::Scope { province: request.get_ref().province.clone(), organisation: String::new() };
        let scope = self.scope(&request, Some(&asked)).await?;
        let summary =
            store::summary(&self.reports.pool, scope.province.as_deref(), scope.organisation.as_deref()).await?;
        Ok(Response::new(pb::Summary {
            total: summary.total,
            by_status: summary.by_status.into_iter().collect(),
            rows: summary
                .rows
                .into_iter()
                .map(|r| pb::SummaryRow {
                    province: r.province,
                    category: r.category,
                    status: r.status,
                    count: r.count,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_indicators(
        &self,
        request: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::IndicatorsReport>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let period = period_of(request.get_ref().period.as_ref())?;
        Ok(Response::new(indicators_report(&self.reports.indicators(&scope, &period).await?)))
    }

    #[tracing::instrument(skip_all)]
    async fn get_overview(&self, request: Request<pb::ReportRequest>) -> Result<Response<pb::Overview>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let period = period_of(request.get_ref().period.as_ref())?;
        let overview = self.reports.overview(&scope, &period).await?;
        Ok(Response::new(pb::Overview {
            indicators: Some(indicators_report(&overview.indicators)),
            backlog: Some(backlog(&overview.backlog)),
            lines: overview.lines.iter().map(entry).collect(),
            generated_at: Some(pasokh_events::lifecycle::timestamp(chrono::Utc::now())),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ranking(&self, request: Request<pb::RankingRequest>) -> Result<Response<pb::Ranking>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let period = period_of(request.get_ref().period.as_ref())?;
        let of = GroupBy::parse(&request.get_ref().of).map_err(Error::from)?;
        Ok(Response::new(ranking(&self.reports.ranking(&scope, &period, of).await?)))
    }

    #[tracing::instrument(skip_all)]
    async fn get_trend(&self, request: Request<pb::TrendRequest>) -> Result<Response<pb::Trend>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let period = period_of(request.get_ref().period.as_ref())?;
        let bucket = Bucket::parse(non_empty(&request.get_ref().bucket)).map_err(Error::from)?;
        Ok(Response::new(trend(&self.reports.trend(&scope, &period, bucket).await?)))
    }

    #[tracing::instrument(skip_all)]
    async fn get_backlog(&self, request: Request<pb::ReportRequest>) -> Result<Response<pb::Backlog>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        Ok(Response::new(backlog(&self.reports.backlog(&scope).await?)))
    }

    #[tracing::instrument(skip_all)]
    async fn get_desk_event_report(
        &self,
        request: Request<pb::DeskEventReportRequest>,
    ) -> Result<Response<pb::DeskEventReport>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let id = crate::report::desk_event_id("desk_event_id", &request.get_ref().desk_event_id)?;
        Ok(Response::new(desk_event(&self.reports.desk_event(&scope, &id).await?)))
    }

    #[tracing::instrument(skip_all)]
    async fn list_desk_events(&self, request: Request<pb::ReportRequest>) -> Result<Response<pb::DeskEvents>, Status> {
        let scope = self.scope(&request, request.get_ref().scope.as_ref()).await?;
        let period = period_of(request.get_ref().period.as_ref())?;
        Ok(Response::new(desk_events(&self.reports.desk_events(&scope, &period).await?)))
    }
}
