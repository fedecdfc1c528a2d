//! Applies the tenants declared in config: created when missing, apps kept
//! in line with config, users created once (later changes are the directory's).

use crate::config::{AppSeed, TenantSeed, UserSeed};
use crate::directory::{collaboration, users};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::keys;
use crate::model::ExternalIdp;
use crate::model::{App, GrantType, Platform, Tenant};
use crate::model::{ConditionalAccessPolicy, CrossTenantAccess};
use crate::policy::api as policy_api;
use crate::util::{address, now, sha256_hex};
use crate::vault::context;

/// Applies `seeds` under the store's seeding lock, so instances of a
/// cluster starting together on a fresh database seed one after another
/// (the later ones find everything in place) and agree on every id.
pub async fn apply(idp: &Idp, seeds: &[TenantSeed]) -> Result<()> {
    let lock = idp.store.lock_seeding().await?;
    let applied = apply_each(idp, seeds).await;
    lock.release().await?;
    applied
}

async fn apply_each(idp: &Idp, seeds: &[TenantSeed]) -> Result<()> {
    for seed in seeds {
        let tenant = upsert_tenant(idp, seed).await?;
        for user in &seed.users {
            create_user_once(idp, &tenant, user).await?;
        }
        for declared in &seed.apps {
            let mut app = app_from_seed(&tenant, declared)?;
            // What config cannot declare and the admin API added outlives
            // restarts: app roles, and secrets (except on an app config
            // makes an admin API client: the admin API would not have let
            // them stay there, `directory::apps`).
            if let Some(stored) = idp.store.app(&tenant.id, &app.client_id).await? {
                app.app_roles = stored.app_roles;
                if !app.holds_admin_permissions() {
                    app.passwords = stored.passwords;
                }
            }
            idp.store.put_app(&app).await?;
        }
        if let Some(path) = &seed.signing_key_file {
            keys::install(idp.store.as_ref(), &idp.vault, &keys::from_pem_file(&tenant.id, path)?).await?;
        }
        keys::ensure_all(idp.store.as_ref(), &idp.vault, &tenant.id).await?;
        idp.keys.invalidate(&tenant.id);
    }
    Ok(())
}

/// Creates or updates a tenant from its declaration. An update is a
/// compare-and-swap on the record's version: an admin's change made on
/// another instance meanwhile is merged in on the next attempt, not lost.
pub async fn upsert_tenant(idp: &Idp, seed: &TenantSeed) -> Result<Tenant> {
    check_tenant_name(&seed.name)?;
    for _ in 0..8 {
        if let Some(tenant) = try_upsert_tenant(idp, seed).await? {
            return Ok(tenant);
        }
    }
    Err(Error::Conflict(format!("tenant {} kept changing while config was applied", seed.name)))
}

