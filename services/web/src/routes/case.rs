//! The case page: the petition, its Jalali timeline with who did what, the
//! deadlines and the rule that chose the unit, the citizen's other petitions,
//! and every action the case's status allows as a form. Each form carries the
//! case version the officer saw: when someone changed the case meanwhile,
//! routing refuses, and the page shows what changed with what the officer
//! typed kept.
//!
//! Long by choice: one page and its forms; every action the case's status allows is a form here,
//! and the version check that keeps an officer's typing when someone changed the case meanwhile is
//! shared by all of them.
use std::collections::BTreeMap;

use axum::Form as Posted_;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use pasokh_domain::{Action, CaseAction, CaseStatus, UnitRole, reach, units};
use pasokh_proto::routing::v1::{
    CaseCommand, CaseDetail, CaseRef, MergeRequest, ReferRequest, RejectRequest, SetExpectedDateRequest,
};

use super::cases::{CaseLine, SlaBadge, case_line, may_read_cases, page_error, sla_badge};
use super::{AppState, Posted, check_staff_csrf as check_csrf, see_other};
use crate::forms::Form;
use crate::pages::{self, Choice, Chrome};
use crate::routing::{CaseRefusal, authed, instant};
use crate::session::StaffSession;
use crate::templates::fill;
use crate::{Error, Result, fa};

/// One line of the case's history as the page shows it.
pub(crate) struct HistoryView {
    pub(crate) at: String,
    pub(crate) action: String,
    pub(crate) actor: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) note: String,
}

/// The case as the page shows it.
pub(crate) struct CaseView {
    pub(crate) petition_id: String,
    pub(crate) version: u64,
    pub(crate) tracking_code_fa: String,
    pub(crate) status: String,
    pub(crate) category: String,
    pub(crate) organisation: String,
    pub(crate) unit: String,
    pub(crate) kind: String,
    pub(crate) channel: &'static str,
    pub(crate) text: String,
    pub(crate) submitted: String,
    pub(crate) first_response_due: String,
    pub(crate) resolution_due: String,
    pub(crate) expected: Option<String>,
    pub(crate) interim_reason: String,
    pub(crate) sla: SlaBadge,
    pub(crate) escalation: Option<&'static str>,
    pub(crate) rule: String,
    pub(crate) forwards_left: String,
    pub(crate) transfers_left: String,
    pub(crate) attachments: String,
    pub(crate) rating: Option<String>,
    pub(crate) merged_into: String,
}

/// A promise from a desk meeting.
pub(crate) struct PromiseView {
    pub(crate) official: String,
    pub(crate) due: String,
}

/// What changed since the officer opened the case.
pub(crate) struct Conflict {
    pub(crate) changes: Vec<HistoryView>,
}

#[derive(askama::Template)]
#[template(path = "cases/case.html")]
pub(crate) struct CasePage {
    pub(crate) chrome: Chrome,
    pub(crate) case: CaseView,
    pub(crate) history: Vec<HistoryView>,
    pub(crate) others: Vec<CaseLine>,
    pub(crate) duplicates: Vec<String>,
    pub(crate) promises: Vec<PromiseView>,
    /// the actions the case's status allows this member of staff, by form name
    pub(crate) actions: Vec<&'static str>,
    pub(crate) form: Form,
    pub(crate) blank: Form,
    /// the action whose form the officer sent (kept open after an error)
    pub(crate) active: String,
    pub(crate) conflict: Option<Conflict>,
    pub(crate) templates: Vec<Choice>,
    pub(crate) templates_version: String,
    pub(crate) units: Vec<Choice>,
    pub(crate) reasons: Vec<Choice>,
    /// the citizen's other open petitions, to merge this one into
    pub(crate) merge_targets: Vec<Choice>,
    pub(crate) viewers: Vec<String>,
    pub(crate) done: Option<&'static str>,
    /// history lines the officer has seen, sent back with each action
    pub(crate) seen_history: usize,
}

impl CasePage {
    pub(crate) fn allows(&self, action: &str) -> bool {
        self.actions.contains(&action)
    }

    /// The sent form for the action form named in `actions` (space-separated), a blank one for the others:
    /// several forms have a `message`, and only the one sent shows what was typed and its error.
    pub(crate) fn form_for(&self, actions: &str) -> &Form {
        let sent = if self.active.is_empty() { "respond" } else { self.active.as_str() };
        if actions.split(' ').any(|a| a == sent) { &self.form } else { &self.blank }
    }
}

