//! The rustls listener: HTTPS end to end with a certificate made in the test.

use crate::harness::*;

async fn serves_https_with_host_prefixed_secure_cookies(backend: Backend) {
    let (server, trusting, _, _certs) = start_https(backend).await;

    let base = server.base.clone();
    // Plain HTTP is not spoken on the TLS port.
    assert!(api().get(base.replace("https://localhost", "http://127.0.0.1") + "/healthz").send().await.is_err());

    let rp = Rp::discover_using(trusting.clone(), &server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    assert!(rp.metadata.issuer().as_str().starts_with("https://localhost:"));
    let page = trusting.get(&rp.authorize(&[], true).url).send().await.expect("authorize over TLS");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers().contains_key("strict-transport-security"));
    let cookie = page.headers()["set-cookie"].to_str().expect("cookie").to_string();
    assert!(cookie.starts_with("__Host-b2b_browser="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");

    let response = trusting
        .post(format!("{base}/contoso/oauth2/v2.0/token"))
        .basic_auth(ADMIN_CLI, Some(ADMIN_CLI_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")])
        .send()
        .await
        .expect("token over TLS");
    assert_eq!(response.status().as_u16(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_an_http_base_url_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = demo_config(dir.path(), "http://127.0.0.1:1");
    config.server.tls_cert = Some(dir.path().join("cert.pem"));
    config.server.tls_key = Some(dir.path().join("key.pem"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let error = match b2b_idp::server::start(config, Some(listener)).await {
        Ok(_) => panic!("TLS with an http:// issuer must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("public_base_url must be https://"), "{error}");
}

on_both_backends!(serves_https_with_host_prefixed_secure_cookies,);
