//! The second factor: TOTP (RFC 6238, through totp-rs) with recovery codes,
//! per tenant and per user — a guest enrols at the resource tenant
//! separately from any enrolment at home. Codes are checked within ±1 step,
//! a used step is never accepted again, and wrong codes lock the account
//! for a while (`protocol::throttle`).

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::TotpMethod;
use crate::model::{Tenant, User};
use crate::signin::throttle;
use crate::util::{now, random_token, sha256_hex};
use crate::vault::context;

const STEP: u64 = 30;
const RECOVERY_CODES: usize = 8;

fn totp(secret_b32: &str, tenant: &Tenant, user: &User) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().map_err(|e| Error::Internal(format!("stored TOTP secret: {e:?}")))?;
    // The issuer and account label what the authenticator app shows.
    let account = user.email.replace(':', "");
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, bytes, Some(tenant.display_name.replace(':', "")), account)
        .map_err(|e| Error::Internal(format!("TOTP parameters: {e}")))
}

/// A fresh 160-bit secret, base32 (RFC 4226's recommended size).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

/// What the enrolment page shows: the key, the otpauth URL and its QR code (SVG).
pub struct Enrolment {
    pub secret: String,
    pub url: String,
    pub qr_svg: String,
}

pub fn enrolment(tenant: &Tenant, user: &User, secret: &str) -> Result<Enrolment> {
    let url = totp(secret, tenant, user)?.get_url();
    let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).build();
    Ok(Enrolment { secret: secret.to_string(), url, qr_svg })
}

/// The time step `code` belongs to, if it is valid now (±1 step) and newer than `last_step`.
fn matching_step(totp: &TOTP, code: &str, last_step: u64) -> Option<u64> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let current = now / STEP;
    let code = code.trim();
    (current.saturating_sub(1)..=current + 1)
        .filter(|step| *step > last_step)
        .find(|step| bool::from(totp.generate(step * STEP).as_bytes().ct_eq(code.as_bytes())))
}

/// Refuses while the account, or the source address, is locked out by wrong codes.
pub async fn locked(idp: &Idp, tenant: &Tenant, user: &User, source: &str) -> Result<()> {
    throttle::check(idp, &throttle::SECOND_FACTOR, &tenant.id, &user.id, source).await
}

async fn reserve(idp: &Idp, tenant: &Tenant, user: &User, source: &str) -> Result<throttle::Attempt> {
    throttle::reserve(idp, &throttle::SECOND_FACTOR, &tenant.id, &user.id, source).await
}

/// Finishes enrolment: the first code proves the app holds the secret.
/// Returns the recovery codes, shown once.
pub async fn enrol(idp: &Idp, tenant: &Tenant, user: &User, secret: &str, code: &str, source: &str) -> Result<Option<Vec<String>>> {
    enrol_replacing(idp, tenant, user, None, secret, code, source).await
}

/// [`enrol`] in place of the app `replacing` (by its id), which the person
/// proved they hold when they asked for a new one; `None` when they have
/// none. An app other than that one means the page is stale: refused.
pub async fn enrol_replacing(
    idp: &Idp,
    tenant: &Tenant,
    user: &User,
    replacing: Option<&str>,
    secret: &str,
    code: &str,
    source: &str,
) -> Result<Option<Vec<String>>> {
    if user.totp.as_ref().map(|m| m.id.as_str()) != replacing {
        // An enrolment page left open must not replace an app enrolled since.
        return Err(Error::Conflict("An authenticator app is already set up for this account. Start the sign-in again.".into()));
    }
    let attempt = reserve(idp, tenant, user, source).await?;
    let totp = totp(secret, tenant, user)?;
    let step = matching_step(&totp, code, 0);
    attempt.finish(idp, step.is_some()).await?;
    let Some(step) = step else { return Ok(None) };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| random_token()[..12].to_string()).collect();
    let mut updated = user.clone();
    updated.totp = Some(TotpMethod {
        id: uuid::Uuid::new_v4().to_string(),
        secret: idp.vault.seal(secret, &context::totp(&tenant.id, &user.id))?,
        last_step: step,
        recovery_hashes: codes.iter().map(|c| sha256_hex(c)).collect(),
        created_at: now(),
    });
    updated.touched();
    if !idp.store.replace_user(user.version, &updated).await? {
        return Err(Error::Conflict("Your account changed meanwhile. Start the sign-in again.".into()));
    }
    tracing::info!(tenant = %tenant.id, user = %user.id, "authenticator app enrolled");
    Ok(Some(codes))
}

