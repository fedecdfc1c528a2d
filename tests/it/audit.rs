//! Operating it: the sign-in log and the directory audit log (Graph's
//! `auditLogs`), as an admin reads them, and `/metrics` as Prometheus
//! scrapes it, after real sign-ins, failures and admin changes. The lockout
//! and its unlock by the command line are here too.

use serde_json::{json, Value};

use crate::b2b::invite;
use crate::harness::*;

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A log's entries for `filter`, newest first, all pages.
pub async fn log(server: &TestServer, token: &str, which: &str, filter: &str) -> Vec<Value> {
    list_all(format!("{}?$filter={}", server.url(&format!("/contoso/v1.0/auditLogs/{which}")), encoded(filter)), token).await
}

/// The id of a contoso user by address.
pub async fn user_id(server: &TestServer, token: &str, email: &str) -> String {
    let users = list_all(server.url("/contoso/v1.0/users"), token).await;
    let user = users.iter().find(|u| u["mail"] == email || u["userPrincipalName"] == email).expect("user");
    user["id"].as_str().expect("id").to_string()
}

/// The value of a counter or gauge with these labels (0 if absent).
pub fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(ref buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            _ => 0.0,
        })
        .sum()
}

/// `/metrics`, parsed as a scraper parses it.
pub async fn scrape(server: &TestServer) -> prometheus_parse::Scrape {
    let response = api().get(server.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.expect("body");
    assert!(!text.contains("alice@") && !text.contains("?"), "no addresses or raw query strings in labels");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text format")
}

/// `b2b-idp serve` with the demo config on `backend`, a process of its
/// own: its metrics count this test's requests only.
async fn serve_alone(dir: &std::path::Path, backend: Backend) -> (tokio::process::Child, TestServer, Option<String>) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env = vec![];
    let mut schema = None;
    if backend == Backend::Postgres {
        let (url, name) = pg_schema_url().await;
        env.push(("B2B_IDP__STORE__URL", url));
        schema = Some(name);
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let child = serve(dir, port, &base, &env).await;
    (child, TestServer::external(&base), schema)
}

async fn sign_in_log_and_directory_audits(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (child, server, schema) = serve_alone(dir.path(), backend).await;
    let before = scrape(&server).await;
    let token = app_token(&server, CONTOSO).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let alice = user_id(&server, &token, ALICE.0).await;

    // A member's sign-in, a wrong password, then a policy that blocks her.
    let pending = rp.authorize(&[], true);
    let landing = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("{landing:?}"));
    rp.exchange(&code, pending.verifier).await.expect("tokens");
    let wrong = Browser::new().run(&rp.authorize(&[], true).url, Some((ALICE.0, "not her password")), REDIRECT_URI).await;
    assert!(matches!(&wrong, Landing::Page { body, .. } if body.contains("Incorrect email or password")), "{wrong:?}");
    let block = json!({
        "displayName": "Block Alice from the demo app",
        "state": "enabled",
        "conditions": {"users": {"includeUsers": [alice]}, "applications": {"includeApplications": [DEMO_APP]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    });
    let policies = server.url("/contoso/v1.0/identity/conditionalAccess/policies");
    let (status, _, policy) = call(reqwest::Method::POST, policies, &token, Some(block)).await;
    assert_eq!(status, 201, "{policy}");
    let blocked = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(matches!(&blocked, Landing::Page { status: 403, .. }), "{blocked:?}");
    let (status, _) = invite(&server, &token, "carol@fabrikam.example", json!({"sendInvitationMessage": false})).await;
    assert_eq!(status, 201);

    // The sign-in log, newest first: blocked (the policy named), wrong password, success.
    let hers = log(&server, &token, "signIns", &format!("userId eq '{alice}' and appId eq '{DEMO_APP}'")).await;
    let codes: Vec<i64> = hers.iter().map(|s| s["status"]["errorCode"].as_i64().expect("errorCode")).collect();
    assert_eq!(codes, [53003, 50126, 0], "{hers:#?}");
    let (blocked, wrong, ok) = (&hers[0], &hers[1], &hers[2]);
    assert_eq!(blocked["conditionalAccessStatus"], "failure");
    let applied = &blocked["appliedConditionalAccessPolicies"][0];
    assert_eq!((&applied["displayName"], &applied["result"]), (&json!("Block Alice from the demo app"), &json!("failure")));
    assert_eq!(applied["id"], policy["id"]);
    assert_eq!(wrong["authenticationDetails"][0]["succeeded"], false);
    assert_eq!(wrong["userPrincipalName"], ALICE.0);
    for entry in [ok, wrong, blocked] {
        assert_eq!((&entry["userType"], &entry["crossTenantAccessType"]), (&json!("member"), &json!("none")), "{entry}");
        assert_eq!((&entry["homeTenantId"], &entry["resourceTenantId"]), (&json!(CONTOSO_ID), &json!(CONTOSO_ID)));
        assert_eq!(entry["ipAddress"], "127.0.0.1");
        assert!(uuid::Uuid::parse_str(entry["correlationId"].as_str().expect("correlationId")).is_ok(), "{entry}");
        assert_eq!(entry["isInteractive"], true);
    }
    assert_eq!(ok["authenticationRequirement"], "singleFactorAuthentication");
    assert_eq!(ok["authenticationDetails"][0]["authenticationMethod"], "Password");
    // A password typed into the username box is not kept.
    let pasted = "correct horse battery staple";
    Browser::new().run(&rp.authorize(&[], true).url, Some((pasted, "x")), REDIRECT_URI).await;
    let failures = log(&server, &token, "signIns", "status/errorCode eq 50126").await;
    assert!(failures.len() >= 2 && failures.iter().all(|s| s["status"]["errorCode"] == 50126), "{failures:#?}");
    assert_eq!(failures[0]["userPrincipalName"], "(not an address)");
    assert!(!serde_json::to_string(&failures).expect("json").contains("horse"), "{failures:#?}");
    // The admin app's tokens: service principal sign-ins, those of the same
    // second one entry with a count (Entra's aggregation).
    for _ in 0..5 {
        app_token(&server, CONTOSO).await;
    }
    let apps = log(&server, &token, "signIns", &format!("appId eq '{ADMIN_CLI}'")).await;
    assert!(apps.iter().all(|s| s["signInEventTypes"] == json!(["servicePrincipal"]) && s["status"]["errorCode"] == 0), "{apps:#?}");
    let counted: u64 = apps.iter().map(|s| s["aggregatedCount"].as_u64().unwrap_or(1)).sum();
    assert_eq!(counted, 6, "every token counted once: {apps:#?}");
    assert!(apps.len() < 6 && apps.iter().any(|s| s["lastSignInDateTime"].is_string()), "aggregated: {apps:#?}");

    // Paging: one at a time, the next link keeps the filter.
    let url = format!("{}?$top=1&$filter={}", server.url("/contoso/v1.0/auditLogs/signIns"), encoded(&format!("userId eq '{alice}'")));
    let (status, _, first) = call(reqwest::Method::GET, url, &token, None).await;
    assert_eq!(status, 200, "{first}");
    let next = first["@odata.nextLink"].as_str().expect("a next page").to_string();
    assert!(next.contains("%24filter=") || next.contains("$filter="), "{next}");
    let (_, _, second) = call(reqwest::Method::GET, next, &token, None).await;
    assert_eq!(second["value"][0]["id"], hers[1]["id"], "the second page is the second entry");

    // The directory audit log: the policy and the invitation, by the admin app.
    let changes = log(&server, &token, "directoryAudits", &format!("initiatedBy/app/appId eq '{ADMIN_CLI}' and result eq 'success'")).await;
    let activities: Vec<&str> = changes.iter().map(|c| c["activityDisplayName"].as_str().expect("activity")).collect();
    assert_eq!(activities, ["Invite external user", "Add conditional access policy"], "{changes:#?}");
    let invited = &changes[0];
    assert_eq!(invited["targetResources"][0]["displayName"], "carol@fabrikam.example");
    assert_eq!(invited["initiatedBy"]["app"]["appId"], ADMIN_CLI);
    assert_eq!(changes[1]["targetResources"][0]["id"], policy["id"]);
    let url = format!("{}?$top=1", server.url("/contoso/v1.0/auditLogs/directoryAudits"));
    let (_, _, page) = call(reqwest::Method::GET, url, &token, None).await;
    assert_eq!(page["value"].as_array().map(Vec::len), Some(1));
    assert!(page["@odata.nextLink"].is_string());

    // What is not supported says so; nobody reads without a token.
    let bad = format!("{}?$filter={}", server.url("/contoso/v1.0/auditLogs/signIns"), encoded("userPrincipalName eq 'x'"));
    let (status, _, error) = call(reqwest::Method::GET, bad, &token, None).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["error"]["message"].as_str().expect("message").contains("userPrincipalName"), "{error}");
    let anonymous = api().get(server.url("/contoso/v1.0/auditLogs/signIns")).send().await.expect("anonymous");
    assert_eq!(anonymous.status(), 401);

    // Failures cost an attacker nothing once locked out, or with a public
    // client's made-up codes: one address adds a bounded number to the log;
    // past it they are counted only.
    for _ in 0..105 {
        let form = [("grant_type", "authorization_code"), ("client_id", DEMO_SPA), ("code", "made-up"), ("redirect_uri", REDIRECT_URI)];
        assert_eq!(token_request(&server, CONTOSO, &form).await.0, 400);
    }
    let junk = log(&server, &token, "signIns", &format!("appId eq '{DEMO_SPA}' and status/errorCode eq 70008")).await;
    assert!((90..=100).contains(&junk.len()), "at most 100 failures per address and window: {}", junk.len());

    // The counters moved, by bounded labels (any method name is a method to HTTP).
    let brew = reqwest::Method::from_bytes(b"BREW").expect("a method");
    api().request(brew, server.url("/contoso/oauth2/v2.0/token")).send().await.expect("BREW");
    let after = scrape(&server).await;
    assert!(sample(&after, "b2b_idp_http_requests_total", &[("method", "other")]) >= 1.0);
    assert_eq!(sample(&after, "b2b_idp_http_requests_total", &[("method", "BREW")]), 0.0);
    let moved = |name: &str, labels: &[(&str, &str)]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(moved("b2b_idp_sign_ins_total", &[("tenant", CONTOSO), ("outcome", "wrong_password"), ("user_type", "member")]), 1.0);
    assert_eq!(moved("b2b_idp_sign_ins_total", &[("tenant", CONTOSO), ("outcome", "wrong_password"), ("user_type", "unknown")]), 1.0);
    assert_eq!(moved("b2b_idp_sign_ins_total", &[("tenant", CONTOSO), ("outcome", "blocked"), ("user_type", "member")]), 1.0);
    assert_eq!(moved("b2b_idp_sign_ins_total", &[("tenant", CONTOSO), ("outcome", "success"), ("user_type", "member")]), 1.0);
    let granted = [("tenant", CONTOSO), ("grant_type", "client_credentials"), ("client_kind", "confidential")];
    assert_eq!(moved("b2b_idp_tokens_issued_total", &granted), 6.0);
    assert_eq!(moved("b2b_idp_tokens_issued_total", &[("tenant", CONTOSO), ("grant_type", "authorization_code")]), 1.0);
    assert_eq!(moved("b2b_idp_invitations_total", &[("tenant", CONTOSO), ("outcome", "created")]), 1.0);
    assert_eq!(
        moved("b2b_idp_sign_ins_total", &[("tenant", CONTOSO), ("outcome", "failure"), ("user_type", "unknown")]),
        105.0,
        "all counted"
    );
    assert!(moved("b2b_idp_http_requests_total", &[("route", "/:tenant/oauth2/v2.0/token"), ("method", "POST"), ("status", "200")]) >= 2.0);
    assert!(sample(&after, "b2b_idp_http_request_duration_seconds_count", &[("route", "/:tenant/oauth2/v2.0/token")]) >= 2.0);
    let backend_name = if backend == Backend::Sled { "sled" } else { "postgres" };
    assert!(sample(&after, "b2b_idp_store_operation_seconds_count", &[("backend", backend_name), ("operation", "app")]) >= 1.0);
    assert!(sample(&after, "b2b_idp_argon2_wait_seconds_count", &[]) >= 2.0, "password checks waited for a hashing thread");
    terminate(child).await;
    if let Some(schema) = schema {
        drop_pg_schema(&schema).await;
    }
}

/// Eleven wrong passwords lock Alice (logged, counted); the command line
/// unlocks her on a stopped server's store, and she signs in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_unlock_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), port, &base, &[]).await;
    let server = TestServer::external(&base);
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    for _ in 0..11 {
        Browser::new().run(&rp.authorize(&[], true).url, Some((ALICE.0, "wrong")), REDIRECT_URI).await;
    }
    let locked = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(matches!(&locked, Landing::Page { body, .. } if body.contains("Too many failed sign-ins")), "{locked:?}");
    let metrics = scrape(&server).await;
    assert!(sample(&metrics, "b2b_idp_lockouts_total", &[("kind", "password")]) >= 1.0);
    assert!(sample(&metrics, "b2b_idp_lockouts_active", &[]) >= 1.0);
    let token = app_token(&server, CONTOSO).await;
    let locked_out = log(&server, &token, "signIns", "status/errorCode eq 50053").await;
    assert!(locked_out.iter().any(|s| s["userPrincipalName"] == ALICE.0), "{locked_out:#?}");
    terminate(child).await;

    let mut unlock = idp_command(dir.path(), port, &base);
    unlock.arg("--config").arg(demo_config_path()).args(["user", "unlock", "--tenant", "contoso", "--user", ALICE.0]);
    let output = unlock.output().await.expect("b2b-idp user unlock");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("lockouts cleared"), "{stdout}");

    let child = serve(dir.path(), port, &base, &[]).await;
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "unlocked: {landing:?}");
    let token = app_token(&server, CONTOSO).await;
    let changes = log(&server, &token, "directoryAudits", "result eq 'success'").await;
    let unlocked = changes.iter().find(|c| c["activityDisplayName"] == "Unlock user sign-in").expect("the unlock is audited");
    assert_eq!(unlocked["initiatedBy"]["app"]["displayName"], "b2b-idp command line");
    terminate(child).await;
}

on_both_backends!(sign_in_log_and_directory_audits);

/// The starter dashboard queries only metrics the server describes.
#[test]
fn the_grafana_dashboard_queries_existing_metrics() {
    let dashboard = std::fs::read_to_string(deploy_file("grafana-dashboard.json")).expect("dashboard");
    let described = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/telemetry.rs")).expect("telemetry.rs");
    let parsed: Value = serde_json::from_str(&dashboard).expect("JSON");
    let mut queried = 0;
    for panel in parsed["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for name in expr.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| w.starts_with("b2b_idp_")) {
                let base = name.trim_end_matches("_bucket");
                assert!(described.contains(&format!("\"{base}\"")), "{base} (panel {}) is not a metric of the server", panel["title"]);
                queried += 1;
            }
        }
    }
    assert!(queried >= 12, "{queried}");
}
