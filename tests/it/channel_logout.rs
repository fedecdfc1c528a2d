//! Back- and front-channel logout: a tiny receiving app records the logout
//! tokens this server posts and the front-channel pages a browser would
//! load; each token is verified against the tenant's published keys, as
//! an app would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use jsonwebtoken::{DecodingKey, Validation};
use openidconnect::TokenResponse;
use serde_json::{json, Value};

use b2b_idp::model::{HomeSession, Session};

use crate::b2b::invite;
use crate::harness::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What the receiving app got: `(path, logout token or query)`.
#[derive(Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<(String, String)>>>);

impl Received {
    pub(crate) fn at(&self, path: &str) -> Vec<String> {
        self.0.lock().expect("lock").iter().filter(|(p, _)| p == path).map(|(_, v)| v.clone()).collect()
    }

    /// Waits (up to 20 s) until `path` got `n` requests.
    pub(crate) async fn wait_for(&self, path: &str, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} got {} requests, not {n}", self.at(path).len())
    }
}

/// An app's logout endpoints on loopback: `POST /bc/{name}` takes logout
/// tokens (`/bc/flaky` answers 503 the first time), `GET /fc/{name}` is a
/// front-channel page.
pub(crate) fn receiver() -> (String, Received, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let received = Received::default();
    let got = received.clone();
    let server = HttpServer::new(move || {
        let (back, front) = (got.clone(), got.clone());
        App::new()
            .route(
                "/bc/{name}",
                web::post().to(move |name: web::Path<String>, form: web::Form<std::collections::HashMap<String, String>>| {
                    let got = back.clone();
                    async move {
                        let path = format!("/bc/{name}");
                        let mut all = got.0.lock().expect("lock");
                        let first = !all.iter().any(|(p, _)| *p == path);
                        all.push((path, form.get("logout_token").cloned().unwrap_or_default()));
                        if *name == "flaky" && first {
                            return HttpResponse::ServiceUnavailable().finish();
                        }
                        HttpResponse::Ok().finish()
                    }
                }),
            )
            .route(
                "/fc/{name}",
                web::get().to(move |name: web::Path<String>, req: actix_web::HttpRequest| {
                    let got = front.clone();
                    async move {
                        got.0.lock().expect("lock").push((format!("/fc/{name}"), req.query_string().to_string()));
                        HttpResponse::Ok().content_type("text/html").body("<p>signed out of the app</p>")
                    }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (base, received, handle)
}

/// The demo app and the demo SPA, with logout URIs at `app`; loopback
/// allowed as an outbound destination.
pub(crate) async fn start(backend: Backend, app: &str) -> TestServer {
    let app = app.to_string();
    TestServer::start_with(backend, move |c| {
        c.b2b.allowed_internal_networks = vec!["127.0.0.0/8".into()];
        for seed in c.tenants.iter_mut().flat_map(|t| t.apps.iter_mut()) {
            match seed.client_id.as_str() {
                DEMO_APP => {
                    seed.backchannel_logout_uri = Some(format!("{app}/bc/demo-app"));
                    seed.frontchannel_logout_uri = Some(format!("{app}/fc/demo-app"));
                }
                DEMO_SPA => seed.backchannel_logout_uri = Some(format!("{app}/bc/flaky")),
                _ => {}
            }
        }
    })
    .await
}

/// A logout token's claims, checked as an app checks them (§2.6): the
/// tenant's published key, `iss`, `aud`, `typ`, `events`, no `nonce`.
pub(crate) async fn verified_logout_token(server: &TestServer, tenant_id: &str, token: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get_json(&server.url(&format!("/{tenant_id}/discovery/v2.0/keys"))).await).expect("jwks");
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("a published key");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[server.issuer(tenant_id)]);
    validation.set_audience(&[audience]);
    let claims: Value = jsonwebtoken::decode(token, &DecodingKey::from_jwk(jwk).expect("key"), &validation).expect("verifies").claims;
    assert_eq!(claims["events"], json!({ EVENT: {} }), "{claims}");
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].is_string() && claims["iat"].is_i64(), "{claims}");
    claims
}

/// `who` signs in to the demo app in `browser`: its ID token, and the claims.
async fn demo_app_id_token(server: &TestServer, browser: &Browser, who: (&str, &str)) -> (String, Value) {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&[], true);
    let code = browser.run(&pending.url, Some(who), REDIRECT_URI).await.param("code").expect("code");
    let id_token = rp.exchange(&code, pending.verifier).await.expect("tokens").id_token().expect("id token").to_string();
    let claims = jwt_payload(&id_token);
    (id_token, claims)
}

