//! Guests authenticate at home. This module finds a guest's home (home realm
//! discovery, in Entra's order), sends the browser there as an OIDC relying
//! party (`rp`), or mails a one-time passcode (`passcode`), and turns what
//! comes back into a redemption or a sign-in at the resource tenant.

pub mod home_logout;
pub mod passcode;

use ring::hmac;

use crate::audit::signin::{code, step, user_type_label, Subject};
use crate::directory::invitations;
use crate::directory::realm::{domain_route, home_route, HomeRoute};
use crate::egress::rp::Registration;
use crate::error::{Error, Result};
use crate::i18n;
use crate::idp::Idp;
use crate::model::Interaction;
use crate::model::Purpose;
use crate::model::Step;
use crate::model::{App, GrantType, Platform, Tenant, User};
use crate::model::{AuthRequest, Session};
use crate::model::{ExternalIdp, HomeAccount, HomeMethod, HomeSession};
use crate::model::{Invitation, InvitationStatus};
use crate::signin::log;
use crate::signin::session::{self, Factors};
use crate::util::Secret;
use crate::util::{now, random_token, sha256_hex};
use crate::vault::context;

/// The route a redeemed guest must keep using: the home they redeemed with.
async fn bound_route(idp: &Idp, resource: &Tenant, home: &HomeAccount) -> Result<HomeRoute> {
    if home.method == HomeMethod::EmailOtp {
        return Ok(HomeRoute::EmailOtp);
    }
    if let Some(tenant) = idp.store.tenant(&home.tenant_id).await? {
        if idp.issuer(&tenant) == home.issuer {
            return Ok(HomeRoute::Tenant(Box::new(tenant)));
        }
    }
    external_by_issuer(idp, resource, &home.issuer)
}

/// The configured external provider with this issuer (the tenant's first).
fn external_by_issuer(idp: &Idp, resource: &Tenant, issuer: &str) -> Result<HomeRoute> {
    resource
        .identity_providers
        .iter()
        .chain(&idp.config.b2b.identity_providers)
        .find(|x| x.issuer == issuer)
        .map(|x| HomeRoute::External(x.clone()))
        .ok_or_else(|| Error::Upstream(i18n::text("fed-provider-gone", &[("issuer", issuer)])))
}

impl Purpose {
    /// The account this interaction is for, when it was known at its start.
    fn user_id(&self) -> Option<&str> {
        match self {
            Purpose::SignIn { user_id, .. } | Purpose::Redeem { user_id, .. } | Purpose::PasswordReset { user_id } => Some(user_id),
            Purpose::SignInByDomain { .. } => None,
        }
    }
}

/// What the browser sees next.
#[derive(Debug)]
pub enum Next {
    GoHome(String),
    /// Ask for the mailed code: after a wrong one, `attempts_left` says how
    /// many tries remain; `resent` when it replaces a code sent before.
    Passcode {
        interaction_id: String,
        email: String,
        attempts_left: Option<u32>,
        resent: bool,
    },
    ConfirmRedemption {
        interaction_id: String,
        invitation: Box<Invitation>,
        home: HomeAccount,
    },
    Redeemed {
        session: Session,
        redirect_url: String,
    },
    SignedIn {
        session: Session,
        request_id: String,
    },
}

/// The resource tenant's redirect URI at home IdPs (docs/contract.md, "URLs").
pub fn callback_url(idp: &Idp, resource: &Tenant) -> String {
    format!("{}/{}/federation/callback", idp.base_url(), resource.name)
}

/// The resource tenant's client id at a home tenant of this server.
fn federation_client_id(resource: &Tenant) -> String {
    format!("b2b-federation-{}", resource.id)
}

/// Where the resource tenant takes home's back-channel logout (docs/contract.md, "URLs").
fn backchannel_logout_url(idp: &Idp, resource: &Tenant) -> String {
    format!("{}/{}/federation/backchannel-logout", idp.base_url(), resource.name)
}

