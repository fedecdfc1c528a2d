//! External collaboration: a tenant's B2B settings, the external identity
//! providers it trusts, and what the directory remembers about a guest's
//! home account (Entra's "external identities").

use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::directory::access::{Caller, MANAGE_POLICY};
use crate::directory::{seed, Cloud, Tenant};
use crate::error::{Error, Result};
use crate::idp::Idp;

/// Who may invite guests (Entra's "guest invite settings").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitePolicy {
    /// Global and User Administrators and holders of the Guest Inviter role.
    #[default]
    AdminsAndGuestInviters,
    /// Any member (never a guest) may invite, as well as the above.
    Members,
    /// Only Global and User Administrators.
    AdminsOnly,
}

/// A tenant's external collaboration settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub guest_invite: InvitePolicy,
    /// When not empty, only these invitee domains may be invited.
    pub allowed_domains: Vec<String>,
    /// Invitee domains that may never be invited.
    pub denied_domains: Vec<String>,
    /// Addresses of distribution lists, which cannot be invited.
    pub distribution_lists: Vec<String>,
    /// Lets guests remove themselves from this tenant.
    pub guests_can_leave: bool,
    /// Shown on the redemption consent page.
    pub privacy_url: Option<String>,
}

impl Settings {
    /// Why invitations to `domain` are refused, if they are.
    pub fn domain_refusal(&self, domain: &str) -> Option<String> {
        let listed = |list: &[String]| super::address::listed(list, domain);
        if listed(&self.denied_domains) {
            return Some(format!("invitations to the domain {domain} are blocked by this tenant's deny list"));
        }
        if !self.allowed_domains.is_empty() && !listed(&self.allowed_domains) {
            return Some(format!("the domain {domain} is not on this tenant's allow list for invitations"));
        }
        None
    }
}

/// An external OIDC identity provider that is home to some email domains
/// (SPEC: `POST /{tenant}/v1.0/identity/identityProviders`, or global config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIdp {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: Vec<String>,
    /// The cloud the provider belongs to; invitations never cross clouds.
    #[serde(default)]
    pub cloud: Cloud,
}

impl ExternalIdp {
    pub fn serves(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| super::address::domain(d).is_some_and(|d| d == domain))
    }

    /// The tenant id that represents this provider in `home_tid`: stable
    /// for an issuer, on every instance.
    pub fn tenant_id(&self) -> String {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, self.issuer.as_bytes()).to_string()
    }
}

/// Graph's `externalUserState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternalState {
    PendingAcceptance,
    Accepted,
}

impl ExternalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExternalState::PendingAcceptance => "PendingAcceptance",
            ExternalState::Accepted => "Accepted",
        }
    }
}

/// How a guest proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeMethod {
    /// An OIDC sign-in at the home tenant or home identity provider.
    Federation,
    /// A one-time passcode mailed to the guest (no organisation of their own).
    EmailOtp,
}

/// The home account a guest redeemed with; every later sign-in must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeAccount {
    /// `home_tid`.
    pub tenant_id: String,
    /// `idp`: the home identity provider's issuer.
    pub issuer: String,
    /// `sub` at the home identity provider.
    pub subject: String,
    pub method: HomeMethod,
}

/// What the directory knows about an invited user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct External {
    pub state: ExternalState,
    /// Set when the invitation is redeemed; cleared by `resetRedemption`.
    pub home: Option<HomeAccount>,
    pub invited_by: String,
    pub redeemed_at: Option<i64>,
    /// When an admin last reset the redemption (ms): older links are void.
    #[serde(default)]
    pub reset_at_ms: i64,
}

/// Graph's `openIdConnectIdentityProvider` as the admin API takes and shows it.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Write-only: never returned.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<Secret>,
    pub domains: Vec<String>,
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

pub async fn identity_providers(tenant: &Tenant, caller: &Caller) -> Result<Vec<GraphIdentityProvider>> {
    caller.require(MANAGE_POLICY)?;
    Ok(tenant.identity_providers.iter().map(GraphIdentityProvider::from).collect())
}

/// Adds (or, for a known issuer, replaces) an external identity provider.
pub async fn add_identity_provider(idp: &Idp, tenant: &Tenant, caller: &Caller, new: GraphIdentityProvider) -> Result<GraphIdentityProvider> {
    caller.require(MANAGE_POLICY)?;
    if new.odata_type != odata_type() {
        return Err(Error::Invalid(format!("@odata.type must be {}", odata_type())));
    }
    let secret = new.client_secret.ok_or_else(|| Error::Invalid("clientSecret is required".into()))?;
    // The server will fetch from this issuer: https only, except a loopback
    // provider beside a server that itself runs on plain http (development).
    let issuer = url::Url::parse(&new.issuer).map_err(|e| Error::Invalid(format!("issuer: {e}")))?;
    let local_dev = !idp.config.server.is_https()
        && matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if issuer.scheme() != "https" && !local_dev {
        return Err(Error::Invalid("issuer must be an https URL".into()));
    }
    idp.home.egress().check_url_resolved(&issuer).await?;
    let added = seed::checked_idp(ExternalIdp {
        id: String::new(),
        display_name: new.display_name,
        issuer: new.issuer.trim_end_matches('/').to_string(),
        client_id: new.client_id,
        client_secret: secret,
        domains: new.domains,
        cloud: tenant.cloud,
    })?;
    // Re-read: the tenant record is the unit of change.
    let mut current = idp.store.tenant(&tenant.id).await?.ok_or_else(|| Error::TenantNotFound(tenant.id.clone()))?;
    current.identity_providers.retain(|x| x.issuer != added.issuer);
    current.identity_providers.push(added.clone());
    idp.store.put_tenant(&current).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, issuer = %added.issuer, "identity provider added");
    Ok(GraphIdentityProvider::from(&added))
}
