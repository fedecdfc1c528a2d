//! Pages a person sees: the authorization endpoint, sign-in and consent.
//! Handlers parse, call `protocol::authorize`, and render its `Outcome`.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::federation;
use crate::idp::Idp;
use crate::model::Tenant;
use crate::model::{ResponseMode, Session};
use crate::protocol::authorize::{self, AuthorizeParams, ClientResponse, Outcome, Rejection};
use crate::protocol::logout::{self, Logout, LogoutParams};
use crate::signin::session;
use crate::util::random_token;
use crate::web::client_address;
use crate::web::error::{Page, PageFailure, PathTenant};
use crate::web::{cookies, federation as web_federation, mfa as web_mfa, templates};

pub(crate) type PageResult = Result<HttpResponse, PageFailure>;

pub async fn authorize_get(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<AuthorizeParams>) -> PageResult {
    authorize(&idp, &tenant, &req, q.into_inner()).await
}

pub async fn authorize_post(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, f: web::Form<AuthorizeParams>) -> PageResult {
    authorize(&idp, &tenant, &req, f.into_inner()).await
}

async fn authorize(idp: &Idp, tenant: &Tenant, req: &HttpRequest, params: AuthorizeParams) -> PageResult {
    let (request, app) = match authorize::validate(idp, tenant, params, &crate::web::client_address(idp, req)).await {
        Ok(valid) => valid,
        Err(Rejection::Page(message)) => {
            return Ok(templates::page_response(
                StatusCode::BAD_REQUEST,
                "error.html",
                json!({"title": "This sign-in request is not valid", "message": message, "tenant_name": tenant.display_name}),
            ))
        }
        Err(Rejection::Client(response)) => return Ok(respond(response)),
        Err(Rejection::Failed(e)) => return Err(e.into()),
    };
    let session_cookie = cookies::read(req, &cookies::session_name(tenant, https(idp)));
    let outcome = authorize::proceed(idp, tenant, request, app, session_cookie.as_deref()).await?;
    render(idp, tenant, req, outcome, Shown::default()).await
}

#[derive(Deserialize)]
pub struct SignInForm {
    req: String,
    csrf_token: String,
    username: String,
    /// Guests leave it empty: they are sent home.
    #[serde(default)]
    password: String,
}

/// Home realm discovery, then the password: a guest is sent to their home
/// identity provider, a member checks their password here.
pub async fn sign_in(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<SignInForm>) -> PageResult {
    check_csrf(&idp, &req, &form.req, &form.csrf_token)?;
    let (request, app) = authorize::pending(&idp, &tenant, &form.req).await?;
    let again = |error: String| Shown { error: Some(error), username: Some(form.username.clone()), ..Default::default() };
    let known = idp.store.user_by_email(&tenant.id, &crate::util::address::lookup_form(&form.username)).await?;
    if let Some(guest) = known.filter(|u| u.external.is_some() && u.enabled) {
        let (browser, cookie) = cookies::browser_id(&req, https(&idp));
        return match federation::start_sign_in(&idp, &tenant, &request, &guest, &browser).await {
            Ok(next) => web_federation::render_next(&idp, &tenant, &req, next, cookie).await,
            Err(e @ (Error::Invalid(_) | Error::Upstream(_))) => {
                render(&idp, &tenant, &req, Outcome::SignIn(request), again(e.to_string())).await
            }
            Err(e) => Err(e.into()),
        };
    }
    if form.password.is_empty() {
        return render(&idp, &tenant, &req, Outcome::SignIn(request), again("Enter your password.".into())).await;
    }
    let session =
        match authorize::sign_in_with_password(&idp, &tenant, &app, &form.username, &form.password, &client_address(&idp, &req)).await? {
            Ok(session) => session,
            Err(why) => return render(&idp, &tenant, &req, Outcome::SignIn(request), again(why)).await,
        };
    let outcome = authorize::after_sign_in(&idp, &tenant, request, app, &session).await?;
    render(&idp, &tenant, &req, outcome, Shown { new_session: Some(session), ..Default::default() }).await
}

