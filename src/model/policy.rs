//! Conditional access policies and cross-tenant access settings, as the
//! tenant record keeps them (in Microsoft Graph's shapes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Graph's `conditionalAccessPolicy`, the parts this server evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionalAccessPolicy {
    #[serde(default)]
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub state: PolicyState,
    pub conditions: Conditions,
    pub grant_controls: GrantControls,
}

/// Graph's policy `state`, the values this server evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    #[default]
    Enabled,
    Disabled,
}

/// Graph's `builtInControls`, the ones this server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BuiltInControl {
    Mfa,
    Block,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conditions {
    pub users: UserConditions,
    #[serde(default)]
    pub applications: AppConditions,
}

/// `All`, `None`, `GuestsOrExternalUsers` or user ids; groups by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct UserConditions {
    pub include_users: Vec<String>,
    pub exclude_users: Vec<String>,
    pub include_groups: Vec<String>,
    pub exclude_groups: Vec<String>,
}

/// `All` or client ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AppConditions {
    pub include_applications: Vec<String>,
    pub exclude_applications: Vec<String>,
}

impl Default for AppConditions {
    fn default() -> Self {
        AppConditions { include_applications: vec!["All".into()], exclude_applications: vec![] }
    }
}

/// `builtInControls`: `mfa` or `block`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantControls {
    #[serde(default = "or")]
    pub operator: String,
    pub built_in_controls: Vec<BuiltInControl>,
}

fn or() -> String {
    "OR".into()
}

/// Graph's `inboundTrust` of a cross-tenant access setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InboundTrust {
    pub is_mfa_accepted: bool,
}

/// Cross-tenant access settings: a default, and per partner (a home tenant
/// id, or an external provider's issuer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CrossTenantAccess {
    pub default: InboundTrust,
    pub partners: BTreeMap<String, InboundTrust>,
}

impl CrossTenantAccess {
    /// Whether MFA done at this guest's home counts here.
    pub fn trusts_mfa_of(&self, home_tenant_id: &str, home_issuer: &str) -> bool {
        self.partners.get(home_tenant_id).or_else(|| self.partners.get(home_issuer)).unwrap_or(&self.default).is_mfa_accepted
    }
}
