//! "My petitions": every petition of a mobile, shown once the citizen proved
//! they hold it with a 6-digit code texted through notification. A code lives
//! two minutes, allows five attempts, is compared in constant time, and codes
//! are rate-limited per mobile and per address.
use std::net::IpAddr;

use axum::Form as Posted_;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pasokh_domain::Mobile;
use rand::Rng;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AppState, CitizenAddress, Posted, check_citizen_csrf, citizen_csrf, see_other, with_cookie};
use crate::forms::{Form, random_token};
use crate::intake::Caller;
use crate::pages::{self, Chrome, MinePetition};
use crate::{Error, Result, fa};

const NOTIFICATION_AUDIENCE: &str = "pasokh-notification";
const INTAKE_AUDIENCE: &str = "pasokh-intake";

fn code_hash(id: &str, code: &str) -> Vec<u8> {
    Sha256::digest(format!("{id}:{code}").as_bytes()).to_vec()
}

fn ask_page(csrf: String, form: Form) -> Response {
    pages::render(&pages::MineAsk { chrome: Chrome::public(), csrf, form })
}

#[tracing::instrument(skip_all)]
pub(crate) async fn ask_form(headers: HeaderMap) -> Response {
    let (csrf, set_cookie) = citizen_csrf(&headers);
    with_cookie(ask_page(csrf, Form::new()), set_cookie)
}

/// `POST /my-petitions/code`: texts a code to the mobile, then asks for it.
#[tracing::instrument(skip_all)]
pub(crate) async fn send_code(
    State(state): State<AppState>,
    CitizenAddress(client): CitizenAddress,
    headers: HeaderMap,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_citizen_csrf(&headers, &posted)?;
    let (csrf, _) = citizen_csrf(&headers);
    let mut form = Form::submitted(posted.values.clone());
    let mobile = match Mobile::parse(posted.get("mobile")) {
        Ok(mobile) => mobile,
        Err(error) => {
            form.reject("mobile", if posted.get("mobile").is_empty() { "field_missing" } else { error.code });
            return Ok((StatusCode::BAD_REQUEST, ask_page(csrf, form)).into_response());
        }
    };
    // the same form sent twice (a double click, a retry) gets the code already sent
    let request_key = form.idempotency_key.clone();
    let earlier: Option<String> = sqlx::query_scalar(
        "SELECT id FROM one_time_codes WHERE request_key = $1 AND mobile = $2 AND created_at > now() - interval '10 minutes'",
    )
    .bind(&request_key)
    .bind(mobile.as_str())
    .fetch_optional(&state.pool)
    .await?;
    if let Some(id) = earlier {
        return Ok(see_other(&format!("/my-petitions/verify/{id}")));
    }
    let address = client.map_or_else(|| "unknown".to_owned(), |ip: IpAddr| ip.to_string());
    let settings = &state.one_time_code;
    let (for_mobile, for_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE mobile = $1), count(*) FILTER (WHERE client_ip = $2) FROM one_time_codes \
         WHERE created_at > now() - interval '10 minutes' AND (mobile = $1 OR client_ip = $2)",
    )
    .bind(mobile.as_str())
    .bind(&address)
    .fetch_one(&state.pool)
    .await?;
    if for_mobile >= settings.per_mobile_per_10_minutes || for_address >= settings.per_ip_per_10_minutes {
        tracing::info!(for_mobile, for_address, "one-time code refused: rate limit");
        form.banner = Some(fa::problem_message("rate_limited"));
        return Ok((StatusCode::TOO_MANY_REQUESTS, ask_page(csrf, form)).into_response());
    }
    let id = random_token();
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let inserted = sqlx::query(
        "INSERT INTO one_time_codes (id, mobile, code_sha256, client_ip, expires_at, request_key) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) ON CONFLICT (request_key) DO NOTHING",
    )
    .bind(&id)
    .bind(mobile.as_str())
    .bind(code_hash(&id, &code))
    .bind(&address)
    .bind(settings.lifetime_secs as f64)
    .bind(&request_key)
    .execute(&state.pool)
    .await?;
    if inserted.rows_affected() == 0 {
        // the twin request won the race: it sends the code, this one shows where to type it
        let id: String = sqlx::query_scalar("SELECT id FROM one_time_codes WHERE request_key = $1")
            .bind(&request_key)
            .fetch_one(&state.pool)
            .await?;
        return Ok(see_other(&format!("/my-petitions/verify/{id}")));
    }
    // codes a day old count for no limit and open nothing: sweep a few with every new one
    sqlx::query("DELETE FROM one_time_codes WHERE id IN (SELECT id FROM one_time_codes WHERE created_at < now() - interval '1 day' LIMIT 100)")
        .execute(&state.pool)
        .await?;
    if let Err(error) = text_code(&state, &mobile, &code, &id).await {
        tracing::warn!(%error, "one-time code not sent");
        // not sent: it must not count against the citizen's next try
        sqlx::query("DELETE FROM one_time_codes WHERE id = $1").bind(&id).execute(&state.pool).await?;
        form.banner = Some(fa::problem_message("unavailable"));
        return Ok((StatusCode::SERVICE_UNAVAILABLE, ask_page(csrf, form)).into_response());
    }
    Ok(see_other(&format!("/my-petitions/verify/{id}")))
}

