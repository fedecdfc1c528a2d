//! argon2id for human passwords. Hashing runs on the blocking pool behind a
//! semaphore sized to the cores, so a login storm queues instead of starving
//! the async workers (discovery and JWKS stay fast) or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::PasswordConfig;
use crate::error::{Error, Result};

pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so unknown and known
    /// accounts take the same time.
    decoy: OnceCell<String>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("password hashing: {e}"))
}

impl PasswordHasher {
    pub fn new(config: &PasswordConfig) -> Result<PasswordHasher> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| Error::Invalid(format!("passwords: {e}")))?;
        let permits = match config.max_concurrent {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        Ok(PasswordHasher { params, permits: Arc::new(Semaphore::new(permits)), decoy: OnceCell::new() })
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(internal)?;
        tokio::task::spawn_blocking(job).await.map_err(internal)
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_string();
        self.run(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(internal)
    }

    /// True only if `hash` exists and matches. Costs one hash either way.
    pub async fn verify(&self, hash: Option<&str>, password: &str) -> Result<bool> {
        let known = hash.is_some();
        let hash = match hash {
            Some(h) => h.to_string(),
            None => self.decoy.get_or_try_init(|| self.hash("decoy")).await?.clone(),
        };
        let password = password.to_string();
        let matches = self
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && matches)
    }
}
