//! Pushed authorization requests (RFC 9126): a client posts its
//! authorization request straight to the server, authenticated, and sends
//! the browser with only a `request_uri` naming it. The request never
//! passes through the browser, so it cannot be read or changed there.

use serde::Serialize;

use crate::error::{Error, OAuthError, Result};
use crate::idp::Idp;
use crate::model::{App, PushedRequest, Tenant};
use crate::protocol::authorize::{self, AuthorizeParams, Rejection};
use crate::util::{now, random_token, sha256_hex};

/// RFC 9126 §2.2's URN prefix of every `request_uri`.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser.
pub const LIFETIME_SECS: i64 = 60;

#[derive(Debug, Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// Validates `params` as the authorization endpoint would for `app` (the
/// authenticated client) and keeps them for one use within a minute.
pub async fn push(idp: &Idp, tenant: &Tenant, app: &App, mut params: AuthorizeParams, source: &str) -> Result<Pushed> {
    if params.request_uri.is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed: push the request's parameters").into());
    }
    if params.client_id.as_deref().is_some_and(|id| id != app.client_id) {
        return Err(OAuthError::invalid_request("client_id differs from the authenticated client").into());
    }
    params.client_id = Some(app.client_id.clone());
    params.pushed = true;
    // Pushed requests wait in the store like sign-ins do (for their minute).
    if !crate::signin::throttle::admit_waiting(idp, "pushed", &tenant.id, source, LIFETIME_SECS).await? {
        return Err(Error::TooManyAttempts("too many pushed authorization requests are waiting; try again in a minute".into()));
    }
    match authorize::validate(idp, tenant, params.clone(), source).await {
        Ok(_) => {}
        Err(Rejection::Page(message)) => return Err(OAuthError::invalid_request(message).into()),
        Err(Rejection::Client(response)) => {
            let refused = response.refused.unwrap_or_else(|| OAuthError::invalid_request("the request is invalid"));
            return Err(refused.into());
        }
        Err(Rejection::Failed(e)) => return Err(e),
    }
    let secret = random_token();
    let pushed = PushedRequest {
        hash: sha256_hex(&secret),
        tenant_id: tenant.id.clone(),
        client_id: app.client_id.clone(),
        params: serde_json::to_value(&params).map_err(|e| Error::Internal(e.to_string()))?,
        expires_at: now() + LIFETIME_SECS,
    };
    idp.store.put_pushed_request(&pushed).await?;
    Ok(Pushed { request_uri: format!("{REQUEST_URI_PREFIX}{secret}"), expires_in: LIFETIME_SECS })
}

/// The pushed request a browser's `request_uri` names, taken: it works
/// once, within its minute, for the client that pushed it (`client_id`
/// must come along, RFC 9126 §4). Anything else is our own page: without
/// the request, nothing says where to send the browser back.
pub async fn pulled(
    idp: &Idp,
    tenant: &Tenant,
    client_id: Option<&str>,
    request_uri: &str,
) -> std::result::Result<AuthorizeParams, Rejection> {
    let unknown = || Rejection::Page("The request_uri is unknown, expired or was already used. Start again from the application.".into());
    let secret = request_uri.strip_prefix(REQUEST_URI_PREFIX).ok_or_else(unknown)?;
    let Some(client_id) = client_id else {
        return Err(Rejection::Page("The request has a request_uri but no client_id.".into()));
    };
    // Taken before it is checked: a request_uri shown to the wrong party is spent, not retried.
    let pushed = idp.store.take_pushed_request(&sha256_hex(secret)).await.map_err(Error::from)?.ok_or_else(unknown)?;
    if pushed.tenant_id != tenant.id || pushed.client_id != client_id || pushed.expires_at < now() {
        return Err(unknown());
    }
    let mut params: AuthorizeParams = serde_json::from_value(pushed.params).map_err(|_| unknown())?;
    params.pushed = true;
    Ok(params)
}