/// A tenant on this server is a home IdP like any other: the resource tenant
/// is an OIDC client registered in it, with a secret derived from the
/// server key so every instance computes the same.
async fn same_server_registration(idp: &Idp, home: &Tenant, resource: &Tenant) -> Result<Registration> {
    use base64::Engine;
    let client_id = federation_client_id(resource);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &idp.cookie_key);
    let tag = hmac::sign(&key, format!("federation\0{}\0{}", home.id, resource.id).as_bytes());
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag);
    let redirect_uri = callback_url(idp, resource);
    let app = App {
        tenant_id: home.id.clone(),
        client_id: client_id.clone(),
        display_name: format!("{} (B2B collaboration)", resource.display_name),
        secret_hash: Some(sha256_hex(&secret)),
        passwords: vec![],
        platform: Some(Platform::Web),
        redirect_uris: vec![redirect_uri.clone()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        signing_alg: None,
        identifier_uri: None,
        api_permissions: Default::default(),
        delegated_permissions: Default::default(),
        require_consent: false,
        app_roles: vec![],
        home_page_url: None,
        key_credentials: vec![],
        single_use_client_assertions: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: Some(backchannel_logout_url(idp, resource)),
        frontchannel_logout_uri: None,
    };
    if idp.store.app(&home.id, &client_id).await?.as_ref() != Some(&app) {
        idp.store.put_app(&app).await?;
    }
    Ok(Registration { issuer: idp.issuer(home), client_id, client_secret: Secret(secret), redirect_uri, same_server: true })
}

async fn registration(idp: &Idp, resource: &Tenant, route: &HomeRoute) -> Result<Registration> {
    match route {
        HomeRoute::Tenant(home) => same_server_registration(idp, home, resource).await,
        HomeRoute::External(x) => Ok(Registration {
            issuer: x.issuer.clone(),
            client_id: x.client_id.clone(),
            client_secret: idp.vault.open(&x.client_secret, &context::client_secret(&resource.id, &x.issuer))?,
            redirect_uri: callback_url(idp, resource),
            same_server: false,
        }),
        HomeRoute::EmailOtp => Err(Error::Internal("passcode users have no home registration".into())),
    }
}

/// The redemption page's "accept": go home (or get a passcode) to prove who you are.
pub async fn start_redemption(idp: &Idp, tenant: &Tenant, ticket: &str, browser: &str) -> Result<Next> {
    let (invitation, user) = invitations::by_ticket(idp, tenant, ticket).await?;
    if invitation.status == InvitationStatus::Completed {
        return Err(Error::Invalid(i18n::text("fed-already-redeemed", &[("tenant", &tenant.display_name)])));
    }
    let bound = user.external.as_ref().and_then(|e| e.home.clone());
    let route = match &bound {
        Some(home) => bound_route(idp, tenant, home).await?,
        None => home_route(idp, tenant, &user.email).await?,
    };
    let purpose = Purpose::Redeem { invitation_id: invitation.id, user_id: user.id.clone() };
    go(idp, tenant, purpose, &route, Some(&user.email), browser, false, false).await
}

/// A guest typed their email on the sign-in page: send them home.
pub async fn start_sign_in(idp: &Idp, tenant: &Tenant, request: &AuthRequest, user: &User, browser: &str) -> Result<Next> {
    go_home(idp, tenant, request, user, browser, false).await
}

/// Sends a guest home for a sign-in; with `require_mfa`, asks home for its
/// second factor (cross-tenant trust), and the answer must carry it.
pub async fn go_home(idp: &Idp, tenant: &Tenant, request: &AuthRequest, user: &User, browser: &str, require_mfa: bool) -> Result<Next> {
    let Some(home) = user.external.as_ref().and_then(|e| e.home.as_ref()) else {
        return Err(Error::Invalid(i18n::text("fed-not-accepted", &[("tenant", &tenant.display_name)])));
    };
    let route = bound_route(idp, tenant, home).await?;
    let purpose = Purpose::SignIn { request_id: request.id.clone(), user_id: user.id.clone() };
    go(idp, tenant, purpose, &route, Some(&user.email), browser, request.forces_login(), require_mfa).await
}

