//! Secrets at rest: signing keys, TOTP secrets, external providers' client
//! secrets and server secrets are sealed before the store sees them, so a
//! copied data directory or database dump gives none of them away.
//!
//! Envelope encryption with AES-256-GCM (ring): each secret is sealed with
//! a random data key of its own, bound to the record it belongs to (the
//! `context`, AEAD associated data), and the data key is sealed with the
//! key-encryption key from config. `b2b-idp store rekey` re-seals data keys
//! under a new key-encryption key; the secrets themselves are not touched.

pub mod rekey;

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::config::StoreConfig;
use crate::model::{Envelope, Protected};
use crate::util::Secret;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a secret is sealed with key-encryption key {0}, which is not configured (store.encryption_key, store.old_encryption_keys)")]
    UnknownKey(String),
    #[error("a sealed secret does not open: it was altered, or moved from another record")]
    Tampered,
    #[error("no key-encryption key is configured to seal with (store.encryption_key)")]
    NoKey,
    #[error("{0}")]
    Config(String),
}

/// One key-encryption key.
struct Kek {
    id: String,
    key: LessSafeKey,
}

impl Kek {
    fn new(bytes: &[u8; 32]) -> Result<Kek, VaultError> {
        use sha2::{Digest, Sha256};
        let id = hex::encode(&Sha256::digest([b"b2b-idp kek ".as_slice(), bytes].concat())[..8]);
        Ok(Kek { id, key: aes_key(bytes)? })
    }
}

fn aes_key(bytes: &[u8; 32]) -> Result<LessSafeKey, VaultError> {
    UnboundKey::new(&AES_256_GCM, bytes).map(LessSafeKey::new).map_err(|_| VaultError::Config("AES-256-GCM refused a key".into()))
}

/// A random nonce for every message: each data key seals one secret, and
/// key-encryption keys seal few enough data keys for 96-bit random nonces.
fn seal_with(key: &LessSafeKey, plain: &[u8], context: &[u8]) -> Result<String, VaultError> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
        .map_err(|_| VaultError::Config("a secret too large to seal".into()))?;
    Ok(STANDARD_NO_PAD.encode([nonce.as_slice(), &sealed].concat()))
}

fn open_with(key: &LessSafeKey, sealed: &str, context: &[u8]) -> Result<Vec<u8>, VaultError> {
    let bytes = STANDARD_NO_PAD.decode(sealed).map_err(|_| VaultError::Tampered)?;
    if bytes.len() < NONCE_LEN {
        return Err(VaultError::Tampered);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Tampered)?;
    let mut buffer = sealed.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(context), &mut buffer).map_err(|_| VaultError::Tampered)?;
    Ok(plain.to_vec())
}

/// What the store's secrets are bound to: a secret sealed for one record
/// does not open as another's.
pub mod context {
    pub fn signing_key(tenant_id: &str, kid: &str) -> String {
        format!("signing-key\0{tenant_id}\0{kid}")
    }
    pub fn totp(tenant_id: &str, user_id: &str) -> String {
        format!("totp\0{tenant_id}\0{user_id}")
    }
    pub fn client_secret(tenant_id: &str, issuer: &str) -> String {
        format!("idp-client-secret\0{tenant_id}\0{issuer}")
    }
    pub fn server_secret(name: &str) -> String {
        format!("server-secret\0{name}")
    }
}

/// Seals and opens secrets at rest.
pub struct Vault {
    /// Seals new secrets; None keeps them in clear (`store.allow_plaintext_secrets`).
    sealing: Option<Kek>,
    /// Only opens: earlier keys, and a generated key beside the sled data.
    opening: Vec<Kek>,
}

impl Vault {
    /// Seals with `sealing` (in clear without one); opens with it and `also_opens`.
    pub fn new(sealing: Option<&[u8; 32]>, also_opens: &[[u8; 32]]) -> Result<Vault, VaultError> {
        Ok(Vault { sealing: sealing.map(Kek::new).transpose()?, opening: also_opens.iter().map(Kek::new).collect::<Result<_, _>>()? })
    }

    /// The vault config describes. On sled without `store.encryption_key`,
    /// the key lives beside the data (`{store.path}.key`, created with mode
    /// 0600 on first use); PostgreSQL has no such place (`Config::validate`
    /// insists on a key unless clear secrets are allowed).
    pub fn from_config(store: &StoreConfig) -> Result<Vault, VaultError> {
        let (configured, mut old) = configured_keys(store)?;
        if store.url.is_some() {
            return Vault::new(configured.as_ref(), &old);
        }
        let path = generated_key_path(store);
        match configured {
            Some(configured) => {
                // Still opens what was sealed before a key was configured.
                old.extend(read_key_file(&path)?);
                Vault::new(Some(&configured), &old)
            }
            None => {
                let generated = match read_key_file(&path)? {
                    Some(generated) => generated,
                    None => create_key_file(&path)?,
                };
                tracing::warn!(
                    key_file = %path.display(),
                    "secrets at rest are sealed with a key kept beside the data; set store.encryption_key (or B2B_IDP__STORE__ENCRYPTION_KEY_FILE) to keep it elsewhere"
                );
                Vault::new(Some(&generated), &old)
            }
        }
    }

