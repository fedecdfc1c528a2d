//! Per-tenant signing keys: generation, operator-supplied PEM keys,
//! rotation, the published JWKS, and a cache that signs and verifies.
//!
//! `kid` is the RFC 7638 thumbprint of the public key, so the same key always
//! has the same id, wherever it was loaded from.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters,
};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::Alg;
use crate::model::KeySource;
use crate::model::Protected;
use crate::model::StoredKey;
use crate::store::{Store, StoreError};
use crate::util::now;
use crate::vault::{context, Vault, VaultError};

pub mod client_keys;
mod crypto;
pub use crypto::install as install_crypto;

impl Alg {
    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("tenant has no active {0:?} signing key")]
    NoActiveKey(Alg),
    #[error("token is signed with an unknown key")]
    UnknownKey,
    #[error("token is of another type")]
    WrongType,
    #[error("token rejected: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    #[error("key material: {0}")]
    Material(String),
}

fn material(e: impl std::fmt::Display) -> KeyError {
    KeyError::Material(e.to_string())
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexical order.
fn thumbprint(params: &AlgorithmParameters) -> String {
    use sha2::{Digest, Sha256};
    let canonical = match params {
        AlgorithmParameters::EllipticCurve(ec) => serde_json::json!({
            "crv": "P-256", "kty": "EC", "x": ec.x, "y": ec.y
        }),
        AlgorithmParameters::RSA(rsa) => serde_json::json!({"e": rsa.e, "kty": "RSA", "n": rsa.n}),
        _ => serde_json::Value::Null,
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn stored(tenant_id: &str, alg: Alg, private_der: &[u8], params: AlgorithmParameters, source: KeySource) -> StoredKey {
    let kid = thumbprint(&params);
    let key_algorithm = match alg {
        Alg::ES256 => KeyAlgorithm::ES256,
        Alg::RS256 => KeyAlgorithm::RS256,
    };
    StoredKey {
        tenant_id: tenant_id.to_string(),
        kid: kid.clone(),
        alg,
        // Sealed when installed (`install`).
        private_der: Protected::Plain(STANDARD.encode(private_der)),
        public_jwk: Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(key_algorithm),
                key_id: Some(kid),
                ..Default::default()
            },
            algorithm: params,
        },
        source,
        created_at: now(),
        retired_at: None,
    }
}

fn ec_key(tenant_id: &str, pkcs8: &[u8], source: KeySource) -> Result<StoredKey, KeyError> {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &ring::rand::SystemRandom::new()).map_err(material)?;
    // Uncompressed SEC1 point: 0x04 || x || y.
    let point = pair.public_key().as_ref();
    let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
        curve: EllipticCurve::P256,
        x: URL_SAFE_NO_PAD.encode(&point[1..33]),
        y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        ..Default::default()
    });
    Ok(stored(tenant_id, Alg::ES256, pkcs8, params, source))
}

fn rsa_key(tenant_id: &str, key: &rsa::RsaPrivateKey, source: KeySource) -> Result<StoredKey, KeyError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let params = AlgorithmParameters::RSA(RSAKeyParameters {
        n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        ..Default::default()
    });
    let der = key.to_pkcs1_der().map_err(material)?;
    Ok(stored(tenant_id, Alg::RS256, der.as_bytes(), params, source))
}

/// A fresh key pair for a tenant.
pub fn generate(tenant_id: &str, alg: Alg) -> Result<StoredKey, KeyError> {
    match alg {
        Alg::ES256 => {
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(material)?;
            ec_key(tenant_id, pkcs8.as_ref(), KeySource::Generated)
        }
        Alg::RS256 => {
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(material)?;
            rsa_key(tenant_id, &key, KeySource::Generated)
        }
    }
}

/// Reads an operator-supplied PKCS#8 PEM file (P-256 or RSA).
pub fn from_pem_file(tenant_id: &str, path: &Path) -> Result<StoredKey, KeyError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    let der = PrivatePkcs8KeyDer::from_pem_file(path).map_err(|e| KeyError::Material(format!("{}: {e}", path.display())))?;
    let der = der.secret_pkcs8_der();
    if let Ok(key) = ec_key(tenant_id, der, KeySource::File) {
        return Ok(key);
    }
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
        .map_err(|_| KeyError::Material(format!("{}: not a PKCS#8 P-256 or RSA private key", path.display())))?;
    rsa_key(tenant_id, &key, KeySource::File)
}

