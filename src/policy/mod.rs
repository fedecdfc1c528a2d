//! Conditional access (which sign-ins need MFA, which are blocked) and
//! cross-tenant access settings (whether a partner's MFA is trusted), in
//! Microsoft Graph's shapes. Both live in the tenant record.

pub mod api;

use crate::audit::signin::AppliedPolicy;
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
    /// Every policy that applies (id, display name, its controls).
    pub applying: Vec<(String, String, Vec<BuiltInControl>)>,
}

impl Decision {
    /// What a request touching two apps at once must satisfy: both sets of
    /// policies, each policy once.
    pub fn and(mut self, other: Decision) -> Decision {
        self.blocked_by = self.blocked_by.or(other.blocked_by);
        self.require_mfa |= other.require_mfa;
        for applying in other.applying {
            if !self.applying.iter().any(|(id, ..)| *id == applying.0) {
                self.applying.push(applying);
            }
        }
        self
    }

    /// The applying policies as the sign-in log shows them, for a sign-in
    /// that did (`mfa_done`) or did not do MFA: a block fails, an MFA
    /// control succeeds only with MFA.
    pub fn applied(&self, mfa_done: bool) -> Vec<AppliedPolicy> {
        self.applying
            .iter()
            .map(|(id, name, controls)| {
                let blocks = controls.iter().any(|c| matches!(c, BuiltInControl::Block | BuiltInControl::Unknown));
                let failed = blocks || (controls.contains(&BuiltInControl::Mfa) && !mfa_done);
                AppliedPolicy {
                    id: id.clone(),
                    display_name: name.clone(),
                    controls: controls
                        .iter()
                        .map(|c| match c {
                            BuiltInControl::Mfa => "Mfa",
                            BuiltInControl::Block => "Block",
                            BuiltInControl::Unknown => "Unknown",
                        })
                        .map(str::to_string)
                        .collect(),
                    result: if failed { "failure" } else { "success" },
                }
            })
            .collect()
    }
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
        self.state != PolicyState::Disabled
            && (user_matches(&u.include_users, user) || in_group(&u.include_groups))
            && !(user_matches(&u.exclude_users, user) || in_group(&u.exclude_groups))
            && app_matches(&a.include_applications, client_id)
            && !app_matches(&a.exclude_applications, client_id)
    }
}

/// Evaluates every enabled policy of the tenant for `user` signing in to
/// `client_id`: gathers the user's groups, then `decide`s.
pub async fn evaluate(idp: &Idp, tenant: &Tenant, user: &User, client_id: &str) -> Result<Decision> {
    if tenant.conditional_access.is_empty() {
        return Ok(Decision::default());
    }
    let groups = crate::directory::groups::of_user(idp, tenant, user).await?;
    Ok(decide(&tenant.conditional_access, user, &groups, client_id))
}

