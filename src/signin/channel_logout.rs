//! Back- and front-channel logout (OpenID Connect Back-Channel Logout 1.0,
//! Front-Channel Logout 1.0): when a session ends, every app it signed in
//! to is told, by a signed logout token posted to the app
//! (`egress::logout_delivery`), and by an iframe the signed-out page loads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::egress::logout_delivery::Delivery;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::{App, Session, Tenant};
use crate::util::now;

/// The `events` member every logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The header `typ` of a logout token (§2.4, explicit typing).
pub const TYP: &str = "logout+jwt";
/// A logout token's lifetime: long enough for the delivery's retries.
const TOKEN_TTL: i64 = 120;

/// Back-Channel Logout 1.0 §2.4. No `nonce`: that keeps a logout token
/// from passing as an ID token, and `events` the other way round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    /// Always sent here; required of a home too (checked by `home_logout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub events: BTreeMap<String, serde_json::Value>,
    /// Must be absent (§2.6, step 5).
    #[serde(default, skip_serializing)]
    pub nonce: Option<serde_json::Value>,
}

/// `aud`: one client id (what this server sends) or several (what a home
/// may send).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// What a logout of one session tells its apps.
#[derive(Debug, Default)]
pub struct Told {
    /// Front-channel logout URLs (with `iss` and `sid`) for the signed-out page's iframes.
    pub frames: Vec<String>,
    /// Logout tokens queued for the apps' back-channel URIs.
    pub queued: usize,
}

/// Tells every app `session` signed in to that it has ended: queues a
/// logout token for each back-channel URI, and returns the front-channel
/// URLs (the caller decides whether a page can load them). A failure (an
/// app or the tenant unreadable, no signing key) is logged, and the other
/// apps are still told: the session has already ended.
pub async fn session_ended(idp: &Idp, session: &Session) -> Told {
    let mut told = Told::default();
    if session.clients.is_empty() {
        return told;
    }
    let tenant = match idp.store.tenant(&session.tenant_id).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return told,
        Err(e) => {
            tracing::warn!(tenant = %session.tenant_id, error = %crate::util::error_chain(&e), "logout not told: the tenant is unreadable");
            return told;
        }
    };
    for client_id in &session.clients {
        if let Err(e) = tell(idp, &tenant, client_id, session, &mut told).await {
            tracing::warn!(tenant = %tenant.id, client = %client_id, error = %crate::util::error_chain(&e), "logout not told to the app");
        }
    }
    told
}

/// `session_ended` for one app.
async fn tell(idp: &Idp, tenant: &Tenant, client_id: &str, session: &Session, told: &mut Told) -> Result<()> {
    let Some(app) = idp.store.app(&tenant.id, client_id).await? else { return Ok(()) };
    if let Some(uri) = &app.frontchannel_logout_uri {
        if let Ok(mut url) = url::Url::parse(uri) {
            url.query_pairs_mut().append_pair("iss", &idp.issuer(tenant)).append_pair("sid", &session.sid);
            told.frames.push(url.to_string());
        }
    }
    if let Some(uri) = &app.backchannel_logout_uri {
        let (token, expires_at) = logout_token(idp, tenant, &app, session).await?;
        let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged).to_string();
        let delivery = Delivery { tenant: label, client_id: app.client_id.clone(), uri: uri.clone(), token, expires_at };
        if idp.logout_notices.queue(delivery) {
            told.queued += 1;
        }
    }
    Ok(())
}

/// A logout token for `app` about `session` (its `sub` and `sid` are the
/// ones the app's ID tokens carried), and when it expires.
async fn logout_token(idp: &Idp, tenant: &Tenant, app: &App, session: &Session) -> Result<(String, i64)> {
    let at = now();
    let claims = LogoutClaims {
        iss: idp.issuer(tenant),
        sub: Some(session.user_id.clone()),
        aud: Audience::One(app.client_id.clone()),
        iat: at,
        exp: at + TOKEN_TTL,
        jti: Some(uuid::Uuid::new_v4().to_string()),
        sid: Some(session.sid.clone()),
        events: BTreeMap::from([(EVENT.to_string(), serde_json::json!({}))]),
        nonce: None,
    };
    let token = idp.keys.sign(&tenant.id, app.token_alg(tenant), TYP, &claims).await?;
    Ok((token, claims.exp))
}
