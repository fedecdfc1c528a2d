//! Scope parsing: OpenID scopes plus at most one resource per token, as Entra
//! v2 does (`api://…/.default`, `api://…/permission`, `{client_id}/.default`).

use crate::directory::{App, Tenant};
use crate::error::Result;
use crate::idp::Idp;
use crate::protocol::OAuthError;

pub const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The admin API of every tenant (SPEC "Admin API authorization").
pub const ADMIN_RESOURCE: &str = "api://b2b-idp-admin";

#[derive(Debug, Clone, PartialEq)]
pub struct Requested {
    pub scopes: Vec<String>,
    /// The resource (`aud`) the access token is for, if a resource scope was asked.
    pub resource: Option<String>,
}

impl Requested {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Resource permissions (`scp`), e.g. `.default` or `read`.
    pub fn permissions(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| !OPENID_SCOPES.contains(&s.as_str()))
            .filter_map(|s| s.rsplit_once('/').map(|(_, p)| p.to_string()))
            .collect()
    }
}

pub fn split(raw: &str) -> Vec<String> {
    let mut scopes: Vec<String> = raw.split_whitespace().map(str::to_string).collect();
    scopes.dedup();
    scopes
}

/// Resolves a space-separated scope string; unknown scopes are `invalid_scope`.
pub async fn resolve(idp: &Idp, tenant: &Tenant, raw: &str) -> Result<Requested> {
    let scopes = split(raw);
    let mut resource: Option<String> = None;
    for scope in &scopes {
        if OPENID_SCOPES.contains(&scope.as_str()) {
            continue;
        }
        let Some((prefix, permission)) = scope.rsplit_once('/') else {
            return Err(OAuthError::invalid_scope(format!("unknown scope '{scope}'")).into());
        };
        if permission.is_empty() {
            return Err(OAuthError::invalid_scope(format!("scope '{scope}' names no permission")).into());
        }
        let found = resource_audience(idp, tenant, prefix).await?.ok_or_else(|| {
            OAuthError::invalid_scope(format!("no resource '{prefix}' in this tenant"))
        })?;
        match &resource {
            Some(r) if *r != found => {
                return Err(OAuthError::invalid_scope(
                    "scopes name more than one resource; request one resource per token",
                )
                .into())
            }
            _ => resource = Some(found),
        }
    }
    Ok(Requested { scopes, resource })
}

/// The canonical `aud` of a resource named by its URI or client id.
async fn resource_audience(idp: &Idp, tenant: &Tenant, name: &str) -> Result<Option<String>> {
    if name == ADMIN_RESOURCE {
        return Ok(Some(ADMIN_RESOURCE.to_string()));
    }
    let apps: Vec<App> = idp.store.apps(&tenant.id).await?;
    Ok(apps.into_iter().find_map(|app| match &app.identifier_uri {
        Some(uri) if uri == name => Some(uri.clone()),
        _ if app.client_id == name => Some(app.client_id.clone()),
        _ => None,
    }))
}
