//! The tenant's own portal: the admin console (`/{tenant}/admin/`) and the
//! user's My Apps (`/{tenant}/myapps`, Entra's Access Panel).
//!
//! Both sign in as an OIDC client of the tenant itself, the built-in public
//! app [`CLIENT_ID`] (code + PKCE at the tenant's own authorize endpoint), so
//! a person meets the same sign-in, MFA and conditional access as at any
//! app. Its token is for the admin API with `Directory.AccessAsUser.All`: the
//! console acts through the admin API's own functions, with the person's own
//! directory roles deciding, as Entra's portal does.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::directory::access::{Caller, ACT_AS_USER, READ_USERS};
use crate::directory::paging::MAX_COUNT;
use crate::error::{Error, Result};
use crate::i18n;
use crate::idp::Idp;
use crate::model::{App, GrantType, Platform, Tenant, User, UserType, ADMIN_RESOURCE};
use crate::model::{ExternalState, HomeAccount, HomeMethod};
use crate::store::UserPages;

/// The portal's client id in every tenant.
pub const CLIENT_ID: &str = "b2b-idp-portal";

/// The portal's redirect URI, under the tenant's URL.
pub const CALLBACK: &str = "portal/callback";

/// The scopes the portal signs in with.
pub fn scopes() -> String {
    format!("openid profile {ADMIN_RESOURCE}/{ACT_AS_USER}")
}

/// Whether `client_id` is the built-in portal, which no API, config or
/// command line may change: whoever could add a redirect URI to it could
/// collect an administrator's token.
pub fn is_built_in(client_id: &str) -> bool {
    client_id.eq_ignore_ascii_case(CLIENT_ID)
}

fn definition(idp: &Idp, tenant: &Tenant) -> App {
    App {
        tenant_id: tenant.id.clone(),
        client_id: CLIENT_ID.into(),
        display_name: "My Apps and admin console".into(),
        secret_hash: None,
        passwords: vec![],
        platform: Some(Platform::Spa),
        redirect_uris: vec![idp.tenant_url(tenant, CALLBACK)],
        post_logout_redirect_uris: vec![idp.tenant_url(tenant, "myapps")],
        grant_types: vec![GrantType::AuthorizationCode],
        signing_alg: None,
        identifier_uri: None,
        api_permissions: BTreeMap::new(),
        delegated_permissions: BTreeMap::from([(ADMIN_RESOURCE.to_string(), vec![ACT_AS_USER.to_string()])]),
        require_consent: false,
        app_roles: vec![],
        home_page_url: None,
        key_credentials: vec![],
        single_use_client_assertions: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        frontchannel_logout_uri: None,
    }
}

/// The portal's app in `tenant`, written when missing or not as defined
/// (so a new tenant, or a changed public URL, needs no migration).
pub async fn app(idp: &Idp, tenant: &Tenant) -> Result<App> {
    let want = definition(idp, tenant);
    match idp.store.app(&tenant.id, CLIENT_ID).await? {
        Some(stored) if stored == want => Ok(stored),
        Some(stored) => {
            // Another instance may have written it meanwhile: as good.
            idp.store.replace_app(&stored, &want).await?;
            Ok(want)
        }
        None => {
            idp.store.put_app(&want).await?;
            Ok(want)
        }
    }
}

/// An app on a person's My Apps page.
#[derive(Debug, Serialize)]
pub struct Launch {
    pub name: String,
    pub url: String,
}

/// How many apps My Apps reads at most.
const MAX_APPS: usize = 500;

/// The apps of `tenant` that `user` can launch: the ones its admins
/// published (a `home_page_url`) that need no consent, and the ones the
/// person consented to (at their home page, else the origin of their first
/// redirect URI). Other apps stay unlisted: a name and a host are not
/// everyone's business.
pub async fn launchable(idp: &Idp, tenant: &Tenant, user: &User) -> Result<Vec<Launch>> {
    let apps = idp.store.apps_page(&tenant.id, None, MAX_APPS).await?;
    let mut shown = Vec::new();
    for app in apps.into_iter().filter(|a| !is_built_in(&a.client_id) && a.platform() != Platform::PublicClient) {
        let Some(url) = app.home_page() else { continue };
        let published = app.home_page_url.is_some() && !app.require_consent;
        if !published && idp.store.consent(&tenant.id, &user.id, &app.client_id).await?.is_none() {
            continue;
        }
        shown.push(Launch { name: app.display_name.clone(), url });
    }
    shown.sort_by_key(|a| a.name.to_lowercase());
    Ok(shown)
}

/// An organisation a person belongs to, as a member or a guest.
#[derive(Debug, Serialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub user_type: &'static str,
    pub current: bool,
    /// A tenant of this server (its My Apps is a link), not an outside home.
    pub here: bool,
}

