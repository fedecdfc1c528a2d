//! JSON bodies of the admin API (Graph shapes), as its `Body` extractor parses them:
//! one input is tried as every request type, then given to the pure checks
//! the handlers apply before touching the store.
//!
//! Oracles: `address::email`, which every address entering the directory
//! goes through, is idempotent and its output is a plain address; a
//! `$filter` the parser takes reads back the same when written out again.
#![no_main]

use b2b_idp::directory::apps::{self, AddPassword, ApplicationFields, RemovePassword};
use b2b_idp::directory::collaboration;
use b2b_idp::directory::collaboration::GraphIdentityProvider;
use b2b_idp::directory::filter::Filter;
use b2b_idp::directory::groups::{MemberRef, NewGroup};
use b2b_idp::directory::invitations::NewInvitation;
use b2b_idp::directory::roles::NewRoleAssignment;
use b2b_idp::directory::users::{NewUser, UserChanges};
use b2b_idp::graph::ConditionalAccessPolicy;
use b2b_idp::model::{ExternalIdp, Platform};
use b2b_idp::passwords;
use b2b_idp::policy::api::{self as policy_api, PartnerSetting};
use b2b_idp::util::address;
use libfuzzer_sys::fuzz_target;

fn check_email(raw: &str) {
    if let Ok(email) = address::email(raw) {
        assert_eq!(address::email(&email).ok().as_deref(), Some(email.as_str()), "address::email is not idempotent on {raw:?}");
        assert_eq!(email.matches('@').count(), 1, "{email:?}");
        assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()), "{email:?}");
    }
}

fn check_filter(text: &str) {
    if let Ok(filter) = Filter::parse(Some(text)) {
        let written: Vec<String> = filter.clauses.iter().map(ToString::to_string).collect();
        let again = Filter::parse(Some(&written.join(" and "))).map(|f| f.clauses);
        if written.join(" and ").chars().count() <= 1024 {
            assert_eq!(again.as_ref().ok(), Some(&filter.clauses), "{text:?} written as {written:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_filter(text);
    }
    if let Ok(app) = serde_json::from_slice::<ApplicationFields>(data) {
        let given = [(Platform::Web, app.web), (Platform::Spa, app.spa), (Platform::PublicClient, app.public_client)];
        for (platform, uris) in given {
            let Some(uris) = uris else { continue };
            let redirect_uris = uris.redirect_uris.unwrap_or_default();
            if apps::check_uris_for(platform, &redirect_uris).is_ok() {
                for uri in &redirect_uris {
                    let parsed = url::Url::parse(uri).expect("an accepted redirect URI parses");
                    assert!(parsed.fragment().is_none() && !matches!(parsed.scheme(), "javascript" | "data" | "file"), "{uri:?}");
                }
            }
            // A logout URI the checks accept is https (http on loopback) without a fragment.
            for uri in uris.logout_url.iter().chain(app.backchannel_logout_uri.iter()) {
                if let Ok(uri) = apps::logout_uri("logoutUrl", uri) {
                    let parsed = url::Url::parse(&uri).expect("an accepted logout URI parses");
                    assert!(parsed.fragment().is_none() && matches!(parsed.scheme(), "https" | "http"), "{uri:?}");
                }
            }
        }
    }
    let _ = serde_json::from_slice::<AddPassword>(data);
    let _ = serde_json::from_slice::<RemovePassword>(data);
    let _ = serde_json::from_slice::<NewRoleAssignment>(data);
    if let Ok(user) = serde_json::from_slice::<NewUser>(data) {
        user.user_principal_name.as_deref().into_iter().chain(user.mail.as_deref()).for_each(check_email);
        let email = user.mail.clone().or(user.user_principal_name.clone()).unwrap_or_default();
        if let Some(password) = user.password_profile.and_then(|p| p.password) {
            let _ = passwords::check_policy(&password, &email);
        }
    }
    let _ = serde_json::from_slice::<UserChanges>(data);
    if let Ok(invitation) = serde_json::from_slice::<NewInvitation>(data) {
        check_email(&invitation.invited_user_email_address);
        for cc in invitation.invited_user_message_info.iter().flat_map(|m| &m.cc_recipients) {
            check_email(&cc.email_address.address);
        }
        let _ = url::Url::parse(invitation.invite_redirect_url.trim());
    }
    if let Ok(group) = serde_json::from_slice::<NewGroup>(data) {
        group.mail.as_deref().into_iter().for_each(check_email);
    }
    let _ = serde_json::from_slice::<MemberRef>(data);
    if let Ok(policy) = serde_json::from_slice::<ConditionalAccessPolicy>(data) {
        let _ = policy_api::check(&policy.into());
    }
    let _ = serde_json::from_slice::<PartnerSetting>(data);
    if let Ok(provider) = serde_json::from_slice::<GraphIdentityProvider>(data) {
        if let Some(client_secret) = provider.client_secret {
            let _ = collaboration::checked_idp(ExternalIdp {
                id: String::new(),
                display_name: provider.display_name,
                issuer: provider.issuer.trim_end_matches('/').to_string(),
                client_id: provider.client_id,
                client_secret: b2b_idp::model::Protected::Plain(client_secret.expose().to_string()),
                domains: provider.domains,
                cloud: Default::default(),
            });
        }
    }
});
