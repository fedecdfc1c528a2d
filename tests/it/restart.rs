//! The real binary, as an operator runs it: tokens survive a restart, and
//! `keys rotate` keeps old tokens verifiable while new ones use the new key.

use openidconnect::core::CoreIdToken;
use openidconnect::{JsonWebKey, Nonce, OAuth2TokenResponse, TokenResponse};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_survive_restart_and_key_rotation() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server =
        TestServer { base: format!("http://127.0.0.1:{port}"), running: None, _dir: tempfile::tempdir().expect("dir"), pg_schema: None };

    let child = serve(dir.path(), port, &format!("http://127.0.0.1:{port}"), &[]).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["offline_access"], true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let old_id_token = tokens.id_token().expect("id token").to_string();
    let old_kid = jwt_header(&old_id_token)["kid"].as_str().expect("kid").to_string();
    let refresh = tokens.refresh_token().expect("refresh").clone();
    // sled allows one process: admin commands say so while the server runs.
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["keys", "rotate", "--tenant", "contoso"])
        .output()
        .await
        .expect("keys rotate");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is another b2b-idp process using it?"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    terminate(child).await;

    // The operator rotates the signing key while the server is down (sled is single-process).
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["keys", "rotate", "--tenant", "contoso"])
        .output()
        .await
        .expect("keys rotate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("new active ES256 key"), "{printed}");

    let child = serve(dir.path(), port, &format!("http://127.0.0.1:{port}"), &[]).await;
    // A fresh RP (fresh JWKS) still verifies the token issued before restart and rotation.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let kids: Vec<String> = rp.metadata.jwks().keys().iter().filter_map(|k| k.key_id().map(|id| id.to_string())).collect();
    assert_eq!(kids.len(), 3, "old and new ES256 key (and the RS256 key) are published: {kids:?}");
    let old: CoreIdToken = old_id_token.parse().expect("parse");
    let verifier = rp.client.id_token_verifier();
    old.claims(&verifier, &pending.nonce).expect("old ID token verifies after restart and rotation");

    // The refresh token issued before the restart still works; new tokens use the new key.
    let refreshed =
        rp.client.exchange_refresh_token(&refresh).expect("endpoint").request_async(&rp.http).await.expect("refresh after restart");
    let new_id_token = refreshed.id_token().expect("id token");
    let new_kid = jwt_header(&new_id_token.to_string())["kid"].as_str().expect("kid").to_string();
    assert_ne!(new_kid, old_kid, "new tokens are signed with the rotated key");
    new_id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("new ID token verifies");
    terminate(child).await;

    // `keys list` shows one active and one retired ES256 key (and the active RS256 key).
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["keys", "list", "--tenant", "contoso"])
        .output()
        .await
        .expect("keys list");
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let es256: Vec<&str> = listing.lines().filter(|l| l.contains("\tES256\t")).collect();
    assert_eq!(es256.len(), 2, "{listing}");
    assert_eq!(es256.iter().filter(|l| l.ends_with("active")).count(), 1, "{listing}");
    assert_eq!(listing.lines().filter(|l| l.contains("\tRS256\t") && l.ends_with("active")).count(), 1, "{listing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reports_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["keys", "rotate", "--tenant", "nowhere"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tenant 'nowhere' not found"));
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["tenant", "create", "--name", FABRIKAM_ID])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success(), "an id-shaped tenant name would shadow that tenant's URLs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an id"));
    let out = idp_command(dir.path(), port, &format!("http://127.0.0.1:{port}"))
        .args(["--config", "/no/such/file.toml", "serve"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = serve_refused(dir.path(), port, &format!("http://127.0.0.1:{port}"), &[("B2B_IDP__SERVER__NO_SUCH_KEY", "1")]).await;
    assert!(!out.status.success(), "unknown config keys are refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_key"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `b2b-idp health` (the container health check): exit 0 while the server
/// of that configuration answers `/readyz`, non-zero once it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_command_follows_readyz() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let health = || idp_command(dir.path(), port, &public).arg("--config").arg(demo_config_path()).arg("health").output();
    let child = serve(dir.path(), port, &public, &[]).await;
    let up = health().await.expect("health");
    assert!(up.status.success() && String::from_utf8_lossy(&up.stdout).contains("ready"), "{up:?}");
    terminate(child).await;
    let down = health().await.expect("health");
    assert!(!down.status.success(), "no server, not healthy: {down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).contains("does not answer"), "{}", String::from_utf8_lossy(&down.stderr));
}

/// Directory writes survive `kill -9`: writers create users through the
/// admin API, the server is SIGKILLed at a random moment, restarted, and
/// every write it acknowledged (2xx) is there.
async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let server = TestServer::external(&public);
    let (store_url, schema) = match backend {
        Backend::Sled => (None, None),
        Backend::Postgres => {
            let (url, schema) = pg_schema_url().await;
            (Some(url), Some(schema))
        }
    };
    let env: Vec<(&str, &str)> = store_url.iter().map(|url| ("B2B_IDP__STORE__URL", url.as_str())).collect();
    let child = serve(dir.path(), port, &public, &env).await;
    let token = app_token(&server, CONTOSO).await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, token, acknowledged) = (server.url("/contoso/v1.0/users"), token.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let mail = format!("k{w}-{i}@contoso.example");
                    let body = serde_json::json!({"displayName": format!("K {w} {i}"), "mail": mail});
                    match api().post(&url).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status().is_success() => acknowledged.lock().expect("lock").push(mail),
                        _ => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    let moment = 200 + rand::random::<u64>() % 600;
    tokio::time::sleep(std::time::Duration::from_millis(moment)).await;
    let pid = child.id().expect("running") as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    for writer in writers {
        writer.await.expect("writer");
    }
    drop(child);
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(!acknowledged.is_empty(), "some writes were acknowledged before the kill");
    eprintln!("{backend:?}: SIGKILL at {moment} ms, after {} acknowledged writes", acknowledged.len());

    // Back on a fresh port: the killed one may already serve another test.
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let server = TestServer::external(&public);
    let child = serve(dir.path(), port, &public, &env).await;
    let token = app_token(&server, CONTOSO).await;
    let list = list_all(server.url("/contoso/v1.0/users"), &token).await;
    let present: std::collections::HashSet<&str> = list.iter().filter_map(|u| u["mail"].as_str()).collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|m| !present.contains(m.as_str())).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost after kill -9 at {moment} ms: {lost:?}", lost.len(), acknowledged.len());
    terminate(child).await;
    if let Some(schema) = schema {
        drop_pg_schema(&schema).await;
    }
}

on_both_backends!(acknowledged_writes_survive_kill_9);

/// A secret can come from a file (`B2B_IDP__SECTION__KEY_FILE`, as Docker
/// secrets are handed over): here the PostgreSQL URL. A file that cannot be
/// read stops the start with its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_from_files() {
    let dir = tempfile::tempdir().expect("dir");
    let (url, schema) = pg_schema_url().await;
    let secret = dir.path().join("store-url");
    std::fs::write(&secret, format!("{url}\n")).expect("write secret");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let secret_path = secret.display().to_string();
    let child = serve(dir.path(), port, &public, &[("B2B_IDP__STORE__URL_FILE", secret_path.as_str())]).await;
    let ready = get_json(&format!("{public}/readyz")).await;
    assert_eq!(ready["store"], "postgres", "the URL came from the file: {ready}");
    terminate(child).await;
    drop_pg_schema(&schema).await;

    let missing = dir.path().join("no-such-file");
    let out = serve_refused(dir.path(), port, &public, &[("B2B_IDP__STORE__URL_FILE", &missing.to_string_lossy())]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("B2B_IDP__STORE__URL_FILE") && stderr.contains("no-such-file"), "{stderr}");
}