fn history_of(detail: &CaseDetail) -> Vec<HistoryView> {
    let status = |s: &str| CaseStatus::parse(s).map_or_else(|| s.to_owned(), |s| s.label_fa().to_owned());
    detail
        .history
        .iter()
        .map(|h| HistoryView {
            at: fa::digits(&h.at_jalali),
            action: fa::history_action(&h.action),
            actor: match h.actor.as_str() {
                "system" => "سامانه".to_owned(),
                "citizen" => "شهروند".to_owned(),
                name => name.to_owned(),
            },
            from: status(&h.from_status),
            to: status(&h.to_status),
            note: h.note.clone(),
        })
        .collect()
}

/// Which action forms the case's status allows (routing decides again when one is sent).
fn allowed_actions(session: &StaffSession, status: CaseStatus) -> Vec<&'static str> {
    if reach(session.role, Action::WorkCases, false).is_none() {
        return Vec::new();
    }
    let by_lifecycle = [
        ("acknowledge", CaseAction::Acknowledge),
        ("start", CaseAction::StartWork),
        ("request_info", CaseAction::RequestInfo),
        ("respond", CaseAction::Respond),
        ("refer", CaseAction::Refer),
        ("escalate", CaseAction::Escalate),
        ("close", CaseAction::Close),
        ("reject", CaseAction::Reject),
        ("merge", CaseAction::Merge),
    ];
    let mut allowed: Vec<&'static str> =
        by_lifecycle.iter().filter(|(_, action)| status.apply(*action).is_ok()).map(|(name, _)| *name).collect();
    if status.is_open() {
        allowed.push("expected_date");
    }
    if reach(session.role, Action::ReopenCases, false).is_some() && status.apply(CaseAction::Reopen).is_ok() {
        allowed.push("reopen");
    }
    allowed
}

/// Marks this member of staff as having the case open; answers the others who had it open lately.
async fn viewers(state: &AppState, session: &StaffSession, petition_id: &str) -> Result<Vec<String>> {
    sqlx::query(
        "INSERT INTO case_viewers (petition_id, subject, display_name) VALUES ($1, $2, $3)
         ON CONFLICT (petition_id, subject) DO UPDATE SET seen_at = now(), display_name = EXCLUDED.display_name",
    )
    .bind(petition_id)
    .bind(&session.subject)
    .bind(&session.display_name)
    .execute(&state.pool)
    .await?;
    sqlx::query("DELETE FROM case_viewers WHERE seen_at < now() - interval '1 day'").execute(&state.pool).await?;
    Ok(sqlx::query_scalar(
        "SELECT display_name FROM case_viewers WHERE petition_id = $1 AND subject <> $2
         AND seen_at > now() - interval '10 minutes' ORDER BY seen_at DESC",
    )
    .bind(petition_id)
    .bind(&session.subject)
    .fetch_all(&state.pool)
    .await?)
}

struct Rendering {
    form: Form,
    active: String,
    conflict: Option<Conflict>,
    done: Option<&'static str>,
    seen_history: Option<usize>,
}

