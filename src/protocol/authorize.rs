//! The authorization endpoint's logic (OIDC Core §3.1.2): validate the
//! request, decide whether the user must sign in or consent, issue the code.
//!
//! Kanidm's rule: when the client or redirect_uri cannot be trusted, never
//! redirect; say so on our own page.

use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::audit::signin::{code, reused, step, user_type_label, SignIn, Subject};
use crate::error::{Error, Result};
use crate::error::{OAuthCode, OAuthError};
use crate::idp::Idp;
use crate::model::{App, GrantType, Tenant, User};
use crate::model::{AuthCode, AuthRequest, Authentication, Consent, RefreshFamily, ResponseMode, Session};
use crate::policy;
use crate::protocol::scopes;
use crate::signin::{log, session, throttle};
use crate::util::{now, random_token, sha256_hex};

/// Query (GET) or form (POST) parameters of the authorization request.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    /// Entra's `domain_hint`: the home organisation's domain, to go there
    /// without asking for an address first.
    pub domain_hint: Option<String>,
    /// OIDC `ui_locales`: the languages the pages should be in.
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    /// OIDC Core §5.5 claims request; what counts here is a claims
    /// challenge's demand for MFA (see `claims_need_mfa`).
    pub claims: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// Came through the client's pushed request (PAR), not the browser.
    #[serde(skip)]
    pub pushed: bool,
}

/// Longest value of one authorization parameter, and of all together: a
/// sign-in request waits in the store, so what it keeps is bounded.
pub const MAX_PARAM_BYTES: usize = 2048;
pub const MAX_REQUEST_BYTES: usize = 8192;

impl AuthorizeParams {
    fn values(&self) -> [(&'static str, Option<&String>); 18] {
        [
            ("client_id", self.client_id.as_ref()),
            ("redirect_uri", self.redirect_uri.as_ref()),
            ("response_type", self.response_type.as_ref()),
            ("response_mode", self.response_mode.as_ref()),
            ("scope", self.scope.as_ref()),
            ("state", self.state.as_ref()),
            ("nonce", self.nonce.as_ref()),
            ("code_challenge", self.code_challenge.as_ref()),
            ("code_challenge_method", self.code_challenge_method.as_ref()),
            ("prompt", self.prompt.as_ref()),
            ("max_age", self.max_age.as_ref()),
            ("login_hint", self.login_hint.as_ref()),
            ("domain_hint", self.domain_hint.as_ref()),
            ("ui_locales", self.ui_locales.as_ref()),
            ("acr_values", self.acr_values.as_ref()),
            ("claims", self.claims.as_ref()),
            ("request", self.request.as_ref()),
            ("request_uri", self.request_uri.as_ref()),
        ]
    }

    /// What is too long, if anything.
    fn oversize(&self) -> Option<String> {
        let values = self.values();
        if let Some((name, _)) = values.iter().find(|(_, v)| v.is_some_and(|v| v.len() > MAX_PARAM_BYTES)) {
            return Some(format!("{name} is longer than {MAX_PARAM_BYTES} bytes"));
        }
        let total: usize = values.iter().filter_map(|(_, v)| v.map(String::len)).sum();
        (total > MAX_REQUEST_BYTES).then(|| format!("the request's parameters are longer than {MAX_REQUEST_BYTES} bytes together"))
    }
}

/// Where and how the browser goes back to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
    /// The error it carries, if it is a refusal.
    pub refused: Option<OAuthError>,
}

impl ClientResponse {
    fn error(req: &AuthRequest, issuer: &str, error: OAuthError) -> ClientResponse {
        let mut params = vec![("error", error.error.as_str().to_string()), ("error_description", error.error_description.clone())];
        params.extend(req.state.clone().map(|s| ("state", s)));
        params.push(("iss", issuer.to_string()));
        ClientResponse { redirect_uri: req.redirect_uri.clone(), mode: req.response_mode, params, refused: Some(error) }
    }

