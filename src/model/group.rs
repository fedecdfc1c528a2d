//! Groups (Microsoft Graph's `group`) as the store keeps them, and who is
//! a member of one.

use serde::{Deserialize, Serialize};

use crate::model::User;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Lower-cased; set for mail-enabled groups.
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    /// Object ids of the member users (assigned groups).
    pub members: Vec<String>,
    /// A dynamic group's rule; its members are computed, never assigned.
    #[serde(default)]
    pub membership_rule: Option<String>,
    pub created_at: i64,
    pub written_at_ms: i64,
}

/// The dynamic membership rules this directory evaluates: by user type
/// (e.g. the "all guests" group of the conditional access docs).
pub fn rule_user_type(rule: &str) -> Option<&'static str> {
    let normalized: String = rule.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    match normalized.trim_matches(|c| c == '(' || c == ')') {
        "user.usertype -eq \"guest\"" => Some("Guest"),
        "user.usertype -eq \"member\"" => Some("Member"),
        _ => None,
    }
}

impl Group {
    /// Whether `user` is a member, assigned or by rule.
    pub fn has_member(&self, user: &User) -> bool {
        match self.membership_rule.as_deref().and_then(rule_user_type) {
            Some(user_type) => user.user_type.as_str() == user_type,
            None => self.members.contains(&user.id),
        }
    }

    /// A mail-enabled group that is not a security group: Entra's distribution list.
    pub fn is_distribution_list(&self) -> bool {
        self.mail_enabled && !self.security_enabled && self.mail.is_some()
    }
}