async fn text_code(state: &AppState, mobile: &Mobile, code: &str, request_id: &str) -> Result<(), String> {
    let tokens = state.tokens.as_ref().ok_or("the web has no service client (oidc.client_id)")?;
    let token = tokens.token_for(NOTIFICATION_AUDIENCE).await.map_err(|e| e.to_string())?;
    let url = format!("{}/v1/one-time-codes", state.notification_url.trim_end_matches('/'));
    let body = json!({ "mobile": mobile.as_str(), "code": code, "request_id": request_id });
    let response = state.http.post(url).bearer_auth(token).json(&body).send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() { Ok(()) } else { Err(format!("notification answered {}", response.status())) }
}

fn verify_page(csrf: String, id: &str, form: Form) -> Response {
    pages::render(&pages::MineVerify { chrome: Chrome::public(), csrf, id: id.to_owned(), form })
}

#[tracing::instrument(skip_all)]
pub(crate) async fn verify_form(headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (csrf, set_cookie) = citizen_csrf(&headers);
    with_cookie(verify_page(csrf, &id, Form::new()), set_cookie)
}

#[derive(sqlx::FromRow)]
struct Pending {
    mobile: String,
    code_sha256: Vec<u8>,
    attempts: i32,
    expired: bool,
    used: bool,
}

/// `POST /my-petitions/verify/{id}`: the right code, in time and within the attempts, shows the list.
#[tracing::instrument(skip_all)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Posted_(pairs): Posted_<Vec<(String, String)>>,
) -> Result<Response> {
    let posted = Posted::new(pairs);
    check_citizen_csrf(&headers, &posted)?;
    let (csrf, _) = citizen_csrf(&headers);
    let mut form = Form::submitted(posted.values.clone());
    let pending: Option<Pending> = sqlx::query_as(
        "SELECT mobile, code_sha256, attempts, expires_at < now() AS expired, used_at IS NOT NULL AS used \
         FROM one_time_codes WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(pending) = pending.filter(|p| !p.used) else { return Ok(see_other("/my-petitions")) };
    let max = state.one_time_code.max_attempts;
    let refuse = |form: &mut Form, code: &'static str| {
        form.reject("code", code);
        form.banner = None;
    };
    if pending.attempts >= max {
        refuse(&mut form, "code_locked");
        return Ok((StatusCode::TOO_MANY_REQUESTS, verify_page(csrf, &id, form)).into_response());
    }
    if pending.expired {
        refuse(&mut form, "code_expired");
        return Ok((StatusCode::BAD_REQUEST, verify_page(csrf, &id, form)).into_response());
    }
    let typed = pasokh_domain::normalize_digits(posted.get("code"));
    let right = bool::from(code_hash(&id, typed.trim()).ct_eq(&pending.code_sha256));
    if !right {
        // counted atomically, so parallel guesses cannot share one attempt
        let attempts: i32 =
            sqlx::query_scalar("UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
                .bind(&id)
                .fetch_one(&state.pool)
                .await?;
        refuse(&mut form, if attempts >= max { "code_locked" } else { "code_wrong" });
        form.remaining = Some(fa::digits(&(max - attempts).max(0).to_string()));
        return Ok((StatusCode::BAD_REQUEST, verify_page(csrf, &id, form)).into_response());
    }
    let claimed =
        sqlx::query("UPDATE one_time_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL AND attempts < $2")
            .bind(&id)
            .bind(max)
            .execute(&state.pool)
            .await?;
    if claimed.rows_affected() != 1 {
        return Ok(see_other("/my-petitions"));
    }
    let mobile = Mobile::parse(&pending.mobile).map_err(|_| Error::NotFound("mobile"))?;
    let (petitions, complete) = petitions_of(&state, &mobile).await;
    Ok(pages::render(&pages::MineList {
        chrome: Chrome::public(),
        mobile_fa: fa::digits(mobile.as_str()),
        petitions,
        complete,
    }))
}

#[derive(Deserialize)]
struct Listed {
    tracking_code: String,
    category: String,
    status_fa: String,
    #[serde(default)]
    organisation: Option<String>,
    submitted_at: DateTime<Utc>,
    #[serde(default)]
    resolution_due: Option<DateTime<Utc>>,
}

/// The mobile's petitions from every province's intake, newest first; `false` when one could not answer.
async fn petitions_of(state: &AppState, mobile: &Mobile) -> (Vec<MinePetition>, bool) {
    let token = match state.tokens.as_ref() {
        Some(tokens) => tokens.token_for(INTAKE_AUDIENCE).await.ok(),
        None => None,
    };
    let Some(token) = token else { return (Vec::new(), false) };
    let body = json!({ "mobile": mobile.as_str() });
    let mut found: Vec<(DateTime<Utc>, MinePetition)> = Vec::new();
    let mut complete = true;
    for province in state.intake.provinces() {
        let answer = state
            .intake
            .call(Method::POST, province, "/v1/citizens/petitions", Caller::Service(&token), None, Some(&body))
            .await;
        let listed: Vec<Listed> = match answer {
            Ok(value) => serde_json::from_value(value["petitions"].clone()).unwrap_or_default(),
            Err(refusal) => {
                tracing::warn!(?refusal, %province, "a province's petitions are missing from the list");
                complete = false;
                continue;
            }
        };
        for petition in listed {
            let (category, organisation) =
                fa::category_and_organisation(&petition.category, petition.organisation.as_deref());
            found.push((
                petition.submitted_at,
                MinePetition {
                    tracking_code_fa: fa::digits(&petition.tracking_code),
                    category,
                    organisation,
                    status: petition.status_fa,
                    submitted: fa::date(petition.submitted_at),
                    due: petition.resolution_due.map(fa::date),
                },
            ));
        }
    }
    found.sort_by_key(|(submitted, _)| std::cmp::Reverse(*submitted));
    (found.into_iter().map(|(_, p)| p).collect(), complete)
}
