//! Supervision: the inspection centre's and provincial directors' dashboards
//! from reporting's API (scoped by the viewer's token there), the printable
//! report of one desk event, and the live view of every desk open now.
//!
//! Long by choice: the dashboards, their CSV, the event report and the live view read the same
//! reporting documents and share the scope and period parsing; split, each file would import the
//! other three.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pasokh_domain::{Action, reach};
use serde::Deserialize;

use super::AppState;
use super::cases::{CaseLine, QueueFilters, case_line};
use crate::forms::Form;
use crate::pages::{self, Choice, Chrome};
use crate::reporting::{
    DeskEventReport, Indicators, OpenDeskEvents, OverviewDoc, RankingDoc, RankingEntry, ReportRefusal, TrendDoc,
};
use crate::routing::authed;
use crate::session::StaffSession;
use crate::{Error, Result, csv, fa, svg};

fn may_read_reports(session: &StaffSession) -> Result<()> {
    reach(session.role, Action::ReadReports, false)
        .map(|_| ())
        .ok_or(Error::Forbidden("this role does not read reports"))
}

fn report_error(refusal: ReportRefusal, return_to: &str) -> Error {
    match refusal {
        ReportRefusal::SignIn => Error::SignIn(return_to.to_owned()),
        ReportRefusal::Forbidden => Error::Forbidden("reporting refused this member of staff"),
        ReportRefusal::NotFound => Error::NotFound("report"),
        other => Error::Unavailable(format!("reporting: {other:?}")),
    }
}

/// A share as a Persian percentage; a dash when nothing was counted.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |s| fa::digits(&format!("{:.1}٪", s * 100.0)))
}

fn number(n: i64) -> String {
    fa::digits(&n.to_string())
}

fn decimal(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| fa::digits(&format!("{v:.2}")))
}

/// The period the viewer chose, as reporting's query takes it.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub(crate) struct PeriodQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    period: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    date: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    table: String,
}

impl PeriodQuery {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let period = if self.period.is_empty() { "month" } else { self.period.as_str() };
        let mut pairs = vec![("period", period)];
        for (name, value) in [("date", &self.date), ("from", &self.from), ("to", &self.to)] {
            if !value.is_empty() {
                pairs.push((name, value.as_str()));
            }
        }
        pairs
    }

    fn bucket(&self) -> &'static str {
        if matches!(self.period.as_str(), "year" | "quarter") { "month" } else { "day" }
    }
}

pub(crate) struct Card {
    pub(crate) label: &'static str,
    pub(crate) value: String,
}

pub(crate) struct RankLine {
    pub(crate) rank: String,
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) volume: String,
    pub(crate) index: String,
    pub(crate) first_response: String,
    pub(crate) resolution: String,
    pub(crate) satisfaction: String,
    pub(crate) repeat: String,
}

pub(crate) struct RankingTable {
    pub(crate) title: &'static str,
    pub(crate) table: &'static str,
    pub(crate) groups: Vec<RankGroup>,
}

pub(crate) struct RankGroup {
    pub(crate) name: String,
    pub(crate) lines: Vec<RankLine>,
}

pub(crate) struct TrendLine {
    pub(crate) label: String,
    pub(crate) volume: String,
    pub(crate) resolution: String,
    pub(crate) satisfaction: String,
}

pub(crate) struct CaseList {
    pub(crate) title: &'static str,
    /// its CSV's table name
    pub(crate) table: &'static str,
    pub(crate) total: String,
    pub(crate) lines: Vec<CaseLine>,
    /// the queue view with all of them
    pub(crate) query: String,
}

#[derive(askama::Template)]
#[template(path = "supervision/dashboard.html")]
pub(crate) struct DashboardPage {
    pub(crate) chrome: Chrome,
    pub(crate) form: Form,
    pub(crate) periods: Vec<Choice>,
    /// the period's query string, for the CSV links
    pub(crate) query: String,
    pub(crate) period_label: String,
    pub(crate) period_range: String,
    pub(crate) index: String,
    pub(crate) cards: Vec<Card>,
    pub(crate) rankings: Vec<RankingTable>,
    pub(crate) trend_svg: String,
    pub(crate) trend: Vec<TrendLine>,
    pub(crate) backlog_svg: String,
    pub(crate) backlog: Vec<(String, String)>,
    pub(crate) backlog_open: String,
    pub(crate) backlog_median: String,
    pub(crate) case_lists: Vec<CaseList>,
    /// false when reporting refused the period: only the form is shown
    pub(crate) loaded: bool,
}