/// The key currently signing for `alg`: the newest unretired one.
fn active(keys: &[StoredKey], alg: Alg) -> Option<&StoredKey> {
    keys.iter().filter(|k| k.alg == alg && k.retired_at.is_none()).max_by_key(|k| k.created_at)
}

/// Adds `key` as the active key for its algorithm (its private part
/// sealed); older ones retire.
pub async fn install(store: &dyn Store, vault: &Vault, key: &StoredKey) -> Result<(), KeyError> {
    let existing = store.keys(&key.tenant_id).await?;
    if existing.iter().any(|k| k.kid == key.kid) {
        return Ok(());
    }
    let plain = vault.open(&key.private_der, &context::signing_key(&key.tenant_id, &key.kid))?;
    let sealed = StoredKey { private_der: vault.seal(plain.expose(), &context::signing_key(&key.tenant_id, &key.kid))?, ..key.clone() };
    // The new key is stored before the old one retires: never a moment without one.
    store.put_key(&sealed).await?;
    let when = now();
    for old in existing.into_iter().filter(|k| k.alg == key.alg && k.retired_at.is_none()) {
        retire(store, old, when).await?;
    }
    Ok(())
}

/// Marks a key retired by compare-and-swap, so a concurrent change of it
/// (a rekey re-sealing its private part) is kept, not written over.
async fn retire(store: &dyn Store, mut read: StoredKey, when: i64) -> Result<(), KeyError> {
    for _ in 0..8 {
        let next = StoredKey { retired_at: Some(when), ..read.clone() };
        if store.replace_key(&read, &next).await? {
            return Ok(());
        }
        match store.keys(&read.tenant_id).await?.into_iter().find(|k| k.kid == read.kid) {
            Some(current) if current.retired_at.is_none() => read = current,
            _ => return Ok(()),
        }
    }
    Err(KeyError::Material(format!("key {} kept changing while it was retired", read.kid)))
}

/// Generates a key for `alg` unless the tenant already has an active one.
pub async fn ensure_active(store: &dyn Store, vault: &Vault, tenant_id: &str, alg: Alg) -> Result<(), KeyError> {
    if active(&store.keys(tenant_id).await?, alg).is_none() {
        install(store, vault, &generate(tenant_id, alg)?).await?;
    }
    Ok(())
}

/// Every tenant publishes an active key of each algorithm: RS256 is the one
/// every OIDC relying party must support (OIDC Core 15.1), ES256 the
/// default; a client picks RS256 by its registration.
pub async fn ensure_all(store: &dyn Store, vault: &Vault, tenant_id: &str) -> Result<(), KeyError> {
    for alg in [Alg::ES256, Alg::RS256] {
        ensure_active(store, vault, tenant_id, alg).await?;
    }
    Ok(())
}

/// `keys rotate`: a new active key; the old one stays published until the
/// tokens it signed have expired.
pub async fn rotate(store: &dyn Store, vault: &Vault, tenant_id: &str, alg: Alg) -> Result<StoredKey, KeyError> {
    let key = generate(tenant_id, alg)?;
    install(store, vault, &key).await?;
    Ok(key)
}

struct LiveKey {
    stored: StoredKey,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
}

struct TenantKeys {
    loaded: Instant,
    keys: Vec<LiveKey>,
}

/// Signs and verifies with each tenant's keys, re-reading them from the store
/// at most every `refresh` (and at once when a token names an unknown kid).
pub struct KeyRing {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    refresh: Duration,
    /// How long a retired key stays published: the longest token lifetime.
    grace: i64,
    cache: RwLock<HashMap<String, Arc<TenantKeys>>>,
}

