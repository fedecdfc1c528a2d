//! The admin API's policy resources: `identity/conditionalAccess/policies`
//! and `policies/crossTenantAccessPolicy` (default and partners).

use serde::{Deserialize, Serialize};

use crate::audit::change::{Change, Target};
use crate::directory::access::{Caller, MANAGE_POLICY};
use crate::directory::etag::IfMatch;
use crate::directory::filter::{Fields, Filter};
use crate::directory::paging::{self, Page, PageRequest};
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

/// What `$filter` may test on policies.
const POLICY_FIELDS: Fields<ConditionalAccessPolicy> =
    Fields { text: &[("id", |p| Some(p.id.as_str())), ("displayName", |p| Some(p.display_name.as_str()))], flags: &[] };

pub async fn list(
    tenant: &Tenant,
    caller: &Caller,
    filter: &Filter,
    request: &PageRequest,
) -> Result<Page<graph::ConditionalAccessPolicy>> {
    caller.require(MANAGE_POLICY)?;
    let page = paging::slice(tenant.conditional_access.clone(), request, &filter.matcher(&POLICY_FIELDS)?)?;
    Ok(page.map(|p| graph::ConditionalAccessPolicy::from(p)))
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

/// Logs a policy change that reached the tenant record (`result`, either
/// way: a lost `If-Match` race is worth seeing too).
fn audited<T>(idp: &Idp, tenant: &Tenant, caller: &Caller, activity: &str, target: Target, result: Result<T>) -> Result<T> {
    let mut change = Change::new(&tenant.id, caller.actor(), "Policy", activity, vec![target]);
    change.failure = result.as_ref().err().map(ToString::to_string);
    idp.audit.change(change);
    result
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
    let result = change(idp, tenant, |t| {
        t.conditional_access.push(policy.clone());
        Ok(())
    })
    .await;
    let target = Target::new("Policy", &created.id, &created.display_name);
    audited(idp, tenant, caller, "Add conditional access policy", target, result)?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, policy = %created.id, "conditional access policy created");
    Ok(graph::ConditionalAccessPolicy::from(&created))
}

/// Graph's PATCH: the properties the body names replace the policy's (a
/// property that is an object is replaced whole); the result is checked
/// like a new policy. Conditional on `if_match` against the policy as it
/// is when the change is applied.
pub async fn update(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    id: &str,
    patch: serde_json::Value,
    if_match: &IfMatch,
) -> Result<graph::ConditionalAccessPolicy> {
    caller.require(MANAGE_POLICY)?;
    let serde_json::Value::Object(patch) = patch else { return Err(Error::Invalid("the body must be a JSON object".into())) };
    if patch.get("id").is_some_and(|v| v.as_str() != Some(id)) {
        return Err(Error::Invalid("id: a policy's id cannot be changed".into()));
    }
    let result = change(idp, tenant, |t| {
        let current = t.conditional_access.iter_mut().find(|p| p.id == id).ok_or_else(|| Error::NotFound(format!("policy {id}")))?;
        let shown = graph::ConditionalAccessPolicy::from(&*current);
        if_match.check(Some(&shown))?;
        let mut merged = serde_json::to_value(&shown).map_err(|e| Error::Internal(e.to_string()))?;
        for (property, value) in &patch {
            merged[property] = value.clone();
        }
        let next: graph::ConditionalAccessPolicy = serde_json::from_value(merged).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut next = ConditionalAccessPolicy::from(next);
        next.id = id.to_string();
        check(&next)?;
        *current = next;
        Ok(())
    })
    .await;
    let updated = audited(idp, tenant, caller, "Update conditional access policy", Target::new("Policy", id, ""), result)?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, policy = %id, "conditional access policy changed");
    get(&updated, caller, id).await
}

pub async fn delete(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, if_match: &IfMatch) -> Result<()> {
    caller.require(MANAGE_POLICY)?;
    let result = change(idp, tenant, |t| {
        let current = t.conditional_access.iter().find(|p| p.id == id).ok_or_else(|| Error::NotFound(format!("policy {id}")))?;
        if_match.check(Some(&graph::ConditionalAccessPolicy::from(current)))?;
        t.conditional_access.retain(|p| p.id != id);
        Ok(())
    })
    .await;
    audited(idp, tenant, caller, "Delete conditional access policy", Target::new("Policy", id, ""), result).map(|_| ())
}

