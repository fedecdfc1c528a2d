//! The public keys applications register for `private_key_jwt`: an X.509
//! certificate (PEM or DER, as MSAL's certificate credential uses) or a
//! bare JWK, turned into the stored `KeyCredential`. Only RSA of 2048 bits
//! or more and EC P-256 are taken: the algorithms assertions may use.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk, RSAKeyParameters,
    RSAKeyType,
};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::Certificate;

use crate::model::KeyCredential;

/// The largest certificate or JWK taken, in bytes.
pub const MAX_KEY_BYTES: usize = 16 * 1024;
/// NIST SP 800-131A's floor for RSA, and a ceiling that bounds the work
/// of checking an assertion.
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 4096;
/// A JWK has no validity of its own: it holds until it is removed.
const NO_END_MS: i64 = 253_402_300_799_000; // 9999-12-31T23:59:59Z

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// A certificate's public key, validity and thumbprints.
pub fn from_certificate(bytes: &[u8], display_name: Option<String>) -> Result<KeyCredential, String> {
    if bytes.len() > MAX_KEY_BYTES {
        return Err(format!("the certificate is larger than {MAX_KEY_BYTES} bytes"));
    }
    let parsed =
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") { Certificate::from_pem(bytes) } else { Certificate::from_der(bytes) };
    let cert = parsed.map_err(|e| format!("not an X.509 certificate (PEM or DER): {e}"))?;
    let der = cert.to_der().map_err(|e| format!("the certificate does not encode: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let spki = &tbs.subject_public_key_info;
    let algorithm = if spki.algorithm.oid == RSA_ENCRYPTION {
        let spki_der = spki.to_der().map_err(|e| format!("the certificate's public key does not encode: {e}"))?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki_der).map_err(|e| format!("the certificate's RSA key: {e}"))?;
        rsa_parameters(&key.n().to_bytes_be(), &key.e().to_bytes_be())?
    } else if spki.algorithm.oid == EC_PUBLIC_KEY
        && spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok()) == Some(P256)
    {
        let point = spki.subject_public_key.as_bytes().ok_or("the certificate's EC point is not whole bytes")?;
        match point {
            [0x04, xy @ ..] if xy.len() == 64 => p256_parameters(&xy[..32], &xy[32..]),
            _ => return Err("the certificate's P-256 point is not uncompressed".into()),
        }
    } else {
        return Err("the certificate's key is neither RSA nor EC P-256".into());
    };
    let ms = |t: &x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    Ok(KeyCredential {
        key_id: key_id(&der),
        display_name,
        jwk: Jwk { common: CommonParameters::default(), algorithm },
        certificate: Some(STANDARD.encode(&der)),
        x5t: Some(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der))),
        x5t_s256: Some(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &der))),
        start_ms: ms(&tbs.validity.not_before),
        end_ms: ms(&tbs.validity.not_after),
    })
}

/// A bare public JWK (RSA or EC P-256). Its `kid`, if any, is kept so an
/// assertion's `kid` header can name it; a private key is refused.
pub fn from_jwk(value: &serde_json::Value, display_name: Option<String>) -> Result<KeyCredential, String> {
    if value.to_string().len() > MAX_KEY_BYTES {
        return Err(format!("the JWK is larger than {MAX_KEY_BYTES} bytes"));
    }
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|private| value.get(private).is_some()) {
        return Err("the JWK holds a private or symmetric key; register its public part only".into());
    }
    let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|e| format!("not a JWK: {e}"))?;
    let b64 = |field: &str, v: &str| URL_SAFE_NO_PAD.decode(v).map_err(|_| format!("the JWK's {field} is not base64url"));
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => rsa_parameters(&b64("n", &rsa.n)?, &b64("e", &rsa.e)?)?,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            let (x, y) = (b64("x", &ec.x)?, b64("y", &ec.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err("the JWK's P-256 coordinates are not 32 bytes each".into());
            }
            p256_parameters(&x, &y)
        }
        _ => return Err("the JWK is neither RSA nor EC P-256".into()),
    };
    let common = CommonParameters { key_id: jwk.common.key_id.clone(), ..Default::default() };
    let jwk = Jwk { common, algorithm };
    Ok(KeyCredential {
        key_id: key_id(&serde_json::to_vec(&jwk).unwrap_or_default()),
        display_name,
        jwk,
        certificate: None,
        x5t: None,
        x5t_s256: None,
        start_ms: 0,
        end_ms: NO_END_MS,
    })
}

