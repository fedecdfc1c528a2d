//! Admin consent to delegated permissions (Graph's `oauth2PermissionGrant`
//! with `consentType` `AllPrincipals`): what a client may ask for on
//! behalf of any user of this tenant, on one resource. A grant is the
//! client's `delegated_permissions` entry for that resource, so config,
//! `requiredResourceAccess` and this API change one and the same thing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::change::Target;
use crate::directory::access::{Caller, READ_APPS};
use crate::directory::apps;
use crate::directory::filter::{Clause, Filter};
use crate::directory::paging::{self, Page, PageRequest};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{App, Tenant};

/// The most applications one list reads (their grants are few).
const MAX_APPS_READ: usize = 5000;
/// Between the client and the resource in a grant's id.
const SEPARATOR: char = '\u{1f}';

/// Graph's `oauth2PermissionGrant`. Graph names the client and the resource
/// by their service principals' ids; here they are the client id and the
/// resource's identifier URI (or client id), as tokens name them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub consent_type: &'static str,
    pub principal_id: Option<String>,
    pub resource_id: String,
    /// The delegated permissions, space-separated.
    pub scope: String,
}

/// `POST /oauth2PermissionGrants`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPermissionGrant {
    pub client_id: String,
    /// Only `AllPrincipals`: a person consents for themselves on the consent page.
    pub consent_type: String,
    #[serde(default)]
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
}

/// `PATCH /oauth2PermissionGrants/{id}`: the scope replaces the grant's.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionGrantChange {
    pub scope: String,
}

fn grant(app: &App, resource: &str, scopes: &[String]) -> PermissionGrant {
    PermissionGrant {
        id: URL_SAFE_NO_PAD.encode(format!("{}{SEPARATOR}{resource}", app.client_id)),
        client_id: app.client_id.clone(),
        consent_type: "AllPrincipals",
        principal_id: None,
        resource_id: resource.to_string(),
        scope: scopes.join(" "),
    }
}

fn grants_of(app: &App) -> impl Iterator<Item = PermissionGrant> + '_ {
    app.delegated_permissions.iter().filter(|(_, scopes)| !scopes.is_empty()).map(|(resource, scopes)| grant(app, resource, scopes))
}

/// The client and the resource a grant's id names: the id is made of
/// them, so a grant needs no record of its own.
fn named(id: &str) -> Result<(String, String)> {
    let missing = || Error::NotFound(format!("oauth2PermissionGrant {id}"));
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).map_err(|_| missing())?).map_err(|_| missing())?;
    let (client, resource) = text.split_once(SEPARATOR).ok_or_else(missing)?;
    Ok((client.to_string(), resource.to_string()))
}

