//! The device authorization grant (RFC 8628): a device polls while the
//! person signs in at `/{tenant}/devicelogin` in a browser. Driven by MSAL
//! for Python over HTTPS (`initiate_device_flow`,
//! `acquire_token_by_device_flow`); a guest's sign-in at home and every
//! refusal by plain requests. Codes work once; guessing is bounded.

use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::harness::*;

const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A mobile and desktop app (a public client), registered through the admin API.
pub(crate) async fn register_cli(server: &TestServer) -> String {
    let admin = app_token(server, CONTOSO).await;
    let body = json!({"displayName": "Contoso CLI", "publicClient": {"redirectUris": ["http://localhost"]}});
    let (status, _, app) = call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), &admin, Some(body)).await;
    assert_eq!(status, 201, "{app}");
    app["appId"].as_str().expect("appId").to_string()
}

/// The person's part: the code at the page, the app confirmed, the sign-in.
pub(crate) async fn approve(server: &TestServer, browser: &Browser, user_code: &str, who: (&str, &str)) -> Landing {
    let page = browser.http.get(server.url(&format!("/contoso/devicelogin?user_code={user_code}"))).send().await.expect("page");
    let page = page.text().await.expect("page");
    let form = post_forms(&page).into_iter().find(|f| f.has("user_code")).unwrap_or_else(|| panic!("the code form: {page}"));
    assert_eq!(form.value("user_code"), Some(user_code), "verification_uri_complete fills the code in");
    let confirm = browser.http.post(&form.action).form(&form.filled(&[])).send().await.expect("enter the code");
    let confirm = confirm.text().await.expect("page");
    assert!(confirm.contains("Contoso CLI"), "the page names the app: {confirm}");
    let forms = post_forms(&confirm);
    assert_eq!(forms[0].value("decision"), Some("continue"), "the first form goes on: {confirm}");
    let response = browser.http.post(&forms[0].action).form(&forms[0].filled(&[])).send().await.expect("continue");
    browser.drive(response, Some(who), &server.url("/contoso/devicelogin?")).await
}