    /// For `b2b-idp store rekey`: seals with `new`, opens with every key
    /// config knows (its key, its old keys, a generated key beside sled data).
    pub fn rekeying(store: &StoreConfig, new: &[u8; 32]) -> Result<Vault, VaultError> {
        let (configured, old) = configured_keys(store)?;
        let mut known: Vec<[u8; 32]> = configured.into_iter().chain(old).collect();
        if store.url.is_none() {
            known.extend(read_key_file(&generated_key_path(store))?);
        }
        Vault::new(Some(new), &known)
    }

    /// Names the sealing key (a hash, never the key) for reports.
    pub fn sealing_key_id(&self) -> Option<&str> {
        self.sealing.as_ref().map(|k| k.id.as_str())
    }

    /// Seals `plain` for the record `context` names (in clear without a key).
    pub fn seal(&self, plain: &str, context: &str) -> Result<Protected, VaultError> {
        let Some(kek) = &self.sealing else { return Ok(Protected::Plain(plain.to_string())) };
        let dek: [u8; 32] = rand::random();
        let data = seal_with(&aes_key(&dek)?, plain.as_bytes(), context.as_bytes())?;
        Ok(Protected::Sealed(Envelope { kek: kek.id.clone(), dek: seal_with(&kek.key, &dek, kek.id.as_bytes())?, data }))
    }

    pub fn open(&self, protected: &Protected, context: &str) -> Result<Secret, VaultError> {
        match protected {
            Protected::Plain(plain) => Ok(Secret(plain.clone())),
            Protected::Sealed(envelope) => {
                let dek = self.data_key(envelope)?;
                let plain = open_with(&aes_key(&dek)?, &envelope.data, context.as_bytes())?;
                String::from_utf8(plain).map(Secret).map_err(|_| VaultError::Tampered)
            }
        }
    }

    fn data_key(&self, envelope: &Envelope) -> Result<[u8; 32], VaultError> {
        let kek = self
            .sealing
            .iter()
            .chain(&self.opening)
            .find(|k| k.id == envelope.kek)
            .ok_or_else(|| VaultError::UnknownKey(envelope.kek.clone()))?;
        open_with(&kek.key, &envelope.dek, kek.id.as_bytes())?.try_into().map_err(|_| VaultError::Tampered)
    }

    /// The secret sealed under the sealing key, if it is not already: a
    /// sealed one gets its data key re-sealed, one in clear is sealed.
    /// Checks that the secret opens either way.
    pub fn reseal(&self, protected: &Protected, context: &str) -> Result<Option<Protected>, VaultError> {
        let kek = self.sealing.as_ref().ok_or(VaultError::NoKey)?;
        match protected {
            Protected::Sealed(envelope) if envelope.kek == kek.id => {
                self.open(protected, context)?;
                Ok(None)
            }
            Protected::Sealed(envelope) => {
                self.open(protected, context)?;
                let dek = self.data_key(envelope)?;
                let dek = seal_with(&kek.key, &dek, kek.id.as_bytes())?;
                Ok(Some(Protected::Sealed(Envelope { kek: kek.id.clone(), dek, data: envelope.data.clone() })))
            }
            Protected::Plain(plain) => self.seal(plain, context).map(Some),
        }
    }

    /// A server secret (bytes) as the store keeps it.
    pub fn seal_bytes(&self, value: &[u8], context: &str) -> Result<Vec<u8>, VaultError> {
        let sealed = self.seal(&STANDARD_NO_PAD.encode(value), context)?;
        serde_json::to_vec(&sealed).map_err(|e| VaultError::Config(e.to_string()))
    }

    /// Whether `stored` (a server secret) was written before secrets were sealed.
    pub fn is_plain_bytes(stored: &[u8]) -> bool {
        !matches!(serde_json::from_slice::<Protected>(stored), Ok(Protected::Sealed(_)))
    }

    /// Opens what `seal_bytes` stored; bytes stored before 0.6.2 are the secret itself.
    pub fn open_bytes(&self, stored: &[u8], context: &str) -> Result<Vec<u8>, VaultError> {
        match serde_json::from_slice::<Protected>(stored) {
            Ok(protected) => STANDARD_NO_PAD.decode(self.open(&protected, context)?.expose()).map_err(|_| VaultError::Tampered),
            Err(_) => Ok(stored.to_vec()),
        }
    }
}

/// A key-encryption key's 32 bytes.
type KeyBytes = [u8; 32];

