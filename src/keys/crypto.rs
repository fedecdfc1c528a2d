//! jsonwebtoken's crypto provider, on ring (the backend rustls uses here
//! too), with each signing key parsed once.
//!
//! jsonwebtoken asks its provider for a fresh signer on every `encode`; its
//! stock providers parse the private key each time, and for P-256 that parse
//! recomputes the public point: as costly as a third of the signature itself
//! (the benchmark measured 34k vs 56k ES256 signatures/s on one core). The
//! signer here looks the parsed key up by its DER bytes instead.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_2048_8192_SHA256,
};

/// The algorithms this server signs with (see [`super::Alg`]); it verifies
/// those and PS256, which client assertions may use (MSAL's certificates).
static PROVIDER: CryptoProvider =
    CryptoProvider { signer_factory: signer, verifier_factory: verifier, key_utils: KeyUtils::new_unimplemented() };

/// Makes this the process's jsonwebtoken provider; later calls are no-ops.
pub fn install() {
    // Err only means it is installed already (by an earlier call).
    let _ = PROVIDER.install_default();
}

enum ParsedKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// Parsed signing keys by their DER bytes. Keys are few (two per tenant,
/// plus retired ones until a restart), so nothing is ever evicted.
static PARSED: LazyLock<RwLock<HashMap<Vec<u8>, Arc<ParsedKey>>>> = LazyLock::new(Default::default);

fn parsed(alg: Algorithm, der: &[u8]) -> Result<Arc<ParsedKey>, Error> {
    if let Some(key) = PARSED.read().unwrap_or_else(|p| p.into_inner()).get(der) {
        return Ok(key.clone());
    }
    let key = Arc::new(match alg {
        Algorithm::ES256 => ParsedKey::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map_err(|_| Error::from(ErrorKind::InvalidEcdsaKey))?,
        ),
        Algorithm::RS256 => ParsedKey::Rsa(RsaKeyPair::from_der(der).map_err(|e| Error::from(ErrorKind::InvalidRsaKey(e.to_string())))?),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    });
    PARSED.write().unwrap_or_else(|p| p.into_inner()).insert(der.to_vec(), key.clone());
    Ok(key)
}

struct Signer {
    alg: Algorithm,
    key: Arc<ParsedKey>,
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    if key.family() != alg.family() {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Signer { alg: *alg, key: parsed(*alg, key.as_bytes())? }))
}

impl signature::Signer<Vec<u8>> for Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let rng = SystemRandom::new();
        match self.key.as_ref() {
            ParsedKey::Ec(pair) => Ok(pair.sign(&rng, message).map_err(|_| signature::Error::new())?.as_ref().to_vec()),
            ParsedKey::Rsa(pair) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut out).map_err(|_| signature::Error::new())?;
                Ok(out)
            }
        }
    }
}

impl JwtSigner for Signer {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

struct Verifier {
    alg: Algorithm,
    key: DecodingKey,
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if !matches!(alg, Algorithm::ES256 | Algorithm::RS256 | Algorithm::PS256) || key.family() != alg.family() {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Verifier { alg: *alg, key: key.clone() }))
}

impl signature::Verifier<Vec<u8>> for Verifier {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (self.alg, self.key.kind()) {
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, sig)
            }
            (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, sig)
            }
            (Algorithm::RS256, DecodingKeyKind::SecretOrDer(der)) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).verify(message, sig)
            }
            (Algorithm::PS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PSS_2048_8192_SHA256, message, sig)
            }
            _ => Err(ring::error::Unspecified),
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Verifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}
