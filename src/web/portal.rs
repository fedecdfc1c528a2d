//! The portal's sign-in (see `directory::portal`) and My Apps.
//!
//! The admin console and My Apps are an OIDC client of their own tenant.
//! A request is signed in when it carries both the portal's access token
//! (set by the callback after code + PKCE) and the tenant's sign-in session
//! of the same person: signing out at the tenant signs out of the portal.
//! The OAuth state is signed and bound to the browser, and the PKCE
//! verifier is derived from it under the server's key, so nothing about a
//! sign-in in progress is stored.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::directory::access::{self, Bearer, Caller};
use crate::directory::portal;
use crate::error::Error;
use crate::i18n;
use crate::idp::Idp;
use crate::mfa;
use crate::model::{Session, Tenant, User, UserType};
use crate::protocol::{introspect, token};
use crate::signin::session;
use crate::util::{now, random_token};
use crate::web::error::{error_page, Page, PageFailure, PathTenant};
use crate::web::pages::{check_csrf, https, PageResult};
use crate::web::{cookies, templates};

/// A person signed in to the portal of `tenant`.
pub struct Portal {
    pub tenant: Tenant,
    pub user: User,
    pub session: Session,
    /// Who the admin API's functions see: the person, with their roles.
    pub caller: Caller,
}

/// Signed in, or the answer that signs the browser in and comes back.
pub enum Gate {
    Open(Box<Portal>),
    SignIn(HttpResponse),
}

/// How long a sign-in started from the portal may take.
const STATE_TTL: i64 = 900;

