//! Signing keys: RS256 per app, operator-supplied PEM keys.

use b2b_idp::model::Alg;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::TokenResponse;

use crate::harness::*;

async fn an_app_can_ask_for_rs256(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        let spa = c.tenants[0].apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
        spa.signing_alg = Some(Alg::RS256);
    })
    .await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    let key_types: Vec<String> = rp
        .metadata
        .jwks()
        .keys()
        .iter()
        .map(|k| serde_json::to_value(k).expect("jwk")["kty"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(key_types.contains(&"EC".to_string()) && key_types.contains(&"RSA".to_string()), "{key_types:?}");
    let pending = rp.authorize(&[], true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let id_token = tokens.id_token().expect("id token");
    assert_eq!(id_token.signing_alg().expect("alg"), &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("RS256 ID token verifies");
    // The tenant's other apps keep ES256.
    let admin_token = app_token(&server, CONTOSO).await;
    assert_eq!(jwt_header(&admin_token)["alg"], "ES256");
    server.stop().await;
}

async fn operator_supplied_pem_key_signs_the_tokens(backend: Backend) {
    let key = rcgen::KeyPair::generate().expect("P-256 key");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("contoso.pem");
    std::fs::write(&path, key.serialize_pem()).expect("write pem");
    let server = TestServer::start_with(backend, |c| c.tenants[0].signing_key_file = Some(path.clone())).await;

    let jwks = get_json(&server.url("/contoso/discovery/v2.0/keys")).await;
    let published: Vec<&serde_json::Value> = jwks["keys"].as_array().expect("keys").iter().filter(|k| k["alg"] == "ES256").collect();
    assert_eq!(published.len(), 1, "the operator key is the only ES256 key of contoso: {jwks}");
    let point = key.public_key_raw();
    assert_eq!(published[0]["x"], URL_SAFE_NO_PAD.encode(&point[1..33]));
    assert_eq!(published[0]["y"], URL_SAFE_NO_PAD.encode(&point[33..65]));

    let admin_token = app_token(&server, CONTOSO).await;
    assert_eq!(jwt_header(&admin_token)["kid"], published[0]["kid"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_key_file_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("broken.pem");
    std::fs::write(&path, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").expect("write");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = demo_config(dir.path(), "http://127.0.0.1:1");
    config.tenants[0].signing_key_file = Some(path.clone());
    let error = match b2b_idp::server::start(config, Some(listener)).await {
        Ok(_) => panic!("a broken key file must stop start-up"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("broken.pem"), "{error}");
}

on_both_backends!(an_app_can_ask_for_rs256, operator_supplied_pem_key_signs_the_tokens,);
