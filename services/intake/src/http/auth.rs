//! The member of staff behind a request, from their provider-issued token,
//! and what the permission table lets them do at this province's intake.
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use pasokh_domain::{Action, Reach, reach};
use pasokh_platform::auth::Staff;

use super::AppState;
use crate::Error;

pub(crate) struct StaffMember(pub Staff);

impl FromRequestParts<AppState> for StaffMember {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        Ok(StaffMember(state.verifier.staff(header).await?))
    }
}

impl StaffMember {
    /// The holder may do `action` here: the permission table grants it, and in this deployment's province.
    pub(crate) fn require(&self, action: Action, state: &AppState) -> Result<&Staff, Error> {
        let staff = &self.0;
        let Some(granted) = reach(staff.role, action, staff.may_act_nationally()) else {
            return Err(Error::Forbidden(format!("the {} role may not do this", staff.role)));
        };
        let here = state.province;
        match granted {
            Reach::National | Reach::Organisation => Ok(staff),
            Reach::Province | Reach::OrganisationInProvince if staff.province == Some(here) => Ok(staff),
            Reach::Province | Reach::OrganisationInProvince => Err(Error::Forbidden(format!(
                "this intake serves {here}; the token is for {}",
                staff.province.map_or_else(|| "no province".to_owned(), |p| p.to_string())
            ))),
        }
    }
}
