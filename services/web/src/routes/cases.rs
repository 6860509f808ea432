//! The officer's queue: the cases of the officer's scope (routing decides it
//! from their token), most urgent first, with SLA badges, filters, saved
//! views, counts and bulk actions.
//!
//! Long by choice: the queue page, its saved views and its bulk actions share the filter form and
//! the query string it becomes; split, the form's fields would be spelled in three places.
use std::collections::BTreeMap;

use axum::Form as Posted_;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use pasokh_domain::{Action, BusinessCalendar, CaseStatus, categories, reach, tehran_date};
use pasokh_proto::routing::v1::{CaseCommand, CaseSummary, ListQueueRequest};

use super::{AppState, Posted, check_staff_csrf as check_csrf, see_other};
use crate::forms::Form;
use crate::pages::{self, Choice, Chrome};
use crate::routing::{CaseRefusal, authed, instant};
use crate::session::StaffSession;
use crate::{Error, Result, fa};

/// What a refusal from routing means for a page.
pub(crate) fn page_error(refusal: CaseRefusal, return_to: &str) -> Error {
    match refusal {
        CaseRefusal::NotFound => Error::NotFound("case"),
        CaseRefusal::Forbidden => Error::Forbidden("routing refused this member of staff"),
        CaseRefusal::SignIn => Error::SignIn(return_to.to_owned()),
        other => Error::Unavailable(format!("routing: {other:?}")),
    }
}

/// The role may read cases at all (routing narrows it to their scope).
pub(crate) fn may_read_cases(session: &StaffSession) -> Result<()> {
    reach(session.role, Action::ReadCases, false).map(|_| ()).ok_or(Error::Forbidden("this role does not read cases"))
}

/// A case's SLA as a badge: the state, its words and the working days left or over.
#[derive(Debug, Clone)]
pub(crate) struct SlaBadge {
    /// on_track | warning | breached: the badge's class
    pub(crate) state: String,
    pub(crate) label: &'static str,
    pub(crate) days: String,
}

pub(crate) fn sla_badge(calendar: &BusinessCalendar, state: &str, due: Option<chrono::DateTime<Utc>>) -> SlaBadge {
    let label = match state {
        "breached" => "از مهلت گذشته",
        "warning" => "نزدیک به پایان مهلت",
        _ => "در مهلت",
    };
    let today = tehran_date(Utc::now());
    let days = match due.map(tehran_date) {
        Some(due) if due >= today => {
            let left = calendar.working_days_between(today, due);
            if left == 0 {
                "امروز آخرین روز است".to_owned()
            } else {
                fa::digits(&format!("{left} روز کاری مانده"))
            }
        }
        Some(due) => fa::digits(&format!("{} روز کاری گذشته", calendar.working_days_between(due, today).max(1))),
        None => String::new(),
    };
    SlaBadge { state: state.to_owned(), label, days }
}

/// One case as a queue lists it.
pub(crate) struct CaseLine {
    pub(crate) petition_id: String,
    pub(crate) version: u64,
    pub(crate) tracking_code_fa: String,
    pub(crate) category: String,
    pub(crate) organisation: String,
    pub(crate) status: String,
    pub(crate) unit: String,
    pub(crate) sla: SlaBadge,
    pub(crate) due: String,
    pub(crate) submitted: String,
    pub(crate) escalation: Option<&'static str>,
    /// a promise an official made at a desk meeting: by whom and by when
    pub(crate) promise: Option<String>,
    pub(crate) at_desk: bool,
}

pub(crate) fn case_line(calendar: &BusinessCalendar, case: &CaseSummary) -> CaseLine {
    let (category, organisation) = fa::category_and_organisation(&case.category, Some(&case.organisation));
    let due = instant(case.resolution_due.as_ref());
    CaseLine {
        petition_id: case.petition_id.clone(),
        version: case.version,
        tracking_code_fa: fa::digits(&case.tracking_code),
        category,
        organisation,
        status: case.status_fa.clone(),
        unit: pasokh_domain::unit(&case.unit).map_or_else(|| case.unit.clone(), |u| u.name_fa.clone()),
        sla: sla_badge(calendar, &case.sla_state, due),
        due: due.map(fa::date).unwrap_or_default(),
        submitted: instant(case.submitted_at.as_ref()).map(fa::date).unwrap_or_default(),
        escalation: match case.escalation_level {
            0 => None,
            1 => Some("ارجاع به مدیرکل استان"),
            _ => Some("ارجاع به ستاد"),
        },
        promise: (!case.promise_due.is_empty()).then(|| {
            let due = pasokh_domain::parse_date(&case.promise_due).map(pasokh_domain::format_jalali);
            format!(
                "قول {} تا {}",
                fa::organisation(&case.promise_organisation),
                due.unwrap_or_else(|| case.promise_due.clone())
            )
        }),
        at_desk: !case.desk_event_id.is_empty(),
    }
}

/// The queue's filters, as the query string carries them.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub(crate) struct QueueFilters {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) sla: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) escalated: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) desk_event: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) promise: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) page: String,
}