/// Graph's `crossTenantAccessPolicyConfigurationPartner` (and the default).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub inbound_trust: Option<graph::InboundTrust>,
}

/// The default setting as the API shows it.
fn default_shown(tenant: &Tenant) -> PartnerSetting {
    PartnerSetting { tenant_id: None, inbound_trust: Some((&tenant.cross_tenant_access.default).into()) }
}

/// A partner's setting as the API shows it, if there is one.
fn partner_shown(tenant: &Tenant, partner: &str) -> Option<PartnerSetting> {
    let trust = tenant.cross_tenant_access.partners.get(partner)?;
    Some(PartnerSetting { tenant_id: Some(partner.to_string()), inbound_trust: Some(trust.into()) })
}

pub async fn default_setting(tenant: &Tenant, caller: &Caller) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    Ok(default_shown(tenant))
}

pub async fn set_default(idp: &Idp, tenant: &Tenant, caller: &Caller, body: PartnerSetting, if_match: &IfMatch) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    let trust = InboundTrust::from(body.inbound_trust.ok_or_else(|| Error::Invalid("inboundTrust is required".into()))?);
    let result = change(idp, tenant, |t| {
        if_match.check(Some(&default_shown(t)))?;
        t.cross_tenant_access.default = trust.clone();
        Ok(())
    })
    .await;
    let target = Target::new("Policy", "default", "Cross-tenant access default");
    let updated = audited(idp, tenant, caller, "Update cross-tenant access default settings", target, result)?;
    Ok(default_shown(&updated))
}

/// Every partner with its own setting, in id order (the admin console's list).
pub fn partners(tenant: &Tenant, caller: &Caller) -> Result<Vec<PartnerSetting>> {
    caller.require(MANAGE_POLICY)?;
    Ok(tenant.cross_tenant_access.partners.keys().filter_map(|p| partner_shown(tenant, p)).collect())
}

pub async fn partner(tenant: &Tenant, caller: &Caller, partner: &str) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    partner_shown(tenant, partner).ok_or_else(|| Error::NotFound(format!("partner {partner}")))
}

/// PUT and PATCH: this resource has one property, so both set it.
pub async fn set_partner(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    partner: &str,
    body: PartnerSetting,
    if_match: &IfMatch,
) -> Result<PartnerSetting> {
    caller.require(MANAGE_POLICY)?;
    if partner.trim().is_empty() {
        return Err(Error::Invalid("the partner is a tenant id or an identity provider's issuer".into()));
    }
    let trust = InboundTrust::from(body.inbound_trust.ok_or_else(|| Error::Invalid("inboundTrust is required".into()))?);
    let result = change(idp, tenant, |t| {
        if_match.check(partner_shown(t, partner).as_ref())?;
        t.cross_tenant_access.partners.insert(partner.to_string(), trust.clone());
        Ok(())
    })
    .await;
    let target = Target::new("Policy", partner, "Cross-tenant access partner settings");
    audited(idp, tenant, caller, "Update cross-tenant access partner settings", target, result)?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, %partner, mfa_accepted = trust.is_mfa_accepted, "cross-tenant access set");
    Ok(PartnerSetting { tenant_id: Some(partner.to_string()), inbound_trust: Some((&trust).into()) })
}

pub async fn delete_partner(idp: &Idp, tenant: &Tenant, caller: &Caller, partner: &str, if_match: &IfMatch) -> Result<()> {
    caller.require(MANAGE_POLICY)?;
    let result = change(idp, tenant, |t| {
        let current = partner_shown(t, partner).ok_or_else(|| Error::NotFound(format!("partner {partner}")))?;
        if_match.check(Some(&current))?;
        t.cross_tenant_access.partners.remove(partner);
        Ok(())
    })
    .await;
    let target = Target::new("Policy", partner, "Cross-tenant access partner settings");
    audited(idp, tenant, caller, "Delete cross-tenant access partner settings", target, result).map(|_| ())
}
