//! docker-compose.yml's topology as plain processes on loopback (no Docker
//! engine here), with its configuration (deploy/): PostgreSQL, two contoso
//! instances behind a round-robin load balancer, a separate fabrikam server
//! that contoso federates, and the sample RP. A person signs in at the
//! sample RP; every request to contoso lands on the next instance; a
//! fabrikam guest redeems through the fabrikam server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::harness::*;

/// A round-robin HTTP load balancer; returns its address and per-backend hit counts.
fn load_balancer(backends: Vec<String>) -> (String, Arc<Vec<AtomicUsize>>, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let hits: Arc<Vec<AtomicUsize>> = Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let (counts, backends) = (hits.clone(), Arc::new(backends));
    let server = HttpServer::new(move || {
        let (backends, counts, next, client) = (backends.clone(), counts.clone(), next.clone(), api());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let i = next.fetch_add(1, Ordering::SeqCst) % backends.len();
            counts[i].fetch_add(1, Ordering::SeqCst);
            let url = format!("{}{}", backends[i], req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
            let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).expect("method");
            let mut forward = client.request(method, url).body(body);
            for (name, value) in req.headers().iter().filter(|(n, _)| n.as_str() != "host") {
                forward = forward.header(name.as_str(), value.as_bytes());
            }
            async move {
                let upstream = forward.send().await.map_err(actix_web::error::ErrorBadGateway)?;
                let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(upstream.status().as_u16()).expect("status"));
                for (name, value) in upstream.headers() {
                    if !["content-length", "transfer-encoding", "connection"].contains(&name.as_str()) {
                        response.append_header((name.as_str(), value.as_bytes()));
                    }
                }
                let bytes = upstream.bytes().await.map_err(actix_web::error::ErrorBadGateway)?;
                Ok::<_, actix_web::Error>(response.body(bytes))
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (addr, hits, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_topology_as_processes() {
    let (db_url, schema) = pg_schema_url().await;
    let (p1, p2, fabrikam_port) = (free_port(), free_port(), free_port());
    let (lb, hits, lb_handle) = load_balancer(vec![format!("http://127.0.0.1:{p1}"), format!("http://127.0.0.1:{p2}")]);
    let dirs = [tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir")];
    let pg = [("B2B_IDP__STORE__URL", db_url.as_str())];
    let fabrikam_base = format!("http://127.0.0.1:{fabrikam_port}");
    let (contoso_toml, fabrikam_toml) = (dirs[0].path().join("contoso.toml"), dirs[2].path().join("fabrikam.toml"));
    std::fs::write(&contoso_toml, contoso_config(&fabrikam_base)).expect("write");
    std::fs::write(&fabrikam_toml, fabrikam_config(&lb)).expect("write");
    let fabrikam = serve_config(dirs[2].path(), fabrikam_port, &fabrikam_base, &fabrikam_toml, &[]).await;
    let contoso_1 = serve_config(dirs[0].path(), p1, &lb, &contoso_toml, &pg).await;
    let contoso_2 = serve_config(dirs[1].path(), p2, &lb, &contoso_toml, &pg).await;

    // The sample RP is contoso's demo-app, on the demo redirect URI's port.
    let rp = tokio::process::Command::new(env!("CARGO_BIN_EXE_sample-rp"))
        .env("RP_ISSUER", format!("{lb}/{CONTOSO_ID}/v2.0"))
        .env("RP_BIND", "127.0.0.1:8400")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sample-rp");
    wait_ready("http://127.0.0.1:8400/").await;

    // A person signs in at the sample RP; the RP verifies the ID token.
    let browser = Browser::new();
    let landing = browser.run("http://127.0.0.1:8400/login", Some(ALICE), REDIRECT_URI).await.client();
    let result = browser.http.get(landing.as_str()).send().await.expect("callback");
    assert_eq!(result.status().as_u16(), 200);
    let claims: serde_json::Value = result.json().await.expect("json");
    let claims = &claims["verified_id_token_claims"];
    assert_eq!(claims["iss"], format!("{lb}/{CONTOSO_ID}/v2.0"));
    assert_eq!(claims["tid"], CONTOSO_ID);
    assert_eq!(claims["user_type"], "Member");
    assert_eq!(claims["email"], ALICE.0);
    let served: Vec<usize> = hits.iter().map(|h| h.load(Ordering::SeqCst)).collect();
    // discovery, JWKS, authorize, sign-in, token: round robin puts each step on the other instance.
    assert!(served.iter().all(|n| *n >= 2), "both instances served the flow: {served:?}");

    // Fabrikam is its own issuer on its own server, and contoso's partner:
    // Bob redeems an invitation by signing in there.
    let doc = get_json(&format!("{fabrikam_base}/fabrikam/v2.0/.well-known/openid-configuration")).await;
    assert_eq!(doc["issuer"], format!("{fabrikam_base}/{FABRIKAM_ID}/v2.0"));
    let server = TestServer::external(&lb);
    let token = app_token(&server, CONTOSO).await;
    let (status, invitation) = crate::b2b::invite(&server, &token, BOB.0, serde_json::json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let welcome = "https://apps.contoso.example/welcome";
    let guest = Browser::new();
    let landing = guest.run(invitation["inviteRedeemUrl"].as_str().expect("redeem URL"), Some(BOB), welcome).await;
    assert_eq!(landing.client().as_str(), welcome);
    let prompts = guest.mfa_prompts.lock().expect("lock").clone();
    assert!(prompts.first().is_some_and(|p| p.starts_with(&fabrikam_base)), "Bob proved himself at fabrikam's server: {prompts:?}");

    drop(rp);
    for child in [contoso_1, contoso_2, fabrikam] {
        terminate(child).await;
    }
    lb_handle.stop(true).await;
    drop_pg_schema(&schema).await;
}
