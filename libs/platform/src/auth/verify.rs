//! Verifying access tokens with the provider's public keys (JWKS).
//!
//! Keys are fetched once, cached, and fetched again when they grow old or a
//! token names a `kid` the cache does not know (a key rotation) — at most once
//! per `jwks_min_refresh_secs`, so a stream of forged `kid`s cannot turn every
//! request into a call to the provider. While the provider is unreachable the
//! cached keys keep working.
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::{AuthError, AuthSettings, Claims, Staff, bearer, dev};

/// Checks the bearer tokens a service receives.
pub struct TokenVerifier {
    settings: AuthSettings,
    http: reqwest::Client,
    keys: RwLock<KeyCache>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    jwks_url: Option<String>,
}

/// A caller that is one of Pasokh's own services (or a partner system), by its client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCaller {
    pub client_id: String,
}

impl TokenVerifier {
    pub fn new(settings: AuthSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Self { settings, http, keys: RwLock::default(), refresh: tokio::sync::Mutex::default() }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The claims of a member of staff's token: a provider token, or a development token when those are on.
    pub async fn staff(&self, authorization: Option<&str>) -> Result<Staff, AuthError> {
        let token = bearer(authorization)?;
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        let claims = match header.alg {
            Algorithm::HS256 if self.settings.dev_tokens.enabled => dev::verify(&self.settings, token)?,
            Algorithm::HS256 => return Err(AuthError::Algorithm("HS256".into())),
            _ => self.verify_with_header(token, header).await?,
        };
        claims.staff()
    }

    /// A service or partner calling with a client-credentials token from the provider: never a development
    /// token, and only the clients in `allowed`.
    pub async fn service(
        &self,
        authorization: Option<&str>,
        allowed: &BTreeSet<String>,
    ) -> Result<ServiceCaller, AuthError> {
        let token = bearer(authorization)?;
        let claims = self.verify_provider_token(token).await?;
        let client_id = claims.client_id().unwrap_or_default().to_owned();
        if client_id.is_empty() || !allowed.contains(&client_id) {
            return Err(AuthError::ClientNotAllowed(if client_id.is_empty() { "(none)".into() } else { client_id }));
        }
        Ok(ServiceCaller { client_id })
    }

    /// Verifies an RS256/ES256 token signed by the configured provider; returns its claims.
    pub async fn verify_provider_token(&self, token: &str) -> Result<Claims, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        self.verify_with_header(token, header).await
    }

    async fn verify_with_header(&self, token: &str, header: jsonwebtoken::Header) -> Result<Claims, AuthError> {
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        if self.settings.issuer.is_empty() {
            return Err(AuthError::NotConfigured);
        }
        let kid = header.kid.ok_or(AuthError::NoKeyId)?;
        let (algorithm, key) = self.key(&kid).await?;
        if algorithm != header.alg {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        decode_checked(&self.settings, token, &key, algorithm, &self.settings.issuer)
    }

    async fn key(&self, kid: &str) -> Result<(Algorithm, DecodingKey), AuthError> {
        let max_age = Duration::from_secs(self.settings.jwks_cache_secs.max(1));
        if let Some((key, fresh)) = self.cached(kid, max_age) {
            if !fresh {
                // old keys keep working while the provider is away
                let _ = self.refresh().await;
            }
            return Ok(key);
        }
        let refreshed = self.refresh().await;
        match self.cached(kid, max_age) {
            Some((key, _)) => Ok(key),
            None => match refreshed {
                Err(error) if self.no_keys() => Err(error),
                _ => Err(AuthError::UnknownKey),
            },
        }
    }

    fn cached(&self, kid: &str, max_age: Duration) -> Option<((Algorithm, DecodingKey), bool)> {
        let cache = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = cache.keys.get(kid)?.clone();
        Some((key, cache.fetched_at.is_some_and(|at| at.elapsed() < max_age)))
    }

    fn no_keys(&self) -> bool {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).keys.is_empty()
    }

    /// Fetches the JWKS again unless that was tried within `jwks_min_refresh_secs`.
    async fn refresh(&self) -> Result<(), AuthError> {
        let mut state = self.refresh.lock().await;
        let min_interval = Duration::from_secs(self.settings.jwks_min_refresh_secs);
        if state.last_attempt.is_some_and(|at| at.elapsed() < min_interval) {
            return Ok(());
        }
        state.last_attempt = Some(Instant::now());
        let url = match &state.jwks_url {
            Some(url) => url.clone(),
            None => {
                let url = self.jwks_url().await?;
                state.jwks_url = Some(url.clone());
                url
            }
        };
        let fetched = self.fetch_keys(&url).await;
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), jwks_url = %url, "identity provider's signing keys fetched");
                let mut cache = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                *cache = KeyCache { keys, fetched_at: Some(Instant::now()) };
                Ok(())
            }
            Err(error) => {
                tracing::warn!(jwks_url = %url, %error, "identity provider's signing keys could not be fetched");
                Err(error)
            }
        }
    }

    async fn jwks_url(&self) -> Result<String, AuthError> {
        if !self.settings.jwks_url.is_empty() {
            return Ok(self.settings.jwks_url.clone());
        }
        Ok(discover(&self.http, &self.settings.issuer).await?.jwks_uri)
    }

    async fn fetch_keys(&self, url: &str) -> Result<HashMap<String, (Algorithm, DecodingKey)>, AuthError> {
        Ok(signing_keys(&get_json::<serde_json::Value>(&self.http, url).await?))
    }
}