    /// The redirect target for `response_mode=query` or `fragment`.
    pub fn location(&self) -> String {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(url) => url,
            Err(_) => return self.redirect_uri.clone(),
        };
        let pairs = self.params.iter().map(|(k, v)| (*k, v.as_str()));
        if self.mode == ResponseMode::Fragment {
            let fragment = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            url.set_fragment(Some(&fragment));
        } else {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url.into()
    }
}

/// A request that cannot go back to the client with an error.
#[derive(Debug)]
pub enum Rejection {
    /// Unknown client or unregistered redirect_uri: show our own error page.
    Page(String),
    /// Return the error to the (trusted) redirect_uri.
    Client(ClientResponse),
    Failed(Error),
}

impl From<Error> for Rejection {
    fn from(e: Error) -> Rejection {
        Rejection::Failed(e)
    }
}

/// What the browser sees next.
#[derive(Debug)]
pub enum Outcome {
    SignIn(AuthRequest),
    /// The tenant's policies (or `acr_values=2`) need a second factor this
    /// session does not have yet.
    SecondFactor {
        request: AuthRequest,
        user: Box<User>,
    },
    /// A conditional access policy blocks this user from this app: a page, no code.
    Blocked {
        policy: String,
        app_name: String,
    },
    Consent {
        request: AuthRequest,
        app: Box<App>,
        user: Box<User>,
    },
    Respond(ClientResponse),
}

/// `acr_values` is a preference list (OIDC Core 3.1.2.1): MFA is required
/// only when `2` is acceptable and single-factor `1` is not.
fn mfa_only(acr_values: Option<&str>) -> bool {
    let values: Vec<&str> = acr_values.unwrap_or("").split_whitespace().collect();
    values.contains(&"2") && !values.contains(&"1")
}