impl Portal {
    /// The person behind `req`, or the redirect to the tenant's sign-in.
    pub async fn enter(idp: &Idp, tenant: &Tenant, req: &HttpRequest) -> Result<Gate, PageFailure> {
        let https = https(idp);
        let sso = cookies::read(req, &cookies::session_name(tenant, https));
        let token = cookies::read(req, &cookies::portal_name(tenant, https));
        let signed_in = match session::active(idp, tenant, sso.as_deref()).await? {
            // The portal's own token, from this very session: not another
            // app's token, nor one that outlived a sign-out.
            Some((session, user)) => match introspect::bearer(idp, tenant, token.as_deref()).await {
                Bearer::Valid(t) if t.client_id == portal::CLIENT_ID && t.session.as_deref() == Some(session.sid.as_str()) => {
                    match access::caller(idp, tenant, Bearer::Valid(t)).await {
                        Ok(caller) if !caller.is_app && caller.subject == user.id => Some((session, user, caller)),
                        Ok(_) | Err(Error::Unauthenticated(_)) => None,
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => None,
            },
            None => None,
        };
        let Some((session, user, caller)) = signed_in else {
            // The tenant's authorize endpoint must know the portal first.
            portal::app(idp, tenant).await?;
            return Ok(Gate::SignIn(sign_in_redirect(idp, tenant, req, &page_of(req), None)));
        };
        Ok(Gate::Open(Box::new(Portal { tenant: tenant.clone(), user, session, caller })))
    }

    fn csrf_binding(&self) -> String {
        format!("portal\0{}", self.session.id)
    }

    /// The token every portal form carries.
    pub fn csrf_token(&self, idp: &Idp, req: &HttpRequest) -> String {
        let (browser, _) = cookies::browser_id(req, https(idp));
        cookies::csrf_token(&idp.cookie_key, &browser, &self.csrf_binding())
    }

    pub fn check_csrf(&self, idp: &Idp, req: &HttpRequest, token: &str) -> Result<(), PageFailure> {
        check_csrf(idp, req, &self.csrf_binding(), token)
    }

    /// For a sensitive action: `None` when the person signed in recently
    /// enough, else the redirect that asks for their password again
    /// (`max_age`) and returns to `page`, where they repeat the action.
    pub fn reauthenticate(&self, idp: &Idp, req: &HttpRequest, page: &str) -> Option<HttpResponse> {
        let recent = idp.config.tokens.recent_sign_in;
        (now() - self.session.auth_time > recent).then(|| sign_in_redirect(idp, &self.tenant, req, page, Some(recent)))
    }

    pub fn is_guest(&self) -> bool {
        self.user.user_type == UserType::Guest || self.user.external.is_some()
    }
}

/// The page `req` is for, relative to its tenant (`admin/users?q=a`): where
/// the portal returns after a sign-in. A form's is the page that shows it
/// (`admin/invite` for `admin/invite/bulk`).
fn page_of(req: &HttpRequest) -> String {
    let path = req.path().trim_start_matches('/');
    let page = path.split_once('/').map_or("", |(_, rest)| rest);
    if req.method() != actix_web::http::Method::GET {
        let segments: Vec<&str> = page.split('/').collect();
        let keep = match segments.as_slice() {
            ["admin", "groups", _, ..] => 3,
            ["admin", ..] => 2,
            _ => 1,
        };
        return segments[..keep.min(segments.len())].join("/");
    }
    match req.query_string() {
        "" => page.to_string(),
        q => format!("{page}?{q}"),
    }
}

/// Only the portal's own pages are places to return to.
fn is_portal_page(page: &str) -> bool {
    let path = page.split('?').next().unwrap_or_default();
    (path == "myapps" || path == "admin" || path.starts_with("admin/"))
        && !page.contains(['\\', '#'])
        && !page.contains("//")
        && !page.chars().any(char::is_control)
}

/// What the signed state carries.
#[derive(Serialize, Deserialize)]
struct State {
    /// The page to return to.
    page: String,
    expires_at: i64,
    nonce: String,
}

/// What a sign-in's state is signed for: its tenant.
fn state_purpose(tenant: &Tenant) -> String {
    format!("portal-state\0{}", tenant.id)
}

/// `value` signed for `browser` and `purpose` (`{base64url JSON}.{MAC}`):
/// what a step hands to the next one through the browser, which can read
/// it but not forge it, nor move it to another browser or purpose.
fn sign<T: Serialize>(idp: &Idp, browser: &str, purpose: &str, value: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default());
    let mac = cookies::csrf_token(&idp.cookie_key, browser, &format!("{purpose}\0{payload}"));
    format!("{payload}.{mac}")
}

/// The value [`sign`] signed for this browser and `purpose`; None for
/// anything else (forged, another browser's, malformed).
fn signed<T: serde::de::DeserializeOwned>(idp: &Idp, req: &HttpRequest, purpose: &str, token: &str) -> Option<T> {
    let (payload, mac) = token.split_once('.')?;
    check_csrf(idp, req, &format!("{purpose}\0{payload}"), mac).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The PKCE verifier of a sign-in: a MAC of its state, so only this server
/// (and only for this browser's state) knows it.
fn verifier(idp: &Idp, browser: &str, state: &str) -> String {
    cookies::csrf_token(&idp.cookie_key, browser, &format!("portal-pkce\0{state}"))
}

fn sign_in_redirect(idp: &Idp, tenant: &Tenant, req: &HttpRequest, page: &str, max_age: Option<i64>) -> HttpResponse {
    let page = if is_portal_page(page) { page } else { "myapps" };
    let (browser, set_browser) = cookies::browser_id(req, https(idp));
    let state = State { page: page.to_string(), expires_at: now() + STATE_TTL, nonce: random_token() };
    let state = sign(idp, &browser, &state_purpose(tenant), &state);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier(idp, &browser, &state).as_bytes()));
    let redirect_uri = idp.tenant_url(tenant, portal::CALLBACK);
    let mut query = vec![
        ("client_id", portal::CLIENT_ID.to_string()),
        ("response_type", "code".into()),
        ("redirect_uri", redirect_uri),
        ("scope", portal::scopes()),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
        ("ui_locales", i18n::current().tag().into()),
    ];
    query.extend(max_age.map(|m| ("max_age", m.to_string())));
    let location = idp.tenant_url(tenant, &format!("oauth2/v2.0/authorize?{}", serde_urlencoded::to_string(query).unwrap_or_default()));
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, location)).insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(cookie) = set_browser {
        response.cookie(cookie);
    }
    response.finish()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /{tenant}/portal/callback`: the tenant's answer to the portal's
/// sign-in. The state must be this browser's and fresh; the code is
/// exchanged in-process, by the token endpoint's own function.
pub async fn callback(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<Callback>) -> PageResult {
    let q = q.into_inner();
    let expired = || error_page(StatusCode::BAD_REQUEST, &i18n::text("portal-expired-title", &[]), &i18n::text("portal-expired", &[]));
    let Some(state) = q.state.filter(|s| s.len() <= 1024) else { return Ok(expired()) };
    let Some(decoded) = signed::<State>(&idp, &req, &state_purpose(&tenant), &state) else { return Ok(expired()) };
    if decoded.expires_at < now() || !is_portal_page(&decoded.page) {
        return Ok(expired());
    }
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or(error);
        return Ok(error_page(StatusCode::FORBIDDEN, &i18n::text("portal-sign-in-failed", &[]), &why));
    }
    let app = portal::app(&idp, &tenant).await?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let params = token::TokenParams {
        grant_type: Some("authorization_code".into()),
        code: q.code,
        redirect_uri: Some(idp.tenant_url(&tenant, portal::CALLBACK)),
        code_verifier: Some(verifier(&idp, &browser, &state)),
        client_id: Some(portal::CLIENT_ID.into()),
        ..Default::default()
    };
    let tokens = match token::grant(&idp, &tenant, &app, params).await {
        Ok(tokens) => tokens,
        Err(Error::OAuth(e)) => {
            return Ok(error_page(StatusCode::BAD_REQUEST, &i18n::text("portal-sign-in-failed", &[]), &e.error_description))
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, idp.tenant_url(&tenant, &decoded.page)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookies::portal(&tenant, tokens.access_token, tokens.expires_in, https(&idp)));
    Ok(response.finish())
}

/// The signed-in person of a portal page; without one, the handler returns
/// the redirect that signs the browser in and comes back.
macro_rules! signed_in {
    ($idp:expr, $tenant:expr, $req:expr) => {
        match crate::web::portal::Portal::enter($idp, $tenant, $req).await? {
            crate::web::portal::Gate::Open(portal) => portal,
            crate::web::portal::Gate::SignIn(redirect) => return Ok(redirect),
        }
    };
}
pub(crate) use signed_in;

/// Ends the portal's sign-in in this browser, with the tenant's session:
/// its token is revoked (the cookie's value is then useless anywhere) and
/// its cookie removed.
pub async fn sign_out(idp: &Idp, tenant: &Tenant, req: &HttpRequest, response: &mut HttpResponse) {
    let https = https(idp);
    let Some(token) = cookies::read(req, &cookies::portal_name(tenant, https)) else { return };
    if let Ok(app) = portal::app(idp, tenant).await {
        if let Err(e) = introspect::revoke(idp, tenant, &app, &token).await {
            tracing::warn!(tenant = %tenant.id, error = %e, "the portal's token could not be revoked at sign-out");
        }
    }
    let _ = response.add_cookie(&cookies::portal(tenant, String::new(), 0, https));
}

/// `GET /{tenant}/myapps`: the person's apps, organisations and security.
pub async fn myapps(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    render_myapps(&idp, &req, &portal, None).await
}

async fn render_myapps(idp: &Idp, req: &HttpRequest, portal: &Portal, error: Option<String>) -> PageResult {
    let tenant = &portal.tenant;
    let apps = portal::launchable(idp, tenant, &portal.user).await?;
    let organisations = portal::organisations(idp, tenant, &portal.user).await?;
    // The day it was set up (the date part of an RFC 3339 time).
    let authenticator = portal.user.totp.as_ref().map(|m| {
        let time = crate::directory::users::rfc3339(m.created_at);
        time.get(..10).unwrap_or(&time).to_string()
    });
    Ok(templates::tenant_page(
        idp,
        tenant,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "myapps.html",
        json!({
            "user": { "name": portal.user.display_name, "email": portal.user.email },
            "apps": apps,
            "organisations": organisations.iter().map(|o| json!({
                "name": o.name,
                "user_type": o.user_type,
                "current": o.current,
                "url": o.here.then(|| format!("{}/{}/myapps", idp.base_url(), o.id)),
            })).collect::<Vec<_>>(),
            "is_admin": !portal.caller.roles.is_empty(),
            "admin_url": idp.tenant_url(tenant, "admin/"),
            "can_leave": portal.is_guest() && tenant.collaboration.guests_can_leave,
            "leave_url": idp.tenant_url(tenant, "leave"),
            "sign_out_url": idp.tenant_url(tenant, "oauth2/v2.0/logout"),
            "everywhere_url": idp.tenant_url(tenant, "myapps/sign-out-everywhere"),
            "authenticator": authenticator,
            "authenticator_url": idp.tenant_url(tenant, "myapps/authenticator"),
            "error": error,
            "csrf_token": portal.csrf_token(idp, req),
            "wide": true,
        }),
    ))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

/// `POST /{tenant}/myapps/sign-out-everywhere`: ends all of the person's
/// sessions and refresh tokens, this browser's included.
pub async fn sign_out_everywhere(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<CsrfForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    portal::sign_out_everywhere(&idp, &tenant, &portal.user).await?;
    session::end(&idp, &portal.session).await?;
    let mut response = templates::tenant_page(
        &idp,
        &tenant,
        StatusCode::OK,
        "message.html",
        json!({ "title": i18n::text("signed-out-everywhere-title", &[]), "message": i18n::text("signed-out-everywhere", &[]) }),
    );
    let _ = response.add_cookie(&cookies::session_removal(&tenant, https(&idp)));
    sign_out(&idp, &tenant, &req, &mut response).await;
    Ok(response)
}

#[derive(Deserialize)]
pub struct NewAuthenticatorForm {
    csrf_token: String,
    /// A code from the current app, or
    #[serde(default)]
    otp: String,
    /// a recovery code, when the current app is lost.
    #[serde(default)]
    recovery_code: String,
}

/// How long the page that sets up a new authenticator may stay open.
const ENROL_TTL: i64 = 900;

/// What the enrolment page carries (signed) to its confirmation.
#[derive(Serialize, Deserialize)]
struct NewAuthenticator {
    secret: String,
    /// The app it replaces (proved held, or `None`: there was none).
    replacing: Option<String>,
    expires_at: i64,
}

/// What a new authenticator's page is signed for: the session it is in.
fn enrol_purpose(portal: &Portal) -> String {
    format!("enrol\0{}", portal.session.id)
}

/// `POST /{tenant}/myapps/authenticator`: a new authenticator app, after a
/// code from the current one (or a recovery code, which removes it); with
/// none yet, after a recent sign-in.
pub async fn new_authenticator(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    form: web::Form<NewAuthenticatorForm>,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let source = crate::web::client_address(&idp, &req);
    let replacing = match &portal.user.totp {
        Some(current) if !form.otp.trim().is_empty() => {
            if !mfa::verify(&idp, &tenant, &portal.user, form.otp.trim(), &source).await? {
                return render_myapps(&idp, &req, &portal, Some(i18n::text("mfa-wrong-code", &[]))).await;
            }
            Some(current.id.clone())
        }
        Some(current) => {
            // The code is spent; the lost app stays until the new one works.
            if !mfa::spend_recovery_code(&idp, &tenant, &portal.user, &form.recovery_code, &source).await? {
                return render_myapps(&idp, &req, &portal, Some(i18n::text("mfa-wrong-recovery-code", &[]))).await;
            }
            Some(current.id.clone())
        }
        None => match portal.reauthenticate(&idp, &req, "myapps") {
            Some(again) => return Ok(again),
            None => None,
        },
    };
    let payload = NewAuthenticator { secret: mfa::new_secret(), replacing, expires_at: now() + ENROL_TTL };
    enrol_page(&idp, &req, &portal, &payload, None)
}

fn enrol_page(
    idp: &Idp,
    req: &HttpRequest,
    portal: &Portal,
    payload: &NewAuthenticator,
    error: Option<String>,
) -> Result<HttpResponse, PageFailure> {
    let enrolment = mfa::enrolment(&portal.tenant, &portal.user, &payload.secret)?;
    let (browser, _) = cookies::browser_id(req, https(idp));
    let ix = sign(idp, &browser, &enrol_purpose(portal), payload);
    Ok(templates::tenant_page(
        idp,
        &portal.tenant,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "mfa.html",
        json!({
            "email": portal.user.email,
            "enrol": true,
            "secret": enrolment.secret,
            "qr_svg": enrolment.qr_svg,
            "error": error,
            "action": idp.tenant_url(&portal.tenant, "myapps/authenticator/confirm"),
            "ix": ix,
            "csrf_token": portal.csrf_token(idp, req),
        }),
    ))
}

#[derive(Deserialize)]
pub struct ConfirmAuthenticatorForm {
    csrf_token: String,
    ix: String,
    otp: String,
}

/// `POST /{tenant}/myapps/authenticator/confirm`: the first code from the
/// new app sets it up (in place of the old one); the recovery codes follow.
pub async fn confirm_authenticator(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    form: web::Form<ConfirmAuthenticatorForm>,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let stale = || PageFailure::from(Error::Invalid(i18n::text("portal-expired", &[])));
    let payload: NewAuthenticator = signed(&idp, &req, &enrol_purpose(&portal), &form.ix).ok_or_else(stale)?;
    if payload.expires_at < now() {
        return Err(stale());
    }
    let source = crate::web::client_address(&idp, &req);
    let replacing = payload.replacing.as_deref();
    match mfa::enrol_replacing(&idp, &tenant, &portal.user, replacing, &payload.secret, form.otp.trim(), &source).await? {
        Some(codes) => Ok(templates::tenant_page(
            &idp,
            &tenant,
            StatusCode::OK,
            "recovery_codes.html",
            json!({ "codes": codes, "action": idp.tenant_url(&tenant, "myapps") }),
        )),
        None => enrol_page(&idp, &req, &portal, &payload, Some(i18n::text("mfa-wrong-enrolment-code", &[]))),
    }
}
