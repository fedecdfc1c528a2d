//! The token endpoint's form body (RFC 6749 §3.2), parsed as actix does
//! (serde_urlencoded), with client authentication (`client_auth`) and the
//! grant itself (`token::grant`) against the fixture tenant.
//!
//! The form's own fields are `client_id`/`client_secret`; `basic_id` and
//! `basic_secret` stand for an already decoded `Authorization: Basic` header,
//! and `authorization` is a raw header value for the decoder
//! (`client_auth::basic_credentials`).
//!
//! Oracles: a confidential client authenticates only with its secret; a
//! token the endpoint just issued introspects as active.
#![no_main]

use b2b_idp::model::RefreshFamily;
use b2b_idp::protocol::authorize::pkce_matches;
use b2b_idp::protocol::client_auth::{self, ClientCredentials};
use b2b_idp::protocol::introspect;
use b2b_idp::protocol::token::{self, TokenParams};
use b2b_idp_fuzz::{block_on, fixture, fixture_secret};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Basic {
    basic_id: Option<String>,
    basic_secret: Option<String>,
    authorization: Option<String>,
}

// The fixture is built before the first input, so that its setup (key
// generation, the store) is not timed as if an input had hung.
fuzz_target!(init: { fixture(); }, |data: &[u8]| {
    let Ok(mut p) = serde_urlencoded::from_bytes::<TokenParams>(data) else { return };
    let basic = match serde_urlencoded::from_bytes::<Basic>(data) {
        Ok(Basic { authorization: Some(value), .. }) => client_auth::basic_credentials(Some(&value)).ok().flatten(),
        Ok(Basic { basic_id: Some(id), basic_secret, .. }) => Some((id, basic_secret.unwrap_or_default())),
        _ => None,
    };
    if let Some(token) = &p.refresh_token {
        let _ = RefreshFamily::id_of(token);
    }
    if let (Some(code), Some(verifier)) = (&p.code, &p.code_verifier) {
        let _ = pkce_matches(code, verifier);
    }
    let assertion = p.take_assertion();
    let Ok(creds) = ClientCredentials::from_request(basic, p.client_id.take(), p.client_secret.take(), assertion) else { return };
    let fx = fixture();
    block_on(async {
        let Ok(app) = client_auth::authenticate(&fx.idp, &fx.tenant, &creds).await else { return };
        // The fixture's apps register no keys: an assertion never authenticates them.
        assert!(creds.assertion.is_none(), "{} authenticated with an assertion and no key", app.client_id);
        if let Some(secret) = fixture_secret(&app.client_id) {
            assert_eq!(creds.secret.as_deref(), Some(secret), "{} authenticated without its secret", app.client_id);
        }
        let Ok(response) = token::grant(&fx.idp, &fx.tenant, &app, p).await else { return };
        let answer = introspect::introspect(&fx.idp, &fx.tenant, &response.access_token).await;
        let active = answer.as_ref().ok().and_then(|v| v.get("active")).and_then(|v| v.as_bool());
        assert_eq!(active, Some(true), "a token just issued does not introspect as active: {answer:?}");
    });
});