async fn case_page(
    state: &AppState,
    session: &mut StaffSession,
    petition_id: &str,
    rendering: Rendering,
) -> Result<CasePage> {
    may_read_cases(session)?;
    let return_to = format!("/cases/{petition_id}");
    let token = session.bearer(state).await?;
    let mut cases = state.routing.cases().map_err(|r| page_error(r, &return_to))?;
    let request = authed(CaseRef { petition_id: petition_id.to_owned() }, &token);
    let detail = cases.get_case_detail(request).await.map_err(|s| page_error(CaseRefusal::from(s), &return_to))?;
    let detail = detail.into_inner();
    let summary = detail.summary.clone().unwrap_or_default();
    let status = CaseStatus::parse(&summary.status).unwrap_or(CaseStatus::Submitted);
    let history = history_of(&detail);
    let seen_history = history.len();
    let seen_before = rendering.seen_history.unwrap_or(seen_history).min(seen_history);
    let conflict =
        rendering.conflict.map(|_| Conflict { changes: history_of(&detail).into_iter().skip(seen_before).collect() });
    let (category, organisation) = fa::category_and_organisation(&summary.category, Some(&detail.organisation));
    let due = instant(summary.resolution_due.as_ref());
    let case = CaseView {
        petition_id: summary.petition_id.clone(),
        version: summary.version,
        tracking_code_fa: fa::digits(&summary.tracking_code),
        status: summary.status_fa.clone(),
        category,
        organisation,
        unit: pasokh_domain::unit(&summary.unit).map_or_else(|| summary.unit.clone(), |u| u.name_fa.clone()),
        kind: fa::KINDS
            .iter()
            .find(|(k, _)| *k == detail.kind)
            .map_or_else(|| detail.kind.clone(), |(_, l)| (*l).into()),
        channel: fa::channel(&detail.channel),
        text: detail.text.clone(),
        submitted: instant(detail.submitted_at.as_ref()).map(fa::date_time).unwrap_or_default(),
        first_response_due: instant(detail.first_response_due.as_ref()).map(fa::date).unwrap_or_default(),
        resolution_due: due.map(fa::date).unwrap_or_default(),
        expected: instant(detail.expected_at.as_ref()).map(fa::date),
        interim_reason: detail.interim_reason.clone(),
        sla: sla_badge(&state.calendar, &summary.sla_state, due),
        escalation: case_line(&state.calendar, &summary).escalation,
        rule: detail.rule.clone(),
        forwards_left: fa::digits(&detail.forwards_left.to_string()),
        transfers_left: fa::digits(&detail.transfers_left.to_string()),
        attachments: fa::digits(&detail.attachment_count.to_string()),
        rating: (detail.rating > 0).then(|| fa::digits(&format!("{} از ۵", detail.rating))),
        merged_into: detail.merged_into.clone(),
    };
    let templates = state
        .templates
        .for_case(&detail.organisation, &summary.category)
        .into_iter()
        .map(|t| Choice { checked: rendering.form.is("template", &t.id), ..Choice::new(t.id.clone(), t.title.clone()) })
        .collect();
    let province = pasokh_domain::ProvinceCode::parse(&summary.province).ok();
    let units = units()
        .iter()
        .filter(|u| {
            province.is_some() && u.province == province && u.code != summary.unit && u.role != UnitRole::Inspection
        })
        .map(|u| Choice {
            checked: rendering.form.is("to_unit", &u.code),
            ..Choice::new(u.code.clone(), u.name_fa.clone())
        })
        .collect();
    let reasons = fa::REJECT_REASONS
        .iter()
        .map(|(code, label)| Choice { checked: rendering.form.is("reason_code", code), ..Choice::new(*code, *label) })
        .collect();
    let merge_targets = detail
        .other_petitions
        .iter()
        .filter(|o| CaseStatus::parse(&o.status).is_some_and(CaseStatus::is_open))
        .map(|o| Choice::new(o.petition_id.clone(), format!("{} ({})", fa::digits(&o.tracking_code), o.status_fa)))
        .collect();
    let promises = detail
        .promises
        .iter()
        .map(|p| PromiseView {
            official: format!("{}، {}", p.official_title, fa::organisation(&p.organisation)),
            due: pasokh_domain::parse_date(&p.due).map_or_else(|| p.due.clone(), pasokh_domain::format_jalali),
        })
        .collect();
    Ok(CasePage {
        chrome: Chrome::staff(Some(session)),
        actions: allowed_actions(session, status),
        others: detail.other_petitions.iter().map(|o| case_line(&state.calendar, o)).collect(),
        duplicates: detail.duplicates.iter().map(|d| fa::digits(d)).collect(),
        viewers: viewers(state, session, &summary.petition_id).await?,
        history,
        case,
        promises,
        form: rendering.form,
        blank: Form::new(),
        active: rendering.active,
        conflict,
        templates,
        templates_version: fa::digits(&state.templates.version),
        units,
        reasons,
        merge_targets,
        done: rendering.done,
        seen_history,
    })
}

#[derive(serde::Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// What a finished action says at the top of the page.
fn done_message(action: &str) -> Option<&'static str> {
    Some(match action {
        "acknowledge" => "دریافت پرونده تأیید شد.",
        "start" => "رسیدگی آغاز شد.",
        "request_info" => "پرسش برای شهروند فرستاده شد.",
        "respond" => "پاسخ برای شهروند فرستاده شد.",
        "expected_date" => "تاریخ پاسخ و دلیل آن برای شهروند فرستاده شد.",
        "refer" => "پرونده ارجاع شد.",
        "escalate" => "پرونده به مقام بالاتر ارجاع شد.",
        "close" => "پرونده بسته شد.",
        "reject" => "درخواست رد شد و دلیل آن برای شهروند فرستاده شد.",
        "merge" => "پرونده با پروندهٔ دیگر شهروند ادغام شد.",
        "reopen" => "پرونده بازگشایی شد.",
        _ => return None,
    })
}

/// `GET /cases/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn page(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response> {
    let rendering = Rendering {
        form: Form::new(),
        active: String::new(),
        conflict: None,
        done: done_message(&done.done),
        seen_history: None,
    };
    Ok(pages::render(&case_page(&state, &mut session, &id, rendering).await?))
}

