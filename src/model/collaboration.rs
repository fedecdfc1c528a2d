//! A tenant's external collaboration settings and the external identity
//! providers it trusts.

use serde::{Deserialize, Serialize};

use crate::model::Cloud;
use crate::model::Protected;
use crate::util::address;

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

/// A tenant's external collaboration settings. Fields a newer version
/// added are ignored on read (config is strict on its own: `config::strict`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CollaborationSettings {
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

impl CollaborationSettings {
    /// Why invitations to `domain` are refused, if they are.
    pub fn domain_refusal(&self, domain: &str) -> Option<String> {
        let listed = |list: &[String]| address::listed(list, domain);
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
/// (the admin API's `identity/identityProviders`, or `b2b.identity_providers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalIdp {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Protected,
    pub domains: Vec<String>,
    /// The cloud the provider belongs to; invitations never cross clouds.
    #[serde(default)]
    pub cloud: Cloud,
}

impl ExternalIdp {
    pub fn serves(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| address::domain(d).is_some_and(|d| d == domain))
    }

    /// The tenant id that represents this provider in `home_tid`: stable
    /// for an issuer, on every instance.
    pub fn tenant_id(&self) -> String {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, self.issuer.as_bytes()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(allowed: &[&str], denied: &[&str]) -> CollaborationSettings {
        CollaborationSettings {
            allowed_domains: allowed.iter().map(|d| d.to_string()).collect(),
            denied_domains: denied.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn deny_list_then_allow_list() {
        assert_eq!(settings(&[], &[]).domain_refusal("anyone.example"), None, "no lists: everyone");
        let deny = settings(&[], &["*.rival.example"]);
        assert!(deny.domain_refusal("mail.rival.example").is_some_and(|why| why.contains("deny list")));
        assert_eq!(deny.domain_refusal("partner.example"), None);
        let allow = settings(&["partner.example"], &[]);
        assert_eq!(allow.domain_refusal("partner.example"), None);
        assert!(allow.domain_refusal("other.example").is_some_and(|why| why.contains("allow list")));
        let both = settings(&["partner.example"], &["partner.example"]);
        assert!(both.domain_refusal("partner.example").is_some_and(|why| why.contains("deny list")), "deny wins");
    }

    #[test]
    fn providers_serve_their_domains_in_ascii_form() {
        let idp = ExternalIdp {
            id: String::new(),
            display_name: String::new(),
            issuer: "https://idp.partner.example".into(),
            client_id: "c".into(),
            client_secret: Protected::Plain("s".into()),
            domains: vec!["Partner.Example".into(), "bücher.example".into()],
            cloud: Cloud::Global,
        };
        assert!(idp.serves("partner.example") && idp.serves("xn--bcher-kva.example") && !idp.serves("sub.partner.example"));
        assert_eq!(idp.tenant_id(), idp.clone().tenant_id(), "stable per issuer");
    }
}