impl KeyRing {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>, refresh: Duration, grace: i64) -> KeyRing {
        crypto::install();
        KeyRing { store, vault, refresh, grace, cache: RwLock::new(HashMap::new()) }
    }

    async fn load(&self, tenant_id: &str) -> Result<Arc<TenantKeys>, KeyError> {
        let mut keys = Vec::new();
        for stored in self.store.keys(tenant_id).await? {
            // Only active keys sign: a retired key's private part stays sealed.
            let encoding = match stored.retired_at {
                Some(_) => None,
                None => {
                    let der = self.vault.open(&stored.private_der, &context::signing_key(&stored.tenant_id, &stored.kid))?;
                    let der = STANDARD.decode(der.expose()).map_err(material)?;
                    Some(match stored.alg {
                        Alg::ES256 => EncodingKey::from_ec_der(&der),
                        Alg::RS256 => EncodingKey::from_rsa_der(&der),
                    })
                }
            };
            let decoding = DecodingKey::from_jwk(&stored.public_jwk)?;
            keys.push(LiveKey { stored, encoding, decoding });
        }
        let loaded = Arc::new(TenantKeys { loaded: Instant::now(), keys });
        self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(tenant_id.to_string(), loaded.clone());
        Ok(loaded)
    }

    async fn tenant_keys(&self, tenant_id: &str, max_age: Duration) -> Result<Arc<TenantKeys>, KeyError> {
        let cached = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(tenant_id).cloned();
        match cached {
            Some(keys) if keys.loaded.elapsed() < max_age => Ok(keys),
            _ => self.load(tenant_id).await,
        }
    }

    /// Forgets cached keys (after a rotation made by this process).
    pub fn invalidate(&self, tenant_id: &str) {
        self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(tenant_id);
    }

    /// A compact JWS over `claims` with the tenant's active key for `alg`.
    pub async fn sign<T: Serialize>(&self, tenant_id: &str, alg: Alg, typ: &str, claims: &T) -> Result<String, KeyError> {
        let keys = self.tenant_keys(tenant_id, self.refresh).await?;
        let live = keys
            .keys
            .iter()
            .filter(|k| k.stored.alg == alg && k.encoding.is_some())
            .max_by_key(|k| k.stored.created_at)
            .ok_or(KeyError::NoActiveKey(alg))?;
        let mut header = Header::new(alg.jwt());
        header.kid = Some(live.stored.kid.clone());
        header.typ = Some(typ.to_string());
        let encoding = live.encoding.as_ref().ok_or(KeyError::NoActiveKey(alg))?;
        Ok(jsonwebtoken::encode(&header, claims, encoding)?)
    }

    /// Verifies the header's `typ`, the signature (with a published key only),
    /// `iss` and (unless `check_exp` is off) `exp`/`nbf`. Audience is the
    /// caller's business: it differs per use.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        tenant_id: &str,
        token: &str,
        typ: &str,
        issuer: &str,
        check_exp: bool,
    ) -> Result<T, KeyError> {
        let header = jsonwebtoken::decode_header(token)?;
        if !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(typ)) {
            return Err(KeyError::WrongType);
        }
        let kid = header.kid.ok_or(KeyError::UnknownKey)?;
        let cutoff = now() - self.grace;
        let published = |k: &&LiveKey| k.stored.kid == kid && k.stored.retired_at.is_none_or(|at| at > cutoff);
        let mut keys = self.tenant_keys(tenant_id, self.refresh).await?;
        if !keys.keys.iter().any(|k| published(&k)) {
            // Perhaps another instance rotated just now.
            keys = self.tenant_keys(tenant_id, Duration::from_secs(1)).await?;
        }
        let live = keys.keys.iter().find(published).ok_or(KeyError::UnknownKey)?;
        let mut validation = Validation::new(live.stored.alg.jwt());
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.validate_exp = check_exp;
        validation.validate_nbf = check_exp;
        validation.leeway = 30;
        if !check_exp {
            validation.required_spec_claims.remove("exp");
        }
        Ok(jsonwebtoken::decode::<T>(token, &live.decoding, &validation)?.claims)
    }

    /// The published key set: active keys and those retired within the grace period.
    pub async fn jwks(&self, tenant_id: &str) -> Result<JwkSet, KeyError> {
        let keys = self.tenant_keys(tenant_id, self.refresh).await?;
        // The same rule as `verify`: what is published is what verifies.
        let cutoff = now() - self.grace;
        Ok(JwkSet {
            keys: keys
                .keys
                .iter()
                .filter(|k| k.stored.retired_at.is_none_or(|at| at > cutoff))
                .map(|k| k.stored.public_jwk.clone())
                .collect(),
        })
    }
}
