//! On-behalf-of (Entra's `jwt-bearer` grant with
//! `requested_token_use=on_behalf_of`): a middle-tier API exchanges the
//! user's token it was called with for a token to a downstream API it
//! holds a grant for. Driven by MSAL for Python over HTTPS, as against
//! Entra, and by plain requests for every refusal. The user stays who they
//! were (a guest stays a guest of its home); the downstream API's
//! conditional access answers with a claims challenge that a new sign-in
//! satisfies.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{json, Value};

use crate::harness::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ORDERS: &str = "api://orders";
const PAYROLL: &str = "api://payroll";

/// An API registered through the admin API; its client id and, if asked, a secret.
async fn register_api(server: &TestServer, admin: &str, uri: &str, secret: bool) -> (String, Option<String>) {
    let body = json!({"displayName": uri, "identifierUris": [uri]});
    let (status, _, app) = call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), admin, Some(body)).await;
    assert_eq!(status, 201, "{app}");
    let id = app["appId"].as_str().expect("appId").to_string();
    if !secret {
        return (id, None);
    }
    let add = server.url(&format!("/contoso/v1.0/applications/{id}/addPassword"));
    let (status, _, added) = call(reqwest::Method::POST, add, admin, Some(json!({"passwordCredential": {}}))).await;
    assert_eq!(status, 200, "{added}");
    (id, Some(added["secretText"].as_str().expect("secretText").to_string()))
}

/// The orders API (id, secret), which the demo app may call for a user
/// and which may call the payroll API (id) for them in turn.
async fn register_apis(server: &TestServer, admin: &str) -> (String, String, String) {
    let (orders_id, orders_secret) = register_api(server, admin, ORDERS, true).await;
    let (payroll_id, _) = register_api(server, admin, PAYROLL, false).await;
    grant(server, admin, DEMO_APP, ORDERS, "Orders.Read").await;
    grant(server, admin, &orders_id, PAYROLL, "Payroll.Read").await;
    (orders_id, orders_secret.expect("secret"), payroll_id)
}

async fn grant(server: &TestServer, admin: &str, client: &str, resource: &str, scope: &str) {
    let body = json!({"clientId": client, "consentType": "AllPrincipals", "resourceId": resource, "scope": scope});
    let (status, _, grant) = call(reqwest::Method::POST, server.url("/contoso/v1.0/oauth2PermissionGrants"), admin, Some(body)).await;
    assert_eq!(status, 201, "{grant}");
}

/// A person's tokens for `scope` through the demo app, signed in by `browser`.
async fn sign_in(server: &TestServer, browser: &Browser, who: (&str, &str), scope: &str, extra: &str) -> (String, String) {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&[scope], true);
    let landing = browser.run(&format!("{}{extra}", pending.url), Some(who), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("a code for {}: {landing:?}", who.0));
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let id_token = tokens.id_token().map(|t| t.to_string()).unwrap_or_default();
    (tokens.access_token().secret().clone(), id_token)
}

/// The on-behalf-of request the orders API makes with `assertion`.
async fn exchange(server: &TestServer, client: (&str, &str), assertion: &str, scope: &str, more: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", JWT_BEARER),
        ("requested_token_use", "on_behalf_of"),
        ("assertion", assertion),
        ("scope", scope),
        ("client_id", client.0),
        ("client_secret", client.1),
    ];
    for (name, value) in more {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form.retain(|(_, v)| !v.is_empty());
    token_request(server, CONTOSO, &form).await
}

/// MSAL's `acquire_token_on_behalf_of` as the orders API (tests/python/msal_on_behalf_of.py).
async fn msal(server: &TestServer, ca_file: &std::path::Path, client: (&str, &str), assertion: &str, scope: &str) -> Value {
    let mut msal = tokio::process::Command::new(python_bin("python"));
    msal.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/msal_on_behalf_of.py"))
        .args([&server.base, CONTOSO_ID, client.0, client.1, assertion, scope])
        .env("REQUESTS_CA_BUNDLE", ca_file);
    script_json(msal).await
}