async fn msal_signs_a_device_in(backend: Backend) {
    let (server, _, ca_file, _certs) = start_https(backend).await;
    let metadata = get_json(&server.url(&format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"))).await;
    assert_eq!(metadata["device_authorization_endpoint"], server.url(&format!("/{CONTOSO_ID}/oauth2/v2.0/devicecode")));
    let cli = register_cli(&server).await;
    let mut msal = tokio::process::Command::new(python_bin("python"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/msal_device_flow.py"))
        .args([&server.base, CONTOSO_ID, &cli])
        .env("REQUESTS_CA_BUNDLE", &ca_file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python");
    let mut lines = tokio::io::BufReader::new(msal.stdout.take().expect("stdout")).lines();
    let flow: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("the flow")).expect("JSON");
    let user_code = flow["user_code"].as_str().unwrap_or_else(|| panic!("MSAL started no flow: {flow}"));
    assert_eq!(flow["verification_uri"], server.url("/contoso/devicelogin"), "{flow}");
    assert!(flow["message"].as_str().is_some_and(|m| m.contains(user_code)), "{flow}");
    let landing = approve(&server, &Browser::new(), user_code, ALICE).await;
    assert_eq!(landing.param("status").as_deref(), Some("approved"), "{landing:?}");
    let got: Value = serde_json::from_str(&lines.next_line().await.expect("read").expect("the result")).expect("JSON");
    assert!(got["access_token"].is_string() && got["refresh_token"].is_string(), "{got}");
    assert_eq!(got["id_token_claims"]["preferred_username"], ALICE.0, "{got}");
    assert_eq!(got["id_token_claims"]["aud"], cli.as_str());
    assert!(msal.wait().await.expect("exit").success());
    server.stop().await;
}

/// The device's poll: status and JSON.
async fn poll(server: &TestServer, client: &str, device_code: &str) -> (u16, Value) {
    token_request(server, CONTOSO, &[("grant_type", DEVICE_CODE), ("device_code", device_code), ("client_id", client)]).await
}

async fn start(server: &TestServer, client: &str) -> Value {
    let (status, flow) =
        token_endpoint_form(server, "devicecode", &[("client_id", client), ("scope", "openid profile offline_access")]).await;
    assert_eq!(status, 200, "{flow}");
    flow
}

async fn token_endpoint_form(server: &TestServer, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = api().post(server.url(&format!("/contoso/oauth2/v2.0/{endpoint}"))).form(form).send().await.expect("request");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn error_of(answer: &(u16, Value)) -> &str {
    answer.1["error"].as_str().unwrap_or_default()
}

/// Over plain HTTP (the guest's home is this same server, which it
/// reaches as any home): a guest signs a device in at home, with MFA at
/// both ends; the device is told to wait, to slow down, that the person
/// said no, that its code expired or was used.
async fn a_guest_signs_a_device_in_and_devices_are_refused_by_name(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cli = register_cli(&server).await;
    let admin = app_token(&server, CONTOSO).await;
    let (status, invitation) = crate::b2b::invite(&server, &admin, BOB.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let browser = Browser::new();
    let redeemed =
        browser.run(invitation["inviteRedeemUrl"].as_str().expect("redeem URL"), Some(BOB), "https://apps.contoso.example").await;
    assert!(matches!(redeemed, Landing::Client(_)), "{redeemed:?}");

    let flow = start(&server, &cli).await;
    assert_eq!((flow["expires_in"].as_i64(), flow["interval"].as_i64()), (Some(900), Some(5)), "{flow}");
    let (user_code, device_code) = (flow["user_code"].as_str().expect("user_code"), flow["device_code"].as_str().expect("device_code"));
    assert!(user_code.len() == 9 && user_code.chars().nth(4) == Some('-'), "{user_code}");
    assert_eq!(error_of(&poll(&server, &cli, device_code).await), "authorization_pending");
    let fast = poll(&server, &cli, device_code).await;
    assert_eq!(error_of(&fast), "slow_down", "{fast:?}");
    assert!(fast.1["error_description"].as_str().is_some_and(|d| d.contains("10 seconds")), "the interval grew: {fast:?}");
    assert_eq!(error_of(&poll(&server, &cli, &format!("{device_code}x")).await), "invalid_grant", "a wrong secret");
    let other_cli = register_cli(&server).await;
    assert_eq!(error_of(&poll(&server, &other_cli, device_code).await), "invalid_grant", "another client's code");
    assert_eq!(error_of(&poll(&server, DEMO_SPA, device_code).await), "unauthorized_client", "a client without the grant");

    // Bob signs the device in at home (a fresh browser: MFA at fabrikam and at contoso).
    let landing = approve(&server, &Browser::new(), user_code, BOB).await;
    assert_eq!(landing.param("status").as_deref(), Some("approved"), "{landing:?}");
    let (status, tokens) = poll(&server, &cli, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_payload(tokens["id_token"].as_str().expect("id_token"));
    assert_eq!((claims["user_type"].as_str(), claims["home_tid"].as_str()), (Some("Guest"), Some(FABRIKAM_ID)), "{claims}");
    assert_eq!((claims["amr"].clone(), claims["acr"].as_str()), (json!(["fed", "mfa"]), Some("2")), "{claims}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert_eq!(error_of(&poll(&server, &cli, device_code).await), "invalid_grant", "used once");
    let done = browser.http.get(server.url(&format!("/contoso/devicelogin?user_code={user_code}"))).send().await.expect("page");
    let done = done.text().await.expect("page");
    let form = post_forms(&done).into_iter().find(|f| f.has("user_code")).expect("the form");
    let again = browser.http.post(&form.action).form(&form.filled(&[])).send().await.expect("post");
    assert_eq!(again.status(), 400, "a used code is no longer waiting");

    // The person says no.
    let flow = start(&server, &cli).await;
    let device_code = flow["device_code"].as_str().expect("device_code");
    let browser = Browser::new();
    let page = browser.http.get(server.url("/contoso/devicelogin")).send().await.expect("page").text().await.expect("page");
    let form = post_forms(&page).into_iter().find(|f| f.has("user_code")).expect("the form");
    let lower = flow["user_code"].as_str().expect("user_code").to_lowercase().replace('-', " ");
    let confirm = browser.http.post(&form.action).form(&form.filled(&[("user_code", &lower)])).send().await.expect("post");
    let confirm = confirm.text().await.expect("page");
    let cancel = post_forms(&confirm).into_iter().find(|f| f.value("decision") == Some("cancel")).expect("the cancel form");
    // The confirmation is needed, and its forms belong to their code.
    let skipped: Vec<(String, String)> = cancel.filled(&[]).into_iter().filter(|(k, _)| k != "decision").collect();
    assert_eq!(browser.http.post(&cancel.action).form(&skipped).send().await.expect("post").status(), 400);
    let foreign = cancel.filled(&[("csrf_token", form.value("csrf_token").expect("token"))]);
    assert_eq!(browser.http.post(&cancel.action).form(&foreign).send().await.expect("post").status(), 400);
    let cancelled = browser.http.post(&cancel.action).form(&cancel.filled(&[])).send().await.expect("cancel");
    assert!(cancelled.text().await.expect("page").contains("was not signed in"));
    assert_eq!(error_of(&poll(&server, &cli, device_code).await), "access_denied");

    // Expired: fifteen minutes is all it waits.
    let flow = start(&server, &cli).await;
    let user_code = flow["user_code"].as_str().expect("user_code").replace('-', "");
    let store = &server.idp().store;
    let grant = store.device_grant(&user_code).await.expect("read").expect("the grant");
    let expired = b2b_idp::model::DeviceGrant { expires_at: b2b_idp::util::now() - 1, ..grant.clone() };
    assert!(store.replace_device_grant(&grant, &expired).await.expect("swap"));
    assert_eq!(error_of(&poll(&server, &cli, flow["device_code"].as_str().expect("code")).await), "expired_token");

    // Who may start one: a public client of the mobile and desktop kind; a confidential one with its secret.
    let refused = token_endpoint_form(&server, "devicecode", &[("client_id", DEMO_SPA), ("scope", "openid")]).await;
    assert_eq!(error_of(&refused), "unauthorized_client", "{refused:?}");
    let refused = token_endpoint_form(&server, "devicecode", &[("client_id", DEMO_APP), ("scope", "openid")]).await;
    assert_eq!((refused.0, error_of(&refused)), (401, "invalid_client"), "{refused:?}");
    let refused = token_endpoint_form(&server, "devicecode", &[("client_id", &cli), ("scope", "api://nowhere/x")]).await;
    assert_eq!(error_of(&refused), "invalid_scope", "{refused:?}");

    // Guessing: wrong codes from one address are bounded, then even a right one is refused for a while.
    let flow = start(&server, &cli).await;
    let guesser = Browser::new();
    let page = guesser.http.get(server.url("/contoso/devicelogin")).send().await.expect("page").text().await.expect("page");
    let form = post_forms(&page).into_iter().find(|f| f.has("user_code")).expect("the form");
    // Every code typed above came from this address (127.0.0.1) too: 20 in all.
    let mut wrong = 0;
    loop {
        let guess = guesser.http.post(&form.action).form(&form.filled(&[("user_code", "BCDF-GHJK")])).send().await.expect("guess");
        if guess.status() == 429 {
            break;
        }
        assert_eq!(guess.status(), 400);
        wrong += 1;
        assert!(wrong < 20, "unbounded guessing");
    }
    assert!(wrong >= 10, "{wrong} wrong codes before the bound");
    let right = flow["user_code"].as_str().expect("user_code");
    let refused = guesser.http.post(&form.action).form(&form.filled(&[("user_code", right)])).send().await.expect("guess");
    assert_eq!(refused.status(), 429);
    assert!(refused.text().await.expect("page").contains("Too many wrong codes"));

    // Polls while the person signs in are not failed sign-ins.
    let log = server.url(&format!("/contoso/v1.0/auditLogs/signIns?$filter=appId eq '{cli}' and status/errorCode eq 70008"));
    let (_, _, entries) = call(reqwest::Method::GET, log, &admin, None).await;
    let entries = entries["value"].as_array().expect("value");
    assert!(entries.iter().all(|e| !e["status"]["failureReason"].as_str().unwrap_or_default().contains("not finished")), "{entries:?}");
    server.stop().await;
}

on_both_backends!(msal_signs_a_device_in, a_guest_signs_a_device_in_and_devices_are_refused_by_name);