#[derive(Deserialize)]
pub struct ConsentForm {
    req: String,
    csrf_token: String,
    decision: String,
}

pub async fn consent(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<ConsentForm>) -> PageResult {
    check_csrf(&idp, &req, &form.req, &form.csrf_token)?;
    let (request, app) = authorize::pending(&idp, &tenant, &form.req).await?;
    let session_cookie = cookies::read(&req, &cookies::session_name(&tenant, https(&idp)));
    let accepted = form.decision == "accept";
    let outcome = authorize::after_consent(&idp, &tenant, request, app, session_cookie.as_deref(), accepted).await?;
    render(&idp, &tenant, &req, outcome, Shown::default()).await
}

/// The logout request, and the confirmation page's answer when it comes back.
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(flatten)]
    params: LogoutParams,
    confirm: Option<String>,
    csrf_token: Option<String>,
}

/// CSRF binding for the logout confirmation (there is no sign-in request).
const LOGOUT_CSRF: &str = "logout";

pub async fn logout_get(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<LogoutForm>) -> PageResult {
    end_session(&idp, &tenant, &req, q.into_inner()).await
}

pub async fn logout_post(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, f: web::Form<LogoutForm>) -> PageResult {
    end_session(&idp, &tenant, &req, f.into_inner()).await
}

async fn end_session(idp: &Idp, tenant: &Tenant, req: &HttpRequest, form: LogoutForm) -> PageResult {
    let https = https(idp);
    let confirmed = form.confirm.as_deref() == Some("yes")
        && form.csrf_token.as_deref().is_some_and(|t| cookies::csrf_valid(&idp.cookie_key, req, https, LOGOUT_CSRF, t));
    let session_cookie = cookies::read(req, &cookies::session_name(tenant, https));
    let outcome = logout::logout(idp, tenant, &form.params, session_cookie.as_deref(), confirmed).await?;
    let mut response = match outcome {
        Logout::Confirm => {
            let (browser, cookie) = cookies::browser_id(req, https);
            let mut response = templates::page_response(
                StatusCode::OK,
                "logout.html",
                json!({
                    "tenant_name": tenant.display_name,
                    "action": format!("{}/{}/oauth2/v2.0/logout", idp.base_url(), tenant.name),
                    "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, LOGOUT_CSRF),
                    "params": form.params.fields(),
                }),
            );
            if let Some(cookie) = cookie {
                let _ = response.add_cookie(&cookie);
            }
            return Ok(response);
        }
        Logout::Done(Some(location)) => HttpResponse::Found().insert_header((header::LOCATION, location)).finish(),
        Logout::Done(None) => templates::page_response(
            StatusCode::OK,
            "message.html",
            json!({"title": "You have signed out", "message": "You can close this window.", "tenant_name": tenant.display_name}),
        ),
    };
    let _ = response.add_cookie(&cookies::session_removal(tenant, https));
    Ok(response)
}

pub(crate) fn https(idp: &Idp) -> bool {
    idp.config.server.is_https()
}

pub(crate) fn check_csrf(idp: &Idp, req: &HttpRequest, request_id: &str, token: &str) -> Result<(), PageFailure> {
    if cookies::csrf_valid(&idp.cookie_key, req, https(idp), request_id, token) {
        return Ok(());
    }
    crate::telemetry::security_event("csrf_refused", &format!("form to {} without a valid CSRF token", req.path()));
    Err(PageFailure::from(Error::Invalid(
        "This form has expired or did not come from this site. Go back to the application and sign in again.".into(),
    )))
}

/// Extras for rendering an outcome.
#[derive(Default)]
pub(crate) struct Shown {
    pub error: Option<String>,
    pub username: Option<String>,
    pub new_session: Option<Session>,
}

