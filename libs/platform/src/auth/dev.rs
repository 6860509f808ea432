//! HS256 development tokens: `pasokhctl token` mints them, a service accepts
//! them only with `auth.dev_tokens.enabled`, and never on internal RPCs. The
//! key is shared and its default is public, which is why production refuses them.
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use super::{Audience, AuthError, AuthSettings, Claims};

/// Development tokens claim to come from this issuer, so they can never pass for a provider's.
pub const DEV_ISSUER: &str = "urn:pasokh:development";

/// Signs `claims` with the development key.
pub fn mint(claims: &Claims, key: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("dev".into());
    encode(&header, claims, &EncodingKey::from_secret(key.as_bytes())).unwrap_or_default()
}

/// Claims of a development token for `audience`, valid `ttl_secs` from now.
pub fn claims(
    sub: &str,
    role: &str,
    province: &str,
    organisation: &str,
    permissions: &[&str],
    audience: &str,
    ttl_secs: i64,
) -> Claims {
    let now = chrono::Utc::now().timestamp();
    let text = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    Claims {
        sub: sub.to_owned(),
        iss: DEV_ISSUER.into(),
        aud: Audience::One(audience.to_owned()),
        exp: now + ttl_secs,
        iat: Some(now),
        nbf: None,
        azp: Some("pasokhctl".into()),
        preferred_username: Some(sub.to_owned()),
        role: text(role),
        province: text(province),
        organisation: text(organisation),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

pub(crate) fn verify(settings: &AuthSettings, token: &str) -> Result<Claims, AuthError> {
    let key = jsonwebtoken::DecodingKey::from_secret(settings.dev_tokens.key.expose().as_bytes());
    super::verify::decode_checked(settings, token, &key, Algorithm::HS256, DEV_ISSUER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{DEV_KEY, TokenVerifier};

    fn settings(enabled: bool) -> AuthSettings {
        let mut settings = AuthSettings::for_audience("pasokh-routing");
        settings.dev_tokens.enabled = enabled;
        settings
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[tokio::test]
    async fn development_tokens_pass_only_where_turned_on() {
        let token = mint(&claims("op", "operator", "IR-23", "", &[], "pasokh-routing", 600), DEV_KEY);
        let on = TokenVerifier::new(settings(true));
        assert_eq!(on.staff(Some(&bearer(&token))).await.unwrap().name, "op");
        let off = TokenVerifier::new(settings(false));
        assert_eq!(off.staff(Some(&bearer(&token))).await.unwrap_err(), AuthError::Algorithm("HS256".into()));
        // never as a service token, even where development tokens are on
        let allowed = ["pasokhctl".to_owned()].into();
        assert_eq!(
            on.service(Some(&bearer(&token)), &allowed).await.unwrap_err(),
            AuthError::Algorithm("HS256".into())
        );
    }

    #[tokio::test]
    async fn tampered_expired_foreign_and_overlong_development_tokens_are_refused() {
        let verifier = TokenVerifier::new(settings(true));
        let check = |token: String| {
            let verifier = &verifier;
            async move { verifier.staff(Some(&bearer(&token))).await.unwrap_err() }
        };
        let good = claims("op", "operator", "IR-23", "", &[], "pasokh-routing", 600);
        assert_eq!(check(mint(&good, "another-key")).await, AuthError::Signature);
        let expired = claims("op", "operator", "IR-23", "", &[], "pasokh-routing", -600);
        assert_eq!(check(mint(&expired, DEV_KEY)).await, AuthError::Expired);
        let foreign = claims("op", "operator", "IR-23", "", &[], "pasokh-intake", 600);
        assert_eq!(check(mint(&foreign, DEV_KEY)).await, AuthError::WrongAudience);
        let overlong = claims("op", "operator", "IR-23", "", &[], "pasokh-routing", 48 * 3600);
        assert_eq!(check(mint(&overlong, DEV_KEY)).await, AuthError::TooLongLived(3600));
        let mut other_issuer = good.clone();
        other_issuer.iss = "https://evil.example".into();
        assert_eq!(check(mint(&other_issuer, DEV_KEY)).await, AuthError::WrongIssuer);
        assert_eq!(check("not-a-token".into()).await, AuthError::Malformed);
        let unsigned = format!("{}.{}.", "eyJhbGciOiJub25lIn0", mint(&good, DEV_KEY).split('.').nth(1).unwrap());
        assert_eq!(check(unsigned).await, AuthError::Malformed);
    }
}
