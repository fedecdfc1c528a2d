//! The benchmark: starts `b2b-idp serve` as its own process on loopback,
//! loads it from here, and prints figures beside the physical limits
//! measured in the same run (ES256 signatures on one core with the same
//! crypto backend, argon2id hashes with the configured parameters).
//!
//!   cargo run --release --bin bench -- all      # ~1 minute; writes bench/results.json
//!   cargo run --release --bin bench -- smoke    # a few seconds: proves it runs
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use serde_json::{json, Value};

const CONTOSO_ID: &str = "6d2e5a3c-8f14-4b7e-9c21-3a5f0e8b7d41";
const REDIRECT: &str = "http://127.0.0.1:8400/callback";

struct Plan {
    seconds: f64,
    concurrency: usize,
}

/// Latencies of one scenario, in seconds.
#[derive(Default)]
struct Run {
    ok: usize,
    errors: usize,
    latencies: Vec<f64>,
    elapsed: f64,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i] * 1e3
    }

    fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.max(1e-9)
    }

    fn report(&self) -> Value {
        json!({"per_sec": round(self.per_sec()), "ok": self.ok, "errors": self.errors,
               "p50_ms": round(self.percentile_ms(0.5)), "p99_ms": round(self.percentile_ms(0.99))})
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Runs `step` from `plan.concurrency` tasks until the time is up.
async fn load<F, Fut>(plan: &Plan, step: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(plan.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..plan.concurrency)
        .map(|worker| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if step(worker).await {
                        run.ok += 1;
                        run.latencies.push(t.elapsed().as_secs_f64());
                    } else {
                        run.errors += 1;
                    }
                }
                run
            })
        })
        .collect();
    let mut total = Run::default();
    for task in tasks {
        if let Ok(run) = task.await {
            total.merge(run);
        }
    }
    total.elapsed = started.elapsed().as_secs_f64();
    total
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(256).build()?)
}

/// A hidden input's value on the sign-in page (our own page; values are base64url).
fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_string())
}