/// `domain_hint` names a partner's domain: straight to that home before
/// anyone types an address, as Entra skips home realm discovery; home's
/// answer names the guest. `None` when the hint cannot skip the address:
/// an unknown value, this tenant's own domain, or a passcode domain (a
/// code is mailed to an address, so it must be typed; an unmanaged
/// tenant's domain is one).
pub async fn go_home_by_domain(idp: &Idp, tenant: &Tenant, request: &AuthRequest, browser: &str) -> Result<Option<Next>> {
    let Some(domain) = request.domain_hint.as_deref().and_then(crate::util::address::domain) else { return Ok(None) };
    let route = domain_route(idp, tenant, &domain).await?;
    match &route {
        HomeRoute::Tenant(home) if home.id == tenant.id || home.unmanaged => return Ok(None),
        HomeRoute::EmailOtp => return Ok(None),
        _ => {}
    }
    let purpose = Purpose::SignInByDomain { request_id: request.id.clone() };
    go(idp, tenant, purpose, &route, None, browser, request.forces_login(), false).await.map(Some)
}

// Eight plain inputs from three flows (redeem, sign in, step up); a struct
// would only rename them.
#[allow(clippy::too_many_arguments)]
async fn go(
    idp: &Idp,
    tenant: &Tenant,
    purpose: Purpose,
    route: &HomeRoute,
    email: Option<&str>,
    browser: &str,
    force_login: bool,
    require_mfa: bool,
) -> Result<Next> {
    if let HomeRoute::EmailOtp = route {
        let email = email.ok_or_else(|| Error::Internal("a passcode needs an address".into()))?;
        return passcode::send(idp, tenant, purpose, email, browser).await;
    }
    let reg = registration(idp, tenant, route).await?;
    let id = random_token();
    let nonce = random_token();
    let (url, pkce_verifier) = idp.home.authorization_url(&reg, &id, &nonce, email, force_login, require_mfa).await?;
    let home_tenant_id = match route {
        HomeRoute::Tenant(t) => Some(t.id.clone()),
        _ => None,
    };
    let interaction = Interaction {
        id,
        tenant_id: tenant.id.clone(),
        browser: sha256_hex(browser),
        purpose,
        step: Step::Home { issuer: reg.issuer, home_tenant_id, nonce, pkce_verifier, require_mfa },
        expires_at: now() + idp.config.tokens.interaction_ttl,
    };
    idp.store.put_interaction(&interaction).await?;
    Ok(Next::GoHome(url))
}

/// An interaction of this tenant and this browser that has not expired.
pub(crate) async fn interaction(idp: &Idp, tenant: &Tenant, id: &str, browser: &str) -> Result<Interaction> {
    let gone = || Error::Invalid(i18n::text("fed-expired", &[]));
    let ix = idp.store.interaction(id).await?.ok_or_else(gone)?;
    if ix.tenant_id != tenant.id || ix.browser != sha256_hex(browser) || ix.expires_at < now() {
        return Err(gone());
    }
    Ok(ix)
}

/// The home IdP's answer at `/{tenant}/federation/callback`.
pub async fn callback(
    idp: &Idp,
    tenant: &Tenant,
    state: &str,
    code: Option<&str>,
    error: Option<(&str, Option<&str>)>,
    browser: &str,
) -> Result<Next> {
    let ix = interaction(idp, tenant, state, browser).await?;
    idp.store.delete_interaction(&ix.id).await?;
    let purpose = ix.purpose.clone();
    let result = from_home(idp, tenant, ix, code, error).await;
    if let Err(e) = &result {
        // A `domain_hint` sign-in names nobody until home answers: logged without an account.
        let (request_id, subject) = match &purpose {
            Purpose::SignIn { request_id, user_id } => match idp.store.user(&tenant.id, user_id).await {
                Ok(Some(user)) => (request_id, Subject::user(&user)),
                _ => return result,
            },
            Purpose::SignInByDomain { request_id } => (request_id, Subject::Unknown { upn: String::new() }),
            _ => return result,
        };
        let step = step("Federated", "", false, false, e.to_string());
        log::failed(idp, tenant, subject, request_id, code::HOME_FAILED, &e.to_string(), &[step]).await;
    }
    result
}

