//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use serde::Deserialize;

use crate::directory::Tenant;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::protocol::claims::IdClaims;
use crate::protocol::session;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// Ends the browser's session; returns where to send it, if the client
/// registered that exact post-logout URI. Anything else gets our own page.
pub async fn logout(idp: &Idp, tenant: &Tenant, p: LogoutParams, session_id: Option<&str>) -> Result<Option<String>> {
    let hinted = match &p.id_token_hint {
        Some(hint) => {
            let claims: IdClaims = idp
                .keys
                .verify(&tenant.id, hint, &idp.issuer(tenant), false)
                .await
                .map_err(|_| Error::Invalid("id_token_hint is not an ID token of this tenant".into()))?;
            Some(claims.aud)
        }
        None => None,
    };
    let client_id = match (hinted, p.client_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Invalid("client_id does not match the id_token_hint".into()))
        }
        (a, b) => a.or(b),
    };
    let redirect = match (&p.post_logout_redirect_uri, client_id) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(Error::Invalid("post_logout_redirect_uri needs client_id or id_token_hint".into()))
        }
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
    if let Some(id) = session_id {
        session::end(idp, id).await?;
    }
    Ok(redirect)
}