/// The guest's home organisation as people know it: the provider's
/// display name, a tenant's here, else the host of its issuer.
pub async fn home_name(idp: &Idp, tenant: &Tenant, home: &HomeAccount) -> String {
    if home.method == HomeMethod::EmailOtp {
        return i18n::text("redeem-home-passcode", &[]);
    }
    if let Some(provider) = tenant.identity_providers.iter().find(|p| p.issuer == home.issuer && !p.display_name.is_empty()) {
        return provider.display_name.clone();
    }
    if let Ok(home_tenant) = idp.tenant(&home.tenant_id).await {
        return home_tenant.display_name;
    }
    url::Url::parse(&home.issuer).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| home.issuer.clone())
}

/// Who an account is, across tenants: its own (issuer, id) for a member,
/// its home's (issuer, subject) for a guest who redeemed.
fn identity(idp: &Idp, tenant: &Tenant, account: &User) -> Option<(String, String)> {
    match &account.external {
        None => Some((idp.issuer(tenant), account.id.clone())),
        Some(e) if e.state == ExternalState::Accepted => e.home.as_ref().map(|h| (h.issuer.clone(), h.subject.clone())),
        Some(_) => None,
    }
}

/// The organisations the person belongs to: their home and each tenant
/// where they are a guest. An account elsewhere counts only when it is the
/// same person (the same home identity, redeemed), not merely the same
/// address, so this page tells nobody where an address was invited. A
/// home outside this server (an OIDC provider) is named, by the provider's
/// display name or its issuer's host.
pub async fn organisations(idp: &Idp, tenant: &Tenant, user: &User) -> Result<Vec<Organisation>> {
    let me = identity(idp, tenant, user);
    let address = crate::util::address::lookup_form(&user.email);
    let mut found = Vec::new();
    for id in idp.store.user_tenants(&address).await? {
        let Ok(other) = idp.tenant(&id).await else { continue };
        let current = other.id == tenant.id;
        let account = if current { Some(user.clone()) } else { idp.store.user_by_email(&other.id, &address).await? };
        let Some(account) = account.filter(|a| a.enabled) else { continue };
        if !current && (other.unmanaged || me.is_none() || identity(idp, &other, &account) != me) {
            continue;
        }
        found.push(Organisation {
            current,
            user_type: account.user_type.as_str(),
            name: other.display_name.clone(),
            id: other.id,
            here: true,
        });
    }
    let home = user.external.as_ref().and_then(|e| e.home.as_ref()).filter(|h| h.method != HomeMethod::EmailOtp);
    if let Some(home) = home.filter(|h| !found.iter().any(|o| o.id == h.tenant_id)) {
        let name = home_name(idp, tenant, home).await;
        found.push(Organisation { id: home.tenant_id.clone(), name, user_type: "Member", current: false, here: false });
    }
    found.sort_by(|a, b| (!a.current, &a.name).cmp(&(!b.current, &b.name)));
    Ok(found)
}

/// Ends every session and refresh token of the person (Graph's
/// `revokeSignInSessions`, for oneself).
pub async fn sign_out_everywhere(idp: &Idp, tenant: &Tenant, user: &User) -> Result<()> {
    for _ in 0..3 {
        let Some(mut current) = idp.store.user(&tenant.id, &user.id).await? else { return Err(Error::NotFound("user".into())) };
        let read = current.version;
        current.sessions_valid_from_ms = crate::util::now_ms();
        current.touched();
        if idp.store.replace_user(read, &current).await? {
            crate::signin::session::end_all_of_user(idp, &tenant.id, &user.id).await;
            tracing::info!(tenant = %tenant.id, user = %user.id, "signed out everywhere by the user");
            return Ok(());
        }
    }
    Err(Error::Conflict("the account changed meanwhile; try again".into()))
}

/// The console's overview: who is in the directory.
#[derive(Debug, Default, Serialize)]
pub struct Overview {
    pub members: u64,
    pub guests_pending: u64,
    pub guests_accepted: u64,
    /// True when the directory was larger than what was counted.
    pub more: bool,
}

pub async fn overview(idp: &Idp, tenant: &Tenant, caller: &Caller) -> Result<Overview> {
    caller.require(READ_USERS)?;
    let mut counts = Overview::default();
    let mut pages = UserPages::new(idp.store.as_ref(), &tenant.id, 500);
    let mut read = 0;
    while let Some(page) = pages.next().await? {
        for user in &page {
            match (user.user_type, user.external.as_ref().map(|e| e.state)) {
                (_, Some(ExternalState::PendingAcceptance)) => counts.guests_pending += 1,
                (UserType::Member, None) => counts.members += 1,
                _ => counts.guests_accepted += 1,
            }
        }
        read += page.len();
        // At most as many as `$count` reads.
        if read >= MAX_COUNT {
            counts.more = pages.next().await?.is_some();
            break;
        }
    }
    Ok(counts)
}
