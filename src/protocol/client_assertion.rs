//! `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): a confidential client
//! proves itself with a JWT it signed with a key registered in its
//! `keyCredentials`, instead of sending a shared secret.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::audit::signin::code;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::{App, KeyCredential, Tenant};
use crate::util::{now, now_ms, sha256_hex};

/// The only `client_assertion_type` there is for JWTs.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The algorithms an assertion may be signed with (discovery lists them).
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];
/// The longest assertion taken: room for an `x5c` chain, not for a flood.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;
/// How far ahead `exp` may be: an assertion lives ten minutes at most.
const MAX_LIFETIME_SECS: i64 = 600;
/// Clock skew tolerated between the client and this server.
const LEEWAY_SECS: u64 = 60;

#[derive(Deserialize)]
struct Claims {
    /// A NumericDate may have a fraction (RFC 7519 §2): MSAL for Python sends one.
    exp: f64,
    jti: Option<String>,
    aud: serde_json::Value,
}

/// Why an assertion was refused: told to the client (it names nothing
/// secret) and written to the sign-in log under Entra's code.
#[derive(Debug)]
pub struct Refused {
    pub code: i64,
    pub reason: String,
}

fn refused(code: i64, reason: impl Into<String>) -> Refused {
    Refused { code, reason: reason.into() }
}

/// The client an assertion claims to be (`sub`), unverified: only to find
/// the app when the request names no `client_id`; `verify` checks it.
pub fn claimed_client(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Subject {
        sub: String,
    }
    jsonwebtoken::dangerous::insecure_decode::<Subject>(assertion).ok().map(|t| t.claims.sub)
}

/// Whether the assertion header's key hints name `key`. MSAL pads its
/// base64url thumbprints with `=`, so both sides are compared unpadded.
fn names(header: &jsonwebtoken::Header, key: &KeyCredential) -> bool {
    let unpadded = |v: &Option<String>| v.as_deref().map(|v| v.trim_end_matches('=').to_string());
    let (x5t, x5t_s256) = (unpadded(&header.x5t), unpadded(&header.x5t_s256));
    if header.kid.is_none() && x5t.is_none() && x5t_s256.is_none() {
        return true;
    }
    let kid_matches = header
        .kid
        .as_deref()
        .is_some_and(|kid| kid == key.key_id || Some(kid) == key.jwk.common.key_id.as_deref() || Some(kid) == key.x5t.as_deref());
    kid_matches || (x5t.is_some() && x5t == key.x5t) || (x5t_s256.is_some() && x5t_s256 == key.x5t_s256)
}

/// The URLs an assertion's `aud` may name: the token endpoint or the PAR
/// endpoint (RFC 9126 §2; by tenant id or name, as the request reached
/// it), or the issuer.
fn audiences(idp: &Idp, tenant: &Tenant) -> Vec<String> {
    let endpoint = |t: &str, name: &str| format!("{}/{t}/oauth2/v2.0/{name}", idp.base_url());
    let mut all: Vec<String> = ["token", "par"].iter().flat_map(|n| [endpoint(&tenant.id, n), endpoint(&tenant.name, n)]).collect();
    all.push(idp.issuer(tenant));
    all
}

