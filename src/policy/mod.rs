//! Conditional access (which sign-ins need MFA, which are blocked) and
//! cross-tenant access settings (whether a partner's MFA is trusted), in
//! Microsoft Graph's shapes. Both live in the tenant record.

pub mod api;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::directory::{Tenant, User};
use crate::error::Result;
use crate::idp::Idp;

/// Graph's `conditionalAccessPolicy`, the parts this server evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionalAccessPolicy {
    #[serde(default)]
    pub id: String,
    pub display_name: String,
    /// `enabled` or `disabled`.
    #[serde(default = "enabled")]
    pub state: String,
    pub conditions: Conditions,
    pub grant_controls: GrantControls,
}

fn enabled() -> String {
    "enabled".into()
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
    pub built_in_controls: Vec<String>,
}

fn or() -> String {
    "OR".into()
}

/// What the tenant's policies ask of one sign-in to one app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// The policy that blocks it, if one does.
    pub blocked_by: Option<String>,
    pub require_mfa: bool,
}

fn user_matches(list: &[String], user: &User) -> bool {
    list.iter().any(|entry| match entry.as_str() {
        "All" => true,
        "GuestsOrExternalUsers" => user.external.is_some(),
        id => id == user.id,
    })
}

fn app_matches(list: &[String], client_id: &str) -> bool {
    list.iter().any(|a| a == "All" || a == client_id)
}

impl ConditionalAccessPolicy {
    fn applies(&self, user: &User, groups: &[String], client_id: &str) -> bool {
        let u = &self.conditions.users;
        let a = &self.conditions.applications;
        let in_group = |list: &[String]| list.iter().any(|g| groups.contains(g));
        self.state == "enabled"
            && (user_matches(&u.include_users, user) || in_group(&u.include_groups))
            && !(user_matches(&u.exclude_users, user) || in_group(&u.exclude_groups))
            && app_matches(&a.include_applications, client_id)
            && !app_matches(&a.exclude_applications, client_id)
    }
}

/// Evaluates every enabled policy of the tenant for `user` signing in to `client_id`.
pub async fn evaluate(idp: &Idp, tenant: &Tenant, user: &User, client_id: &str) -> Result<Decision> {
    if tenant.conditional_access.is_empty() {
        return Ok(Decision::default());
    }
    let groups = crate::directory::groups::of_user(idp, tenant, user).await?;
    let mut decision = Decision::default();
    for policy in tenant.conditional_access.iter().filter(|p| p.applies(user, &groups, client_id)) {
        let controls = &policy.grant_controls.built_in_controls;
        if controls.iter().any(|c| c == "block") {
            decision.blocked_by.get_or_insert_with(|| policy.display_name.clone());
        }
        if controls.iter().any(|c| c == "mfa") {
            decision.require_mfa = true;
        }
    }
    Ok(decision)
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
        self.partners
            .get(home_tenant_id)
            .or_else(|| self.partners.get(home_issuer))
            .unwrap_or(&self.default)
            .is_mfa_accepted
    }
}
