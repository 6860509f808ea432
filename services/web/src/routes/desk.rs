//! The service-desk console: today's events of the operator's province, the
//! walk-in form built for a crowd, the printable slip, meetings with officials.
//!
//! Long by choice: one screen family for the desk operator (the events page, the walk-in form, the
//! slip, the meeting form), each handler beside the form it parses and the fragment it answers htmx
//! with; they share the event look-up and the Persian error sentences.
use axum::Form as Posted_;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use pasokh_domain::{Action, ProvinceCode, categories, normalize_digits, organisations, parse_date, reach};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, Posted, check_staff_csrf as check_csrf, find_receipt, keep_receipt, see_other};
use crate::forms::Form;
use crate::intake::{Caller, Refusal};
use crate::pages::{self, Choice, Chrome, DeskEvent, Slip};
use crate::session::StaffSession;
use crate::{Error, Result, fa, qr};

/// The operator's province, if their role may work at a desk.
fn desk_province(session: &StaffSession, action: Action) -> Result<ProvinceCode> {
    reach(session.role, action, false).ok_or(Error::Forbidden("this role does not work at service desks"))?;
    session.province.ok_or(Error::Forbidden("a desk belongs to a province; this account has none"))
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

/// How long a province's list of desk events is reused; creating or closing one forgets it at once.
const EVENTS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(15);

async fn events_of(state: &AppState, session: &mut StaffSession, province: ProvinceCode) -> Result<Vec<DeskEvent>> {
    let cached =
        state.desk_events.lock().await.get(&province).filter(|(at, _)| at.elapsed() < EVENTS_FRESH_FOR).cloned();
    let listed = match cached {
        Some((_, listed)) => listed,
        None => {
            let token = session.bearer(state).await?;
            let answer =
                state.intake.call(Method::GET, province, "/v1/desk-events", Caller::Staff(&token), None, None).await;
            let listed = match answer {
                Ok(value) => value,
                Err(Refusal::Problem { code, .. }) if code == "unauthenticated" => {
                    return Err(Error::SignIn("/desk".into()));
                }
                Err(refusal) => return Err(Error::Provider(format!("intake: {refusal:?}"))),
            };
            state.desk_events.lock().await.insert(province, (std::time::Instant::now(), listed.clone()));
            listed
        }
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
        .map(|code| Choice { checked: checked.contains(code), ..Choice::new(code.clone(), fa::organisation(code)) })
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

#[tracing::instrument(skip_all)]
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

#[tracing::instrument(skip_all)]
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
            Ok(_) => {
                state.desk_events.lock().await.remove(&province);
                return events_page(&state, session, Form::new(), &[], Some("میز خدمت ساخته شد.")).await;
            }
            Err(refusal) => form.refused(&refusal, |f| f.split('[').next().unwrap_or(f).to_owned()),
        }
    }
    let page = events_page(&state, session, form, &checked, None).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

fn category_choices() -> Vec<Choice> {
    categories()
        .iter()
        .map(|c| Choice::new(c.code.as_str(), format!("{} ({})", c.name_fa, fa::organisation(&c.organisation))))
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

/// What the walk-in page shows besides the form: the event's counter, and the citizen's earlier petitions.
async fn walk_in_page(
    state: &AppState,
    session: &mut StaffSession,
    province: ProvinceCode,
    event: DeskEvent,
    form: Form,
    earlier: Option<Vec<pages::EarlierPetition>>,
) -> Result<pages::WalkIn> {
    let counts = counts(state, session, province, &event.id).await?;
    let organisations = organisation_choices(&event.organisations, &[]);
    Ok(pages::WalkIn {
        chrome: Chrome::staff(Some(session)),
        event,
        form,
        categories: category_choices(),
        organisations,
        earlier,
        counts,
    })
}

/// The event's counts so far; zeros shown as such when intake cannot say.
async fn counts(
    state: &AppState,
    session: &mut StaffSession,
    province: ProvinceCode,
    id: &str,
) -> Result<pages::Counts> {
    let token = session.bearer(state).await?;
    let path = format!("/v1/desk-events/{id}/summary");
    let answer = state.intake.call(Method::GET, province, &path, Caller::Staff(&token), None, None).await;
    let count =
        |value: &Value, key: &str| fa::digits(&value[key].as_i64().map_or_else(|| "؟".to_owned(), |n| n.to_string()));
    Ok(match answer {
        Ok(value) => pages::Counts {
            registered: count(&value, "registered"),
            resolved_on_spot: count(&value, "resolved_on_spot"),
            meetings: count(&value, "meetings"),
            promises: count(&value, "promises"),
        },
        Err(refusal) => {
            tracing::warn!(?refusal, "desk event counts unavailable");
            let unknown = "؟".to_owned();
            pages::Counts {
                registered: unknown.clone(),
                resolved_on_spot: unknown.clone(),
                meetings: unknown.clone(),
                promises: unknown,
            }
        }
    })
}

#[derive(Deserialize)]
struct EarlierJson {
    tracking_code: String,
    category: String,
    #[serde(default)]
    category_fa: Option<String>,
    status_fa: String,
    submitted_at: DateTime<Utc>,
    open: bool,
}

/// The citizen's earlier petitions, or the reason they could not be shown (beside the national id).
async fn earlier_petitions(
    state: &AppState,
    session: &mut StaffSession,
    province: ProvinceCode,
    event_id: &str,
    national_id: &str,
    form: &mut Form,
) -> Result<Option<Vec<pages::EarlierPetition>>> {
    if national_id.trim().is_empty() {
        return Ok(None);
    }
    let token = session.bearer(state).await?;
    let path = format!("/v1/desk-events/{event_id}/citizen-petitions");
    let body = json!({ "national_id": national_id });
    match state.intake.call(Method::POST, province, &path, Caller::Staff(&token), None, Some(&body)).await {
        Ok(value) => {
            let found: Vec<EarlierJson> = serde_json::from_value(value["petitions"].clone()).unwrap_or_default();
            Ok(Some(
                found
                    .into_iter()
                    .map(|p| pages::EarlierPetition {
                        tracking_code_fa: fa::digits(&p.tracking_code),
                        tracking_code: p.tracking_code,
                        category: p.category_fa.unwrap_or(p.category),
                        status: p.status_fa,
                        submitted: fa::date(p.submitted_at),
                        open: p.open,
                    })
                    .collect(),
            ))
        }
        Err(refusal) => {
            form.refused(&refusal, walk_in_field);
            Ok(None)
        }
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn walk_in_form(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    let (province, event) = event_of(&state, &mut session, &id).await?;
    let page = walk_in_page(&state, &mut session, province, event, Form::new(), None).await?;
    Ok(pages::render(&page))
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

#[tracing::instrument(skip_all)]
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
    if posted.get("action") == "lookup" {
        // without script, the operator asks for the citizen's earlier petitions with a button
        let earlier =
            earlier_petitions(&state, &mut session, province, &event.id, posted.get("national_id"), &mut form).await?;
        let page = walk_in_page(&state, &mut session, province, event, form, earlier).await?;
        return Ok(pages::render(&page));
    }
    let resolved = posted.get("resolved_on_spot") == "yes";
    let referral = Referral::from(&posted, &mut form);
    let mut body = json!({
        "national_id": posted.get("national_id"),
        "mobile": posted.get("mobile"),
        "category": category_code(posted.get("category")),
        "text": posted.get("text"),
    });
    if resolved {
        body["resolved_on_spot"] = json!({ "answer": posted.get("answer") });
    }
    if !posted.get("repeat_of").is_empty() {
        body["repeat_of"] = json!(posted.get("repeat_of"));
    }
    let token = session.bearer(&state).await?;
    let path = format!("/v1/desk-events/{}/petitions", event.id);
    let answer = if form.has_errors() {
        None
    } else {
        Some(
            state
                .intake
                .call(Method::POST, province, &path, Caller::Staff(&token), Some(&form.idempotency_key), Some(&body))
                .await,
        )
    };
    let filed: Filed = match answer.map(|a| a.map(serde_json::from_value::<Filed>)) {
        Some(Ok(Ok(filed))) => filed,
        Some(Ok(Err(error))) => return Err(Error::Config(format!("intake's receipt: {error}"))),
        refused => {
            if let Some(Err(refusal)) = &refused {
                form.refused(refusal, walk_in_field);
            }
            let national_id = posted.get("national_id").to_owned();
            let earlier =
                earlier_petitions(&state, &mut session, province, &event.id, &national_id, &mut Form::new()).await?;
            let page = walk_in_page(&state, &mut session, province, event, form, earlier).await?;
            return Ok((StatusCode::BAD_REQUEST, pages::render(&page)).into_response());
        }
    };
    let referred_to = match referral {
        Some(referral) => {
            Some(referral.record(&state, &mut session, province, &event.id, &filed.tracking_code, &form).await?)
        }
        None => None,
    };
    let slip = Slip {
        tracking_code_fa: fa::digits(&filed.tracking_code),
        tracking_code: filed.tracking_code,
        event_id: event.id,
        event_title: event.title,
        submitted: fa::date_time(filed.submitted_at),
        mobile_fa: fa::digits(&normalize_digits(posted.get("mobile"))),
        resolved,
        repeat_of_fa: Some(posted.get("repeat_of")).filter(|c| !c.is_empty()).map(fa::digits),
        referred_to,
    };
    let token = keep_receipt(&state.pool, &slip).await?;
    Ok(see_other(&format!("/desk/slips/{token}")))
}

/// "Referred to the official at the desk": recorded as a meeting with that official about this petition.
struct Referral {
    name: String,
    title: String,
    organisation: String,
}

impl Referral {
    /// The referral the operator filled in, if any; a half-filled one is marked on the form.
    fn from(posted: &Posted, form: &mut Form) -> Option<Self> {
        let (name, title, organisation) =
            (posted.get("official_name"), posted.get("official_title"), posted.get("official_organisation"));
        if name.is_empty() && title.is_empty() && organisation.is_empty() {
            return None;
        }
        for (field, value) in
            [("official_name", name), ("official_title", title), ("official_organisation", organisation)]
        {
            if value.is_empty() {
                form.reject(field, "field_missing");
            }
        }
        Some(Self { name: name.to_owned(), title: title.to_owned(), organisation: organisation.to_owned() })
    }

    /// Records the meeting; answers who the citizen was sent to, for the slip.
    async fn record(
        self,
        state: &AppState,
        session: &mut StaffSession,
        province: ProvinceCode,
        event_id: &str,
        tracking_code: &str,
        form: &Form,
    ) -> Result<String> {
        let token = session.bearer(state).await?;
        let body = json!({
            "official_name": self.name, "official_title": self.title, "organisation": self.organisation,
            "tracking_code": tracking_code, "notes": "ارجاع در میز خدمت",
        });
        let path = format!("/v1/desk-events/{event_id}/meetings");
        // its own key, derived from the walk-in's: a retried walk-in records the referral once
        let key = format!("{}-referral", form.idempotency_key);
        let answer =
            state.intake.call(Method::POST, province, &path, Caller::Staff(&token), Some(&key), Some(&body)).await;
        if let Err(refusal) = answer {
            // the petition is filed; the slip says the referral was not recorded rather than losing the petition
            tracing::warn!(?refusal, tracking_code, "referral not recorded");
            return Ok(format!("{} (ثبت ارجاع انجام نشد؛ در بخش دیدارها ثبت کنید)", self.name));
        }
        Ok(format!("{}، {} ({})", self.name, self.title, fa::organisation(&self.organisation)))
    }
}

/// `POST /desk/events/{id}/citizen-petitions`: the earlier-petitions block alone, for the page's script.
#[tracing::instrument(skip_all)]
pub(crate) async fn citizen_petitions(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let (province, event) = event_of(&state, &mut session, &id).await?;
    let mut form = Form::submitted(posted.values.clone());
    let earlier =
        earlier_petitions(&state, &mut session, province, &event.id, posted.get("national_id"), &mut form).await?;
    Ok(pages::render(&pages::PetitionsFragment { form, earlier }))
}

/// `GET /desk/events/{id}/counter`: the counter alone, refreshed by the page's script.
#[tracing::instrument(skip_all)]
pub(crate) async fn counter(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    let province = desk_province(&session, Action::FileAtDesk)?;
    let counts = counts(&state, &mut session, province, &id).await?;
    Ok(pages::render(&pages::CounterFragment { counts }))
}

/// `POST /desk/events/{id}/close` (supervisors): the desk packed up.
#[tracing::instrument(skip_all)]
pub(crate) async fn close_event(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_csrf(&session, &posted)?;
    let province = desk_province(&session, Action::ManageDeskEvents)?;
    let token = session.bearer(&state).await?;
    let path = format!("/v1/desk-events/{id}/close");
    let answer = state.intake.call(Method::POST, province, &path, Caller::Staff(&token), None, None).await;
    let mut form = Form::new();
    state.desk_events.lock().await.remove(&province);
    let done = match answer {
        Ok(_) => Some("میز خدمت بسته شد."),
        Err(refusal) => {
            form.refused(&refusal, str::to_owned);
            None
        }
    };
    events_page(&state, session, form, &[], done).await
}

#[tracing::instrument(skip_all)]
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

#[tracing::instrument(skip_all)]
pub(crate) async fn meeting_form(
    State(state): State<AppState>,
    mut session: StaffSession,
    Path(id): Path<String>,
) -> Result<Response> {
    let (_, event) = event_of(&state, &mut session, &id).await?;
    Ok(pages::render(&meeting_page(&session, event, Form::new(), None)))
}

#[tracing::instrument(skip_all)]
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