/// Whether a `claims` request demands multi-factor: `acr` asked with `2`
/// as its only acceptable value, or Entra's `capolids` (satisfy these
/// conditional access policies, whose one satisfiable control here is MFA),
/// for the ID or the access token. This is the shape of the challenge the
/// token endpoint answers an on-behalf-of request with.
fn claims_need_mfa(claims: &str) -> std::result::Result<bool, OAuthError> {
    let request: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(claims).map_err(|_| OAuthError::invalid_request("claims must be a JSON object (OpenID Connect Core 5.5)"))?;
    let demands = |member: &serde_json::Value| {
        let acr = &member["acr"];
        let acr_values: Vec<&str> = match (&acr["value"], &acr["values"]) {
            (serde_json::Value::String(one), _) => vec![one.as_str()],
            (_, serde_json::Value::Array(all)) => all.iter().filter_map(|v| v.as_str()).collect(),
            _ => vec![],
        };
        (!acr_values.is_empty() && acr_values.iter().all(|v| *v == "2")) || member["capolids"]["essential"] == true
    };
    Ok(["id_token", "access_token"].iter().filter_map(|m| request.get(*m)).any(demands))
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Validates an authorization request (RFC 6749 §4.1.2.1 ordering) from
/// the client address `source`.
pub async fn validate(
    idp: &Idp,
    tenant: &Tenant,
    mut p: AuthorizeParams,
    source: &str,
) -> std::result::Result<(AuthRequest, App), Rejection> {
    if let Some(request_uri) = p.request_uri.take() {
        // Only what the client pushed counts (RFC 9126 §4); the browser brings its id.
        p = crate::protocol::par::pulled(idp, tenant, p.client_id.as_deref(), &request_uri).await?;
    }
    let oversize = p.oversize();
    if oversize.is_some() {
        // Nothing oversized is echoed back to the client either.
        p.state = None;
    }
    let client_id = p.client_id.as_deref().ok_or(Rejection::Page("The request has no client_id.".into()))?;
    let app = idp
        .store
        .app(&tenant.id, client_id)
        .await
        .map_err(Error::from)?
        .ok_or_else(|| Rejection::Page(format!("Application '{client_id}' is not registered in this tenant.")))?;
    let redirect_uri = p.redirect_uri.clone().ok_or(Rejection::Page("The request has no redirect_uri.".into()))?;
    if !app.has_redirect_uri(&redirect_uri) {
        return Err(Rejection::Page(format!("The redirect URI '{redirect_uri}' is not registered for application '{client_id}'.")));
    }
    let (response_mode, mode_error) = match p.response_mode.as_deref() {
        None | Some("query") => (ResponseMode::Query, None),
        Some("fragment") => (ResponseMode::Fragment, None),
        Some("form_post") => (ResponseMode::FormPost, None),
        Some(other) => (ResponseMode::Query, Some(format!("response_mode '{other}' is not supported"))),
    };
    let mut req = AuthRequest {
        id: random_token(),
        tenant_id: tenant.id.clone(),
        client_id: app.client_id.clone(),
        redirect_uri,
        response_mode,
        scopes: vec![],
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone(),
        prompt_none: false,
        prompt_login: false,
        prompt_consent: false,
        max_age: None,
        login_hint: p.login_hint.clone(),
        domain_hint: p.domain_hint.clone(),
        ui_locales: p.ui_locales.clone(),
        require_mfa: mfa_only(p.acr_values.as_deref()),
        expires_at: now() + idp.config.tokens.interaction_ttl,
        source: source.to_string(),
        admitted: false,
        device: None,
    };
    let issuer = idp.issuer(tenant);
    let reject = |req: &AuthRequest, e: OAuthError| Rejection::Client(ClientResponse::error(req, &issuer, e));
    if let Some(message) = oversize {
        return Err(reject(&req, OAuthError::invalid_request(message)));
    }

    if let Some(message) = mode_error {
        return Err(reject(&req, OAuthError::invalid_request(message)));
    }
    if let Some(claims) = p.claims.as_deref() {
        req.require_mfa |= claims_need_mfa(claims).map_err(|e| reject(&req, e))?;
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(reject(&req, OAuthError::invalid_request("response_type is required"))),
        Some(other) => {
            return Err(reject(
                &req,
                OAuthError::new(OAuthCode::UnsupportedResponseType, format!("response_type '{other}' is not supported; use 'code'")),
            ))
        }
    }
    if !app.allows(GrantType::AuthorizationCode) {
        return Err(reject(&req, OAuthError::unauthorized_client("this client may not use the authorization code flow")));
    }
    if p.request.is_some() {
        return Err(reject(&req, OAuthError::new(OAuthCode::RequestNotSupported, "request objects are not supported")));
    }
    if app.require_pushed_authorization_requests && !p.pushed {
        return Err(reject(&req, OAuthError::invalid_request("this client's authorization requests must be pushed first (PAR, RFC 9126)")));
    }
    match scopes::resolve(idp, tenant, &app, p.scope.as_deref().unwrap_or(""), scopes::Acting::ForUser).await {
        Ok(requested) => req.scopes = requested.scopes,
        Err(Error::OAuth(e)) => return Err(reject(&req, e)),
        Err(e) => return Err(e.into()),
    }
    if req.scopes.is_empty() {
        return Err(reject(&req, OAuthError::invalid_scope("scope is required")));
    }
    match (&p.code_challenge, p.code_challenge_method.as_deref()) {
        (None, _) if app.is_public() => {
            return Err(reject(&req, OAuthError::invalid_request("public clients must use PKCE (code_challenge with S256)")))
        }
        (None, None) => {}
        (None, Some(_)) => return Err(reject(&req, OAuthError::invalid_request("code_challenge_method without code_challenge"))),
        (Some(challenge), method) => {
            if method != Some("S256") {
                return Err(reject(&req, OAuthError::invalid_request("code_challenge_method must be S256 ('plain' is not allowed)")));
            }
            if !is_pkce_value(challenge) {
                return Err(reject(&req, OAuthError::invalid_request("code_challenge is malformed")));
            }
        }
    }
    let prompts: Vec<&str> = p.prompt.as_deref().unwrap_or("").split_whitespace().collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(reject(&req, OAuthError::invalid_request("prompt=none cannot be combined with other values")));
    }
    if let Some(unknown) = prompts.iter().find(|v| !["none", "login", "consent", "select_account"].contains(v)) {
        return Err(reject(&req, OAuthError::invalid_request(format!("prompt value '{unknown}' is not supported"))));
    }
    req.prompt_login = prompts.iter().any(|v| *v == "login" || *v == "select_account");
    req.prompt_consent = prompts.contains(&"consent");
    if let Some(raw) = &p.max_age {
        match raw.parse::<i64>() {
            Ok(v) if v >= 0 => req.max_age = Some(v),
            _ => return Err(reject(&req, OAuthError::invalid_request("max_age must be a non-negative integer"))),
        }
    }
    req.prompt_none = prompts.contains(&"none");
    Ok((req, app))
}