/// What `policies` ask of `user` (member of `groups`) signing in to
/// `client_id`: every applying policy counts; a block names the first.
pub fn decide(policies: &[ConditionalAccessPolicy], user: &User, groups: &[String], client_id: &str) -> Decision {
    let mut decision = Decision::default();
    for policy in policies.iter().filter(|p| p.applies(user, groups, client_id)) {
        let controls = &policy.grant_controls.built_in_controls;
        if controls.iter().any(|c| matches!(c, BuiltInControl::Block | BuiltInControl::Unknown)) {
            decision.blocked_by.get_or_insert_with(|| policy.display_name.clone());
        }
        if controls.contains(&BuiltInControl::Mfa) {
            decision.require_mfa = true;
        }
        decision.applying.push((policy.id.clone(), policy.display_name.clone(), controls.clone()));
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppConditions, Conditions, External, ExternalState, GrantControls, UserConditions, UserType};

    fn policy(name: &str, users: UserConditions, apps: &[&str], controls: &[BuiltInControl]) -> ConditionalAccessPolicy {
        ConditionalAccessPolicy {
            id: name.into(),
            display_name: name.into(),
            state: PolicyState::Enabled,
            conditions: Conditions {
                users,
                applications: AppConditions {
                    include_applications: apps.iter().map(|a| a.to_string()).collect(),
                    exclude_applications: vec![],
                },
            },
            grant_controls: GrantControls { operator: "OR".into(), built_in_controls: controls.to_vec() },
        }
    }

    fn include(users: &[&str]) -> UserConditions {
        UserConditions { include_users: users.iter().map(|u| u.to_string()).collect(), ..Default::default() }
    }

    fn member() -> User {
        User::new("t", "alice@contoso.example", "Alice", UserType::Member)
    }

    fn guest() -> User {
        let external = External { state: ExternalState::Accepted, home: None, invited_by: "x".into(), redeemed_at: None, reset_at_ms: 0 };
        User { external: Some(external), ..User::new("t", "bob@fabrikam.example", "Bob", UserType::Guest) }
    }

    #[test]
    fn guests_policies_match_guests_only() {
        let policies = [policy("Guests need MFA", include(&["GuestsOrExternalUsers"]), &["All"], &[BuiltInControl::Mfa])];
        assert!(decide(&policies, &guest(), &[], "app").require_mfa);
        assert_eq!(decide(&policies, &member(), &[], "app"), Decision::default());
    }

    #[test]
    fn exclusions_win_over_inclusions() {
        let mut users = include(&["All"]);
        users.exclude_users = vec!["GuestsOrExternalUsers".into()];
        let alice = member();
        users.exclude_groups = vec!["break-glass".into()];
        let policies = [policy("Members need MFA", users, &["All"], &[BuiltInControl::Mfa])];
        assert!(decide(&policies, &alice, &[], "app").require_mfa);
        assert!(!decide(&policies, &alice, &["break-glass".into()], "app").require_mfa, "an excluded group");
        assert!(!decide(&policies, &guest(), &[], "app").require_mfa, "guests excluded");
    }

    #[test]
    fn users_by_id_and_by_group() {
        let alice = member();
        let by_id = [policy("p", include(&[alice.id.as_str()]), &["All"], &[BuiltInControl::Mfa])];
        assert!(decide(&by_id, &alice, &[], "app").require_mfa);
        assert!(!decide(&by_id, &member(), &[], "app").require_mfa, "another user");
        let groups = UserConditions { include_groups: vec!["g1".into()], ..Default::default() };
        let by_group = [policy("p", groups, &["All"], &[BuiltInControl::Mfa])];
        assert!(decide(&by_group, &alice, &["g1".into()], "app").require_mfa);
        assert!(!decide(&by_group, &alice, &["g2".into()], "app").require_mfa);
    }

    #[test]
    fn applications_disabled_policies_and_blocks() {
        let mut for_portal = policy("Block the portal", include(&["All"]), &["admin-portal"], &[BuiltInControl::Block]);
        let mfa_everywhere = policy("MFA", include(&["All"]), &["All"], &[BuiltInControl::Mfa]);
        let alice = member();
        let both = [for_portal.clone(), mfa_everywhere.clone()];
        let portal = decide(&both, &alice, &[], "admin-portal");
        assert_eq!((portal.blocked_by.as_deref(), portal.require_mfa), (Some("Block the portal"), true));
        let results: Vec<_> = portal.applied(true).into_iter().map(|p| (p.display_name, p.result)).collect();
        assert_eq!(results, [("Block the portal".to_string(), "failure"), ("MFA".to_string(), "success")]);
        let app = decide(&both, &alice, &[], "demo-app");
        assert_eq!((app.blocked_by.as_deref(), app.require_mfa), (None, true));
        assert_eq!(app.applied(false)[0].result, "failure", "an MFA policy without MFA");
        for_portal.state = PolicyState::Disabled;
        assert_eq!(decide(&[for_portal], &alice, &[], "admin-portal"), Decision::default(), "disabled policies do nothing");
        let mut all_but = mfa_everywhere;
        all_but.conditions.applications.exclude_applications = vec!["demo-app".into()];
        assert!(!decide(&[all_but], &alice, &[], "demo-app").require_mfa, "an excluded application");
        let mut newer = policy("From a newer version", include(&["All"]), &["All"], &[BuiltInControl::Unknown]);
        newer.state = PolicyState::Unknown;
        assert_eq!(decide(&[newer], &alice, &[], "demo-app").blocked_by.as_deref(), Some("From a newer version"), "fails closed");
    }
}
