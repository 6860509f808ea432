//! The service-desk console: today's events of the operator's province, the
//! walk-in form built for a crowd, the printable slip, meetings with officials.
use axum::Form as Posted_;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use pasokh_domain::{Action, ProvinceCode, categories, normalize_digits, organisations, parse_date, reach};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, Posted, find_receipt, keep_receipt, see_other};
use crate::forms::{Form, same_secret};
use crate::intake::{Caller, Refusal};
use crate::pages::{self, Choice, Chrome, DeskEvent, Slip};
use crate::session::StaffSession;
use crate::{Error, Result, fa, qr};

/// The operator's province, if their role may work at a desk.
fn desk_province(session: &StaffSession, action: Action) -> Result<ProvinceCode> {
    reach(session.role, action, false).ok_or(Error::Forbidden("this role does not work at service desks"))?;
    session.province.ok_or(Error::Forbidden("a desk belongs to a province; this account has none"))
}

fn check_csrf(session: &StaffSession, posted: &Posted) -> Result<()> {
    if same_secret(&session.csrf_token, posted.get("csrf")) { Ok(()) } else { Err(Error::Csrf) }
}

#[derive(Deserialize)]
struct EventJson {
    id: String,
    title: String,
    venue: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    organisations: Vec<String>,
}

fn organisation_name(code: &str) -> String {
    organisations().iter().find(|o| o.code == code).map_or_else(|| code.to_owned(), |o| o.name_fa.clone())
}

async fn events_of(state: &AppState, session: &mut StaffSession, province: ProvinceCode) -> Result<Vec<DeskEvent>> {
    let token = session.bearer(state).await?;
    let answer = state.intake.call(Method::GET, province, "/v1/desk-events", Caller::Staff(&token), None, None).await;
    let listed = match answer {
        Ok(value) => value,
        Err(Refusal::Problem { code, .. }) if code == "unauthenticated" => return Err(Error::SignIn("/desk".into())),
        Err(refusal) => return Err(Error::Provider(format!("intake: {refusal:?}"))),
    };
    let events: Vec<EventJson> = serde_json::from_value(listed["events"].clone()).unwrap_or_default();
    Ok(events
        .into_iter()
        .map(|e| DeskEvent {
            id: e.id,
            title: e.title,
            venue: e.venue,
            starts: fa::date_time(e.starts_at),
            ends: fa::date_time(e.ends_at),
            organisations: e.organisations,
        })
        .collect())
}

async fn event_of(state: &AppState, session: &mut StaffSession, id: &str) -> Result<(ProvinceCode, DeskEvent)> {
    let province = desk_province(session, Action::FileAtDesk)?;
    let event = events_of(state, session, province).await?.into_iter().find(|e| e.id == id);
    Ok((province, event.ok_or(Error::NotFound("desk event"))?))
}

fn organisation_choices(codes: &[String], checked: &[String]) -> Vec<Choice> {
    let all: Vec<String> =
        if codes.is_empty() { organisations().iter().map(|o| o.code.clone()).collect() } else { codes.to_vec() };
    all.iter()
        .map(|code| Choice { checked: checked.contains(code), ..Choice::new(code.clone(), organisation_name(code)) })
        .collect()
}

async fn events_page(
    state: &AppState,
    mut session: StaffSession,
    form: Form,
    checked: &[String],
    done: Option<&'static str>,
) -> Result<Response> {
    let province = desk_province(&session, Action::FileAtDesk)?;
    let events = events_of(state, &mut session, province).await?;
    let may_manage = reach(session.role, Action::ManageDeskEvents, false).is_some();
    let page = pages::DeskEvents {
        chrome: Chrome::staff(Some(&session)),
        province: province.province().name_fa.clone(),
        events,
        may_manage,
        form,
        organisations: organisation_choices(&[], checked),
        done,
    };
    Ok(pages::render(&page))
}

pub(crate) async fn events(State(state): State<AppState>, session: StaffSession) -> Result<Response> {
    events_page(&state, session, Form::new(), &[], None).await
}

