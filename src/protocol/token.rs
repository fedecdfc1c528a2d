//! The token endpoint (RFC 6749 §4.1.3, §6, §4.4) and token issuance.

use serde::{Deserialize, Serialize};

use crate::directory::{now, random_token, sha256_hex, App, GrantType, Tenant, User};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::keys::Alg;
use crate::protocol::authorize::pkce_matches;
use crate::protocol::claims::{at_hash, AccessClaims, IdClaims, UserClaims};
use crate::protocol::records::{Authentication, RefreshFamily, RefreshToken};
use crate::protocol::scopes::{self, Requested, ADMIN_RESOURCE};
use crate::protocol::OAuthError;
use crate::store::Spend;

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
    let grant = GrantType::parse(grant_type).ok_or_else(|| {
        OAuthError::new(crate::protocol::OAuthCode::UnsupportedGrantType, format!("grant_type '{grant_type}' is not supported"))
    })?;
    if !app.allows(grant) {
        return Err(OAuthError::unauthorized_client(format!("this client may not use {grant_type}")).into());
    }
    match grant {
        GrantType::AuthorizationCode => authorization_code(idp, tenant, app, p).await,
        GrantType::RefreshToken => refresh(idp, tenant, app, p).await,
        GrantType::ClientCredentials => client_credentials(idp, tenant, app, p).await,
    }
}

async fn authorization_code(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let code = p.code.as_deref().ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let record = match idp.store.spend_code(&sha256_hex(code)).await? {
        Spend::Fresh(record) => record,
        Spend::Replayed(record) => {
            // RFC 6749 §4.1.2: a replayed code revokes what it produced.
            idp.store.revoke_family(&record.family_id).await?;
            tracing::warn!(tenant = %tenant.id, client = %record.client_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant("authorization code was already used").into());
        }
        Spend::Missing => return Err(OAuthError::invalid_grant("authorization code is invalid").into()),
    };
    if record.tenant_id != tenant.id || record.client_id != app.client_id {
        return Err(OAuthError::invalid_grant("authorization code was issued to another client").into());
    }
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
    let user = live_user(idp, tenant, &record.auth.user_id).await?;
    let requested = scopes::resolve(idp, tenant, &record.scopes.join(" ")).await?;
    let family = if wants_refresh(app, &requested) {
        let family = RefreshFamily {
            id: record.family_id.clone(),
            tenant_id: tenant.id.clone(),
            client_id: app.client_id.clone(),
            user_id: user.id.clone(),
            revoked: false,
            expires_at: now() + idp.config.tokens.refresh_family_ttl,
        };
        idp.store.put_family(&family).await?;
        Some(family)
    } else {
        None
    };
    issue(idp, tenant, app, &user, &record.auth, &requested, record.nonce.as_deref(), family.as_ref()).await
}

async fn refresh(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let token = p.refresh_token.as_deref().ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = sha256_hex(token);
    let invalid = || OAuthError::invalid_grant("refresh token is invalid, expired or revoked");
    // Check ownership before spending, so another client cannot burn the token.
    let current = idp.store.refresh(&hash).await?.ok_or_else(invalid)?;
    if current.tenant_id != tenant.id || current.client_id != app.client_id {
        return Err(invalid().into());
    }
    let family = idp.store.family(&current.family_id).await?.ok_or_else(invalid)?;
    if family.revoked || family.expires_at < now() || current.expires_at < now() {
        return Err(invalid().into());
    }
    let current = match idp.store.spend_refresh(&hash).await? {
        Spend::Fresh(token) => token,
        Spend::Replayed(token) => {
            idp.store.revoke_family(&token.family_id).await?;
            tracing::warn!(tenant = %tenant.id, client = %app.client_id, "refresh token reused; family revoked");
            return Err(OAuthError::invalid_grant("refresh token was already used; every token of this grant is now revoked").into());
        }
        Spend::Missing => return Err(invalid().into()),
    };
    let user = live_user(idp, tenant, &current.auth.user_id).await?;
    let scope = match p.scope.as_deref() {
        Some(asked) => {
            let asked = scopes::split(asked);
            if let Some(extra) = asked.iter().find(|s| !current.scopes.contains(s)) {
                return Err(OAuthError::invalid_scope(format!("scope '{extra}' was not granted originally")).into());
            }
            asked.join(" ")
        }
        None => current.scopes.join(" "),
    };
    let requested = scopes::resolve(idp, tenant, &scope).await?;
    issue(idp, tenant, app, &user, &current.auth, &requested, None, Some(&family)).await
}

