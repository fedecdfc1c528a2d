//! Applications (OAuth clients) as the admin API registers and changes
//! them (Microsoft Graph's `application`). An application's `id` is its
//! `appId` (the client id): config names its apps, so a second identifier
//! would only be one more thing to look up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::change::Target;
use crate::directory::access::{Caller, ADMIN_RESOURCE, MANAGE_APPS, MANAGE_PRIVILEGE, READ_APPS};
use crate::directory::filter::{Fields, Filter};
use crate::directory::paging::{self, Page, PageRequest};
use crate::directory::MAX_DISPLAY_NAME_CHARS;
use crate::error::{Error, Result};
use crate::idp::Idp;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::keys::client_keys;
use crate::model::{App, AppRole, GrantType, KeyCredential, PasswordCredential, Platform, Tenant};
use crate::util::{address, now_ms, random_token, sha256_hex};

/// Entra's limits: redirect URIs per app, and characters per URI.
const MAX_REDIRECT_URIS: usize = 256;
const MAX_URI_CHARS: usize = 256;
/// Secrets an app may hold at once (each is checked at every token request).
const MAX_PASSWORDS: usize = 16;
/// Keys an app may hold at once (Entra's portal allows about as many).
const MAX_KEY_CREDENTIALS: usize = 16;
/// Graph's default lifetime of a secret without `endDateTime`: two years.
const DEFAULT_SECRET_LIFETIME_MS: i64 = 2 * 365 * 24 * 3600 * 1000;
/// The most permissions of each type one app may hold on one resource, and
/// the most resources it may hold permissions on.
pub(crate) const MAX_PERMISSIONS: usize = 64;
const MAX_RESOURCES: usize = 32;

/// Graph's `application`, the parts this server has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphApplication {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub sign_in_audience: &'static str,
    pub identifier_uris: Vec<String>,
    pub is_fallback_public_client: bool,
    pub web: RedirectUris,
    pub spa: RedirectUris,
    pub public_client: RedirectUris,
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub app_roles: Vec<GraphAppRole>,
    pub password_credentials: Vec<GraphPasswordCredential>,
    /// Certificates and keys for `private_key_jwt`.
    pub key_credentials: Vec<GraphKeyCredential>,
    /// Each client assertion's `jti` works once (an extension; Entra has
    /// no such switch).
    pub single_use_client_assertions: bool,
    /// Authorization requests must be pushed first (RFC 9126; an extension).
    pub require_pushed_authorization_requests: bool,
    /// Where this server posts a logout token when a session that signed in
    /// to the app ends (OIDC Back-Channel Logout 1.0; an extension).
    pub backchannel_logout_uri: Option<String>,
    #[serde(skip)]
    pub platform: Platform,
}

/// A platform's redirect URIs (Graph's `webApplication`, `spaApplication`,
/// `publicClientApplication`). Other properties (`implicitGrantSettings`)
/// are refused by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectUris {
    /// Always present when read. In a request, absent leaves the URIs as
    /// they are (so `logoutUrl` alone changes only that); `[]` clears them.
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// `web` only: the app's front-channel logout URL (OIDC Front-Channel
    /// Logout 1.0), loaded in an iframe when a session ends; `""` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
}

/// Graph's `appRole`: a role the app defines as an API. Other apps are
/// granted it (`requiredResourceAccess` of `type` `Role`, by its `id` or
/// `value`) and get its `value` in their tokens' `roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphAppRole {
    /// A GUID; a new role without one gets one.
    #[serde(default)]
    pub id: String,
    pub value: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// `Application` and/or `User` (users are not assigned app roles here yet).
    pub allowed_member_types: Vec<String>,
    #[serde(default = "enabled")]
    pub is_enabled: bool,
    /// Graph's `Application` for roles an app defines itself (taken and
    /// ignored in requests, so a read object can be sent back).
    #[serde(default)]
    pub origin: Option<String>,
}

fn enabled() -> bool {
    true
}

/// Permissions an app holds on one resource: `resourceAppId` is the
/// resource's identifier URI or client id (`api://b2b-idp-admin` for the
/// admin API), each `id` a permission's name (`User.Read.All`) where Graph
/// has a GUID. Registered here means granted (admin consent included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceAccess {
    pub id: String,
    /// `Role` (an application permission, client credentials) or `Scope`
    /// (a delegated permission, for a signed-in user).
    #[serde(rename = "type")]
    pub kind: AccessKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AccessKind {
    Role,
    Scope,
}

/// Graph's `passwordCredential`; `secretText` only in `addPassword`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphPasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub hint: Option<String>,
    pub start_date_time: Option<String>,
    pub end_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_text: Option<String>,
}

/// Graph's `keyCredential`: a public key for `private_key_jwt`. A read one
/// (no `key`) may be sent back as is to keep it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphKeyCredential {
    /// Names a key the application already has, to keep it.
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `AsymmetricX509Cert` (`key`: the certificate's DER, base64) or
    /// `JsonWebKey` (`key`: the public JWK's JSON, base64; an extension).
    #[serde(rename = "type")]
    pub kind: String,
    /// Only `Verify`: these keys verify client assertions.
    pub usage: String,
    /// Written, never read back (Graph's default).
    #[serde(default)]
    pub key: Option<String>,
    /// The certificate's SHA-1 thumbprint (read only).
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// Later than the certificate's own start, it starts the key later.
    #[serde(default)]
    pub start_date_time: Option<String>,
    /// Earlier than the certificate's own end, it ends the key sooner.
    #[serde(default)]
    pub end_date_time: Option<String>,
}

