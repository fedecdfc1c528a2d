//! CI runs the benchmark briefly: it must run end to end and produce figures.
//! (Speed targets are read from a full run's output, never asserted here.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// `bench smoke` with `extra` arguments; the results it wrote.
async fn smoke(extra: &[&str]) -> serde_json::Value {
    // The server binary of the same build: `cargo test --workspace` (what
    // ./test.sh runs) builds it for the server crate's own tests.
    let server = std::path::Path::new(env!("CARGO_BIN_EXE_bench")).with_file_name("b2b-idp");
    assert!(server.exists(), "{} is missing: run the workspace's tests (./test.sh, or cargo test --workspace)", server.display());
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("results.json");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("smoke")
        .arg("--out")
        .arg(&out)
        .arg("--server-bin")
        .arg(&server)
        .args(extra)
        .output()
        .await
        .expect("run bench");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&std::fs::read(&out).expect("results written")).expect("json")
}

/// Both rows of the tenants section measured something, without errors.
fn tenant_rows_have_figures(results: &serde_json::Value) {
    let rows = results["tenants"]["rows"].as_array().unwrap_or_else(|| panic!("tenant rows: {results:#}"));
    assert_eq!(rows.len(), 2, "{results:#}");
    for row in rows {
        for k in ["guest_sign_in", "invitation"] {
            assert!(row[k]["per_sec"].as_f64().is_some_and(|f| f > 0.0) && row[k]["errors"] == 0, "{k}: {results:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_and_reports_figures() {
    let results = smoke(&[]).await;
    for figure in [
        &results["physical"]["es256_signs_per_sec_one_core"],
        &results["physical"]["argon2id_hashes_per_sec"],
        &results["client_credentials"]["per_sec"],
        &results["on_behalf_of"]["per_sec"],
        &results["refresh_token"]["per_sec"],
        &results["password_login"]["per_sec"],
        &results["discovery_jwks_during_login_storm"]["p99_ms"],
        &results["server"]["idle_rss_mib"],
    ] {
        assert!(figure.as_f64().is_some_and(|f| f > 0.0), "{results:#}");
    }
    for scenario in ["client_credentials", "client_credentials_private_key_jwt", "on_behalf_of", "refresh_token", "password_login"] {
        assert_eq!(results[scenario]["errors"], 0, "{scenario}: {results:#}");
    }
    tenant_rows_have_figures(&results);
    let sized = &results["directory_sizes"]["rows"][0];
    assert!(sized["client_credentials"]["per_sec"].as_f64().is_some_and(|f| f > 0.0), "directory sizes: {results:#}");
}

/// The PostgreSQL deployment, two instances behind the bench's balancer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_on_postgresql_with_two_instances() {
    let db = std::env::var("B2B_IDP_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let results = smoke(&["--only", "main,guest,sizes,tenants", "--postgres", &db, "--instances", "2"]).await;
    assert_eq!(results["deployment"], "PostgreSQL, 2 instances behind a round-robin balancer");
    for scenario in ["client_credentials", "refresh_token", "password_login", "guest_federated_sign_in"] {
        assert!(results[scenario]["per_sec"].as_f64().is_some_and(|f| f > 0.0), "{scenario}: {results:#}");
        assert_eq!(results[scenario]["errors"], 0, "{scenario}: {results:#}");
    }
    tenant_rows_have_figures(&results);
    let sized = &results["directory_sizes"]["rows"][0];
    assert!(sized["client_credentials"]["per_sec"].as_f64().is_some_and(|f| f > 0.0), "sizes on PostgreSQL: {results:#}");
}
