//! `private_key_jwt`: an application registers a certificate or a JWK
//! (`keyCredentials`) and authenticates with assertions it signs. Driven
//! by MSAL for Python over HTTPS (its certificate credential, RS256 with
//! `x5t` and PS256 with `x5t#S256`) and by jsonwebtoken for ES256 and
//! every refusal: each names its problem, and nothing is issued.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::*;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SCOPE: &str = "api://b2b-idp-admin/.default";
/// The permission the test clients hold: reading the sign-in log.
static AUDIT_LOG_READER: std::sync::LazyLock<Value> = std::sync::LazyLock::new(
    || json!([{"resourceAppId": "api://b2b-idp-admin", "resourceAccess": [{"id": "AuditLog.Read.All", "type": "Role"}]}]),
);

/// A self-signed P-256 certificate and its key.
fn p256_certificate() -> (rcgen::Certificate, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["daemon.contoso.example".into()]).expect("params").self_signed(&key).expect("cert");
    (cert, key)
}

/// `x5t#S256` as MSAL writes it: base64url *with* padding.
fn x5t_s256(cert: &rcgen::Certificate) -> String {
    URL_SAFE.encode(ring::digest::digest(&ring::digest::SHA256, cert.der()))
}

/// An ES256 assertion signed by `key`, its header naming `cert`, with
/// `claims` over the defaults for `client_id` at contoso's token endpoint.
fn assertion(server: &TestServer, client_id: &str, key: &rcgen::KeyPair, cert: &rcgen::Certificate, claims: Value) -> String {
    let now = b2b_idp::util::now();
    let mut body = json!({
        "iss": client_id, "sub": client_id, "aud": server.url(&format!("/{CONTOSO_ID}/oauth2/v2.0/token")),
        "exp": now + 300, "nbf": now, "iat": now, "jti": uuid::Uuid::new_v4().to_string(),
    });
    for (name, value) in claims.as_object().expect("claims") {
        body[name] = value.clone();
    }
    let mut header = Header::new(Algorithm::ES256);
    header.x5t_s256 = Some(x5t_s256(cert));
    jsonwebtoken::encode(&header, &body, &EncodingKey::from_ec_der(&key.serialize_der())).expect("sign")
}

async fn grant(server: &TestServer, form: &[(&str, &str)]) -> (u16, Value) {
    let mut full = vec![("grant_type", "client_credentials"), ("scope", SCOPE)];
    full.extend_from_slice(form);
    token_request(server, CONTOSO, &full).await
}

/// Registers an application with `keys` through the admin API.
async fn register(server: &TestServer, token: &str, keys: Value) -> (u16, Value) {
    let body = json!({"displayName": "Nightly export", "keyCredentials": keys, "requiredResourceAccess": AUDIT_LOG_READER.clone()});
    let (status, _, app) = call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), token, Some(body)).await;
    (status, app)
}

fn certificate_key(cert: &rcgen::Certificate) -> Value {
    json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(cert.der()), "displayName": "export cert"})
}

