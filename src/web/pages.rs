//! Pages a person sees: the authorization endpoint, sign-in and consent.
//! Handlers parse, call `protocol::authorize`, and render its `Outcome`.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::directory::apps;
use crate::directory::branding;
use crate::error::Error;
use crate::federation;
use crate::i18n;
use crate::idp::Idp;
use crate::model::Tenant;
use crate::model::{App, AuthRequest};
use crate::model::{ResponseMode, Session};
use crate::protocol::authorize::{self, AuthorizeParams, ClientResponse, Outcome, PasswordRefused, Rejection};
use crate::protocol::logout::{self, Logout, LogoutParams};
use crate::protocol::scopes::OPENID_SCOPES;
use crate::signin::session;
use crate::util::random_token;
use crate::web::client_address;
use crate::web::error::{error_page, Page, PageFailure, PathTenant};
use crate::web::{cookies, federation as web_federation, mfa as web_mfa, templates};

pub(crate) type PageResult = Result<HttpResponse, PageFailure>;

pub async fn authorize_get(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<AuthorizeParams>) -> PageResult {
    authorize(&idp, &tenant, &req, q.into_inner()).await
}

pub async fn authorize_post(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, f: web::Form<AuthorizeParams>) -> PageResult {
    authorize(&idp, &tenant, &req, f.into_inner()).await
}

async fn authorize(idp: &Idp, tenant: &Tenant, req: &HttpRequest, params: AuthorizeParams) -> PageResult {
    i18n::prefer(params.ui_locales.as_deref());
    let (request, app) = match authorize::validate(idp, tenant, params, &crate::web::client_address(idp, req)).await {
        Ok(valid) => {
            // A pushed request's own languages, not the browser's query (RFC 9126 §4).
            i18n::prefer(valid.0.ui_locales.as_deref());
            valid
        }
        Err(Rejection::Page(message)) => {
            return Ok(error_page(StatusCode::BAD_REQUEST, &i18n::text("invalid-request-title", &[]), &message))
        }
        Err(Rejection::Client(response)) => return Ok(respond(response)),
        Err(Rejection::Failed(e)) => return Err(e.into()),
    };
    proceed_and_render(idp, tenant, req, request, app).await
}

/// A valid request's next page for this browser: straight back to the
/// client, a sign-in (or home, by a hint), MFA, consent.
pub(crate) async fn proceed_and_render(idp: &Idp, tenant: &Tenant, req: &HttpRequest, request: AuthRequest, app: App) -> PageResult {
    let session_cookie = cookies::read(req, &cookies::session_name(tenant, https(idp)));
    match authorize::proceed(idp, tenant, request, app, session_cookie.as_deref()).await? {
        Outcome::SignIn(request) => {
            if let Some(hint) = account_hint(idp, tenant, &request).await? {
                return identified(idp, tenant, req, request, &hint).await;
            }
            let (browser, cookie) = cookies::browser_id(req, https(idp));
            match federation::go_home_by_domain(idp, tenant, &request, &browser).await.transpose() {
                None => render(idp, tenant, req, Outcome::SignIn(request), Shown::default()).await,
                Some(started) => to_home(idp, tenant, req, &request, started, cookie, String::new()).await,
            }
        }
        outcome => render(idp, tenant, req, outcome, Shown::default()).await,
    }
}

/// The account `login_hint` names, when it may skip the identifier page:
/// an email address, and not of a guest who signs in with a mailed code
/// (a link alone must not mail anyone; they press Next first).
async fn account_hint(idp: &Idp, tenant: &Tenant, request: &AuthRequest) -> Result<Option<String>, PageFailure> {
    let Some(hint) = request.login_hint.as_deref().and_then(|h| crate::util::address::email(h).ok()) else { return Ok(None) };
    let user = idp.store.user_by_email(&tenant.id, &crate::util::address::lookup_form(&hint)).await?;
    let by_mailed_code = user
        .as_ref()
        .and_then(|u| u.external.as_ref()?.home.as_ref())
        .is_some_and(|home| home.method == crate::model::HomeMethod::EmailOtp);
    Ok((!by_mailed_code).then_some(hint))
}

/// A pending sign-in request, its pages in the language it asked for.
async fn pending(idp: &Idp, tenant: &Tenant, request_id: &str) -> Result<(AuthRequest, App), PageFailure> {
    let (request, app) = authorize::pending(idp, tenant, request_id).await?;
    i18n::prefer(request.ui_locales.as_deref());
    Ok((request, app))
}

#[derive(Deserialize)]
pub struct RestartForm {
    req: String,
    csrf_token: String,
}

/// "Use another account": the identifier page again, for the same request.
/// The link carries the page's CSRF token: only the browser that had the
/// sign-in page gets a form for its request.
pub async fn sign_in_page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<RestartForm>) -> PageResult {
    check_csrf(&idp, &req, &q.req, &q.csrf_token)?;
    let (request, _) = pending(&idp, &tenant, &q.req).await?;
    render(&idp, &tenant, &req, Outcome::SignIn(request), Shown { username: Some(String::new()), ..Default::default() }).await
}