/// Whether `browser` still has a session at contoso (`prompt=none` gets a code).
async fn signed_in(server: &TestServer, browser: &Browser) -> bool {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let url = format!("{}&prompt=none", rp.authorize(&[], true).url);
    browser.run(&url, None, REDIRECT_URI).await.param("code").is_some()
}

async fn rp_initiated_logout_tells_every_app_of_the_session(backend: Backend) {
    let (app, received, handle) = receiver();
    let server = start(backend, &app).await;
    let browser = Browser::new();
    // Alice signs in to the web app and the SPA with one session.
    let (id_token, claims) = demo_app_id_token(&server, &browser, ALICE).await;
    let spa = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    assert!(browser.run(&spa.authorize(&[], true).url, None, REDIRECT_URI).await.param("code").is_some(), "single sign-on");

    // Logout with the ID token: the signed-out page frames the web app's
    // front-channel URL, then moves on to the registered URI.
    let logout = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri=http://127.0.0.1:8400/&state=bye",
        server.url("/contoso/oauth2/v2.0/logout")
    );
    let page = browser.http.get(&logout).send().await.expect("logout");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_string();
    assert!(csp.contains(&format!("frame-src {app};")), "{csp}");
    // The attributes as a browser reads them (minijinja escapes `/` and `&`).
    let body = page.text().await.expect("body").replace("&#x2f;", "/").replace("&amp;", "&");
    let sid = claims["sid"].as_str().expect("sid");
    let issuer = url::form_urlencoded::byte_serialize(server.issuer(CONTOSO_ID).as_bytes()).collect::<String>();
    assert!(body.contains(&format!("src=\"{app}/fc/demo-app?iss={issuer}&sid={sid}\"")), "{body}");
    assert!(body.contains("href=\"http://127.0.0.1:8400/?state=bye\""), "{body}");

    // Each app's back-channel URI gets a logout token naming Alice and the session.
    let tokens = received.wait_for("/bc/demo-app", 1).await;
    let logout_claims = verified_logout_token(&server, CONTOSO_ID, &tokens[0], DEMO_APP).await;
    assert_eq!((&logout_claims["sub"], &logout_claims["sid"]), (&claims["sub"], &claims["sid"]));
    // The SPA's endpoint failed once (503): it is tried again, and gets the same token.
    let flaky = received.wait_for("/bc/flaky", 2).await;
    assert_eq!(flaky[0], flaky[1]);
    assert_eq!(verified_logout_token(&server, CONTOSO_ID, &flaky[1], DEMO_SPA).await["sid"], claims["sid"]);
    // The session is over, and nobody is told twice.
    assert!(!signed_in(&server, &browser).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received.at("/bc/demo-app").len(), 1);
    server.stop().await;
    handle.stop(false).await;
}

async fn disabling_an_account_signs_it_out_of_its_apps(backend: Backend) {
    let (app, received, handle) = receiver();
    let server = start(backend, &app).await;
    let token = app_token(&server, CONTOSO).await;
    // Alice signs in twice (two browsers, two sessions).
    let mut sids = vec![];
    for _ in 0..2 {
        let (_, claims) = demo_app_id_token(&server, &Browser::new(), ALICE).await;
        sids.push(claims["sid"].as_str().expect("sid").to_string());
    }
    let alice_id = server.idp().store.user_by_email(CONTOSO_ID, ALICE.0).await.expect("store").expect("alice").id;
    let (status, _, body) = call(
        reqwest::Method::PATCH,
        server.url(&format!("/contoso/v1.0/users/{alice_id}")),
        &token,
        Some(json!({"accountEnabled": false})),
    )
    .await;
    assert!(status < 300, "{status} {body}");
    let tokens = received.wait_for("/bc/demo-app", 2).await;
    let mut told = vec![];
    for t in &tokens {
        let claims = verified_logout_token(&server, CONTOSO_ID, t, DEMO_APP).await;
        assert_eq!(claims["sub"], alice_id.as_str());
        told.push(claims["sid"].as_str().expect("sid").to_string());
    }
    told.sort();
    sids.sort();
    assert_eq!(told, sids, "each of Alice's sessions is ended and told");
    server.stop().await;
    handle.stop(false).await;
}

