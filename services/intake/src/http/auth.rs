//! The bearer token of an operator, supervisor or officer, verified.
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use pasokh_platform::auth::{Claims, Role};

use super::AppState;
use crate::Error;

pub(crate) struct Staff(pub Claims);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        state.auth.verify_header(header).map(Staff).map_err(Error::Unauthenticated)
    }
}

impl Staff {
    /// The holder has one of `roles` and works in this deployment's province.
    pub(crate) fn require(&self, roles: &[Role], state: &AppState) -> Result<&Claims, Error> {
        if !roles.contains(&self.0.role) {
            return Err(Error::Forbidden(format!("the {:?} role cannot do this", self.0.role).to_lowercase()));
        }
        if self.0.province != state.province.to_string() {
            return Err(Error::Forbidden(format!(
                "this intake serves {}; the token is for {}",
                state.province,
                if self.0.province.is_empty() { "no province" } else { &self.0.province }
            )));
        }
        Ok(&self.0)
    }
}
