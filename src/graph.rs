//! Microsoft Graph's JSON shapes that both the admin API and config take,
//! kept apart from the records the store keeps (`model`) and converted to
//! and from them: the API can change without a storage migration, and the
//! wire shapes stay strict (unknown fields are refused, so a policy never
//! silently does nothing) while stored records stay readable by newer and
//! older versions alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{self, BuiltInControl, PolicyState};

/// Graph's `conditionalAccessPolicy`, the parts this server evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conditions {
    pub users: UserConditions,
    #[serde(default)]
    pub applications: AppConditions,
}

/// `All`, `None`, `GuestsOrExternalUsers` or user ids; groups by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct UserConditions {
    pub include_users: Vec<String>,
    pub exclude_users: Vec<String>,
    pub include_groups: Vec<String>,
    pub exclude_groups: Vec<String>,
}

/// `All` or client ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantControls {
    #[serde(default = "or")]
    pub operator: String,
    pub built_in_controls: Vec<BuiltInControl>,
}

fn or() -> String {
    "OR".into()
}

/// Graph's `inboundTrust` of a cross-tenant access setting (the part this
/// server evaluates; other fields are refused, not ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct InboundTrust {
    pub is_mfa_accepted: bool,
}

/// Cross-tenant access as config declares it: the default inbound trust,
/// and per partner (a home tenant id or an external provider's issuer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrossTenantAccess {
    pub default: InboundTrust,
    pub partners: BTreeMap<String, InboundTrust>,
}

impl From<CrossTenantAccess> for model::CrossTenantAccess {
    fn from(c: CrossTenantAccess) -> Self {
        model::CrossTenantAccess {
            default: c.default.into(),
            partners: c.partners.into_iter().map(|(partner, trust)| (partner, trust.into())).collect(),
        }
    }
}

impl From<ConditionalAccessPolicy> for model::ConditionalAccessPolicy {
    fn from(p: ConditionalAccessPolicy) -> Self {
        let (users, apps) = (p.conditions.users, p.conditions.applications);
        model::ConditionalAccessPolicy {
            id: p.id,
            display_name: p.display_name,
            state: p.state,
            conditions: model::Conditions {
                users: model::UserConditions {
                    include_users: users.include_users,
                    exclude_users: users.exclude_users,
                    include_groups: users.include_groups,
                    exclude_groups: users.exclude_groups,
                },
                applications: model::AppConditions {
                    include_applications: apps.include_applications,
                    exclude_applications: apps.exclude_applications,
                },
            },
            grant_controls: model::GrantControls {
                operator: p.grant_controls.operator,
                built_in_controls: p.grant_controls.built_in_controls,
            },
        }
    }
}

impl From<&model::ConditionalAccessPolicy> for ConditionalAccessPolicy {
    fn from(p: &model::ConditionalAccessPolicy) -> Self {
        let (users, apps) = (&p.conditions.users, &p.conditions.applications);
        ConditionalAccessPolicy {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            state: p.state,
            conditions: Conditions {
                users: UserConditions {
                    include_users: users.include_users.clone(),
                    exclude_users: users.exclude_users.clone(),
                    include_groups: users.include_groups.clone(),
                    exclude_groups: users.exclude_groups.clone(),
                },
                applications: AppConditions {
                    include_applications: apps.include_applications.clone(),
                    exclude_applications: apps.exclude_applications.clone(),
                },
            },
            grant_controls: GrantControls {
                operator: p.grant_controls.operator.clone(),
                built_in_controls: p.grant_controls.built_in_controls.clone(),
            },
        }
    }
}

impl From<InboundTrust> for model::InboundTrust {
    fn from(t: InboundTrust) -> Self {
        model::InboundTrust { is_mfa_accepted: t.is_mfa_accepted }
    }
}

impl From<&model::InboundTrust> for InboundTrust {
    fn from(t: &model::InboundTrust) -> Self {
        InboundTrust { is_mfa_accepted: t.is_mfa_accepted }
    }
}
