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

/// The document's frame: its info, shared schemas and the bearer scheme. The paths come from
/// the router (`super::api`), which lists each route once.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pasokh intake",
        description = "Citizens' petitions for the Ministry of Cooperatives, Labour and Social Welfare: filing, status, the service desk, letters and Open311. Errors are application/problem+json with the codes of docs/api/errors.md.",
        version = "1.0.0"
    ),
    components(schemas(ProblemDocument, FieldErrorDocument)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

pub(crate) async fn document(
    document: std::sync::Arc<utoipa::openapi::OpenApi>,
) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document.as_ref().clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_and_has_every_route_with_its_method() {
        let (_, document) = super::super::api();
        let json = serde_json::to_value(document).unwrap_or_default();
        assert!(json["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", json["openapi"]);
        let expected = [
            ("/v1/petitions", "post"),
            ("/v1/petitions/{tracking_code}", "get"),
            ("/v1/petitions/{tracking_code}/status", "post"),
            ("/v1/citizens/petitions", "post"),
            ("/v1/petitions/{tracking_code}/replies", "post"),
            ("/v1/petitions/{tracking_code}/rating", "post"),
            ("/v1/desk-events", "post"),
            ("/v1/desk-events", "get"),
            ("/v1/desk-events/{id}/close", "post"),
            ("/v1/desk-events/{id}/summary", "get"),
            ("/v1/desk-events/{id}/petitions", "post"),
            ("/v1/desk-events/{id}/citizen-petitions", "post"),
            ("/v1/desk-events/{id}/meetings", "post"),
            ("/v1/letters", "post"),
            ("/open311/v2/{resource}", "get"),
            ("/open311/v2/{resource}", "post"),
            ("/open311/v2/{collection}/{resource}", "get"),
        ];
        for (path, method) in expected {
            assert!(json["paths"][path].get(method).is_some(), "{method} {path} missing from the OpenAPI document");
        }
        let operations: usize = json["paths"]
            .as_object()
            .map_or(0, |paths| paths.values().filter_map(|p| p.as_object()).map(|p| p.len()).sum());
        assert_eq!(operations, expected.len(), "and nothing else: {}", json["paths"]);
        assert_eq!(json["paths"]["/v1/petitions/{tracking_code}"]["get"]["deprecated"], true);
    }

    /// The problem schema is written by hand (the `Problem` type lives in `libs/platform`, which
    /// knows nothing of OpenAPI): it must name exactly the fields a real problem carries.
    #[test]
    fn the_problem_schema_has_exactly_the_fields_of_a_real_problem() {
        use utoipa::PartialSchema as _;
        let schema = serde_json::to_value(super::ProblemDocument::schema()).unwrap_or_default();
        let mut documented: Vec<String> =
            schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let errors = pasokh_domain::ValidationErrors {
            errors: vec![pasokh_domain::FieldError::new("mobile", "mobile_format", "bad")],
        };
        let real = serde_json::to_value(pasokh_platform::problem::Problem::validation(errors)).unwrap_or_default();
        let mut served: Vec<String> = real.as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
        let field_error = serde_json::to_value(super::FieldErrorDocument::schema()).unwrap_or_default();
        let mut documented: Vec<String> =
            field_error["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let mut served: Vec<String> =
            real["errors"][0].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }
}
