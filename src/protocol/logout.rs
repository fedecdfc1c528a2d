//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::Tenant;
use crate::protocol::claims::IdClaims;
use crate::signin::session;

#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl LogoutParams {
    /// The parameters as form fields, to carry them through the confirmation page.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

/// What the browser sees after a logout request.
#[derive(Debug, PartialEq)]
pub enum Logout {
    /// Signed out; go to this registered URI (`redirect`), or show
    /// "signed out". `frames` are the front-channel logout URLs of the apps
    /// the session signed in to, for the page to load first.
    Done { redirect: Option<String>, frames: Vec<String> },
    /// Ask the person first: nothing proves this request comes from an app
    /// they are signed in to (RP-Initiated Logout 1.0 §2).
    Confirm,
}

/// Ends the browser's session, unless it must first be confirmed. The
/// redirect goes only to a post-logout URI the client registered exactly.
pub async fn logout(idp: &Idp, tenant: &Tenant, p: &LogoutParams, session_cookie: Option<&str>, confirmed: bool) -> Result<Logout> {
    let hint: Option<IdClaims> = match &p.id_token_hint {
        Some(hint) => Some(
            idp.keys
                .verify(&tenant.id, hint, "JWT", &idp.issuer(tenant), false)
                .await
                .map_err(|_| Error::Invalid("id_token_hint is not an ID token of this tenant".into()))?,
        ),
        None => None,
    };
    let client_id = match (hint.as_ref().map(|h| h.aud.clone()), p.client_id.clone()) {
        (Some(a), Some(b)) if a != b => return Err(Error::Invalid("client_id does not match the id_token_hint".into())),
        (a, b) => a.or(b),
    };
    let redirect = match (&p.post_logout_redirect_uri, client_id) {
        (None, _) => None,
        (Some(_), None) => return Err(Error::Invalid("post_logout_redirect_uri needs client_id or id_token_hint".into())),
        (Some(uri), Some(client_id)) => {
            let app = idp.store.app(&tenant.id, &client_id).await?;
            if !app.is_some_and(|a| a.post_logout_redirect_uris.contains(uri)) {
                return Err(Error::Invalid(format!("'{uri}' is not a registered post-logout redirect URI")));
            }
            let mut url = url::Url::parse(uri).map_err(|e| Error::Invalid(e.to_string()))?;
            if let Some(state) = &p.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    if let Some(cookie) = session_cookie {
        if let Some(session) = session::by_cookie(idp, cookie).await? {
            let hint_is_this_session = hint.is_some_and(|h| h.user.sid.as_deref() == Some(session.sid.as_str()));
            if !confirmed && !hint_is_this_session {
                return Ok(Logout::Confirm);
            }
            let told = session::end(idp, &session).await?;
            return Ok(Logout::Done { redirect, frames: told.frames });
        }
    }
    Ok(Logout::Done { redirect, frames: vec![] })
}
