//! The token endpoint (RFC 6749 §4.1.3, §6, §4.4) and token issuance.

use serde::{Deserialize, Serialize};

use crate::audit::signin::{code, step, user_type_label, SignIn, Subject};
use crate::audit::Repeat;
use crate::directory::access::ADMIN_RESOURCE;
use crate::error::{Error, Result};
use crate::error::{OAuthCode, OAuthError};
use crate::idp::Idp;
use crate::model::{App, GrantType, Tenant, User};
use crate::model::{Authentication, RefreshFamily};
use crate::protocol::authorize::pkce_matches;
use crate::protocol::claims::{at_hash, AccessClaims, IdClaims, UserClaims};
use crate::protocol::scopes::{self, Acting, Requested};
use crate::signin::log;
use crate::store::Spend;
use crate::util::{now, random_token, sha256_hex};

#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    /// On-behalf-of: the user's access token the caller received.
    pub assertion: Option<String>,
    pub requested_token_use: Option<String>,
    /// The device authorization grant's code (RFC 8628).
    pub device_code: Option<String>,
}

impl TokenParams {
    /// The client authentication the form carried, taken out of it.
    pub fn take_assertion(&mut self) -> crate::protocol::client_auth::AssertionFields {
        crate::protocol::client_auth::AssertionFields {
            client_assertion_type: self.client_assertion_type.take(),
            client_assertion: self.client_assertion.take(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Runs one grant for an already authenticated client.
pub async fn grant(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let grant_type = p.grant_type.as_deref().ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let grant = GrantType::parse(grant_type)
        .ok_or_else(|| OAuthError::new(OAuthCode::UnsupportedGrantType, format!("grant_type '{grant_type}' is not supported")))?;
    if !app.allows(grant) {
        return Err(OAuthError::unauthorized_client(format!("this client may not use {grant_type}")).into());
    }
    let result = match grant {
        GrantType::AuthorizationCode => authorization_code(idp, tenant, app, p).await,
        GrantType::RefreshToken => refresh(idp, tenant, app, p).await,
        GrantType::ClientCredentials => client_credentials(idp, tenant, app, p).await,
        GrantType::OnBehalfOf => crate::protocol::on_behalf_of::exchange(idp, tenant, app, p).await,
        GrantType::DeviceCode => crate::protocol::device::poll(idp, tenant, app, p.device_code.as_deref()).await,
    };
    match &result {
        Ok(_) => {
            let kind = if app.is_public() { "public" } else { "confidential" };
            let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
            crate::telemetry::count_for_tenant(
                "b2b_idp_tokens_issued_total",
                label,
                [("grant_type", grant.as_str()), ("client_kind", kind)],
            );
        }
        // What the sign-in log did not get from the grant itself.
        // A device polling while its person signs in is no failure.
        Err(Error::OAuth(e)) if matches!(e.error, OAuthCode::AuthorizationPending | OAuthCode::SlowDown) => {}
        Err(Error::OAuth(e)) if !matches!(grant, GrantType::RefreshToken | GrantType::OnBehalfOf) => {
            let subject = if grant == GrantType::ClientCredentials { Subject::App } else { Subject::Unknown { upn: String::new() } };
            let code = if e.error_description == CODE_USED { code::CODE_REDEEMED } else { code::INVALID_GRANT };
            let failed =
                SignIn::new(tenant, subject, &app.client_id, &app.display_name).non_interactive().failed(code, &e.error_description);
            log::failure(idp, failed).await;
        }
        Err(_) => {}
    }
    result
}

const CODE_USED: &str = "authorization code was already used";

async fn authorization_code(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let code = p.code.as_deref().ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = sha256_hex(code);
    // Check ownership before spending, so another client cannot burn the code.
    let owned = idp.store.code(&hash).await?.is_some_and(|c| c.tenant_id == tenant.id && c.client_id == app.client_id);
    if !owned {
        return Err(OAuthError::invalid_grant("authorization code is invalid").into());
    }
    let record = match idp.store.spend_code(&hash).await? {
        Spend::Fresh(record) => record,
        Spend::Replayed(record) => {
            // RFC 6749 §4.1.2: a replayed code revokes what it produced:
            // the refresh grant, and the access token (by its known `jti`).
            idp.store.revoke_family(&record.family_id).await?;
            idp.store.revoke_jti(&code_jti(&hash), now() + idp.config.tokens.access_token_ttl).await?;
            crate::telemetry::security_event(
                "code_replayed",
                &format!("tenant {} client {}: its tokens are revoked", tenant.id, record.client_id),
            );
            return Err(OAuthError::invalid_grant(CODE_USED).into());
        }
        Spend::Missing => return Err(OAuthError::invalid_grant("authorization code is invalid").into()),
    };
    if record.expires_at < now() {
        return Err(OAuthError::invalid_grant("authorization code has expired").into());
    }
    if p.redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request").into());
    }
    match (&record.code_challenge, &p.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
        (Some(_), Some(_)) => return Err(OAuthError::invalid_grant("PKCE verification failed").into()),
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required").into()),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant("code_verifier sent but the authorization request had no code_challenge").into())
        }
        (None, None) => {}
    }
    let user = live_user(idp, tenant, &record.auth).await?;
    let requested = scopes::resolve(idp, tenant, app, &record.scopes.join(" "), Acting::ForUser).await?;
    let refresh_token = if wants_refresh(app, &requested) {
        // Created with the code; revoked already if the code was replayed meanwhile.
        let family = idp.store.family(&record.family_id).await?.filter(|f| f.is_live(now()) && f.current.is_none());
        // Losing the swap means a replay revoked the grant meanwhile.
        let rotated = match family {
            Some(family) => rotate(idp, &family).await?,
            None => None,
        };
        Some(rotated.ok_or_else(|| OAuthError::invalid_grant("authorization code was already used"))?)
    } else {
        None
    };
    let grant = Grant { user: &user, auth: &record.auth, refresh_token, jti: Some(code_jti(&hash)) };
    issue(idp, tenant, app, grant, &requested, record.nonce.as_deref()).await
}

/// A refresh is a non-interactive sign-in: the log gets it either way,
/// under the user when the grant is known.
async fn refresh(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let mut facts = GrantFacts::default();
    let result = refresh_grant(idp, tenant, app, p, &mut facts).await;
    log_delegated(idp, tenant, app, &result, facts, ("Refresh token", "First factor requirement satisfied by a refresh token")).await;
    result
}

/// What a grant made for a user (a refresh, on-behalf-of) found out, for
/// the sign-in log.
pub(super) struct GrantFacts {
    /// The grant's user, once known, and whether its sign-in was multi-factor.
    pub user: Option<User>,
    pub mfa: bool,
    /// The sign-in error code if it fails from here.
    pub code: i64,
}

impl Default for GrantFacts {
    fn default() -> GrantFacts {
        GrantFacts { user: None, mfa: false, code: code::INVALID_GRANT }
    }
}

/// Logs a non-interactive sign-in that reused an earlier one (`method`:
/// the token it was made with, and the step's detail): repeats of a
/// success aggregate, failures are written one by one.
pub(super) async fn log_delegated(
    idp: &Idp,
    tenant: &Tenant,
    app: &App,
    result: &Result<TokenResponse>,
    facts: GrantFacts,
    (method, detail): (&'static str, &'static str),
) {
    let GrantFacts { user, mfa, code: failure } = facts;
    let sign_in = |user: Option<&User>| {
        let subject = user.map_or(Subject::Unknown { upn: String::new() }, Subject::user);
        let sign_in = SignIn { mfa_required: mfa, ..SignIn::new(tenant, subject, &app.client_id, &app.display_name).non_interactive() };
        match user {
            Some(_) => sign_in.with_step(step("Previously satisfied", method, mfa, true, detail)),
            None => sign_in,
        }
    };
    match (result, user.as_ref()) {
        (Ok(_), Some(user)) => {
            let context = crate::audit::context::current();
            let repeat = Repeat { tenant_id: &tenant.id, user_id: Some(&user.id), app_id: &app.client_id, ip_address: &context.ip_address };
            let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
            idp.audit.repeated_success(label, user_type_label(user.user_type), repeat, || sign_in(Some(user)));
        }
        (Ok(_), None) => idp.audit.sign_in(sign_in(None)),
        (Err(Error::OAuth(e)), user) => log::failure(idp, sign_in(user).failed(failure, &e.error_description)).await,
        (Err(_), user) => {
            let failed = sign_in(user).failed(code::SERVICE_ERROR, "The server failed; its log has the details under this correlationId");
            log::failure(idp, failed).await;
        }
    }
}

async fn refresh_grant(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams, facts: &mut GrantFacts) -> Result<TokenResponse> {
    let GrantFacts { user: known, mfa, code: failure } = facts;
    let token = p.refresh_token.as_deref().ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let invalid = || OAuthError::invalid_grant("refresh token is invalid, expired or revoked");
    let family_id = RefreshFamily::id_of(token).ok_or_else(invalid)?;
    let family = idp.store.family(family_id).await?.ok_or_else(invalid)?;
    // Another client's token is merely invalid here: it cannot burn the grant.
    if family.tenant_id != tenant.id || family.client_id != app.client_id || family.revoked {
        return Err(invalid().into());
    }
    if !family.is_current(&sha256_hex(token)) {
        *failure = code::REFRESH_REUSED;
        idp.store.revoke_family(&family.id).await?;
        crate::telemetry::security_event("refresh_token_reused", &format!("tenant {} client {}: family revoked", tenant.id, app.client_id));
        return Err(reused().into());
    }
    // Everything that can refuse the request is checked before the token is rotated.
    if !family.is_live(now()) {
        return Err(invalid().into());
    }
    // Kept in the facts (moved, not copied) for the sign-in log.
    let user: &User = known.insert(live_user(idp, tenant, &family.auth).await?);
    *mfa = family.auth.acr == "2";
    // Conditional access applies to refreshes too: a block or an MFA rule
    // added since the sign-in ends the grant's use (the user signs in again).
    // An on-behalf-of grant answers to its downstream API's policies too.
    let mut decision = crate::policy::evaluate(idp, tenant, user, &app.client_id).await?;
    if let Some(api) = &family.on_behalf_of {
        decision = decision.and(crate::policy::evaluate(idp, tenant, user, api).await?);
    }
    if let Some(policy) = decision.blocked_by {
        *failure = code::BLOCKED_BY_POLICY;
        return Err(OAuthError::invalid_grant(format!("blocked by the conditional access policy '{policy}'")).into());
    }
    if decision.require_mfa && family.auth.acr != "2" {
        *failure = code::MFA_NOW_REQUIRED;
        return Err(OAuthError::invalid_grant("multi-factor authentication is now required: sign in again").into());
    }
    // A narrower scope applies to this response only; the grant keeps its scope (RFC 6749 §6).
    let scope = match p.scope.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(asked) => {
            let asked = scopes::split(asked);
            if let Some(extra) = asked.iter().find(|s| !family.scopes.contains(s)) {
                return Err(OAuthError::invalid_scope(format!("scope '{extra}' was not granted originally")).into());
            }
            asked.join(" ")
        }
        None => family.scopes.join(" "),
    };
    let requested = scopes::resolve(idp, tenant, app, &scope, Acting::ForUser).await?;
    let refresh_token = Some(rotate(idp, &family).await?.ok_or_else(reused)?);
    let grant = Grant { user, auth: &family.auth, refresh_token, jti: None };
    issue(idp, tenant, app, grant, &requested, None).await
}

fn reused() -> OAuthError {
    OAuthError::invalid_grant("refresh token was already used; every token of this grant is now revoked")
}

/// The `jti` of the access token a code is redeemed for: derived from the
/// code, so a replay of the code can revoke it without a record per token.
fn code_jti(code_hash: &str) -> String {
    sha256_hex(&format!("access-token\0{code_hash}"))
}

/// Makes a new refresh token the family's live one, in one compare-and-swap.
/// None if the swap was lost (a concurrent use, or a revocation): the family
/// is revoked, and the caller says why in its grant's terms.
async fn rotate(idp: &Idp, family: &RefreshFamily) -> Result<Option<String>> {
    let value = format!("{}.{}", family.id, random_token());
    let issued_at = now();
    let next = RefreshFamily {
        current: Some(sha256_hex(&value)),
        issued_at,
        expires_at: (issued_at + idp.config.tokens.refresh_token_ttl).min(family.ends_at),
        ..family.clone()
    };
    if !idp.store.replace_family(family, &next).await? {
        idp.store.revoke_family(&family.id).await?;
        return Ok(None);
    }
    Ok(Some(value))
}

async fn client_credentials(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    if app.is_public() {
        return Err(OAuthError::unauthorized_client("public clients cannot use client_credentials").into());
    }
    let requested = scopes::resolve(idp, tenant, app, p.scope.as_deref().unwrap_or(""), Acting::AsApp).await?;
    let (true, Some(resource)) = (requested.is_default_only(), requested.resource.clone()) else {
        return Err(OAuthError::invalid_scope("client_credentials takes exactly one scope of the form '{resource}/.default'").into());
    };
    let mut claims = access_claims(idp, tenant, app, resource, "app");
    // As an app, `.default` means every app role granted for the resource.
    claims.roles = requested.scp;
    let access_token = idp.keys.sign(&tenant.id, app.token_alg(tenant), "at+jwt", &claims).await?;
    let context = crate::audit::context::current();
    let repeat = Repeat { tenant_id: &tenant.id, user_id: None, app_id: &app.client_id, ip_address: &context.ip_address };
    let label = crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged);
    idp.audit
        .repeated_success(label, "app", repeat, || SignIn::new(tenant, Subject::App, &app.client_id, &app.display_name).non_interactive());
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: idp.config.tokens.access_token_ttl,
        scope: requested.scopes.join(" "),
        id_token: None,
        refresh_token: None,
    })
}

