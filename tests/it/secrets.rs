//! Secrets at rest: after a member enrols an authenticator app, neither its
//! TOTP secret nor the tenant's signing key is anywhere in the sled files or
//! the PostgreSQL tables (searched as raw bytes, base64, base32 and hex);
//! `b2b-idp store rekey` moves everything under a new key, and a server
//! that holds only the new key keeps every login, token and TOTP working.

use b2b_idp::util::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openidconnect::OAuth2TokenResponse;

use crate::harness::*;

/// The key the secrets move to (tests only).
const NEW_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Alice signs in to the demo app with MFA (enrolling on the first time);
/// returns her refresh token and the access token's `kid`.
async fn alice_with_mfa(server: &TestServer) -> (String, String) {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["offline_access"], true);
    let landing = Browser::new().run(&format!("{}&acr_values=2", pending.url), Some(ALICE), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("no code: {landing:?}"));
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let access = tokens.access_token().secret();
    assert_eq!(jwt_payload(access)["acr"], "2", "signed in with MFA");
    let kid = jwt_header(access)["kid"].as_str().expect("kid").to_string();
    (tokens.refresh_token().expect("refresh token").secret().clone(), kid)
}

fn authenticator_key(server: &TestServer) -> String {
    format!("{}/{CONTOSO}|{}", server.base, ALICE.0)
}

