//! Token introspection (RFC 7662), revocation (RFC 7009) and userinfo
//! (OIDC Core §5.3): everything that reads back a token this tenant issued.

use serde_json::{json, Map, Value};

use crate::directory::access::{Bearer, VerifiedToken};
use crate::error::OAuthError;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::RefreshFamily;
use crate::model::{App, Tenant};
use crate::protocol::claims::AccessClaims;
use crate::protocol::scopes;
use crate::util::{now, sha256_hex};

fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// An access token signed by this tenant, unexpired and not revoked.
pub async fn live_access_token(idp: &Idp, tenant: &Tenant, token: &str) -> Option<AccessClaims> {
    if !looks_like_jwt(token) {
        return None;
    }
    let claims: AccessClaims = idp.keys.verify(&tenant.id, token, "at+jwt", &idp.issuer(tenant), true).await.ok()?;
    if claims.tid != tenant.id || idp.store.jti_revoked(&claims.jti).await.ok()? {
        return None;
    }
    Some(claims)
}

/// The admin API's view of a bearer token: verified here, judged by
/// `directory::access::caller`.
pub async fn bearer(idp: &Idp, tenant: &Tenant, token: Option<&str>) -> Bearer {
    let Some(token) = token else { return Bearer::Missing };
    match live_access_token(idp, tenant, token).await {
        None => Bearer::Invalid,
        Some(claims) => Bearer::Valid(VerifiedToken {
            scopes: claims.scp.as_deref().map(scopes::split).unwrap_or_default(),
            client_id: claims.client_id,
            session: claims.user.and_then(|u| u.sid),
            audience: claims.aud,
            subject: claims.sub,
            is_app: claims.idtyp == "app",
            roles: claims.roles,
        }),
    }
}

/// RFC 7662 answer; tokens of other tenants are simply inactive.
pub async fn introspect(idp: &Idp, tenant: &Tenant, token: &str) -> Result<Value> {
    if let Some(claims) = live_access_token(idp, tenant, token).await {
        let mut out = match serde_json::to_value(&claims) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        out.insert("active".into(), Value::Bool(true));
        out.insert("token_type".into(), json!("Bearer"));
        return Ok(Value::Object(out));
    }
    if let Some(family) = live_refresh_grant(idp, tenant, token).await? {
        return Ok(json!({
            "active": true,
            "iss": idp.issuer(tenant),
            "client_id": family.client_id,
            "sub": family.auth.user_id,
            "scope": family.scopes.join(" "),
            "iat": family.issued_at,
            "exp": family.expires_at,
            "tid": tenant.id,
        }));
    }
    Ok(json!({"active": false}))
}

/// Revokes a token issued to `caller`: a refresh token takes its whole
/// family with it; an access token is remembered as revoked until it expires.
/// Unknown tokens and other clients' tokens are ignored (RFC 7009 §2.2).
pub async fn revoke(idp: &Idp, tenant: &Tenant, caller: &App, token: &str) -> Result<()> {
    if let Some(claims) = live_access_token(idp, tenant, token).await {
        if claims.client_id == caller.client_id {
            idp.store.revoke_jti(&claims.jti, claims.exp).await?;
        }
        return Ok(());
    }
    // Any token of the grant, the live one or an older one, ends it: an
    // older one would end it at the token endpoint too (reuse).
    if let Some(id) = RefreshFamily::id_of(token) {
        if let Some(family) = idp.store.family(id).await? {
            if family.tenant_id == tenant.id && family.client_id == caller.client_id {
                idp.store.revoke_family(&family.id).await?;
            }
        }
    }
    Ok(())
}

/// The grant whose live refresh token `token` is, if this tenant issued it.
async fn live_refresh_grant(idp: &Idp, tenant: &Tenant, token: &str) -> Result<Option<RefreshFamily>> {
    let Some(id) = RefreshFamily::id_of(token) else { return Ok(None) };
    Ok(idp.store.family(id).await?.filter(|f| f.tenant_id == tenant.id && f.is_current(&sha256_hex(token)) && f.is_live(now())))
}

/// Claims about the signed-in user, for a bearer access token with `openid`.
pub async fn userinfo(idp: &Idp, tenant: &Tenant, bearer: &str) -> Result<Value> {
    let invalid = || OAuthError::invalid_token("the access token is invalid, expired or revoked");
    let claims = live_access_token(idp, tenant, bearer).await.ok_or_else(invalid)?;
    if !claims.scopes().contains(&"openid") {
        return Err(OAuthError::new(crate::error::OAuthCode::InsufficientScope, "the access token lacks the openid scope").into());
    }
    let user = match idp.store.user(&tenant.id, &claims.sub).await? {
        Some(user) if user.enabled => user,
        _ => return Err(invalid().into()),
    };
    let scopes = claims.scopes();
    let mut out = json!({
        "sub": user.id,
        "oid": user.id,
        "tid": tenant.id,
        "user_type": user.user_type.as_str(),
        "home_tid": claims.user.as_ref().map(|u| u.home_tid.clone()).unwrap_or_else(|| tenant.id.clone()),
    });
    if scopes.contains(&"profile") {
        out["name"] = json!(user.display_name);
        out["preferred_username"] = json!(user.email);
    }
    if scopes.contains(&"email") {
        out["email"] = json!(user.email);
    }
    Ok(out)
}
