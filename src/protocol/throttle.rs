//! Attempt limits for secrets people type (passwords, second-factor codes):
//! per account, an attempt is reserved atomically *before* the check, so
//! parallel guesses get no more tries than sequential ones, and a success
//! clears the count; per source address (within the tenant), failures are
//! counted, so a busy but honest address is never locked.

use crate::error::{Error, Result};
use crate::idp::Idp;

pub const WINDOW_SECS: i64 = 900;

/// One kind of secret: its account and source limits.
pub struct Limits {
    pub kind: &'static str,
    pub per_account: u32,
    pub per_source: u32,
    pub locked: &'static str,
}

pub const PASSWORD: Limits = Limits {
    kind: "pwd",
    per_account: 10,
    per_source: 50,
    locked: "Too many failed sign-ins. Wait 15 minutes and try again.",
};

pub const SECOND_FACTOR: Limits = Limits {
    kind: "mfa",
    per_account: 5,
    per_source: 50,
    locked: "Too many wrong codes. This account's second factor is locked for 15 minutes.",
};

/// An attempt in progress; report its result with `succeeded` or `failed`.
pub struct Attempt {
    account: String,
    source: String,
}

/// Reserves an attempt for `account` (e.g. tenant and user) from `source`,
/// or refuses while either is locked out.
pub async fn reserve(idp: &Idp, limits: &Limits, tenant_id: &str, account: &str, source: &str) -> Result<Attempt> {
    let attempt = Attempt {
        account: format!("{}-acct|{tenant_id}|{account}", limits.kind),
        source: format!("{}-src|{tenant_id}|{source}", limits.kind),
    };
    let locked = || Error::TooManyAttempts(limits.locked.into());
    if idp.store.peek_counter(&attempt.source).await? >= limits.per_source {
        return Err(locked());
    }
    if idp.store.bump_counter(&attempt.account, WINDOW_SECS).await? > limits.per_account {
        return Err(locked());
    }
    Ok(attempt)
}

impl Attempt {
    pub async fn succeeded(self, idp: &Idp) -> Result<()> {
        Ok(idp.store.reset_counter(&self.account).await?)
    }

    pub async fn failed(self, idp: &Idp) -> Result<()> {
        idp.store.bump_counter(&self.source, WINDOW_SECS).await?;
        Ok(())
    }

    /// Done either way.
    pub async fn finish(self, idp: &Idp, ok: bool) -> Result<()> {
        if ok {
            self.succeeded(idp).await
        } else {
            self.failed(idp).await
        }
    }
}
