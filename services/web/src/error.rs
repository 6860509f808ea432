use axum::response::{IntoResponse, Redirect, Response};
use pasokh_platform::error_code::{ErrorCode, HasErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("platform failed")]
    Platform(#[from] pasokh_platform::Error),
    #[error("rendering a page failed")]
    Render(#[from] askama::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// no session, or one that timed out: the browser goes to sign in, then back to `0`
    #[error("sign-in needed")]
    SignIn(String),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// a form without the right CSRF token, or sent from another site
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("the identity provider failed: {0}")]
    Provider(String),
    /// a service the page needs (routing, reporting) could not answer
    #[error("unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl HasErrorCode for Error {
    fn error_code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::SignIn(_) => ErrorCode::Unauthenticated,
            Error::Forbidden(_) | Error::Csrf => ErrorCode::Forbidden,
            Error::Provider(_) => ErrorCode::ProviderFailed,
            Error::Config(_) | Error::Database(_) | Error::Platform(_) | Error::Render(_) | Error::Unavailable(_) => {
                ErrorCode::Unavailable
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.error_code().http_status();
        let message = match &self {
            Error::SignIn(return_to) => {
                let query = serde_urlencoded::to_string([("return_to", return_to.as_str())]).unwrap_or_default();
                return Redirect::to(&format!("/auth/sign-in?{query}")).into_response();
            }
            Error::NotFound(_) => "صفحه‌ای که خواستید پیدا نشد.",
            Error::Forbidden(_) => "شما اجازهٔ دیدن این صفحه را ندارید.",
            Error::Csrf => "فرم منقضی شده است؛ به صفحهٔ قبل برگردید، آن را تازه کنید و دوباره بفرستید.",
            Error::Provider(_) => {
                tracing::warn!(error = %self, "sign-in failed at the provider");
                "ورود به سامانه انجام نشد؛ دوباره تلاش کنید."
            }
            other => {
                tracing::error!(error = %pasokh_platform::tasks::error_chain(other), "page failed");
                "سامانه اکنون پاسخ نمی‌دهد؛ چند لحظهٔ دیگر دوباره تلاش کنید."
            }
        };
        (status, crate::pages::error_page(status, message)).into_response()
    }
}
