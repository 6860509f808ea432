use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::national_id::NationalId;

/// The secret that turns national ids into `CitizenRef`s; only intake holds it.
#[derive(Clone)]
pub struct CitizenRefKey(Vec<u8>);

impl CitizenRefKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self(secret.as_ref().to_vec())
    }
}

impl fmt::Debug for CitizenRefKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CitizenRefKey(redacted)")
    }
}

/// A stable pseudonym for a citizen: HMAC-SHA256 of the national id under a
/// secret key. Events carry this instead of the national id, so consumers can
/// group one citizen's petitions without learning who the citizen is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CitizenRef(String);

impl CitizenRef {
    pub fn derive(key: &CitizenRefKey, national_id: &NationalId) -> Self {
        // HMAC accepts keys of any length, so this cannot fail
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"));
        mac.update(b"pasokh.citizen_ref.v1:");
        mac.update(national_id.as_str().as_bytes());
        Self(hex::encode(mac.finalize().into_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_key_same_ref_and_no_trace_of_the_id() {
        let key = CitizenRefKey::new("k1");
        let id = NationalId::parse("0499370899").unwrap();
        let a = CitizenRef::derive(&key, &id);
        assert_eq!(a, CitizenRef::derive(&key, &id));
        assert_eq!(a.as_str().len(), 64);
        assert!(!a.as_str().contains("0499370899"));
        assert_ne!(a, CitizenRef::derive(&CitizenRefKey::new("k2"), &id));
        assert_ne!(a, CitizenRef::derive(&key, &NationalId::parse("0084575948").unwrap()));
    }
}