/// `POST /cases/{id}/template`: the chosen template, filled in, in the answer's box to edit.
#[tracing::instrument(skip_all)]
pub(crate) async fn insert_template(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let mut values = posted.values.clone();
    let rendering = |form| Rendering {
        form,
        active: "respond".into(),
        conflict: None,
        done: None,
        seen_history: posted.get("seen_history").parse().ok(),
    };
    let Some(template) = state.templates.find(posted.get("template")) else {
        let mut form = Form::submitted(values);
        form.reject("template", "template_unknown");
        let page = case_page(&state, &mut session, &id, rendering(form)).await?;
        return Ok((StatusCode::BAD_REQUEST, pages::render(&page)).into_response());
    };
    let page = case_page(&state, &mut session, &id, rendering(Form::new())).await?;
    let placeholders = BTreeMap::from([
        ("tracking_code", page.case.tracking_code_fa.clone()),
        ("today", fa::date(Utc::now())),
        ("unit", page.case.unit.clone()),
        ("due", page.case.resolution_due.clone()),
    ]);
    values.insert("message".into(), fill(&template.text, &placeholders));
    let form = Form::submitted(values);
    let page = CasePage { form, ..page };
    Ok(pages::render(&page))
}

/// The form field holding an action's text.
fn message_field(action: &str) -> &'static str {
    match action {
        "refer" => "refer_note",
        "reject" => "reject_message",
        _ => "message",
    }
}

/// `POST /cases/{id}/{action}`: one of the case's actions, on the version the officer saw.
#[tracing::instrument(skip_all)]
pub(crate) async fn act(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path((id, action)): Path<(String, String)>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let return_to = format!("/cases/{id}");
    let token = session.bearer(&state).await?;
    let mut cases = state.routing.cases().map_err(|r| page_error(r, &return_to))?;
    let version: u64 = posted.get("version").parse().unwrap_or(0);
    // each form's text has its own name (one page, unique ids); routing calls them all `message`
    let message_field = message_field(&action);
    let message = posted.get(message_field).to_owned();
    let command = || CaseCommand { petition_id: id.clone(), message: message.clone(), expected_version: version };
    let outcome = match action.as_str() {
        "acknowledge" => cases.acknowledge(authed(command(), &token)).await,
        "start" => cases.start_work(authed(command(), &token)).await,
        "request_info" => cases.request_info(authed(command(), &token)).await,
        "respond" => cases.respond(authed(command(), &token)).await,
        "escalate" => cases.escalate(authed(command(), &token)).await,
        "close" => cases.close(authed(command(), &token)).await,
        "reopen" => cases.reopen(authed(command(), &token)).await,
        "expected_date" => {
            let request = SetExpectedDateRequest {
                petition_id: id.clone(),
                expected_date: posted.get("expected_date").to_owned(),
                interim_reason: posted.get("interim_reason").to_owned(),
                expected_version: version,
            };
            cases.set_expected_date(authed(request, &token)).await
        }
        "refer" => {
            let request = ReferRequest {
                petition_id: id.clone(),
                to_unit: posted.get("to_unit").to_owned(),
                message: message.clone(),
                expected_version: version,
            };
            cases.refer(authed(request, &token)).await
        }
        "reject" => {
            let request = RejectRequest {
                petition_id: id.clone(),
                reason_code: posted.get("reason_code").to_owned(),
                message: message.clone(),
                expected_version: version,
            };
            cases.reject(authed(request, &token)).await
        }
        "merge" => {
            let request = MergeRequest {
                petition_id: id.clone(),
                into_petition_id: posted.get("into").to_owned(),
                expected_version: version,
            };
            cases.merge(authed(request, &token)).await
        }
        _ => return Err(Error::NotFound("case action")),
    };
    let refusal = match outcome {
        Ok(_) => return Ok(see_other(&format!("/cases/{id}?done={action}"))),
        Err(status) => CaseRefusal::from(status),
    };
    let mut form = Form::submitted(posted.values.clone());
    let seen_history = posted.get("seen_history").parse().ok();
    let (status, conflict) = match refusal {
        CaseRefusal::Field { field, code } => {
            let field = match field.as_str() {
                "into_petition_id" => "into".to_owned(),
                "message" => message_field.to_owned(),
                _ => field,
            };
            form.reject_with(&field, fa::case_field_message(&code));
            (StatusCode::BAD_REQUEST, None)
        }
        CaseRefusal::Conflict => {
            form.banner = Some(
                "این پرونده پس از آنکه آن را باز کردید تغییر کرده است؛ چیزی ثبت نشد. تغییرها را ببینید و اگر هنوز لازم است، دوباره بفرستید.",
            );
            (StatusCode::CONFLICT, Some(Conflict { changes: Vec::new() }))
        }
        CaseRefusal::NotAllowed(reason) => {
            tracing::info!(%reason, action, "the case's status refused the action");
            form.banner = Some("وضعیت کنونی پرونده اجازهٔ این کار را نمی‌دهد؛ چیزی ثبت نشد.");
            (StatusCode::CONFLICT, None)
        }
        other => return Err(page_error(other, &return_to)),
    };
    let rendering = Rendering { form, active: action, conflict, done: None, seen_history };
    let page = case_page(&state, &mut session, &id, rendering).await?;
    Ok((status, pages::render(&page)).into_response())
}