fn cards_of(i: &Indicators, meetings: &crate::reporting::MeetingCounts) -> Vec<Card> {
    vec![
        Card { label: "درخواست‌های ثبت‌شده", value: number(i.volume) },
        Card { label: "هنوز باز", value: number(i.backlog) },
        Card { label: "پاسخ نخست به‌موقع", value: percent(i.first_response_on_time) },
        Card { label: "رسیدگی به‌موقع", value: percent(i.resolution_on_time) },
        Card {
            label: "میانهٔ روزهای کاری تا رسیدگی",
            value: i.median_working_days_to_resolution.map_or_else(|| "—".into(), |d| fa::digits(&d.to_string())),
        },
        Card { label: "عبور از مهلت", value: number(i.breaches) },
        Card { label: "ارجاع به مقام بالاتر", value: number(i.escalations) },
        Card { label: "میانگین رضایت (از ۵)", value: decimal(i.satisfaction_mean) },
        Card { label: "رضایت ۴ و ۵", value: percent(i.satisfaction_high_share) },
        Card { label: "نرخ درخواست تکراری", value: percent(i.repeat_petition_rate) },
        Card { label: "نرخ بازگشایی", value: percent(i.reopen_rate) },
        Card { label: "نرخ اعتراض", value: percent(i.appeal_rate) },
        Card { label: "ثبت در میز خدمت", value: number(i.at_desk) },
        Card { label: "پاسخ در محل میز خدمت", value: percent(i.on_spot_resolution_rate) },
        Card { label: "دیدار با مسئولان", value: number(meetings.held) },
        Card { label: "قول‌های به‌موقع انجام‌شده", value: number(meetings.kept) },
    ]
}

fn rank_line(entry: &RankingEntry) -> RankLine {
    RankLine {
        rank: entry.rank.map_or_else(|| "—".to_owned(), |r| fa::digits(&r.to_string())),
        code: entry.code.clone(),
        name: entry.name_fa.clone(),
        volume: number(entry.volume),
        index: decimal(entry.responsiveness_index),
        first_response: percent(entry.indicators.first_response_on_time),
        resolution: percent(entry.indicators.resolution_on_time),
        satisfaction: decimal(entry.indicators.satisfaction_mean),
        repeat: percent(entry.indicators.repeat_petition_rate),
    }
}

fn groups_of(ranking: &RankingDoc) -> Vec<RankGroup> {
    let mut groups: Vec<RankGroup> = ranking
        .groups
        .iter()
        .filter(|g| !g.entries.is_empty())
        .map(|g| RankGroup { name: g.name_fa.clone(), lines: g.entries.iter().map(rank_line).collect() })
        .collect();
    if !ranking.unranked.is_empty() {
        groups.push(RankGroup {
            name: "بدون رتبه (حجم کم)".into(),
            lines: ranking.unranked.iter().map(rank_line).collect(),
        });
    }
    groups
}

const PERIODS: &[(&str, &str)] = &[
    ("day", "روز"),
    ("week", "هفته"),
    ("month", "ماه"),
    ("quarter", "فصل"),
    ("year", "سال"),
    ("fajr", "دههٔ فجر"),
    ("custom", "بازهٔ دلخواه"),
];

/// Cases of the viewer's scope in a queue view, for the lists under the dashboard.
async fn case_list(
    state: &AppState,
    token: &str,
    (title, table): (&'static str, &'static str),
    filters: QueueFilters,
) -> Option<CaseList> {
    let mut cases = state.routing.cases().ok()?;
    let answer = cases.list_queue(authed(filters.request(10), token)).await.ok()?.into_inner();
    Some(CaseList {
        title,
        table,
        total: number(i64::try_from(answer.total).unwrap_or(i64::MAX)),
        lines: answer.cases.iter().map(|c| case_line(&state.calendar, c)).collect(),
        query: filters.query(),
    })
}