impl From<&KeyCredential> for GraphKeyCredential {
    fn from(k: &KeyCredential) -> GraphKeyCredential {
        let thumbprint = k.x5t.as_deref().and_then(|t| URL_SAFE_NO_PAD.decode(t).ok()).map(|t| STANDARD.encode(t));
        GraphKeyCredential {
            key_id: Some(k.key_id.clone()),
            display_name: k.display_name.clone(),
            kind: if k.certificate.is_some() { CERTIFICATE } else { JSON_WEB_KEY }.into(),
            usage: "Verify".into(),
            key: None,
            custom_key_identifier: thumbprint,
            start_date_time: Some(crate::util::rfc3339_ms(k.start_ms)),
            end_date_time: Some(crate::util::rfc3339_ms(k.end_ms)),
        }
    }
}

const CERTIFICATE: &str = "AsymmetricX509Cert";
const JSON_WEB_KEY: &str = "JsonWebKey";

/// `POST /applications` and `PATCH /applications/{id}`: absent properties
/// are left as they are (a POST needs `displayName`); others are refused by
/// name.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationFields {
    pub display_name: Option<String>,
    /// Only `AzureADMyOrg`: guests are in this directory, so they are its org.
    pub sign_in_audience: Option<String>,
    /// At most one (`api://…` or https), unique in the tenant.
    pub identifier_uris: Option<Vec<String>>,
    pub is_fallback_public_client: Option<bool>,
    pub web: Option<RedirectUris>,
    pub spa: Option<RedirectUris>,
    pub public_client: Option<RedirectUris>,
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    /// Replaces the app's roles; an enabled role must be disabled
    /// (`isEnabled: false`) in one change before it is removed in another.
    pub app_roles: Option<Vec<GraphAppRole>>,
    /// Replaces the app's keys: new ones with `key`, kept ones by `keyId`.
    pub key_credentials: Option<Vec<GraphKeyCredential>>,
    pub single_use_client_assertions: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    /// https (http only on loopback), no fragment, and not an internal
    /// address unless `b2b.allowed_internal_networks` names it; `""` clears it.
    pub backchannel_logout_uri: Option<String>,
}

/// `POST …/addPassword`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassword {
    #[serde(default)]
    pub password_credential: NewPassword,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPassword {
    pub display_name: Option<String>,
    /// Default: two years from now.
    pub end_date_time: Option<String>,
}

/// `POST …/removePassword`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovePassword {
    pub key_id: String,
}

/// The key id under which the secret of config or the command line is
/// listed (stable, so `removePassword` can name it).
fn registered_secret_key_id(app: &App) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{}/{}/secret", app.tenant_id, app.client_id).as_bytes()).to_string()
}

impl From<&App> for GraphApplication {
    fn from(app: &App) -> GraphApplication {
        let uris_on = |platform: Platform| RedirectUris {
            redirect_uris: Some(if app.platform() == platform { app.redirect_uris.clone() } else { vec![] }),
            logout_url: None,
        };
        let web = RedirectUris { logout_url: app.frontchannel_logout_uri.clone(), ..uris_on(Platform::Web) };
        let (spa, public_client) = (uris_on(Platform::Spa), uris_on(Platform::PublicClient));
        let mut password_credentials: Vec<GraphPasswordCredential> = app
            .secret_hash
            .iter()
            .map(|_| GraphPasswordCredential {
                key_id: registered_secret_key_id(app),
                display_name: Some("registered by config or the command line".into()),
                hint: None,
                start_date_time: None,
                end_date_time: None,
                secret_text: None,
            })
            .collect();
        password_credentials.extend(app.passwords.iter().map(|p| GraphPasswordCredential {
            key_id: p.key_id.clone(),
            display_name: p.display_name.clone(),
            hint: Some(p.hint.clone()),
            start_date_time: Some(crate::util::rfc3339_ms(p.start_ms)),
            end_date_time: Some(crate::util::rfc3339_ms(p.end_ms)),
            secret_text: None,
        }));
        GraphApplication {
            id: app.client_id.clone(),
            app_id: app.client_id.clone(),
            display_name: app.display_name.clone(),
            sign_in_audience: "AzureADMyOrg",
            identifier_uris: app.identifier_uri.iter().cloned().collect(),
            is_fallback_public_client: app.platform() == Platform::PublicClient,
            web,
            spa,
            public_client,
            required_resource_access: resource_access(app),
            app_roles: app.app_roles.iter().map(GraphAppRole::from).collect(),
            password_credentials,
            key_credentials: app.key_credentials.iter().map(GraphKeyCredential::from).collect(),
            single_use_client_assertions: app.single_use_client_assertions,
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
            backchannel_logout_uri: app.backchannel_logout_uri.clone(),
            platform: app.platform(),
        }
    }
}

/// The app's grants as Graph lists them: one entry per resource.
fn resource_access(app: &App) -> Vec<RequiredResourceAccess> {
    let mut by_resource: BTreeMap<&str, Vec<ResourceAccess>> = BTreeMap::new();
    for (grants, kind) in [(&app.api_permissions, AccessKind::Role), (&app.delegated_permissions, AccessKind::Scope)] {
        for (resource, permissions) in grants {
            let list = by_resource.entry(resource).or_default();
            list.extend(permissions.iter().map(|id| ResourceAccess { id: id.clone(), kind }));
        }
    }
    by_resource
        .into_iter()
        .map(|(resource, access)| RequiredResourceAccess { resource_app_id: resource.into(), resource_access: access })
        .collect()
}

