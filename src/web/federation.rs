//! Pages of a guest's journey: the redemption landing page, the return from
//! the home identity provider, the passcode prompt and the redemption
//! consent. Handlers parse, call `federation`, and render its `Next`.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::directory::lifecycle;
use crate::directory::{invitations, portal};
use crate::error::Error;
use crate::federation::{self, home_logout, passcode, Next};
use crate::i18n;
use crate::idp::Idp;
use crate::model::InvitationStatus;
use crate::model::Session;
use crate::model::{Tenant, User};
use crate::signin::session;
use crate::web::error::{OAuth, OAuthFailure, Page, PageFailure, PathTenant};
use crate::web::pages::{check_csrf, continue_with, https, PageResult};
use crate::web::{cookies, templates};

#[derive(Deserialize)]
pub struct Ticket {
    ticket: String,
}

/// The link in the invitation mail: who invited you, and a button to go on.
pub async fn redeem_page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<Ticket>) -> PageResult {
    let (invitation, user) = invitations::by_ticket(&idp, &tenant, &q.ticket).await?;
    if invitation.status == InvitationStatus::Completed {
        return Ok(templates::tenant_page(
            &idp,
            &tenant,
            StatusCode::OK,
            "message.html",
            json!({
                "title": i18n::text("already-redeemed-title", &[]),
                "message": i18n::text("already-redeemed", &[("tenant", &tenant.display_name)]),
                "link": invitation.redirect_url,
            }),
        ));
    }
    let (browser, cookie) = cookies::browser_id(&req, https(&idp));
    let mut response = templates::tenant_page(
        &idp,
        &tenant,
        StatusCode::OK,
        "redeem.html",
        json!({
            "email": user.email,
            "message": invitation.message,
            "action": format!("{}/{}/redeem", idp.base_url(), tenant.name),
            "ticket": q.ticket,
            "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &q.ticket),
        }),
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct RedeemForm {
    ticket: String,
    csrf_token: String,
}

pub async fn redeem(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<RedeemForm>) -> PageResult {
    check_csrf(&idp, &req, &form.ticket, &form.csrf_token)?;
    let (browser, cookie) = cookies::browser_id(&req, https(&idp));
    let next = federation::start_redemption(&idp, &tenant, &form.ticket, &browser).await?;
    render_next(&idp, &tenant, &req, next, cookie).await
}

#[derive(Deserialize)]
pub struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The home identity provider's redirect back to us.
pub async fn callback(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<CallbackParams>) -> PageResult {
    let state = q.state.as_deref().ok_or_else(|| Error::Invalid("The answer has no state.".into()))?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let error = q.error.as_deref().map(|e| (e, q.error_description.as_deref()));
    let next = federation::callback(&idp, &tenant, state, q.code.as_deref(), error, &browser).await?;
    render_next(&idp, &tenant, &req, next, None).await
}

#[derive(Deserialize)]
pub struct Interaction {
    ix: String,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct PasscodeForm {
    ix: String,
    csrf_token: String,
    otp: String,
}

/// "Send a new code" on the passcode page.
pub async fn passcode_resend(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<Interaction>) -> PageResult {
    check_csrf(&idp, &req, &form.ix, &form.csrf_token)?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let next = passcode::resend(&idp, &tenant, &form.ix, &browser).await?;
    render_next(&idp, &tenant, &req, next, None).await
}

pub async fn passcode(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<PasscodeForm>) -> PageResult {
    check_csrf(&idp, &req, &form.ix, &form.csrf_token)?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let next = passcode::check(&idp, &tenant, &form.ix, &browser, &form.otp).await?;
    render_next(&idp, &tenant, &req, next, None).await
}

#[derive(Deserialize)]
pub struct RedeemConsentForm {
    ix: String,
    csrf_token: String,
    decision: String,
}

pub async fn redeem_consent(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    form: web::Form<RedeemConsentForm>,
) -> PageResult {
    check_csrf(&idp, &req, &form.ix, &form.csrf_token)?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let accepted = form.decision == "accept";
    let next = federation::accept_redemption(&idp, &tenant, &form.ix, &browser, accepted).await?;
    render_next(&idp, &tenant, &req, next, None).await
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, location)).insert_header((header::CACHE_CONTROL, "no-store")).finish()
}

/// Renders a step of a guest's journey; `cookie` is a new browser cookie to set.
pub async fn render_next(idp: &Idp, tenant: &Tenant, req: &HttpRequest, next: Next, cookie: Option<Cookie<'static>>) -> PageResult {
    let https = https(idp);
    let (browser, _) = cookies::browser_id(req, https);
    let browser = cookie.as_ref().map_or(browser, |c| c.value().to_string());
    let mut response = match next {
        Next::GoHome(url) => redirect(&url),
        Next::Passcode { interaction_id, email, attempts_left, resent } => templates::tenant_page(
            idp,
            tenant,
            StatusCode::OK,
            "passcode.html",
            json!({
                "email": email,
                "error": attempts_left.map(|left| i18n::text("passcode-wrong", &[("left", &left.to_string())])),
                "notice": resent.then(|| i18n::text("passcode-resent", &[])),
                "action": format!("{}/{}/passcode", idp.base_url(), tenant.name),
                "resend_action": format!("{}/{}/passcode/resend", idp.base_url(), tenant.name),
                "ix": interaction_id,
                "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &interaction_id),
            }),
        ),
        Next::ConfirmRedemption { interaction_id, invitation, home } => templates::tenant_page(
            idp,
            tenant,
            StatusCode::OK,
            "redeem_consent.html",
            json!({
                "privacy_url": tenant.collaboration.privacy_url,
                "email": invitation.email,
                "home": portal::home_name(idp, tenant, &home).await,
                "action": format!("{}/{}/redeem/consent", idp.base_url(), tenant.name),
                "ix": interaction_id,
                "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &interaction_id),
            }),
        ),
        Next::Redeemed { session, redirect_url } => {
            crate::web::pages::replace_session(idp, tenant, req, &session).await?;
            let mut response = redirect(&redirect_url);
            if let Some(cookie) = cookies::session(tenant, &session, idp.config.tokens.session_ttl, https) {
                let _ = response.add_cookie(&cookie);
            }
            response
        }
        Next::SignedIn { session, request_id } => continue_with(idp, tenant, req, &request_id, session).await?,
    };
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

/// CSRF binding of the leave form: the session it acts on.
fn leave_binding(session: &Session) -> String {
    format!("leave\0{}", session.id)
}

async fn signed_in(idp: &Idp, tenant: &Tenant, req: &HttpRequest) -> Result<(Session, User), PageFailure> {
    let id = cookies::read(req, &cookies::session_name(tenant, https(idp)));
    session::active(idp, tenant, id.as_deref()).await?.ok_or_else(|| {
        PageFailure::from(Error::Unauthenticated(format!(
            "Sign in to one of {}'s applications first, then come back to this page.",
            tenant.display_name
        )))
    })
}

/// A guest's "leave this organisation" page.
pub async fn leave_page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let (session, user) = signed_in(&idp, &tenant, &req).await?;
    let (browser, cookie) = cookies::browser_id(&req, https(&idp));
    let mut response = templates::tenant_page(
        &idp,
        &tenant,
        StatusCode::OK,
        "leave.html",
        json!({
            "email": user.email,
            "action": format!("{}/{}/leave", idp.base_url(), tenant.name),
            "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &leave_binding(&session)),
        }),
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct LeaveForm {
    csrf_token: String,
}

pub async fn leave(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<LeaveForm>) -> PageResult {
    let (session, user) = signed_in(&idp, &tenant, &req).await?;
    check_csrf(&idp, &req, &leave_binding(&session), &form.csrf_token)?;
    lifecycle::leave(&idp, &tenant, &user).await?;
    session::end(&idp, &session).await?;
    let mut response = templates::tenant_page(
        &idp,
        &tenant,
        StatusCode::OK,
        "message.html",
        json!({
        "title": i18n::text("left-title", &[("tenant", &tenant.display_name)]),
        "message": i18n::text("left", &[]),
        }),
    );
    let _ = response.add_cookie(&cookies::session_removal(&tenant, https(&idp)));
    crate::web::portal::sign_out(&idp, &tenant, &req, &mut response).await;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LogoutTokenForm {
    logout_token: String,
}

/// `POST /{tenant}/federation/backchannel-logout`: a guest's home ended the
/// session they signed in here with (OIDC Back-Channel Logout 1.0 §2.8).
pub async fn backchannel_logout(
    idp: web::Data<Idp>,
    tenant: PathTenant<OAuth>,
    form: web::Form<LogoutTokenForm>,
) -> Result<HttpResponse, OAuthFailure> {
    home_logout::home_logout(&idp, &tenant, &form.logout_token).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).finish())
}
