//! Bearer tokens for operators, supervisors and officers: compact JWTs
//! (RFC 7519) signed with HS256 under keys from configuration, selected by
//! `kid` so keys can be rotated. `pasokhctl token` mints development tokens.
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// Signing keys by `kid`; a token names its key in its header
    pub keys: BTreeMap<String, Secret>,
    /// Clock skew tolerated on `exp` and `nbf`
    pub leeway_secs: i64,
    /// Whether the built-in development key (`kid` "dev") is accepted; false in every real deployment
    pub allow_dev_key: bool,
}

pub const DEV_KEY_ID: &str = "dev";
pub const DEV_KEY: &str = "dev-only-jwt-key-change-me";

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "https://pasokh.mcls.gov.ir".into(),
            audience: "pasokh".into(),
            keys: BTreeMap::from([(DEV_KEY_ID.to_owned(), Secret::new(DEV_KEY))]),
            leeway_secs: 30,
            allow_dev_key: true,
        }
    }
}

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// desk operator: registers walk-ins and letters
    Operator,
    /// provincial director: creates desk events, supervises
    Supervisor,
    /// case officer of an organisation unit
    Officer,
    /// HQ inspection: reads everything
    Inspector,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// ISO 3166-2:IR province the holder works in (empty for HQ)
    #[serde(default)]
    pub province: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organisation: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for someone else")]
    WrongAudience,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

fn sign(key: &str, signing_input: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"));
    mac.update(signing_input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Signs `claims` with the key `kid`.
pub fn mint(claims: &Claims, kid: &str, key: &str) -> String {
    let header = Header { alg: "HS256".into(), typ: Some("JWT".into()), kid: Some(kid.to_owned()) };
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(key, &signing_input));
    format!("{signing_input}.{signature}")
}

impl AuthSettings {
    /// Checks signature, algorithm, issuer, audience and lifetime; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut parts = token.trim().split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::Malformed);
        let parsed: Header = serde_json::from_slice(&decode(header)?).map_err(|_| AuthError::Malformed)?;
        // only HS256: a token must not choose its own (weaker) algorithm
        if parsed.alg != "HS256" {
            return Err(AuthError::Algorithm);
        }
        let active: BTreeMap<&str, &Secret> = self
            .keys
            .iter()
            .filter(|(kid, _)| self.allow_dev_key || kid.as_str() != DEV_KEY_ID)
            .map(|(kid, key)| (kid.as_str(), key))
            .collect();
        let key = match parsed.kid.as_deref() {
            Some(kid) => *active.get(kid).ok_or(AuthError::UnknownKey)?,
            None if active.len() == 1 => *active.values().next().ok_or(AuthError::UnknownKey)?,
            None => return Err(AuthError::UnknownKey),
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"));
        mac.update(format!("{header}.{payload}").as_bytes());
        mac.verify_slice(&decode(signature)?).map_err(|_| AuthError::Signature)?;
        let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| AuthError::Malformed)?;
        let now = Utc::now().timestamp();
        if claims.exp + self.leeway_secs < now {
            return Err(AuthError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - self.leeway_secs > now) {
            return Err(AuthError::NotYetValid);
        }
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(AuthError::WrongAudience);
        }
        Ok(claims)
    }

    /// The claims of an `Authorization: Bearer …` header value.
    pub fn verify_header(&self, authorization: Option<&str>) -> Result<Claims, AuthError> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .ok_or(AuthError::Missing)?;
        self.verify(token)
    }

    /// Claims for a new token valid for `ttl_secs` from now.
    pub fn claims(&self, sub: &str, role: Role, province: &str, organisation: &str, ttl_secs: i64) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            sub: sub.to_owned(),
            role,
            province: province.to_owned(),
            organisation: organisation.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl_secs,
            nbf: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings::default()
    }

    #[test]
    fn a_minted_token_verifies_and_carries_its_claims() {
        let s = settings();
        let claims = s.claims("op-1", Role::Operator, "IR-23", "", 3600);
        let token = mint(&claims, DEV_KEY_ID, DEV_KEY);
        assert_eq!(s.verify(&token).unwrap(), claims);
        assert_eq!(s.verify_header(Some(&format!("Bearer {token}"))).unwrap().province, "IR-23");
    }

    #[test]
    fn tampering_expiry_wrong_keys_and_algorithms_are_refused() {
        let s = settings();
        let claims = s.claims("op-1", Role::Operator, "IR-23", "", 3600);
        let token = mint(&claims, DEV_KEY_ID, DEV_KEY);
        // the holder edits their own province
        let mut forged = claims.clone();
        forged.province = "IR-25".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(s.verify(&tampered).unwrap_err(), AuthError::Signature);

        assert_eq!(s.verify(&mint(&claims, DEV_KEY_ID, "another-key")).unwrap_err(), AuthError::Signature);
        assert_eq!(s.verify(&mint(&claims, "retired", DEV_KEY)).unwrap_err(), AuthError::UnknownKey);
        let expired = s.claims("op-1", Role::Operator, "IR-23", "", -3600);
        assert_eq!(s.verify(&mint(&expired, DEV_KEY_ID, DEV_KEY)).unwrap_err(), AuthError::Expired);
        let mut foreign = claims;
        foreign.aud = "another-system".into();
        assert_eq!(s.verify(&mint(&foreign, DEV_KEY_ID, DEV_KEY)).unwrap_err(), AuthError::WrongAudience);

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(s.verify(&unsigned).unwrap_err(), AuthError::Algorithm);
        assert_eq!(s.verify("not-a-token").unwrap_err(), AuthError::Malformed);
        assert_eq!(s.verify_header(None).unwrap_err(), AuthError::Missing);
        assert_eq!(s.verify_header(Some("Basic abc")).unwrap_err(), AuthError::Missing);
    }

    #[test]
    fn a_deployment_that_turns_the_development_key_off_refuses_its_tokens() {
        let mut s = settings();
        s.keys.insert("prod2026".into(), Secret::new("a-real-key"));
        s.allow_dev_key = false;
        let claims = s.claims("op-1", Role::Operator, "IR-23", "", 3600);
        assert_eq!(s.verify(&mint(&claims, DEV_KEY_ID, DEV_KEY)).unwrap_err(), AuthError::UnknownKey);
        assert_eq!(s.verify(&mint(&claims, "prod2026", "a-real-key")).unwrap(), claims);
    }
}