#[derive(Deserialize)]
pub struct SignInForm {
    req: String,
    csrf_token: String,
    username: String,
    /// Absent on the identifier page; form-driven clients may send both at once.
    password: Option<String>,
}

/// Identifier first (Entra's flow): the email alone decides where the
/// person signs in. A guest goes to their home identity provider and never
/// sees a password field here; anyone else gets this tenant's password page.
pub async fn sign_in(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<SignInForm>) -> PageResult {
    check_csrf(&idp, &req, &form.req, &form.csrf_token)?;
    let (request, app) = pending(&idp, &tenant, &form.req).await?;
    let username = form.username.trim();
    if username.is_empty() {
        let shown = Shown { error: Some(i18n::text("error-enter-email", &[])), ..Default::default() };
        return render(&idp, &tenant, &req, Outcome::SignIn(request), shown).await;
    }
    let password = match form.password.as_deref() {
        None => return identified(&idp, &tenant, &req, request, username).await,
        Some(password) => password,
    };
    if let Some(home) = send_guest_home(&idp, &tenant, &req, &request, username).await {
        return home;
    }
    let ask_again = |key: &str| Shown { error: Some(i18n::text(key, &[])), password_for: Some(username.to_string()), ..Default::default() };
    if password.is_empty() {
        return render(&idp, &tenant, &req, Outcome::SignIn(request), ask_again("error-enter-password")).await;
    }
    let session = match authorize::sign_in_with_password(&idp, &tenant, &app, username, password, &client_address(&idp, &req)).await? {
        Ok(session) => session,
        Err(refused) => {
            let key = match refused {
                PasswordRefused::Incorrect => "error-incorrect-password",
                PasswordRefused::Disabled => "error-account-disabled",
                PasswordRefused::LockedOut => "error-locked-out",
            };
            return render(&idp, &tenant, &req, Outcome::SignIn(request), ask_again(key)).await;
        }
    };
    let outcome = authorize::after_sign_in(&idp, &tenant, request, app, &session).await?;
    render(&idp, &tenant, &req, outcome, Shown { new_session: Some(session), ..Default::default() }).await
}

/// The account is named: a guest is sent home, anyone else is asked for
/// a password (an unknown address too, so the page tells nobody who is a member).
async fn identified(idp: &Idp, tenant: &Tenant, req: &HttpRequest, request: AuthRequest, username: &str) -> PageResult {
    if let Some(home) = send_guest_home(idp, tenant, req, &request, username).await {
        return home;
    }
    render(idp, tenant, req, Outcome::SignIn(request), Shown { password_for: Some(username.to_string()), ..Default::default() }).await
}

/// Home realm discovery: `Some` (the way home, or the identifier page with
/// why not) when `username` is an enabled guest of this tenant.
async fn send_guest_home(idp: &Idp, tenant: &Tenant, req: &HttpRequest, request: &AuthRequest, username: &str) -> Option<PageResult> {
    let known = match idp.store.user_by_email(&tenant.id, &crate::util::address::lookup_form(username)).await {
        Ok(known) => known,
        Err(e) => return Some(Err(Error::from(e).into())),
    };
    let guest = known.filter(|u| u.external.is_some() && u.enabled)?;
    let (browser, cookie) = cookies::browser_id(req, https(idp));
    let started = federation::start_sign_in(idp, tenant, request, &guest, &browser).await;
    Some(to_home(idp, tenant, req, request, started, cookie, username.to_string()).await)
}