/// One attempt of `upsert_tenant`: None if the record changed under it.
async fn try_upsert_tenant(idp: &Idp, seed: &TenantSeed) -> Result<Option<Tenant>> {
    let existing = match &seed.id {
        Some(id) => idp.store.tenant(id).await?,
        None => idp.store.tenant_by_name(&seed.name).await?,
    };
    let id = match (&seed.id, &existing) {
        (Some(id), _) => id.clone(),
        (None, Some(t)) => t.id.clone(),
        (None, None) => uuid::Uuid::new_v4().to_string(),
    };
    let mut tenant = Tenant {
        id: id.clone(),
        name: seed.name.clone(),
        display_name: seed.display_name.clone().unwrap_or_else(|| seed.name.clone()),
        cloud: seed.cloud,
        region_scope: seed.region_scope.clone().unwrap_or_else(|| seed.cloud.region_scope().into()),
        signing_alg: seed.signing_alg,
        created_at: existing.as_ref().map_or_else(now, |t| t.created_at),
        domains: seed
            .domains
            .iter()
            .map(|d| address::domain(d).ok_or_else(|| Error::Invalid(format!("tenant {}: '{d}' is not a domain name", seed.name))))
            .collect::<Result<_>>()?,
        unmanaged: false,
        collaboration: seed.collaboration.clone(),
        identity_providers: merged_idps(idp, &id, seed, existing.as_ref())?,
        conditional_access: merged_policies(&id, seed, existing.as_ref())?,
        cross_tenant_access: merged_cross_tenant(seed, existing.as_ref()),
        preferred_language: seed.preferred_language.clone(),
        // Branding is set through the admin API only.
        branding: existing.as_ref().map(|t| t.branding.clone()).unwrap_or_default(),
        version: existing.as_ref().map_or(0, |t| t.version),
    };
    for domain in &tenant.domains {
        if let Some(other) = idp.store.tenants_by_domain(domain).await?.into_iter().find(|other| other.id != tenant.id) {
            return Err(Error::Invalid(format!("tenant {}: the domain {domain} belongs to tenant {} already", tenant.name, other.name)));
        }
    }
    match &existing {
        None => idp.store.put_tenant(&tenant).await?,
        Some(old) if *old != tenant => {
            tenant.version = old.version + 1;
            if !idp.store.replace_tenant(old.version, &tenant).await? {
                return Ok(None);
            }
        }
        Some(_) => {}
    }
    Ok(Some(tenant))
}

/// Declared policies (with ids stable across restarts) plus those the admin API added.
fn merged_policies(tenant_id: &str, seed: &TenantSeed, existing: Option<&Tenant>) -> Result<Vec<ConditionalAccessPolicy>> {
    let mut policies = Vec::new();
    for declared in &seed.conditional_access {
        let mut policy = ConditionalAccessPolicy::from(declared.clone());
        policy_api::check(&policy)?;
        if policy.id.is_empty() {
            let name = format!("{tenant_id}/{}", policy.display_name);
            policy.id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string();
        }
        policies.push(policy);
    }
    let added = existing.map(|t| t.conditional_access.as_slice()).unwrap_or_default();
    let kept: Vec<_> = added.iter().filter(|a| !policies.iter().any(|p| p.id == a.id)).cloned().collect();
    policies.extend(kept);
    Ok(policies)
}

/// Config seeds cross-tenant settings; once stored, the admin API owns them
/// (a restart never undoes an admin's change). Partners config adds later
/// are added.
fn merged_cross_tenant(seed: &TenantSeed, existing: Option<&Tenant>) -> CrossTenantAccess {
    let declared = seed.cross_tenant_access.clone().map(CrossTenantAccess::from).unwrap_or_default();
    let Some(existing) = existing else { return declared };
    let mut settings = existing.cross_tenant_access.clone();
    for (partner, trust) in declared.partners {
        settings.partners.entry(partner).or_insert(trust);
    }
    settings
}

/// Config declares some providers (their secrets sealed, or kept as stored
/// when unchanged); those added through the admin API stay.
fn merged_idps(idp: &Idp, tenant_id: &str, seed: &TenantSeed, existing: Option<&Tenant>) -> Result<Vec<ExternalIdp>> {
    let added = existing.map(|t| t.identity_providers.as_slice()).unwrap_or_default();
    let mut idps = Vec::new();
    for declared in &seed.identity_providers {
        let mut declared = collaboration::checked_idp(declared.clone())?;
        let bound_to = context::client_secret(tenant_id, &declared.issuer);
        let plain = idp.vault.open(&declared.client_secret, &bound_to)?;
        let stored = added.iter().find(|a| a.issuer == declared.issuer).map(|a| &a.client_secret);
        declared.client_secret = match stored {
            Some(stored) if idp.vault.open(stored, &bound_to).is_ok_and(|s| s == plain) => stored.clone(),
            _ => idp.vault.seal(plain.expose(), &bound_to)?,
        };
        idps.push(declared);
    }
    idps.extend(added.iter().filter(|a| !idps.iter().any(|d| d.issuer == a.issuer)).cloned().collect::<Vec<_>>());
    Ok(idps)
}