/// What every access token says (RFC 9068 + Entra's `azp`, `tid`, `ver`,
/// `idtyp`); callers add the subject, scopes and roles.
fn access_claims(idp: &Idp, tenant: &Tenant, app: &App, aud: String, idtyp: &str) -> AccessClaims {
    let issued_at = now();
    AccessClaims {
        iss: idp.issuer(tenant),
        sub: app.client_id.clone(),
        aud,
        exp: issued_at + idp.config.tokens.access_token_ttl,
        iat: issued_at,
        nbf: issued_at,
        // A v4 UUID from the thread's CSPRNG: no system call per token.
        jti: uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string(),
        client_id: app.client_id.clone(),
        azp: app.client_id.clone(),
        tid: tenant.id.clone(),
        ver: "2.0".into(),
        idtyp: idtyp.into(),
        scope: None,
        scp: None,
        roles: vec![],
        user: None,
    }
}

pub(super) fn wants_refresh(app: &App, requested: &Requested) -> bool {
    requested.has("offline_access") && app.allows(GrantType::RefreshToken)
}

/// A user who still exists and may sign in; otherwise the grant is dead.
/// The signed-in user, if still enabled and the sign-in not revoked since.
pub(super) async fn live_user(idp: &Idp, tenant: &Tenant, auth: &Authentication) -> Result<User> {
    match idp.store.user(&tenant.id, &auth.user_id).await? {
        Some(user) if user.enabled && auth.auth_time_ms >= user.sessions_valid_from_ms => Ok(user),
        _ => Err(Error::OAuth(OAuthError::invalid_grant("the user no longer exists, is disabled, or was signed out"))),
    }
}