/// One full member sign-in: authorize page, password form, code, token.
async fn login(http: &reqwest::Client, base: &str, scope: &str) -> Option<Value> {
    let authorize = format!(
        "{base}/contoso/oauth2/v2.0/authorize?client_id=demo-app&response_type=code&redirect_uri={REDIRECT}&scope={scope}&state=bench"
    );
    let page = http.get(&authorize).send().await.ok()?;
    let browser = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("b2b_browser="))?
        .split(';')
        .next()?
        .to_string();
    let body = page.text().await.ok()?;
    let form = [
        ("req", hidden(&body, "req")?),
        ("csrf_token", hidden(&body, "csrf_token")?),
        ("username", "alice@contoso.example".to_string()),
        ("password", "Alice-Passw0rd".to_string()),
    ];
    let signed_in = http.post(format!("{base}/contoso/login")).header("cookie", browser).form(&form).send().await.ok()?;
    let location = url::Url::parse(signed_in.headers().get("location")?.to_str().ok()?).ok()?;
    let code = location.query_pairs().find(|(k, _)| k == "code")?.1.into_owned();
    let tokens = http
        .post(format!("{base}/contoso/oauth2/v2.0/token"))
        .basic_auth("demo-app", Some("demo-app-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .ok()?;
    tokens.status().is_success().then_some(())?;
    tokens.json().await.ok()
}

fn es256_signs_per_sec(seconds: f64) -> anyhow::Result<f64> {
    let key = b2b_idp::keys::generate("bench", b2b_idp::keys::Alg::ES256)?;
    let der = base64::engine::general_purpose::STANDARD.decode(&key.private_der)?;
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&der);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid);
    let claims = json!({"iss": "http://127.0.0.1:8080/x/v2.0", "sub": "admin-cli", "aud": "api://b2b-idp-admin",
                        "exp": 2_000_000_000u64, "iat": 1_700_000_000u64, "jti": "00000000-0000-0000-0000-000000000000",
                        "roles": ["User.Invite.All", "User.ReadWrite.All"]});
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        jsonwebtoken::encode(&header, &claims, &encoding)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn argon2_hashes_per_sec(config: &b2b_idp::config::PasswordConfig, threads: usize, seconds: f64) -> anyhow::Result<f64> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(config.memory_kib, config.iterations, config.parallelism, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < seconds {
                        let salt = SaltString::generate(&mut rand::rngs::OsRng);
                        if hasher.hash_password(b"Alice-Passw0rd", &salt).is_ok() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    Ok(counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..400 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("server did not become ready")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name"))?.split(':').nth(1).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = match args.first().map(String::as_str) {
        Some("all") => false,
        Some("smoke") => true,
        _ => bail!("usage: bench all|smoke [--out FILE] [--server-bin PATH]"),
    };
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = PathBuf::from(flag("--out").unwrap_or_else(|| "bench/results.json".into()));
    let server_bin = match flag("--server-bin") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?.with_file_name("b2b-idp"),
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let seconds = if smoke { 0.5 } else { 8.0 };
    let config_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let config = b2b_idp::config::Config::load(Some(&config_path)).map_err(|e| anyhow::anyhow!("{e}"))?;

    eprintln!("bench: physical limits");
    let es256 = es256_signs_per_sec(seconds)?;
    let argon2 = argon2_hashes_per_sec(&config.passwords, cores, seconds.max(1.0))?;

    // The server: its own process, demo config, fresh data dir; started twice
    // so the second start measures start-up on an existing data dir.
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let spawn = || {
        tokio::process::Command::new(&server_bin)
            .args(["--config"])
            .arg(&config_path)
            .arg("serve")
            .env("B2B_IDP__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("B2B_IDP__SERVER__PUBLIC_BASE_URL", &base)
            .env("B2B_IDP__STORE__PATH", dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", server_bin.display()))
    };
    let http = client()?;
    let mut server = spawn()?;
    wait_ready(&http, &base).await?;
    server.kill().await?;
    server.wait().await?;
    let started = Instant::now();
    let server = spawn()?;
    wait_ready(&http, &base).await?;
    let cold_start_ms = started.elapsed().as_secs_f64() * 1e3;
    let pid = server.id().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_rss_kib = rss_kib(pid);

    let plan = Plan { seconds, concurrency: if smoke { 4 } else { 64 } };
    eprintln!("bench: client_credentials");
    let cc = {
        let (http, base) = (http.clone(), base.clone());
        load(&plan, move |_| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let response = http
                    .post(format!("{base}/contoso/oauth2/v2.0/token"))
                    .basic_auth("admin-cli", Some("admin-cli-secret"))
                    .form(&[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")])
                    .send()
                    .await;
                response.is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };

    eprintln!("bench: refresh_token (rotation)");
    let mut chains = Vec::new();
    for _ in 0..plan.concurrency {
        let tokens = login(&http, &base, "openid%20offline_access").await.context("a sign-in for the refresh chains")?;
        chains.push(tokens["refresh_token"].as_str().unwrap_or_default().to_string());
    }
    let chains = std::sync::Arc::new(chains.into_iter().map(std::sync::Mutex::new).collect::<Vec<_>>());
    let refresh = {
        let (http, base) = (http.clone(), base.clone());
        load(&plan, move |worker| {
            let (http, base, chains) = (http.clone(), base.clone(), chains.clone());
            async move {
                let Some(current) = chains[worker].lock().ok().map(|t| t.clone()) else { return false };
                let response = http
                    .post(format!("{base}/contoso/oauth2/v2.0/token"))
                    .basic_auth("demo-app", Some("demo-app-secret"))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", current.as_str())])
                    .send()
                    .await;
                let Ok(response) = response else { return false };
                let Ok(body) = response.json::<Value>().await else { return false };
                match (body["refresh_token"].as_str(), chains[worker].lock()) {
                    (Some(next), Ok(mut slot)) => {
                        *slot = next.to_string();
                        true
                    }
                    _ => false,
                }
            }
        })
        .await
    };

    eprintln!("bench: password logins, with discovery/JWKS sampled during the storm");
    let storm = Plan { seconds, concurrency: cores * 4 };
    let logins = {
        let (http, base) = (http.clone(), base.clone());
        load(&storm, move |_| {
            let (http, base) = (http.clone(), base.clone());
            async move { login(&http, &base, "openid").await.is_some() }
        })
    };
    let sampler = {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let mut run = Run::default();
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let paths = [format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"), format!("/{CONTOSO_ID}/discovery/v2.0/keys")];
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = http.get(format!("{base}{}", paths[i % 2])).send().await.is_ok_and(|r| r.status().is_success());
                if ok {
                    run.ok += 1;
                    run.latencies.push(t.elapsed().as_secs_f64());
                } else {
                    run.errors += 1;
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            run.elapsed = seconds;
            run
        }
    };
    let (logins, discovery) = tokio::join!(logins, sampler);
    drop(server);

    let keycloak_cc_per_vcpu = 120.0;
    let keycloak_logins_per_vcpu = 15.0;
    let results = json!({
        "machine": {"cores": cores, "cpu": cpu_model(), "mode": if smoke { "smoke" } else { "all" }},
        "physical": {"es256_signs_per_sec_one_core": round(es256), "argon2id_hashes_per_sec": round(argon2),
                      "argon2id_params": {"memory_kib": config.passwords.memory_kib, "iterations": config.passwords.iterations,
                                          "parallelism": config.passwords.parallelism, "threads": cores}},
        "client_credentials": cc.report(),
        "refresh_token": refresh.report(),
        "password_login": logins.report(),
        "discovery_jwks_during_login_storm": discovery.report(),
        "server": {"idle_rss_mib": round(idle_rss_kib as f64 / 1024.0), "start_to_ready_ms_existing_data": round(cold_start_ms)},
        "ratios": {
            "client_credentials_vs_es256_one_core": round(cc.per_sec() / es256.max(1e-9)),
            "refresh_vs_es256_one_core": round(refresh.per_sec() / es256.max(1e-9)),
            "logins_vs_argon2id": round(logins.per_sec() / argon2.max(1e-9)),
            "client_credentials_per_core_vs_keycloak": round(cc.per_sec() / cores as f64 / keycloak_cc_per_vcpu),
            "logins_per_core_vs_keycloak": round(logins.per_sec() / cores as f64 / keycloak_logins_per_vcpu),
        },
        "not_measured_yet": ["node oidc-provider peer", "grant cost at 1k/100k/1M users", "guest federated sign-in"],
    });
    println!("{:<40} {:>12} {:>10} {:>10} {:>8}", "scenario", "per second", "p50 ms", "p99 ms", "errors");
    for name in ["client_credentials", "refresh_token", "password_login", "discovery_jwks_during_login_storm"] {
        let r = &results[name];
        let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
        println!("{:<40} {:>12.1} {:>10.2} {:>10.2} {:>8}", name, num("per_sec"), num("p50_ms"), num("p99_ms"), num("errors"));
    }
    println!("ES256 signatures/s, one core:            {:>12.0}", es256);
    println!("argon2id hashes/s, {cores} threads:              {:>12.1}", argon2);
    println!("idle RSS: {} MiB; start to /readyz on existing data: {:.0} ms", results["server"]["idle_rss_mib"], cold_start_ms);
    println!("ratios: {}", results["ratios"]);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)?)?;
    println!("wrote {}", out.display());
    Ok(())
}