/// A certificate file or a JWK file, by its content (config and the command line).
pub fn from_file(path: &std::path::Path) -> Result<KeyCredential, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let credential = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(jwk) => from_jwk(&jwk, name),
        Err(_) => from_certificate(&bytes, name),
    };
    credential.map_err(|e| format!("{}: {e}", path.display()))
}

/// The same key gets the same id, wherever and however often it is registered.
fn key_id(encoded: &[u8]) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, encoded).to_string()
}

fn rsa_parameters(n: &[u8], e: &[u8]) -> Result<AlgorithmParameters, String> {
    let n = match n {
        [0, rest @ ..] => rest,
        n => n,
    };
    if n.len() * 8 < MIN_RSA_BITS || n.len() * 8 > MAX_RSA_BITS {
        return Err(format!("the RSA key has {} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are taken", n.len() * 8));
    }
    Ok(AlgorithmParameters::RSA(RSAKeyParameters { key_type: RSAKeyType::RSA, n: URL_SAFE_NO_PAD.encode(n), e: URL_SAFE_NO_PAD.encode(e) }))
}

fn p256_parameters(x: &[u8], y: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
        key_type: EllipticCurveKeyType::EC,
        curve: EllipticCurve::P256,
        x: URL_SAFE_NO_PAD.encode(x),
        y: URL_SAFE_NO_PAD.encode(y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p256_certificate_gives_its_key_validity_and_thumbprints() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["daemon.example".into()]).expect("params").self_signed(&key).expect("cert");
        let credential = from_certificate(cert.pem().as_bytes(), None).expect("a P-256 certificate");
        let same = from_certificate(cert.der(), None).expect("the same as DER");
        assert_eq!((credential.jwk.clone(), credential.x5t.clone()), (same.jwk, same.x5t));
        let sha256 = ring::digest::digest(&ring::digest::SHA256, cert.der());
        assert_eq!(credential.x5t_s256, Some(URL_SAFE_NO_PAD.encode(sha256)));
        assert!(credential.start_ms < crate::util::now_ms() && credential.end_ms > crate::util::now_ms());
        let AlgorithmParameters::EllipticCurve(ec) = &credential.jwk.algorithm else { panic!("an EC key") };
        assert_eq!(URL_SAFE_NO_PAD.decode(&ec.x).expect("x").len(), 32);
    }

    #[test]
    fn weak_private_and_foreign_keys_are_refused() {
        assert!(from_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None).is_err());
        assert!(from_certificate(&[0u8; MAX_KEY_BYTES + 1], None).unwrap_err().contains("larger"));
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "kid": "k1"});
        assert_eq!(from_jwk(&ec, None).expect("a public P-256 JWK").jwk.common.key_id.as_deref(), Some("k1"));
        let mut private = ec.clone();
        private["d"] = serde_json::json!(x);
        assert!(from_jwk(&private, None).unwrap_err().contains("private"));
        let small = serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xc5u8; 128]), "e": "AQAB"});
        assert!(from_jwk(&small, None).unwrap_err().contains("1024 bits"));
        let large = serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xc5u8; 1024]), "e": "AQAB"});
        assert!(from_jwk(&large, None).unwrap_err().contains("8192 bits"));
        let p384 = serde_json::json!({"kty": "EC", "crv": "P-384", "x": x, "y": x});
        assert!(from_jwk(&p384, None).is_err());
        assert!(from_jwk(&serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}), None).is_err());
    }
}
