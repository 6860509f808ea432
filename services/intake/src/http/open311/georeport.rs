//! GeoReport ↔ Pasokh: categories are services (their organisation the group), requests are
//! petitions, and a request shows the live case when routing has one.
use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use pasokh_domain::{
    CaseStatus, CategoryCode, Channel, CitizenRef, FieldError, Mobile, NationalId, PetitionKind, PetitionText,
    ValidationErrors, categories, organisations,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::format::{Format, render};
use crate::http::AppState;
use crate::store;
use crate::store::NewPetition;

pub(super) fn group(organisation: &str) -> String {
    organisations()
        .iter()
        .find(|o| o.code == organisation)
        .map_or_else(|| organisation.to_owned(), |o| o.name_fa.clone())
}

pub(super) fn service_list() -> Value {
    Value::Array(
        categories()
            .iter()
            .map(|c| {
                json!({
                    "service_code": c.code.as_str(),
                    "service_name": c.name_fa,
                    "description": c.name_en,
                    "metadata": true,
                    "type": "realtime",
                    "keywords": c.name_en.to_lowercase(),
                    "group": group(&c.organisation),
                })
            })
            .collect(),
    )
}

pub(super) fn service_definition(code: &CategoryCode) -> Value {
    let kinds: Vec<Value> = PetitionKind::ALL.iter().map(|k| json!({"key": k.as_str(), "name": k.as_str()})).collect();
    json!({
        "service_code": code.as_str(),
        "attributes": [
            {
                "variable": true, "code": "national_id", "datatype": "string", "required": true, "order": 1,
                "datatype_description": "10-digit Iranian national id (کد ملی)",
                "description": "National id of the citizen; checked, never published"
            },
            {
                "variable": true, "code": "kind", "datatype": "singlevaluelist", "required": false, "order": 2,
                "datatype_description": "", "description": "Kind of petition (default: request)", "values": kinds
            }
        ]
    })
}

/// A request as GeoReport shows it: the live case from routing when there is one, else intake's view.
pub(super) fn request_json(row: &store::RequestRow, live: Option<&pasokh_proto::routing::v1::Case>) -> Value {
    let category = categories().iter().find(|c| c.code == row.category);
    let status = live.and_then(|case| CaseStatus::parse(&case.status)).unwrap_or(if row.closed {
        CaseStatus::Closed
    } else {
        CaseStatus::Submitted
    });
    // GeoReport's "closed" is "resolved": an answered case owes the citizen nothing more
    let closed = !status.is_open();
    let agency = live
        .map(|case| group(&case.organisation))
        .or_else(|| category.map(|c| group(&c.organisation)))
        .unwrap_or_default();
    let updated = live
        .and_then(|case| pasokh_events::lifecycle::from_timestamp(case.updated_at.as_ref()))
        .unwrap_or(row.created_at);
    json!({
        "service_request_id": row.tracking_code,
        "status": if closed { "closed" } else { "open" },
        "status_notes": status.label_fa(),
        "service_name": category.map(|c| c.name_fa.clone()).unwrap_or_default(),
        "service_code": row.category,
        "agency_responsible": agency,
        "requested_datetime": row.created_at.to_rfc3339(),
        "updated_datetime": updated.to_rfc3339(),
        "address": "",
        "zipcode": "",
    })
}

pub(super) fn created(format: Format, tracking_code: &str) -> Response {
    let body = json!([{
        "service_request_id": tracking_code,
        "service_notice": format!("درخواست ثبت شد. کد رهگیری: {tracking_code}"),
        "account_id": Value::Null,
    }]);
    render(format, StatusCode::CREATED, "service_requests", &body)
}

/// GeoReport fields → a petition: `service_code` is the category, `description` the text,
/// `phone` the mobile, `attribute[national_id]` and `attribute[kind]` the rest.
pub(super) fn parse_request(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<NewPetition, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let field = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.trim().is_empty());
    let mut required = |name: &str, value: Option<&str>| -> Option<String> {
        let value = value.map(str::to_owned);
        if value.is_none() {
            errors.push(FieldError::new(name, "field_missing", format!("{name} is required")));
        }
        value
    };
    let national_id = required("attribute[national_id]", field("attribute[national_id]"));
    let phone = required("phone", field("phone"));
    let service_code = required("service_code", field("service_code"));
    let description = required("description", field("description"));
    let national_id = national_id.and_then(|v| errors.check("attribute[national_id]", NationalId::parse(&v)));
    let mobile = phone.and_then(|v| errors.check("phone", Mobile::parse(&v)));
    let category = service_code.and_then(|v| errors.check("service_code", CategoryCode::parse(&v)));
    let text = description.and_then(|v| errors.check("description", PetitionText::parse(&v)));
    let kind = errors.check("attribute[kind]", PetitionKind::parse(field("attribute[kind]").unwrap_or("request")));
    match (national_id, mobile, category, text, kind) {
        (Some(national_id), Some(mobile), Some(category), Some(text), Some(kind)) if errors.is_empty() => {
            Ok(NewPetition {
                id: Uuid::now_v7(),
                province: state.province,
                citizen_ref: CitizenRef::derive(&state.citizen_ref_key, &national_id),
                national_id,
                mobile,
                category,
                kind,
                channel: Channel::Open311,
                text,
                desk_event_id: None,
                county: None,
                attachments: Vec::new(),
                letter: None,
                on_spot_answer: None,
                filed_by: None,
                repeat_of: None,
            })
        }
        _ => Err(errors),
    }
}