/// The app a resource name denotes: its identifier URI (`api://…`), else
/// its client id (how scopes and grants name resources).
pub async fn resource_named(idp: &Idp, tenant: &Tenant, name: &str) -> Result<Option<App>> {
    match idp.store.app_by_identifier_uri(&tenant.id, name).await? {
        Some(app) => Ok(Some(app)),
        None => Ok(idp.store.app(&tenant.id, name).await?),
    }
}

async fn stored(idp: &Idp, tenant: &Tenant, id: &str) -> Result<App> {
    idp.store.app(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("application {id}")))
}

/// The app `id`, for `caller` to change: `MANAGE_APPS` (checked before
/// the lookup, so a caller without it cannot probe which apps exist), and
/// `MANAGE_PRIVILEGE` too for an app that holds admin API permissions.
pub(crate) async fn changeable(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<App> {
    caller.require(MANAGE_APPS)?;
    if crate::directory::portal::is_built_in(id) {
        return Err(Error::Forbidden(format!("{id} is the built-in portal; it cannot be changed")));
    }
    let app = stored(idp, tenant, id).await?;
    if app.holds_admin_permissions() {
        caller.require(MANAGE_PRIVILEGE)?;
    }
    Ok(app)
}

/// What `$filter` may test on applications.
const APP_FIELDS: Fields<App> = Fields {
    text: &[
        ("appId", |a| Some(a.client_id.as_str())),
        ("id", |a| Some(a.client_id.as_str())),
        ("displayName", |a| Some(a.display_name.as_str())),
    ],
    flags: &[],
};

/// One page of applications, in client id order; `appId eq '…'` is one lookup.
pub async fn list(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, request: &PageRequest) -> Result<Page<GraphApplication>> {
    caller.require(READ_APPS)?;
    let matcher = filter.matcher(&APP_FIELDS)?;
    let page = match filter.key(&["appId", "id"]) {
        Some(id) => {
            let found = idp.store.app(&tenant.id, id).await?;
            Page::whole(found.into_iter().filter(|a| matcher.matches(a)).collect(), request)
        }
        None => {
            let fetch = |after: Option<String>, limit| async move { idp.store.apps_page(&tenant.id, after.as_deref(), limit).await };
            paging::scan(request, &matcher, |a: &App| a.client_id.as_str(), fetch).await?
        }
    };
    Ok(page.map(|a| GraphApplication::from(a)))
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<GraphApplication> {
    caller.require(READ_APPS)?;
    Ok(GraphApplication::from(&stored(idp, tenant, id).await?))
}

/// Registers an application under a new client id. A `web` app (or one
/// with no redirect URIs: a daemon) is confidential and needs a secret
/// from `addPassword` before it can authenticate; `spa` and `publicClient`
/// apps are public and use PKCE.
pub async fn create(idp: &Idp, tenant: &Tenant, caller: &Caller, fields: ApplicationFields) -> Result<GraphApplication> {
    caller.require(MANAGE_APPS)?;
    if fields.display_name.is_none() {
        return Err(Error::Invalid("displayName: required".into()));
    }
    let mut app = App {
        tenant_id: tenant.id.clone(),
        client_id: uuid::Uuid::new_v4().to_string(),
        display_name: String::new(),
        secret_hash: None,
        passwords: vec![],
        platform: Some(Platform::Web),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: grants_of(Platform::Web),
        signing_alg: None,
        identifier_uri: None,
        api_permissions: BTreeMap::new(),
        delegated_permissions: BTreeMap::new(),
        require_consent: false,
        app_roles: vec![],
        home_page_url: None,
        key_credentials: vec![],
        single_use_client_assertions: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        frontchannel_logout_uri: None,
    };
    let modified = apply(idp, tenant, caller, &mut app, fields).await?;
    idp.store.put_app(&app).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %app.client_id, "application registered");
    let target = Target { modified, ..Target::new("Application", &app.client_id, &app.display_name) };
    caller.changed(idp, &tenant.id, "ApplicationManagement", "Add application", vec![target]);
    Ok(GraphApplication::from(&app))
}

pub async fn update(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, fields: ApplicationFields) -> Result<()> {
    let read = changeable(idp, tenant, caller, id).await?;
    let mut app = read.clone();
    app.platform = Some(read.platform());
    let modified = apply(idp, tenant, caller, &mut app, fields).await?;
    if modified.is_empty() {
        return Ok(());
    }
    swap(idp, &read, &app).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %id, "application updated");
    let target = Target { modified, ..Target::new("Application", id, &app.display_name) };
    caller.changed(idp, &tenant.id, "ApplicationManagement", "Update application", vec![target]);
    Ok(())
}

/// Deletes an application: its clients can no longer authenticate or
/// refresh. Tokens already issued live out their (short) lifetime. An app
/// declared in config comes back at the next start (config owns it).
pub async fn delete(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    let app = changeable(idp, tenant, caller, id).await?;
    if !idp.store.delete_app(&tenant.id, id).await? {
        return Err(Error::NotFound(format!("application {id}")));
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %id, "application deleted");
    caller.changed(idp, &tenant.id, "ApplicationManagement", "Delete application", vec![Target::new("Application", id, &app.display_name)]);
    Ok(())
}