async fn a_certificate_authenticates_and_every_bad_assertion_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = app_token(&server, CONTOSO).await;
    let metadata = get_json(&server.url(&format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"))).await;
    assert!(metadata["token_endpoint_auth_methods_supported"].as_array().expect("methods").contains(&json!("private_key_jwt")));
    assert_eq!(metadata["token_endpoint_auth_signing_alg_values_supported"], json!(["RS256", "PS256", "ES256"]));

    let (cert, key) = p256_certificate();
    let (status, app) = register(&server, &admin, json!([certificate_key(&cert)])).await;
    assert_eq!(status, 201, "{app}");
    let client_id = app["appId"].as_str().expect("appId").to_string();
    let listed = &app["keyCredentials"][0];
    assert_eq!((listed["type"].as_str(), listed["usage"].as_str()), (Some("AsymmetricX509Cert"), Some("Verify")));
    assert_eq!(listed["key"], Value::Null, "key material is never read back");
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
    assert_eq!(listed["customKeyIdentifier"], json!(STANDARD.encode(sha1)));

    // RFC 7523 §3: the client_id may be left out; the assertion names the client.
    let signed = assertion(&server, &client_id, &key, &cert, json!({}));
    let (status, tokens) = grant(&server, &[("client_assertion_type", ASSERTION_TYPE), ("client_assertion", &signed)]).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(jwt_payload(tokens["access_token"].as_str().expect("token"))["azp"], client_id.as_str());
    // MSAL resends one assertion for ten minutes, as Entra allows.
    let with_id = [("client_id", client_id.as_str()), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", &signed)];
    assert_eq!(grant(&server, &with_id).await.0, 200, "the same assertion again, while it is valid");

    let (other_cert, other_key) = p256_certificate();
    let now = b2b_idp::util::now();
    let refusals: Vec<(String, &str)> = vec![
        (
            assertion(&server, &client_id, &key, &cert, json!({"aud": "https://login.example/token"})),
            "aud must be this tenant's token endpoint or issuer",
        ),
        (assertion(&server, &client_id, &key, &cert, json!({"exp": now + 1200})), "exp is more than 10 minutes ahead"),
        (assertion(&server, &client_id, &key, &cert, json!({"exp": now - 600, "nbf": now - 900})), "client_assertion has expired"),
        (assertion(&server, &client_id, &key, &cert, json!({"iss": "someone-else"})), "iss must be the client id"),
        (assertion(&server, &client_id, &other_key, &other_cert, json!({})), "no key registered for this client matches"),
        (assertion(&server, &client_id, &other_key, &cert, json!({})), "signature does not verify with any key registered"),
        ("not-a-jwt".to_string(), "client_assertion is not a signed JWT"),
        (
            assertion(
                &server,
                &client_id,
                &key,
                &cert,
                json!({"aud": [server.url(&format!("/{CONTOSO_ID}/oauth2/v2.0/token")), "https://rp.example"]}),
            ),
            "aud must name this server alone",
        ),
    ];
    for (bad, why) in &refusals {
        let form = [("client_id", client_id.as_str()), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", bad.as_str())];
        let (status, body) = grant(&server, &form).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{why}: {body}");
        assert!(body["error_description"].as_str().expect("description").contains(why), "{why}: {body}");
        assert!(body.get("access_token").is_none());
    }
    // One method at a time, and the assertion type spelled right.
    let both = [
        ("client_id", client_id.as_str()),
        ("client_secret", "x"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &signed),
    ];
    assert_eq!(grant(&server, &both).await.1["error"], "invalid_request");
    let saml =
        [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), ("client_assertion", signed.as_str())];
    assert_eq!(grant(&server, &saml).await.1["error"], "invalid_request");

    // The sign-in log tells an expired assertion apart (Entra's AADSTS700024).
    let logged = server.url(&format!("/contoso/v1.0/auditLogs/signIns?$filter=appId eq '{client_id}' and status/errorCode eq 700024"));
    let (status, _, log) = call(reqwest::Method::GET, logged, &admin, None).await;
    assert_eq!(status, 200, "{log}");
    assert!(!log["value"].as_array().expect("value").is_empty(), "{log}");

    // Single-use assertions (FAPI): a jti works once, and one is required.
    let app_url = server.url(&format!("/contoso/v1.0/applications/{client_id}"));
    let (status, _, body) = call(reqwest::Method::PATCH, app_url.clone(), &admin, Some(json!({"singleUseClientAssertions": true}))).await;
    assert_eq!(status, 204, "{body}");
    let once = assertion(&server, &client_id, &key, &cert, json!({}));
    let form = [("client_assertion_type", ASSERTION_TYPE), ("client_assertion", once.as_str())];
    assert_eq!(grant(&server, &form).await.0, 200);
    let (status, body) = grant(&server, &form).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error_description"].as_str().expect("description").contains("was already used"), "{body}");
    let no_jti = assertion(&server, &client_id, &key, &cert, json!({"jti": null}));
    let (status, body) = grant(&server, &[("client_assertion_type", ASSERTION_TYPE), ("client_assertion", &no_jti)]).await;
    assert!(status == 401 && body["error_description"].as_str().expect("description").contains("no jti"), "{body}");

    // Keys are for confidential clients; a key read back is kept by its keyId.
    let (status, _, body) =
        call(reqwest::Method::PATCH, app_url.clone(), &admin, Some(json!({"spa": {"redirectUris": ["http://localhost:3000/"]}}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("public client"), "{body}");
    let kept = json!({"keyCredentials": [listed.clone()], "displayName": "Nightly export (renamed)"});
    let (status, _, body) = call(reqwest::Method::PATCH, app_url, &admin, Some(kept)).await;
    assert_eq!(status, 204, "{body}");
    let fresh = assertion(&server, &client_id, &key, &cert, json!({}));
    assert_eq!(grant(&server, &[("client_assertion_type", ASSERTION_TYPE), ("client_assertion", &fresh)]).await.0, 200);
    server.stop().await;
}

/// Bad keys are refused at registration, by name, and nothing is created.
async fn bad_keys_are_refused_at_registration(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = app_token(&server, CONTOSO).await;
    let (cert, _) = p256_certificate();
    let x = URL_SAFE.encode([7u8; 32]).trim_end_matches('=').to_string();
    let private_jwk = STANDARD.encode(json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "d": x}).to_string());
    let cases = [
        (json!([{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA=="}]), "not an X.509 certificate"),
        (json!([{"type": "AsymmetricX509Cert", "usage": "Sign", "key": STANDARD.encode(cert.der())}]), "usage must be Verify"),
        (json!([{"type": "JsonWebKey", "usage": "Verify", "key": private_jwk}]), "private"),
        (json!([{"type": "AsymmetricX509Cert", "usage": "Verify"}]), "key is required"),
        (json!([certificate_key(&cert), certificate_key(&cert)]), "listed twice"),
        (
            json!([{"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(cert.der()), "endDateTime": "2020-01-01T00:00:00Z"}]),
            "expired",
        ),
    ];
    for (keys, why) in cases {
        let (status, body) = register(&server, &admin, keys).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert!(body["error"]["message"].as_str().expect("message").contains(why), "{why}: {body}");
    }
    let (_, _, apps) =
        call(reqwest::Method::GET, server.url("/contoso/v1.0/applications?$filter=displayName eq 'Nightly export'"), &admin, None).await;
    assert_eq!(apps["value"], json!([]), "nothing was created");
    server.stop().await;
}

/// MSAL for Python's certificate credential against this server over
/// HTTPS, as against Entra: with a SHA-1 `thumbprint` it signs RS256 with
/// `x5t`; with the `public_certificate` it signs PS256 with `x5t#S256`
/// and sends `x5c`. The script registers its certificate through the
/// admin API itself (tests/python/msal_certificate.py).
async fn msal_authenticates_with_a_certificate(backend: Backend) {
    let (server, trusting, ca_file, _certs) = start_https(backend).await;
    let admin: Value = trusting
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .basic_auth(ADMIN_CLI, Some(ADMIN_CLI_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", SCOPE)])
        .send()
        .await
        .expect("admin token")
        .json()
        .await
        .expect("JSON");
    let mut msal = tokio::process::Command::new(python_bin("python"));
    msal.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/msal_certificate.py"))
        .args([&server.base, CONTOSO_ID, admin["access_token"].as_str().expect("admin token"), SCOPE])
        .env("REQUESTS_CA_BUNDLE", &ca_file);
    let results = script_json(msal).await;
    for (mode, alg) in [("thumbprint", "RS256"), ("public_certificate", "PS256")] {
        let result = &results[mode];
        assert_eq!(result["alg"], alg, "{mode}: {results}");
        let token = result["access_token"].as_str().unwrap_or_else(|| panic!("{mode}: MSAL got no token: {results}"));
        let claims = jwt_payload(token);
        assert_eq!(claims["azp"], results["client_id"], "{mode}: {claims}");
        assert_eq!(claims["iss"], server.issuer(CONTOSO_ID));
    }
    server.stop().await;
}

on_both_backends!(
    a_certificate_authenticates_and_every_bad_assertion_is_refused,
    bad_keys_are_refused_at_registration,
    msal_authenticates_with_a_certificate,
);
