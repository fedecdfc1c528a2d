//! Browser sign-on sessions and the password first factor.

use crate::audit::signin::step;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{AuthStep, HomeSession, Session};
use crate::model::{Tenant, User};
use crate::signin::channel_logout::{self, Told};
use crate::signin::throttle;
use crate::util::{now, now_ms, random_token, sha256_hex};

/// The session a cookie's value stands for, live or not.
pub async fn by_cookie(idp: &Idp, cookie: &str) -> Result<Option<Session>> {
    Ok(idp.store.session(&sha256_hex(cookie)).await?)
}

/// The session and its (still enabled) user, if `cookie` is the cookie of a live session of this tenant.
pub async fn active(idp: &Idp, tenant: &Tenant, cookie: Option<&str>) -> Result<Option<(Session, User)>> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty()) else { return Ok(None) };
    let Some(session) = by_cookie(idp, cookie).await? else { return Ok(None) };
    if session.tenant_id != tenant.id || session.expires_at < now() {
        return Ok(None);
    }
    let user = idp.store.user(&tenant.id, &session.user_id).await?;
    Ok(user.filter(|u| u.enabled && session.started_ms >= u.sessions_valid_from_ms).map(|u| (session, u)))
}

/// What a sign-in proved: methods (`amr`), level (`acr`), where the
/// second factor came from, if there was one, and the steps as the
/// sign-in log tells them.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors {
    pub amr: Vec<String>,
    pub acr: &'static str,
    pub mfa_source: Option<&'static str>,
    pub steps: Vec<AuthStep>,
    /// A guest's session at home, when home named it.
    pub home: Option<HomeSession>,
}

impl Factors {
    fn single(method: &str, step: AuthStep) -> Factors {
        Factors { amr: vec![method.to_string()], acr: "1", mfa_source: None, steps: vec![step], home: None }
    }

    /// A member's password, checked here.
    pub fn password() -> Factors {
        Factors::single("pwd", step("Password", "Password in the cloud", false, true, "Correct password"))
    }

    /// A one-time passcode mailed to a guest without an organisation.
    pub fn passcode() -> Factors {
        Factors::single("otp", step("Email one-time passcode", "", false, true, "Correct passcode"))
    }

    /// A guest signed in at home (`home_tenant_id`). Its MFA there counts
    /// here only when `trusted` (cross-tenant access); otherwise the log
    /// still shows it was done, and this tenant asks again ("double MFA").
    pub fn federated(home_tenant_id: &str, home_mfa: bool, trusted: bool) -> Factors {
        let home = format!("Home tenant {home_tenant_id}");
        let signed_in = step("Federated", home.clone(), false, true, "Signed in at the home organisation");
        let mut factors = Factors::single("fed", signed_in);
        match (home_mfa, trusted) {
            (true, true) => {
                factors.amr.push("mfa".into());
                factors.acr = "2";
                factors.mfa_source = Some("home");
                factors.steps.push(step("Satisfied by token", home.clone(), true, true, "MFA requirement satisfied by claim in the token"));
            }
            (true, false) => factors.steps.push(step(
                "Home tenant MFA",
                home.clone(),
                true,
                true,
                "MFA done at the home organisation; not accepted here (cross-tenant access does not trust its MFA)",
            )),
            _ => {}
        }
        factors
    }
}

/// A new cookie value for `session`, which is re-keyed under it.
fn with_new_cookie(mut session: Session) -> Session {
    let cookie = random_token();
    session.id = sha256_hex(&cookie);
    session.cookie = Some(cookie);
    session
}

/// A new session (always a new cookie: nothing a browser brought in, or
/// an attacker planted, becomes signed in).
pub async fn start(idp: &Idp, tenant: &Tenant, user: &User, factors: Factors) -> Result<Session> {
    let at = now();
    let session = with_new_cookie(Session {
        id: String::new(),
        sid: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        user_id: user.id.clone(),
        auth_time: at,
        amr: factors.amr,
        acr: factors.acr.to_string(),
        expires_at: at + idp.config.tokens.session_ttl,
        mfa_source: factors.mfa_source.map(str::to_string),
        started_ms: now_ms(),
        steps: factors.steps,
        clients: vec![],
        home: factors.home,
        cookie: None,
    });
    idp.store.put_session(&session).await?;
    Ok(session)
}