impl QueueFilters {
    pub(crate) fn request(&self, page_size: u32) -> ListQueueRequest {
        ListQueueRequest {
            statuses: if self.status.is_empty() { Vec::new() } else { vec![self.status.clone()] },
            sla_state: self.sla.clone(),
            category: self.category.clone(),
            min_escalation_level: u32::from(self.escalated == "yes"),
            page_size,
            page_token: self.page.clone(),
            desk_event_id: self.desk_event.clone(),
            with_promise: self.promise == "yes",
        }
    }

    /// The query string of these filters (without the page).
    pub(crate) fn query(&self) -> String {
        serde_urlencoded::to_string(Self { page: String::new(), ..self.clone() }).unwrap_or_default()
    }
}

/// A view of the queue with its count: built in, or saved by the officer.
pub(crate) struct QueueView {
    pub(crate) id: Option<i64>,
    pub(crate) name: String,
    pub(crate) query: String,
    pub(crate) count: String,
    pub(crate) current: bool,
}

#[derive(askama::Template)]
#[template(path = "cases/queue.html")]
pub(crate) struct QueuePage {
    pub(crate) chrome: Chrome,
    pub(crate) filters: QueueFilters,
    pub(crate) lines: Vec<CaseLine>,
    pub(crate) total: String,
    pub(crate) next_page: Option<String>,
    pub(crate) first_page: Option<String>,
    pub(crate) views: Vec<QueueView>,
    pub(crate) statuses: Vec<Choice>,
    pub(crate) sla_states: Vec<Choice>,
    pub(crate) categories: Vec<Choice>,
    pub(crate) may_work: bool,
    pub(crate) form: Form,
    pub(crate) done: Option<String>,
}

const PAGE_SIZE: u32 = 25;
const BUILT_IN_VIEWS: &[(&str, &str)] = &[
    ("همهٔ پرونده‌های باز", ""),
    ("از مهلت گذشته", "sla=breached"),
    ("نزدیک به پایان مهلت", "sla=warning"),
    ("ارجاع به مقام بالاتر", "escalated=yes"),
    ("قول‌های میز خدمت", "promise=yes"),
];

async fn count_of(state: &AppState, token: &str, query: &str) -> String {
    let filters: QueueFilters = serde_urlencoded::from_str(query).unwrap_or_default();
    let Ok(mut cases) = state.routing.cases() else { return "؟".into() };
    match cases.list_queue(authed(filters.request(1), token)).await {
        Ok(answer) => fa::digits(&answer.into_inner().total.to_string()),
        Err(_) => "؟".into(),
    }
}

#[derive(sqlx::FromRow)]
struct SavedView {
    id: i64,
    name: String,
    query: String,
}

async fn queue_page(
    state: &AppState,
    mut session: StaffSession,
    filters: QueueFilters,
    form: Form,
    done: Option<String>,
) -> Result<QueuePage> {
    may_read_cases(&session)?;
    let token = session.bearer(state).await?;
    let mut cases = state.routing.cases().map_err(|r| page_error(r, "/cases"))?;
    let answer = cases.list_queue(authed(filters.request(PAGE_SIZE), &token)).await;
    let queue = match answer {
        Ok(answer) => answer.into_inner(),
        Err(status) => match CaseRefusal::from(status) {
            // a filter routing refused: the whole queue, and the refusal beside the filters
            CaseRefusal::Field { .. } => return Err(Error::NotFound("queue view")),
            other => return Err(page_error(other, "/cases")),
        },
    };
    let current = filters.query();
    let saved: Vec<SavedView> =
        sqlx::query_as("SELECT id, name, query FROM saved_views WHERE subject = $1 ORDER BY name LIMIT 20")
            .bind(&session.subject)
            .fetch_all(&state.pool)
            .await?;
    let mut views = Vec::new();
    for (name, query) in BUILT_IN_VIEWS {
        views.push(QueueView {
            id: None,
            name: (*name).to_owned(),
            query: (*query).to_owned(),
            count: count_of(state, &token, query).await,
            current: current == *query,
        });
    }
    for view in saved {
        views.push(QueueView {
            count: count_of(state, &token, &view.query).await,
            current: current == view.query,
            id: Some(view.id),
            name: view.name,
            query: view.query,
        });
    }
    let choose = |options: Vec<(String, String)>, chosen: &str| -> Vec<Choice> {
        options.into_iter().map(|(v, l)| Choice { checked: v == chosen, ..Choice::new(v, l) }).collect()
    };
    let statuses = CaseStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| (s.as_str().to_owned(), s.label_fa().to_owned()))
        .chain(std::iter::once(("responded".to_owned(), CaseStatus::Responded.label_fa().to_owned())))
        .collect();
    let sla_states = [("on_track", "در مهلت"), ("warning", "نزدیک به پایان مهلت"), ("breached", "از مهلت گذشته")]
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let category_options = categories().iter().map(|c| (c.code.as_str().to_owned(), c.name_fa.clone())).collect();
    let next_page = (!queue.next_page_token.is_empty()).then(|| {
        let next = QueueFilters { page: queue.next_page_token.clone(), ..filters.clone() };
        serde_urlencoded::to_string(&next).unwrap_or_default()
    });
    Ok(QueuePage {
        chrome: Chrome::staff(Some(&session)),
        lines: queue.cases.iter().map(|c| case_line(&state.calendar, c)).collect(),
        total: fa::digits(&queue.total.to_string()),
        first_page: (!filters.page.is_empty()).then_some(current),
        next_page,
        views,
        statuses: choose(statuses, &filters.status),
        sla_states: choose(sla_states, &filters.sla),
        categories: choose(category_options, &filters.category),
        may_work: reach(session.role, Action::WorkCases, false).is_some(),
        filters,
        form,
        done,
    })
}

