//! The admin API's foundation: who may call it, Graph-shaped users, and the
//! "instant-on" replication-lag emulator.

use std::time::Duration;

use openidconnect::OAuth2TokenResponse;
use serde_json::{json, Value};

use crate::harness::*;

async fn users_crud_with_an_app_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let users = server.url("/contoso/v1.0/users");
    let (status, _, list) = call(reqwest::Method::GET, users.clone(), &token, None).await;
    assert_eq!(status, 200, "{list}");
    let alice = list["value"].as_array().expect("value").iter().find(|u| u["mail"] == ALICE.0).expect("alice listed").clone();
    assert_eq!(alice["userType"], "Member");
    assert_eq!(alice["accountEnabled"], true);
    assert!(alice["creationType"].is_null() && alice["externalUserState"].is_null());

    let new = json!({"displayName": "Carol", "userPrincipalName": "carol@contoso.example", "accountEnabled": true, "passwordProfile": {"password": "Carol-Passw0rd"}});
    let (status, _, carol) = call(reqwest::Method::POST, users.clone(), &token, Some(new.clone())).await;
    assert_eq!(status, 201, "{carol}");
    let id = carol["id"].as_str().expect("id").to_string();
    let (status, _, again) = call(reqwest::Method::POST, users.clone(), &token, Some(new)).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("Request_MultipleObjectsWithSameKeyValue")), "{again}");
    // With no lag, a read right after the write sees it.
    let (status, _, read) = call(reqwest::Method::GET, format!("{users}/{id}"), &token, None).await;
    assert_eq!((status, read["displayName"].as_str()), (200, Some("Carol")), "{read}");

    // Carol can sign in with the password the API set.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(("carol@contoso.example", "Carol-Passw0rd")), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");

    let (status, _, _) = call(reqwest::Method::DELETE, format!("{users}/{id}"), &token, None).await;
    assert_eq!(status, 204);
    let (status, _, gone) = call(reqwest::Method::GET, format!("{users}/{id}"), &token, None).await;
    assert_eq!((status, gone["error"]["code"].as_str()), (404, Some("Request_ResourceNotFound")), "{gone}");
    let (status, _, bad) = call(reqwest::Method::POST, users, &token, Some(json!({"userPrincipalName": 7}))).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("Request_BadRequest")), "{bad}");
    server.stop().await;
}

async fn only_the_right_callers_get_in(backend: Backend) {
    // demo-spa may act on behalf of users at the admin API (a test-only grant).
    let server = TestServer::start_with(backend, |c| {
        let spa = c.tenants[0].apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
        spa.delegated_permissions.insert("api://b2b-idp-admin".into(), vec!["Directory.AccessAsUser.All".into()]);
    })
    .await;
    let users = server.url("/contoso/v1.0/users");
    // No token, a token of another tenant, a token for another resource: 401.
    let (status, headers, body) = call(reqwest::Method::GET, users.clone(), "", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")), "{body}");
    assert!(headers.contains_key("www-authenticate"));
    let fabrikam = app_token(&server, FABRIKAM).await;
    assert_eq!(call(reqwest::Method::GET, users.clone(), &fabrikam, None).await.0, 401);
    let (_, own) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_APP),
            ("client_secret", DEMO_APP_SECRET),
            ("scope", "api://demo-app/.default"),
        ],
    )
    .await;
    assert_eq!(call(reqwest::Method::GET, users.clone(), own["access_token"].as_str().expect("token"), None).await.0, 401);

    // People act with their directory roles: a member is refused, naming the role; an admin gets in.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    for (user, expected) in [(ALICE, 403), (CONTOSO_ADMIN, 200)] {
        let pending = rp.authorize(&["api://b2b-idp-admin/.default"], true);
        let code = Browser::new().run(&pending.url, Some(user), REDIRECT_URI).await.param("code").expect("code");
        let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
        let access = tokens.access_token().secret().clone();
        assert_eq!(jwt_payload(&access)["scp"], "Directory.AccessAsUser.All");
        let (status, _, body) = call(reqwest::Method::GET, users.clone(), &access, None).await;
        assert_eq!(status, expected, "{}: {body}", user.0);
        if expected == 403 {
            assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
            assert!(body["error"]["message"].as_str().expect("message").contains("Global Administrator"), "{body}");
        }
    }
    server.stop().await;
}

