//! External collaboration: a tenant's B2B settings, the external identity
//! providers it trusts, and what the directory remembers about a guest's
//! home account (Entra's "external identities").

use serde::{Deserialize, Serialize};

use crate::audit::change::Target;
use crate::directory::access::{Caller, MANAGE_POLICY};
use crate::directory::filter::{Fields, Filter};
use crate::directory::paging::{self, Page, PageRequest};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::ExternalIdp;
use crate::model::Tenant;
use crate::util::address;
use crate::util::Secret;
use crate::vault::context;

/// Graph's `openIdConnectIdentityProvider` as the admin API takes and shows it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphIdentityProvider {
    #[serde(rename = "@odata.type", default = "odata_type")]
    pub odata_type: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    /// Write-only: never returned (the schema still lists it, for requests).
    #[serde(default, skip_serializing_if = "write_only")]
    #[schema(value_type = Option<String>, write_only)]
    pub client_secret: Option<Secret>,
    pub domains: Vec<String>,
}

/// Never serialized (`skip_serializing` would hide the field from the schema too).
fn write_only<T>(_: &T) -> bool {
    true
}

fn odata_type() -> String {
    "#microsoft.graph.openIdConnectIdentityProvider".into()
}

impl From<&ExternalIdp> for GraphIdentityProvider {
    fn from(x: &ExternalIdp) -> Self {
        GraphIdentityProvider {
            odata_type: odata_type(),
            id: x.id.clone(),
            display_name: x.display_name.clone(),
            issuer: x.issuer.clone(),
            client_id: x.client_id.clone(),
            client_secret: None,
            domains: x.domains.clone(),
        }
    }
}

/// What `$filter` may test on identity providers.
const PROVIDER_FIELDS: Fields<ExternalIdp> = Fields {
    text: &[("id", |p| Some(p.id.as_str())), ("displayName", |p| Some(p.display_name.as_str())), ("issuer", |p| Some(p.issuer.as_str()))],
    flags: &[],
};

pub async fn identity_providers(
    tenant: &Tenant,
    caller: &Caller,
    filter: &Filter,
    request: &PageRequest,
) -> Result<Page<GraphIdentityProvider>> {
    caller.require(MANAGE_POLICY)?;
    let page = paging::slice(tenant.identity_providers.clone(), request, &filter.matcher(&PROVIDER_FIELDS)?)?;
    Ok(page.map(|p| GraphIdentityProvider::from(p)))
}

/// Adds (or, for a known issuer, replaces) an external identity provider.
pub async fn add_identity_provider(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    new: GraphIdentityProvider,
) -> Result<GraphIdentityProvider> {
    caller.require(MANAGE_POLICY)?;
    if new.odata_type != odata_type() {
        return Err(Error::Invalid(format!("@odata.type must be {}", odata_type())));
    }
    let secret = new.client_secret.ok_or_else(|| Error::Invalid("clientSecret is required".into()))?;
    // The server will fetch from this issuer: https only, except a loopback
    // provider beside a server that itself runs on plain http (development).
    let issuer = url::Url::parse(&new.issuer).map_err(|e| Error::Invalid(format!("issuer: {e}")))?;
    let local_dev = !idp.config.server.is_https() && matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if issuer.scheme() != "https" && !local_dev {
        return Err(Error::Invalid("issuer must be an https URL".into()));
    }
    idp.home.egress().check_url_resolved(&issuer).await?;
    let issuer = new.issuer.trim_end_matches('/').to_string();
    let added = checked_idp(ExternalIdp {
        id: String::new(),
        display_name: new.display_name,
        client_secret: idp.vault.seal(secret.expose(), &context::client_secret(&tenant.id, &issuer))?,
        issuer,
        client_id: new.client_id,
        domains: new.domains,
        cloud: tenant.cloud,
    })?;
    super::tenants::change(idp, &tenant.id, |current| {
        current.identity_providers.retain(|x| x.issuer != added.issuer);
        current.identity_providers.push(added.clone());
        Ok(())
    })
    .await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, issuer = %added.issuer, "identity provider added");
    let target = vec![Target::new("IdentityProvider", &added.id, &added.issuer)];
    caller.changed(idp, &tenant.id, "Policy", "Add identity provider", target);
    Ok(GraphIdentityProvider::from(&added))
}

/// Validates an external identity provider declaration and gives it an id.
pub fn checked_idp(mut idp: ExternalIdp) -> Result<ExternalIdp> {
    let issuer = url::Url::parse(&idp.issuer).map_err(|e| Error::Invalid(format!("identity provider issuer '{}': {e}", idp.issuer)))?;
    if !matches!(issuer.scheme(), "https" | "http") {
        return Err(Error::Invalid(format!("identity provider issuer '{}' must be an http(s) URL", idp.issuer)));
    }
    if idp.domains.is_empty() {
        return Err(Error::Invalid(format!("identity provider {} serves no email domains", idp.issuer)));
    }
    idp.domains = idp
        .domains
        .iter()
        .map(|d| address::domain(d).ok_or_else(|| Error::Invalid(format!("identity provider {}: '{d}' is not a domain name", idp.issuer))))
        .collect::<Result<_>>()?;
    if idp.id.is_empty() {
        idp.id = idp.tenant_id();
    }
    if idp.display_name.is_empty() {
        idp.display_name = issuer.host_str().unwrap_or("identity provider").to_string();
    }
    Ok(idp)
}