/// Adds a client secret: returned once in `secretText`, stored as its
/// hash, refused at the token endpoint after `endDateTime`.
pub async fn add_password(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, new: NewPassword) -> Result<GraphPasswordCredential> {
    let read = changeable(idp, tenant, caller, id).await?;
    if read.is_public() {
        return Err(Error::Invalid(format!(
            "application {id} is a public client (spa or publicClient): it uses PKCE, not a secret; register its redirect URIs under web to make it confidential"
        )));
    }
    if read.passwords.len() >= MAX_PASSWORDS {
        return Err(Error::Invalid(format!("an application holds at most {MAX_PASSWORDS} secrets; remove one first")));
    }
    let display_name = new.display_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if display_name.as_ref().is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME_CHARS) {
        return Err(Error::Invalid(format!("passwordCredential.displayName: at most {MAX_DISPLAY_NAME_CHARS} characters")));
    }
    let now = now_ms();
    let end_ms = match new.end_date_time {
        None => now + DEFAULT_SECRET_LIFETIME_MS,
        Some(text) => crate::util::parse_rfc3339_ms(&text)
            .filter(|end| *end > now)
            .ok_or_else(|| Error::Invalid(format!("passwordCredential.endDateTime: '{text}' is not a time in the future (RFC 3339)")))?,
    };
    let secret = random_token();
    let credential = PasswordCredential {
        key_id: uuid::Uuid::new_v4().to_string(),
        display_name,
        hint: secret.chars().take(3).collect(),
        secret_hash: sha256_hex(&secret),
        start_ms: now,
        end_ms,
    };
    let mut app = read.clone();
    app.platform = Some(read.platform());
    app.passwords.push(credential.clone());
    swap(idp, &read, &app).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %id, key = %credential.key_id, "client secret added");
    let target = Target {
        modified: vec![("KeyDescription", json!([]), json!([credential.key_id]))],
        ..Target::new("Application", id, &app.display_name)
    };
    caller.changed(idp, &tenant.id, "ApplicationManagement", "Update application – Certificates and secrets management", vec![target]);
    Ok(GraphPasswordCredential {
        key_id: credential.key_id,
        display_name: credential.display_name,
        hint: Some(credential.hint),
        start_date_time: Some(crate::util::rfc3339_ms(credential.start_ms)),
        end_date_time: Some(crate::util::rfc3339_ms(credential.end_ms)),
        secret_text: Some(secret),
    })
}

/// Removes a client secret at once (the one config or the command line
/// registered too; config's comes back at the next start).
pub async fn remove_password(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, key_id: &str) -> Result<()> {
    let read = changeable(idp, tenant, caller, id).await?;
    let mut app = read.clone();
    app.platform = Some(read.platform());
    if read.secret_hash.is_some() && key_id == registered_secret_key_id(&read) {
        app.secret_hash = None;
    } else if let Some(at) = read.passwords.iter().position(|p| p.key_id == key_id) {
        app.passwords.remove(at);
    } else {
        return Err(Error::NotFound(format!("password credential {key_id} of application {id}")));
    }
    swap(idp, &read, &app).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, app = %id, key = %key_id, "client secret removed");
    let target =
        Target { modified: vec![("KeyDescription", json!([key_id]), json!([]))], ..Target::new("Application", id, &app.display_name) };
    caller.changed(idp, &tenant.id, "ApplicationManagement", "Update application – Certificates and secrets management", vec![target]);
    Ok(())
}

pub(crate) async fn swap(idp: &Idp, read: &App, next: &App) -> Result<()> {
    if !idp.store.replace_app(read, next).await? {
        return Err(Error::Conflict(format!("application {} changed meanwhile; try again", read.client_id)));
    }
    Ok(())
}

fn grants_of(platform: Platform) -> Vec<GrantType> {
    match platform {
        Platform::Web => vec![GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials],
        Platform::Spa => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        // Mobile and desktop apps: the device code flow too (Entra's "public client flows").
        Platform::PublicClient => vec![GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::DeviceCode],
    }
}

