//! The authorization endpoint's query string (GET) or form body (POST):
//! parsed as actix does (serde_urlencoded), then validated against the
//! fixture tenant by `authorize::validate`, the endpoint's own check.
//!
//! Oracles (RFC 6749 §4.1.2.1, the module's rule): an error goes back to the
//! client only at a registered redirect URI; an accepted request from a
//! public client always carries a PKCE challenge, and some scope.
#![no_main]

use b2b_idp::protocol::authorize::{self, AuthorizeParams, Rejection};
use b2b_idp::protocol::scopes;
use b2b_idp_fuzz::{block_on, fixture, REDIRECT_URIS, SOURCE};
use libfuzzer_sys::fuzz_target;

// The fixture is built before the first input, so that its setup (key
// generation, the store) is not timed as if an input had hung.
fuzz_target!(init: { fixture(); }, |data: &[u8]| {
    let Ok(p) = serde_urlencoded::from_bytes::<AuthorizeParams>(data) else { return };
    // The pure helpers the flow applies to these values.
    let _ = scopes::split(p.scope.as_deref().unwrap_or(""));
    if let (Some(challenge), Some(verifier)) = (&p.code_challenge, &p.state) {
        let _ = authorize::pkce_matches(challenge, verifier);
    }
    let fx = fixture();
    match block_on(authorize::validate(&fx.idp, &fx.tenant, p, SOURCE)) {
        Ok((req, app)) => {
            assert!(app.redirect_uris.contains(&req.redirect_uri), "accepted an unregistered redirect_uri: {req:?}");
            assert!(!app.is_public() || req.code_challenge.is_some(), "public client without PKCE: {req:?}");
            assert!(!req.scopes.is_empty(), "accepted without scope: {req:?}");
        }
        Err(Rejection::Client(response)) => {
            assert!(REDIRECT_URIS.contains(&response.redirect_uri.as_str()), "error sent to an unregistered redirect_uri: {response:?}");
            let _ = response.location();
        }
        Err(Rejection::Page(_) | Rejection::Failed(_)) => {}
    }
});