pub(crate) async fn render(idp: &Idp, tenant: &Tenant, req: &HttpRequest, outcome: Outcome, shown: Shown) -> PageResult {
    let https = https(idp);
    let mut set: Vec<Cookie<'static>> = vec![];
    if let Some(s) = &shown.new_session {
        replace_session(idp, tenant, req, s).await?;
        set.extend(cookies::session(tenant, s, idp.config.tokens.session_ttl, https));
    }
    let mut response = match outcome {
        Outcome::Respond(response) => respond(response),
        Outcome::SignIn(request) => {
            let (browser, cookie) = cookies::browser_id(req, https);
            set.extend(cookie);
            let app_name = idp.store.app(&tenant.id, &request.client_id).await?.map(|a| a.display_name);
            templates::page_response(
                StatusCode::OK,
                "login.html",
                json!({
                    "tenant_name": tenant.display_name,
                    "app_name": app_name.unwrap_or_else(|| request.client_id.clone()),
                    "action": format!("{}/{}/login", idp.base_url(), tenant.name),
                    "reset_url": format!("{}/{}/password/reset", idp.base_url(), tenant.name),
                    "req": request.id,
                    "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &request.id),
                    "username": shown.username.or(request.login_hint.clone()).unwrap_or_default(),
                    "error": shown.error,
                }),
            )
        }
        Outcome::SecondFactor { request, user } => {
            let (browser, cookie) = cookies::browser_id(req, https);
            set.extend(cookie);
            web_mfa::begin(idp, tenant, req, &request, &user, &browser).await?
        }
        Outcome::Blocked { policy, app_name } => templates::page_response(
            StatusCode::FORBIDDEN,
            "error.html",
            json!({
                "title": "Access blocked",
                "message": format!("{} does not allow you to use {app_name} (conditional access policy \"{policy}\"). Contact its administrators if you need access.", tenant.display_name),
                "tenant_name": tenant.display_name,
            }),
        ),
        Outcome::Consent { request, app, user } => {
            let (browser, cookie) = cookies::browser_id(req, https);
            set.extend(cookie);
            templates::page_response(
                StatusCode::OK,
                "consent.html",
                json!({
                    "tenant_name": tenant.display_name,
                    "app_name": app.display_name,
                    "user_email": user.email,
                    "scopes": request.scopes,
                    "action": format!("{}/{}/consent", idp.base_url(), tenant.name),
                    "req": request.id,
                    "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &request.id),
                }),
            )
        }
    };
    for cookie in set {
        // Cookies built here are always well-formed.
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

/// Continues the pending sign-in request `request_id` with a session just
/// minted (a second factor here, a sign-in at home) and sets its cookie.
pub(crate) async fn continue_with(idp: &Idp, tenant: &Tenant, req: &HttpRequest, request_id: &str, session: Session) -> PageResult {
    let (request, app) = authorize::pending(idp, tenant, request_id).await?;
    let outcome = authorize::after_sign_in(idp, tenant, request, app, &session).await?;
    render(idp, tenant, req, outcome, Shown { new_session: Some(session), ..Default::default() }).await
}

/// A new session replaces the one the browser had (a sign-in again, a
/// step-up at home): the old cookie ends with it, so nothing it was worth
/// outlives the new sign-in.
pub(crate) async fn replace_session(idp: &Idp, tenant: &Tenant, req: &HttpRequest, new: &Session) -> Result<(), PageFailure> {
    let old = cookies::read(req, &cookies::session_name(tenant, https(idp)));
    match old.filter(|old| !old.is_empty() && Some(old) != new.cookie.as_ref()) {
        Some(old) => Ok(session::end_cookie(idp, &old).await?),
        None => Ok(()),
    }
}

/// Sends the browser back to the client: a redirect, or an auto-submitting form.
fn respond(response: ClientResponse) -> HttpResponse {
    match response.mode {
        ResponseMode::Query | ResponseMode::Fragment => HttpResponse::Found()
            .insert_header((header::LOCATION, response.location()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        ResponseMode::FormPost => {
            let nonce = random_token();
            templates::page_with_nonce(
                StatusCode::OK,
                "form_post.html",
                json!({"title": "Continue", "action": response.redirect_uri, "params": response.params, "nonce": nonce}),
                Some(&nonce),
            )
        }
    }
}