/// The home IdP's answer, checked.
async fn from_home(idp: &Idp, tenant: &Tenant, ix: Interaction, code: Option<&str>, error: Option<(&str, Option<&str>)>) -> Result<Next> {
    let Step::Home { issuer, home_tenant_id, nonce, pkce_verifier, require_mfa } = &ix.step else {
        return Err(Error::Invalid(i18n::text("step-out-of-order", &[])));
    };
    if let Some((error, description)) = error {
        return Err(Error::Upstream(i18n::text(
            "fed-home-refused",
            &[("reason", &format!("{error}{}", description.map(|d| format!(": {d}")).unwrap_or_default()))],
        )));
    }
    let code = code.ok_or_else(|| Error::Invalid(i18n::text("fed-no-code", &[])))?;
    let route = match home_tenant_id {
        Some(id) => {
            HomeRoute::Tenant(Box::new(idp.store.tenant(id).await?.ok_or_else(|| Error::Upstream(i18n::text("fed-home-gone", &[])))?))
        }
        None => external_by_issuer(idp, tenant, issuer)?,
    };
    let reg = registration(idp, tenant, &route).await?;
    let identity = idp.home.redeem_code(&reg, code, pkce_verifier, nonce).await?;
    if identity.email_verified == Some(false) {
        return Err(Error::Forbidden(i18n::text("fed-email-unverified", &[])));
    }
    let home_tid = match &route {
        HomeRoute::Tenant(t) => t.id.clone(),
        HomeRoute::External(x) => external_home_tid(idp, x, identity.tid.as_deref()).await?,
        HomeRoute::EmailOtp => return Err(Error::Internal("a passcode user came back from a home IdP".into())),
    };
    let home = HomeAccount { tenant_id: home_tid, issuer: identity.issuer, subject: identity.subject, method: HomeMethod::Federation };
    // The home's MFA counts only under this tenant's cross-tenant trust;
    // without it the guest is asked again here (Entra's "double MFA").
    let home_mfa = identity.amr.iter().any(|m| m == "mfa") || identity.acr.as_deref() == Some("2");
    let trusted = home_mfa && tenant.cross_tenant_access.trusts_mfa_of(&home.tenant_id, &home.issuer);
    if *require_mfa && !trusted {
        return Err(Error::Forbidden(i18n::text("fed-home-mfa-missing", &[("tenant", &tenant.display_name)])));
    }
    let mut factors = Factors::federated(&home.tenant_id, home_mfa, trusted);
    factors.home = Some(HomeSession { issuer: home.issuer.clone(), subject: home.subject.clone(), sid: identity.sid.clone() });
    finish(idp, tenant, ix, home, identity.email.as_deref(), factors).await
}

/// `home_tid` for a guest of an external provider: its own `tid` claim only
/// when its issuer is that tenant's (Entra's and b2b-idp's
/// `{base}/{tid}/v2.0` layout) and the id is not a tenant of this server;
/// otherwise the tenant id that stands for the provider.
async fn external_home_tid(idp: &Idp, x: &ExternalIdp, tid: Option<&str>) -> Result<String> {
    let Some(tid) = tid.filter(|t| uuid::Uuid::parse_str(t).is_ok()) else { return Ok(x.tenant_id()) };
    let issuers_tenant = x.issuer.trim_end_matches('/').ends_with(&format!("/{tid}/v2.0"));
    if !issuers_tenant || idp.store.tenant(tid).await?.is_some() {
        return Ok(x.tenant_id());
    }
    Ok(tid.to_string())
}