type Modified = Vec<(&'static str, serde_json::Value, serde_json::Value)>;

/// Checks `fields` and applies them to `app`; returns what changed.
async fn apply(idp: &Idp, tenant: &Tenant, caller: &Caller, app: &mut App, fields: ApplicationFields) -> Result<Modified> {
    let mut modified = Modified::new();
    // Credentials someone else may have added (a key added in this same
    // change comes from the caller who grants).
    let had_credentials = !app.passwords.is_empty() || !app.key_credentials.is_empty();
    if let Some(audience) = fields.sign_in_audience.filter(|a| a != "AzureADMyOrg") {
        return Err(Error::Invalid(format!(
            "signInAudience: only AzureADMyOrg ('{audience}' given); guests of other organisations are invited into this directory"
        )));
    }
    if let Some(name) = fields.display_name {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(Error::Invalid(format!("displayName must be 1 to {MAX_DISPLAY_NAME_CHARS} characters")));
        }
        if name != app.display_name {
            modified.push(("DisplayName", json!(app.display_name), json!(name)));
            app.display_name = name;
        }
    }
    apply_platform(app, &fields.web, &fields.spa, &fields.public_client, fields.is_fallback_public_client, &mut modified)?;
    apply_logout_uris(idp, app, fields.web.as_ref().and_then(|w| w.logout_url.as_deref()), fields.backchannel_logout_uri, &mut modified)
        .await?;
    if let Some(uris) = fields.identifier_uris {
        let uri = identifier_uri(idp, tenant, app, uris).await?;
        if uri != app.identifier_uri {
            modified.push(("IdentifierUris", json!(app.identifier_uri), json!(uri)));
            app.identifier_uri = uri;
        }
    }
    if let Some(roles) = fields.app_roles {
        let roles = checked_app_roles(app, roles)?;
        if roles != app.app_roles {
            let shown = |roles: &[AppRole]| json!(roles.iter().map(|r| &r.value).collect::<Vec<_>>());
            modified.push(("AppRoles", shown(&app.app_roles), shown(&roles)));
            app.app_roles = roles;
        }
    }
    if let Some(keys) = fields.key_credentials {
        let keys = checked_keys(app, keys)?;
        if keys != app.key_credentials {
            let ids = |keys: &[KeyCredential]| json!(keys.iter().map(|k| &k.key_id).collect::<Vec<_>>());
            modified.push(("KeyDescription", ids(&app.key_credentials), ids(&keys)));
            app.key_credentials = keys;
        }
    }
    if let Some(single) = fields.single_use_client_assertions.filter(|s| *s != app.single_use_client_assertions) {
        modified.push(("SingleUseClientAssertions", json!(app.single_use_client_assertions), json!(single)));
        app.single_use_client_assertions = single;
    }
    if let Some(par) = fields.require_pushed_authorization_requests.filter(|p| *p != app.require_pushed_authorization_requests) {
        modified.push(("RequirePushedAuthorizationRequests", json!(app.require_pushed_authorization_requests), json!(par)));
        app.require_pushed_authorization_requests = par;
    }
    if app.is_public() && !app.key_credentials.is_empty() {
        return Err(Error::Invalid(
            "keyCredentials: a public client (spa or publicClient) has no keys; it uses PKCE. Register web redirect URIs (or none) to make it confidential".into(),
        ));
    }
    if let Some(access) = fields.required_resource_access {
        let (roles, scopes) = grants(idp, tenant, app, access).await?;
        let before = app.clone();
        app.api_permissions = roles;
        app.delegated_permissions = scopes;
        admin_grant_allowed(caller, &before, app, had_credentials)?;
        if app.api_permissions != before.api_permissions || app.delegated_permissions != before.delegated_permissions {
            modified.push(("RequiredResourceAccess", json!(resource_access(&before)), json!(resource_access(app))));
        }
    }
    Ok(modified)
}

