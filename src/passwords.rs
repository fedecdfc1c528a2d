//! argon2id for human passwords, on a few threads of its own.
//!
//! Why not tokio's blocking pool: a fresh 19 MiB argon2 buffer per hash cost
//! a fifth of every login in page faults and zeroing, and each blocking
//! thread kept its own copy (RSS grew by hundreds of MiB in a login storm).
//! Here each hashing thread reuses one buffer; there are as many threads as
//! `passwords.max_concurrent` (default: one per core), which bounds memory; a
//! storm queues instead of starving the async workers. The threads also run
//! at a lower priority, so discovery, JWKS and token requests are served
//! first and hashing takes the CPU time that is left.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{oneshot, OnceCell};

use crate::config::PasswordConfig;
use crate::error::{Error, Result};

/// Password length bounds, the one policy for every way a password is set
/// (admin API, config, self-service reset).
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Refuses a new password outside the policy: its length, and never the
/// account's own address, nor the name before its `@` alone (the first
/// guesses of anyone who knows the address).
pub fn check_policy(password: &str, email: &str) -> Result<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(format!("Use at least {MIN_PASSWORD_CHARS} characters.")));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(Error::Invalid(format!("Use at most {MAX_PASSWORD_CHARS} characters.")));
    }
    let (lowered, email) = (password.to_lowercase(), email.to_lowercase());
    let local = email.split('@').next().unwrap_or_default();
    // An empty address (none known) is in every string: it refuses nothing.
    if !email.is_empty() && (lowered.contains(&email) || lowered == local) {
        return Err(Error::Invalid("Do not use your email address, or the name before its @, as your password.".into()));
    }
    Ok(())
}

/// Work for a hashing thread, given that thread's reusable argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

pub struct PasswordHasher {
    params: Params,
    jobs: mpsc::Sender<Job>,
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
        let threads = match config.max_concurrent {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        Ok(PasswordHasher { jobs: spawn_threads(threads, params.block_count())?, params, decoy: OnceCell::new() })
    }

    /// Runs `job` on a hashing thread. A job whose caller went away while it
    /// waited (the request was dropped) is skipped.
    async fn run<T: Send + 'static>(&self, job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> Result<T> {
        let (done, result) = oneshot::channel();
        let queued = std::time::Instant::now();
        metrics::gauge!("b2b_idp_argon2_queue_depth").increment(1.0);
        let job: Job = Box::new(move |memory| {
            metrics::gauge!("b2b_idp_argon2_queue_depth").decrement(1.0);
            metrics::histogram!("b2b_idp_argon2_wait_seconds").record(queued.elapsed().as_secs_f64());
            if !done.is_closed() {
                let _ = done.send(job(memory));
            }
        });
        self.jobs.send(job).map_err(internal)?;
        result.await.map_err(internal)
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_string();
        self.run(move |memory| -> argon2::password_hash::Result<String> {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            let mut salt_bytes = [0u8; 64];
            let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            hash_into(&argon2, memory, password.as_bytes(), salt_bytes, &mut out)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params)?,
                salt: Some(salt.as_salt()),
                hash: Some(Output::new(&out)?),
            };
            Ok(phc.to_string())
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
        let matches = self.run(move |memory| verify_phc(memory, &hash, password.as_bytes()).unwrap_or(false)).await?;
        Ok(known && matches)
    }
}

/// Recomputes a PHC-format argon2 hash (any variant, version and
/// parameters it names) and compares in constant time (`Output`'s `==`).
fn verify_phc(memory: &mut Vec<Block>, phc: &str, password: &[u8]) -> argon2::password_hash::Result<bool> {
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut out = vec![0u8; expected.len()];
    hash_into(&Argon2::new(algorithm, version, params), memory, password, salt_bytes, &mut out)?;
    Ok(Output::new(&out)? == expected)
}

/// argon2 into `out` with the thread's memory, grown when a stored hash asks
/// for more than it holds.
fn hash_into(argon2: &Argon2, memory: &mut Vec<Block>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// The hashing threads; they end when the returned sender is dropped.
fn spawn_threads(count: usize, blocks: usize) -> Result<mpsc::Sender<Job>> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..count.max(1) {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                lower_priority();
                // Allocated by the first hash: an idle server stays small.
                let mut memory = Vec::new();
                loop {
                    let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    // A panicking job loses its answer (the caller sees an
                    // internal error), not the thread.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                    if memory.len() > blocks {
                        // A stored hash with larger parameters: give it back.
                        memory.truncate(blocks);
                        memory.shrink_to_fit();
                    }
                }
            })
            .map_err(internal)?;
    }
    Ok(jobs)
}

/// Niceness 10 for the calling thread only (on Linux, `setpriority` with a
/// thread id applies to that thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread, no memory involved.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[test]
    fn the_policy_refuses_short_long_and_the_address() {
        let email = "alice@contoso.example";
        assert!(check_policy("Alice-Passw0rd", email).is_ok(), "the name inside a longer password is fine");
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        for refused in ["short", &long, "My-ALICE@Contoso.Example!"] {
            assert!(check_policy(refused, email).is_err(), "{refused}");
        }
        assert!(check_policy("alicealice", "alicealice@contoso.example").is_err(), "the name before the @ alone");
        assert!(check_policy("Alice-Passw0rd", "").is_ok(), "no address, no address rule");
    }

    fn small() -> PasswordConfig {
        PasswordConfig { memory_kib: 64, iterations: 1, parallelism: 1, max_concurrent: 1 }
    }

    /// Hashes stored before the hashing threads (made by the argon2 crate's
    /// own `hash_password`) still verify, and ours verify with the crate.
    #[tokio::test]
    async fn compatible_with_the_argon2_crate_both_ways() {
        let hasher = PasswordHasher::new(&small()).expect("hasher");
        let params = Params::new(256, 2, 1, None).expect("params");
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"correct horse", &salt).expect("hash").to_string();
        assert!(hasher.verify(Some(&theirs), "correct horse").await.expect("verify"));
        assert!(!hasher.verify(Some(&theirs), "correct horsf").await.expect("verify"));

        let ours = hasher.hash("battery staple").await.expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).expect("PHC string");
        assert!(Argon2::default().verify_password(b"battery staple", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"battery stapler", &parsed).is_err());
        // Unknown accounts and garbage cost a hash and never match.
        assert!(!hasher.verify(None, "decoy").await.expect("verify"));
        assert!(!hasher.verify(Some("not a hash"), "x").await.expect("verify"));
    }
}
