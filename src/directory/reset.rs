//! Self-service password reset for members, by an emailed link. It happens
//! in the user's home tenant only: a guest's password is their home's
//! business, so a resource tenant never resets it.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::i18n;
use crate::idp::Idp;
use crate::model::{Interaction, Purpose, Step};
use crate::model::{Tenant, User};
use crate::util::{now, now_ms, random_token, sha256_hex};

/// A reset link is valid this long.
const LINK_TTL: i64 = 1800;
/// Links mailed per address per hour.
const LINKS_PER_HOUR: u32 = 5;
/// Reset requests per client address per hour, whatever the addresses asked for.
const REQUESTS_PER_SOURCE_HOUR: u32 = 30;

/// Mails a reset link if `email` is a member here with a password. The
/// answer is the same either way, and so is its time: past the per-address
/// limit, the look-up and the mail happen after the answer, in a task of
/// their own (no account discovery by timing).
pub async fn request(idp: &Arc<Idp>, tenant: &Tenant, email: &str, source: &str) -> Result<()> {
    let source = crate::signin::throttle::source_key(source);
    if idp.store.bump_counter(&format!("sspr-src|{}|{source}", tenant.id), 3600).await? > REQUESTS_PER_SOURCE_HOUR {
        return Err(Error::TooManyAttempts(i18n::text("reset-too-many-from-source", &[])));
    }
    let email = crate::util::address::email(email).map_err(|_| Error::Invalid(i18n::text("error-enter-email", &[])))?;
    if idp.store.bump_counter(&format!("sspr|{}|{}", tenant.id, sha256_hex(&email)), 3600).await? > LINKS_PER_HOUR {
        return Err(Error::TooManyAttempts(i18n::text("reset-too-many", &[])));
    }
    let (idp, tenant) = (idp.clone(), tenant.clone());
    // In the language of the page that asked (the task below is not the request's).
    let lang = crate::i18n::current();
    tokio::spawn(async move {
        if let Err(e) = send_link(&idp, &tenant, &email, lang).await {
            tracing::warn!(tenant = %tenant.id, error = %crate::util::error_chain(&e), "password reset link not sent");
        }
    });
    Ok(())
}

async fn send_link(idp: &Idp, tenant: &Tenant, email: &str, lang: crate::i18n::Lang) -> Result<()> {
    let user = idp.store.user_by_email(&tenant.id, email).await?;
    let Some(user) = user.filter(|u| u.enabled && u.external.is_none() && u.password_hash.is_some()) else {
        tracing::info!(tenant = %tenant.id, "password reset asked for an address that is not a member with a password");
        return Ok(());
    };
    let token = random_token();
    let link = Interaction {
        id: sha256_hex(&token),
        tenant_id: tenant.id.clone(),
        browser: String::new(),
        purpose: Purpose::PasswordReset { user_id: user.id.clone() },
        step: Step::ResetLink,
        expires_at: now() + LINK_TTL,
    };
    idp.store.put_interaction(&link).await?;
    let url = format!("{}?token={token}", idp.tenant_url(tenant, "password/reset"));
    idp.mailer.password_reset(tenant, lang, &user.email, &url, LINK_TTL / 60).await?;
    tracing::info!(tenant = %tenant.id, user = %user.id, "password reset link sent");
    Ok(())
}

/// The member a link token stands for, if it is live.
pub async fn holder(idp: &Idp, tenant: &Tenant, token: &str) -> Result<User> {
    let gone = || Error::Invalid(i18n::text("reset-link-gone", &[]));
    let link = idp.store.interaction(&sha256_hex(token)).await?.ok_or_else(gone)?;
    let (Purpose::PasswordReset { user_id }, Step::ResetLink) = (&link.purpose, &link.step) else { return Err(gone()) };
    if link.tenant_id != tenant.id || link.expires_at < now() {
        return Err(gone());
    }
    idp.store.user(&tenant.id, user_id).await?.filter(|u| u.enabled).ok_or_else(gone)
}

/// Sets the new password, spends the link (once, even under concurrent
/// posts) and signs the user out everywhere.
/// `source` is the client address: its password lockout is lifted.
pub async fn complete(idp: &Idp, tenant: &Tenant, token: &str, password: &str, source: &str) -> Result<()> {
    let holder = holder(idp, tenant, token).await?;
    crate::passwords::check_policy(password, &holder.email)?;
    let link = sha256_hex(token);
    if idp.store.bump_counter(&format!("sspr-spent|{link}"), LINK_TTL).await? > 1 {
        return Err(Error::Invalid(i18n::text("reset-link-used", &[])));
    }
    idp.store.delete_interaction(&link).await?;
    let hash = idp.passwords.hash(password).await?;
    // Write over the current record, not the one read before the slow hash.
    loop {
        let mut user = idp.store.user(&tenant.id, &holder.id).await?.ok_or_else(|| Error::Invalid(i18n::text("account-gone", &[])))?;
        let read = user.version;
        user.password_hash = Some(hash.clone());
        user.sessions_valid_from_ms = now_ms();
        user.touched();
        if idp.store.replace_user(read, &user).await? {
            break;
        }
    }
    crate::signin::session::end_all_of_user(idp, &tenant.id, &holder.id).await;
    crate::signin::throttle::clear(idp, &crate::signin::throttle::PASSWORD, &tenant.id, &holder.email, source).await?;
    tracing::info!(tenant = %tenant.id, user = %holder.id, "password reset");
    Ok(())
}
