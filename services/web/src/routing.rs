//! Routing's `CaseService` over gRPC, called with the member of staff's own
//! token: routing scopes every query and command by it, so the console never
//! decides what an officer may see. Refusals come back as what the page needs
//! to say in Persian: a field's code, a conflict, a case not to be shown.
use std::time::Duration;

use pasokh_platform::grpc::TracedChannel;
use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use tonic::transport::Endpoint;
use tonic_types::StatusExt;

/// Why routing did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaseRefusal {
    /// outside the caller's scope, or no such case: answered as if it did not exist
    NotFound,
    Forbidden,
    /// the token expired or was refused
    SignIn,
    /// a bad argument: the field and its stable code
    Field {
        field: String,
        code: String,
    },
    /// someone changed the case since the officer read it
    Conflict,
    /// the case's status does not allow the command
    NotAllowed(String),
    Unavailable(String),
}

impl From<tonic::Status> for CaseRefusal {
    fn from(status: tonic::Status) -> Self {
        match status.code() {
            tonic::Code::NotFound => Self::NotFound,
            tonic::Code::PermissionDenied => Self::Forbidden,
            tonic::Code::Unauthenticated => Self::SignIn,
            tonic::Code::Aborted => Self::Conflict,
            tonic::Code::FailedPrecondition => Self::NotAllowed(status.message().to_owned()),
            tonic::Code::InvalidArgument => {
                let violation = status.get_details_bad_request().and_then(|b| b.field_violations.into_iter().next());
                match violation {
                    // routing writes each violation as "<code>: <message>"
                    Some(v) => Self::Field {
                        code: v.description.split(':').next().unwrap_or_default().trim().to_owned(),
                        field: v.field,
                    },
                    None => Self::Field { field: String::new(), code: "invalid".into() },
                }
            }
            _ => Self::Unavailable(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Routing {
    channel: Option<TracedChannel>,
}

impl Routing {
    /// A lazy channel: the console starts (and serves the desk) while routing is away.
    pub(crate) fn new(url: &str, timeout: Duration) -> crate::Result<Self> {
        if url.is_empty() {
            return Ok(Self { channel: None });
        }
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| crate::Error::Config(format!("routing_url `{url}`: {e}")))?
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2));
        Ok(Self { channel: Some(TracedChannel::new(endpoint.connect_lazy())) })
    }

    pub(crate) fn cases(&self) -> Result<CaseServiceClient<TracedChannel>, CaseRefusal> {
        self.channel
            .clone()
            .map(CaseServiceClient::new)
            .ok_or_else(|| CaseRefusal::Unavailable("routing_url is not set".into()))
    }
}

/// A request carrying the member of staff's access token.
pub(crate) fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A protobuf timestamp as an instant.
pub(crate) fn instant(at: Option<&prost_types::Timestamp>) -> Option<chrono::DateTime<chrono::Utc>> {
    let at = at?;
    chrono::DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_argument_names_its_field_and_code() {
        let mut details = tonic_types::ErrorDetails::new();
        details.add_bad_request_violation("message", "message_required: write what the citizen should read");
        let status = tonic::Status::with_error_details(tonic::Code::InvalidArgument, "message: …", details);
        assert_eq!(
            CaseRefusal::from(status),
            CaseRefusal::Field { field: "message".into(), code: "message_required".into() }
        );
        assert_eq!(CaseRefusal::from(tonic::Status::aborted("version_conflict")), CaseRefusal::Conflict);
        assert_eq!(CaseRefusal::from(tonic::Status::not_found("case not found")), CaseRefusal::NotFound);
    }
}
