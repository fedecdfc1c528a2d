//! Pushed authorization requests (RFC 9126): the client posts its request
//! to `/oauth2/v2.0/par` and sends the browser with a `request_uri` only.
//! Driven by panva's openid-client over HTTPS (tests/node/par.mjs), which
//! also checks the code grant that follows; refusals by plain requests.
//! A `request_uri` works once, for its client, within its minute; an app
//! may require pushed requests.

use serde_json::{json, Value};

use crate::harness::*;

/// `node tests/node/par.mjs ARGS…`, its JSON output.
async fn openid_client(ca_file: &std::path::Path, args: &[&str]) -> Value {
    let mut node = tokio::process::Command::new("node");
    node.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/par.mjs")).args(args).env("NODE_EXTRA_CA_CERTS", ca_file);
    script_json(node).await
}

/// A pushed request from `form`, as the demo app (HTTP Basic): status and JSON.
async fn push(server: &TestServer, form: &[(&str, &str)], secret: &str) -> (u16, Value) {
    let response =
        api().post(server.url("/contoso/oauth2/v2.0/par")).basic_auth(DEMO_APP, Some(secret)).form(form).send().await.expect("PAR request");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn a_pushed_request_signs_in_once(backend: Backend) {
    let (server, _, ca_file, _certs) = start_https(backend).await;
    let issuer = server.issuer(CONTOSO_ID);
    let metadata = get_json(&server.url(&format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"))).await;
    assert_eq!(metadata["pushed_authorization_request_endpoint"], server.url(&format!("/{CONTOSO_ID}/oauth2/v2.0/par")));

    // openid-client pushes, the browser brings only client_id and request_uri, the library redeems.
    let pushed = openid_client(&ca_file, &["push", &issuer, DEMO_APP, DEMO_APP_SECRET, REDIRECT_URI, "openid profile"]).await;
    let url = url::Url::parse(pushed["url"].as_str().expect("url")).expect("URL");
    let mut names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    names.sort();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
    let landing = Browser::new().run(url.as_str(), Some(ALICE), REDIRECT_URI).await;
    let Landing::Client(callback) = landing else { panic!("a code: {landing:?}") };
    let args = |s: &str| pushed[s].as_str().expect(s).to_string();
    let (verifier, state, nonce) = (args("verifier"), args("state"), args("nonce"));
    let redeemed =
        openid_client(&ca_file, &["callback", &issuer, DEMO_APP, DEMO_APP_SECRET, callback.as_str(), &verifier, &state, &nonce]).await;
    assert_eq!(redeemed["claims"]["preferred_username"], ALICE.0, "{redeemed}");
    assert_eq!(redeemed["claims"]["tid"], CONTOSO_ID);

    // Once only: the same request_uri again is our own page, not the client's.
    let again = Browser::new().run(url.as_str(), Some(ALICE), REDIRECT_URI).await;
    let Landing::Page { status, body } = again else { panic!("a used request_uri signed in again: {again:?}") };
    assert!(status == 400 && body.contains("already used"), "{status} {body}");

    // For its own client only: another client's browser request spends it.
    let form = [("response_type", "code"), ("redirect_uri", REDIRECT_URI), ("scope", "openid"), ("state", "s1")];
    let (status, pushed) = push(&server, &form, DEMO_APP_SECRET).await;
    assert_eq!(status, 201, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{pushed}");
    for client in [DEMO_SPA, DEMO_APP] {
        let landing = Browser::new().run(&authorize(&server, client, request_uri), Some(ALICE), REDIRECT_URI).await;
        assert!(matches!(landing, Landing::Page { status: 400, .. }), "{client}: {landing:?}");
    }

    // Expired: a minute is all it waits.
    let (_, pushed) = push(&server, &form, DEMO_APP_SECRET).await;
    let secret = pushed["request_uri"].as_str().expect("request_uri").rsplit(':').next().expect("secret").to_string();
    let store = &server.idp().store;
    let mut record = store.take_pushed_request(&b2b_idp::util::sha256_hex(&secret)).await.expect("take").expect("pushed");
    record.expires_at = b2b_idp::util::now() - 1;
    store.put_pushed_request(&record).await.expect("put back, expired");
    let expired = authorize(&server, DEMO_APP, pushed["request_uri"].as_str().expect("uri"));
    let Landing::Page { status, body } = Browser::new().run(&expired, Some(ALICE), REDIRECT_URI).await else { panic!("expired") };
    assert!(status == 400 && body.contains("expired"), "{status} {body}");

    // Refusals at the endpoint, each with its OAuth error and reason.
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all: Vec<(&str, &str)> = form.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).copied().collect();
        all.extend_from_slice(extra);
        all
    };
    for (form, secret, status, error, named) in [
        (with(&[]), "wrong", 401, "invalid_client", ""),
        (with(&[("redirect_uri", "https://evil.example/cb")]), DEMO_APP_SECRET, 400, "invalid_request", "redirect URI"),
        (with(&[("request_uri", "urn:ietf:params:oauth:request_uri:x")]), DEMO_APP_SECRET, 400, "invalid_request", "request_uri"),
        (with(&[("client_id", DEMO_SPA)]), DEMO_APP_SECRET, 400, "invalid_request", "client_id"),
        (with(&[("scope", "api://nowhere/.default")]), DEMO_APP_SECRET, 400, "invalid_scope", "api://nowhere"),
        (with(&[("response_type", "token")]), DEMO_APP_SECRET, 400, "unsupported_response_type", "token"),
        (with(&[("request", "eyJ.x.y")]), DEMO_APP_SECRET, 400, "request_not_supported", "request objects"),
    ] {
        let (got, body) = push(&server, &form, secret).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{form:?}: {body}");
        assert!(body["error_description"].as_str().unwrap_or_default().contains(named), "{named}: {body}");
        assert!(body.get("request_uri").is_none());
    }

    // An app that requires pushed requests: a plain one goes back with an error, a pushed one signs in.
    let admin = app_token(&server, CONTOSO).await;
    let app = server.url(&format!("/contoso/v1.0/applications/{DEMO_APP}"));
    let (status, _, body) =
        call(reqwest::Method::PATCH, app.clone(), &admin, Some(json!({"requirePushedAuthorizationRequests": true}))).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(call(reqwest::Method::GET, app, &admin, None).await.2["requirePushedAuthorizationRequests"], true);
    let plain = server.url(&format!(
        "/contoso/oauth2/v2.0/authorize?client_id={DEMO_APP}&response_type=code&redirect_uri={REDIRECT_URI}&scope=openid&state=s2"
    ));
    let refused = Browser::new().run(&plain, Some(ALICE), REDIRECT_URI).await;
    assert_eq!(refused.param("error").as_deref(), Some("invalid_request"), "{refused:?}");
    assert!(refused.param("error_description").is_some_and(|d| d.contains("pushed")), "{refused:?}");
    let (_, pushed) = push(&server, &form, DEMO_APP_SECRET).await;
    let url = authorize(&server, DEMO_APP, pushed["request_uri"].as_str().expect("uri"));
    let landing = Browser::new().run(&url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some() && landing.param("state").as_deref() == Some("s1"), "{landing:?}");
    server.stop().await;
}

/// The browser's authorization request: `client` and `request_uri` only.
fn authorize(server: &TestServer, client: &str, request_uri: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect();
    server.url(&format!("/contoso/oauth2/v2.0/authorize?client_id={client}&request_uri={encoded}"))
}

/// Pushed requests wait within the bounds of waiting sign-ins (per client
/// address here), and the page follows the pushed `ui_locales`, not the
/// browser's query.
async fn pushes_are_bounded_and_only_pushed_parameters_count(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.server.pending_sign_ins_per_source = 3).await;
    let form = [("response_type", "code"), ("redirect_uri", REDIRECT_URI), ("scope", "openid"), ("ui_locales", "de")];
    let (status, pushed) = push(&server, &form, DEMO_APP_SECRET).await;
    assert_eq!(status, 201, "{pushed}");
    let url = format!(
        "{}&ui_locales=fr&login_hint=bob%40fabrikam.example",
        authorize(&server, DEMO_APP, pushed["request_uri"].as_str().expect("uri"))
    );
    let page = Browser::new().http.get(&url).send().await.expect("authorize").text().await.expect("page");
    assert!(page.contains(r#"<html lang="de""#), "the pushed language: {page}");
    assert!(!page.contains("bob@fabrikam.example"), "the browser's login_hint does not count");
    for _ in 0..2 {
        assert_eq!(push(&server, &form, DEMO_APP_SECRET).await.0, 201);
    }
    let (status, body) = push(&server, &form, DEMO_APP_SECRET).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_attempts")), "{body}");
    server.stop().await;
}

on_both_backends!(a_pushed_request_signs_in_once, pushes_are_bounded_and_only_pushed_parameters_count);
