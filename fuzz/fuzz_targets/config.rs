//! The TOML configuration file, through figment as `Config::load` reads it
//! (alone, and over the built-in defaults), then the pure checks start-up
//! applies to what it declares: network lists, external identity
//! providers, conditional access policies, app registrations.
//!
//! Oracle (SSRF): with no `b2b.allowed_internal_networks`, an identity
//! provider issuer whose host is a loopback or private address literal is
//! refused by `Egress::check_literal`.
#![no_main]

use std::net::IpAddr;

use b2b_idp::config::{self, Config};
use b2b_idp::directory::collaboration;
use b2b_idp::egress::Egress;
use b2b_idp::model::Tenant;
use b2b_idp::policy::api as policy_api;
use b2b_idp::server::seed;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use libfuzzer_sys::fuzz_target;

/// A tenant for `app_from_seed`; from JSON, so fields the record gains with
/// a serde default need no change here.
fn tenant() -> Option<Tenant> {
    serde_json::from_value(serde_json::json!({
        "id": b2b_idp_fuzz::TENANT_ID, "name": "fuzz", "display_name": "Fuzz", "cloud": "global",
        "region_scope": "WW", "signing_alg": "ES256", "created_at": 0, "domains": ["fuzz.example"]
    }))
    .ok()
}

fn obviously_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Figment::from(Toml::string(text)).extract::<Config>();
    let Ok(config) = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)).extract::<Config>() else { return };
    let _ = (config.server.base_url(), config.server.is_https());
    let _ = config::networks("server.trusted_proxies", &config.server.trusted_proxies);
    let Ok(allowed) = config::networks("b2b.allowed_internal_networks", &config.b2b.allowed_internal_networks) else { return };
    let egress = Egress::new(allowed.clone());
    let Some(tenant) = tenant() else { return };
    let declared = config.tenants.iter().flat_map(|t| &t.identity_providers);
    for provider in config.b2b.identity_providers.iter().chain(declared) {
        let Ok(checked) = collaboration::checked_idp(provider.clone()) else { continue };
        let Ok(issuer) = url::Url::parse(&checked.issuer) else { continue };
        let literal = match issuer.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if egress.check_literal(&issuer).is_ok() {
            if let Some(ip) = literal.filter(|_| allowed.is_empty()) {
                assert!(!obviously_internal(ip), "issuer {issuer} at an internal address passed the egress check");
            }
        }
    }
    for declared in &config.tenants {
        for policy in &declared.conditional_access {
            let _ = policy_api::check(&policy.clone().into());
        }
        for app in &declared.apps {
            let _ = seed::app_from_seed(&tenant, app);
        }
    }
});