async fn replication_lag_asks_clients_to_retry(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.store.replication_lag_ms = 1500).await;
    let token = app_token(&server, CONTOSO).await;
    let users = server.url("/contoso/v1.0/users");
    let new = json!({"displayName": "Dave", "userPrincipalName": "dave@contoso.example"});
    let (status, _, dave) = call(reqwest::Method::POST, users.clone(), &token, Some(new)).await;
    assert_eq!(status, 201, "{dave}");
    let url = format!("{users}/{}", dave["id"].as_str().expect("id"));
    // Read at once: a lagging replica has not seen Dave. The answer says when to retry.
    let (status, headers, body) = call(reqwest::Method::GET, url.clone(), &token, None).await;
    assert_eq!(status, 404, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // A client that retries with backoff gets him.
    let mut delay = Duration::from_millis(250);
    let mut attempts = 1;
    loop {
        tokio::time::sleep(delay).await;
        attempts += 1;
        let (status, _, body) = call(reqwest::Method::GET, url.clone(), &token, None).await;
        if status == 200 {
            assert_eq!(body["displayName"], "Dave");
            break;
        }
        assert_eq!(status, 404, "{body}");
        assert!(attempts < 8, "still not replicated after {attempts} attempts");
        delay *= 2;
    }
    server.stop().await;
}

/// Many admins changing different settings of one tenant at the same moment
/// (trust for eight partners, four conditional access policies): every
/// change survives. The tenant record is swapped on its version; before,
/// concurrent read-modify-writes lost changes.
async fn concurrent_setting_changes_all_survive(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let before = call(reqwest::Method::GET, server.url("/contoso/v1.0/identity/conditionalAccess/policies"), &token, None).await.2;
    let policies_before = before["value"].as_array().expect("value").len();
    let mut changes = vec![];
    for i in 0..8 {
        let url = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/partner-{i}"));
        let token = token.clone();
        changes.push(tokio::spawn(async move {
            call(reqwest::Method::PUT, url, &token, Some(json!({"inboundTrust": {"isMfaAccepted": true}}))).await.0
        }));
    }
    for i in 0..4 {
        let url = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
        let token = token.clone();
        let policy = json!({
            "displayName": format!("Policy {i}"),
            "conditions": {"users": {"includeUsers": ["GuestsOrExternalUsers"]}, "applications": {"includeApplications": [format!("app-{i}")]}},
            "grantControls": {"builtInControls": ["mfa"]},
        });
        changes.push(tokio::spawn(async move { call(reqwest::Method::POST, url, &token, Some(policy)).await.0 }));
    }
    for change in changes {
        assert!([200, 201].contains(&change.await.expect("task")), "every change is accepted");
    }
    for i in 0..8 {
        let url = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/partner-{i}"));
        let (status, _, body) = call(reqwest::Method::GET, url, &token, None).await;
        assert_eq!((status, &body["inboundTrust"]["isMfaAccepted"]), (200, &json!(true)), "partner-{i}: {body}");
    }
    let after = call(reqwest::Method::GET, server.url("/contoso/v1.0/identity/conditionalAccess/policies"), &token, None).await.2;
    assert_eq!(after["value"].as_array().expect("value").len(), policies_before + 4, "{after}");
    server.stop().await;
}

/// A conditional write (`If-Match`) with the token of the demo admin app.
async fn call_if_match(method: reqwest::Method, url: String, token: &str, if_match: &str, body: Option<Value>) -> (u16, String, Value) {
    let mut request = api().request(method, url).bearer_auth(token).header("If-Match", if_match);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").map(|v| v.to_str().expect("ascii").to_string()).unwrap_or_default();
    (status, etag, response.json().await.unwrap_or(Value::Null))
}

