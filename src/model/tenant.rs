//! A tenant: one OIDC issuer and directory, with the settings it keeps in
//! its own record (collaboration, identity providers, policies).

use serde::{Deserialize, Serialize};

use crate::model::{Alg, Branding, CollaborationSettings, ConditionalAccessPolicy, CrossTenantAccess, ExternalIdp};
use crate::util::address;

/// National clouds are isolated from each other (as Entra's: no invitations across clouds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Global,
    Usgov,
    China,
}

impl Cloud {
    /// Entra's `tenant_region_scope` for tenants of this cloud.
    pub fn region_scope(self) -> &'static str {
        match self {
            Cloud::Global => "WW",
            Cloud::Usgov => "USGov",
            Cloud::China => "CN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    /// URL-safe short name; tenants are addressed by name or id.
    pub name: String,
    pub display_name: String,
    pub cloud: Cloud,
    pub region_scope: String,
    pub signing_alg: Alg,
    pub created_at: i64,
    /// Email domains this tenant owns: home realm discovery sends their
    /// users here.
    #[serde(default)]
    pub domains: Vec<String>,
    /// A just-in-time ("viral") tenant created for a domain nobody manages;
    /// it never takes part in home realm discovery.
    #[serde(default)]
    pub unmanaged: bool,
    /// External collaboration settings (who may invite, whom, and how).
    #[serde(default)]
    pub collaboration: CollaborationSettings,
    /// External OIDC identity providers this tenant federates with.
    #[serde(default)]
    pub identity_providers: Vec<ExternalIdp>,
    #[serde(default)]
    pub conditional_access: Vec<ConditionalAccessPolicy>,
    #[serde(default)]
    pub cross_tenant_access: CrossTenantAccess,
    /// The language of mails whose reader's language is unknown (a tag).
    #[serde(default)]
    pub preferred_language: Option<String>,
    /// Company branding: logo, colours, sign-in text.
    #[serde(default)]
    pub branding: Branding,
    /// Bumped by every change of the record (`Store::replace_tenant`): two
    /// admins changing different settings at once both keep their change.
    #[serde(default)]
    pub version: u64,
}

impl Tenant {
    pub fn owns_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| address::domain(d).is_some_and(|d| d == domain))
    }
}
