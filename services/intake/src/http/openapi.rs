//! The OpenAPI 3.1 document of intake's HTTP API, generated from the handlers'
//! annotations and the request/response types, served at `/openapi.json`.
//! `make test` fuzzes the running service against it with schemathesis.
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// RFC 9457 problem document (the shape of `pasokh_platform::problem::Problem`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ProblemDocument {
    #[schema(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    /// stable machine code, see docs/api/errors.md
    code: String,
    detail: Option<String>,
    errors: Option<Vec<FieldErrorDocument>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FieldErrorDocument {
    field: String,
    code: String,
    message: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct DeskEventDocument {
    id: String,
    province: String,
    title: String,
    venue: String,
    starts_at: String,
    ends_at: String,
    starts_at_jalali: String,
    organisations: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct DeskEventList {
    events: Vec<DeskEventDocument>,
}

/// A citizen's earlier petition, as the desk sees it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct CitizenPetition {
    tracking_code: String,
    category: String,
    category_fa: Option<String>,
    submitted_at: String,
    submitted_at_jalali: String,
    status: String,
    status_fa: String,
    /// not closed, rejected or merged: a repeat joins it
    open: bool,
}

/// A mobile's petition, as "my petitions" lists it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct MobilePetition {
    tracking_code: String,
    category: String,
    kind: String,
    channel: String,
    status: String,
    status_fa: String,
    organisation: Option<String>,
    submitted_at: String,
    resolution_due: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct MobilePetitions {
    petitions: Vec<MobilePetition>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct CitizenPetitions {
    petitions: Vec<CitizenPetition>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct MeetingDocument {
    id: String,
    desk_event_id: String,
    official_name: String,
    organisation: String,
    tracking_code: Option<String>,
    promise: Option<String>,
    /// `YYYY-MM-DD`
    promise_due: Option<String>,
    promise_due_jalali: Option<String>,
    recorded_at: String,
    recorded_at_jalali: String,
}

/// The citizen's reply or rating, as received.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct MessageDocument {
    id: String,
    tracking_code: String,
    /// reply | rating
    kind: String,
    /// ratings only
    score: Option<u32>,
    received_at: String,
    received_at_jalali: String,
}

/// Problems any POST that creates something can answer with.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum CreateProblems {
    /// invalid fields, an invalid Idempotency-Key, or a body that is not JSON
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemDocument),
    /// body over the configured limit
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDocument),
    /// the body is not application/json
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(ProblemDocument),
    /// the Idempotency-Key was used with another body
    #[response(status = 422, content_type = "application/problem+json")]
    KeyReused(ProblemDocument),
    /// rate limited; see Retry-After
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(ProblemDocument),
    /// overloaded, timed out or unavailable; nothing saved; see Retry-After
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDocument),
}

/// Problems of calls that need a bearer token.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum AuthProblems {
    /// no valid bearer token
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(ProblemDocument),
    /// the token's role or province may not do this
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDocument),
}

/// Problems of calls on one desk event.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum DeskEventProblems {
    /// no such desk event
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemDocument),
    /// the event is not open for registration
    #[response(status = 409, content_type = "application/problem+json")]
    Closed(ProblemDocument),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

// the deprecated GET look-up is documented as deprecated until clients moved to the POST
#[allow(deprecated)]
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pasokh intake",
        description = "Citizens' petitions for the Ministry of Cooperatives, Labour and Social Welfare: filing, status, the service desk, letters and Open311. Errors are application/problem+json with the codes of docs/api/errors.md.",
        version = "1.0.0"
    ),
    paths(
        super::petitions::submit,
        super::petitions::lookup,
        super::petitions::status,
        super::petitions::of_mobile,
        super::conversation::reply,
        super::conversation::rate,
        super::desk::events::create_event,
        super::desk::events::list_events,
        super::desk::events::close_event,
        super::desk::events::event_summary,
        super::desk::walk_ins::citizen_petitions,
        super::desk::walk_ins::register_walk_in,
        super::desk::meetings::record_meeting,
        super::desk::letters::register_letter,
        super::open311::get,
        super::open311::get_one,
        super::open311::post,
    ),
    components(schemas(ProblemDocument, FieldErrorDocument)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

pub(crate) async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        assert!(json["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", json["openapi"]);
        for path in [
            "/v1/petitions",
            "/v1/petitions/{tracking_code}",
            "/v1/petitions/{tracking_code}/status",
            "/v1/desk-events",
            "/v1/desk-events/{id}/petitions",
            "/v1/desk-events/{id}/meetings",
            "/v1/letters",
            "/open311/v2/{resource}",
            "/open311/v2/{collection}/{resource}",
        ] {
            assert!(json["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
        }
        assert_eq!(json["paths"]["/v1/petitions/{tracking_code}"]["get"]["deprecated"], true);
    }
}
