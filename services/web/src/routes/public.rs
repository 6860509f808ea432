//! The citizen's site: no account; a petition is found again by its tracking
//! code and the mobile it was filed with, both sent in a POST body.
use axum::Form as Posted_;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pasokh_domain::{BusinessCalendar, CategoryCode, ProvinceCode, TrackingCode, categories, organisations, provinces};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{
    AppState, CitizenAddress, Posted, check_citizen_csrf, citizen_csrf, find_receipt, keep_receipt, see_other,
    with_cookie,
};
use crate::forms::Form;
use crate::intake::Caller;
use crate::pages::{self, Choice, ChoiceGroup, Chrome, CitizenStatus, Receipt};
use crate::{Result, fa, qr};

#[tracing::instrument(skip_all)]
pub(crate) async fn home() -> Response {
    let organisations = organisations().iter().map(|o| o.name_fa.clone()).collect();
    pages::render(&pages::Home { chrome: Chrome::public(), organisations })
}

/// Categories grouped by organisation, in the catalogue's order.
fn category_groups() -> Vec<ChoiceGroup> {
    organisations()
        .iter()
        .map(|organisation| ChoiceGroup {
            organisation: organisation.name_fa.clone(),
            options: categories()
                .iter()
                .filter(|c| c.organisation == organisation.code)
                .map(|c| Choice::new(c.code.as_str(), c.name_fa.clone()))
                .collect(),
        })
        .filter(|group| !group.options.is_empty())
        .collect()
}

fn file_page(state: &AppState, csrf: String, form: Form) -> pages::FilePetition {
    let provinces = provinces()
        .iter()
        .filter(|p| state.intake.serves(p.code))
        .map(|p| Choice::new(p.code.to_string(), p.name_fa.clone()))
        .collect();
    pages::FilePetition {
        chrome: Chrome::public(),
        csrf,
        form,
        categories: category_groups(),
        kinds: fa::KINDS.iter().map(|(code, label)| Choice::new(*code, *label)).collect(),
        provinces,
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn file_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, set_cookie) = citizen_csrf(&headers);
    let mut form = Form::new();
    // most petitions are requests; the citizen changes it when it is a complaint
    form = Form::submitted(
        [("kind".to_owned(), "request".to_owned()), ("idempotency_key".to_owned(), form.idempotency_key.clone())]
            .into(),
    );
    with_cookie(pages::render(&file_page(&state, csrf, form)), set_cookie)
}

/// Intake's field names as the form's: attachments and nested fields land beside their inputs.
fn petition_field(field: &str) -> String {
    match field.split(['[', '.']).next().unwrap_or(field) {
        "attachments" => "attachment".to_owned(),
        other => other.to_owned(),
    }
}

/// The working day the unit must answer by: the category's resolution days on the business calendar.
pub(crate) fn expected_answer(category: &CategoryCode, submitted: DateTime<Utc>) -> String {
    let calendar = BusinessCalendar::iranian(false);
    let due = calendar.add_working_days(pasokh_domain::tehran_date(submitted), category.category().resolution_days);
    let at_noon = due.and_hms_opt(12, 0, 0).map(|d| d.and_utc()).unwrap_or(submitted);
    fa::date(at_noon)
}

