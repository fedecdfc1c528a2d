//! Conditional access policies and cross-tenant access settings, as the
//! tenant record keeps them. The admin API and config speak Graph's shapes
//! (`graph`), converted to these. Records written before 0.6 kept Graph's
//! camelCase names: every field still reads under its old name too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A conditional access policy: who, which apps, and what is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalAccessPolicy {
    #[serde(default)]
    pub id: String,
    #[serde(alias = "displayName")]
    pub display_name: String,
    #[serde(default)]
    pub state: PolicyState,
    pub conditions: Conditions,
    #[serde(alias = "grantControls")]
    pub grant_controls: GrantControls,
}

/// Graph's policy `state`, the values this server evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    #[default]
    Enabled,
    Disabled,
    /// A value this version does not know (a record from a newer one): the
    /// policy applies, so nothing it guards opens up. The API refuses it.
    #[serde(other)]
    Unknown,
}

/// Graph's `builtInControls`, the ones this server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum BuiltInControl {
    Mfa,
    Block,
    /// A control this version does not know: it blocks (fails closed). The
    /// API refuses it.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    pub users: UserConditions,
    #[serde(default)]
    pub applications: AppConditions,
}

/// `All`, `None`, `GuestsOrExternalUsers` or user ids; groups by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserConditions {
    #[serde(alias = "includeUsers")]
    pub include_users: Vec<String>,
    #[serde(alias = "excludeUsers")]
    pub exclude_users: Vec<String>,
    #[serde(alias = "includeGroups")]
    pub include_groups: Vec<String>,
    #[serde(alias = "excludeGroups")]
    pub exclude_groups: Vec<String>,
}

/// `All` or client ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppConditions {
    #[serde(alias = "includeApplications")]
    pub include_applications: Vec<String>,
    #[serde(alias = "excludeApplications")]
    pub exclude_applications: Vec<String>,
}

impl Default for AppConditions {
    fn default() -> Self {
        AppConditions { include_applications: vec!["All".into()], exclude_applications: vec![] }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantControls {
    #[serde(default = "or")]
    pub operator: String,
    #[serde(alias = "builtInControls")]
    pub built_in_controls: Vec<BuiltInControl>,
}

fn or() -> String {
    "OR".into()
}

/// Whether a partner's MFA counts here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InboundTrust {
    #[serde(alias = "isMfaAccepted")]
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A policy stored before 0.6 (Graph's camelCase) reads as the same
    /// policy as today's snake_case record, and a record with fields from a
    /// newer version still reads.
    #[test]
    fn older_and_newer_policy_records_read() {
        let before_0_6 = json!({
            "id": "p1", "displayName": "Guests need MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["GuestsOrExternalUsers"], "excludeGroups": ["g1"]},
                           "applications": {"includeApplications": ["demo-app"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        });
        let read: ConditionalAccessPolicy = serde_json::from_value(before_0_6).expect("old record");
        assert_eq!(read.conditions.users.exclude_groups, ["g1"]);
        assert_eq!(read.grant_controls.built_in_controls, [BuiltInControl::Mfa]);
        let mut stored = serde_json::to_value(&read).expect("serializes");
        assert_eq!(stored["display_name"], "Guests need MFA", "written in the store's own names");
        stored["session_controls"] = json!({"signInFrequency": 1});
        stored["conditions"]["locations"] = json!({"includeLocations": ["All"]});
        assert_eq!(serde_json::from_value::<ConditionalAccessPolicy>(stored.clone()).expect("newer record"), read);
        stored["state"] = json!("enabledForReportingButNotEnforced");
        stored["grant_controls"]["built_in_controls"] = json!(["compliantDevice"]);
        let newer: ConditionalAccessPolicy = serde_json::from_value(stored).expect("newer values read");
        assert_eq!((newer.state, newer.grant_controls.built_in_controls), (PolicyState::Unknown, vec![BuiltInControl::Unknown]));
    }

    #[test]
    fn older_cross_tenant_records_read() {
        let before_0_6 = json!({"default": {"isMfaAccepted": false}, "partners": {"t1": {"isMfaAccepted": true}}});
        let read: CrossTenantAccess = serde_json::from_value(before_0_6).expect("old record");
        assert!(read.trusts_mfa_of("t1", "https://elsewhere") && !read.trusts_mfa_of("t2", "https://elsewhere"));
        assert_eq!(serde_json::to_value(&read).expect("serializes")["partners"]["t1"], json!({"is_mfa_accepted": true}));
    }
}