/// Names appear in URLs beside ids: short, lower-case, and never id-shaped.
fn check_tenant_name(name: &str) -> Result<()> {
    let well_formed = (2..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !well_formed || uuid::Uuid::parse_str(name).is_ok() || name.starts_with("jit-") {
        return Err(Error::Invalid(format!(
            "tenant name '{name}': use 2-63 lower-case letters, digits and '-', not an id ('jit-' is reserved)"
        )));
    }
    Ok(())
}

async fn create_user_once(idp: &Idp, tenant: &Tenant, seed: &UserSeed) -> Result<()> {
    if idp.store.user_by_email(&tenant.id, &address::email(&seed.email)?).await?.is_none() {
        users::create_member(idp, tenant, seed).await?;
    }
    Ok(())
}

/// Validates an app declaration into the stored form.
pub fn app_from_seed(tenant: &Tenant, seed: &AppSeed) -> Result<App> {
    let grant_types = seed.grant_types.clone();
    for uri in seed.redirect_uris.iter().chain(&seed.post_logout_redirect_uris) {
        url::Url::parse(uri).map_err(|e| Error::Invalid(format!("app {}: redirect URI '{uri}': {e}", seed.client_id)))?;
    }
    if crate::directory::portal::is_built_in(&seed.client_id) {
        return Err(Error::Invalid(format!("app {}: that client id is the built-in portal's", seed.client_id)));
    }
    if let Some(home) = &seed.home_page_url {
        url::Url::parse(home).ok().filter(crate::util::address::is_web_url).ok_or_else(|| {
            Error::Invalid(format!("app {}: home_page_url must be an absolute https URL (http only for localhost)", seed.client_id))
        })?;
    }
    let logout_uri = |field: &str, uri: &Option<String>| {
        uri.as_deref()
            .map(|uri| crate::directory::apps::logout_uri(field, uri))
            .transpose()
            .map_err(|e| Error::Invalid(format!("app {}: {e}", seed.client_id)))
    };
    let backchannel_logout_uri = logout_uri("backchannel_logout_uri", &seed.backchannel_logout_uri)?;
    let frontchannel_logout_uri = logout_uri("frontchannel_logout_uri", &seed.frontchannel_logout_uri)?;
    let secret_hash = seed.secret.as_ref().map(|s| sha256_hex(s.expose()));
    let key_credentials = seed
        .key_credentials
        .iter()
        .map(|path| crate::keys::client_keys::from_file(path))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(format!("app {}: key_credentials: {e}", seed.client_id)))?;
    let confidential = secret_hash.is_some() || !key_credentials.is_empty();
    if !confidential && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(Error::Invalid(format!("app {}: a public client (no secret or key) cannot use client_credentials", seed.client_id)));
    }
    Ok(App {
        tenant_id: tenant.id.clone(),
        client_id: seed.client_id.clone(),
        display_name: seed.display_name.clone().unwrap_or_else(|| seed.client_id.clone()),
        platform: Some(if confidential { Platform::Web } else { Platform::Spa }),
        secret_hash,
        passwords: vec![],
        redirect_uris: seed.redirect_uris.clone(),
        post_logout_redirect_uris: seed.post_logout_redirect_uris.clone(),
        grant_types,
        signing_alg: seed.signing_alg,
        identifier_uri: seed.identifier_uri.clone(),
        api_permissions: seed.api_permissions.clone(),
        delegated_permissions: seed.delegated_permissions.clone(),
        require_consent: seed.require_consent,
        app_roles: vec![],
        home_page_url: seed.home_page_url.clone(),
        key_credentials,
        single_use_client_assertions: seed.single_use_client_assertions,
        require_pushed_authorization_requests: seed.require_pushed_authorization_requests,
        backchannel_logout_uri,
        frontchannel_logout_uri,
    })
}
