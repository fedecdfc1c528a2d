//! Entra's on-behalf-of flow (RFC 7523's `jwt-bearer` grant with
//! `requested_token_use=on_behalf_of`): a middle-tier API, a confidential
//! client, exchanges the user's access token it was called with for a token
//! to a downstream API it holds a delegated grant for. The user stays who
//! they were (a guest stays a guest of its home tenant, with the same `amr`
//! and `acr`), and conditional access for the downstream API is evaluated
//! again: MFA it needs and the sign-in lacks is a claims challenge.

use serde_json::json;

use crate::audit::signin::code;
use crate::error::{OAuthCode, OAuthError, Result};
use crate::idp::Idp;
use crate::keys::KeyError;
use crate::model::{App, Authentication, Tenant};
use crate::protocol::claims::AccessClaims;
use crate::protocol::client_assertion::MAX_ASSERTION_BYTES;
use crate::protocol::scopes::{self, Acting};
use crate::protocol::token::{self, Grant, GrantFacts, TokenParams, TokenResponse};

/// The one `requested_token_use` there is.
pub const ON_BEHALF_OF: &str = "on_behalf_of";

/// Runs the exchange for `app` (already authenticated); the sign-in log
/// gets it under the user as a non-interactive sign-in.
pub async fn exchange(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams) -> Result<TokenResponse> {
    let mut facts = GrantFacts::default();
    let result = exchange_for(idp, tenant, app, p, &mut facts).await;
    let method = ("On-behalf-of", "First factor requirement satisfied by the access token the calling API received");
    token::log_delegated(idp, tenant, app, &result, facts, method).await;
    result
}

async fn exchange_for(idp: &Idp, tenant: &Tenant, app: &App, p: TokenParams, facts: &mut GrantFacts) -> Result<TokenResponse> {
    match p.requested_token_use.as_deref() {
        Some(ON_BEHALF_OF) => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!("requested_token_use '{other}' is not supported; use {ON_BEHALF_OF}")).into())
        }
        None => {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_use={ON_BEHALF_OF} is required: the jwt-bearer grant is taken for on-behalf-of only"
            ))
            .into())
        }
    }
    let assertion = p.assertion.as_deref().ok_or_else(|| OAuthError::invalid_request("assertion (the user's access token) is required"))?;
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(OAuthError::invalid_request(format!("assertion is longer than {MAX_ASSERTION_BYTES} bytes")).into());
    }
    let incoming = incoming_token(idp, tenant, app, assertion).await?;
    let Some(person) = incoming.user.filter(|_| incoming.idtyp == "user") else {
        return Err(OAuthError::invalid_grant("the assertion is an app's own token: on-behalf-of needs a token issued for a user").into());
    };
    let auth = Authentication {
        user_id: incoming.sub,
        auth_time: person.auth_time,
        amr: person.amr,
        acr: person.acr,
        session_id: person.sid.unwrap_or_default(),
        // The token carries seconds: a sign-out in the sign-in's own second
        // ends this grant too (the safe side).
        auth_time_ms: person.auth_time.saturating_mul(1000),
        mfa_source: person.mfa_source,
    };
    let user = &*facts.user.insert(token::live_user(idp, tenant, &auth).await?);
    facts.mfa = auth.acr == "2";

    let mut requested = scopes::resolve(idp, tenant, app, p.scope.as_deref().unwrap_or(""), Acting::ForUser).await?;
    let Some(resource) = requested.resource.clone() else {
        return Err(OAuthError::invalid_scope("on-behalf-of asks for a downstream API: a scope such as api://…/.default").into());
    };
    if resource == app.audience() {
        // A fresh token for itself from its own would outlive every token it was given.
        return Err(OAuthError::invalid_scope("on-behalf-of is for another API than the caller itself").into());
    }
    if app.require_consent {
        let consent = idp.store.consent(&tenant.id, &user.id, &app.client_id).await?;
        let consented = |s: &&String| scopes::OPENID_SCOPES.contains(&s.as_str()) || consent.as_ref().is_some_and(|c| c.scopes.contains(s));
        if let Some(missing) = requested.scopes.iter().find(|s| !consented(s)) {
            return Err(
                OAuthError::invalid_grant(format!("consent_required: the user has not consented to '{missing}' for this API")).into()
            );
        }
    }
    // The caller's policies and the downstream API's: a sign-in to the caller
    // is what the log records, and the API is where the token goes.
    // (The admin API is no app: its policies are those naming it.)
    let target = requested.resource_client_id.clone().unwrap_or_else(|| resource.clone());
    let caller = crate::policy::evaluate(idp, tenant, user, &app.client_id).await?;
    let decision = caller.and(crate::policy::evaluate(idp, tenant, user, &target).await?);
    if let Some(policy) = decision.blocked_by {
        facts.code = code::BLOCKED_BY_POLICY;
        return Err(OAuthError::invalid_grant(format!("blocked by the conditional access policy '{policy}'")).into());
    }
    if decision.require_mfa && auth.acr != "2" {
        facts.code = code::MFA_NOW_REQUIRED;
        let ids: Vec<&str> = decision.applying.iter().map(|(id, _, _)| id.as_str()).collect();
        return Err(mfa_challenge(&resource, &ids).into());
    }

    // The calling API signed no one in: no ID token for it, now or at a refresh.
    requested.scopes.retain(|s| s != "openid");
    let refresh_token = match token::wants_refresh(app, &requested) {
        true => Some(token::new_refresh_grant(idp, tenant, app, &requested.scopes, &auth, Some(&target)).await?),
        false => None,
    };
    let grant = Grant { user, auth: &auth, refresh_token, jti: None };
    token::issue(idp, tenant, app, grant, &requested, None).await
}