async fn dashboard_page(
    state: &AppState,
    mut session: StaffSession,
    query: PeriodQuery,
) -> Result<(StatusCode, DashboardPage)> {
    may_read_reports(&session)?;
    let token = session.bearer(state).await?;
    let pairs = query.pairs();
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut all: Vec<(&str, &str)> = pairs.clone();
        all.extend_from_slice(extra);
        all
    };
    let reporting = &state.reporting;
    let (by_province, by_organisation) = (with(&[("of", "province")]), with(&[("of", "organisation")]));
    let by_bucket = with(&[("bucket", query.bucket())]);
    let (overview, provinces, organisations, trend) = tokio::join!(
        reporting.get::<OverviewDoc>("/v1/overview", &pairs, &token),
        reporting.get::<RankingDoc>("/v1/ranking", &by_province, &token),
        reporting.get::<RankingDoc>("/v1/ranking", &by_organisation, &token),
        reporting.get::<TrendDoc>("/v1/trend", &by_bucket, &token),
    );
    let values = std::collections::BTreeMap::from([
        ("period".to_owned(), query.pairs()[0].1.to_owned()),
        ("date".to_owned(), query.date.clone()),
        ("from".to_owned(), query.from.clone()),
        ("to".to_owned(), query.to.clone()),
    ]);
    let mut form = Form::submitted(values);
    let periods =
        PERIODS.iter().map(|(v, l)| Choice { checked: form.is("period", v), ..Choice::new(*v, *l) }).collect();
    let mut page = DashboardPage {
        chrome: Chrome::staff(Some(&session)),
        form: Form::new(),
        periods,
        query: serde_urlencoded::to_string(PeriodQuery { table: String::new(), ..query.clone() }).unwrap_or_default(),
        period_label: String::new(),
        period_range: String::new(),
        index: String::new(),
        cards: Vec::new(),
        rankings: Vec::new(),
        trend_svg: String::new(),
        trend: Vec::new(),
        backlog_svg: String::new(),
        backlog: Vec::new(),
        backlog_open: String::new(),
        backlog_median: String::new(),
        case_lists: Vec::new(),
        loaded: false,
    };
    let (overview, provinces, organisations, trend) = match (overview, provinces, organisations, trend) {
        (Ok(o), Ok(p), Ok(g), Ok(t)) => (o, p, g, t),
        (Err(ReportRefusal::Invalid { field, code }), ..) => {
            // the period the viewer typed: the sentence beside its field, what they typed kept
            let field =
                if ["period", "date", "from", "to"].contains(&field.as_str()) { field } else { "period".into() };
            form.reject(&field, &code);
            page.form = form;
            return Ok((StatusCode::BAD_REQUEST, page));
        }
        (Err(refusal), ..) | (_, Err(refusal), ..) | (_, _, Err(refusal), _) | (_, _, _, Err(refusal)) => {
            return Err(report_error(refusal, "/dashboard"));
        }
    };
    page.form = form;
    let doc = &overview.indicators;
    page.period_label = doc.period.label_fa.clone();
    page.period_range = format!("{} تا {}", doc.period.from_jalali, doc.period.to_jalali);
    page.index = decimal(doc.responsiveness_index);
    page.cards = cards_of(&doc.indicators, &doc.meetings);
    page.rankings = vec![
        RankingTable { title: "رتبهٔ استان‌ها", table: "provinces", groups: groups_of(&provinces) },
        RankingTable {
            title: "رتبهٔ دستگاه‌ها", table: "organisations", groups: groups_of(&organisations)
        },
    ];
    let volumes: Vec<(String, f64)> =
        trend.points.iter().map(|p| (p.start_jalali.clone(), p.indicators.volume as f64)).collect();
    page.trend_svg = svg::bar_chart("trend-title", "درخواست‌های ثبت‌شده در هر بازه", &volumes, "درخواست");
    page.trend = trend
        .points
        .iter()
        .map(|p| TrendLine {
            label: fa::digits(&p.start_jalali),
            volume: number(p.indicators.volume),
            resolution: percent(p.indicators.resolution_on_time),
            satisfaction: decimal(p.indicators.satisfaction_mean),
        })
        .collect();
    let ages: Vec<(String, f64)> = overview.backlog.ages.iter().map(|a| (a.label_fa.clone(), a.cases as f64)).collect();
    page.backlog_svg = svg::bar_chart("backlog-title", "پرونده‌های باز بر پایهٔ سن (روز کاری)", &ages, "پرونده");
    page.backlog = overview.backlog.ages.iter().map(|a| (a.label_fa.clone(), number(a.cases))).collect();
    page.backlog_open = number(overview.backlog.open);
    page.backlog_median =
        overview.backlog.median_age_working_days.map_or_else(|| "—".to_owned(), |d| fa::digits(&d.to_string()));
    if reach(session.role, Action::ReadCases, false).is_some() {
        let breached = QueueFilters { sla: "breached".into(), ..QueueFilters::default() };
        let escalated = QueueFilters { escalated: "yes".into(), ..QueueFilters::default() };
        let (breached, escalated) = tokio::join!(
            case_list(state, &token, ("پرونده‌های گذشته از مهلت", "breached"), breached),
            case_list(state, &token, ("پرونده‌های ارجاع‌شده به مقام بالاتر", "escalated"), escalated)
        );
        page.case_lists = breached.into_iter().chain(escalated).collect();
    }
    page.loaded = true;
    Ok((StatusCode::OK, page))
}

