//! The admin API's policy resources: `identity/conditionalAccess/policies`
//! and `policies/crossTenantAccessPolicy` (default and partners).

use serde::{Deserialize, Serialize};

use crate::directory::access::{Caller, MANAGE_POLICY};
use crate::error::{Error, Result};
use crate::graph;
use crate::idp::Idp;
use crate::model::Tenant;
use crate::model::{BuiltInControl, ConditionalAccessPolicy, InboundTrust, PolicyState};

/// The tenant record is the unit of change (`directory::tenants::change`).
async fn change(idp: &Idp, tenant: &Tenant, apply: impl FnMut(&mut Tenant) -> Result<()>) -> Result<Tenant> {
    crate::directory::tenants::change(idp, &tenant.id, apply).await
}

/// Checks what this server can evaluate, so a policy never silently does nothing.
pub fn check(policy: &ConditionalAccessPolicy) -> Result<()> {
    if policy.display_name.trim().is_empty() {
        return Err(Error::Invalid("displayName is required".into()));
    }
    if policy.state == PolicyState::Unknown {
        return Err(Error::Invalid("state: use enabled or disabled".into()));
    }
    let controls = &policy.grant_controls.built_in_controls;
    if controls.is_empty() || controls.contains(&BuiltInControl::Unknown) {
        return Err(Error::Invalid("grantControls.builtInControls: use mfa and/or block".into()));
    }
    let users = &policy.conditions.users;
    if users.include_users.is_empty() && users.include_groups.is_empty() {
        return Err(Error::Invalid("conditions.users must include someone (includeUsers or includeGroups)".into()));
    }
    Ok(())
}

pub async fn list(tenant: &Tenant, caller: &Caller) -> Result<Vec<graph::ConditionalAccessPolicy>> {
    caller.require(MANAGE_POLICY)?;
    Ok(tenant.conditional_access.iter().map(graph::ConditionalAccessPolicy::from).collect())
}

pub async fn get(tenant: &Tenant, caller: &Caller, id: &str) -> Result<graph::ConditionalAccessPolicy> {
    caller.require(MANAGE_POLICY)?;
    tenant
        .conditional_access
        .iter()
        .find(|p| p.id == id)
        .map(graph::ConditionalAccessPolicy::from)
        .ok_or_else(|| Error::NotFound(format!("policy {id}")))
}

pub async fn create(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    body: graph::ConditionalAccessPolicy,
) -> Result<graph::ConditionalAccessPolicy> {
    caller.require(MANAGE_POLICY)?;
    let mut policy = ConditionalAccessPolicy::from(body);
    check(&policy)?;
    policy.id = uuid::Uuid::new_v4().to_string();
    let created = policy.clone();
    change(idp, tenant, |t| {
        t.conditional_access.push(policy.clone());
        Ok(())
    })
    .await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, policy = %created.id, "conditional access policy created");
    Ok(graph::ConditionalAccessPolicy::from(&created))
}

pub async fn delete(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    caller.require(MANAGE_POLICY)?;
    change(idp, tenant, |t| {
        let before = t.conditional_access.len();
        t.conditional_access.retain(|p| p.id != id);
        if t.conditional_access.len() == before {
            return Err(Error::NotFound(format!("policy {id}")));
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// Graph's `crossTenantAccessPolicyConfigurationPartner` (and the default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub inbound_trust: Option<graph::InboundTrust>,
}

pub async fn default_setting(tenant: &Tenant, caller: &Caller) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    Ok(PartnerSetting { tenant_id: None, inbound_trust: Some((&tenant.cross_tenant_access.default).into()) })
}

pub async fn set_default(idp: &Idp, tenant: &Tenant, caller: &Caller, body: PartnerSetting) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    let trust = InboundTrust::from(body.inbound_trust.ok_or_else(|| Error::Invalid("inboundTrust is required".into()))?);
    let updated = change(idp, tenant, |t| {
        t.cross_tenant_access.default = trust.clone();
        Ok(())
    })
    .await?;
    Ok(PartnerSetting { tenant_id: None, inbound_trust: Some((&updated.cross_tenant_access.default).into()) })
}

pub async fn partner(tenant: &Tenant, caller: &Caller, partner: &str) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    let trust = tenant.cross_tenant_access.partners.get(partner).ok_or_else(|| Error::NotFound(format!("partner {partner}")))?;
    Ok(PartnerSetting { tenant_id: Some(partner.to_string()), inbound_trust: Some(trust.into()) })
}

/// PUT and PATCH: this resource has one property, so both set it.
pub async fn set_partner(idp: &Idp, tenant: &Tenant, caller: &Caller, partner: &str, body: PartnerSetting) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    if partner.trim().is_empty() {
        return Err(Error::Invalid("the partner is a tenant id or an identity provider's issuer".into()));
    }
    let trust = InboundTrust::from(body.inbound_trust.ok_or_else(|| Error::Invalid("inboundTrust is required".into()))?);
    change(idp, tenant, |t| {
        t.cross_tenant_access.partners.insert(partner.to_string(), trust.clone());
        Ok(())
    })
    .await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, %partner, mfa_accepted = trust.is_mfa_accepted, "cross-tenant access set");
    Ok(PartnerSetting { tenant_id: Some(partner.to_string()), inbound_trust: Some((&trust).into()) })
}

pub async fn delete_partner(idp: &Idp, tenant: &Tenant, caller: &Caller, partner: &str) -> Result<()> {
    caller.require(MANAGE_POLICY)?;
    change(idp, tenant, |t| {
        t.cross_tenant_access.partners.remove(partner).map(|_| ()).ok_or_else(|| Error::NotFound(format!("partner {partner}")))
    })
    .await
    .map(|_| ())
}