#[derive(Deserialize)]
struct Submitted {
    tracking_code: String,
    submitted_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn file(
    State(state): State<AppState>,
    CitizenAddress(client): CitizenAddress,
    headers: HeaderMap,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_citizen_csrf(&headers, &posted)?;
    let (csrf, _) = citizen_csrf(&headers);
    let mut form = Form::submitted(posted.values.clone());
    let province = ProvinceCode::parse(posted.get("province")).ok().filter(|p| state.intake.serves(*p));
    let Some(province) = province else {
        form.reject("province", "province_unknown");
        return Ok((StatusCode::BAD_REQUEST, pages::render(&file_page(&state, csrf, form))).into_response());
    };
    let mut body = json!({
        "national_id": posted.get("national_id"),
        "mobile": posted.get("mobile"),
        "province": province.to_string(),
        "category": posted.get("category"),
        "kind": posted.get("kind"),
        "channel": "web",
        "text": posted.get("text"),
    });
    if !posted.get("county").is_empty() {
        body["county"] = json!(posted.get("county"));
    }
    if !posted.get("attachment_name").is_empty() {
        body["attachments"] = json!([{
            "name": posted.get("attachment_name"),
            "type": posted.get("attachment_type"),
            "size": posted.get("attachment_size").parse::<u64>().unwrap_or_default(),
            "checksum": posted.get("attachment_checksum"),
        }]);
    }
    let answer = state
        .intake
        .call(
            Method::POST,
            province,
            "/v1/petitions",
            Caller::Citizen(client),
            Some(&form.idempotency_key),
            Some(&body),
        )
        .await;
    let submitted: Submitted = match answer.map(serde_json::from_value) {
        Ok(Ok(submitted)) => submitted,
        Ok(Err(error)) => return Err(crate::Error::Config(format!("intake's receipt: {error}"))),
        Err(refusal) => {
            form.refused(&refusal, petition_field);
            return Ok((StatusCode::BAD_REQUEST, pages::render(&file_page(&state, csrf, form))).into_response());
        }
    };
    // intake accepted it, so the category is one of the catalogue's
    let category = CategoryCode::parse(posted.get("category")).map_err(|_| crate::Error::NotFound("category"))?;
    let receipt = Receipt {
        tracking_code_fa: fa::digits(&submitted.tracking_code),
        tracking_code: submitted.tracking_code,
        category: category.category().name_fa.clone(),
        organisation: fa::organisation(&category.category().organisation),
        submitted: fa::date_time(submitted.submitted_at),
        expected: expected_answer(&category, submitted.submitted_at),
    };
    let token = keep_receipt(&state.pool, &receipt).await?;
    Ok(see_other(&format!("/receipts/{token}")))
}

#[tracing::instrument(skip_all)]
pub(crate) async fn receipt(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response> {
    let receipt: Receipt = find_receipt(&state.pool, &token).await?;
    let qr_svg = qr::svg(&receipt.tracking_code, &format!("کد رهگیری {}", receipt.tracking_code_fa));
    Ok(pages::render(&pages::ReceiptPage { chrome: Chrome::public(), receipt, qr_svg }))
}

#[tracing::instrument(skip_all)]
pub(crate) async fn track_form(headers: HeaderMap) -> Response {
    let (csrf, set_cookie) = citizen_csrf(&headers);
    with_cookie(pages::render(&pages::Track { chrome: Chrome::public(), csrf, form: Form::new() }), set_cookie)
}

#[derive(Deserialize)]
struct Status {
    tracking_code: String,
    status: String,
    status_fa: String,
    category: String,
    submitted_at: DateTime<Utc>,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    resolution_due: Option<DateTime<Utc>>,
    #[serde(default)]
    first_response_due: Option<DateTime<Utc>>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    timeline: Vec<Step>,
    status_is_current: bool,
}

#[derive(Deserialize)]
struct Step {
    at: DateTime<Utc>,
    status_fa: String,
    action: String,
    message: String,
}

/// What a step of the timeline says happened, in plain Persian.
fn step_title(action: &str, status_fa: &str) -> String {
    // routing's history names its actions in English (CaseAction::as_str and a few of its own)
    let what = match action {
        "submitted" => "درخواست ثبت شد",
        "routed" => "به واحد رسیدگی ارجاع شد",
        "acknowledged" => "کارشناس درخواست را دید",
        "started" => "رسیدگی آغاز شد",
        "asked for information" => "کارشناس از شما پرسید",
        "given information" => "پاسخ شما به کارشناس رسید",
        "responded to" => "کارشناس پاسخ داد",
        "expected date set" => "زمان پاسخ اعلام شد",
        "referred" => "به واحد دیگری ارجاع شد",
        "escalated" => "به مدیر بالاتر رسید",
        "reopened" => "برای تجدیدنظر بازگشایی شد",
        "closed" | "closed on the spot" => "مختومه شد",
        "rejected" => "رد شد",
        "merged" => "به درخواست دیگر شما افزوده شد",
        _ => return status_fa.to_owned(),
    };
    what.to_owned()
}

/// Asks the petition's province (from its tracking code) for its status.
async fn look_up(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    form: &mut Form,
    code: &str,
    mobile: &str,
) -> Option<CitizenStatus> {
    let code = match TrackingCode::parse(code) {
        Ok(code) => code,
        Err(error) => {
            form.reject("tracking_code", error.code);
            return None;
        }
    };
    let path = format!("/v1/petitions/{}/status", code.as_str());
    let body = json!({ "mobile": mobile });
    let answer =
        state.intake.call(Method::POST, code.province(), &path, Caller::Citizen(client), None, Some(&body)).await;
    let status: Status = match answer.map(serde_json::from_value) {
        Ok(Ok(status)) => status,
        Ok(Err(_)) => {
            form.banner = Some(fa::problem_message("unavailable"));
            return None;
        }
        Err(refusal) => {
            form.refused(&refusal, str::to_owned);
            return None;
        }
    };
    let (category, organisation) = fa::category_and_organisation(&status.category, status.organisation.as_deref());
    Some(CitizenStatus {
        tracking_code_fa: fa::digits(&status.tracking_code),
        tracking_code: status.tracking_code,
        label: status.status_fa,
        category,
        organisation,
        submitted: fa::date_time(status.submitted_at),
        due: status.resolution_due.map(fa::date),
        first_response_due: status.first_response_due.map(fa::date),
        unit: status.unit.as_deref().and_then(pasokh_domain::unit).map(|u| u.name_fa.clone()),
        timeline: status
            .timeline
            .iter()
            .map(|step| pages::TimelineStep {
                when: fa::date_time(step.at),
                title: step_title(&step.action, &step.status_fa),
                message: step.message.clone(),
            })
            .collect(),
        current: status.status_is_current,
        may_reply: status.status == "info_requested",
        may_rate: status.status == "responded",
    })
}

fn status_page(csrf: String, status: CitizenStatus, mobile: &str, form: Form, done: Option<&'static str>) -> Response {
    let scores = fa::SCORES.iter().map(|(value, label)| Choice::new(*value, *label)).collect();
    pages::render(&pages::StatusPage {
        chrome: Chrome::public(),
        csrf,
        status,
        mobile: mobile.to_owned(),
        form,
        scores,
        done,
    })
}

#[tracing::instrument(skip_all)]
pub(crate) async fn track(
    State(state): State<AppState>,
    CitizenAddress(client): CitizenAddress,
    headers: HeaderMap,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_citizen_csrf(&headers, &posted)?;
    let (csrf, _) = citizen_csrf(&headers);
    let mut form = Form::submitted(posted.values.clone());
    match look_up(&state, client, &mut form, posted.get("tracking_code"), posted.get("mobile")).await {
        Some(status) => Ok(status_page(csrf, status, posted.get("mobile"), Form::new(), None)),
        None => Ok((StatusCode::BAD_REQUEST, pages::render(&pages::Track { chrome: Chrome::public(), csrf, form }))
            .into_response()),
    }
}

/// A reply or a rating: sent to intake, then the status page again with the outcome.
async fn converse(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    posted: &Posted,
    path_end: &str,
    body: serde_json::Value,
    done: &'static str,
) -> Result<Response> {
    check_citizen_csrf(headers, posted)?;
    let (csrf, _) = citizen_csrf(headers);
    let (code, mobile) = (posted.get("tracking_code"), posted.get("mobile"));
    let mut form = Form::submitted(posted.values.clone());
    let Ok(tracking_code) = TrackingCode::parse(code) else {
        return Ok(see_other("/track"));
    };
    let path = format!("/v1/petitions/{}/{path_end}", tracking_code.as_str());
    let answer = state
        .intake
        .call(
            Method::POST,
            tracking_code.province(),
            &path,
            Caller::Citizen(client),
            Some(&form.idempotency_key),
            Some(&body),
        )
        .await;
    let outcome = match &answer {
        Ok(_) => Some(done),
        Err(refusal) => {
            form.refused(refusal, str::to_owned);
            None
        }
    };
    let mut lookup_form = Form::new();
    match look_up(state, client, &mut lookup_form, code, mobile).await {
        Some(status) => {
            let form = if outcome.is_some() { Form::new() } else { form };
            let code = if outcome.is_some() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            Ok((code, status_page(csrf, status, mobile, form, outcome)).into_response())
        }
        None => Ok((
            StatusCode::BAD_REQUEST,
            pages::render(&pages::Track { chrome: Chrome::public(), csrf, form: lookup_form }),
        )
            .into_response()),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn reply(
    State(state): State<AppState>,
    CitizenAddress(client): CitizenAddress,
    headers: HeaderMap,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    let body = json!({ "mobile": posted.get("mobile"), "text": posted.get("text") });
    converse(&state, client, &headers, &posted, "replies", body, "پاسخ شما برای کارشناس فرستاده شد.").await
}

#[tracing::instrument(skip_all)]
pub(crate) async fn rate(
    State(state): State<AppState>,
    CitizenAddress(client): CitizenAddress,
    headers: HeaderMap,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    let score = posted.get("score").parse::<i64>().ok();
    let mut body = json!({ "mobile": posted.get("mobile"), "score": score });
    if !posted.get("comment").is_empty() {
        body["comment"] = json!(posted.get("comment"));
    }
    let done = if score.is_some_and(|s| s <= 2) {
        "امتیاز شما ثبت شد. چون از پاسخ راضی نبودید، درخواست برای تجدیدنظر به مدیر استان فرستاده شد."
    } else {
        "امتیاز شما ثبت شد. سپاس از همراهی شما."
    };
    converse(&state, client, &headers, &posted, "rating", body, done).await
}