/// Decides the next step for a validated request and the browser's session.
pub async fn proceed(idp: &Idp, tenant: &Tenant, mut req: AuthRequest, app: App, session_cookie: Option<&str>) -> Result<Outcome> {
    let interactive = !req.prompt_none;
    let issuer = idp.issuer(tenant);
    let active = session::active(idp, tenant, session_cookie).await?;
    let signed_in = active.filter(|(s, _)| !req.prompt_login && req.max_age.is_none_or(|max| now() - s.auth_time <= max));
    // A page is needed: prompt=none refuses; otherwise the request waits in the store.
    let refuse =
        |req: &AuthRequest, code: OAuthCode, why: &str| Outcome::Respond(ClientResponse::error(req, &issuer, OAuthError::new(code, why)));
    let Some((session, user)) = signed_in else {
        if !interactive {
            return Ok(refuse(&req, OAuthCode::LoginRequired, "the user is not signed in"));
        }
        if !admit_pending(idp, &mut req).await? {
            return Ok(refuse(&req, OAuthCode::TemporarilyUnavailable, "too many sign-ins are waiting; try again in a few minutes"));
        }
        idp.store.put_auth_request(&req).await?;
        return Ok(Outcome::SignIn(req));
    };
    let decision = policy::evaluate(idp, tenant, &user, &app.client_id).await?;
    let mfa_required = decision.require_mfa || req.require_mfa;
    let mfa_done = session.acr == "2";
    // This sign-in began when the request was validated (seconds; a step
    // in that same second counts as this sign-in's).
    let began_ms = (req.expires_at - idp.config.tokens.interaction_ttl) * 1000;
    let steps = reused(&session.steps, began_ms);
    let logged = |sign_in: SignIn| SignIn { interactive, mfa_required, policies: decision.applied(mfa_done), ..sign_in.with_steps(&steps) };
    let sign_in = || SignIn::new(tenant, Subject::user(&user), &app.client_id, &app.display_name);
    if let Some(policy) = &decision.blocked_by {
        tracing::warn!(tenant = %tenant.id, user = %user.id, client = %app.client_id, %policy, "sign-in blocked by conditional access");
        idp.audit
            .sign_in(logged(sign_in().failed(code::BLOCKED_BY_POLICY, format!("Blocked by the conditional access policy '{policy}'"))));
        finish_pending(idp, &req).await?;
        if let Some(user_code) = &req.device {
            crate::protocol::device::deny(idp, tenant, user_code).await?;
        }
        if !interactive {
            return Ok(refuse(&req, OAuthCode::AccessDenied, "blocked by a conditional access policy"));
        }
        return Ok(Outcome::Blocked { policy: policy.clone(), app_name: app.display_name });
    }
    if mfa_required && !mfa_done {
        let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
        let user_type = user_type_label(user.user_type);
        crate::telemetry::count_for_tenant("b2b_idp_sign_ins_total", label, [("outcome", "mfa_required"), ("user_type", user_type)]);
        if !interactive {
            return Ok(refuse(&req, OAuthCode::InteractionRequired, "multi-factor authentication is required"));
        }
        idp.store.put_auth_request(&req).await?;
        return Ok(Outcome::SecondFactor { request: req, user: Box::new(user) });
    }
    if needs_consent(idp, &req, &app, &user).await? {
        if !interactive {
            return Ok(refuse(&req, OAuthCode::ConsentRequired, "the user has not consented to this application"));
        }
        idp.store.put_auth_request(&req).await?;
        return Ok(Outcome::Consent { request: req, app: Box::new(app), user: Box::new(user) });
    }
    let response = issue_code(idp, tenant, &req, &session).await?;
    idp.audit.sign_in(logged(sign_in()));
    Ok(Outcome::Respond(response))
}