/// `GET /dashboard`: the indicators of the viewer's scope for a Jalali period.
#[tracing::instrument(skip_all)]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    session: StaffSession,
    Query(query): Query<PeriodQuery>,
) -> Result<Response> {
    let (status, page) = dashboard_page(&state, session, query).await?;
    Ok((status, pages::render(&page)).into_response())
}

/// `GET /dashboard.csv?table=…`: one of the dashboard's tables as CSV.
#[tracing::instrument(skip_all)]
pub(crate) async fn dashboard_csv(
    State(state): State<AppState>,
    session: StaffSession,
    Query(query): Query<PeriodQuery>,
) -> Result<Response> {
    let table = query.table.clone();
    let (status, page) = dashboard_page(&state, session, query).await?;
    if status != StatusCode::OK {
        return Err(Error::NotFound("report for this period"));
    }
    let rank_rows = |groups: &[RankGroup]| -> Vec<Vec<String>> {
        groups
            .iter()
            .flat_map(|g| {
                g.lines.iter().map(|l| {
                    vec![
                        g.name.clone(),
                        l.rank.clone(),
                        l.code.clone(),
                        l.name.clone(),
                        l.volume.clone(),
                        l.index.clone(),
                        l.first_response.clone(),
                        l.resolution.clone(),
                        l.satisfaction.clone(),
                        l.repeat.clone(),
                    ]
                })
            })
            .collect()
    };
    const RANK_HEADERS: &[&str] = &[
        "گروه همتا",
        "رتبه",
        "کد",
        "نام",
        "حجم",
        "شاخص پاسخگویی",
        "پاسخ نخست به‌موقع",
        "رسیدگی به‌موقع",
        "رضایت",
        "درخواست تکراری",
    ];
    let case_rows = |table: &str| -> Vec<Vec<String>> {
        page.case_lists
            .iter()
            .filter(|l| l.table == table)
            .flat_map(|l| l.lines.iter())
            .map(|c| {
                vec![
                    c.tracking_code_fa.clone(),
                    c.category.clone(),
                    c.status.clone(),
                    c.sla.label.to_owned(),
                    c.due.clone(),
                ]
            })
            .collect()
    };
    const CASE_HEADERS: &[&str] = &["کد رهگیری", "موضوع", "وضعیت", "مهلت", "سررسید"];
    let text = match table.as_str() {
        "overview" => csv::table(
            &["شاخص", "مقدار"],
            &page.cards.iter().map(|c| vec![c.label.to_owned(), c.value.clone()]).collect::<Vec<_>>(),
        ),
        "provinces" | "organisations" => {
            let groups =
                page.rankings.iter().find(|r| r.table == table).map(|r| r.groups.as_slice()).unwrap_or_default();
            csv::table(RANK_HEADERS, &rank_rows(groups))
        }
        "trend" => csv::table(
            &["آغاز بازه", "حجم", "رسیدگی به‌موقع", "رضایت"],
            &page
                .trend
                .iter()
                .map(|t| vec![t.label.clone(), t.volume.clone(), t.resolution.clone(), t.satisfaction.clone()])
                .collect::<Vec<_>>(),
        ),
        "backlog" => csv::table(
            &["سن", "پرونده‌های باز"],
            &page.backlog.iter().map(|(a, n)| vec![a.clone(), n.clone()]).collect::<Vec<_>>(),
        ),
        "breached" | "escalated" => csv::table(CASE_HEADERS, &case_rows(&table)),
        _ => return Err(Error::NotFound("table")),
    };
    Ok(csv::download(&format!("pasokh-{table}"), text))
}

