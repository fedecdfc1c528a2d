//! Browser sign-on sessions and the password first factor.

use crate::directory::{now, random_token, Tenant, User};
use crate::error::Result;
use crate::idp::Idp;
use crate::protocol::records::Session;

/// The session and its (still enabled) user, if `id` names a live session of this tenant.
pub async fn active(idp: &Idp, tenant: &Tenant, id: Option<&str>) -> Result<Option<(Session, User)>> {
    let Some(id) = id else { return Ok(None) };
    let Some(session) = idp.store.session(id).await? else { return Ok(None) };
    if session.tenant_id != tenant.id || session.expires_at < now() {
        return Ok(None);
    }
    let user = idp.store.user(&tenant.id, &session.user_id).await?;
    Ok(user.filter(|u| u.enabled && session.auth_time >= u.sessions_valid_from).map(|u| (session, u)))
}

pub async fn start(idp: &Idp, tenant: &Tenant, user: &User, amr: Vec<String>, acr: &str) -> Result<Session> {
    let at = now();
    let session = Session {
        id: random_token(),
        tenant_id: tenant.id.clone(),
        user_id: user.id.clone(),
        auth_time: at,
        amr,
        acr: acr.to_string(),
        expires_at: at + idp.config.tokens.session_ttl,
    };
    idp.store.put_session(&session).await?;
    Ok(session)
}

pub async fn end(idp: &Idp, id: &str) -> Result<()> {
    Ok(idp.store.delete_session(id).await?)
}

/// Checks a member's password. Unknown account, disabled account and wrong
/// password are indistinguishable, in answer and in time.
pub async fn check_password(idp: &Idp, tenant: &Tenant, email: &str, password: &str) -> Result<Option<User>> {
    let user = idp.store.user_by_email(&tenant.id, email.trim()).await?;
    let hash = user.as_ref().filter(|u| u.enabled).and_then(|u| u.password_hash.as_deref());
    let ok = idp.passwords.verify(hash, password).await?;
    Ok(user.filter(|_| ok))
}