/// What a user-token response is issued from: the sign-in and the grant.
pub(super) struct Grant<'a> {
    pub user: &'a User,
    pub auth: &'a Authentication,
    /// The rotated refresh token, when the grant includes them.
    pub refresh_token: Option<String>,
    /// A `jti` the access token must carry (see `code_jti`).
    pub jti: Option<String>,
}

/// Access token, ID token (with `openid`) and the grant's refresh token, if any.
pub(super) async fn issue(
    idp: &Idp,
    tenant: &Tenant,
    app: &App,
    grant: Grant<'_>,
    requested: &Requested,
    nonce: Option<&str>,
) -> Result<TokenResponse> {
    let Grant { user, auth, refresh_token, jti } = grant;
    let t = &idp.config.tokens;
    let alg = app.token_alg(tenant);
    let user_claims = UserClaims::new(user, auth, requested.has("profile"), requested.has("email"));
    let aud = requested.resource.clone().unwrap_or_else(|| app.client_id.clone());
    let mut access = access_claims(idp, tenant, app, aud, "user");
    access.jti = jti.unwrap_or(access.jti);
    access.sub = user.id.clone();
    access.scope = Some(requested.scopes.join(" "));
    access.scp = Some(requested.scp.join(" ")).filter(|s| !s.is_empty());
    if requested.resource.as_deref() == Some(ADMIN_RESOURCE) {
        // The admin API acts with the person's directory roles (docs/contract.md, "Admin API").
        access.roles = user.roles.clone();
    }
    access.user = Some(user_claims.clone());
    let access_token = idp.keys.sign(&tenant.id, alg, "at+jwt", &access).await?;
    let issued_at = access.iat;
    let id_token = if requested.has("openid") {
        let id = IdClaims {
            iss: access.iss.clone(),
            sub: user.id.clone(),
            aud: app.client_id.clone(),
            exp: issued_at + t.id_token_ttl,
            iat: issued_at,
            nbf: issued_at,
            nonce: nonce.map(str::to_string),
            at_hash: Some(at_hash(&access_token)),
            tid: tenant.id.clone(),
            ver: "2.0".into(),
            user: user_claims,
        };
        Some(idp.keys.sign(&tenant.id, alg, "JWT", &id).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: t.access_token_ttl,
        scope: requested.scopes.join(" "),
        id_token,
        refresh_token,
    })
}