/// An admin changes a policy or a partner setting only over what they
/// read (`ETag` → `If-Match`, else 412); a change to another setting of
/// the tenant in between does not count against them. PATCH merges like
/// Graph's and names what it refuses.
async fn if_match_guards_setting_changes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let policies = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
    let policy = json!({
        "displayName": "Guests need MFA", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["GuestsOrExternalUsers"]}, "applications": {"includeApplications": ["All"]}},
        "grantControls": {"builtInControls": ["mfa"]},
    });
    let (status, _, created) = call(reqwest::Method::POST, policies.clone(), &token, Some(policy)).await;
    assert_eq!(status, 201, "{created}");
    let url = format!("{policies}/{}", created["id"].as_str().expect("id"));
    let (status, headers, _) = call(reqwest::Method::GET, url.clone(), &token, None).await;
    assert_eq!(status, 200);
    let read = headers.get("etag").expect("ETag").to_str().expect("ascii").to_string();

    // Another admin changes another setting meanwhile: no conflict.
    let partner = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{FABRIKAM_ID}"));
    let (status, _, _) = call(reqwest::Method::PUT, partner.clone(), &token, Some(json!({"inboundTrust": {"isMfaAccepted": true}}))).await;
    assert_eq!(status, 200);
    let (status, changed_tag, changed) =
        call_if_match(reqwest::Method::PATCH, url.clone(), &token, &read, Some(json!({"state": "disabled"}))).await;
    assert_eq!((status, changed["state"].as_str(), changed["displayName"].as_str()), (200, Some("disabled"), Some("Guests need MFA")));
    assert!(!changed_tag.is_empty() && changed_tag != read, "a new ETag: {changed_tag}");

    // The same read again is stale now: 412, and nothing changes.
    let (status, _, refused) =
        call_if_match(reqwest::Method::PATCH, url.clone(), &token, &read, Some(json!({"displayName": "Lost"}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (412, Some("preconditionFailed")), "{refused}");
    let weak = format!("W/{changed_tag}");
    let (status, _, _) = call_if_match(reqwest::Method::PATCH, url.clone(), &token, &weak, Some(json!({"displayName": "Lost"}))).await;
    assert_eq!(status, 412, "weak tags never match If-Match");
    let (_, _, now) = call(reqwest::Method::GET, url.clone(), &token, None).await;
    assert_eq!(now["displayName"], "Guests need MFA");

    // What PATCH refuses, by name.
    for (body, named) in [
        (json!({"conditions": {"users": {"includeUsers": []}}}), "conditions.users"),
        (json!({"sessionControls": {}}), "sessionControls"),
        (json!({"id": "another"}), "id"),
        (json!({"grantControls": {"builtInControls": ["compliantDevice"]}}), "builtInControls"),
    ] {
        let (status, _, refused) = call(reqwest::Method::PATCH, url.clone(), &token, Some(body.clone())).await;
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(named), "{body} → {status} {refused}");
    }

    // Partners: `*` needs one to exist; a stale tag is refused, the current one lands.
    let absent = server.url("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/no-such-partner");
    let (status, _, _) =
        call_if_match(reqwest::Method::PUT, absent, &token, "*", Some(json!({"inboundTrust": {"isMfaAccepted": true}}))).await;
    assert_eq!(status, 412, "If-Match: * on a partner that does not exist");
    let (_, headers, _) = call(reqwest::Method::GET, partner.clone(), &token, None).await;
    let partner_tag = headers.get("etag").expect("ETag").to_str().expect("ascii").to_string();
    let (status, _, _) =
        call_if_match(reqwest::Method::PATCH, partner.clone(), &token, &read, Some(json!({"inboundTrust": {"isMfaAccepted": false}})))
            .await;
    assert_eq!(status, 412, "another resource's tag");
    let (status, _, set) = call_if_match(
        reqwest::Method::PATCH,
        partner.clone(),
        &token,
        &partner_tag,
        Some(json!({"inboundTrust": {"isMfaAccepted": false}})),
    )
    .await;
    assert_eq!((status, &set["inboundTrust"]["isMfaAccepted"]), (200, &json!(false)), "{set}");

    // Deletes too.
    let (status, _, _) = call_if_match(reqwest::Method::DELETE, url.clone(), &token, &read, None).await;
    assert_eq!(status, 412);
    let (status, _, _) = call_if_match(reqwest::Method::DELETE, url.clone(), &token, &changed_tag, None).await;
    assert_eq!(status, 204);
    server.stop().await;
}

/// `GET /users` pages (`$top`, `@odata.nextLink`): following the links
/// visits every user once; what paging cannot take is a 400 naming it.
async fn users_are_listed_in_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    for i in 0..30 {
        let body = json!({"displayName": format!("P{i}"), "userPrincipalName": format!("p{i}@contoso.example")});
        let (status, _, user) = call(reqwest::Method::POST, server.url("/contoso/v1.0/users"), &token, Some(body)).await;
        assert_eq!(status, 201, "{user}");
    }
    let (_, _, everyone) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users?$top=999"), &token, None).await;
    let total = everyone["value"].as_array().expect("value").len();
    assert!(total >= 30 && everyone.get("@odata.nextLink").is_none(), "one page holds them all: {total}");

    let (mut next, mut seen, mut pages) = (Some(server.url("/contoso/v1.0/users?$top=7")), vec![], 0);
    while let Some(url) = next.take() {
        let (status, _, page) = call(reqwest::Method::GET, url, &token, None).await;
        assert_eq!(status, 200, "{page}");
        let value = page["value"].as_array().expect("value");
        assert!(value.len() <= 7);
        seen.extend(value.iter().map(|u| u["id"].as_str().expect("id").to_string()));
        next = page["@odata.nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= total, "the links end");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (total, total), "every user once");

    for (query, named) in [("$top=0", "$top"), ("$top=1000", "$top"), ("$top=x", "$top"), ("$skiptoken=%25%25", "$skiptoken")] {
        let (status, _, refused) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/users?{query}")), &token, None).await;
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(named), "{query}: {status} {refused}");
    }
    server.stop().await;
}

on_both_backends!(
    users_are_listed_in_pages,
    if_match_guards_setting_changes,
    users_crud_with_an_app_token,
    only_the_right_callers_get_in,
    replication_lag_asks_clients_to_retry,
    concurrent_setting_changes_all_survive
);