/// Home (or the passcode) proved an account: a redemption goes on to the
/// consent page, a sign-in must match the account the guest redeemed with.
async fn finish(idp: &Idp, tenant: &Tenant, ix: Interaction, home: HomeAccount, email: Option<&str>, factors: Factors) -> Result<Next> {
    let user = match ix.purpose.user_id() {
        Some(id) => idp.store.user(&tenant.id, id).await?,
        None => guest_by_home_address(idp, tenant, email).await?,
    };
    let user = user
        .filter(|u| u.enabled)
        .ok_or_else(|| Error::Forbidden(i18n::text("fed-no-longer-part", &[("tenant", &tenant.display_name)])))?;
    let bound = user.external.as_ref().and_then(|e| e.home.as_ref());
    let same_account = |b: &HomeAccount| b.issuer == home.issuer && b.subject == home.subject;
    match ix.purpose {
        Purpose::Redeem { invitation_id, .. } => {
            if email != Some(user.email.as_str()) {
                return Err(Error::Forbidden(match email {
                    Some(email) => i18n::text("fed-wrong-account", &[("signed_in", email), ("invited", &user.email)]),
                    None => i18n::text("fed-wrong-account-no-address", &[("invited", &user.email)]),
                }));
            }
            if bound.is_some_and(|b| !same_account(b)) {
                return Err(Error::Forbidden(i18n::text("fed-redeemed-by-another", &[])));
            }
            let invitation = idp
                .store
                .invitation(&tenant.id, &invitation_id)
                .await?
                .ok_or_else(|| Error::Invalid(i18n::text("fed-invitation-gone", &[])))?;
            let next = Interaction {
                id: random_token(),
                step: Step::Consent { home: home.clone(), trusted_mfa: factors.mfa_source.is_some() },
                purpose: Purpose::Redeem { invitation_id, user_id: user.id.clone() },
                expires_at: now() + idp.config.tokens.interaction_ttl,
                ..ix
            };
            idp.store.put_interaction(&next).await?;
            Ok(Next::ConfirmRedemption { interaction_id: next.id, invitation: Box::new(invitation), home })
        }
        Purpose::SignIn { request_id, .. } | Purpose::SignInByDomain { request_id } => {
            if !bound.is_some_and(same_account) {
                tracing::warn!(tenant = %tenant.id, user = %user.id, issuer = %home.issuer, "home account does not match the redeemed one");
                return Err(Error::Forbidden(i18n::text("fed-not-the-redeemer", &[("tenant", &tenant.display_name)])));
            }
            tracing::info!(tenant = %tenant.id, user = %user.id, "guest signed in at home");
            let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
            let outcome = if home.method == HomeMethod::EmailOtp { "passcode" } else { "federated" };
            let user_type = user_type_label(user.user_type);
            crate::telemetry::count_for_tenant("b2b_idp_sign_ins_total", label, [("outcome", outcome), ("user_type", user_type)]);
            if factors.mfa_source.is_some() {
                crate::telemetry::count_for_tenant("b2b_idp_mfa_satisfied_total", label, [("where", "home"), ("", "")]);
            }
            let session = session::start(idp, tenant, &user, factors).await?;
            Ok(Next::SignedIn { session, request_id })
        }
        Purpose::PasswordReset { .. } => Err(Error::Invalid(i18n::text("step-out-of-order", &[]))),
    }
}

/// The guest home's answer names by its address, for a sign-in that
/// started without one. The address only finds the account: `finish` still
/// requires the very home account (issuer and subject) that redeemed it.
async fn guest_by_home_address(idp: &Idp, tenant: &Tenant, email: Option<&str>) -> Result<Option<User>> {
    let tenant_name = ("tenant", tenant.display_name.as_str());
    let email = email.ok_or_else(|| Error::Forbidden(i18n::text("fed-no-address-not-a-guest", &[tenant_name])))?;
    let user = idp.store.user_by_email(&tenant.id, &crate::util::address::lookup_form(email)).await?;
    match user {
        Some(user) if user.external.is_some() => Ok(Some(user)),
        _ => Err(Error::Forbidden(i18n::text("fed-not-a-guest", &[("email", email), tenant_name]))),
    }
}

/// The redemption consent page's answer.
pub async fn accept_redemption(idp: &Idp, tenant: &Tenant, id: &str, browser: &str, accepted: bool) -> Result<Next> {
    let ix = interaction(idp, tenant, id, browser).await?;
    idp.store.delete_interaction(&ix.id).await?;
    let (Purpose::Redeem { invitation_id, .. }, Step::Consent { home, trusted_mfa }) = (ix.purpose, ix.step) else {
        return Err(Error::Invalid(i18n::text("fed-redeem-out-of-order", &[])));
    };
    if !accepted {
        return Err(Error::Invalid(i18n::text("fed-declined", &[("tenant", &tenant.display_name)])));
    }
    let factors = match home.method {
        HomeMethod::EmailOtp => Factors::passcode(),
        HomeMethod::Federation => Factors::federated(&home.tenant_id, trusted_mfa, trusted_mfa),
    };
    let (invitation, user) = invitations::redeem(idp, tenant, &invitation_id, home).await?;
    let session = session::start(idp, tenant, &user, factors).await?;
    Ok(Next::Redeemed { session, redirect_url: invitation.redirect_url })
}
