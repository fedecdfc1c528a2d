//! The README's curl walk-through, run as written against a live demo (the
//! shipped config, on an ephemeral port), so the README cannot drift from
//! the product: every `sh` block of "A walk through with curl" and "Invite
//! your first guest" up to the bulk invitation, with the demo's address and
//! data directory replaced by the test server's. What a person does in a
//! browser (Alice's sign-in, for `$CODE`) the harness's browser does; lines
//! that need the server stopped (`cargo run … invite`) are left out. The
//! `private_key_jwt`, on-behalf-of, device code, PAR and logout examples
//! run too.

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

/// The logout example: the block registers the demo app's back-channel
/// URI and runs its stand-in endpoint (on a free port instead of 8401);
/// the harness's browser signs Alice in with the walk-through's URL and
/// out at the logout endpoint, and the endpoint prints the logout token's
/// claims for her session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logout_example_runs_as_written() {
    use tokio::io::AsyncBufReadExt;
    /// The block's process group (bash and its python), killed however the test ends.
    struct Group(i32);
    impl Drop for Group {
        fn drop(&mut self) {
            // SAFETY: plain kill(2) on the process group this test started.
            unsafe { libc::kill(-self.0, libc::SIGKILL) };
        }
    }
    let server = TestServer::start_with(Backend::Sled, |c| c.b2b.allowed_internal_networks = vec!["127.0.0.0/8".into()]).await;
    let readme = readme();
    let found = blocks(&readme, "### Signing out everywhere: back- and front-channel logout");
    let [(info, example)] = &found[..] else { panic!("one example: {found:?}") };
    assert_eq!(info, "sh");
    assert!(example.contains("127.0.0.1:8401/logout"), "the endpoint's address:\n{example}");
    let port = free_port();
    let script = example.replace(DEMO_BASE, &server.base).replace("8401", &port.to_string());
    let cwd = tempfile::tempdir().expect("dir");
    let mut block = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(cwd.path())
        .env_remove("PYTHONUNBUFFERED")
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("bash");
    let _group = Group(block.id().expect("running") as i32);
    let mut lines = tokio::io::BufReader::new(block.stdout.take().expect("stdout")).lines();
    assert_eq!(next_line(&mut lines, "registration").await, "204", "the back-channel URI is registered");
    // The endpoint listens before anyone signs out.
    let listening = async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), listening).await.expect("the endpoint listens");

    // Alice signs in with the walk-through's URL; the app gets her ID token.
    let authorize = blocks(&readme, "### A walk through with curl")
        .into_iter()
        .find(|(info, body)| info.is_empty() && body.contains("/authorize?"))
        .map(|(_, body)| body.trim().replace(DEMO_BASE, &server.base))
        .expect("the walk-through's authorize URL");
    let browser = Browser::new();
    let code = browser.run(&authorize, Some(ALICE), REDIRECT_URI).await.param("code").expect("a code for Alice");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
    let tokens: serde_json::Value = api()
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
        .form(&form)
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("tokens");
    let id_token = jwt_payload(tokens["id_token"].as_str().unwrap_or_else(|| panic!("an ID token: {tokens}")));

    // She signs out at the logout endpoint, confirming.
    assert!(readme.contains("http://127.0.0.1:8080/contoso/oauth2/v2.0/logout"), "the README's logout URL");
    let page = browser.http.get(server.url("/contoso/oauth2/v2.0/logout")).send().await.expect("logout").text().await.expect("body");
    let forms = post_forms(&page);
    let confirm = forms.first().unwrap_or_else(|| panic!("the confirmation form: {page}"));
    let done = browser.http.post(&confirm.action).form(&confirm.fields).send().await.expect("confirm");
    assert_eq!(done.status().as_u16(), 200);

    // The endpoint printed the logout token's claims, for her session.
    let printed = next_line(&mut lines, "the logout token's claims").await;
    let claims: serde_json::Value = serde_json::from_str(&printed).unwrap_or_else(|e| panic!("claims as JSON ({e}): {printed}"));
    assert_eq!(claims["events"], json!({"http://schemas.openid.net/event/backchannel-logout": {}}), "{claims}");
    assert_eq!((&claims["sid"], &claims["sub"], &claims["aud"]), (&id_token["sid"], &id_token["sub"], &json!(DEMO_APP)), "{claims}");
    assert!(claims["sid"].is_string(), "{claims}");
    server.stop().await;
}

/// The next line the block prints (within 20 s).
async fn next_line(lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>, what: &str) -> String {
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line()).await;
    line.unwrap_or_else(|_| panic!("no {what} within 20 s")).expect("read").unwrap_or_else(|| panic!("the block ended before {what}"))
}

on_both_backends!(walk_through);
