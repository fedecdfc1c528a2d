//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic`, `client_secret_post`, or `none` for
//! public clients (which then rely on PKCE).

use subtle::ConstantTimeEq;

use crate::error::OAuthError;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::{App, Tenant};
use crate::util::sha256_hex;

/// Credentials as the request presented them.
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// Came from an `Authorization: Basic` header.
    pub basic: bool,
}

impl ClientCredentials {
    /// Merges the Basic header (already decoded) with the form fields;
    /// using two methods at once is refused (RFC 6749 §2.3).
    pub fn from_request(
        basic: Option<(String, String)>,
        form_id: Option<String>,
        form_secret: Option<String>,
    ) -> Result<ClientCredentials> {
        match basic {
            Some(_) if form_secret.is_some() => {
                Err(OAuthError::invalid_request("use one client authentication method, not both Basic and client_secret").into())
            }
            Some((id, _)) if form_id.as_ref().is_some_and(|f| *f != id) => {
                Err(OAuthError::invalid_request("client_id differs from the Basic credentials").into())
            }
            Some((id, secret)) => Ok(ClientCredentials { client_id: Some(id), secret: Some(secret), basic: true }),
            None => Ok(ClientCredentials { client_id: form_id, secret: form_secret, basic: false }),
        }
    }
}

/// The authenticated client, or `invalid_client`. Every failure reads the same.
pub async fn authenticate(idp: &Idp, tenant: &Tenant, creds: &ClientCredentials) -> Result<App> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client_id = creds.client_id.as_deref().ok_or_else(failed)?;
    let app = idp.store.app(&tenant.id, client_id).await?.ok_or_else(failed)?;
    let ok = match (&app.secret_hash, &creds.secret) {
        (Some(expected), Some(given)) => sha256_hex(given).as_bytes().ct_eq(expected.as_bytes()).into(),
        (None, None) => true,
        _ => false,
    };
    if !ok {
        return Err(failed().into());
    }
    Ok(app)
}
