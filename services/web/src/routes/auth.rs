//! Sign-in at the provider and back, and sign-out at both ends.
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AppState, see_other};
use crate::forms::same_secret;
use crate::session::{self, StaffSession};
use crate::{Error, Result};

#[derive(Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    return_to: Option<String>,
}

/// Only a path of this console: never another site (an open redirect).
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/desk".to_owned(),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn sign_in(State(state): State<AppState>, Query(query): Query<SignInQuery>) -> Result<Response> {
    let url = state.oidc.begin(&state.pool, &local_path(query.return_to.as_deref())).await?;
    Ok(see_other(&url))
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn callback(State(state): State<AppState>, Query(callback): Query<Callback>) -> Result<Response> {
    if let Some(error) = callback.error {
        return Err(Error::Provider(format!("the provider refused the sign-in: {error}")));
    }
    let (Some(code), Some(attempt)) = (callback.code, callback.state) else {
        return Err(Error::Provider("the callback has no code or state".into()));
    };
    let (signed_in, return_to) = state.oidc.finish(&state.pool, &code, &attempt).await?;
    tracing::info!(staff = %signed_in.display_name, role = signed_in.role.as_str(), "signed in");
    let id = session::create(&state.pool, &state.session, signed_in).await?;
    let mut response = see_other(&local_path(Some(&return_to)));
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(Some(&id))) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
}

#[tracing::instrument(skip_all)]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    session: StaffSession,
    Form(form): Form<SignOut>,
) -> Result<Response> {
    if !same_secret(&session.csrf_token, &form.csrf) {
        return Err(Error::Csrf);
    }
    session.end(&state.pool).await?;
    let to = state.oidc.sign_out_url(&session.id_token).await.unwrap_or_else(|| "/".to_owned());
    let mut response = see_other(&to).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(None)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/desk/events/1")), "/desk/events/1");
        for foreign in ["https://evil.example/", "//evil.example", "/\\evil.example", "desk"] {
            assert_eq!(local_path(Some(foreign)), "/desk", "{foreign}");
        }
        assert_eq!(local_path(None), "/desk");
    }
}
