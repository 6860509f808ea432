//! The one table of error codes: each maps once onto an HTTP status, a gRPC
//! code and the problem+json `code`, so HTTP and gRPC callers see the same
//! failure the same way.
use axum::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    ValidationFailed,
    NotFound,
    Unauthenticated,
    Forbidden,
    Conflict,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::ValidationFailed,
        ErrorCode::NotFound,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationFailed => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::ValidationFailed => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::Forbidden => tonic::Code::PermissionDenied,
            ErrorCode::Conflict => tonic::Code::FailedPrecondition,
            ErrorCode::RateLimited => tonic::Code::ResourceExhausted,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }

    /// The problem+json `code` (and the last segment of its `type` URI).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// A gRPC status of this code.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        tonic::Status::new(self.grpc_code(), message)
    }
}

impl From<crate::auth::AuthError> for tonic::Status {
    fn from(error: crate::auth::AuthError) -> Self {
        error.code().status(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_grpc_agree_on_every_code() {
        let pairs = [
            (400, tonic::Code::InvalidArgument),
            (404, tonic::Code::NotFound),
            (401, tonic::Code::Unauthenticated),
            (403, tonic::Code::PermissionDenied),
            (409, tonic::Code::FailedPrecondition),
            (429, tonic::Code::ResourceExhausted),
            (503, tonic::Code::Unavailable),
            (500, tonic::Code::Internal),
        ];
        for (code, (http, grpc)) in ErrorCode::ALL.iter().zip(pairs) {
            assert_eq!((code.http_status().as_u16(), code.grpc_code()), (http, grpc), "{code:?}");
        }
        let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "codes are distinct");
    }

    #[test]
    fn authentication_failures_are_unauthenticated_and_refusals_permission_denied() {
        use crate::auth::AuthError;
        assert_eq!(tonic::Status::from(AuthError::Expired).code(), tonic::Code::Unauthenticated);
        assert_eq!(tonic::Status::from(AuthError::ClientNotAllowed("x".into())).code(), tonic::Code::PermissionDenied);
        assert_eq!(tonic::Status::from(AuthError::ProviderUnavailable("down".into())).code(), tonic::Code::Unavailable);
    }
}
