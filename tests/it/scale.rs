//! Two instances on one PostgreSQL database, as behind a load balancer:
//! any instance serves any step, and single-use stays single-use.

use std::net::TcpListener;
use std::time::Duration;

use b2b_idp::server::{self, Running};
use b2b_idp::util::Secret;
use openidconnect::{OAuth2TokenResponse, TokenIntrospectionResponse, TokenResponse};

use crate::harness::*;

/// Instance `i` of a cluster: its own port, the cluster's public URL and database.
async fn instance(dir: &std::path::Path, public: &str, listener: TcpListener, db_url: &str) -> Running {
    let mut config = demo_config(dir, public);
    config.store.url = Some(Secret(db_url.to_string()));
    config.store.encryption_key = Some(Secret(TEST_ENCRYPTION_KEY.into()));
    config.keys.refresh_secs = 1;
    server::start(config, Some(listener)).await.expect("instance starts")
}

/// Points a URL of the public base at one instance.
fn via(url: &str, public: &str, instance: &Running) -> String {
    url.replacen(public, &format!("http://{}", instance.addr), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_hops_between_instances() {
    let (db_url, schema) = pg_schema_url().await;
    let dir = tempfile::tempdir().expect("dir");
    let (la, lb) = (TcpListener::bind("127.0.0.1:0").expect("bind"), TcpListener::bind("127.0.0.1:0").expect("bind"));
    let public = format!("http://{}", la.local_addr().expect("addr"));
    let a = instance(dir.path(), &public, la, &db_url).await;
    let b = instance(dir.path(), &public, lb, &db_url).await;
    let cluster = TestServer { base: public.clone(), running: None, _dir: tempfile::tempdir().expect("dir"), pg_schema: None };
    let rp = Rp::discover(&cluster, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;

    // Authorize on B; the sign-in form posts to the public URL (A).
    let pending = rp.authorize(&["offline_access"], true);
    let code = Browser::new().run(&via(&pending.url, &public, &b), Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    // Token on B.
    let verifier = pending.verifier.expect("pkce").secret().clone();
    let token_url = |instance: &Running| via(&format!("{public}/contoso/oauth2/v2.0/token"), &public, instance);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens: serde_json::Value = api()
        .post(token_url(&b))
        .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let id_token: openidconnect::core::CoreIdToken = tokens["id_token"].as_str().expect("id token").parse().expect("parse");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("B's ID token verifies with the cluster's JWKS");

    // Refresh on A.
    let refresh = openidconnect::RefreshToken::new(tokens["refresh_token"].as_str().expect("refresh").to_string());
    let refreshed = rp.client.exchange_refresh_token(&refresh).expect("endpoint").request_async(&rp.http).await.expect("refresh on A");
    let old_kid = jwt_header(refreshed.access_token().secret())["kid"].clone();

    // Rotate keys on B; A uses and publishes the new key within keys.refresh_secs.
    b2b_idp::keys::rotate(b.idp.store.as_ref(), &b.idp.vault, CONTOSO_ID, b2b_idp::model::Alg::ES256).await.expect("rotate");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let next = rp
        .client
        .exchange_refresh_token(refreshed.refresh_token().expect("rotated"))
        .expect("endpoint")
        .request_async(&rp.http)
        .await
        .expect("refresh on A");
    let new_kid = jwt_header(next.access_token().secret())["kid"].clone();
    assert_ne!(new_kid, old_kid, "A signs with the key B created");
    let jwks: serde_json::Value = api()
        .get(via(&format!("{public}/contoso/discovery/v2.0/keys"), &public, &b))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let es256 = jwks["keys"].as_array().expect("keys").iter().filter(|k| k["alg"] == "ES256").count();
    assert_eq!(es256, 2, "the old and the new ES256 key: {jwks}");
    // A token signed on A verifies on B, and B's on A.
    let introspected = rp.client.introspect(next.access_token()).request_async(&rp.http).await.expect("introspect on A");
    assert!(introspected.active());
    let on_b: serde_json::Value = api()
        .post(via(&format!("{public}/contoso/oauth2/v2.0/introspect"), &public, &b))
        .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
        .form(&[("token", next.access_token().secret())])
        .send()
        .await
        .expect("introspect on B")
        .json()
        .await
        .expect("json");
    assert_eq!(on_b["active"], true);
    assert!(next.id_token().is_some());

    // One code, eight concurrent redemptions spread over both instances: one winner.
    let pending = rp.authorize(&[], true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let verifier = pending.verifier.expect("pkce").secret().clone();
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let url = token_url(if i % 2 == 0 { &a } else { &b });
            let form = [
                ("grant_type", "authorization_code".to_string()),
                ("code", code.clone()),
                ("redirect_uri", REDIRECT_URI.to_string()),
                ("code_verifier", verifier.clone()),
            ];
            tokio::spawn(async move {
                api().post(url).basic_auth(DEMO_APP, Some(DEMO_APP_SECRET)).form(&form).send().await.expect("token").status().as_u16()
            })
        })
        .collect();
    let mut statuses = vec![];
    for attempt in attempts {
        statuses.push(attempt.await.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");

    a.stop().await.expect("stop A");
    b.stop().await.expect("stop B");
    drop_pg_schema(&schema).await;
}

/// What `docker compose up` does: three `b2b-idp serve` processes started at
/// the same moment on one fresh database. Every instance comes up, and they
/// agree on the ids of the tenants they seeded (the config gives none, so
/// ids are minted by whichever instance seeds first). Three rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_start_together_on_a_fresh_database() {
    let dir = tempfile::tempdir().expect("dir");
    let demo = std::fs::read_to_string(demo_config_path()).expect("demo config");
    let without_ids: String = demo.lines().filter(|l| !l.starts_with("id = ")).map(|l| format!("{l}\n")).collect();
    let config = dir.path().join("no-ids.toml");
    std::fs::write(&config, without_ids).expect("write config");
    for round in 0..3 {
        let (db_url, schema) = pg_schema_url().await;
        let mut instances = vec![];
        for i in 0..3 {
            let home = dir.path().join(format!("round{round}-instance{i}"));
            std::fs::create_dir_all(&home).expect("instance dir");
            let port = free_port();
            let mut cmd = idp_command(&home, port, &format!("http://127.0.0.1:{port}"));
            cmd.env("B2B_IDP__STORE__URL", &db_url).arg("--config").arg(&config).arg("serve");
            instances.push((port, cmd.spawn().expect("spawn b2b-idp")));
        }
        let mut issuers = vec![];
        for (port, child) in &mut instances {
            let base = format!("http://127.0.0.1:{port}");
            for _ in 0..400 {
                if let Some(status) = child.try_wait().expect("status") {
                    panic!("round {round}: instance on {port} exited during start-up: {status}");
                }
                if api().get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let discovery = get_json(&format!("{base}/contoso/v2.0/.well-known/openid-configuration")).await;
            let issuer = discovery["issuer"].as_str().expect("an issuer").to_string();
            issuers.push(issuer.rsplit('/').nth(1).expect("tenant id in the issuer").to_string());
        }
        assert!(issuers.iter().all(|id| *id == issuers[0]), "round {round}: instances disagree on contoso's id: {issuers:?}");
        for (_, child) in instances {
            terminate(child).await;
        }
        drop_pg_schema(&schema).await;
    }
}