/// The second factor was just done here: the session is multi-factor now,
/// under a new cookie, so a cookie seen before the MFA never carries it.
pub async fn add_local_mfa(idp: &Idp, session: Session) -> Result<Session> {
    let old_id = session.id.clone();
    let mut session = with_new_cookie(session);
    if !session.amr.iter().any(|m| m == "mfa") {
        session.amr.push("mfa".into());
    }
    session.acr = "2".into();
    session.mfa_source = Some("local".into());
    session.steps.push(step("Software OATH token", "Authenticator app", true, true, "MFA completed in this organisation"));
    idp.store.put_session(&session).await?;
    if !idp.store.delete_session(&old_id).await? {
        // Ended meanwhile (a logout): the new cookie must not outlive it.
        idp.store.delete_session(&session.id).await?;
        return Err(ended());
    }
    Ok(session)
}

fn ended() -> Error {
    Error::Invalid(crate::i18n::text("session-ended", &[]))
}

/// Ends the session a cookie's value stands for, if any.
pub async fn end_cookie(idp: &Idp, cookie: &str) -> Result<Told> {
    match by_cookie(idp, cookie).await? {
        Some(session) => end(idp, &session).await,
        None => Ok(Told::default()),
    }
}

/// Ends `session` and tells the apps it signed in to: logout tokens are
/// queued now; the front-channel URLs are for the caller's page, if any.
/// Of concurrent ends of one session, one tells.
pub async fn end(idp: &Idp, session: &Session) -> Result<Told> {
    if !idp.store.delete_session(&session.id).await? {
        return Ok(Told::default());
    }
    Ok(channel_logout::session_ended(idp, session).await)
}

/// The most sessions one logout ends by a key (a user's, a home session's);
/// older ones past it still die by `sessions_valid_from_ms` or expiry.
const MAX_ENDED: usize = 1_000;

/// Ends every live session filed under `key` (`Session::lookup_keys`):
/// an admin disabled the account, a guest's home session ended. Returns
/// how many.
pub async fn end_all(idp: &Idp, key: &str) -> Result<usize> {
    let mut ended = vec![];
    for session in idp.store.sessions_by_key(key, now(), MAX_ENDED).await? {
        // Only what this call deleted: a concurrent end tells its own.
        if idp.store.delete_session(&session.id).await? {
            ended.push(session);
        }
    }
    // Everything ended first; then the apps are told (a failure there is logged, per app).
    for session in &ended {
        channel_logout::session_ended(idp, session).await;
    }
    Ok(ended.len())
}

/// Ends every session of a user (disabled, deleted, signed out everywhere).
/// A failure is logged, not returned: the change that called it stands,
/// and `sessions_valid_from_ms` already makes those sessions worthless.
pub async fn end_all_of_user(idp: &Idp, tenant_id: &str, user_id: &str) {
    if let Err(e) = end_all(idp, &Session::user_key(tenant_id, user_id)).await {
        tracing::warn!(tenant = %tenant_id, user = %user_id, error = %crate::util::error_chain(&e), "ending the user's sessions failed");
    }
}

/// Records that `session` signed `client_id` in (once per app), so its end
/// reaches that app. A session ended meanwhile is not brought back: the
/// sign-in fails instead.
pub async fn signed_in_to(idp: &Idp, session: &Session, client_id: &str) -> Result<()> {
    if session.clients.iter().any(|c| c == client_id) {
        return Ok(());
    }
    match idp.store.add_session_client(&session.id, client_id).await? {
        true => Ok(()),
        false => Err(ended()),
    }
}

/// Checks a member's password. Unknown account and wrong password are
/// indistinguishable, in answer and in time; a disabled account is
/// returned (to be told so, as Entra does) only with its right password. Attempts are
/// limited per account and per `source` (the client address): past the
/// limits the check refuses without hashing, for 15 minutes.
pub async fn check_password(idp: &Idp, tenant: &Tenant, email: &str, password: &str, source: &str) -> Result<Option<User>> {
    let email = crate::util::address::lookup_form(email);
    let attempt = throttle::reserve(idp, &throttle::PASSWORD, &tenant.id, &email, source).await?;
    let user = idp.store.user_by_email(&tenant.id, &email).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let ok = idp.passwords.verify(hash, password).await?;
    attempt.finish(idp, ok).await?;
    Ok(user.filter(|_| ok))
}