/// Checks `assertion` for `app`: a key of the app that the header names
/// and that is valid now signs it; `iss` = `sub` = the client id; `aud`
/// names this tenant's token endpoint or issuer; `exp` no more than ten
/// minutes ahead; and, for apps that ask, a `jti` not seen before (the
/// store's counter, so every instance agrees).
pub async fn verify(idp: &Idp, tenant: &Tenant, app: &App, assertion: &str) -> Result<std::result::Result<(), Refused>> {
    let invalid = |reason: String| Ok(Err(refused(code::CLIENT_ASSERTION_INVALID, reason)));
    if app.key_credentials.is_empty() {
        return invalid(format!("client {} has no keyCredentials registered for private_key_jwt", app.client_id));
    }
    // The parser's own words would repeat what the caller sent: fixed ones instead.
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return invalid("client_assertion is not a signed JWT with a header this server reads".into());
    };
    if !ALGORITHMS.contains(&header.alg) {
        return invalid("client_assertion must be signed with RS256, PS256 or ES256".into());
    }
    let named: Vec<&KeyCredential> = app.key_credentials.iter().filter(|k| names(&header, k)).collect();
    if named.is_empty() {
        return invalid("no key registered for this client matches the client_assertion's kid, x5t or x5t#S256 header".into());
    }
    let now_ms = now_ms();
    let live: Vec<&KeyCredential> = named.into_iter().filter(|k| k.start_ms <= now_ms && now_ms < k.end_ms).collect();
    if live.is_empty() {
        return Ok(Err(refused(code::CLIENT_ASSERTION_TIME, "the key that signed client_assertion has expired or is not valid yet")));
    }
    let audiences = audiences(idp, tenant);
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.set_issuer(&[&app.client_id]);
    validation.sub = Some(app.client_id.clone());
    validation.set_audience(&audiences);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    for key in live {
        let Ok(decoding) = DecodingKey::from_jwk(&key.jwk) else { continue };
        let claims = match jsonwebtoken::decode::<Claims>(assertion, &decoding, &validation) {
            Ok(data) => data.claims,
            // Another key of the app may have signed it; a key of the other family cannot verify it at all.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm) => continue,
            Err(e) => return Ok(Err(explain(e.kind(), &app.client_id, &audiences))),
        };
        // One audience (RFC 7523bis): an assertion that also names another
        // party could be replayed by it here.
        if claims.aud.as_array().is_some_and(|all| all.len() != 1) {
            return invalid("client_assertion's aud must name this server alone".into());
        }
        let exp = claims.exp.ceil() as i64;
        if exp - now() > MAX_LIFETIME_SECS + LEEWAY_SECS as i64 {
            return Ok(Err(refused(code::CLIENT_ASSERTION_TIME, "client_assertion's exp is more than 10 minutes ahead")));
        }
        if app.single_use_client_assertions {
            let Some(jti) = claims.jti.filter(|j| !j.is_empty()) else {
                return invalid("client_assertion has no jti, and this client's assertions are single-use".into());
            };
            let key = format!("client-assertion|{}|{}|{}", tenant.id, app.client_id, sha256_hex(&jti));
            // Past the last second the assertion is accepted in, whatever its rounding.
            let window = (exp - now()).max(0) + LEEWAY_SECS as i64 + 1;
            if idp.store.bump_counter(&key, window).await? > 1 {
                return invalid("this client_assertion (its jti) was already used, and this client's assertions are single-use".into());
            }
        }
        return Ok(Ok(()));
    }
    invalid("client_assertion's signature does not verify with any key registered for this client".into())
}

/// What a failed check means, in words that name the claim.
fn explain(kind: &ErrorKind, client_id: &str, audiences: &[String]) -> Refused {
    match kind {
        ErrorKind::ExpiredSignature => refused(code::CLIENT_ASSERTION_TIME, "client_assertion has expired (exp)"),
        ErrorKind::ImmatureSignature => refused(code::CLIENT_ASSERTION_TIME, "client_assertion is not valid yet (nbf)"),
        ErrorKind::InvalidIssuer => {
            refused(code::CLIENT_ASSERTION_CLIENT, format!("client_assertion's iss must be the client id {client_id}"))
        }
        ErrorKind::InvalidSubject => {
            refused(code::CLIENT_ASSERTION_CLIENT, format!("client_assertion's sub must be the client id {client_id}"))
        }
        ErrorKind::InvalidAudience => refused(
            code::CLIENT_ASSERTION_INVALID,
            format!("client_assertion's aud must be this tenant's token endpoint or issuer: {}", audiences.join(", ")),
        ),
        ErrorKind::MissingRequiredClaim(claim) => refused(code::CLIENT_ASSERTION_INVALID, format!("client_assertion has no {claim} claim")),
        _ => refused(code::CLIENT_ASSERTION_INVALID, "client_assertion is not valid (its claims could not be read)"),
    }
}