/// The counters of waiting sign-ins: per client address (an IPv6 /64) and
/// per tenant.
fn pending_keys(req: &AuthRequest) -> [String; 2] {
    [format!("authreq-src|{}", throttle::source_key(&req.source)), format!("authreq-tenant|{}", req.tenant_id)]
}

/// Whether one more sign-in request may wait for a person, within the
/// bounds per client address and per tenant. Only requests that wait
/// count, and each gives its count back when it ends (`finish_pending`),
/// so the bounds are on sign-ins open at once (within 15 minutes, after
/// which an abandoned one stops counting).
async fn admit_pending(idp: &Idp, req: &mut AuthRequest) -> Result<bool> {
    use throttle::WINDOW_SECS;
    if req.admitted {
        return Ok(true);
    }
    let [source, tenant] = pending_keys(req);
    let server = &idp.config.server;
    if idp.store.bump_counter(&source, WINDOW_SECS).await? > server.pending_sign_ins_per_source {
        idp.store.release_counter(&source).await?;
        return Ok(false);
    }
    if idp.store.bump_counter(&tenant, WINDOW_SECS).await? > server.pending_sign_ins_total {
        idp.store.release_counter(&source).await?;
        idp.store.release_counter(&tenant).await?;
        return Ok(false);
    }
    req.admitted = true;
    Ok(true)
}

/// A sign-in request is done (a code, an error sent back, a refusal): it
/// no longer waits.
async fn finish_pending(idp: &Idp, req: &AuthRequest) -> Result<()> {
    idp.store.delete_auth_request(&req.id).await?;
    if req.admitted {
        for key in pending_keys(req) {
            idp.store.release_counter(&key).await?;
        }
    }
    Ok(())
}

async fn needs_consent(idp: &Idp, req: &AuthRequest, app: &App, user: &User) -> Result<bool> {
    if req.prompt_consent {
        return Ok(true);
    }
    if !app.require_consent {
        return Ok(false);
    }
    let granted = idp.store.consent(&req.tenant_id, &user.id, &app.client_id).await?;
    Ok(!granted.is_some_and(|c| req.scopes.iter().all(|s| c.scopes.contains(s))))
}

/// A pending request by id, if it belongs to this tenant and has not expired.
pub async fn pending(idp: &Idp, tenant: &Tenant, id: &str) -> Result<(AuthRequest, App)> {
    let gone = || Error::Invalid("This sign-in request has expired or was already used. Start again from the application.".into());
    let req = idp.store.auth_request(id).await?.ok_or_else(gone)?;
    if req.tenant_id != tenant.id || req.expires_at < now() {
        return Err(gone());
    }
    let app = idp.store.app(&tenant.id, &req.client_id).await?.ok_or_else(gone)?;
    Ok((req, app))
}

/// A member's password on the sign-in page: a new session, or why not
/// (shown on the page again). Failures go to the sign-in log.
/// Why a password sign-in was refused (the page words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRefused {
    /// Wrong password, or no such member: the two are not told apart.
    Incorrect,
    Disabled,
    LockedOut,
}

