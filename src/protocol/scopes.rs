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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requested {
    pub scopes: Vec<String>,
    /// The resource (`aud`) the access token is for, if a resource scope was asked.
    pub resource: Option<String>,
    /// Permissions as asked after the resource, e.g. `.default` or `read`.
    pub permissions: Vec<String>,
    /// Delegated permissions the token carries (`scp`).
    pub scp: Vec<String>,
    /// The resource's client id, when it is an app of the tenant (not the
    /// admin API): whose conditional access policies count for it.
    pub resource_client_id: Option<String>,
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

/// The scope values of a space-separated string, each once, in order.
pub fn split(raw: &str) -> Vec<String> {
    let mut scopes: Vec<String> = vec![];
    for scope in raw.split_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

/// Resolves a space-separated scope string for `client`; an unknown or
/// ungranted resource scope is `invalid_scope`. Looks up each resource a
/// scope names once (by identifier URI, else client id; the admin API
/// needs no lookup), then `decide`s. A token is for one resource, which
/// has two names at most: a request naming more is refused unread.
pub async fn resolve(idp: &Idp, tenant: &Tenant, client: &App, raw: &str, acting: Acting) -> Result<Requested> {
    let scopes = split(raw);
    let mut prefixes: Vec<&str> = scopes.iter().filter_map(|s| s.rsplit_once('/').map(|(prefix, _)| prefix)).collect();
    prefixes.retain(|p| *p != ADMIN_RESOURCE && !p.is_empty());
    prefixes.sort_unstable();
    prefixes.dedup();
    if prefixes.len() > 2 {
        return Err(OAuthError::invalid_scope("scopes name more than one resource; request one resource per token").into());
    }
    let mut resources = std::collections::HashMap::new();
    for prefix in prefixes {
        resources.insert(prefix.to_string(), crate::directory::apps::resource_named(idp, tenant, prefix).await?);
    }
    let mut requested = decide(client, raw, acting, |prefix| match prefix {
        ADMIN_RESOURCE => Some(ADMIN_RESOURCE.to_string()),
        _ => resources.get(prefix).and_then(|app| app.as_ref().map(App::audience)),
    })?;
    requested.resource_client_id = resources
        .into_values()
        .flatten()
        .find(|app| requested.resource.as_deref() == Some(app.audience().as_str()))
        .map(|app| app.client_id);
    Ok(requested)
}

/// The scopes `client` may have from `raw`, given `audience`, which names
/// the canonical `aud` of a resource prefix (None: no such resource here).
pub fn decide(client: &App, raw: &str, acting: Acting, audience: impl Fn(&str) -> Option<String>) -> Result<Requested> {
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
        let aud = audience(prefix).ok_or_else(|| OAuthError::invalid_scope(format!("no resource '{prefix}' in this tenant")))?;
        if requested.resource.as_ref().is_some_and(|r| *r != aud) {
            return Err(OAuthError::invalid_scope("scopes name more than one resource; request one resource per token").into());
        }
        let granted = if aud == client.audience() {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::error::{Error, OAuthCode};

    fn app(client_id: &str, delegated: &[(&str, &[&str])], roles: &[(&str, &[&str])]) -> App {
        let grants = |list: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            list.iter().map(|(r, p)| (r.to_string(), p.iter().map(|s| s.to_string()).collect())).collect()
        };
        App {
            identifier_uri: Some(format!("api://{client_id}")),
            api_permissions: grants(roles),
            delegated_permissions: grants(delegated),
            ..App::example(client_id)
        }
    }

    /// This tenant's resources: `api://orders` and `api://web`.
    fn known(prefix: &str) -> Option<String> {
        ["api://orders", "api://web"].contains(&prefix).then(|| prefix.to_string())
    }

    fn refused(result: Result<Requested>) -> String {
        match result {
            Err(Error::OAuth(e)) if e.error == OAuthCode::InvalidScope => e.error_description,
            other => panic!("expected invalid_scope, got {other:?}"),
        }
    }

    #[test]
    fn openid_scopes_pass_and_unknown_ones_are_ignored() {
        let web = app("web", &[], &[]);
        let r = decide(&web, "openid  profile phone openid offline_access", Acting::ForUser, known).expect("resolves");
        assert_eq!(r.scopes, ["openid", "profile", "offline_access"]);
        assert_eq!((r.resource, r.scp), (None, vec![]));
    }

    #[test]
    fn a_resource_needs_a_grant_for_each_permission() {
        let web = app("web", &[("api://orders", &["Orders.Read", "Orders.Write"])], &[]);
        let r = decide(&web, "openid api://orders/Orders.Read", Acting::ForUser, known).expect("granted");
        assert_eq!((r.resource.as_deref(), r.scp), (Some("api://orders"), vec!["Orders.Read".to_string()]));
        let all = decide(&web, "api://orders/.default", Acting::ForUser, known).expect(".default");
        assert_eq!(all.scp, ["Orders.Read", "Orders.Write"]);
        assert!(refused(decide(&web, "api://orders/Orders.Delete", Acting::ForUser, known)).contains("not granted"));
        assert!(refused(decide(&web, "api://nowhere/x", Acting::ForUser, known)).contains("no resource"));
        assert!(refused(decide(&web, "api://orders/", Acting::ForUser, known)).contains("no permission"));
    }

    #[test]
    fn one_resource_per_token_and_grants_by_way_of_acting() {
        let both = app("both", &[("api://orders", &["Orders.Read"])], &[("api://web", &["Web.All"])]);
        assert!(refused(decide(&both, "api://orders/.default api://web/.default", Acting::ForUser, known)).contains("more than one"));
        assert!(
            refused(decide(&both, "api://web/.default", Acting::ForUser, known)).contains("no permission for"),
            "app roles are not delegated"
        );
        assert_eq!(decide(&both, "api://web/.default", Acting::AsApp, known).expect("app role").scp, ["Web.All"]);
        let own = decide(&app("web", &[], &[]), "api://web/.default", Acting::AsApp, known).expect("itself");
        assert_eq!((own.resource.as_deref(), own.scp), (Some("api://web"), vec![]));
    }
}
