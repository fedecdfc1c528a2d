//! Home realm discovery: where a person authenticates, by their email's
//! domain. Invitations decide with it how a guest will redeem; federation
//! sends the guest there.

use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{Cloud, ExternalIdp, Tenant};
use crate::util::email_domain;

/// Where a person authenticates, by their email's domain.
#[derive(Debug, Clone)]
pub enum HomeRoute {
    /// A tenant on this server that owns the domain.
    Tenant(Box<Tenant>),
    /// An external OIDC identity provider configured for the domain.
    External(ExternalIdp),
    /// Nobody serves the domain: one-time passcodes by mail.
    EmailOtp,
}

impl HomeRoute {
    /// The cloud of the home, when it has one (passcode users join ours).
    pub fn cloud(&self) -> Option<Cloud> {
        match self {
            HomeRoute::Tenant(t) => Some(t.cloud),
            HomeRoute::External(x) => Some(x.cloud),
            HomeRoute::EmailOtp => None,
        }
    }
}

/// Home realm discovery in Entra's order: a tenant here that owns the
/// domain, then an external IdP of this tenant, then a global one, then
/// email one-time passcode.
pub async fn home_route(idp: &Idp, resource: &Tenant, email: &str) -> Result<HomeRoute> {
    let domain = email_domain(email).ok_or_else(|| Error::Invalid(format!("'{email}' is not an email address")))?;
    domain_route(idp, resource, &domain).await
}

/// Home realm discovery for a domain (lower-case) alone, as `domain_hint` names one.
pub async fn domain_route(idp: &Idp, resource: &Tenant, domain: &str) -> Result<HomeRoute> {
    if let Some(home) = idp.store.tenants_by_domain(domain).await?.into_iter().next() {
        return Ok(HomeRoute::Tenant(Box::new(home)));
    }
    let external = resource.identity_providers.iter().chain(&idp.config.b2b.identity_providers).find(|x| x.serves(domain));
    Ok(external.map_or(HomeRoute::EmailOtp, |x| HomeRoute::External(x.clone())))
}