pub async fn sign_in_with_password(
    idp: &Idp,
    tenant: &Tenant,
    app: &App,
    username: &str,
    password: &str,
    source: &str,
) -> Result<std::result::Result<Session, PasswordRefused>> {
    let failed = |code: i64, reason: &str, known: Option<&User>| {
        let subject = known.map_or_else(|| Subject::unknown(&crate::util::address::lookup_form(username)), Subject::user);
        let step = step("Password", "Password in the cloud", false, false, reason.to_string());
        log::failure(idp, SignIn::new(tenant, subject, &app.client_id, &app.display_name).failed(code, reason).with_step(step))
    };
    let known = || async { idp.store.user_by_email(&tenant.id, &crate::util::address::lookup_form(username)).await.ok().flatten() };
    match session::check_password(idp, tenant, username, password, source).await {
        Ok(Some(user)) if !user.enabled => {
            failed(code::ACCOUNT_DISABLED, "User account is disabled.", Some(&user)).await;
            Ok(Err(PasswordRefused::Disabled))
        }
        Ok(Some(user)) => {
            tracing::info!(tenant = %tenant.id, user = %user.id, "signed in with password");
            Ok(Ok(session::start(idp, tenant, &user, session::Factors::password()).await?))
        }
        Ok(None) => {
            failed(code::INVALID_PASSWORD, "Invalid username or password", known().await.as_ref()).await;
            Ok(Err(PasswordRefused::Incorrect))
        }
        Err(Error::TooManyAttempts(_)) => {
            let reason = "Locked out: too many failed sign-ins for this account from this address, or from this address";
            failed(code::LOCKED, reason, known().await.as_ref()).await;
            Ok(Err(PasswordRefused::LockedOut))
        }
        Err(e) => Err(e),
    }
}

/// The user signed in just now: `prompt=login` and `max_age` are satisfied.
pub async fn after_sign_in(idp: &Idp, tenant: &Tenant, mut req: AuthRequest, app: App, session: &Session) -> Result<Outcome> {
    req.prompt_login = false;
    req.max_age = None;
    proceed(idp, tenant, req, app, session.cookie.as_deref()).await
}

/// The consent page's answer.
pub async fn after_consent(
    idp: &Idp,
    tenant: &Tenant,
    mut req: AuthRequest,
    app: App,
    session_cookie: Option<&str>,
    accepted: bool,
) -> Result<Outcome> {
    let Some((_, user)) = session::active(idp, tenant, session_cookie).await? else {
        return Ok(Outcome::SignIn(req));
    };
    if !accepted {
        let declined = SignIn::new(tenant, Subject::user(&user), &app.client_id, &app.display_name);
        idp.audit.sign_in(declined.failed(code::CONSENT_DECLINED, "The user declined to consent to the app"));
        finish_pending(idp, &req).await?;
        if let Some(user_code) = &req.device {
            crate::protocol::device::deny(idp, tenant, user_code).await?;
        }
        let denied = OAuthError::new(OAuthCode::AccessDenied, "the user declined to consent");
        return Ok(Outcome::Respond(ClientResponse::error(&req, &idp.issuer(tenant), denied)));
    }
    idp.store
        .put_consent(&Consent {
            tenant_id: tenant.id.clone(),
            user_id: user.id.clone(),
            client_id: app.client_id.clone(),
            scopes: req.scopes.clone(),
        })
        .await?;
    req.prompt_consent = false;
    proceed(idp, tenant, req, app, session_cookie).await
}