/// Checks a code from the enrolled app. The step is recorded with a
/// compare-and-swap, so one code cannot be used twice, even concurrently.
pub async fn verify(idp: &Idp, tenant: &Tenant, user: &User, code: &str, source: &str) -> Result<bool> {
    let Some(method) = &user.totp else { return Ok(false) };
    let attempt = reserve(idp, tenant, user, source).await?;
    let secret = idp.vault.open(&method.secret, &context::totp(&tenant.id, &user.id))?;
    let step = matching_step(&totp(secret.expose(), tenant, user)?, code, method.last_step);
    attempt.finish(idp, step.is_some()).await?;
    let Some(step) = step else { return Ok(false) };
    // Record the step over the current record: another change of the user
    // meanwhile (a rekey, an admin edit) is no reason to refuse the code,
    // but a use of this step (or a later one) or a new authenticator is.
    let mut read = user.clone();
    for _ in 0..8 {
        let mut updated = read.clone();
        match updated.totp.as_mut() {
            Some(m) if m.id == method.id && m.last_step < step => m.last_step = step,
            _ => return Ok(false),
        }
        updated.touched();
        if idp.store.replace_user(read.version, &updated).await? {
            return Ok(true);
        }
        let Some(current) = idp.store.user(&tenant.id, &user.id).await? else { return Ok(false) };
        read = current;
    }
    Ok(false)
}

/// A recovery code removes the lost authenticator: the user enrols a new one.
pub async fn recover(idp: &Idp, tenant: &Tenant, user: &User, code: &str, source: &str) -> Result<bool> {
    let done = use_recovery_code(idp, tenant, user, code, source, |updated| updated.totp = None).await?;
    if done {
        tracing::info!(tenant = %tenant.id, user = %user.id, "authenticator removed with a recovery code");
    }
    Ok(done)
}

/// Spends one recovery code and keeps the authenticator: for replacing it
/// with a new one, which only then takes its place (`enrol_replacing`).
pub async fn spend_recovery_code(idp: &Idp, tenant: &Tenant, user: &User, code: &str, source: &str) -> Result<bool> {
    let hash = sha256_hex(code.trim());
    use_recovery_code(idp, tenant, user, code, source, |updated| {
        if let Some(method) = updated.totp.as_mut() {
            method.recovery_hashes.retain(|h| *h != hash);
        }
    })
    .await
}

/// Checks `code` against the user's recovery codes (throttled like any
/// second factor) and, if it is one, applies `change` to the user.
async fn use_recovery_code(
    idp: &Idp,
    tenant: &Tenant,
    user: &User,
    code: &str,
    source: &str,
    change: impl FnOnce(&mut User),
) -> Result<bool> {
    let attempt = reserve(idp, tenant, user, source).await?;
    let hash = sha256_hex(code.trim());
    let known = user.totp.as_ref().is_some_and(|m| m.recovery_hashes.iter().any(|h| bool::from(h.as_bytes().ct_eq(hash.as_bytes()))));
    attempt.finish(idp, known).await?;
    if !known {
        return Ok(false);
    }
    let mut updated = user.clone();
    change(&mut updated);
    updated.touched();
    Ok(idp.store.replace_user(user.version, &updated).await?)
}
