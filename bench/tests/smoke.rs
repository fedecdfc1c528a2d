//! CI runs the benchmark briefly: it must run end to end and produce figures.
//! (Speed targets are read from a full run's output, never asserted here.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_and_reports_figures() {
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
        .output()
        .await
        .expect("run bench");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).expect("results written")).expect("json");
    for figure in [
        &results["physical"]["es256_signs_per_sec_one_core"],
        &results["physical"]["argon2id_hashes_per_sec"],
        &results["client_credentials"]["per_sec"],
        &results["refresh_token"]["per_sec"],
        &results["password_login"]["per_sec"],
        &results["discovery_jwks_during_login_storm"]["p99_ms"],
        &results["server"]["idle_rss_mib"],
    ] {
        assert!(figure.as_f64().is_some_and(|f| f > 0.0), "{results:#}");
    }
    for scenario in ["client_credentials", "refresh_token", "password_login"] {
        assert_eq!(results[scenario]["errors"], 0, "{scenario}: {results:#}");
    }
}
