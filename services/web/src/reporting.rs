//! Reporting's HTTP API, called with the member of staff's own token: reporting
//! scopes every report by it. Answers are read into the types below, so a page
//! never renders a shape it did not expect.
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Clone)]
pub(crate) struct Reporting {
    http: reqwest::Client,
    base: String,
}

/// Why a report could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReportRefusal {
    /// reporting refused the query: its problem `code` and the field it named
    Invalid {
        field: String,
        code: String,
    },
    SignIn,
    Forbidden,
    NotFound,
    Unavailable(String),
}

#[derive(Deserialize)]
struct Problem {
    code: String,
    #[serde(default)]
    errors: Vec<ProblemField>,
}

#[derive(Deserialize)]
struct ProblemField {
    field: String,
    code: String,
}

impl Reporting {
    pub(crate) fn new(base: &str, timeout: Duration) -> crate::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| crate::Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned() })
    }

    async fn send(&self, path: &str, query: &[(&str, &str)], token: &str) -> Result<reqwest::Response, ReportRefusal> {
        if self.base.is_empty() {
            return Err(ReportRefusal::Unavailable("reporting_url is not set".into()));
        }
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .headers(pasokh_platform::telemetry::trace_headers())
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ReportRefusal::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let problem: Option<Problem> = response.json().await.ok();
        Err(match (status.as_u16(), problem) {
            (401, _) => ReportRefusal::SignIn,
            (403, _) => ReportRefusal::Forbidden,
            (404, _) => ReportRefusal::NotFound,
            (400, Some(problem)) => match problem.errors.into_iter().next() {
                Some(field) => ReportRefusal::Invalid { field: field.field, code: field.code },
                None => ReportRefusal::Invalid { field: String::new(), code: problem.code },
            },
            (status, _) => ReportRefusal::Unavailable(format!("reporting answered {status}")),
        })
    }

    /// A JSON report.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: &str,
    ) -> Result<T, ReportRefusal> {
        let response = self.send(path, query, token).await?;
        response.json().await.map_err(|e| ReportRefusal::Unavailable(format!("reporting's answer: {e}")))
    }
}

/// The indicators of a scope and period (shares between 0 and 1).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Indicators {
    pub(crate) volume: i64,
    pub(crate) backlog: i64,
    pub(crate) first_response_on_time: Option<f64>,
    pub(crate) resolution_on_time: Option<f64>,
    pub(crate) median_working_days_to_resolution: Option<u32>,
    pub(crate) breaches: i64,
    pub(crate) escalations: i64,
    pub(crate) reopen_rate: Option<f64>,
    pub(crate) appeal_rate: Option<f64>,
    pub(crate) satisfaction_mean: Option<f64>,
    pub(crate) satisfaction_high_share: Option<f64>,
    pub(crate) repeat_petition_rate: Option<f64>,
    pub(crate) at_desk: i64,
    pub(crate) on_spot_resolution_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PeriodDoc {
    pub(crate) label_fa: String,
    pub(crate) from_jalali: String,
    pub(crate) to_jalali: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MeetingCounts {
    pub(crate) held: i64,
    pub(crate) promises: i64,
    pub(crate) kept: i64,
    pub(crate) late: i64,
    pub(crate) overdue: i64,
    pub(crate) pending: i64,
    pub(crate) untracked: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IndicatorsDoc {
    pub(crate) period: PeriodDoc,
    pub(crate) indicators: Indicators,
    pub(crate) meetings: MeetingCounts,
    pub(crate) responsiveness_index: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AgeBucket {
    pub(crate) label_fa: String,
    pub(crate) cases: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BacklogDoc {
    pub(crate) open: i64,
    pub(crate) median_age_working_days: Option<u32>,
    pub(crate) ages: Vec<AgeBucket>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OverviewDoc {
    pub(crate) indicators: IndicatorsDoc,
    pub(crate) backlog: BacklogDoc,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RankingEntry {
    pub(crate) code: String,
    pub(crate) name_fa: String,
    pub(crate) volume: i64,
    pub(crate) responsiveness_index: Option<f64>,
    pub(crate) rank: Option<usize>,
    pub(crate) indicators: Indicators,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PeerGroup {
    pub(crate) name_fa: String,
    pub(crate) entries: Vec<RankingEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RankingDoc {
    pub(crate) groups: Vec<PeerGroup>,
    pub(crate) unranked: Vec<RankingEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TrendPoint {
    pub(crate) start_jalali: String,
    pub(crate) indicators: Indicators,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TrendDoc {
    pub(crate) points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CategoryCount {
    pub(crate) category_fa: String,
    pub(crate) submitted: i64,
    pub(crate) resolved_on_spot: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OrganisationCount {
    pub(crate) organisation_fa: String,
    pub(crate) submitted: i64,
    pub(crate) categories: Vec<CategoryCount>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct FollowUp {
    pub(crate) open: i64,
    pub(crate) responded: i64,
    pub(crate) closed: i64,
    pub(crate) rejected: i64,
    pub(crate) merged: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Promise {
    pub(crate) organisation_fa: String,
    pub(crate) official_title: String,
    pub(crate) tracking_code: String,
    pub(crate) promise_due_jalali: String,
    pub(crate) status: String,
    pub(crate) status_fa: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DeskEventInfo {
    pub(crate) title: String,
    pub(crate) venue: String,
    pub(crate) starts_at_jalali: String,
    pub(crate) closed: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeskEventReport {
    pub(crate) event: Option<DeskEventInfo>,
    pub(crate) people_served: i64,
    pub(crate) resolved_on_spot: i64,
    pub(crate) by_organisation: Vec<OrganisationCount>,
    pub(crate) follow_up: FollowUp,
    pub(crate) meetings: MeetingCounts,
    pub(crate) promises: Vec<Promise>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OpenDeskEvent {
    pub(crate) desk_event_id: String,
    pub(crate) title: String,
    pub(crate) venue: String,
    pub(crate) province_fa: String,
    pub(crate) starts_at_jalali: String,
    pub(crate) ends_at_jalali: String,
    pub(crate) people_served: i64,
    pub(crate) resolved_on_spot: i64,
    pub(crate) meetings: i64,
    pub(crate) promises: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OpenDeskEvents {
    pub(crate) as_of_jalali: String,
    pub(crate) events: Vec<OpenDeskEvent>,
    pub(crate) provinces: usize,
    pub(crate) people_served: i64,
    pub(crate) resolved_on_spot: i64,
    pub(crate) meetings: i64,
}