fn refused(answer: &(u16, Value), error: &str, named: &str) {
    let (status, body) = answer;
    assert_eq!((*status, body["error"].as_str()), (400, Some(error)), "{named}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(named), "'{named}' in: {description}");
    assert!(body.get("access_token").is_none());
}

async fn a_middle_tier_api_calls_another_for_the_user(backend: Backend) {
    let (server, _, ca_file, _certs) = start_https(backend).await;
    let admin = app_token(&server, CONTOSO).await;
    let metadata = get_json(&server.url(&format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"))).await;
    assert!(metadata["grant_types_supported"].as_array().expect("grants").contains(&json!(JWT_BEARER)), "{metadata}");
    let (orders_id, orders_secret, payroll_id) = register_apis(&server, &admin).await;
    let orders = (orders_id.as_str(), orders_secret.as_str());

    // Alice calls the orders API through the demo app; MSAL, as the orders
    // API, gets a payroll token for her, and a refresh token (MSAL asks for
    // offline_access itself).
    let (alice_token, alice_id_token) = sign_in(&server, &Browser::new(), ALICE, "api://orders/Orders.Read", "").await;
    let got = msal(&server, &ca_file, orders, &alice_token, "api://payroll/Payroll.Read").await;
    let token = got["access_token"].as_str().unwrap_or_else(|| panic!("MSAL got no token: {got}"));
    let (incoming, claims) = (jwt_payload(&alice_token), jwt_payload(token));
    assert_eq!((claims["aud"].as_str(), claims["scp"].as_str()), (Some(PAYROLL), Some("Payroll.Read")), "{claims}");
    assert_eq!((claims["azp"].as_str(), claims["iss"].as_str()), (Some(orders.0), Some(server.issuer(CONTOSO_ID).as_str())));
    for claim in ["sub", "oid", "tid", "user_type", "home_tid", "amr", "acr", "auth_time", "sid"] {
        assert_eq!(claims[claim], incoming[claim], "{claim} is the user's: {claims}");
    }
    let refresh = got["refresh_token"].as_str().unwrap_or_else(|| panic!("a refresh token: {got}"));
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", orders.0), ("client_secret", orders.1)];
    let (status, refreshed) = token_request(&server, CONTOSO, &form).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed.get("id_token"), None, "the orders API signed no one in: {refreshed}");
    let again = jwt_payload(refreshed["access_token"].as_str().expect("access token"));
    assert_eq!((again["aud"].as_str(), again["sub"].clone()), (Some(PAYROLL), incoming["sub"].clone()), "{again}");
    // Without offline_access, no refresh token.
    let (status, plain) = exchange(&server, orders, &alice_token, "api://payroll/.default", &[]).await;
    assert_eq!((status, plain.get("refresh_token"), plain.get("id_token")), (200, None, None), "{plain}");

    // Every refusal names its reason, and issues nothing.
    let payroll = "api://payroll/.default";
    refused(
        &exchange(&server, orders, &alice_token, payroll, &[("requested_token_use", "")]).await,
        "invalid_request",
        "requested_token_use",
    );
    refused(&exchange(&server, orders, &alice_token, payroll, &[("requested_token_use", "x")]).await, "invalid_request", "'x'");
    refused(&exchange(&server, orders, "", payroll, &[]).await, "invalid_request", "assertion");
    refused(&exchange(&server, orders, "not.a.jwt", payroll, &[]).await, "invalid_grant", "not a JWT");
    refused(&exchange(&server, orders, &alice_id_token, payroll, &[]).await, "invalid_grant", "not an access token");
    let fabrikam_token = app_token(&server, FABRIKAM).await;
    refused(&exchange(&server, orders, &fabrikam_token, payroll, &[]).await, "invalid_grant", "not issued by this tenant");
    let (status, own) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "client_credentials"), ("scope", "api://orders/.default"), ("client_id", orders.0), ("client_secret", orders.1)],
    )
    .await;
    assert_eq!(status, 200, "{own}");
    refused(
        &exchange(&server, orders, own["access_token"].as_str().expect("token"), payroll, &[]).await,
        "invalid_grant",
        "app's own token",
    );
    let (for_demo_app, _) = sign_in(&server, &Browser::new(), ALICE, "openid", "").await;
    refused(&exchange(&server, orders, &for_demo_app, payroll, &[]).await, "invalid_grant", "another audience");
    refused(&exchange(&server, orders, &alice_token, "api://ledger/.default", &[]).await, "invalid_scope", "api://ledger");
    refused(&exchange(&server, orders, &alice_token, "api://orders/.default", &[]).await, "invalid_scope", "another API");
    refused(&exchange(&server, orders, &alice_token, "openid", &[]).await, "invalid_scope", "downstream API");
    let mut expired = incoming.clone();
    expired["exp"] = json!(b2b_idp::util::now() - 120);
    let expired = server.idp().keys.sign(CONTOSO_ID, b2b_idp::model::Alg::ES256, "at+jwt", &expired).await.expect("sign");
    refused(&exchange(&server, orders, &expired, payroll, &[]).await, "invalid_grant", "expired");
    // A public client has no on-behalf-of.
    let (status, body) = exchange(&server, (DEMO_SPA, ""), &alice_token, payroll, &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");

    // The payroll API needs MFA: Alice's single-factor token gets Entra's
    // claims challenge, through MSAL too; a sign-in with the challenge asks
    // for the second factor, and its token is exchanged.
    let policy = json!({
        "displayName": "Payroll needs MFA", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [payroll_id]}},
        "grantControls": {"builtInControls": ["mfa"]},
    });
    let policies = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
    let (status, _, created) = call(reqwest::Method::POST, policies, &admin, Some(policy)).await;
    assert_eq!(status, 201, "{created}");
    // The single-factor grant made before ends at its next refresh: the payroll API's policy applies there too.
    let later = refreshed["refresh_token"].as_str().expect("a rotated refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", later), ("client_id", orders.0), ("client_secret", orders.1)];
    let (status, body) = token_request(&server, CONTOSO, &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().expect("description").contains("now required"), "{body}");
    let challenged = msal(&server, &ca_file, orders, &alice_token, "api://payroll/Payroll.Read").await;
    assert_eq!(challenged["error"], "interaction_required", "{challenged}");
    let challenge: Value = serde_json::from_str(challenged["claims"].as_str().expect("claims")).expect("JSON claims");
    assert_eq!(challenge["access_token"]["acr"]["value"], "2", "{challenge}");
    assert_eq!(challenge["access_token"]["capolids"]["values"], json!([created["id"]]), "{challenge}");
    let claims_param = format!("&claims={}", url::form_urlencoded::byte_serialize(challenge.to_string().as_bytes()).collect::<String>());
    let browser = Browser::new();
    let (stepped_up, _) = sign_in(&server, &browser, ALICE, "api://orders/Orders.Read", &claims_param).await;
    assert_eq!(browser.mfa_prompts.lock().expect("prompts").len(), 1, "the challenge asked for the second factor");
    assert_eq!(jwt_payload(&stepped_up)["acr"], "2");
    let (status, body) = exchange(&server, orders, &stepped_up, payroll, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(jwt_payload(body["access_token"].as_str().expect("token"))["acr"], "2");

    // The caller's own policies count too: a block on the orders API ends its exchanges.
    let block = json!({
        "displayName": "No orders API", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [orders.0]}},
        "grantControls": {"builtInControls": ["block"]},
    });
    let policies = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
    let (status, _, blocking) = call(reqwest::Method::POST, policies.clone(), &admin, Some(block)).await;
    assert_eq!(status, 201, "{blocking}");
    refused(&exchange(&server, orders, &stepped_up, payroll, &[]).await, "invalid_grant", "'No orders API'");
    let blocking = format!("{policies}/{}", blocking["id"].as_str().expect("id"));
    assert_eq!(call(reqwest::Method::DELETE, blocking, &admin, None).await.0, 204);

    // A disabled user's token is worth nothing any more.
    let alice = jwt_payload(&stepped_up)["oid"].as_str().expect("oid").to_string();
    let user = server.url(&format!("/contoso/v1.0/users/{alice}"));
    assert_eq!(call(reqwest::Method::PATCH, user, &admin, Some(json!({"accountEnabled": false}))).await.0, 204);
    refused(&exchange(&server, orders, &stepped_up, payroll, &[]).await, "invalid_grant", "disabled");

    // The sign-in log has the exchanges, under the user and the orders API.
    let log = server.url(&format!("/contoso/v1.0/auditLogs/signIns?$filter=appId eq '{}'", orders.0));
    let (_, _, entries) = call(reqwest::Method::GET, log, &admin, None).await;
    let entries = entries["value"].as_array().expect("value").clone();
    assert!(entries.iter().any(|e| e["userId"] == alice.as_str() && e["status"]["errorCode"] == 0), "{entries:?}");
    assert!(entries.iter().any(|e| e["status"]["errorCode"] == 50076), "the challenge is logged: {entries:?}");
    server.stop().await;
}

