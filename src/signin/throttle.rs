//! Attempt limits for secrets people type (passwords, second-factor codes),
//! modelled on Entra's smart lockout: a stranger guessing at an account
//! must not lock its owner out.
//!
//! - Per (account, source address): the lockout. An attempt is reserved
//!   atomically *before* the check, so parallel guesses get no more tries
//!   than sequential ones; a success clears it.
//! - Per source address (within the tenant): all accounts together, also
//!   reserved before the check and given back on success, so a busy but
//!   honest address is never locked and a flood cannot overshoot.
//! - Per account, from every source: for passwords never a lockout, only
//!   a growing delay before each check once failures pile up; for second
//!   factors (whose guesser already has the password) a lockout too.
//!
//! The source is the client address after `server.trusted_proxies`; an
//! IPv6 address counts as its /64, the block one host usually holds.
//! Accounts appear in keys as hashes, so a key's size is bounded whatever
//! was typed.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::util::sha256_hex;

pub const WINDOW_SECS: i64 = 900;

/// One kind of secret: its limits.
pub struct Limits {
    pub kind: &'static str,
    /// Tries per account from one source.
    pub per_account: u32,
    /// Failed tries per source, all accounts together.
    pub per_source: u32,
    /// Failed tries per account from all sources that lock it (none: only delay).
    pub account_lock: Option<u32>,
    pub locked: &'static str,
}

pub const PASSWORD: Limits = Limits {
    kind: "pwd",
    per_account: 10,
    per_source: 50,
    account_lock: None,
    locked: "Too many failed sign-ins. Wait 15 minutes and try again.",
};

pub const SECOND_FACTOR: Limits = Limits {
    kind: "mfa",
    per_account: 5,
    per_source: 50,
    account_lock: Some(15),
    locked: "Too many wrong codes. This account's second factor is locked for 15 minutes.",
};

/// The account-wide delay: none up to `per_account` failures from all
/// sources, then 250 ms doubling per further failure, at most 8 s.
pub fn account_delay(limits: &Limits, failures: u32) -> Duration {
    let Some(excess) = failures.checked_sub(limits.per_account) else { return Duration::ZERO };
    Duration::from_millis(250u64 << excess.min(5))
}

/// An attempt in progress; report its result with `finish`.
pub struct Attempt {
    kind: &'static str,
    /// Tries from this source at this account so far, this one included.
    tries: u32,
    per_account: u32,
    account_lock: Option<u32>,
    pair: String,
    source: String,
    account: String,
}

/// Whether one more record of `kind` may wait in the store, counted for
/// `window_secs` within the bounds of waiting sign-ins: per client
/// address (`server.pending_sign_ins_per_source`), then per tenant
/// (`pending_sign_ins_total`). For what waits by itself and is never
/// given back (pushed requests, device grants), unlike sign-ins.
pub async fn admit_waiting(idp: &Idp, kind: &str, tenant_id: &str, source: &str, window_secs: i64) -> Result<bool> {
    let server = &idp.config.server;
    for (key, bound) in [
        (format!("{kind}|{tenant_id}|{}", source_key(source)), server.pending_sign_ins_per_source),
        (format!("{kind}|{tenant_id}"), server.pending_sign_ins_total),
    ] {
        if idp.store.bump_counter(&key, window_secs).await? > bound {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A source as throttles count it: an IPv4 address, or an IPv6 /64.
pub fn source_key(source: &str) -> String {
    match source.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        _ => source.to_string(),
    }
}

fn keys(limits: &Limits, tenant_id: &str, account: &str, source: &str) -> Attempt {
    let (kind, account, source) = (limits.kind, sha256_hex(account), source_key(source));
    Attempt {
        kind: limits.kind,
        tries: 0,
        per_account: limits.per_account,
        account_lock: limits.account_lock,
        pair: format!("{kind}-pair|{tenant_id}|{account}|{source}"),
        source: format!("{kind}-src|{tenant_id}|{source}"),
        account: format!("{kind}-acct|{tenant_id}|{account}"),
    }
}

/// Refuses while `account` is locked for `source`, or `source` is locked.
pub async fn check(idp: &Idp, limits: &Limits, tenant_id: &str, account: &str, source: &str) -> Result<()> {
    let k = keys(limits, tenant_id, account, source);
    let account_locked = match limits.account_lock {
        Some(lock) => idp.store.peek_counter(&k.account).await? >= lock,
        None => false,
    };
    if account_locked
        || idp.store.peek_counter(&k.pair).await? >= limits.per_account
        || idp.store.peek_counter(&k.source).await? >= limits.per_source
    {
        return Err(Error::TooManyAttempts(limits.locked.into()));
    }
    Ok(())
}

/// Reserves an attempt for `account` (e.g. tenant and user) from `source`,
/// or refuses while either is locked out; waits the account-wide delay.
/// The source is reserved first, so a locked source creates no new records.
pub async fn reserve(idp: &Idp, limits: &Limits, tenant_id: &str, account: &str, source: &str) -> Result<Attempt> {
    let mut attempt = keys(limits, tenant_id, account, source);
    let locked = || Error::TooManyAttempts(limits.locked.into());
    if idp.store.bump_counter(&attempt.source, WINDOW_SECS).await? > limits.per_source {
        return Err(locked());
    }
    let pair = idp.store.bump_counter(&attempt.pair, WINDOW_SECS).await?;
    attempt.tries = pair;
    let failures = idp.store.peek_counter(&attempt.account).await?;
    if pair > limits.per_account || limits.account_lock.is_some_and(|lock| failures >= lock) {
        idp.store.release_counter(&attempt.source).await?;
        return Err(locked());
    }
    let delay = account_delay(limits, failures);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(attempt)
}

/// Lifts `account`'s locks as seen from `source` (its owner proved who they
/// are another way, e.g. by a password reset).
pub async fn clear(idp: &Idp, limits: &Limits, tenant_id: &str, account: &str, source: &str) -> Result<()> {
    let k = keys(limits, tenant_id, account, source);
    idp.store.reset_counter(&k.pair).await?;
    Ok(idp.store.reset_counter(&k.account).await?)
}

/// Lifts every lock on `account` (from every source) for `limits`: an
/// admin's unlock. Returns how many counters were cleared.
pub async fn unlock(idp: &Idp, limits: &Limits, tenant_id: &str, account: &str) -> Result<u64> {
    let k = keys(limits, tenant_id, account, "");
    // The pair key ends with the source: its prefix covers every source.
    let cleared = idp.store.reset_counters(&k.pair).await?;
    idp.store.reset_counter(&k.account).await?;
    Ok(cleared)
}

impl Attempt {
    /// Done either way: a success clears the account's counts and gives the
    /// source its try back; a failure counts against the account.
    pub async fn finish(self, idp: &Idp, ok: bool) -> Result<()> {
        if ok {
            idp.store.reset_counter(&self.pair).await?;
            idp.store.reset_counter(&self.account).await?;
            idp.store.release_counter(&self.source).await?;
        } else {
            let failures = idp.store.bump_counter(&self.account, WINDOW_SECS).await?;
            let kind = if self.kind == PASSWORD.kind { "password" } else { "mfa" };
            if self.tries == self.per_account {
                crate::telemetry::lockout_started(
                    kind,
                    WINDOW_SECS as u64,
                    &format!("{kind} locked for one source: {} failed tries", self.tries),
                );
            }
            if self.account_lock == Some(failures) {
                crate::telemetry::lockout_started(
                    kind,
                    WINDOW_SECS as u64,
                    &format!("{kind} locked for the account: {failures} failed tries"),
                );
            }
        }
        Ok(())
    }
}