#[derive(askama::Template)]
#[template(path = "supervision/event_report.html")]
pub(crate) struct EventReportPage {
    pub(crate) chrome: Chrome,
    pub(crate) report: DeskEventReport,
    pub(crate) people_served: String,
    pub(crate) resolved_on_spot: String,
    pub(crate) follow_up: Vec<(&'static str, String)>,
    pub(crate) meetings: Vec<(&'static str, String)>,
}

impl EventReportPage {
    pub(crate) fn count(&self, n: &i64) -> String {
        number(*n)
    }
}

/// `GET /desk-events/{id}/report`: one desk event on one printable A4 page.
#[tracing::instrument(skip_all)]
pub(crate) async fn event_report(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    may_read_reports(&session)?;
    let token = session.bearer(&state).await?;
    let return_to = format!("/desk-events/{id}/report");
    let path = format!("/v1/desk-events/{id}/report");
    let mut report: DeskEventReport =
        state.reporting.get(&path, &[], &token).await.map_err(|r| report_error(r, &return_to))?;
    for promise in &mut report.promises {
        promise.tracking_code = fa::digits(&promise.tracking_code);
    }
    let f = &report.follow_up;
    let m = &report.meetings;
    let page = EventReportPage {
        chrome: Chrome::staff(Some(&session)),
        people_served: number(report.people_served),
        resolved_on_spot: number(report.resolved_on_spot),
        follow_up: vec![
            ("در جریان", number(f.open)),
            ("پاسخ داده‌شده", number(f.responded)),
            ("بسته‌شده", number(f.closed)),
            ("ردشده", number(f.rejected)),
            ("ادغام‌شده", number(f.merged)),
        ],
        meetings: vec![
            ("دیدارها", number(m.held)),
            ("قول‌ها", number(m.promises)),
            ("انجام‌شده به‌موقع", number(m.kept)),
            ("انجام‌شده با تأخیر", number(m.late)),
            ("گذشته از موعد", number(m.overdue)),
            ("در انتظار موعد", number(m.pending)),
            ("بی‌پیگیری (بدون درخواست)", number(m.untracked)),
        ],
        report,
    };
    Ok(pages::render(&page))
}

#[derive(askama::Template)]
#[template(path = "supervision/live.html")]
pub(crate) struct LivePage {
    pub(crate) chrome: Chrome,
    pub(crate) live: LiveView,
}

#[derive(askama::Template)]
#[template(path = "supervision/fragment_live.html")]
pub(crate) struct LiveFragment {
    pub(crate) live: LiveView,
}

pub(crate) struct LiveView {
    pub(crate) as_of: String,
    pub(crate) events_open: String,
    pub(crate) events: Vec<crate::reporting::OpenDeskEvent>,
    pub(crate) provinces: String,
    pub(crate) people_served: String,
    pub(crate) resolved_on_spot: String,
    pub(crate) meetings: String,
}

impl LivePage {
    pub(crate) fn count(&self, n: &i64) -> String {
        number(*n)
    }
}

impl LiveFragment {
    pub(crate) fn count(&self, n: &i64) -> String {
        number(*n)
    }
}

async fn live_view(state: &AppState, session: &mut StaffSession) -> Result<LiveView> {
    may_read_reports(session)?;
    let token = session.bearer(state).await?;
    let open: OpenDeskEvents =
        state.reporting.get("/v1/desk-events/open", &[], &token).await.map_err(|r| report_error(r, "/live"))?;
    Ok(LiveView {
        as_of: open.as_of_jalali.clone(),
        events_open: number(i64::try_from(open.events.len()).unwrap_or(0)),
        provinces: number(i64::try_from(open.provinces).unwrap_or(0)),
        people_served: number(open.people_served),
        resolved_on_spot: number(open.resolved_on_spot),
        meetings: number(open.meetings),
        events: open.events,
    })
}

/// `GET /live`: every desk event open now across the provinces, its counts refreshed.
#[tracing::instrument(skip_all)]
pub(crate) async fn live(State(state): State<AppState>, mut session: StaffSession) -> Result<Response> {
    let live = live_view(&state, &mut session).await?;
    Ok(pages::render(&LivePage { chrome: Chrome::staff(Some(&session)), live }))
}

/// `GET /live/fragment`: the live table alone, for the page's script.
#[tracing::instrument(skip_all)]
pub(crate) async fn live_fragment(State(state): State<AppState>, mut session: StaffSession) -> Result<Response> {
    let live = live_view(&state, &mut session).await?;
    Ok(pages::render(&LiveFragment { live }))
}