/// The delegated permissions `scope` names: space-separated, each once.
fn scopes(scope: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for name in scope.split_whitespace() {
        if !apps::is_permission_name(name) {
            return Err(Error::Invalid(format!("scope: '{name}' is not a permission name")));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err(Error::Invalid("scope: name at least one delegated permission".into()));
    }
    if names.len() > apps::MAX_PERMISSIONS {
        return Err(Error::Invalid(format!("scope: at most {} permissions", apps::MAX_PERMISSIONS)));
    }
    Ok(names)
}

/// Grants in client order, then resource order; `$filter` on `clientId eq
/// '…'` (one app read) and `resourceId eq '…'`.
pub async fn list(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, page: &PageRequest) -> Result<Page<PermissionGrant>> {
    caller.require(READ_APPS)?;
    page.refuse_count()?;
    let (mut client, mut resource) = (None, None);
    for clause in &filter.clauses {
        match clause {
            Clause::Eq(property, value) if property == "clientId" => client = Some(value.text()?),
            Clause::Eq(property, value) if property == "resourceId" => resource = Some(value.text()?),
            other => return Err(filter.unsupported(other, "clientId eq '<appId>', resourceId eq '<resource>'")),
        }
    }
    let wanted = |g: &PermissionGrant| resource.as_ref().is_none_or(|r| *r == g.resource_id);
    let mut all: Vec<PermissionGrant> = Vec::new();
    if let Some(client) = client {
        all.extend(idp.store.app(&tenant.id, &client).await?.iter().flat_map(grants_of).filter(wanted));
    } else {
        let (mut after, mut read) = (None::<String>, 0);
        while read < MAX_APPS_READ {
            let apps = idp.store.apps_page(&tenant.id, after.as_deref(), 200).await?;
            let Some(last) = apps.last() else { break };
            after = Some(last.client_id.clone());
            read += apps.len();
            all.extend(apps.iter().flat_map(grants_of).filter(wanted));
        }
    }
    // The skiptoken is the id of the last grant shown.
    let start = match &page.after {
        Some(after) => all
            .iter()
            .position(|g| g.id == *after)
            .map(|at| at + 1)
            .ok_or_else(|| Error::Invalid("$skiptoken is not one this server gave out (or its grant was removed meanwhile)".into()))?,
        None => 0,
    };
    let rest: Vec<PermissionGrant> = all.into_iter().skip(start).collect();
    let more = rest.len() > page.top;
    let value: Vec<PermissionGrant> = rest.into_iter().take(page.top).collect();
    let skiptoken = more.then(|| value.last().map(|g| paging::skiptoken(&g.id))).flatten();
    Ok(Page::new(value, skiptoken))
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<PermissionGrant> {
    caller.require(READ_APPS)?;
    let (client, resource) = named(id)?;
    let app = idp.store.app(&tenant.id, &client).await?;
    let found = app.iter().flat_map(grants_of).find(|g| g.resource_id == resource);
    found.ok_or_else(|| Error::NotFound(format!("oauth2PermissionGrant {id}")))
}

/// Admin consent: the client may ask for `scope` on the resource for any
/// user, without the consent page. Changing a client's grants takes the
/// right to change the client (and, for the admin API, to make administrators).
pub async fn create(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewPermissionGrant) -> Result<PermissionGrant> {
    if new.consent_type != "AllPrincipals" {
        return Err(Error::Invalid(format!(
            "consentType: only AllPrincipals (admin consent for every user), not '{}'; a person consents for themselves on the consent page",
            new.consent_type
        )));
    }
    if new.principal_id.is_some() {
        return Err(Error::Invalid("principalId: only with consentType Principal, which this server does not take".into()));
    }
    let read = apps::changeable(idp, tenant, caller, &new.client_id).await?;
    let named = new.resource_id.trim();
    let (resource, _) = apps::resource_for(idp, tenant, &read, named)
        .await?
        .ok_or_else(|| Error::Invalid(format!("resourceId: no resource '{named}' in this tenant")))?;
    let names = scopes(&new.scope)?;
    if read.delegated_permissions.get(&resource).is_some_and(|s| !s.is_empty()) {
        return Err(Error::Conflict(format!(
            "client {} already has a grant on {resource}: change its scope (PATCH) instead",
            read.client_id
        )));
    }
    let app = regranted(idp, caller, &read, &resource, Some(names.clone())).await?;
    audit(idp, tenant, caller, &app, "Add delegated permission grant", "", &names.join(" "));
    Ok(grant(&app, &resource, &names))
}

pub async fn change(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, change: PermissionGrantChange) -> Result<()> {
    let (read, resource, before) = existing(idp, tenant, caller, id).await?;
    let names = scopes(&change.scope)?;
    let app = regranted(idp, caller, &read, &resource, Some(names.clone())).await?;
    audit(idp, tenant, caller, &app, "Update delegated permission grant", &before, &names.join(" "));
    Ok(())
}

/// Takes the grant back: the client can no longer ask for those scopes
/// without a person's own consent. Tokens already issued run out.
pub async fn remove(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    let (read, resource, before) = existing(idp, tenant, caller, id).await?;
    let app = regranted(idp, caller, &read, &resource, None).await?;
    audit(idp, tenant, caller, &app, "Remove delegated permission grant", &before, "");
    Ok(())
}

/// The app a grant is of (for `caller` to change), its resource, and its scope.
async fn existing(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<(App, String, String)> {
    let (client, resource) = named(id)?;
    let read = apps::changeable(idp, tenant, caller, &client).await?;
    let scope = match read.delegated_permissions.get(&resource) {
        Some(scopes) if !scopes.is_empty() => scopes.join(" "),
        _ => return Err(Error::NotFound(format!("oauth2PermissionGrant {id}"))),
    };
    Ok((read, resource, scope))
}

/// `read` with its grant on `resource` set to `scopes` (or removed), stored.
async fn regranted(idp: &Idp, caller: &Caller, read: &App, resource: &str, scopes: Option<Vec<String>>) -> Result<App> {
    let mut app = read.clone();
    app.platform = Some(read.platform());
    match scopes {
        Some(scopes) => app.delegated_permissions.insert(resource.to_string(), scopes),
        None => app.delegated_permissions.remove(resource),
    };
    let had_credentials = !read.passwords.is_empty() || !read.key_credentials.is_empty();
    apps::admin_grant_allowed(caller, read, &app, had_credentials)?;
    apps::swap(idp, read, &app).await?;
    Ok(app)
}

fn audit(idp: &Idp, tenant: &Tenant, caller: &Caller, app: &App, activity: &str, before: &str, after: &str) {
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %app.client_id, "{activity}");
    let target = Target {
        modified: vec![("DelegatedPermissionGrant.Scope", json!(before), json!(after))],
        ..Target::new("Application", &app.client_id, &app.display_name)
    };
    caller.changed(idp, &tenant.id, "ApplicationManagement", activity, vec![target]);
}
