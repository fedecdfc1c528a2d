//! Untrusted JWTs: bearer access tokens (introspection, userinfo) and the
//! `id_token_hint` of RP-initiated logout, verified by the tenant's `KeyRing`.
//!
//! Two modes per input. Raw: the bytes are the token. Nothing the fuzzer
//! writes carries a signature of this process's fresh keys, so every
//! verification must fail and introspection must answer inactive (alg
//! `none`, a wrong `kid`/`typ`, HS256 with a public key as secret...).
//! Signed: when the bytes are a JSON object, they are claims; the tenant's
//! keys sign them (ES256 and RS256) and the same endpoints read them back,
//! so claim parsing and validation are fuzzed behind a valid signature:
//! an access token introspects as active only with this tenant's `iss` and
//! `tid`, unexpired (`exp`) and already valid (`nbf`).
#![no_main]

use b2b_idp::model::Alg;
use b2b_idp::model::RefreshFamily;
use b2b_idp::protocol::claims::{AccessClaims, IdClaims};
use b2b_idp::protocol::introspect;
use b2b_idp::protocol::logout::{self, Logout, LogoutParams};
use b2b_idp_fuzz::{block_on, fixture, ISSUER, TENANT_ID};
use libfuzzer_sys::fuzz_target;

fn hint(token: &str) -> LogoutParams {
    LogoutParams {
        id_token_hint: Some(token.to_string()),
        client_id: None,
        post_logout_redirect_uri: Some("https://rp.example/bye".into()),
        state: Some("s".into()),
    }
}

// The fixture is built before the first input, so that its setup (key
// generation, the store) is not timed as if an input had hung.
fuzz_target!(init: { fixture(); }, |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = jsonwebtoken::decode_header(text);
    let _ = RefreshFamily::id_of(text);
    let fx = fixture();
    let (idp, tenant) = (&fx.idp, &fx.tenant);
    block_on(async {
        // Raw mode.
        let access = idp.keys.verify::<AccessClaims>(TENANT_ID, text, "at+jwt", ISSUER, true).await;
        assert!(access.is_err(), "accepted an access token this process never signed: {access:?}");
        let id = idp.keys.verify::<IdClaims>(TENANT_ID, text, "JWT", ISSUER, false).await;
        assert!(id.is_err(), "accepted an ID token this process never signed: {id:?}");
        let answer = introspect::introspect(idp, tenant, text).await;
        if let Ok(answer) = &answer {
            assert_eq!(answer.get("active"), Some(&serde_json::Value::Bool(false)), "{answer}");
        }
        assert!(introspect::userinfo(idp, tenant, text).await.is_err());
        assert!(logout::logout(idp, tenant, &hint(text), None, false).await.is_err());

        // Signed mode.
        let Ok(serde_json::Value::Object(claims)) = serde_json::from_str::<serde_json::Value>(text) else { return };
        for alg in [Alg::ES256, Alg::RS256] {
            if let Ok(token) = idp.keys.sign(TENANT_ID, alg, "at+jwt", &claims).await {
                if let Ok(answer) = introspect::introspect(idp, tenant, &token).await {
                    if answer.get("active") == Some(&serde_json::Value::Bool(true)) {
                        assert_eq!(answer.get("iss").and_then(|v| v.as_str()), Some(ISSUER), "{answer}");
                        assert_eq!(answer.get("tid").and_then(|v| v.as_str()), Some(TENANT_ID), "{answer}");
                        // Leeway is 30 s; 60 s leaves room for a slow run.
                        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
                        let exp = answer.get("exp").and_then(|v| v.as_i64());
                        let nbf = answer.get("nbf").and_then(|v| v.as_i64());
                        assert!(exp.is_some_and(|exp| exp >= now - 60), "an expired access token is active: {answer}");
                        assert!(nbf.is_some_and(|nbf| nbf <= now + 60), "a not-yet-valid access token is active: {answer}");
                    }
                }
                let _ = introspect::userinfo(idp, tenant, &token).await;
            }
            if let Ok(token) = idp.keys.sign(TENANT_ID, alg, "JWT", &claims).await {
                if let Ok(Logout::Done { redirect: Some(to), .. }) = logout::logout(idp, tenant, &hint(&token), None, false).await {
                    assert!(to.starts_with("https://rp.example/bye"), "logout redirected to {to}");
                }
            }
        }
    });
});
