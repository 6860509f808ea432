//! Identity: bearer tokens from the ministry's OpenID Connect provider.
//!
//! Services hold only the provider's public keys ([`verify::TokenVerifier`],
//! RS256/ES256 from its JWKS) and check `iss`, `aud`, `exp`, `nbf`, `iat` and
//! a maximum lifetime. Calls between services carry a client-credentials
//! token whose audience is the callee ([`client::TokenSource`]); the callee
//! admits only the clients on its allow-list ([`verify::TokenVerifier::service`]).
//! HS256 development tokens ([`dev`]) exist for `pasokhctl token` and tests,
//! and are accepted only when configuration turns them on.
use std::collections::BTreeSet;

use pasokh_domain::{HQ_ACTION, OrganisationCode, ProvinceCode, Role};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

pub mod client;
pub mod dev;
pub mod grpc;
pub mod verify;

pub use client::TokenSource;
pub use verify::{ServiceCaller, TokenVerifier};

/// How a service checks the tokens it receives and obtains the ones it sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The provider's issuer URL, exactly as in its tokens' `iss`
    /// (Keycloak: `https://sso.example/realms/pasokh`); empty: no token is accepted
    pub issuer: String,
    /// The provider's JWKS URL; empty: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`
    pub jwks_url: String,
    /// The audience this service accepts (its client id at the provider): a token must name it in `aud`
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`
    pub leeway_secs: u64,
    /// Longest `exp - iat` accepted, whatever the provider issued: bounds how long a revoked member of staff keeps access
    pub max_lifetime_secs: u64,
    /// How long fetched signing keys are used before they are fetched again
    pub jwks_cache_secs: u64,
    /// Least time between two fetches triggered by tokens naming an unknown `kid`
    pub jwks_min_refresh_secs: u64,
    /// HS256 development tokens (`pasokhctl token`): off unless turned on; refused when `environment` is production
    pub dev_tokens: DevTokenSettings,
    /// This service's own client at the provider, for the tokens it sends to other services
    pub client: ClientSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenSettings {
    pub enabled: bool,
    /// The shared HS256 key; the built-in one is public, so only ever use this locally
    pub key: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Client id at the provider; empty: this service calls no other service
    pub id: String,
    pub secret: Secret,
    /// Token endpoint; empty: the `token_endpoint` of the issuer's discovery document
    pub token_url: String,
    /// OAuth scope requested for a callee's audience; `{audience}` is replaced by the callee's client id
    pub scope_template: String,
    /// A cached token is renewed this long before it expires
    pub renew_before_secs: u64,
}

pub const DEV_KEY: &str = "dev-only-jwt-key-change-me";

impl AuthSettings {
    /// Settings of a service whose tokens must name `audience`; no issuer, so nothing is accepted until one is set.
    pub fn for_audience(audience: &str) -> Self {
        Self {
            issuer: String::new(),
            jwks_url: String::new(),
            audience: audience.to_owned(),
            leeway_secs: 30,
            max_lifetime_secs: 3600,
            jwks_cache_secs: 600,
            jwks_min_refresh_secs: 10,
            dev_tokens: DevTokenSettings { enabled: false, key: Secret::new(DEV_KEY) },
            client: ClientSettings {
                id: String::new(),
                secret: Secret::default(),
                token_url: String::new(),
                scope_template: "aud-{audience}".into(),
                renew_before_secs: 60,
            },
        }
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims Pasokh reads from an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The client the token was issued to (a service's or partner's client id)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// ISO 3166-2:IR province the holder works in (none for HQ)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

/// A member of staff, parsed from a token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The provider's stable subject id
    pub subject: String,
    /// What people read in histories: the user name when the token carries one
    pub name: String,
    pub role: Role,
    pub province: Option<ProvinceCode>,
    pub organisation: Option<OrganisationCode>,
    pub permissions: BTreeSet<String>,
}

impl Staff {
    pub fn may_act_nationally(&self) -> bool {
        self.permissions.contains(HQ_ACTION)
    }
}

impl Claims {
    /// The member of staff this token speaks for; a token without a known role is not a staff token.
    pub fn staff(&self) -> Result<Staff, AuthError> {
        let role = self.role.as_deref().ok_or(AuthError::NotStaff)?;
        let role = Role::parse(role).map_err(|_| AuthError::UnknownRole(role.to_owned()))?;
        let province = match self.province.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => Some(ProvinceCode::parse(p).map_err(|_| AuthError::UnknownProvince(p.to_owned()))?),
        };
        let organisation = match self.organisation.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            None => None,
            Some(o) => Some(OrganisationCode::parse(o).map_err(|_| AuthError::UnknownOrganisation(o.to_owned()))?),
        };
        Ok(Staff {
            subject: self.sub.clone(),
            name: self.preferred_username.clone().unwrap_or_else(|| self.sub.clone()),
            role,
            province,
            organisation,
            permissions: self.permissions.iter().cloned().collect(),
        })
    }

    /// The client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.azp.as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("the token names no signing key (kid)")]
    NoKeyId,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the token lives longer than the {0} s this service accepts")]
    TooLongLived(u64),
    #[error("the token was issued by another provider")]
    WrongIssuer,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("no identity provider is configured, so no token is accepted")]
    NotConfigured,
    #[error("the identity provider's keys are unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("the token is not a member of staff's")]
    NotStaff,
    #[error("the token's role `{0}` is unknown")]
    UnknownRole(String),
    #[error("the token's province `{0}` is unknown")]
    UnknownProvince(String),
    #[error("the token's organisation `{0}` is unknown")]
    UnknownOrganisation(String),
    #[error("client `{0}` may not call this")]
    ClientNotAllowed(String),
}

impl AuthError {
    /// The shared error code of this failure (HTTP status, gRPC code, problem `code`).
    pub fn code(&self) -> crate::error_code::ErrorCode {
        use crate::error_code::ErrorCode;
        match self {
            AuthError::ProviderUnavailable(_) => ErrorCode::Unavailable,
            AuthError::NotStaff
            | AuthError::UnknownRole(_)
            | AuthError::UnknownProvince(_)
            | AuthError::UnknownOrganisation(_)
            | AuthError::ClientNotAllowed(_) => ErrorCode::Forbidden,
            _ => ErrorCode::Unauthenticated,
        }
    }
}

/// The token in an `Authorization: Bearer …` header value.
pub fn bearer(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "f3a1".into(),
            iss: "http://idp/realms/pasokh".into(),
            aud: Audience::Many(vec!["pasokh-routing".into(), "account".into()]),
            exp: 2,
            iat: Some(1),
            nbf: None,
            azp: Some("pasokhctl".into()),
            preferred_username: Some("officer-sso-tehran".into()),
            role: Some("officer".into()),
            province: Some("IR-23".into()),
            organisation: Some("sso".into()),
            permissions: vec![],
        }
    }

    #[test]
    fn a_staff_token_parses_into_typed_claims() {
        let staff = claims().staff().unwrap();
        assert_eq!(staff.role, Role::Officer);
        assert_eq!(staff.province, Some(ProvinceCode::parse("IR-23").unwrap()));
        assert_eq!(staff.name, "officer-sso-tehran");
        assert_eq!(staff.organisation.map(OrganisationCode::as_str), Some("sso"));
        assert!(!staff.may_act_nationally());
    }

    #[test]
    fn unknown_roles_and_provinces_and_service_tokens_are_not_staff() {
        let mut c = claims();
        c.role = Some("root".into());
        assert_eq!(c.staff().unwrap_err(), AuthError::UnknownRole("root".into()));
        let mut c = claims();
        c.province = Some("IR-99".into());
        assert_eq!(c.staff().unwrap_err(), AuthError::UnknownProvince("IR-99".into()));
        let mut c = claims();
        c.organisation = Some("nasa".into());
        assert_eq!(c.staff().unwrap_err(), AuthError::UnknownOrganisation("nasa".into()));
        assert_eq!(c.staff().unwrap_err().code(), crate::error_code::ErrorCode::Forbidden);
        let mut c = claims();
        c.role = None;
        assert_eq!(c.staff().unwrap_err(), AuthError::NotStaff);
    }

    #[test]
    fn audience_is_a_string_or_an_array() {
        let one: Audience = serde_json::from_str(r#""pasokh-intake""#).unwrap();
        let many: Audience = serde_json::from_str(r#"["account","pasokh-intake"]"#).unwrap();
        assert!(one.contains("pasokh-intake") && many.contains("pasokh-intake"));
        assert!(!many.contains("pasokh-routing"));
    }

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(bearer(Some("Bearer ")), Err(AuthError::Missing));
        assert_eq!(bearer(None), Err(AuthError::Missing));
    }
}
