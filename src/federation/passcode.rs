//! Email one-time passcode, for people with no organisation of their own.
//! The first redemption creates a just-in-time ("viral") tenant for their
//! domain, with them as a member, so `home_tid` is always set.

use rand::Rng;
use subtle::ConstantTimeEq;

use crate::directory::collaboration::{HomeAccount, HomeMethod};
use crate::directory::{email_domain, now, now_ms, random_token, seed, sha256_hex, Tenant, User, UserType};
use crate::error::{Error, Result};
use crate::federation::{finish, interaction, Interaction, Next, Purpose, Step};
use crate::idp::Idp;
use crate::keys;
use crate::store::StoreError;

fn code_hash(interaction_id: &str, code: &str) -> String {
    sha256_hex(&format!("{interaction_id}\0{code}"))
}

/// Mails a fresh 8-digit code and asks for it.
pub async fn send(idp: &Idp, tenant: &Tenant, purpose: Purpose, email: &str, browser: &str) -> Result<Next> {
    let id = random_token();
    let code = format!("{:08}", rand::thread_rng().gen_range(0..100_000_000u32));
    let interaction = Interaction {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        browser: sha256_hex(browser),
        purpose,
        step: Step::Passcode {
            email: email.to_string(),
            code_hash: code_hash(&id, &code),
            attempts_left: idp.config.b2b.otp_max_attempts,
        },
        expires_at: now() + idp.config.b2b.otp_ttl_secs,
    };
    idp.store.put_interaction(&interaction).await?;
    crate::mail::passcode(idp, tenant, email, &code).await?;
    tracing::info!(tenant = %tenant.id, "one-time passcode sent");
    Ok(Next::Passcode { interaction_id: id, email: email.to_string(), retry: None })
}

/// Checks a typed passcode. Each wrong code uses up an attempt; when none
/// are left the code is void and the person must ask for a new one.
pub async fn check(idp: &Idp, tenant: &Tenant, id: &str, browser: &str, typed: &str) -> Result<Next> {
    let mut ix = interaction(idp, tenant, id, browser).await?;
    let Step::Passcode { email, code_hash: expected, attempts_left } = &mut ix.step else {
        return Err(Error::Invalid("This step is out of order. Start again.".into()));
    };
    let email = email.clone();
    let matches: bool = code_hash(&ix.id, typed.trim()).as_bytes().ct_eq(expected.as_bytes()).into();
    if !matches {
        *attempts_left = attempts_left.saturating_sub(1);
        if *attempts_left == 0 {
            idp.store.delete_interaction(&ix.id).await?;
            return Err(Error::TooManyAttempts("Too many wrong codes. Start again to get a new code.".into()));
        }
        let retry = Some(format!("That code is not right. {attempts_left} attempt(s) left."));
        idp.store.put_interaction(&ix).await?;
        return Ok(Next::Passcode { interaction_id: ix.id, email, retry });
    }
    idp.store.delete_interaction(&ix.id).await?;
    let home = home_account(idp, tenant, &email).await?;
    finish(idp, tenant, ix, home, Some(&email), vec!["otp".into()]).await
}

/// The passcode user's home: a member of the just-in-time tenant of their domain.
async fn home_account(idp: &Idp, resource: &Tenant, email: &str) -> Result<HomeAccount> {
    let domain = email_domain(email).ok_or_else(|| Error::Invalid(format!("'{email}' is not an email address")))?;
    let home = jit_tenant(idp, resource, &domain).await?;
    let member = match idp.store.user_by_email(&home.id, email).await? {
        Some(user) => user,
        None => {
            let user = User {
                id: uuid::Uuid::new_v4().to_string(),
                tenant_id: home.id.clone(),
                email: email.to_string(),
                display_name: email.to_string(),
                password_hash: None,
                user_type: UserType::Member,
                roles: vec![],
                enabled: true,
                created_at: now(),
                written_at_ms: now_ms(),
                external: None,
            };
            match idp.store.create_user(&user).await {
                Ok(()) => user,
                // Another instance created it a moment ago.
                Err(StoreError::Conflict(_)) => idp.store.user_by_email(&home.id, email).await?.ok_or_else(|| {
                    Error::Internal("just-in-time member vanished".into())
                })?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(HomeAccount { tenant_id: home.id.clone(), issuer: idp.issuer(&home), subject: member.id, method: HomeMethod::EmailOtp })
}

/// The unmanaged tenant of `domain`, created on first use.
async fn jit_tenant(idp: &Idp, resource: &Tenant, domain: &str) -> Result<Tenant> {
    let mut name: String = format!("jit-{}", domain.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    name.truncate(63);
    if let Some(existing) = idp.store.tenant_by_name(&name).await? {
        return Ok(existing);
    }
    seed::check_tenant_name(&name)?;
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
    };
    match idp.store.put_tenant(&tenant).await {
        Ok(()) => {
            keys::ensure_active(idp.store.as_ref(), &tenant.id, tenant.signing_alg).await?;
            tracing::info!(tenant = %tenant.id, %domain, "just-in-time tenant created");
            Ok(tenant)
        }
        Err(StoreError::Conflict(_)) => idp.store.tenant_by_name(&name).await?.ok_or_else(|| Error::Internal("JIT tenant vanished".into())),
        Err(e) => Err(e.into()),
    }
}
