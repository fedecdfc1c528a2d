//! Request ids and logs, from a real server process: every response has a
//! `request-id`, a caller's `client-request-id` comes back (or a fresh one
//! when it is not an id), and the JSON log line of the request carries
//! both, with the app and tenant; text logs to a pipe have no colour codes.

use std::process::Stdio;

use crate::harness::*;

/// Starts `b2b-idp serve` with `log.format = format` at info level, its log going to a file.
async fn serve_logging(dir: &std::path::Path, format: &str) -> (tokio::process::Child, String, std::path::PathBuf) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.join("stderr.log");
    let mut cmd = idp_command(dir, port, &base);
    cmd.env("B2B_IDP__LOG__FORMAT", format).env("RUST_LOG", "info").stderr(Stdio::from(std::fs::File::create(&log).expect("log file")));
    let child = cmd.arg("--config").arg(demo_config_path()).arg("serve").spawn().expect("spawn b2b-idp");
    wait_ready(&format!("{base}/readyz")).await;
    (child, base, log)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_come_back_and_are_in_the_json_log() {
    let dir = tempfile::tempdir().expect("dir");
    let (child, base, log) = serve_logging(dir.path(), "json").await;
    let http = api();

    let mine = "7d1c9a52-3f0e-4b6a-9d2c-5e8f1a2b3c4d";
    let response = http
        .post(format!("{base}/contoso/oauth2/v2.0/token"))
        .basic_auth(ADMIN_CLI, Some(ADMIN_CLI_SECRET))
        .header("client-request-id", mine)
        .form(&[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);
    let request_id = header(&response, "request-id");
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "a request-id: {request_id:?}");
    assert_eq!(header(&response, "client-request-id"), mine, "the caller's id comes back");

    let other = http.get(format!("{base}/contoso/v2.0/.well-known/openid-configuration")).send().await.expect("discovery");
    assert_ne!(header(&other, "request-id"), request_id, "a new id per request");
    let junk = http.get(format!("{base}/healthz")).header("client-request-id", "not an id; <script>").send().await.expect("healthz");
    let replaced = header(&junk, "client-request-id");
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "a client-request-id that is not an id is replaced: {replaced:?}");
    let missing = http.get(format!("{base}/unknown-tenant/v2.0/.well-known/openid-configuration")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    assert!(!header(&missing, "request-id").is_empty(), "errors carry a request-id too");
    terminate(child).await;

    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    let line = lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str() && l["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no request line for {request_id} in:\n{text}"));
    let span = &line["span"];
    assert_eq!(span["client_request_id"], mine);
    assert_eq!(span["client_id"], ADMIN_CLI, "the app, named by the token endpoint: {line}");
    assert_eq!(span["tenant"], CONTOSO);
    assert_eq!(span["client_ip"], "127.0.0.1");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["path"].as_str().is_some_and(|p| p.ends_with("/oauth2/v2.0/token")), "{line}");
    assert!(!text.contains(ADMIN_CLI_SECRET), "no secret in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().expect("dir");
    let (child, base, log) = serve_logging(dir.path(), "text").await;
    api().get(format!("{base}/healthz")).send().await.expect("healthz");
    terminate(child).await;
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("request") && text.contains("request_id="), "{text}");
    assert!(!text.contains('\u{1b}'), "no ANSI escape codes when not a terminal:\n{text}");
}
