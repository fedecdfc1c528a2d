//! A guest's home ended its session: home posts a logout token to
//! `/{tenant}/federation/backchannel-logout` (OIDC Back-Channel Logout 1.0,
//! the resource tenant as the relying party), and the sessions the guest
//! started here from that home session end too, with their apps told.
//!
//! The token is checked as §2.6 says, against the keys home publishes
//! (fetched like its ID tokens' keys: through the outbound checks, unless
//! home is a tenant of this server).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::directory::realm::HomeRoute;
use crate::error::{Error, OAuthError, Result};
use crate::idp::Idp;
use crate::model::{Session, Tenant};
use crate::signin::channel_logout::{LogoutClaims, EVENT, TYP};
use crate::signin::session;
use crate::util::sha256_hex;

/// A logout token longer than this is refused unread.
const MAX_TOKEN_CHARS: usize = 16 * 1024;
/// Signature algorithms accepted from a home: asymmetric only (a shared
/// secret would be our client secret, which we never let sign for home).
const ALGORITHMS: [Algorithm; 6] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384];

fn refused(why: impl Into<String>) -> Error {
    Error::OAuth(OAuthError::invalid_request(why))
}

/// Checks home's logout token and ends the sessions it names; returns how many.
pub async fn home_logout(idp: &Idp, tenant: &Tenant, token: &str) -> Result<usize> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(refused(format!("logout_token: longer than {MAX_TOKEN_CHARS} characters")));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|e| refused(format!("logout_token is not a JWT: {e}")))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(refused(format!("logout_token: {:?} is not an accepted signature algorithm", header.alg)));
    }
    if header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case(TYP) && !t.eq_ignore_ascii_case("JWT")) {
        return Err(refused(format!("logout_token: typ must be {TYP}")));
    }
    // Only to find whose keys to check it with; nothing is believed before the signature.
    let unverified: serde_json::Value =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|e| refused(format!("logout_token is not a JWT: {e}")))?;
    let issuer = unverified.get("iss").and_then(|v| v.as_str()).ok_or_else(|| refused("logout_token has no iss"))?;
    let home = home_of(idp, tenant, issuer).await?;
    let claims = verified(idp, &home, &header, token).await?;
    if !claims.events.get(EVENT).is_some_and(|e| e.is_object()) {
        return Err(refused(format!("logout_token: events must hold {EVENT}")));
    }
    if claims.nonce.is_some() {
        return Err(refused("logout_token must not carry a nonce"));
    }
    let key = match (&claims.sid, &claims.sub) {
        (Some(sid), _) => Session::home_sid_key(&tenant.id, &claims.iss, sid),
        (None, Some(sub)) => Session::home_subject_key(&tenant.id, &claims.iss, sub),
        (None, None) => return Err(refused("logout_token names neither sid nor sub")),
    };
    let jti = claims.jti.as_deref().ok_or_else(|| refused("logout_token has no jti"))?;
    // Each token works once: replayed later, it must not end sessions started since.
    let seen = format!("logout|{}", sha256_hex(&format!("{}\0{jti}", claims.iss)));
    if idp.store.jti_revoked(&seen).await? {
        return Ok(0);
    }
    idp.store.revoke_jti(&seen, claims.exp).await?;
    let ended = session::end_all(idp, &key).await?;
    tracing::info!(tenant = %tenant.id, issuer = %claims.iss, ended, "home ended a guest's session");
    Ok(ended)
}

/// A home as its logout token is checked: by its issuer and our client id there.
struct Home {
    issuer: String,
    client_id: String,
    /// A tenant of this server (fetched without the outbound checks).
    same_server: bool,
}

/// The home this tenant knows by `issuer`: one of this server's tenants,
/// or an identity provider configured for guests. Read only: an
/// unauthenticated caller names it.
async fn home_of(idp: &Idp, tenant: &Tenant, issuer: &str) -> Result<Home> {
    let local = issuer.strip_prefix(&format!("{}/", idp.base_url())).and_then(|rest| rest.strip_suffix("/v2.0"));
    if let Some(id) = local.filter(|id| !id.contains('/')) {
        if let Some(home) = idp.store.tenant(id).await?.filter(|home| idp.issuer(home) == issuer && home.id != tenant.id) {
            let client_id = super::federation_client_id(tenant);
            return Ok(Home { issuer: idp.issuer(&home), client_id, same_server: true });
        }
    }
    match super::external_by_issuer(idp, tenant, issuer) {
        Ok(HomeRoute::External(x)) => Ok(Home { issuer: x.issuer, client_id: x.client_id, same_server: false }),
        _ => Err(refused(format!("logout_token: '{issuer}' is not a home of this tenant's guests"))),
    }
}

/// The token's claims, if home's published key signed it for us (`aud`
/// is our client id there) and it is current. A key we have not seen
/// yet makes a fresh fetch (home rotated), at most once a minute.
async fn verified(idp: &Idp, home: &Home, header: &jsonwebtoken::Header, token: &str) -> Result<LogoutClaims> {
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&home.issuer]);
    validation.set_audience(&[&home.client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "iat"]);
    validation.leeway = 60;
    for refetch in [false, true] {
        let keys = idp.home.keys(&home.issuer, home.same_server, refetch).await?;
        let found = keys.keys.iter().find(|k| match &header.kid {
            Some(kid) => k.common.key_id.as_deref() == Some(kid),
            None => keys.keys.len() == 1,
        });
        let Some(jwk) = found else { continue };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| refused(format!("logout_token: home's key is unusable: {e}")))?;
        return jsonwebtoken::decode::<LogoutClaims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| refused(format!("logout_token is not valid: {e}")));
    }
    Err(refused("logout_token: signed with a key home does not publish"))
}
