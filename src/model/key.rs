//! Signing keys as the store keeps them.

use jsonwebtoken::jwk::Jwk;
use serde::{Deserialize, Serialize};

use crate::model::Protected;

/// JWS algorithms tokens can be signed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    #[default]
    ES256,
    RS256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Generated,
    File,
}

/// A signing key as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    pub tenant_id: String,
    pub kid: String,
    pub alg: Alg,
    /// Base64 DER in the form jsonwebtoken signs with (PKCS#8 for EC,
    /// PKCS#1 for RSA), sealed.
    pub private_der: Protected,
    pub public_jwk: Jwk,
    pub source: KeySource,
    pub created_at: i64,
    /// Set when a newer key took over; the key stays published for a grace period.
    pub retired_at: Option<i64>,
}
