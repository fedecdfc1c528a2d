//! Conditional access (which sign-ins need MFA, which are blocked) and
//! cross-tenant access settings (whether a partner's MFA is trusted), in
//! Microsoft Graph's shapes. Both live in the tenant record.

pub mod api;

use crate::error::Result;
use crate::idp::Idp;
use crate::model::{BuiltInControl, ConditionalAccessPolicy, PolicyState};
use crate::model::{Tenant, User};

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
        self.state == PolicyState::Enabled
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
        if controls.contains(&BuiltInControl::Block) {
            decision.blocked_by.get_or_insert_with(|| policy.display_name.clone());
        }
        if controls.contains(&BuiltInControl::Mfa) {
            decision.require_mfa = true;
        }
    }
    Ok(decision)
}