/// `store.encryption_key` and `store.old_encryption_keys`, decoded; an
/// error names the setting.
fn configured_keys(store: &StoreConfig) -> Result<(Option<KeyBytes>, Vec<KeyBytes>), VaultError> {
    let key =
        |setting: &str, value: &Secret| crate::config::encryption_key(value).map_err(|e| VaultError::Config(format!("{setting}: {e}")));
    let configured = store.encryption_key.as_ref().map(|k| key("store.encryption_key", k)).transpose()?;
    let old = store.old_encryption_keys.iter().map(|k| key("store.old_encryption_keys", k)).collect::<Result<_, _>>()?;
    Ok((configured, old))
}

/// `{store.path}.key`: beside the sled directory, not inside it (also
/// for a path written with a trailing `/`).
pub fn generated_key_path(store: &StoreConfig) -> PathBuf {
    let mut path = store.path.components().collect::<PathBuf>().into_os_string();
    path.push(".key");
    PathBuf::from(path)
}

fn key_file_error(path: &Path, e: impl std::fmt::Display) -> VaultError {
    VaultError::Config(format!("key file {}: {e}", path.display()))
}

fn read_key_file(path: &Path) -> Result<Option<[u8; 32]>, VaultError> {
    match std::fs::read_to_string(path) {
        Ok(text) => crate::config::encryption_key(&Secret(text)).map(Some).map_err(|e| key_file_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(key_file_error(path, e)),
    }
}

fn create_key_file(path: &Path) -> Result<[u8; 32], VaultError> {
    let key: [u8; 32] = rand::random();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| key_file_error(parent, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| key_file_error(path, e))?;
    file.write_all(format!("{}\n", base64::engine::general_purpose::STANDARD.encode(key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| key_file_error(path, e))?;
    tracing::info!(key_file = %path.display(), "generated a key-encryption key for secrets at rest");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_record_and_with_their_key() {
        let (one, two) = ([1u8; 32], [2u8; 32]);
        let vault = Vault::new(Some(&one), &[]).unwrap();
        let sealed = vault.seal("JBSWY3DPEHPK3PXP", &context::totp("t", "u")).unwrap();
        assert!(!serde_json::to_string(&sealed).unwrap().contains("JBSWY3DP"), "not in clear");
        assert_eq!(vault.open(&sealed, &context::totp("t", "u")).unwrap().expose(), "JBSWY3DPEHPK3PXP");
        assert!(matches!(vault.open(&sealed, &context::totp("t", "other")), Err(VaultError::Tampered)), "bound to its record");
        assert!(matches!(Vault::new(Some(&two), &[]).unwrap().open(&sealed, &context::totp("t", "u")), Err(VaultError::UnknownKey(_))));

        // Rekey: the new key seals, the old one still opens until everything moved.
        let moving = Vault::new(Some(&two), &[one]).unwrap();
        let moved = moving.reseal(&sealed, &context::totp("t", "u")).unwrap().expect("re-sealed");
        assert_eq!(moving.reseal(&moved, &context::totp("t", "u")).unwrap(), None, "already under the new key");
        let after = Vault::new(Some(&two), &[]).unwrap();
        assert_eq!(after.open(&moved, &context::totp("t", "u")).unwrap().expose(), "JBSWY3DPEHPK3PXP");
        let plain = Protected::Plain("clear".into());
        let sealed_now = after.reseal(&plain, "c").unwrap().expect("sealed");
        assert_eq!(after.open(&sealed_now, "c").unwrap().expose(), "clear");

        let mut altered = moved.clone();
        if let Protected::Sealed(e) = &mut altered {
            e.data = after.seal("other", &context::totp("t", "u")).unwrap().envelope_data();
        }
        assert!(after.open(&altered, &context::totp("t", "u")).is_err(), "data from another envelope");
    }

    #[test]
    fn the_generated_key_is_beside_the_data_whatever_the_path_looks_like() {
        for path in ["data", "data/", "/var/lib/b2b-idp/data//"] {
            let store = StoreConfig { path: path.into(), ..StoreConfig::default() };
            let key = generated_key_path(&store);
            assert!(key.to_string_lossy().ends_with("data.key"), "{path} → {}", key.display());
        }
    }

    #[test]
    fn server_secrets_from_before_sealing_still_open() {
        let vault = Vault::new(Some(&[3u8; 32]), &[]).unwrap();
        let stored = vault.seal_bytes(&[9u8; 32], "s").unwrap();
        assert_eq!(vault.open_bytes(&stored, "s").unwrap(), vec![9u8; 32]);
        assert_eq!(vault.open_bytes(&[7u8; 32], "s").unwrap(), vec![7u8; 32], "raw bytes of 0.6.1");
        assert!(Vault::is_plain_bytes(&[7u8; 32]) && !Vault::is_plain_bytes(&stored));
        let clear = Vault::new(None, &[]).unwrap();
        assert_eq!(clear.open_bytes(&clear.seal_bytes(b"k", "s").unwrap(), "s").unwrap(), b"k");
    }

    impl Protected {
        fn envelope_data(&self) -> String {
            match self {
                Protected::Sealed(e) => e.data.clone(),
                Protected::Plain(p) => p.clone(),
            }
        }
    }
}
