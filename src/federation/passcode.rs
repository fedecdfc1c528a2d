//! Email one-time passcode, for people with no organisation of their own.
//! The first redemption creates a just-in-time ("viral") tenant for their
//! domain, with them as a member, so `home_tid` is always set.

use rand::Rng;
use subtle::ConstantTimeEq;

use crate::audit::signin::{code, step, Subject};
use crate::error::{Error, Result};
use crate::federation::{finish, interaction, Next};
use crate::i18n;
use crate::idp::Idp;
use crate::keys;
use crate::model::{HomeAccount, HomeMethod};
use crate::model::{Interaction, Purpose, Step};
use crate::model::{Tenant, User, UserType};
use crate::signin::log;
use crate::store::StoreError;
use crate::util::{email_domain, now, random_token, sha256_hex};

/// Codes mailed to one address per hour, whoever asks (a mail bomb and a
/// brute-force amplifier otherwise).
const SENDS_PER_HOUR: u32 = 10;
const HOUR: i64 = 3600;

fn code_hash(interaction_id: &str, code: &str) -> String {
    sha256_hex(&format!("{interaction_id}\0{code}"))
}

/// Mails a fresh 8-digit code and asks for it.
pub async fn send(idp: &Idp, tenant: &Tenant, purpose: Purpose, email: &str, browser: &str) -> Result<Next> {
    if idp.store.bump_counter(&format!("otp-sent|{}|{email}", tenant.id), HOUR).await? > SENDS_PER_HOUR {
        return Err(Error::TooManyAttempts("Too many codes were sent to this address. Try again in an hour.".into()));
    }
    let id = random_token();
    let code = format!("{:08}", rand::thread_rng().gen_range(0..100_000_000u32));
    let interaction = Interaction {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        browser: sha256_hex(browser),
        purpose,
        step: Step::Passcode { email: email.to_string(), code_hash: code_hash(&id, &code) },
        expires_at: now() + idp.config.b2b.otp_ttl_secs,
    };
    idp.store.put_interaction(&interaction).await?;
    idp.mailer.passcode(tenant, crate::i18n::current(), email, &code, idp.config.b2b.otp_ttl_secs / 60).await?;
    tracing::info!(tenant = %tenant.id, "one-time passcode sent");
    Ok(Next::Passcode { interaction_id: id, email: email.to_string(), attempts_left: None, resent: false })
}

/// "Send a new code": the waiting code is void and a fresh one is mailed,
/// within the same per-address limit as the first.
pub async fn resend(idp: &Idp, tenant: &Tenant, id: &str, browser: &str) -> Result<Next> {
    let ix = interaction(idp, tenant, id, browser).await?;
    let Step::Passcode { email, .. } = &ix.step else {
        return Err(Error::Invalid(i18n::text("step-out-of-order", &[])));
    };
    let email = email.clone();
    // The new code first: when it cannot be sent (the hourly limit), the
    // waiting one still works.
    let next = send(idp, tenant, ix.purpose.clone(), &email, browser).await?;
    idp.store.delete_interaction(&ix.id).await?;
    match next {
        Next::Passcode { interaction_id, email, .. } => Ok(Next::Passcode { interaction_id, email, attempts_left: None, resent: true }),
        other => Ok(other),
    }
}

