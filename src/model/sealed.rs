//! Secrets as the store keeps them (signing keys, TOTP secrets, external
//! providers' client secrets, server secrets): sealed by `vault`, or in
//! clear where they were written before 0.6.2 or where config allows it.

use serde::{Deserialize, Serialize};

/// A secret at rest. Untagged, so a record written in clear (a string)
/// still reads; `b2b-idp store rekey` seals it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Protected {
    Sealed(Envelope),
    /// In clear: from config, from before 0.6.2, or `store.allow_plaintext_secrets`.
    Plain(String),
}

/// Envelope encryption: `data` is sealed with a key of its own (the data
/// key), and that key is sealed with the key-encryption key `kek`. A new
/// key-encryption key re-seals only the data key. Both base64, each the
/// AEAD nonce followed by the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Identifies the key-encryption key (a hash of it, never the key).
    pub kek: String,
    pub dek: String,
    pub data: String,
}

impl std::fmt::Debug for Protected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protected::Sealed(envelope) => write!(f, "Sealed({})", envelope.kek),
            Protected::Plain(_) => f.write_str("Plain(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_records_from_before_sealing_still_read() {
        assert_eq!(serde_json::from_str::<Protected>("\"JBSWY3DP\"").ok(), Some(Protected::Plain("JBSWY3DP".into())));
        let sealed = Protected::Sealed(Envelope { kek: "k".into(), dek: "d".into(), data: "x".into() });
        let text = serde_json::to_string(&sealed).unwrap();
        assert_eq!(serde_json::from_str::<Protected>(&text).ok(), Some(sealed));
        assert!(!format!("{:?}", Protected::Plain("JBSWY3DP".into())).contains("JBSWY3DP"));
    }
}