/// A JSON document of the provider; any failure is the provider being unavailable (URL left out of the message).
async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, AuthError> {
    let unavailable = |e: reqwest::Error| AuthError::ProviderUnavailable(e.without_url().to_string());
    http.get(url)
        .send()
        .await
        .map_err(unavailable)?
        .error_for_status()
        .map_err(unavailable)?
        .json()
        .await
        .map_err(unavailable)
}

/// The signing keys of a JWKS document, by `kid`; encryption keys and algorithms other than RS256/ES256 are left out.
pub(crate) fn signing_keys(jwks: &serde_json::Value) -> HashMap<String, (Algorithm, DecodingKey)> {
    let entries = jwks["keys"].as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        // one entry the library cannot read (an unusual `enc` key) must not hide the others
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry).ok())
        .filter(|jwk| matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature)))
        .filter_map(|jwk| {
            let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
                (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
                _ => return None,
            };
            let kid = jwk.common.key_id.clone()?;
            Some((kid, (algorithm, DecodingKey::from_jwk(&jwk).ok()?)))
        })
        .collect()
}

/// The parts of an OpenID Connect discovery document Pasokh uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// Where browsers sign in (authorization code flow)
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Where browsers sign out at the provider (RP-initiated logout)
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// Reads `<issuer>/.well-known/openid-configuration`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, AuthError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let discovery: Discovery = get_json(http, &url).await?;
    if discovery.issuer != issuer {
        return Err(AuthError::ProviderUnavailable(format!(
            "the discovery document names issuer {} instead of {issuer}",
            discovery.issuer
        )));
    }
    Ok(discovery)
}

/// Decodes a token signed with `key` and checks what every token must satisfy, provider's or
/// development's alike: its issuer, this service's audience, `exp`, `nbf`, `iat` and the maximum lifetime.
pub(crate) fn decode_checked(
    settings: &AuthSettings,
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
    issuer: &str,
) -> Result<Claims, AuthError> {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[settings.audience.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = settings.leeway_secs;
    let claims = decode::<Claims>(token, key, &validation).map_err(from_jwt_error)?.claims;
    check_lifetime(settings, &claims, chrono::Utc::now().timestamp())?;
    Ok(claims)
}

/// `iat` not in the future and `exp - iat` within the configured maximum.
pub(crate) fn check_lifetime(settings: &AuthSettings, claims: &Claims, now: i64) -> Result<(), AuthError> {
    let leeway = i64::try_from(settings.leeway_secs).unwrap_or(i64::MAX);
    let max_lifetime = i64::try_from(settings.max_lifetime_secs).unwrap_or(i64::MAX);
    let issued_at = claims.iat.ok_or(AuthError::Malformed)?;
    if issued_at > now.saturating_add(leeway) {
        return Err(AuthError::IssuedInFuture);
    }
    if claims.exp.saturating_sub(issued_at) > max_lifetime {
        return Err(AuthError::TooLongLived(settings.max_lifetime_secs));
    }
    Ok(())
}

pub(crate) fn from_jwt_error(error: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidSignature => AuthError::Signature,
        ErrorKind::InvalidAlgorithm => AuthError::Algorithm("mismatch".into()),
        _ => AuthError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Audience;

    fn claims(iat: i64, exp: i64) -> Claims {
        Claims {
            sub: "s".into(),
            iss: "i".into(),
            aud: Audience::One("a".into()),
            exp,
            iat: Some(iat),
            nbf: None,
            azp: None,
            preferred_username: None,
            role: None,
            province: None,
            organisation: None,
            permissions: vec![],
        }
    }

    #[test]
    fn lifetime_and_issue_time_are_bounded() {
        let settings = AuthSettings::for_audience("a");
        let now = 1_000_000;
        assert_eq!(check_lifetime(&settings, &claims(now, now + 300), now), Ok(()));
        assert_eq!(check_lifetime(&settings, &claims(now, now + 3601), now), Err(AuthError::TooLongLived(3600)));
        assert_eq!(check_lifetime(&settings, &claims(now + 31, now + 300), now), Err(AuthError::IssuedInFuture));
        let mut no_iat = claims(now, now + 1);
        no_iat.iat = None;
        assert_eq!(check_lifetime(&settings, &no_iat, now), Err(AuthError::Malformed));
        // extreme values saturate instead of overflowing
        assert_eq!(check_lifetime(&settings, &claims(i64::MIN, i64::MAX), now), Err(AuthError::TooLongLived(3600)));
    }

    #[test]
    fn only_signing_keys_of_accepted_algorithms_are_kept() {
        // the shape of Keycloak's JWKS: an RS256 signing key and an RSA-OAEP encryption key
        let n = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";
        let jwks = serde_json::json!({"keys": [
            {"kid": "sig-1", "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"},
            {"kid": "enc-1", "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": n, "e": "AQAB"},
            {"kid": "hs", "kty": "oct", "alg": "HS256", "k": "c2VjcmV0"}
        ]});
        let keys = signing_keys(&jwks);
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["sig-1"]);
        assert_eq!(keys["sig-1"].0, Algorithm::RS256);
    }
}
