//! The README's curl walk-through, run as written against a live demo (the
//! shipped config, on an ephemeral port), so the README cannot drift from
//! the product: every `sh` block of "A walk through with curl" and "Invite
//! your first guest" up to the bulk invitation, with the demo's address and
//! data directory replaced by the test server's. What a person does in a
//! browser (Alice's sign-in, for `$CODE`) the harness's browser does; lines
//! that need the server stopped (`cargo run … invite`) are left out. The
//! `private_key_jwt`, on-behalf-of, device code and PAR examples run too.

use std::path::Path;

use serde_json::json;

use crate::harness::*;

const DEMO_BASE: &str = "http://127.0.0.1:8080";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md")
}

/// The fenced blocks of the section under `heading` (up to the next heading
/// of the same or a higher level), with their info string.
fn blocks(readme: &str, heading: &str) -> Vec<(String, String)> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut lines = readme.lines().skip_while(|l| *l != heading);
    assert!(lines.next().is_some(), "README has no section {heading:?}");
    let mut found = vec![];
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            found.push((info.to_string(), body.join("\n")));
        } else if line.starts_with('#') && line.chars().take_while(|&c| c == '#').count() <= level {
            break;
        }
    }
    found
}

/// Runs a README block with bash (`set -euo pipefail`) in `cwd`, pointed at
/// `server`; returns stdout, failing the test with stderr if a command fails.
async fn run(server: &TestServer, cwd: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let outbox = server.outbox().display().to_string();
    let script: Vec<String> = script
        .lines()
        .filter(|l| !l.starts_with("CODE=") && !l.starts_with("cargo run"))
        .map(|l| l.replace(DEMO_BASE, &server.base).replace("data/outbox", &outbox))
        .collect();
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{}", script.join("\n")))
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("bash runs (the walk-through needs bash, curl and jq: ./test.sh installs them)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "README block failed ({}):\n{}\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        script.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn walk_through(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cwd = tempfile::tempdir().expect("dir");
    let readme = readme();
    let issuer = server.issuer(CONTOSO_ID);

    let walk = blocks(&readme, "### A walk through with curl");
    let sh: Vec<&String> = walk.iter().filter(|(info, _)| info == "sh").map(|(_, body)| body).collect();
    assert_eq!(sh.len(), 2, "the walk-through has two sh blocks");
    let out = run(&server, cwd.path(), sh[0], &[]).await;
    assert!(out.contains(&format!("\"issuer\": \"{issuer}\"")), "discovery shows the issuer:\n{out}");
    assert!(out.contains("\"tenant_region_scope\": \"WW\""), "{out}");
    assert!(out.contains("\"alg\": \"ES256\""), "the keys:\n{out}");
    assert!(out.contains("\"token_type\": \"Bearer\""), "the app token:\n{out}");
    assert_eq!(out.lines().last(), Some("true"), "the introspected token is active:\n{out}");

    // The browser part: the authorize URL as the README gives it.
    let authorize = walk
        .iter()
        .find(|(info, body)| info.is_empty() && body.contains("/authorize?"))
        .map(|(_, body)| body.trim().replace(DEMO_BASE, &server.base))
        .expect("the README's authorize URL");
    let landing = Browser::new().run(&authorize, Some(("alice@contoso.example", "Alice-Passw0rd")), "http://127.0.0.1:8400/callback").await;
    assert_eq!(landing.param("state").as_deref(), Some("xyz"));
    let code = landing.param("code").expect("a code for Alice");
    let out = run(&server, cwd.path(), sh[1], &[("CODE", &code)]).await;
    assert!(out.contains("\"id_token\""), "the code exchange:\n{out}");
    assert!(out.contains("\"email\": \"alice@contoso.example\""), "userinfo:\n{out}");
    assert_eq!(out.matches("\"refresh_token\"").count(), 2, "the grant and the refresh each return a refresh token:\n{out}");

    let invite = blocks(&readme, "## Invite your first guest");
    let sh: Vec<&String> = invite.iter().filter(|(info, _)| info == "sh").map(|(_, body)| body).collect();
    let out = run(&server, cwd.path(), sh[0], &[]).await;
    assert!(out.contains("\"status\": \"PendingAcceptance\""), "the invitation:\n{out}");
    let link = out.lines().last().unwrap_or_default();
    assert!(link.starts_with(&server.base) && link.contains("/redeem?ticket="), "the link in the mail:\n{out}");
    // "the guest exists at once (userType Guest, externalUserState PendingAcceptance)"
    let json_end = out.rfind('}').expect("the invitation's JSON");
    let invitation: serde_json::Value = serde_json::from_str(&out[..=json_end]).expect("the invitation is JSON");
    let guest_id = invitation["invitedUser"]["id"].as_str().expect("invitedUser.id");
    let token = app_token(&server, CONTOSO).await;
    let (status, _, guest) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/users/{guest_id}")), &token, None).await;
    assert_eq!((status, &guest["userType"], &guest["externalUserState"]), (200, &json!("Guest"), &json!("PendingAcceptance")), "{guest}");

    // The bulk invitation uses the admin token the invitation block set.
    let bulk = sh.iter().find(|b| b.contains("guests.csv")).expect("the bulk invitation block");
    let out = run(&server, cwd.path(), bulk, &[("TOKEN", &token)]).await;
    assert_eq!(out.matches(",created").count(), 2, "both rows are invited:\n{out}");
    server.stop().await;
}

/// "Certificates instead of secrets": a certificate made with openssl,
/// registered through the admin API, an assertion signed with PyJWT (from
/// the suite's virtualenv), and a token for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_key_jwt_example_runs_as_written() {
    let server = TestServer::start(Backend::Sled).await;
    let cwd = tempfile::tempdir().expect("dir");
    let found = blocks(&readme(), "### Certificates instead of secrets: `private_key_jwt`");
    let [(info, example)] = &found[..] else { panic!("one example: {found:?}") };
    assert_eq!(info, "sh");
    let path = format!("{}:{}", python_bin("python3").parent().expect("bin").display(), std::env::var("PATH").unwrap_or_default());
    let out = run(&server, cwd.path(), example, &[("PATH", &path)]).await;
    assert_eq!(out.trim(), "Bearer", "a token, with no secret");
    server.stop().await;
}

/// The on-behalf-of example: the admin block registers the two APIs and
/// the grants, the harness's browser signs Alice in at the README's URL,
/// and the orders API (its id and secret handed over from the first
/// block, as one shell would keep them) gets a payroll token for her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_behalf_of_example_runs_as_written() {
    let server = TestServer::start(Backend::Sled).await;
    let cwd = tempfile::tempdir().expect("dir");
    let found = blocks(&readme(), "### An API that calls another API: on-behalf-of");
    let [(setup_info, setup), (url_info, authorize), (exchange_info, exchange)] = &found[..] else { panic!("three blocks: {found:?}") };
    assert_eq!((setup_info.as_str(), url_info.as_str(), exchange_info.as_str()), ("sh", "", "sh"));
    let out = run(&server, cwd.path(), &format!("{setup}\necho \"$ORDERS $ORDERS_SECRET\""), &[]).await;
    let Some((orders, secret)) = out.trim().rsplit_once(' ') else { panic!("the orders API's id and secret: {out}") };
    let authorize = authorize.trim().replace(DEMO_BASE, &server.base);
    let landing = Browser::new().run(&authorize, Some(ALICE), "http://127.0.0.1:8400/callback").await;
    let code = landing.param("code").unwrap_or_else(|| panic!("a code for Alice: {landing:?}"));
    let out = run(&server, cwd.path(), exchange, &[("CODE", &code), ("ORDERS", orders), ("ORDERS_SECRET", secret)]).await;
    assert_eq!(out.trim(), r#"{"token_type":"Bearer","scope":"api://payroll/.default"}"#);
    server.stop().await;
}

/// The device code example: the device's block runs while the harness's
/// browser, as the person, enters the code its message shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_code_example_runs_as_written() {
    use tokio::io::AsyncBufReadExt;
    let server = TestServer::start(Backend::Sled).await;
    let cli = crate::device::register_cli(&server).await;
    let found = blocks(&readme(), "### Devices without a browser: the device code flow");
    let [(info, example)] = &found[..] else { panic!("one example: {found:?}") };
    assert_eq!(info, "sh");
    let script = example.replace(DEMO_BASE, &server.base);
    let mut device = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .env("CLI", &cli)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash");
    let mut lines = tokio::io::BufReader::new(device.stdout.take().expect("stdout")).lines();
    let message = lines.next_line().await.expect("read").expect("the message");
    let code = message.split("enter the code ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a code in the message");
    let landing = crate::device::approve(&server, &Browser::new(), code, ALICE).await;
    assert_eq!(landing.param("status").as_deref(), Some("approved"), "{landing:?}");
    let tokens = lines.next_line().await.expect("read").expect("the tokens");
    assert_eq!(tokens, r#"{"token_type":"Bearer","scope":"openid offline_access"}"#);
    assert!(device.wait().await.expect("exit").success());
    server.stop().await;
}

/// The PAR example: the push, then the browser at the URL it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_par_example_runs_as_written() {
    let server = TestServer::start(Backend::Sled).await;
    let cwd = tempfile::tempdir().expect("dir");
    let found = blocks(&readme(), "### Pushed authorization requests (PAR)");
    let [(info, example)] = &found[..] else { panic!("one example: {found:?}") };
    assert_eq!(info, "sh");
    let out = run(&server, cwd.path(), example, &[]).await;
    let (pushed, url) = out.trim().split_once('\n').unwrap_or_else(|| panic!("two lines: {out}"));
    assert!(pushed.contains(r#""expires_in":60"#), "{pushed}");
    let landing = Browser::new().run(url, Some(ALICE), "http://127.0.0.1:8400/callback").await;
    assert!(landing.param("code").is_some() && landing.param("state").as_deref() == Some("xyz"), "{landing:?}");
    server.stop().await;
}

on_both_backends!(walk_through);
