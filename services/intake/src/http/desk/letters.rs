//! A scanned letter registered by an operator as a petition (channel `letter`).
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use pasokh_domain::Action;
use pasokh_domain::{Channel, Letter};
use serde::Deserialize;

use super::FiledForCitizen;
use crate::http::AppState;
use crate::http::auth::StaffMember;
use crate::http::idempotency::IdempotentJson;
use crate::{Error, Result};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LetterFields {
    reference: Option<String>,
    received_on: Option<String>,
    pages: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LetterInput {
    #[serde(flatten)]
    citizen: FiledForCitizen,
    letter: Option<LetterFields>,
}

/// `POST /v1/letters`: an operator registers a scanned letter as a petition (channel `letter`).
/// The day a letter may be dated at the latest: today in Tehran, where the desk is. UTC's date
/// refused a letter dated today between midnight and 03:30 (finding 24).
fn letters_today(now: chrono::DateTime<Utc>) -> chrono::NaiveDate {
    pasokh_domain::tehran_date(now)
}

#[utoipa::path(post, path = "/v1/letters", tag = "service desk", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = LetterInput, content_type = "application/json"),
    responses(
        (status = 201, description = "filed", body = crate::petitions::SubmittedResponse),
        crate::http::openapi::CreateProblems,
        crate::http::openapi::AuthProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn register_letter(
    State(state): State<AppState>,
    staff: StaffMember,
    request: IdempotentJson,
) -> Result<Response> {
    staff.require(Action::FileAtDesk, &state)?;
    let (province, key) = (state.province, &state.citizen_ref_key);
    request
        .file(&state, |value| {
            let input: LetterInput = serde_json::from_value(value).map_err(|e| Error::MalformedJson(e.to_string()))?;
            let fields = input.letter.unwrap_or(LetterFields { reference: None, received_on: None, pages: None });
            let letter = Letter::parse(
                fields.reference.as_deref().unwrap_or_default(),
                fields.received_on.as_deref().unwrap_or_default(),
                fields.pages.unwrap_or_default(),
                letters_today(Utc::now()),
            );
            let petition = input.citizen.petition(Channel::Letter, None).parse(province, key);
            match (petition, letter) {
                (Ok(mut petition), Ok(letter)) => {
                    petition.letter = Some(letter);
                    Ok(petition)
                }
                (petition, letter) => {
                    let mut errors = petition.err().unwrap_or_default();
                    errors.errors.extend(letter.err().unwrap_or_default());
                    Err(errors.into())
                }
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone as _;

    #[test]
    fn a_letter_dated_today_is_not_from_the_future_just_after_midnight_in_tehran() {
        // 00:30 on 2 December in Tehran is still 1 December in UTC
        let just_after_midnight = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 21, 0, 0).unwrap();
        assert_eq!(super::letters_today(just_after_midnight), chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
    }
}