async fn a_guest_signed_out_at_home_is_signed_out_here(backend: Backend) {
    let (app, received, handle) = receiver();
    let server = start(backend, &app).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    let bob_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    Browser::new().run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(BOB), "https://apps.contoso.example/").await.client();

    // Bob signs in to contoso's app at home (fabrikam, on this same server).
    let browser = Browser::new();
    let (_, claims) = demo_app_id_token(&server, &browser, BOB).await;
    assert_eq!(claims["user_type"], "Guest");

    // Bob signs out at fabrikam (its confirmation page): fabrikam tells
    // contoso, which ends Bob's session there and tells its app.
    let endpoint = server.url("/fabrikam/oauth2/v2.0/logout");
    let page = browser.http.get(&endpoint).send().await.expect("logout page").text().await.expect("body");
    let forms = post_forms(&page);
    let done = browser.http.post(&forms[0].action).form(&forms[0].fields).send().await.expect("confirm");
    assert_eq!(done.status().as_u16(), 200);
    let tokens = received.wait_for("/bc/demo-app", 1).await;
    let logout_claims = verified_logout_token(&server, CONTOSO_ID, &tokens[0], DEMO_APP).await;
    assert_eq!(logout_claims["sub"], bob_id.as_str());
    assert_eq!(logout_claims["sid"], claims["sid"]);
    assert!(!signed_in(&server, &browser).await, "Bob's contoso session ended");
    server.stop().await;
    handle.stop(false).await;
}

/// An app built on panva's libraries, over HTTPS: openid-client makes the
/// logout URL from discovery, and jose verifies the logout token the app's
/// back-channel endpoint gets (tests/node/logout.mjs).
async fn panvas_libraries_log_out_over_https(backend: Backend) {
    use tokio::io::AsyncBufReadExt;
    let port = free_port();
    let (server, _, ca_file, _certs) = start_https_with(backend, |c| {
        c.b2b.allowed_internal_networks = vec!["127.0.0.0/8".into()];
        let app = c.tenants.iter_mut().flat_map(|t| t.apps.iter_mut()).find(|a| a.client_id == DEMO_APP).expect("demo-app");
        app.backchannel_logout_uri = Some(format!("http://127.0.0.1:{port}/logout"));
    })
    .await;
    let browser = Browser::new();
    let (id_token, claims) = demo_app_id_token(&server, &browser, ALICE).await;
    let mut app = tokio::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/logout.mjs"))
        .args([&server.issuer(CONTOSO_ID), DEMO_APP, DEMO_APP_SECRET, &id_token, "http://127.0.0.1:8400/", &port.to_string()])
        .env("NODE_EXTRA_CA_CERTS", &ca_file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (./test.sh installs tests/node)");
    let mut said = tokio::io::BufReader::new(app.stdout.take().expect("stdout")).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), said.next_line()).await.expect("in time").expect("read");
        serde_json::from_str(&line.unwrap_or_else(|| panic!("the script stopped: {:?}", app.try_wait()))).expect("JSON")
    };
    let logout_url = next().await["logout_url"].as_str().expect("logout_url").to_string();
    assert!(logout_url.starts_with(&server.url("/")) && logout_url.contains("id_token_hint="), "{logout_url}");
    let response = browser.http.get(&logout_url).send().await.expect("logout");
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "http://127.0.0.1:8400/?state=bye");
    let verified = next().await;
    assert_eq!(verified["header"]["typ"], "logout+jwt");
    assert_eq!((&verified["claims"]["sub"], &verified["claims"]["sid"]), (&claims["sub"], &claims["sid"]));
    server.stop().await;
}