/// A guest stays a guest of its home tenant, with the same `amr`. Over
/// plain HTTP: the guest's home is this same server, which the server
/// reaches as any home, and it trusts no test certificate for that.
async fn a_guest_stays_a_guest_of_its_home(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = app_token(&server, CONTOSO).await;
    let (orders_id, orders_secret, _) = register_apis(&server, &admin).await;
    let orders = (orders_id.as_str(), orders_secret.as_str());
    let (status, invitation) = crate::b2b::invite(&server, &admin, BOB.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let browser = Browser::new();
    let redeem = invitation["inviteRedeemUrl"].as_str().expect("inviteRedeemUrl");
    let redeemed = browser.run(redeem, Some(BOB), "https://apps.contoso.example").await;
    assert!(matches!(redeemed, Landing::Client(_)), "{redeemed:?}");
    let (bob_token, _) = sign_in(&server, &browser, BOB, "api://orders/Orders.Read", "").await;
    let (status, body) = exchange(&server, orders, &bob_token, "api://payroll/.default", &[]).await;
    assert_eq!(status, 200, "{body}");
    let guest = jwt_payload(body["access_token"].as_str().expect("access token"));
    assert_eq!((guest["user_type"].as_str(), guest["acct"].as_i64()), (Some("Guest"), Some(1)), "{guest}");
    assert_eq!((guest["home_tid"].as_str(), guest["idp"].as_str()), (Some(FABRIKAM_ID), Some(server.issuer(FABRIKAM_ID).as_str())));
    assert_eq!(guest["amr"], jwt_payload(&bob_token)["amr"]);

    server.stop().await;
}

/// Exchanging a token of one grant for another does not stretch the
/// sign-in: a refresh grant made by an exchange ends when one started at
/// the sign-in would (`tokens.refresh_family_ttl`, 2 s here, after it).
/// And a caller that asks each user's consent gets only what they consented to.
async fn exchanges_neither_stretch_a_sign_in_nor_skip_consent(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.tokens.refresh_family_ttl = 2;
        c.tenants[0].apps.push(b2b_idp::config::AppSeed {
            client_id: "consenting-api".into(),
            secret: Some(b2b_idp::util::Secret("consenting-api-secret".into())),
            identifier_uri: Some("api://consenting".into()),
            require_consent: true,
            delegated_permissions: [(PAYROLL.to_string(), vec!["Payroll.Read".to_string()])].into(),
            ..Default::default()
        });
    })
    .await;
    let admin = app_token(&server, CONTOSO).await;
    let (orders_id, orders_secret, _) = register_apis(&server, &admin).await;
    let orders = (orders_id.as_str(), orders_secret.as_str());
    grant(&server, &admin, DEMO_APP, "api://consenting", "Consenting.Read").await;
    let (alice_token, _) = sign_in(&server, &Browser::new(), ALICE, "api://orders/Orders.Read", "").await;
    let (alice_consenting, _) = sign_in(&server, &Browser::new(), ALICE, "api://consenting/Consenting.Read", "").await;
    let with_refresh = "api://payroll/.default offline_access";
    let (status, first) = exchange(&server, orders, &alice_token, with_refresh, &[]).await;
    assert!(status == 200 && first["refresh_token"].is_string(), "{first}");
    let consenting = ("consenting-api", "consenting-api-secret");
    refused(&exchange(&server, consenting, &alice_consenting, "api://payroll/.default", &[]).await, "invalid_grant", "consent_required");

    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    refused(&exchange(&server, orders, &alice_token, with_refresh, &[]).await, "invalid_grant", "too old for a refresh token");
    let refresh = first["refresh_token"].as_str().expect("refresh token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", orders.0), ("client_secret", orders.1)];
    let (status, body) = token_request(&server, CONTOSO, &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the first grant ended too: {body}");
    server.stop().await;
}

on_both_backends!(
    a_middle_tier_api_calls_another_for_the_user,
    a_guest_stays_a_guest_of_its_home,
    exchanges_neither_stretch_a_sign_in_nor_skip_consent
);
