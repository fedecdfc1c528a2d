//! The admin API's foundation: who may call it, Graph-shaped users, and the
//! "instant-on" replication-lag emulator.

use std::time::Duration;

use openidconnect::OAuth2TokenResponse;
use serde_json::{json, Value};

use b2b_idp::model::{User, UserType};

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
    // /me is a person's: an app's token is told so.
    let (status, _, refused) = call(reqwest::Method::GET, server.url("/contoso/v1.0/me"), &app_token(&server, CONTOSO).await, None).await;
    assert!(status == 400 && refused["error"]["message"].as_str().is_some_and(|m| m.contains("delegated")), "{status} {refused}");

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
        // Anyone reads themselves at /me, whatever their roles.
        let (status, _, me) = call(reqwest::Method::GET, server.url("/contoso/v1.0/me"), &access, None).await;
        assert_eq!((status, me["mail"].as_str(), me["userType"].as_str()), (200, Some(user.0), Some("Member")), "{me}");
        let (status, _, groups) = call(reqwest::Method::GET, server.url("/contoso/v1.0/me/memberOf"), &access, None).await;
        assert!(status == 200 && groups["value"].is_array(), "{status} {groups}");
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

/// Every page of a list, following `@odata.nextLink` from `url`: the
/// items' ids, and how many pages it took.
async fn walk(url: String, token: &str, top: usize) -> (Vec<String>, usize) {
    let (mut next, mut seen, mut pages) = (Some(url), vec![], 0);
    while let Some(url) = next.take() {
        let (status, _, page) = call(reqwest::Method::GET, url, token, None).await;
        assert_eq!(status, 200, "{page}");
        let value = page["value"].as_array().expect("value");
        assert!(value.len() <= top, "{} on a page of {top}", value.len());
        seen.extend(value.iter().map(|u| u["id"].as_str().expect("id").to_string()));
        next = page["@odata.nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= 20_000, "the links end");
    }
    (seen, pages)
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /users` pages (`$top`, `@odata.nextLink`): following the links
/// through 10,001 users visits each exactly once; `$filter` narrows, an
/// `eq` on the address is one lookup; what cannot be taken is a 400
/// naming it.
async fn users_are_listed_in_pages(backend: Backend) {
    use futures_util::StreamExt;
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let store = server.idp().store.clone();
    futures_util::stream::iter(0..10_001)
        .for_each_concurrent(16, |i| {
            let store = store.clone();
            async move {
                let mut user = User::new(CONTOSO_ID, &format!("p{i:05}@contoso.example"), &format!("P{i:05}"), UserType::Member);
                user.enabled = i % 1000 != 7;
                store.create_user(&user).await.expect("create user");
            }
        })
        .await;
    let (_, _, first) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &token, None).await;
    assert_eq!(first["value"].as_array().map(Vec::len), Some(100), "100 by default");

    let (seen, pages) = walk(server.url("/contoso/v1.0/users?$top=999"), &token, 999).await;
    let total = seen.len();
    assert!(total >= 10_001 + 2, "{total}");
    assert_eq!(pages, total.div_ceil(999), "full pages until the last");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), total, "every user exactly once");

    // Filters: the next link keeps the filter; a sparse filter still ends.
    let filtered = |f: &str, top: usize| walk(server.url(&format!("/contoso/v1.0/users?$top={top}&$filter={}", encoded(f))), &token, top);
    assert_eq!(filtered("startswith(displayName,'p0001')", 3).await.0.len(), 10, "P00010 to P00019");
    assert_eq!(filtered("accountEnabled eq false and startswith(mail,'p')", 5).await.0.len(), 10, "p00007, p01007, … p09007 are disabled");
    assert_eq!(filtered("userType eq 'Guest'", 50).await.0.len(), 0);
    let (one, pages) = filtered("mail eq 'P00042@Contoso.example'", 10).await;
    assert_eq!((one.len(), pages), (1, 1), "one lookup");

    // $count: the first page says how many match in all.
    let counted = |query: String| {
        let url = server.url(&format!("/contoso/v1.0/users?{query}"));
        let token = token.clone();
        async move { call(reqwest::Method::GET, url, &token, None).await.2 }
    };
    let page = counted(format!("$count=true&$top=3&$filter={}", encoded("accountEnabled eq false"))).await;
    // (A sparse filter's page may hold fewer than $top: at most 2,000 users are read per page.)
    assert_eq!(page["@odata.count"].as_u64(), Some(10), "{page}");
    assert!(page["value"].as_array().is_some_and(|v| v.len() <= 3), "{page}");
    assert_eq!(counted("$count=true&$top=1".into()).await["@odata.count"].as_u64(), Some(total as u64));
    let page = counted(format!("$count=true&$filter={}", encoded("mail eq 'p00042@contoso.example'"))).await;
    assert_eq!(page["@odata.count"].as_u64(), Some(1), "{page}");
    assert!(counted("$top=1".into()).await.get("@odata.count").is_none(), "only when asked");
    for (query, named) in [
        ("$top=0", "$top"),
        ("$top=1000", "$top"),
        ("$top=x", "$top"),
        ("$skiptoken=%25%25", "$skiptoken"),
        ("$filter=jobTitle%20eq%20'x'", "startswith(displayName, '…')"),
        ("$filter=userType%20ne%20'Guest'", "operator 'ne'"),
        ("$filter=mail%20eq%20'x'%20or%20mail%20eq%20'y'", "'or'"),
        ("$count=maybe", "$count"),
    ] {
        let (status, _, refused) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/users?{query}")), &token, None).await;
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(named), "{query}: {status} {refused}");
    }
    server.stop().await;
}

/// Groups, a group's members, applications, policies and providers page
/// and filter like users.
async fn every_list_pages_and_filters(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let groups = server.url("/contoso/v1.0/groups");
    let mut ids = vec![];
    for name in ["Sales", "Support", "Engineering", "Security", "Finance"] {
        let (status, _, group) = call(reqwest::Method::POST, groups.clone(), &token, Some(json!({"displayName": name}))).await;
        assert_eq!(status, 201, "{group}");
        ids.push(group["id"].as_str().expect("id").to_string());
    }
    let (seen, pages) = walk(format!("{groups}?$top=2"), &token, 2).await;
    assert_eq!((seen.len(), pages), (5, 3));
    let (seen, _) = walk(format!("{groups}?$top=1&$filter={}", encoded("startswith(displayName,'s')")), &token, 1).await;
    assert_eq!(seen.len(), 3, "Sales, Support, Security");
    let (_, _, counted) = call(reqwest::Method::GET, format!("{groups}?$top=1&$count=true"), &token, None).await;
    assert_eq!(counted["@odata.count"].as_u64(), Some(5), "{counted}");
    let (status, _, refused) = call(reqwest::Method::GET, server.url("/contoso/v1.0/auditLogs/signIns?$count=true"), &token, None).await;
    assert!(status == 400 && refused["error"]["message"].as_str().is_some_and(|m| m.contains("$count")), "{refused}");

    let members = server.url(&format!("/contoso/v1.0/groups/{}/members", ids[0]));
    for i in 0..5 {
        let body = json!({"displayName": format!("M{i}"), "userPrincipalName": format!("m{i}@contoso.example")});
        let (_, _, user) = call(reqwest::Method::POST, server.url("/contoso/v1.0/users"), &token, Some(body)).await;
        let reference =
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", user["id"].as_str().expect("id"))});
        let (status, _, _) = call(reqwest::Method::POST, format!("{members}/$ref"), &token, Some(reference)).await;
        assert_eq!(status, 204);
    }
    let (seen, pages) = walk(format!("{members}?$top=2"), &token, 2).await;
    assert_eq!((seen.len(), pages), (5, 3));
    let (seen, _) = walk(format!("{members}?$filter={}", encoded("mail eq 'm3@contoso.example'")), &token, 100).await;
    assert_eq!(seen.len(), 1);

    let apps = server.url("/contoso/v1.0/applications");
    let (seen, _) = walk(format!("{apps}?$top=1"), &token, 1).await;
    assert!(seen.contains(&DEMO_APP.to_string()) && seen.contains(&ADMIN_CLI.to_string()), "{seen:?}");
    let (seen, pages) = walk(format!("{apps}?$filter={}", encoded(&format!("appId eq '{DEMO_SPA}'"))), &token, 100).await;
    assert_eq!((seen, pages), (vec![DEMO_SPA.to_string()], 1));
    let (seen, _) = walk(format!("{apps}?$filter={}", encoded("startswith(displayName,'contoso demo')")), &token, 100).await;
    assert_eq!(seen, [DEMO_APP, DEMO_SPA]);

    let policies = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
    let (seen, pages) = walk(format!("{policies}?$top=1"), &token, 1).await;
    assert_eq!((seen.len(), pages), (2, 2), "the demo's two policies");
    let (seen, _) = walk(format!("{policies}?$filter={}", encoded("displayName eq 'guests need mfa'")), &token, 100).await;
    assert_eq!(seen.len(), 1);
    let (seen, _) = walk(server.url("/contoso/v1.0/identity/identityProviders?$top=5"), &token, 5).await;
    assert!(seen.is_empty());
    let (status, _, _) = call(reqwest::Method::GET, format!("{policies}?$skiptoken=bm90LWEtbnVtYmVy"), &token, None).await;
    assert_eq!(status, 400, "a skiptoken of another list");
    server.stop().await;
}

/// PATCH a user: names and title change, `accountEnabled = false` ends a
/// live refresh grant and blocks sign-in with Entra's message, each in
/// the directory audit log; what cannot change is refused by name; a
/// privileged user is only a Global Administrator's (or a role-managing
/// app's) to change.
async fn users_are_changed_and_disabled(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        let cli = c.tenants[0].apps.iter_mut().find(|a| a.client_id == ADMIN_CLI).expect("admin-cli");
        for roles in cli.api_permissions.values_mut() {
            roles.retain(|r| r != "RoleManagement.ReadWrite.Directory");
        }
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    let users = list_all(server.url("/contoso/v1.0/users"), &token).await;
    let id_of = |mail: &str| users.iter().find(|u| u["mail"] == mail).and_then(|u| u["id"].as_str()).expect("listed").to_string();
    let alice = server.url(&format!("/contoso/v1.0/users/{}", id_of(ALICE.0)));
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["offline_access"], true);
    let landing = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await;
    let tokens = rp.exchange(&landing.param("code").expect("code"), pending.verifier).await.expect("tokens");
    let refresh = tokens.refresh_token().expect("refresh token").secret().clone();

    let rename = json!({"displayName": "Alice Liddell", "givenName": "Alice", "surname": "Liddell", "jobTitle": "Engineer"});
    let (status, _, body) = call(reqwest::Method::PATCH, alice.clone(), &token, Some(rename)).await;
    assert_eq!(status, 204, "{body}");
    let (_, _, read) = call(reqwest::Method::GET, alice.clone(), &token, None).await;
    assert_eq!(
        (read["displayName"].as_str(), read["surname"].as_str(), read["jobTitle"].as_str()),
        (Some("Alice Liddell"), Some("Liddell"), Some("Engineer")),
        "{read}"
    );
    let (status, _, _) = call(reqwest::Method::PATCH, alice.clone(), &token, Some(json!({"jobTitle": null}))).await;
    assert_eq!(status, 204);
    let (_, _, read) = call(reqwest::Method::GET, alice.clone(), &token, None).await;
    assert!(read["jobTitle"].is_null() && read["givenName"] == "Alice", "null clears, absent keeps: {read}");

    for (body, named) in [
        (json!({"userType": "Guest"}), "userType"),
        (json!({"displayName": "  "}), "displayName"),
        (json!({"givenName": "x".repeat(65)}), "givenName"),
        (json!({"accountEnabled": "no"}), "accountEnabled"),
    ] {
        let (status, _, refused) = call(reqwest::Method::PATCH, alice.clone(), &token, Some(body.clone())).await;
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(named), "{body}: {status} {refused}");
    }

    let (status, _, _) = call(reqwest::Method::PATCH, alice.clone(), &token, Some(json!({"accountEnabled": false}))).await;
    assert_eq!(status, 204);
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)];
    let (status, refused) = token_request(&server, CONTOSO, &form).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "the refresh grant ended: {refused}");
    let pending = rp.authorize(&[], true);
    let landing = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await;
    let Landing::Page { body, .. } = &landing else { panic!("a disabled account gets no code: {landing:?}") };
    assert!(body.contains("Your account has been disabled"), "{body}");
    // A wrong password says nothing about the account's state.
    let landing = Browser::new().run(&pending.url, Some((ALICE.0, "Wrong-Passw0rd")), REDIRECT_URI).await;
    let Landing::Page { body, .. } = &landing else { panic!("{landing:?}") };
    assert!(body.contains("Incorrect email or password") && !body.contains("disabled"), "{body}");

    let (status, _, _) = call(reqwest::Method::PATCH, alice.clone(), &token, Some(json!({"accountEnabled": true}))).await;
    assert_eq!(status, 204);
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "enabled again: {landing:?}");

    let audits = list_all(server.url("/contoso/v1.0/auditLogs/directoryAudits"), &token).await;
    let disabled = audits.iter().find(|a| a["activityDisplayName"] == "Disable account").expect("logged");
    let modified = &disabled["targetResources"][0]["modifiedProperties"][0];
    assert_eq!(
        (modified["displayName"].as_str(), modified["oldValue"].as_str(), modified["newValue"].as_str()),
        (Some("AccountEnabled"), Some("true"), Some("false")),
        "{disabled}"
    );
    assert!(audits.iter().any(|a| a["activityDisplayName"] == "Update user"), "{audits:#?}");
    let signins = list_all(server.url("/contoso/v1.0/auditLogs/signIns"), &token).await;
    assert!(signins.iter().any(|s| s["status"]["errorCode"] == 50057), "{signins:#?}");

    // The Global Administrator: not without RoleManagement.ReadWrite.Directory.
    let admin = server.url(&format!("/contoso/v1.0/users/{}", id_of(CONTOSO_ADMIN.0)));
    let (status, _, refused) = call(reqwest::Method::PATCH, admin, &token, Some(json!({"accountEnabled": false}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")), "{refused}");
    server.stop().await;
}

/// Paths the admin API does not have and methods a resource does not take
/// answer in Graph's JSON, a 405 with `Allow`.
async fn unknown_admin_routes_answer_graph_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let (status, _, body) = call(reqwest::Method::GET, server.url("/contoso/v1.0/nothing/here"), &token, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("Request_ResourceNotFound")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("/v1.0/nothing/here")), "{body}");
    let (status, headers, body) = call(reqwest::Method::PUT, server.url("/contoso/v1.0/users"), &token, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("Request_BadRequest")), "{body}");
    assert_eq!(headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
    let (status, headers, _) = call(reqwest::Method::POST, server.url("/contoso/v1.0/users/some-id"), &token, None).await;
    assert_eq!((status, headers.get("allow").and_then(|v| v.to_str().ok())), (405, Some("GET, PATCH, DELETE")));
    server.stop().await;
}

/// The command line's user commands on a stopped server's store: disable
/// (and Alice's sign-in is refused), enable, delete, and directory roles
/// that must exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    terminate(serve(dir.path(), port, &base, &[]).await).await;
    let cli = |args: &'static [&'static str]| idp_cli(dir.path(), port, &base, args);
    let (ok, text) = cli(&["user", "disable", "--tenant", "contoso", "--user", ALICE.0]).await;
    assert!(ok && text.contains("disabled"), "{text}");
    let (ok, text) =
        cli(&["user", "create", "--tenant", "contoso", "--email", "carol@contoso.example", "--role", "Galactic Emperor"]).await;
    assert!(!ok && text.contains("no directory role 'Galactic Emperor'"), "{text}");
    let (ok, text) = cli(&["user", "create", "--tenant", "contoso", "--email", "carol@contoso.example", "--role", "Guest Inviter"]).await;
    assert!(ok, "{text}");
    let (ok, text) = cli(&["user", "delete", "--tenant", "contoso", "--user", "carol@contoso.example"]).await;
    assert!(ok && text.contains("deleted"), "{text}");
    let (ok, listed) = cli(&["user", "list", "--tenant", "contoso"]).await;
    assert!(ok && !listed.contains("carol@") && listed.lines().any(|l| l.contains(ALICE.0) && l.contains("\tdisabled")), "{listed}");

    let child = serve(dir.path(), port, &base, &[]).await;
    let rp = Rp::discover(&TestServer::external(&base), CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(matches!(&landing, Landing::Page { body, .. } if body.contains("disabled")), "{landing:?}");
    terminate(child).await;
    let (ok, text) = cli(&["user", "enable", "--tenant", "contoso", "--user", ALICE.0]).await;
    assert!(ok && text.contains("enabled"), "{text}");
}

on_both_backends!(
    every_list_pages_and_filters,
    users_are_changed_and_disabled,
    unknown_admin_routes_answer_graph_errors,
    users_are_listed_in_pages,
    if_match_guards_setting_changes,
    users_crud_with_an_app_token,
    only_the_right_callers_get_in,
    replication_lag_asks_clients_to_retry,
    concurrent_setting_changes_all_survive
);
