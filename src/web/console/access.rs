//! The console's access settings: conditional access policies, cross-tenant
//! access (the partners whose MFA is trusted) and external identity
//! providers, through the policy API's own functions.

use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::json;

use crate::directory::apps;
use crate::directory::collaboration::{self, GraphIdentityProvider};
use crate::directory::etag::IfMatch;
use crate::directory::filter::Filter;
use crate::directory::paging::PageRequest;
use crate::error::Error;
use crate::graph;
use crate::idp::Idp;
use crate::model::BuiltInControl;
use crate::policy::api as policy_api;
use crate::util::Secret;
use crate::web::console::{back_to, page};
use crate::web::error::{Page, PathTenant};
use crate::web::pages::PageResult;
use crate::web::portal::signed_in;

/// `GET /{tenant}/admin/partners`: cross-tenant access, with each
/// partner's inbound MFA trust.
pub async fn partners(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let mut rows = Vec::new();
    for setting in policy_api::partners(&tenant, &portal.caller)? {
        let id = setting.tenant_id.unwrap_or_default();
        let name = match idp.tenant(&id).await {
            Ok(known) => known.display_name,
            Err(_) => id.clone(),
        };
        rows.push(json!({ "id": id, "name": name, "mfa": setting.inbound_trust.is_some_and(|t| t.is_mfa_accepted) }));
    }
    let default_mfa = tenant.cross_tenant_access.default.is_mfa_accepted;
    let context = json!({ "partners": rows, "default_mfa": default_mfa, "action": idp.tenant_url(&tenant, "admin/partners") });
    Ok(page(&idp, &req, &portal, "admin/partners.html", "partners", context, None))
}

#[derive(Deserialize)]
pub struct PartnerForm {
    csrf_token: String,
    /// A tenant of this server (id or name), or a home provider's issuer.
    partner: String,
    /// `on` when the partner's MFA is trusted.
    #[serde(default)]
    mfa: Option<String>,
}

/// `POST /{tenant}/admin/partners`: adds a partner or changes its trust (a
/// sensitive action: a recent sign-in first).
pub async fn set_partner(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<PartnerForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    if let Some(again) = portal.reauthenticate(&idp, &req, "admin/partners") {
        return Ok(again);
    }
    let named = form.partner.trim();
    let partner = match idp.tenant(named).await {
        Ok(known) => known.id,
        Err(_) => named.to_string(),
    };
    let setting = policy_api::PartnerSetting {
        tenant_id: Some(partner.clone()),
        inbound_trust: Some(graph::InboundTrust { is_mfa_accepted: form.mfa.as_deref() == Some("on") }),
    };
    policy_api::set_partner(&idp, &tenant, &portal.caller, &partner, setting, &IfMatch::new(None)).await?;
    Ok(back_to(&idp, &portal, "admin/partners"))
}

/// How many policies or apps a console page lists (Graph's largest page).
const ALL: &str = "999";