async fn client_credentials(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    if app.is_public() {
        return Err(OAuthError::unauthorized_client("public clients cannot use client_credentials").into());
    }
    let requested = scopes::resolve(idp, tenant, p.scope.as_deref().unwrap_or("")).await?;
    let resource = match (&requested.resource, requested.permissions().as_slice()) {
        (Some(resource), [only]) if only == ".default" => resource.clone(),
        _ => {
            return Err(OAuthError::invalid_scope(
                "client_credentials takes exactly one scope of the form '{resource}/.default'",
            )
            .into())
        }
    };
    let mut claims = access_claims(idp, tenant, app, resource.clone(), "app");
    claims.roles = app.api_permissions.get(&resource).cloned().unwrap_or_default();
    let access_token = idp.keys.sign(&tenant.id, alg(tenant, app), "at+jwt", &claims).await?;
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
        jti: uuid::Uuid::new_v4().to_string(),
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

fn alg(tenant: &Tenant, app: &App) -> Alg {
    app.signing_alg.unwrap_or(tenant.signing_alg)
}

fn wants_refresh(app: &App, requested: &Requested) -> bool {
    requested.has("offline_access") && app.allows(GrantType::RefreshToken)
}

/// A user who still exists and may sign in; otherwise the grant is dead.
async fn live_user(idp: &Idp, tenant: &Tenant, id: &str) -> Result<User> {
    match idp.store.user(&tenant.id, id).await? {
        Some(user) if user.enabled => Ok(user),
        _ => Err(Error::OAuth(OAuthError::invalid_grant("the user no longer exists or is disabled"))),
    }
}

/// Access token, ID token (with `openid`) and a rotated refresh token (with a family).
#[allow(clippy::too_many_arguments)]
async fn issue(
    idp: &Idp,
    tenant: &Tenant,
    app: &App,
    user: &User,
    auth: &Authentication,
    requested: &Requested,
    nonce: Option<&str>,
    family: Option<&RefreshFamily>,
) -> Result<TokenResponse> {
    let t = &idp.config.tokens;
    let alg = alg(tenant, app);
    let user_claims = UserClaims::new(user, auth, requested.has("profile"), requested.has("email"));
    let aud = requested.resource.clone().unwrap_or_else(|| app.client_id.clone());
    let mut access = access_claims(idp, tenant, app, aud, "user");
    access.sub = user.id.clone();
    access.scope = Some(requested.scopes.join(" "));
    access.scp = requested.resource.as_ref().map(|_| requested.permissions().join(" "));
    if requested.resource.as_deref() == Some(ADMIN_RESOURCE) {
        // The admin API acts with the person's directory roles (SPEC).
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
    let refresh_token = match family {
        Some(family) => {
            let value = random_token();
            let record = RefreshToken {
                tenant_id: tenant.id.clone(),
                client_id: app.client_id.clone(),
                family_id: family.id.clone(),
                scopes: requested.scopes.clone(),
                auth: auth.clone(),
                issued_at,
                expires_at: (issued_at + t.refresh_token_ttl).min(family.expires_at),
                used: false,
            };
            idp.store.put_refresh(&sha256_hex(&value), &record).await?;
            Some(value)
        }
        None => None,
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
