//! Admin consent through Graph's `oauth2PermissionGrants`: a grant lets a
//! client ask for an API's delegated permissions for any user, through the
//! same grants config and `requiredResourceAccess` write; changing or
//! removing it takes effect at the next authorization request. Refusals are
//! by name, and nothing is written by them.

use openidconnect::OAuth2TokenResponse;
use serde_json::{json, Value};

use crate::harness::*;

const PAYROLL: &str = "api://payroll";

/// Alice's authorization request from the demo app for `scope`: the
/// access token's claims, or the OAuth error the app got back.
async fn alice_asks_for(server: &TestServer, scope: &str) -> Result<Value, String> {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&[scope], true);
    let landing = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await;
    let Some(code) = landing.param("code") else {
        return Err(landing.param("error").unwrap_or_else(|| panic!("neither a code nor an error: {landing:?}")));
    };
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    Ok(jwt_payload(tokens.access_token().secret()))
}

async fn admin_consent_is_granted_changed_and_taken_back(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = app_token(&server, CONTOSO).await;
    let api = json!({"displayName": "Payroll API", "identifierUris": [PAYROLL]});
    let (status, _, body) = call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), &admin, Some(api)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(alice_asks_for(&server, "api://payroll/Payroll.Read").await, Err("invalid_scope".into()), "no grant yet");

    let grants = server.url("/contoso/v1.0/oauth2PermissionGrants");
    let new = json!({"clientId": DEMO_APP, "consentType": "AllPrincipals", "resourceId": PAYROLL, "scope": "Payroll.Read Payroll.Export"});
    let (status, _, grant) = call(reqwest::Method::POST, grants.clone(), &admin, Some(new.clone())).await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!((grant["clientId"].as_str(), grant["resourceId"].as_str()), (Some(DEMO_APP), Some(PAYROLL)));
    assert_eq!((grant["consentType"].as_str(), &grant["principalId"]), (Some("AllPrincipals"), &Value::Null));
    let id = grant["id"].as_str().expect("id").to_string();
    let one = server.url(&format!("/contoso/v1.0/oauth2PermissionGrants/{id}"));
    assert_eq!(call(reqwest::Method::GET, one.clone(), &admin, None).await.2, grant);
    let (_, _, listed) = call(reqwest::Method::GET, format!("{grants}?$filter=clientId eq '{DEMO_APP}'"), &admin, None).await;
    assert!(listed["value"].as_array().expect("value").contains(&grant), "{listed}");
    let (_, _, app) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/applications/{DEMO_APP}")), &admin, None).await;
    let access = app["requiredResourceAccess"].as_array().expect("requiredResourceAccess");
    assert!(access.iter().any(|r| r["resourceAppId"] == PAYROLL), "the app shows the grant: {app}");

    let claims = alice_asks_for(&server, "api://payroll/Payroll.Read").await.expect("a token for the API");
    assert_eq!((claims["aud"].as_str(), claims["scp"].as_str()), (Some(PAYROLL), Some("Payroll.Read")));

    let (status, _, body) = call(reqwest::Method::PATCH, one.clone(), &admin, Some(json!({"scope": "Payroll.Export"}))).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(call(reqwest::Method::GET, one.clone(), &admin, None).await.2["scope"], "Payroll.Export");
    assert_eq!(alice_asks_for(&server, "api://payroll/Payroll.Read").await, Err("invalid_scope".into()), "narrowed");

    for (bad, why) in [
        (json!({"consentType": "Principal", "principalId": "x"}), "only AllPrincipals"),
        (json!({"resourceId": "api://nowhere"}), "no resource 'api://nowhere'"),
        (json!({"scope": ".default"}), "not a permission name"),
        (json!({"scope": "  "}), "at least one"),
        (json!({"clientId": "no-such-app"}), "no-such-app"),
        (json!({}), "already has a grant"),
        (json!({"expiryTime": "2030-01-01T00:00:00Z"}), "expiryTime"),
    ] {
        let mut body = new.clone();
        body.as_object_mut().expect("object").extend(bad.as_object().expect("object").clone());
        let (status, _, answer) = call(reqwest::Method::POST, grants.clone(), &admin, Some(body)).await;
        assert!((400..=409).contains(&status), "{bad}: {status} {answer}");
        assert!(answer["error"]["message"].as_str().expect("message").contains(why), "{bad}: {answer}");
    }
    for unknown in ["bm9wZQ", "not base64!", "ZGVtby1hcHAfYXBpOi8vbm93aGVyZQ"] {
        let url = server.url(&format!("/contoso/v1.0/oauth2PermissionGrants/{unknown}"));
        assert_eq!(call(reqwest::Method::GET, url, &admin, None).await.0, 404, "{unknown}");
    }
    // A person without a directory role may not consent for everyone (the
    // SPA reaches the admin API by a grant made here too).
    let spa = json!({"clientId": DEMO_SPA, "consentType": "AllPrincipals", "resourceId": "api://b2b-idp-admin", "scope": "User.Read.All"});
    assert_eq!(call(reqwest::Method::POST, grants.clone(), &admin, Some(spa)).await.0, 201);
    let alice = crate::security::person_token(&server, DEMO_SPA, None, ALICE).await;
    let other =
        json!({"clientId": DEMO_APP, "consentType": "AllPrincipals", "resourceId": "api://b2b-idp-admin", "scope": "User.Read.All"});
    assert_eq!(call(reqwest::Method::POST, grants.clone(), &alice, Some(other)).await.0, 403);
    assert_eq!(call(reqwest::Method::DELETE, one.clone(), &alice, None).await.0, 403);

    assert_eq!(call(reqwest::Method::DELETE, one.clone(), &admin, None).await.0, 204);
    assert_eq!(call(reqwest::Method::GET, one, &admin, None).await.0, 404);
    assert_eq!(alice_asks_for(&server, "api://payroll/Payroll.Export").await, Err("invalid_scope".into()), "taken back");
    server.stop().await;
}

on_both_backends!(admin_consent_is_granted_changed_and_taken_back);