/// The way home once a sign-in there has started; when it could not start
/// (an unknown or unreachable home), the identifier page with why.
async fn to_home(
    idp: &Idp,
    tenant: &Tenant,
    req: &HttpRequest,
    request: &AuthRequest,
    started: Result<federation::Next, Error>,
    cookie: Option<Cookie<'static>>,
    username: String,
) -> PageResult {
    match started {
        Ok(next) => web_federation::render_next(idp, tenant, req, next, cookie).await,
        Err(e @ (Error::Invalid(_) | Error::Upstream(_))) => {
            let shown = Shown { error: Some(e.to_string()), username: Some(username), ..Default::default() };
            render(idp, tenant, req, Outcome::SignIn(request.clone()), shown).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ConsentForm {
    req: String,
    csrf_token: String,
    decision: String,
}

pub async fn consent(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<ConsentForm>) -> PageResult {
    check_csrf(&idp, &req, &form.req, &form.csrf_token)?;
    let (request, app) = pending(&idp, &tenant, &form.req).await?;
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
            let mut response = templates::tenant_page(
                idp,
                tenant,
                StatusCode::OK,
                "logout.html",
                json!({
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
        Logout::Done { redirect: Some(location), frames } if frames.is_empty() => {
            HttpResponse::Found().insert_header((header::LOCATION, location)).finish()
        }
        Logout::Done { redirect, frames } => {
            // Front-channel logout: the apps' pages load in iframes, then the browser moves on.
            let mut origins: Vec<String> =
                frames.iter().filter_map(|f| url::Url::parse(f).ok()).map(|u| u.origin().ascii_serialization()).collect();
            origins.sort();
            origins.dedup();
            let nonce = random_token();
            let context = json!({"redirect": redirect, "frames": frames, "nonce": nonce});
            templates::framing_tenant_page(idp, tenant, "signed_out.html", context, &nonce, &origins)
        }
    };
    let _ = response.add_cookie(&cookies::session_removal(tenant, https));
    crate::web::portal::sign_out(idp, tenant, req, &mut response).await;
    Ok(response)
}

/// A company branding image, public like the pages that show it. Its URL
/// names its content's hash, so it may be cached for ever.
pub async fn branding_image(idp: web::Data<Idp>, tenant: PathTenant<Page>, file: web::Path<(String, String)>) -> PageResult {
    let asset = branding::public_image(&idp, &tenant, &file.1).await?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.bytes))
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
    /// What the identifier page's email field holds (else `login_hint`).
    pub username: Option<String>,
    /// The account is named: ask for its password instead of an identifier.
    pub password_for: Option<String>,
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
            let base = format!("{}/{}", idp.base_url(), tenant.name);
            let csrf_token = cookies::csrf_token(&idp.cookie_key, &browser, &request.id);
            let switch = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("req", &request.id)
                .append_pair("csrf_token", &csrf_token)
                .finish();
            let context = json!({
                "app_name": app_name.unwrap_or_else(|| request.client_id.clone()),
                "action": format!("{base}/login"),
                "reset_url": format!("{base}/password/reset"),
                "switch_url": format!("{base}/login?{switch}"),
                "req": request.id,
                "csrf_token": csrf_token,
                "username": shown.password_for.clone().or(shown.username).or(request.login_hint.clone()).unwrap_or_default(),
                "error": shown.error,
            });
            let page = if shown.password_for.is_some() { "password.html" } else { "login.html" };
            templates::tenant_page(idp, tenant, StatusCode::OK, page, context)
        }
        Outcome::SecondFactor { request, user } => {
            let (browser, cookie) = cookies::browser_id(req, https);
            set.extend(cookie);
            web_mfa::begin(idp, tenant, req, &request, &user, &browser).await?
        }
        Outcome::Blocked { policy, app_name } => error_page(
            StatusCode::FORBIDDEN,
            &i18n::text("access-blocked-title", &[]),
            &i18n::text("access-blocked", &[("tenant", &tenant.display_name), ("app", &app_name), ("policy", &policy)]),
        ),
        Outcome::Consent { request, app, user } => {
            let (browser, cookie) = cookies::browser_id(req, https);
            set.extend(cookie);
            templates::tenant_page(
                idp,
                tenant,
                StatusCode::OK,
                "consent.html",
                json!({
                    "app_name": app.display_name,
                    "publisher": tenant.domains.first().unwrap_or(&tenant.name),
                    "user_email": user.email,
                    "scopes": scope_words(idp, tenant, &request.scopes).await?,
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

/// What each requested scope lets the app do, in words: OpenID scopes from
/// the catalog, a resource's by the display name of the app that is it.
async fn scope_words(idp: &Idp, tenant: &Tenant, scopes: &[String]) -> Result<Vec<String>, PageFailure> {
    let mut words = vec![];
    for scope in scopes {
        if OPENID_SCOPES.contains(&scope.as_str()) {
            words.push(i18n::text(&format!("scope-{scope}"), &[]));
            continue;
        }
        let Some((resource, permission)) = scope.rsplit_once('/').filter(|(r, _)| !r.ends_with(':') && !r.ends_with(":/")) else {
            words.push(scope.clone());
            continue;
        };
        let app = apps::resource_named(idp, tenant, resource).await?.map_or_else(|| resource.to_string(), |a| a.display_name);
        words.push(match permission {
            ".default" => i18n::text("scope-resource-default", &[("app", &app)]),
            permission => i18n::text("scope-resource", &[("app", &app), ("permission", permission)]),
        });
    }
    Ok(words)
}

/// Continues the pending sign-in request `request_id` with a session just
/// minted (a second factor here, a sign-in at home) and sets its cookie.
pub(crate) async fn continue_with(idp: &Idp, tenant: &Tenant, req: &HttpRequest, request_id: &str, session: Session) -> PageResult {
    let (request, app) = pending(idp, tenant, request_id).await?;
    let outcome = authorize::after_sign_in(idp, tenant, request, app, &session).await?;
    render(idp, tenant, req, outcome, Shown { new_session: Some(session), ..Default::default() }).await
}

/// A new session replaces the one the browser had (a sign-in again, a
/// step-up at home): the old cookie ends with it, so nothing it was worth
/// outlives the new sign-in.
pub(crate) async fn replace_session(idp: &Idp, tenant: &Tenant, req: &HttpRequest, new: &Session) -> Result<(), PageFailure> {
    let old = cookies::read(req, &cookies::session_name(tenant, https(idp)));
    match old.filter(|old| !old.is_empty() && Some(old) != new.cookie.as_ref()) {
        Some(old) => Ok(session::end_cookie(idp, &old).await.map(|_| ())?),
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
                json!({"title": i18n::text("continue", &[]), "action": response.redirect_uri, "params": response.params, "nonce": nonce}),
                Some(&nonce),
            )
        }
    }
}