/// The keys `given` makes: new ones parsed from `key`, kept ones by `keyId`.
fn checked_keys(app: &App, given: Vec<GraphKeyCredential>) -> Result<Vec<KeyCredential>> {
    if given.len() > MAX_KEY_CREDENTIALS {
        return Err(Error::Invalid(format!("keyCredentials: at most {MAX_KEY_CREDENTIALS}")));
    }
    let now = now_ms();
    let mut keys: Vec<KeyCredential> = Vec::new();
    for (i, k) in given.into_iter().enumerate() {
        let bad = |what: String| Error::Invalid(format!("keyCredentials[{i}]: {what}"));
        if k.usage != "Verify" {
            return Err(bad(format!("usage must be Verify (the key verifies client assertions), not '{}'", k.usage)));
        }
        let display_name = k.display_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if display_name.as_ref().is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME_CHARS) {
            return Err(bad(format!("displayName: at most {MAX_DISPLAY_NAME_CHARS} characters")));
        }
        let key = match (k.key, k.key_id) {
            (Some(key), _) => {
                let bytes = STANDARD.decode(key.trim()).map_err(|_| bad("key is not base64".into()))?;
                let parsed = match k.kind.as_str() {
                    CERTIFICATE => client_keys::from_certificate(&bytes, display_name),
                    JSON_WEB_KEY => serde_json::from_slice(&bytes)
                        .map_err(|e| format!("key is not a JWK's JSON: {e}"))
                        .and_then(|jwk| client_keys::from_jwk(&jwk, display_name)),
                    other => Err(format!("type must be {CERTIFICATE} or {JSON_WEB_KEY}, not '{other}'")),
                };
                let mut key = parsed.map_err(bad)?;
                let time = |field: &str, text: &str| {
                    crate::util::parse_rfc3339_ms(text).ok_or_else(|| bad(format!("{field} '{text}' is not RFC 3339")))
                };
                if let Some(text) = k.start_date_time {
                    key.start_ms = key.start_ms.max(time("startDateTime", &text)?);
                }
                if let Some(text) = k.end_date_time {
                    key.end_ms = key.end_ms.min(time("endDateTime", &text)?);
                }
                if key.end_ms <= now {
                    return Err(bad("the key has expired (the certificate's notAfter or endDateTime)".into()));
                }
                key
            }
            (None, Some(id)) => app
                .key_credentials
                .iter()
                .find(|existing| existing.key_id == id)
                .cloned()
                .ok_or_else(|| bad(format!("no key, and keyId {id} is not one of this application's keys")))?,
            (None, None) => return Err(bad("key is required for a new key (the certificate or JWK, base64)".into())),
        };
        if keys.iter().any(|other| other.key_id == key.key_id || other.jwk.algorithm == key.jwk.algorithm) {
            return Err(bad("this key is listed twice".into()));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The redirect URIs of `web`, `spa` or `publicClient` (one platform per
/// app here) and `isFallbackPublicClient`.
fn apply_platform(
    app: &mut App,
    web: &Option<RedirectUris>,
    spa: &Option<RedirectUris>,
    public_client: &Option<RedirectUris>,
    fallback_public: Option<bool>,
    modified: &mut Modified,
) -> Result<()> {
    let given = [(Platform::Web, "web", web), (Platform::Spa, "spa", spa), (Platform::PublicClient, "publicClient", public_client)];
    for (_, field, g) in &given[1..] {
        if g.as_ref().is_some_and(|g| g.logout_url.is_some()) {
            return Err(Error::Invalid(format!("{field}.logoutUrl: a logout URL belongs under web (web.logoutUrl), as in Graph")));
        }
    }
    let with_uris: Vec<_> = given.iter().filter(|(_, _, g)| uris_of(g).is_some_and(|u| !u.is_empty())).collect();
    if with_uris.len() > 1 {
        return Err(Error::Invalid(
            "an application here is one kind of client: give its redirect URIs under one of web, spa or publicClient".into(),
        ));
    }
    let current = app.platform();
    let (platform, uris) = match (with_uris.first(), fallback_public) {
        (Some((Platform::Web, ..)), Some(true)) => {
            return Err(Error::Invalid("isFallbackPublicClient: a web application is confidential; use publicClient redirect URIs".into()))
        }
        (Some((platform, field, uris)), _) => (*platform, Some(checked_uris(field, *platform, &uris_of(uris))?)),
        (None, _) => {
            // Emptied lists clear the current platform's URIs; the others say nothing.
            let cleared = given.iter().any(|(p, _, g)| *p == current && uris_of(g).is_some());
            let platform = match fallback_public {
                Some(true) if current == Platform::Web => Platform::PublicClient,
                Some(false) if current == Platform::PublicClient => Platform::Web,
                _ => current,
            };
            (platform, cleared.then(Vec::new))
        }
    };
    if platform != current {
        if platform != Platform::Web && app.has_secret() {
            return Err(Error::Invalid("a public client has no secrets: remove this application's secrets first".into()));
        }
        modified.push(("Platform", json!(current), json!(platform)));
        app.platform = Some(platform);
        app.grant_types = grants_of(platform);
        if uris.is_none() && !app.redirect_uris.is_empty() {
            // The URIs move with the app to its new platform.
            check_uris_for(platform, &app.redirect_uris).map_err(Error::Invalid)?;
        }
    }
    if let Some(uris) = uris.filter(|u| *u != app.redirect_uris) {
        modified.push(("RedirectUris", json!(app.redirect_uris), json!(uris)));
        // Entra's rule: a post-logout redirect must be a registered redirect URI.
        app.post_logout_redirect_uris = uris.clone();
        app.redirect_uris = uris;
    }
    Ok(())
}

/// `web.logoutUrl` (front-channel) and `backchannelLogoutUri`; `""` clears
/// either. This server posts to the back-channel URI itself, so it must not
/// lead to an internal address (SSRF), unless it is this server's own; the
/// browser loads the front-channel one, so that is not checked.
async fn apply_logout_uris(idp: &Idp, app: &mut App, front: Option<&str>, back: Option<String>, modified: &mut Modified) -> Result<()> {
    let checked = |field: &str, given: &str| match given.trim() {
        "" => Ok(None),
        uri => logout_uri(field, uri).map(Some).map_err(Error::Invalid),
    };
    if let Some(given) = front {
        let uri = checked("web.logoutUrl", given)?;
        if uri != app.frontchannel_logout_uri {
            modified.push(("LogoutUrl", json!(app.frontchannel_logout_uri), json!(uri)));
            app.frontchannel_logout_uri = uri;
        }
    }
    if let Some(given) = back {
        let uri = checked("backchannelLogoutUri", &given)?;
        if uri != app.backchannel_logout_uri {
            if let Some(uri) = &uri {
                let url = url::Url::parse(uri).map_err(|e| Error::Invalid(format!("backchannelLogoutUri: {e}")))?;
                // Judged on the parsed URL (dot segments resolved), as the sender judges it.
                let own = url.as_str().starts_with(&format!("{}/", idp.base_url().trim_end_matches('/')));
                if !own {
                    idp.home.egress().check_url_resolved(&url).await.map_err(|e| match e {
                        Error::Invalid(why) => Error::Invalid(format!("backchannelLogoutUri: {why}")),
                        other => other,
                    })?;
                }
            }
            modified.push(("BackchannelLogoutUri", json!(app.backchannel_logout_uri), json!(uri)));
            app.backchannel_logout_uri = uri;
        }
    }
    Ok(())
}

/// A logout URI (back- or front-channel) as config, the command line and
/// the admin API register it: trimmed, absolute, at most `MAX_URI_CHARS`,
/// https (http only on loopback, where no one else listens), and without a
/// fragment (OIDC Back-Channel Logout 1.0 §2.2, Front-Channel Logout 1.0 §2).
/// `field` names the setting in the error.
pub fn logout_uri(field: &str, uri: &str) -> std::result::Result<String, String> {
    let uri = uri.trim();
    let shown: String = uri.chars().take(80).collect();
    if uri.chars().count() > MAX_URI_CHARS {
        return Err(format!("{field}: at most {MAX_URI_CHARS} characters"));
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("{field}: '{shown}' is not an absolute URL ({e})"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{field}: '{shown}': no fragment (#)"));
    }
    if !address::is_web_url(&parsed) {
        return Err(format!("{field}: '{shown}': https, or http only on localhost or a loopback address"));
    }
    Ok(uri.to_string())
}

/// The redirect URIs a platform's object gives (absent: left as they are).
fn uris_of(given: &Option<RedirectUris>) -> Option<&Vec<String>> {
    given.as_ref().and_then(|g| g.redirect_uris.as_ref())
}

fn checked_uris(field: &str, platform: Platform, uris: &Option<&Vec<String>>) -> Result<Vec<String>> {
    let uris: Vec<String> = uris.map(|u| u.iter().map(|u| u.trim().to_string()).collect()).unwrap_or_default();
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::Invalid(format!("{field}.redirectUris: at most {MAX_REDIRECT_URIS}")));
    }
    check_uris_for(platform, &uris).map_err(|e| Error::Invalid(format!("{field}.redirectUris: {e}")))?;
    let mut unique = uris.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != uris.len() {
        return Err(Error::Invalid(format!("{field}.redirectUris: listed twice")));
    }
    Ok(uris)
}

/// Redirect URIs are matched exactly, so they must be exact: absolute, no
/// fragment, no wildcard; https, or http on loopback. A native app
/// (`publicClient`) may also use its own scheme (`msal{appId}://auth`).
pub fn check_uris_for(platform: Platform, uris: &[String]) -> std::result::Result<(), String> {
    const NEVER: &[&str] = &["javascript", "data", "file", "vbscript", "blob", "about", "http", "https"];
    for uri in uris {
        let parsed = url::Url::parse(uri).map_err(|e| format!("'{uri}': {e}"))?;
        let custom_scheme = platform == Platform::PublicClient && !NEVER.contains(&parsed.scheme());
        let problem = if uri.chars().count() > MAX_URI_CHARS {
            Some(format!("at most {MAX_URI_CHARS} characters"))
        } else if parsed.fragment().is_some() {
            Some("no fragment (#)".to_string())
        } else if uri.contains('*') {
            Some("no wildcards".to_string())
        } else if !custom_scheme && !address::is_web_url(&parsed) {
            Some("https, or http only on localhost or a loopback address".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(format!("'{}': {problem}", uri.chars().take(80).collect::<String>()));
        }
    }
    Ok(())
}

/// An app's identifier URI: `api://…` or https, at most one, never the
/// admin API's and never another app's name (scopes find resources by it).
async fn identifier_uri(idp: &Idp, tenant: &Tenant, app: &App, uris: Vec<String>) -> Result<Option<String>> {
    let [uri] = uris.as_slice() else {
        return match uris.len() {
            0 => Ok(None),
            _ => Err(Error::Invalid("identifierUris: one identifier URI per application here".into())),
        };
    };
    let uri = uri.trim().trim_end_matches('/').to_string();
    let well_formed =
        url::Url::parse(&uri).is_ok_and(|u| matches!(u.scheme(), "api" | "https") && u.fragment().is_none() && u.query().is_none());
    if !well_formed || uri.chars().count() > MAX_URI_CHARS || uri.contains('*') {
        return Err(Error::Invalid(format!("identifierUris: '{uri}' is not an api:// or https URI without query or fragment")));
    }
    let host = url::Url::parse(&uri).ok().filter(|u| u.scheme() == "https").and_then(|u| u.host_str().map(str::to_string));
    if let Some(host) = host.filter(|h| !tenant.owns_domain(h)) {
        return Err(Error::Invalid(format!(
            "identifierUris: an https identifier URI must be on one of the tenant's domains ({}), not {host}; or use api://",
            tenant.domains.join(", ")
        )));
    }
    if uri == ADMIN_RESOURCE {
        return Err(Error::Invalid(format!("identifierUris: {ADMIN_RESOURCE} is the admin API's")));
    }
    let taken = resource_named(idp, tenant, &uri).await?;
    if taken.is_some_and(|other| other.client_id != app.client_id) {
        return Err(Error::Conflict(format!("identifierUris: another application is '{uri}'")));
    }
    Ok(Some(uri))
}

type Grants = BTreeMap<String, Vec<String>>;

/// A permission's name as grants and tokens carry it: printable, no `/`,
/// at most 128 bytes; `.default` is how a client asks, not a permission.
pub(crate) fn is_permission_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/') && name != ".default"
}

/// The resource `named` (an identifier URI or client id, or the admin
/// API) as grants name it (its audience), and the app roles it defines.
/// `app` is taken as this change leaves it (its stored record may be older).
pub(crate) async fn resource_for(idp: &Idp, tenant: &Tenant, app: &App, named: &str) -> Result<Option<(String, Vec<AppRole>)>> {
    if named == ADMIN_RESOURCE {
        return Ok(Some((ADMIN_RESOURCE.to_string(), vec![])));
    }
    let resource = match named == app.client_id || app.identifier_uri.as_deref() == Some(named) {
        true => Some(app.clone()),
        false => resource_named(idp, tenant, named).await?,
    };
    Ok(resource.map(|r| (r.audience(), r.app_roles)))
}

/// Granting admin API permissions makes an administrator: only a caller
/// who may do that, and not to an app holding credentials (`had_credentials`,
/// read before the change) that someone else may have added.
pub(crate) fn admin_grant_allowed(caller: &Caller, before: &App, after: &App, had_credentials: bool) -> Result<()> {
    let grants_admin = |app: &App| app.holds_admin_permissions();
    if grants_admin(after) {
        caller.require(MANAGE_PRIVILEGE)?;
    }
    if !grants_admin(before) && grants_admin(after) && had_credentials {
        return Err(Error::Invalid(
            "granting api://b2b-idp-admin permissions to an application with secrets or keys added through the admin API: remove them first (removePassword, keyCredentials), then add new ones".into(),
        ));
    }
    Ok(())
}

/// `requiredResourceAccess` as grants (application, delegated) keyed by
/// each resource's audience; every resource must exist here.
async fn grants(idp: &Idp, tenant: &Tenant, app: &App, access: Vec<RequiredResourceAccess>) -> Result<(Grants, Grants)> {
    if access.len() > MAX_RESOURCES {
        return Err(Error::Invalid(format!("requiredResourceAccess: at most {MAX_RESOURCES} resources")));
    }
    let (mut roles, mut scopes) = (Grants::new(), Grants::new());
    for entry in access {
        let named = entry.resource_app_id.trim();
        let (audience, defined) = resource_for(idp, tenant, app, named)
            .await?
            .ok_or_else(|| Error::Invalid(format!("requiredResourceAccess: no resource '{named}' in this tenant")))?;
        if entry.resource_access.len() > MAX_PERMISSIONS {
            return Err(Error::Invalid(format!("requiredResourceAccess: at most {MAX_PERMISSIONS} permissions per resource")));
        }
        for permission in entry.resource_access {
            let name = permission.id.trim();
            if !is_permission_name(name) {
                return Err(Error::Invalid(format!("requiredResourceAccess: '{name}' is not a permission name")));
            }
            // A resource that defines app roles is granted only those (by
            // id, as Graph names them, or by value), as their value.
            let name = match permission.kind {
                AccessKind::Role if !defined.is_empty() => defined
                    .iter()
                    .find(|r| {
                        (r.id == name || r.value == name) && r.is_enabled && r.allowed_member_types.iter().any(|t| t == "Application")
                    })
                    .map(|r| r.value.as_str())
                    .ok_or_else(|| Error::Invalid(format!("requiredResourceAccess: '{named}' has no enabled application role '{name}'")))?,
                _ => name,
            };
            let list = match permission.kind {
                AccessKind::Role => roles.entry(audience.clone()).or_default(),
                AccessKind::Scope => scopes.entry(audience.clone()).or_default(),
            };
            if !list.iter().any(|p| p == name) {
                list.push(name.to_string());
            }
            if list.len() > MAX_PERMISSIONS {
                return Err(Error::Invalid(format!(
                    "requiredResourceAccess: at most {MAX_PERMISSIONS} permissions of each type per resource"
                )));
            }
        }
    }
    Ok((roles, scopes))
}

impl From<&AppRole> for GraphAppRole {
    fn from(role: &AppRole) -> GraphAppRole {
        GraphAppRole {
            id: role.id.clone(),
            value: role.value.clone(),
            display_name: role.display_name.clone(),
            description: role.description.clone(),
            allowed_member_types: role.allowed_member_types.clone(),
            is_enabled: role.is_enabled,
            origin: Some("Application".into()),
        }
    }
}

/// Entra's limits on app roles.
const MAX_APP_ROLES: usize = 100;
const MAX_ROLE_VALUE_CHARS: usize = 120;

/// The app roles an app may define: each with a unique id and value (no
/// spaces, as it lands in tokens), a name, and members it allows; an
/// enabled role is disabled before it is removed (Graph's rule), so no
/// grant of it vanishes by accident.
fn checked_app_roles(app: &App, given: Vec<GraphAppRole>) -> Result<Vec<AppRole>> {
    if given.len() > MAX_APP_ROLES {
        return Err(Error::Invalid(format!("appRoles: at most {MAX_APP_ROLES}")));
    }
    let mut roles: Vec<AppRole> = Vec::with_capacity(given.len());
    for role in given {
        let value = role.value.trim().to_string();
        let well_formed = (1..=MAX_ROLE_VALUE_CHARS).contains(&value.chars().count())
            && value.chars().all(|c| c.is_ascii_graphic())
            && !value.starts_with('.');
        if !well_formed {
            return Err(Error::Invalid(format!(
                "appRoles.value '{value}': 1 to {MAX_ROLE_VALUE_CHARS} printable characters without spaces, not starting with '.'"
            )));
        }
        let display_name = role.display_name.trim().to_string();
        if display_name.is_empty() || display_name.chars().count() > MAX_DISPLAY_NAME_CHARS || role.description.chars().count() > 1000 {
            return Err(Error::Invalid(format!(
                "appRoles '{value}': a displayName of 1 to {MAX_DISPLAY_NAME_CHARS} characters, a description of at most 1000"
            )));
        }
        let kinds = &role.allowed_member_types;
        if kinds.is_empty() || kinds.len() > 2 || kinds.iter().any(|k| k != "Application" && k != "User") {
            return Err(Error::Invalid(format!("appRoles '{value}': allowedMemberTypes is Application and/or User")));
        }
        let id = match role.id.trim() {
            "" => uuid::Uuid::new_v4().to_string(),
            id => uuid::Uuid::parse_str(id).map_err(|_| Error::Invalid(format!("appRoles '{value}': id must be a GUID")))?.to_string(),
        };
        if roles.iter().any(|r| r.id == id || r.value == value) {
            return Err(Error::Invalid(format!("appRoles: '{value}' (or its id) is listed twice")));
        }
        roles.push(AppRole {
            id,
            value,
            display_name,
            description: role.description,
            allowed_member_types: kinds.clone(),
            is_enabled: role.is_enabled,
        });
    }
    if let Some(dropped) = app.app_roles.iter().find(|old| old.is_enabled && !roles.iter().any(|r| r.id == old.id)) {
        return Err(Error::Invalid(format!("appRoles: disable '{}' (isEnabled false) before removing it", dropped.value)));
    }
    Ok(roles)
}