async fn issue_code(idp: &Idp, tenant: &Tenant, req: &AuthRequest, session: &Session) -> Result<ClientResponse> {
    let auth = Authentication {
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
        session_id: session.sid.clone(),
        mfa_source: session.mfa_source.clone(),
        auth_time_ms: session.started_ms,
    };
    crate::signin::session::signed_in_to(idp, session, &req.client_id).await?;
    if let Some(user_code) = &req.device {
        // A device's sign-in: the device's poll gets the tokens; the browser is told it is done.
        let outcome = match crate::protocol::device::approve(idp, tenant, user_code, auth).await? {
            true => ("status", "approved".to_string()),
            false => ("error", OAuthCode::ExpiredToken.as_str().to_string()),
        };
        finish_pending(idp, req).await?;
        return Ok(ClientResponse {
            redirect_uri: req.redirect_uri.clone(),
            mode: req.response_mode,
            params: vec![outcome],
            refused: None,
        });
    }
    let code = random_token();
    let issued_at = now();
    let record = AuthCode {
        tenant_id: tenant.id.clone(),
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        scopes: req.scopes.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth,
        family_id: uuid::Uuid::new_v4().to_string(),
        expires_at: issued_at + idp.config.tokens.code_ttl,
        used: false,
    };
    if req.scopes.iter().any(|s| s == "offline_access") {
        // The family exists before the code can be redeemed, so a replay
        // racing the first redemption always finds something to revoke.
        idp.store
            .put_family(&RefreshFamily {
                id: record.family_id.clone(),
                tenant_id: tenant.id.clone(),
                client_id: req.client_id.clone(),
                scopes: req.scopes.clone(),
                auth: record.auth.clone(),
                current: None,
                issued_at,
                expires_at: record.expires_at,
                ends_at: issued_at + idp.config.tokens.refresh_family_ttl,
                revoked: false,
                on_behalf_of: None,
            })
            .await?;
    }
    idp.store.put_code(&sha256_hex(&code), &record).await?;
    finish_pending(idp, req).await?;
    let mut params = vec![("code", code)];
    params.extend(req.state.clone().map(|s| ("state", s)));
    params.push(("iss", idp.issuer(tenant)));
    Ok(ClientResponse { redirect_uri: req.redirect_uri.clone(), mode: req.response_mode, params, refused: None })
}

/// PKCE S256 check (RFC 7636 §4.6), constant time.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    if !is_pkce_value(verifier) {
        return false;
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_s256_matches_the_rfc_example_only() {
        assert!(pkce_matches(CHALLENGE, VERIFIER));
        assert!(!pkce_matches(CHALLENGE, &VERIFIER.replace('d', "e")), "another verifier");
        assert!(!pkce_matches(VERIFIER, VERIFIER), "plain is not S256");
        assert!(!pkce_matches(CHALLENGE, &VERIFIER[..42]), "verifiers are 43 to 128 characters");
        assert!(!pkce_matches(CHALLENGE, &format!("{VERIFIER} ")), "outside the unreserved characters");
        assert!(is_pkce_value(&"a".repeat(128)) && !is_pkce_value(&"a".repeat(129)));
    }

    #[test]
    fn acr_values_ask_for_mfa_only_without_single_factor() {
        assert!(mfa_only(Some("2")));
        assert!(!mfa_only(Some("1 2")), "single factor still acceptable");
        assert!(!mfa_only(Some("1")) && !mfa_only(None) && !mfa_only(Some("")));
    }

    #[test]
    fn a_claims_challenge_asks_for_mfa() {
        let mfa = |claims: &str| claims_need_mfa(claims).expect("a JSON object");
        assert!(mfa(r#"{"access_token":{"acr":{"essential":true,"value":"2"}}}"#));
        assert!(mfa(r#"{"id_token":{"acr":{"values":["2"]}}}"#));
        assert!(mfa(r#"{"access_token":{"capolids":{"essential":true,"values":["p1"]}}}"#));
        assert!(!mfa(r#"{"id_token":{"acr":{"values":["1","2"]}}}"#), "single factor still acceptable");
        assert!(!mfa(r#"{"userinfo":{"acr":{"value":"2"}}}"#) && !mfa("{}"));
        assert!(!mfa(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#), "client capabilities ask for nothing");
        for bad in ["", "[]", "not json", r#""x""#] {
            assert_eq!(claims_need_mfa(bad).expect_err(bad).error, OAuthCode::InvalidRequest);
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let app = App { redirect_uris: vec!["https://app.example/callback".into()], ..App::example("c") };
        assert!(app.has_redirect_uri("https://app.example/callback"));
        for near in [
            "https://app.example/callback/",
            "https://app.example/callback?x=1",
            "https://APP.example/callback",
            "https://app.example/Callback",
            "https://app.example/callback#f",
            "https://app.example/callbac",
            "https://app.example:443/callback",
            "http://app.example/callback",
        ] {
            assert!(!app.has_redirect_uri(near), "{near} must not match");
        }
    }
}