/// `GET /cases`: the queue.
#[tracing::instrument(skip_all)]
pub(crate) async fn queue(
    State(state): State<AppState>,
    session: StaffSession,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let filters: QueueFilters = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let done = serde_urlencoded::from_str::<BTreeMap<String, String>>(raw.as_deref().unwrap_or_default())
        .ok()
        .and_then(|q| q.get("done").cloned())
        .map(|d| fa::digits(&d));
    Ok(pages::render(&queue_page(&state, session, filters, Form::new(), done).await?))
}

/// `POST /cases/views`: saves the current filters under a name.
#[tracing::instrument(skip_all)]
pub(crate) async fn save_view(
    State(state): State<AppState>,
    session: StaffSession,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let filters: QueueFilters = serde_urlencoded::from_str(posted.get("query")).unwrap_or_default();
    let name = posted.get("name");
    if name.is_empty() || name.chars().count() > 60 {
        let mut form = Form::submitted(posted.values.clone());
        form.reject("name", if name.is_empty() { "field_missing" } else { "text_too_long" });
        let page = queue_page(&state, session, filters, form, None).await?;
        return Ok((StatusCode::BAD_REQUEST, pages::render(&page)).into_response());
    }
    sqlx::query(
        "INSERT INTO saved_views (subject, name, query) VALUES ($1, $2, $3)
         ON CONFLICT (subject, name) DO UPDATE SET query = EXCLUDED.query",
    )
    .bind(&session.subject)
    .bind(name)
    .bind(filters.query())
    .execute(&state.pool)
    .await?;
    Ok(see_other(&format!("/cases?{}", filters.query())))
}

/// `POST /cases/views/delete`: forgets one of the officer's views.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete_view(
    State(state): State<AppState>,
    session: StaffSession,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let id: i64 = posted.get("id").parse().map_err(|_| Error::NotFound("view"))?;
    sqlx::query("DELETE FROM saved_views WHERE id = $1 AND subject = $2")
        .bind(id)
        .bind(&session.subject)
        .execute(&state.pool)
        .await?;
    Ok(see_other("/cases"))
}

/// `POST /cases/bulk`: acknowledge the selected cases, or answer them all with one reply.
#[tracing::instrument(skip_all)]
pub(crate) async fn bulk(
    State(state): State<AppState>,
    mut session: StaffSession,
    Query(filters): Query<QueueFilters>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let mut form = Form::submitted(posted.values.clone());
    let selected: Vec<(String, u64)> = posted
        .every("cases")
        .iter()
        .filter_map(|v| v.split_once(':'))
        .map(|(id, version)| (id.to_owned(), version.parse().unwrap_or(0)))
        .collect();
    let action = posted.get("action");
    let message = posted.get("message");
    if selected.is_empty() {
        form.reject("cases", "cases_none_selected");
    }
    if action == "respond" && message.is_empty() {
        form.reject("message", "message_required");
    }
    if form.has_errors() {
        let page = queue_page(&state, session, filters, form, None).await?;
        return Ok((StatusCode::BAD_REQUEST, pages::render(&page)).into_response());
    }
    let token = session.bearer(&state).await?;
    let mut cases = state.routing.cases().map_err(|r| page_error(r, "/cases"))?;
    let (mut done, mut failed) = (0_usize, Vec::new());
    for (petition_id, version) in &selected {
        let command =
            CaseCommand { petition_id: petition_id.clone(), message: message.to_owned(), expected_version: *version };
        let outcome = match action {
            "respond" => cases.respond(authed(command, &token)).await,
            _ => cases.acknowledge(authed(command, &token)).await,
        };
        match outcome {
            Ok(_) => done += 1,
            Err(status) => {
                tracing::info!(petition_id, code = ?status.code(), "bulk action refused for one case");
                failed.push(petition_id.clone());
            }
        }
    }
    let verb = if action == "respond" { "پاسخ داده شد" } else { "تأیید دریافت شد" };
    let mut summary = format!("{done} پرونده {verb}.");
    if !failed.is_empty() {
        summary.push_str(&format!(
            " {} پرونده انجام نشد، چون وضعیتشان اجازه نمی‌داد یا در این میان تغییر کرده بودند.",
            failed.len()
        ));
    }
    let query = serde_urlencoded::to_string([("done", summary.as_str())]).unwrap_or_default();
    let filters_query = filters.query();
    let separator = if filters_query.is_empty() { "" } else { "&" };
    Ok(see_other(&format!("/cases?{filters_query}{separator}{query}")))
}