/// The user's access token, as this tenant issued it to `app`: each
/// refusal names what is wrong with it.
async fn incoming_token(idp: &Idp, tenant: &Tenant, app: &App, assertion: &str) -> Result<AccessClaims> {
    let refuse = |why: &str| OAuthError::invalid_grant(format!("the assertion {why}"));
    let issuer = idp.issuer(tenant);
    #[derive(serde::Deserialize)]
    struct Issuer {
        iss: String,
    }
    // Read unverified to tell "another issuer" from "a bad signature".
    let Ok(claimed) = jsonwebtoken::dangerous::insecure_decode::<Issuer>(assertion) else {
        return Err(refuse("is not a JWT access token").into());
    };
    if claimed.claims.iss != issuer {
        return Err(refuse("was not issued by this tenant").into());
    }
    let claims: AccessClaims = match idp.keys.verify(&tenant.id, assertion, "at+jwt", &issuer, true).await {
        Ok(claims) => claims,
        Err(KeyError::WrongType) => {
            return Err(refuse("is not an access token (typ at+jwt): send the token the API was called with").into())
        }
        Err(KeyError::Token(e)) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            return Err(refuse("has expired").into())
        }
        Err(KeyError::Store(e)) => return Err(e.into()),
        Err(_) => return Err(refuse("does not verify with this tenant's signing keys").into()),
    };
    if claims.tid != tenant.id {
        return Err(refuse("was not issued by this tenant").into());
    }
    if idp.store.jti_revoked(&claims.jti).await? {
        return Err(refuse("was revoked").into());
    }
    if claims.aud != app.audience() && claims.aud != app.client_id {
        return Err(refuse(&format!("is for another audience: it must be a token for this API ({})", app.audience())).into());
    }
    Ok(claims)
}

/// Entra's answer when the downstream API's conditional access needs MFA
/// the sign-in did not do: `interaction_required` with a claims challenge
/// the client passes to the authorization endpoint (`claims`) for a new
/// sign-in, which then asks for the second factor.
fn mfa_challenge(resource: &str, policy_ids: &[&str]) -> OAuthError {
    let claims = json!({"access_token": {
        "acr": {"essential": true, "value": "2"},
        "capolids": {"essential": true, "values": policy_ids},
    }});
    OAuthError {
        claims: Some(claims.to_string()),
        ..OAuthError::new(
            OAuthCode::InteractionRequired,
            format!("multi-factor authentication is required for '{resource}': sign the user in again with the claims challenge"),
        )
    }
}