/// Everything the store keeps, as bytes: every file of the sled directory,
/// or every row of the test's PostgreSQL schema as text.
async fn store_contents(backend: Backend, server: &TestServer, data: &std::path::Path) -> Vec<u8> {
    let mut all = vec![];
    match backend {
        Backend::Sled => {
            let mut dirs = vec![data.to_path_buf()];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).expect("read dir") {
                    let path = entry.expect("entry").path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else {
                        all.extend(std::fs::read(&path).expect("read file"));
                    }
                }
            }
        }
        Backend::Postgres => {
            let schema = server.pg_schema.as_deref().expect("schema");
            let pg = pg_admin().await;
            let tables = pg
                .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1", &[&schema])
                .await
                .expect("tables");
            for table in tables {
                let name: String = table.get(0);
                let sql = format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {schema}.\"{name}\" t");
                let rows: String = pg.query_one(&sql, &[]).await.expect("dump").get(0);
                all.extend(rows.into_bytes());
            }
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `b2b-idp store rekey --new-key-file …` against the test's store.
async fn rekey(config: &b2b_idp::config::Config, new_key_file: &std::path::Path) -> String {
    let mut cmd = tokio::process::Command::new(IDP_BIN);
    cmd.arg("--config").arg(demo_config_path()).args(["store", "rekey", "--new-key-file"]).arg(new_key_file);
    cmd.env("B2B_IDP__STORE__PATH", &config.store.path).env("RUST_LOG", "warn");
    if let Some(url) = &config.store.url {
        cmd.env("B2B_IDP__STORE__URL", url.expose());
    }
    if let Some(key) = &config.store.encryption_key {
        cmd.env("B2B_IDP__STORE__ENCRYPTION_KEY", key.expose());
    }
    let out = cmd.output().await.expect("run rekey");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "rekey: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn secrets_are_sealed_at_rest_and_survive_a_rekey(backend: Backend) {
    let files = tempfile::tempdir().expect("dir");
    let pem = rcgen::KeyPair::generate().expect("P-256 key");
    let pem_path = files.path().join("contoso.pem");
    std::fs::write(&pem_path, pem.serialize_pem()).expect("write pem");
    let new_key_file = files.path().join("new.key");
    std::fs::write(&new_key_file, format!("{NEW_KEY}\n")).expect("write key");

    let mut config = None;
    let mut server = TestServer::start_with(backend, |c| {
        c.tenants[0].signing_key_file = Some(pem_path.clone());
        if backend == Backend::Postgres {
            // Online rekey: instances open the new key before anything is sealed with it.
            c.store.old_encryption_keys = vec![Secret(NEW_KEY.into())];
        }
        config = Some(c.clone());
    })
    .await;
    let mut config = config.expect("config");
    let (mut refresh, kid) = alice_with_mfa(&server).await;
    let totp_b32 = authenticator_secret(&authenticator_key(&server));
    let totp_raw = totp_rs::Secret::Encoded(totp_b32.clone()).to_bytes().expect("base32");
    let der = pem.serialize_der();

    if backend == Backend::Postgres {
        // Beside the running server, which keeps signing and refreshing.
        let report = rekey(&config, &new_key_file).await;
        assert!(report.contains(" 1 TOTP secrets") && report.contains(" 1 server secrets"), "{report}");
        let refreshed = token_request(
            &server,
            CONTOSO,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
        )
        .await;
        assert_eq!(refreshed.0, 200, "the running server after the rekey: {}", refreshed.1);
        refresh = refreshed.1["refresh_token"].as_str().expect("rotated refresh token").to_string();
    }
    server.running.take().expect("running").stop().await.expect("clean stop");

    // Search the store's bytes: the email shows the search sees the records.
    let stored = store_contents(backend, &server, &config.store.path).await;
    assert!(contains(&stored, ALICE.0.as_bytes()), "the search covers the user records");
    for (what, needle) in [
        ("TOTP secret (base32)", totp_b32.as_bytes().to_vec()),
        ("TOTP secret (raw)", totp_raw.clone()),
        ("TOTP secret (hex)", hex::encode(&totp_raw).into_bytes()),
        ("signing key (base64 DER)", STANDARD.encode(&der).into_bytes()),
        ("signing key (raw DER)", der[der.len() - 40..].to_vec()),
        ("signing key (hex DER)", hex::encode(&der[der.len() - 40..]).into_bytes()),
    ] {
        assert!(!contains(&stored, &needle), "{what} is stored in clear ({backend:?})");
    }

    let generated = b2b_idp::vault::generated_key_path(&config.store);
    if backend == Backend::Sled {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&generated).expect("a key was generated beside the sled data").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the server's user reads the generated key");
        // Offline: sled admits one process.
        let report = rekey(&config, &new_key_file).await;
        assert!(report.contains(" 1 TOTP secrets") && report.contains(" 1 server secrets"), "{report}");
    }
    let again = rekey(&config, &new_key_file).await;
    assert!(again.contains(": 0 signing keys, 0 TOTP secrets, 0 client secrets, 0 server secrets"), "nothing left to move: {again}");
    let first_key = config.store.encryption_key.clone().unwrap_or_else(|| Secret(std::fs::read_to_string(&generated).expect("key")));
    let _ = std::fs::remove_file(&generated);

    // Only the new key from here on, on a new port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    config.server.public_base_url = base.clone();
    config.store.encryption_key = Some(Secret(NEW_KEY.into()));
    config.store.old_encryption_keys = vec![];
    server.running = Some(b2b_idp::server::start(config.clone(), Some(listener)).await.expect("starts with the new key only"));
    let moved_from = authenticator_key(&server);
    server.base = base;
    copy_authenticator(&moved_from, &authenticator_key(&server));

    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
    )
    .await;
    assert_eq!(status, 200, "a refresh token from before the rekey: {body}");
    assert_eq!(jwt_header(body["access_token"].as_str().expect("access token"))["kid"], kid.as_str(), "the same key signs");
    let (_, kid_after) = alice_with_mfa(&server).await;
    assert_eq!(kid_after, kid);
    server.running.take().expect("running").stop().await.expect("clean stop");

    // The old key alone no longer opens anything: the start is refused, naming why.
    config.store.encryption_key = Some(first_key);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let error = match b2b_idp::server::start(config, Some(listener)).await {
        Ok(_) => panic!("a server without the new key must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("not configured"), "{error}");
    server.stop().await;
}

on_both_backends!(secrets_are_sealed_at_rest_and_survive_a_rekey);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_without_an_encryption_key_refuses_to_start() {
    let (url, schema) = pg_schema_url().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = demo_config(dir.path(), "http://127.0.0.1:1");
    config.store.url = Some(Secret(url));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let error = match b2b_idp::server::start(config.clone(), Some(listener)).await {
        Ok(_) => panic!("PostgreSQL without a key must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("store.encryption_key is required") && error.contains("allow_plaintext_secrets"), "{error}");

    // Said explicitly, clear secrets are allowed (and a key configured later seals new ones).
    config.store.allow_plaintext_secrets = true;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let running = b2b_idp::server::start(config, Some(listener)).await.expect("starts with clear secrets allowed");
    running.stop().await.expect("stop");
    drop_pg_schema(&schema).await;
}
