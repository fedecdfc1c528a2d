//! Scope parsing: OpenID scopes plus at most one resource per token, as Entra
//! v2 does (`api://…/.default`, `api://…/permission`, `{client_id}/.default`).
//!
//! A client gets a token for another resource only with a grant for it:
//! `delegated_permissions` (on behalf of a user; admin-consented) or
//! `api_permissions` (app roles, for client credentials). A client may always
//! ask for itself with `.default`.

use crate::directory::access::ADMIN_RESOURCE;
use crate::error::OAuthError;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::{App, Tenant};

pub const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The admin API of every tenant (SPEC "Admin API authorization").

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requested {
    pub scopes: Vec<String>,
    /// The resource (`aud`) the access token is for, if a resource scope was asked.
    pub resource: Option<String>,
    /// Permissions as asked after the resource, e.g. `.default` or `read`.
    pub permissions: Vec<String>,
    /// Delegated permissions the token carries (`scp`).
    pub scp: Vec<String>,
}

impl Requested {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Exactly `{resource}/.default`, as client credentials require.
    pub fn is_default_only(&self) -> bool {
        self.resource.is_some() && self.permissions == [".default"]
    }
}

/// How the token will act: for a user (delegated) or as the app itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    ForUser,
    AsApp,
}

pub fn split(raw: &str) -> Vec<String> {
    let mut scopes: Vec<String> = raw.split_whitespace().map(str::to_string).collect();
    scopes.dedup();
    scopes
}

/// Resolves a space-separated scope string for `client`; an unknown or
/// ungranted resource scope is `invalid_scope`.
pub async fn resolve(idp: &Idp, tenant: &Tenant, client: &App, raw: &str, acting: Acting) -> Result<Requested> {
    // Unknown OpenID scope values (no resource in them, e.g. `phone`) are
    // ignored, as OIDC Core 3.1.2.1 says; unknown resource scopes are refused.
    let scopes = split(raw).into_iter().filter(|s| OPENID_SCOPES.contains(&s.as_str()) || s.contains('/')).collect();
    let mut requested = Requested { scopes, ..Default::default() };
    for scope in requested.scopes.clone() {
        if OPENID_SCOPES.contains(&scope.as_str()) {
            continue;
        }
        let Some((prefix, permission)) = scope.rsplit_once('/') else { continue };
        if permission.is_empty() {
            return Err(OAuthError::invalid_scope(format!("scope '{scope}' names no permission")).into());
        }
        let aud = resource_audience(idp, tenant, prefix)
            .await?
            .ok_or_else(|| OAuthError::invalid_scope(format!("no resource '{prefix}' in this tenant")))?;
        if requested.resource.as_ref().is_some_and(|r| *r != aud) {
            return Err(OAuthError::invalid_scope("scopes name more than one resource; request one resource per token").into());
        }
        let granted = if aud == audience_of(client) {
            // An app may always ask for a token for itself, as itself.
            Some(vec![])
        } else {
            let grants = match acting {
                Acting::ForUser => &client.delegated_permissions,
                Acting::AsApp => &client.api_permissions,
            };
            grants.get(&aud).or_else(|| grants.get(prefix)).cloned()
        };
        let Some(granted) = granted else {
            return Err(OAuthError::invalid_scope(format!("this client has no permission for '{aud}'")).into());
        };
        if permission == ".default" {
            requested.scp.extend(granted);
        } else if granted.iter().any(|g| g == permission) {
            requested.scp.push(permission.to_string());
        } else {
            return Err(OAuthError::invalid_scope(format!("permission '{permission}' on '{aud}' is not granted to this client")).into());
        }
        requested.permissions.push(permission.to_string());
        requested.resource = Some(aud);
    }
    requested.scp.sort();
    requested.scp.dedup();
    Ok(requested)
}

/// An app's canonical resource URI: its identifier URI, else its client id.
pub fn audience_of(app: &App) -> String {
    app.identifier_uri.clone().unwrap_or_else(|| app.client_id.clone())
}

/// The canonical `aud` of a resource named by its URI or client id.
async fn resource_audience(idp: &Idp, tenant: &Tenant, name: &str) -> Result<Option<String>> {
    if name == ADMIN_RESOURCE {
        return Ok(Some(ADMIN_RESOURCE.to_string()));
    }
    let apps = idp.store.apps(&tenant.id).await?;
    Ok(apps.iter().find(|app| app.identifier_uri.as_deref() == Some(name) || app.client_id == name).map(audience_of))
}