/// `۱۴۰۵/۰۹/۱۴ ۰۸:۰۰` (Jalali or Gregorian date, Tehran's clock) as an instant.
fn tehran_time(text: &str) -> Option<DateTime<Utc>> {
    let text = normalize_digits(text.trim());
    let (date, time) = text.split_once(char::is_whitespace).unwrap_or((text.as_str(), "00:00"));
    let date = parse_date(date)?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()?;
    pasokh_domain::tehran().from_local_datetime(&date.and_time(time)).single().map(|t| t.with_timezone(&Utc))
}

pub(crate) async fn create_event(
    State(state): State<AppState>,
    mut session: StaffSession,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let province = desk_province(&session, Action::ManageDeskEvents)?;
    let mut form = Form::submitted(posted.values.clone());
    let checked = posted.every("organisations");
    let starts = tehran_time(posted.get("starts_at"));
    let ends = tehran_time(posted.get("ends_at"));
    for (field, parsed) in [("starts_at", starts), ("ends_at", ends)] {
        if parsed.is_none() {
            form.reject(field, if posted.get(field).is_empty() { "field_missing" } else { "timestamp_invalid" });
        }
    }
    if let (Some(starts), Some(ends)) = (starts, ends) {
        let body = json!({
            "title": posted.get("title"), "venue": posted.get("venue"),
            "starts_at": starts.to_rfc3339(), "ends_at": ends.to_rfc3339(), "organisations": checked,
        });
        let token = session.bearer(&state).await?;
        let answer = state
            .intake
            .call(
                Method::POST,
                province,
                "/v1/desk-events",
                Caller::Staff(&token),
                Some(&form.idempotency_key),
                Some(&body),
            )
            .await;
        match answer {
            Ok(_) => return events_page(&state, session, Form::new(), &[], Some("میز خدمت ساخته شد.")).await,
            Err(refusal) => form.refused(&refusal, |f| f.split('[').next().unwrap_or(f).to_owned()),
        }
    }
    let page = events_page(&state, session, form, &checked, None).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

fn category_choices() -> Vec<Choice> {
    categories()
        .iter()
        .map(|c| Choice::new(c.code.as_str(), format!("{} ({})", c.name_fa, organisation_name(&c.organisation))))
        .collect()
}

/// What the operator typed or picked as the category: its label from the list, or its code.
fn category_code(typed: &str) -> String {
    let typed = typed.trim();
    category_choices()
        .into_iter()
        .find(|c| c.label == typed || c.value == typed)
        .map_or_else(|| typed.to_owned(), |c| c.value)
}

fn walk_in_page(session: &StaffSession, event: DeskEvent, form: Form) -> pages::WalkIn {
    pages::WalkIn { chrome: Chrome::staff(Some(session)), event, form, categories: category_choices() }
}

pub(crate) async fn walk_in_form(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    let (_, event) = event_of(&state, &mut session, &id).await?;
    Ok(pages::render(&walk_in_page(&session, event, Form::new())))
}

/// Intake's walk-in fields as the form's.
fn walk_in_field(field: &str) -> String {
    match field {
        "resolved_on_spot.answer" => "answer".to_owned(),
        other => other.split(['[', '.']).next().unwrap_or(other).to_owned(),
    }
}

#[derive(Deserialize)]
struct Filed {
    tracking_code: String,
    submitted_at: DateTime<Utc>,
}

pub(crate) async fn walk_in(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let (province, event) = event_of(&state, &mut session, &id).await?;
    let mut form = Form::submitted(posted.values.clone());
    let resolved = posted.get("resolved_on_spot") == "yes";
    let mut body = json!({
        "national_id": posted.get("national_id"),
        "mobile": posted.get("mobile"),
        "category": category_code(posted.get("category")),
        "text": posted.get("text"),
    });
    if resolved {
        body["resolved_on_spot"] = json!({ "answer": posted.get("answer") });
    }
    let token = session.bearer(&state).await?;
    let path = format!("/v1/desk-events/{}/petitions", event.id);
    let answer = state
        .intake
        .call(Method::POST, province, &path, Caller::Staff(&token), Some(&form.idempotency_key), Some(&body))
        .await;
    let filed: Filed = match answer.map(serde_json::from_value::<Filed>) {
        Ok(Ok(filed)) => filed,
        Ok(Err(error)) => return Err(Error::Config(format!("intake's receipt: {error}"))),
        Err(refusal) => {
            form.refused(&refusal, walk_in_field);
            return Ok((StatusCode::BAD_REQUEST, pages::render(&walk_in_page(&session, event, form))).into_response());
        }
    };
    let slip = Slip {
        tracking_code_fa: fa::digits(&filed.tracking_code),
        tracking_code: filed.tracking_code,
        event_id: event.id,
        event_title: event.title,
        submitted: fa::date_time(filed.submitted_at),
        mobile_fa: fa::digits(&normalize_digits(posted.get("mobile"))),
        resolved,
    };
    let token = keep_receipt(&state.pool, &slip).await?;
    Ok(see_other(&format!("/desk/slips/{token}")))
}

pub(crate) async fn slip(
    State(state): State<AppState>,
    session: StaffSession,
    Path(token): Path<String>,
) -> Result<Response> {
    let slip: Slip = find_receipt(&state.pool, &token).await?;
    let qr_svg = qr::svg(&slip.tracking_code, &format!("کد رهگیری {}", slip.tracking_code_fa));
    Ok(pages::render(&pages::SlipPage { chrome: Chrome::staff(Some(&session)), slip, qr_svg }))
}

fn meeting_page(session: &StaffSession, event: DeskEvent, form: Form, done: Option<&'static str>) -> pages::Meeting {
    let organisations = organisation_choices(&event.organisations, &[]);
    pages::Meeting { chrome: Chrome::staff(Some(session)), event, form, organisations, done }
}

pub(crate) async fn meeting_form(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    let (_, event) = event_of(&state, &mut session, &id).await?;
    Ok(pages::render(&meeting_page(&session, event, Form::new(), None)))
}

pub(crate) async fn meeting(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let (province, event) = event_of(&state, &mut session, &id).await?;
    let mut form = Form::submitted(posted.values.clone());
    let mut body = json!({
        "official_name": posted.get("official_name"),
        "official_title": posted.get("official_title"),
        "organisation": posted.get("organisation"),
        "notes": posted.get("notes"),
    });
    for optional in ["tracking_code", "promise", "promise_due"] {
        if !posted.get(optional).is_empty() {
            body[optional] = Value::String(posted.get(optional).to_owned());
        }
    }
    let token = session.bearer(&state).await?;
    let path = format!("/v1/desk-events/{}/meetings", event.id);
    let answer = state
        .intake
        .call(Method::POST, province, &path, Caller::Staff(&token), Some(&form.idempotency_key), Some(&body))
        .await;
    match answer {
        Ok(_) => Ok(pages::render(&meeting_page(&session, event, Form::new(), Some("دیدار ثبت شد.")))),
        Err(refusal) => {
            form.refused(&refusal, |f| f.split('[').next().unwrap_or(f).to_owned());
            Ok((StatusCode::BAD_REQUEST, pages::render(&meeting_page(&session, event, form, None))).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_are_read_in_tehran_in_either_calendar_and_digit_set() {
        let expected = DateTime::parse_from_rfc3339("2026-12-04T08:00:00+03:30").unwrap().with_timezone(&Utc);
        assert_eq!(tehran_time("۱۴۰۵/۰۹/۱۳ ۰۸:۰۰"), Some(expected));
        assert_eq!(tehran_time("2026-12-04 08:00"), Some(expected));
        assert_eq!(tehran_time("1405/13/01 08:00"), None);
        assert_eq!(tehran_time("1405/09/13 25:00"), None);
    }

    #[test]
    fn a_category_is_found_by_its_label_or_its_code() {
        let first = &category_choices()[0];
        assert_eq!(category_code(&first.label), first.value);
        assert_eq!(category_code(&first.value), first.value);
        assert_eq!(category_code("چیزی دیگر"), "چیزی دیگر", "unknown text reaches intake, which names the field");
    }
}