/// A refresh-token grant made at the token endpoint (on-behalf-of, a
/// device's sign-in), when `offline_access` was asked and the client may
/// refresh: the same kind of grant an authorization code starts. It ends
/// when a grant started at the sign-in itself would: exchanging a token of
/// one grant for another must not make the sign-in last for ever.
/// A new grant with its first refresh token; `on_behalf_of` names the
/// downstream API of an on-behalf-of grant.
pub(super) async fn new_refresh_grant(
    idp: &Idp,
    tenant: &Tenant,
    app: &App,
    scopes: &[String],
    auth: &Authentication,
    on_behalf_of: Option<&str>,
) -> Result<String> {
    let issued_at = now();
    let ends_at = issued_at.min(auth.auth_time) + idp.config.tokens.refresh_family_ttl;
    if ends_at <= issued_at {
        return Err(OAuthError::invalid_grant("the user's sign-in is too old for a refresh token: sign in again").into());
    }
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        client_id: app.client_id.clone(),
        scopes: scopes.to_vec(),
        auth: auth.clone(),
        current: None,
        issued_at,
        expires_at: (issued_at + idp.config.tokens.refresh_token_ttl).min(ends_at),
        ends_at,
        revoked: false,
        on_behalf_of: on_behalf_of.map(str::to_string),
    };
    idp.store.put_family(&family).await?;
    let lost = || OAuthError::invalid_grant("the new grant was revoked while it was made");
    Ok(rotate(idp, &family).await?.ok_or_else(lost)?)
}