/// `GET /{tenant}/admin/policies`: conditional access, and the two
/// policies B2B tenants start with.
pub async fn policies(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let everything = PageRequest::parse(Some(ALL), None, None)?;
    let listed = policy_api::list(&tenant, &portal.caller, &Filter::default(), &everything).await?;
    let apps = apps::list(&idp, &tenant, &portal.caller, &Filter::default(), &everything).await?;
    let names: std::collections::HashMap<&str, &str> = apps.value.iter().map(|a| (a.app_id.as_str(), a.display_name.as_str())).collect();
    let named = |ids: &[String]| ids.iter().map(|id| names.get(id.as_str()).map_or(id.clone(), |n| n.to_string())).collect::<Vec<_>>();
    let rows: Vec<_> = listed
        .value
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.display_name,
                "enabled": p.state == crate::model::PolicyState::Enabled,
                "users": p.conditions.users.include_users,
                "groups": p.conditions.users.include_groups.len(),
                "apps": named(&p.conditions.applications.include_applications),
                "controls": p.grant_controls.built_in_controls.iter().map(|c| match c {
                    BuiltInControl::Mfa => "mfa",
                    BuiltInControl::Block => "block",
                    BuiltInControl::Unknown => "unknown",
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let choices: Vec<_> = apps
        .value
        .iter()
        .filter(|a| !crate::directory::portal::is_built_in(&a.app_id))
        .map(|a| json!({ "id": a.app_id, "name": a.display_name }))
        .collect();
    let context = json!({ "policies": rows, "apps": choices, "action": idp.tenant_url(&tenant, "admin/policies") });
    Ok(page(&idp, &req, &portal, "admin/policies.html", "policies", context, None))
}

#[derive(Deserialize)]
pub struct PolicyForm {
    csrf_token: String,
    /// `mfa_guests`, `block_guests` or `delete`.
    action: String,
    /// The app a new policy covers (`All`, or a client id).
    #[serde(default)]
    app: String,
    #[serde(rename = "displayName", default)]
    display_name: String,
    /// The policy to delete.
    #[serde(default)]
    id: String,
}

/// `POST /{tenant}/admin/policies`: "MFA for guests" or "block guests from
/// an app", or deleting a policy (sensitive actions: a recent sign-in first).
pub async fn change_policy(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<PolicyForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    // A policy can lock every guest out: a recent sign-in for any change.
    if let Some(again) = portal.reauthenticate(&idp, &req, "admin/policies") {
        return Ok(again);
    }
    let control = match form.action.as_str() {
        "delete" => {
            policy_api::delete(&idp, &tenant, &portal.caller, &form.id, &IfMatch::new(None)).await?;
            return Ok(back_to(&idp, &portal, "admin/policies"));
        }
        "mfa_guests" => "mfa",
        "block_guests" => "block",
        other => return Err(Error::Invalid(format!("unknown action '{other}'")).into()),
    };
    let app = match form.app.trim() {
        "" => "All",
        app => app,
    };
    let name = match form.display_name.trim() {
        "" if control == "mfa" => format!("Guests need MFA ({app})"),
        "" => format!("Block guests from {app}"),
        given => given.to_string(),
    };
    let policy: graph::ConditionalAccessPolicy = serde_json::from_value(json!({
        "displayName": name,
        "state": "enabled",
        "conditions": { "users": { "includeUsers": ["GuestsOrExternalUsers"] }, "applications": { "includeApplications": [app] } },
        "grantControls": { "operator": "OR", "builtInControls": [control] },
    }))
    .map_err(|e| Error::Invalid(format!("the policy: {e}")))?;
    policy_api::create(&idp, &tenant, &portal.caller, policy).await?;
    Ok(back_to(&idp, &portal, "admin/policies"))
}

/// `GET /{tenant}/admin/identity-providers`: where guests of other
/// organisations sign in (OIDC providers, by email domain).
pub async fn identity_providers(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let everything = PageRequest::parse(Some(ALL), None, None)?;
    let listed = collaboration::identity_providers(&tenant, &portal.caller, &Filter::default(), &everything).await?;
    let context = json!({ "providers": listed.value, "action": idp.tenant_url(&tenant, "admin/identity-providers") });
    Ok(page(&idp, &req, &portal, "admin/identity_providers.html", "identity-providers", context, None))
}

#[derive(Deserialize)]
pub struct ProviderForm {
    csrf_token: String,
    #[serde(rename = "displayName", default)]
    display_name: String,
    issuer: String,
    #[serde(rename = "clientId")]
    client_id: String,
    #[serde(rename = "clientSecret")]
    client_secret: String,
    /// Email domains, separated by commas or spaces.
    domains: String,
}

/// `POST /{tenant}/admin/identity-providers`: adds a provider (or replaces
/// the one with that issuer). A provider decides who may sign in as a
/// guest: a sensitive action, so a recent sign-in first.
pub async fn add_identity_provider(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    form: web::Form<ProviderForm>,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    if let Some(again) = portal.reauthenticate(&idp, &req, "admin/identity-providers") {
        return Ok(again);
    }
    let form = form.into_inner();
    let new = GraphIdentityProvider {
        odata_type: "#microsoft.graph.openIdConnectIdentityProvider".into(),
        id: String::new(),
        display_name: form.display_name.trim().to_string(),
        issuer: form.issuer.trim().to_string(),
        client_id: form.client_id.trim().to_string(),
        client_secret: Some(Secret(form.client_secret)),
        domains: form.domains.split([',', ' ', '\n']).map(str::trim).filter(|d| !d.is_empty()).map(str::to_string).collect(),
    };
    collaboration::add_identity_provider(&idp, &tenant, &portal.caller, new).await?;
    Ok(back_to(&idp, &portal, "admin/identity-providers"))
}