/// Home's logout tokens that must not end anything: each is refused with
/// `invalid_request` and a reason, and the guest's session lives on.
async fn home_logout_tokens_are_checked(backend: Backend) {
    let (app, received, handle) = receiver();
    let server = start(backend, &app).await;
    let idp = server.idp();
    let fabrikam = idp.store.tenant_by_name("fabrikam").await.expect("store").expect("fabrikam");
    let contoso = idp.store.tenant_by_name("contoso").await.expect("store").expect("contoso");
    let home_issuer = server.issuer(&fabrikam.id);
    let our_client = format!("b2b-federation-{}", contoso.id);
    let now = b2b_idp::util::now();
    let good = json!({
        "iss": home_issuer, "aud": our_client, "iat": now, "exp": now + 120, "jti": "j1",
        "sid": "some-home-session", "events": { EVENT: {} },
    });
    let (home_id, home_alg) = (fabrikam.id.as_str(), fabrikam.signing_alg);
    let sign = |claims: Value| async move { idp.keys.sign(home_id, home_alg, "logout+jwt", &claims).await.expect("signs") };
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        claims
    };
    let post = |token: String| {
        let url = server.url("/contoso/federation/backchannel-logout");
        async move {
            let response = api().post(url).form(&[("logout_token", token)]).send().await.expect("post");
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        }
    };
    let response = api().post(server.url("/contoso/federation/backchannel-logout")).form(&[("token", "x")]).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 400, "no logout_token");
    let good_token = sign(good.clone()).await;
    let mut tampered = good_token.clone();
    tampered.truncate(tampered.len() - 4);
    tampered.push_str("AAAA");
    let cases: Vec<(String, &str)> = vec![
        ("not.a.jwt".into(), "not a JWT"),
        (tampered, "not valid"),
        (sign(with(&|c| c["aud"] = json!("someone-else"))).await, "not valid"),
        (sign(with(&|c| c["exp"] = json!(now - 600))).await, "not valid"),
        (sign(with(&|c| c["events"] = json!({}))).await, "events"),
        (sign(with(&|c| c["nonce"] = json!("n"))).await, "nonce"),
        (
            sign(with(&|c| {
                c.as_object_mut().expect("object").remove("sid");
            }))
            .await,
            "neither sid nor sub",
        ),
        (sign(with(&|c| c["iss"] = json!("https://idp.unknown.example/v2.0"))).await, "not a home"),
        (
            idp.keys
                .sign(&contoso.id, contoso.signing_alg, "logout+jwt", &with(&|c| c["iss"] = json!(server.issuer(&contoso.id))))
                .await
                .expect("signs"),
            "not a home",
        ),
    ];
    for (token, reason) in cases {
        let (status, body) = post(token).await;
        assert_eq!(status, 400, "{reason}: {body}");
        let body: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].as_str().expect("description").contains(reason), "{reason}: {body}");
    }
    let no_jti = sign(with(&|c| {
        c.as_object_mut().expect("object").remove("jti");
    }))
    .await;
    let (status, body) = post(no_jti).await;
    assert!(status == 400 && body.contains("no jti"), "{status} {body}");

    // A right token ends the sessions that came from that home session,
    // once: replayed, it ends none started since.
    let alice = idp.store.user_by_email(&contoso.id, ALICE.0).await.expect("store").expect("alice");
    let from_home = |id: &str| Session {
        id: id.into(),
        sid: format!("sid-{id}"),
        tenant_id: contoso.id.clone(),
        user_id: alice.id.clone(),
        auth_time: now,
        amr: vec!["fed".into()],
        acr: "1".into(),
        expires_at: now + 600,
        mfa_source: None,
        started_ms: now * 1000,
        steps: vec![],
        clients: vec![DEMO_APP.into()],
        home: Some(HomeSession { issuer: home_issuer.clone(), subject: "home-sub".into(), sid: Some("some-home-session".into()) }),
        cookie: None,
    };
    idp.store.put_session(&from_home("s-before")).await.expect("put");
    assert_eq!(post(good_token.clone()).await.0, 200);
    assert!(idp.store.session("s-before").await.expect("get").is_none(), "ended");
    let told = received.wait_for("/bc/demo-app", 1).await;
    assert_eq!(verified_logout_token(&server, CONTOSO_ID, &told[0], DEMO_APP).await["sid"], "sid-s-before");
    idp.store.put_session(&from_home("s-after")).await.expect("put");
    assert_eq!(post(good_token).await.0, 200, "a replay is no error");
    assert!(idp.store.session("s-after").await.expect("get").is_some(), "but ends nothing");
    server.stop().await;
    handle.stop(false).await;
}

on_both_backends!(
    rp_initiated_logout_tells_every_app_of_the_session,
    disabling_an_account_signs_it_out_of_its_apps,
    a_guest_signed_out_at_home_is_signed_out_here,
    panvas_libraries_log_out_over_https,
    home_logout_tokens_are_checked,
);