/// Checks a typed passcode. Every try is counted atomically before the
/// comparison, so parallel guesses get no more tries than sequential ones;
/// when they are used up the code is void. Wrong codes also count per
/// address across codes.
pub async fn check(idp: &Idp, tenant: &Tenant, id: &str, browser: &str, typed: &str) -> Result<Next> {
    let ix = interaction(idp, tenant, id, browser).await?;
    let Step::Passcode { email, code_hash: expected } = &ix.step else {
        return Err(Error::Invalid(i18n::text("step-out-of-order", &[])));
    };
    let email = email.clone();
    if typed.trim().is_empty() {
        // Nothing typed is no guess: it costs no attempt.
        return Ok(Next::Passcode { interaction_id: ix.id, email, attempts_left: None, resent: false });
    }
    let max = idp.config.b2b.otp_max_attempts;
    let tries = idp.store.bump_counter(&format!("otp-try|{}", ix.id), idp.config.b2b.otp_ttl_secs).await?;
    let void = || Error::TooManyAttempts("Too many wrong codes. Start again to get a new code.".into());
    if tries > max {
        idp.store.delete_interaction(&ix.id).await?;
        return Err(void());
    }
    let matches: bool = code_hash(&ix.id, typed.trim()).as_bytes().ct_eq(expected.as_bytes()).into();
    if !matches {
        let wrong = idp.store.bump_counter(&format!("otp-wrong|{}|{email}", tenant.id), HOUR).await?;
        if tries == max || wrong > max.saturating_mul(3) {
            idp.store.delete_interaction(&ix.id).await?;
            return Err(void());
        }
        tracing::warn!(tenant = %tenant.id, tries, "wrong one-time passcode");
        if let Purpose::SignIn { request_id, user_id } = &ix.purpose {
            if let Some(user) = idp.store.user(&tenant.id, user_id).await? {
                let step = step("Email one-time passcode", "", false, false, "Wrong passcode");
                log::failed(idp, tenant, Subject::user(&user), request_id, code::INVALID_PASSWORD, "Invalid one-time passcode", &[step])
                    .await;
            }
        }
        return Ok(Next::Passcode { interaction_id: ix.id, email, attempts_left: Some(max - tries), resent: false });
    }
    idp.store.delete_interaction(&ix.id).await?;
    let home = home_account(idp, tenant, &email).await?;
    finish(idp, tenant, ix, home, Some(&email), crate::signin::session::Factors::passcode()).await
}

/// The passcode user's home: a member of the just-in-time tenant of their domain.
async fn home_account(idp: &Idp, resource: &Tenant, email: &str) -> Result<HomeAccount> {
    let domain = email_domain(email).ok_or_else(|| Error::Invalid(format!("'{email}' is not an email address")))?;
    let home = jit_tenant(idp, resource, &domain).await?;
    let member = match idp.store.user_by_email(&home.id, email).await? {
        Some(user) => user,
        None => {
            let user = User::new(&home.id, email, email, UserType::Member);
            match idp.store.create_user(&user).await {
                Ok(()) => user,
                // Another instance created it a moment ago.
                Err(StoreError::Conflict(_)) => {
                    idp.store.user_by_email(&home.id, email).await?.ok_or_else(|| Error::Internal("just-in-time member vanished".into()))?
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(HomeAccount { tenant_id: home.id.clone(), issuer: idp.issuer(&home), subject: member.id, method: HomeMethod::EmailOtp })
}

/// The unmanaged tenant of `domain` in the resource tenant's cloud, created
/// on first use. Its name derives from both (`jit-` is reserved for these).
async fn jit_tenant(idp: &Idp, resource: &Tenant, domain: &str) -> Result<Tenant> {
    let name = format!("jit-{}", &sha256_hex(&format!("{}\0{domain}", resource.cloud.region_scope()))[..24]);
    let mine = |t: &Tenant| t.unmanaged && t.owns_domain(domain) && t.cloud == resource.cloud;
    if let Some(existing) = idp.store.tenant_by_name(&name).await? {
        return if mine(&existing) {
            Ok(existing)
        } else {
            Err(Error::Internal(format!("tenant {name} is not {domain}'s just-in-time tenant")))
        };
    }
    let tenant = Tenant {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.clone(),
        display_name: domain.to_string(),
        cloud: resource.cloud,
        region_scope: resource.cloud.region_scope().to_string(),
        signing_alg: Default::default(),
        created_at: now(),
        domains: vec![domain.to_string()],
        unmanaged: true,
        collaboration: Default::default(),
        identity_providers: vec![],
        conditional_access: vec![],
        cross_tenant_access: Default::default(),
        preferred_language: None,
        branding: Default::default(),
        version: 0,
    };
    match idp.store.put_tenant(&tenant).await {
        Ok(()) => {
            keys::ensure_all(idp.store.as_ref(), &idp.vault, &tenant.id).await?;
            tracing::info!(tenant = %tenant.id, %domain, "just-in-time tenant created");
            Ok(tenant)
        }
        Err(StoreError::Conflict(_)) => idp.store.tenant_by_name(&name).await?.ok_or_else(|| Error::Internal("JIT tenant vanished".into())),
        Err(e) => Err(e.into()),
    }
}
