//! The benchmark: starts `b2b-idp serve` as its own process on loopback,
//! loads it from here, and prints figures beside what they are compared
//! with, all measured in the same run: the physical limits (ES256 and RS256
//! signatures on one core with the same crypto backend, argon2id hashes with
//! the configured parameters) and a peer (node `oidc-provider` from
//! bench/peer, installed with `npm ci` when missing) under the same load.
//!
//!   cargo run --release -p b2b-idp-bench -- all  # a few minutes; writes bench/results.json
//!   cargo run --release -p b2b-idp-bench -- smoke # a few seconds: proves it runs (no node needed)
//!
//! Options: `--out FILE`, `--server-bin PATH`, `--sizes 1000,100000,1000000`
//! (directory sizes), `--tenants 10,10000` (tenants in the directory, for
//! guest sign-ins and invitations), `--only physical,main,guest,peer,sizes,tenants`
//! (sections), `--seconds S` (per scenario; 8 in `all`), `--postgres URL`
//! (the main, guest, sizes and tenants sections on PostgreSQL, a schema of their
//! own in that database) with `--instances N` (behind a round-robin
//! balancer in the bench).
//!
//! The server runs from a config file the bench writes: config/default.toml
//! without its `[[tenants.conditional_access]]` policies, so the guest
//! scenario measures federation, not TOTP prompts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use b2b_idp_testkit::demo::{ALICE, BOB, CONTOSO_ID, FABRIKAM_ID, REDIRECT_URI};
use b2b_idp_testkit::peer::{self, Peer};
use b2b_idp_testkit::{jwt_part, page_text, pkce, post_forms};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

mod deploy;

/// The server's allocator, so the bare argon2id limit measured here uses
/// the same memory as the server's hashing threads.
#[global_allocator]
static ALLOCATOR: b2b_idp::allocator::Allocator = b2b_idp::allocator::Allocator;

const REDIRECT: &str = REDIRECT_URI;
/// Where a redeemed invitation sends the guest (`inviteRedirectUrl`).
const GUEST_LANDING: &str = "http://127.0.0.1:8400/";
/// The password of every bulk-loaded user (one precomputed hash for all).
const BULK_PASSWORD: &str = "Bulk-Passw0rd-1";
const PEER_CLIENT: (&str, &str) = ("bench-client", "bench-secret");
const PEER_USER: (&str, &str) = ("alice@example.com", "alice-password");
const PEER_REDIRECT: &str = "http://127.0.0.1:9999/cb";
const KEYCLOAK_CC_PER_VCPU: f64 = 120.0;
const KEYCLOAK_LOGINS_PER_VCPU: f64 = 15.0;
const NO_CA_NOTE: &str = "the bench's server config is config/default.toml without [[tenants.conditional_access]] \
                          (the demo's MFA policies): this measures federation, not TOTP";

#[derive(Clone, Copy)]
struct Plan {
    seconds: f64,
    concurrency: usize,
    /// Untimed load before the measured window (connections, JITs, caches).
    warmup: f64,
}

/// Latencies of one scenario, in seconds.
#[derive(Default)]
struct Run {
    ok: usize,
    errors: usize,
    latencies: Vec<f64>,
    elapsed: f64,
    first_error: Option<String>,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
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

    /// A scenario that could not start.
    fn failed(e: anyhow::Error) -> Run {
        Run { errors: 1, first_error: Some(format!("{e:#}")), ..Run::default() }
    }

    fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.max(1e-9)
    }

    fn report(&self) -> Value {
        let mut r = json!({"per_sec": round(self.per_sec()), "ok": self.ok, "errors": self.errors,
                           "p50_ms": round(self.percentile_ms(0.5)), "p99_ms": round(self.percentile_ms(0.99))});
        if let Some(e) = &self.first_error {
            r["first_error"] = json!(e);
        }
        r
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `a / b` rounded, or null when either side is missing.
fn ratio(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(round(a / b)),
        _ => Value::Null,
    }
}

/// Runs `step` from `plan.concurrency` tasks until the time is up.
async fn load<F, Fut>(plan: &Plan, step: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let measured_from = Instant::now() + Duration::from_secs_f64(plan.warmup);
    let deadline = measured_from + Duration::from_secs_f64(plan.seconds);
    let tasks: Vec<_> = (0..plan.concurrency)
        .map(|worker| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let result = step(worker).await;
                    if t < measured_from {
                        continue;
                    }
                    match result {
                        Ok(()) => {
                            run.ok += 1;
                            run.latencies.push(t.elapsed().as_secs_f64());
                        }
                        Err(e) => {
                            run.errors += 1;
                            if run.first_error.is_none() {
                                run.first_error = Some(format!("{e:#}"));
                            }
                        }
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
    total.elapsed = measured_from.elapsed().as_secs_f64();
    total
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(256).build()?)
}

// ---- a browser: one cookie jar per flow, HTML forms, redirects one by one ----

/// Who answers a sign-in form whose action path starts with `path_prefix`.
#[derive(Clone)]
struct Login {
    path_prefix: String,
    username: String,
    password: String,
}

fn login_at(path_prefix: &str, (username, password): (&str, &str)) -> Login {
    Login { path_prefix: path_prefix.into(), username: username.into(), password: password.into() }
}

/// A fresh browser: its own cookies (name → value; every cookie here has
/// Path=/ or is only ever needed where it was set), the shared connection pool.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(http: &reqwest::Client) -> Browser {
        Browser { http: http.clone(), jar: BTreeMap::new() }
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let expired = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "max-age=0" || p.starts_with("expires=thu, 01 jan 1970")
            });
            if expired || value.trim().is_empty() {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let request = if self.jar.is_empty() {
            request
        } else {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request.header("cookie", cookies.join("; "))
        };
        let response = request.send().await?;
        self.absorb(&response);
        Ok(response)
    }

    async fn get(&mut self, url: &str) -> anyhow::Result<reqwest::Response> {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// Follows redirects and answers pages (sign-in forms with `logins`,
    /// redemption and consent pages with their first POST form) until the
    /// browser is sent to a URL starting with `stop`, which it returns.
    async fn drive(&mut self, mut response: reqwest::Response, stop: &str, logins: &[Login]) -> anyhow::Result<url::Url> {
        let mut answered: Vec<String> = vec![];
        for _ in 0..24 {
            let status = response.status();
            let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
            if let (true, Some(location)) = (status.is_redirection(), location) {
                let next = response.url().join(&location)?;
                if next.as_str().starts_with(stop) {
                    return Ok(next);
                }
                response = self.get(next.as_str()).await?;
                continue;
            }
            let here = response.url().clone();
            let body = response.text().await?;
            let Some(form) = post_forms(&body).into_iter().next() else {
                bail!("stuck at {} ({status}): {}", here.path(), page_text(&body))
            };
            let action = here.join(&form.action)?;
            // Sign-in is identifier first; the first form also takes both
            // fields at once (docs/contract.md, "Pages and forms").
            let fields = if form.has("username") {
                if answered.iter().any(|a| a == action.path()) {
                    bail!("sign-in refused at {}: {}", action.path(), page_text(&body));
                }
                let login = logins
                    .iter()
                    .find(|l| action.path().starts_with(&l.path_prefix))
                    .ok_or_else(|| anyhow!("unexpected sign-in page at {}", action.path()))?;
                answered.push(action.path().to_string());
                form.filled(&[("username", &login.username), ("password", &login.password)])
            } else if form.has("otp") {
                bail!("a second-factor prompt at {}: the bench's config should have no conditional access", here.path());
            } else {
                form.fields.clone()
            };
            let request = self.http.post(action.as_str()).form(&fields);
            response = self.send(request).await?;
        }
        bail!("too many steps in a browser flow")
    }
}

fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A complete sign-in at contoso's `demo-app` in a fresh browser:
/// authorize (PKCE S256) → the pages → code → token. Returns the token response.
async fn sign_in(http: &reqwest::Client, base: &str, logins: &[Login], scope: &str) -> anyhow::Result<Value> {
    let mut browser = Browser::new(http);
    let (verifier, challenge) = pkce();
    let authorize = format!(
        "{base}/contoso/oauth2/v2.0/authorize?client_id=demo-app&response_type=code&redirect_uri={REDIRECT}\
         &scope={scope}&state=bench&nonce=bench&code_challenge={challenge}&code_challenge_method=S256"
    );
    let first = browser.get(&authorize).await?;
    let landed = browser.drive(first, REDIRECT, logins).await?;
    let code = query_param(&landed, "code").ok_or_else(|| anyhow!("no code in {landed}"))?;
    let response = http
        .post(format!("{base}/contoso/oauth2/v2.0/token"))
        .basic_auth("demo-app", Some("demo-app-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", &verifier)])
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body["access_token"].as_str().is_none() {
        bail!("token endpoint answered {status}: {body}");
    }
    Ok(body)
}

fn member(who: (&str, &str)) -> Vec<Login> {
    vec![login_at("/contoso/", who), login_at(&format!("/{CONTOSO_ID}/"), who)]
}

/// Bob as contoso's guest: only his email at contoso, his password at home.
fn guest() -> Vec<Login> {
    vec![
        login_at("/contoso/", (BOB.0, "")),
        login_at(&format!("/{CONTOSO_ID}/"), (BOB.0, "")),
        login_at("/fabrikam/", BOB),
        login_at(&format!("/{FABRIKAM_ID}/"), BOB),
    ]
}

/// Refresh tokens to rotate: one sign-in (with offline_access) per chain, a few at a time.
async fn refresh_chains<F, Fut>(count: usize, parallel: usize, sign_in_one: F) -> anyhow::Result<Vec<String>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    let mut chains = Vec::with_capacity(count);
    let indices: Vec<usize> = (0..count).collect();
    for batch in indices.chunks(parallel.max(1)) {
        for token in futures_util::future::join_all(batch.iter().map(|&i| sign_in_one(i))).await {
            chains.push(token.context("a sign-in for the refresh chains")?);
        }
    }
    Ok(chains)
}

/// The grant loads' HTTP client: one keep-alive HTTP/1.1 connection per
/// worker (hyper, no pool) and headers built once. The load generator shares
/// the machine with the server it measures, so the less CPU it takes, the
/// nearer the figures are to the server's own; the peer gets the same client.
struct TokenClient {
    addr: String,
    uri: hyper::Uri,
    host: hyper::header::HeaderValue,
    /// HTTP Basic client authentication; `None` when the form carries it.
    authorization: Option<hyper::header::HeaderValue>,
    connections: Vec<tokio::sync::Mutex<Option<hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>>>>,
}

impl TokenClient {
    fn new(token_url: &str, client: Option<(&str, &str)>, workers: usize) -> anyhow::Result<TokenClient> {
        let url = url::Url::parse(token_url)?;
        let addr =
            format!("{}:{}", url.host_str().ok_or_else(|| anyhow!("no host in {token_url}"))?, url.port_or_known_default().unwrap_or(80));
        Ok(TokenClient {
            uri: url.path().parse()?,
            host: addr.parse()?,
            authorization: client.map(|(id, secret)| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).parse()).transpose()?,
            addr,
            connections: (0..workers).map(|_| tokio::sync::Mutex::new(None)).collect(),
        })
    }

    /// POSTs a form on `worker`'s connection (reconnecting if it closed).
    async fn post(&self, worker: usize, form: hyper::body::Bytes) -> anyhow::Result<(hyper::StatusCode, hyper::body::Bytes)> {
        use http_body_util::BodyExt;
        let mut slot = self.connections.get(worker).ok_or_else(|| anyhow!("no connection for worker {worker}"))?.lock().await;
        let sender = match slot.take() {
            Some(sender) if !sender.is_closed() => slot.insert(sender),
            _ => {
                let stream = tokio::net::TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
                tokio::spawn(connection);
                slot.insert(sender)
            }
        };
        sender.ready().await?;
        let mut request = hyper::Request::post(self.uri.clone()).body(http_body_util::Full::new(form))?;
        let headers = request.headers_mut();
        headers.insert(hyper::header::HOST, self.host.clone());
        if let Some(authorization) = &self.authorization {
            headers.insert(hyper::header::AUTHORIZATION, authorization.clone());
        }
        headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/x-www-form-urlencoded"));
        let response = sender.send_request(request).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

/// client_credentials at `token_url`, with HTTP Basic (`client`) or with
/// what `form` carries (a client assertion).
async fn cc_load(plan: &Plan, token_url: String, client: Option<(&'static str, &'static str)>, form: &[(&str, &str)]) -> Run {
    let (http, form) = match (TokenClient::new(&token_url, client, plan.concurrency), serde_urlencoded::to_string(form)) {
        (Ok(http), Ok(form)) => (Arc::new(http), hyper::body::Bytes::from(form)),
        (Err(e), _) => return Run::failed(e),
        (_, Err(e)) => return Run::failed(e.into()),
    };
    load(plan, move |worker| {
        let (http, form) = (http.clone(), form.clone());
        async move {
            let (status, body) = http.post(worker, form).await?;
            if !status.is_success() {
                bail!("{status}: {}", String::from_utf8_lossy(&body));
            }
            Ok(())
        }
    })
    .await
}

/// refresh_token grants, each worker rotating its own chain.
async fn refresh_load(plan: &Plan, token_url: String, client: (&'static str, &'static str), chains: Vec<String>) -> Run {
    #[derive(serde::Deserialize)]
    struct Rotated {
        refresh_token: String,
    }
    let http = match TokenClient::new(&token_url, Some(client), plan.concurrency) {
        Ok(http) => Arc::new(http),
        Err(e) => return Run::failed(e),
    };
    let chains = Arc::new(chains.into_iter().map(Mutex::new).collect::<Vec<_>>());
    load(plan, move |worker| {
        let (http, chains) = (http.clone(), chains.clone());
        async move {
            let slot = chains.get(worker).ok_or_else(|| anyhow!("no chain for worker {worker}"))?;
            let current = slot.lock().map_err(|_| anyhow!("poisoned"))?.clone();
            let form = serde_urlencoded::to_string([("grant_type", "refresh_token"), ("refresh_token", current.as_str())])?;
            let (status, body) = http.post(worker, form.into()).await?;
            let rotated: Rotated = serde_json::from_slice(&body).map_err(|_| anyhow!("{status}: {}", String::from_utf8_lossy(&body)))?;
            *slot.lock().map_err(|_| anyhow!("poisoned"))? = rotated.refresh_token;
            Ok(())
        }
    })
    .await
}

// ---- physical limits ----

/// A fresh key's id and private DER (not yet sealed: it is never stored).
fn generated_key(alg: b2b_idp::model::Alg) -> anyhow::Result<(String, Vec<u8>)> {
    let key = b2b_idp::keys::generate("bench", alg)?;
    let plain = b2b_idp::vault::Vault::new(None, &[])?.open(&key.private_der, "")?;
    Ok((key.kid, STANDARD.decode(plain.expose())?))
}

/// One core's raw signing rate: ring (the server's backend) with the key
/// parsed once, over a signing input of an access token's size. This is the
/// ceiling any token endpoint on this machine is measured against.
fn signs_per_sec(alg: b2b_idp::model::Alg, seconds: f64) -> anyhow::Result<f64> {
    use b2b_idp::model::Alg;
    use ring::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256};
    let (_, der) = generated_key(alg)?;
    let rng = ring::rand::SystemRandom::new();
    let message = [b'e'; 700];
    let mut sign: Box<dyn FnMut() -> anyhow::Result<()>> = match alg {
        Alg::ES256 => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).map_err(|e| anyhow!("{e}"))?;
            Box::new(move || pair.sign(&rng, &message).map(drop).map_err(|e| anyhow!("{e}")))
        }
        Alg::RS256 => {
            let pair = RsaKeyPair::from_der(&der).map_err(|e| anyhow!("{e}"))?;
            let mut out = vec![0; pair.public().modulus_len()];
            Box::new(move || pair.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut out).map_err(|e| anyhow!("{e}")))
        }
    };
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        sign()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// The same on the server's whole signing path: claims to compact JWS with
/// jsonwebtoken and the server's crypto provider (JSON, base64, signature).
fn jwt_encodes_per_sec(seconds: f64) -> anyhow::Result<f64> {
    b2b_idp::keys::install_crypto();
    let (kid, der) = generated_key(b2b_idp::model::Alg::ES256)?;
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&der);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid);
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

/// Bare argon2id: `threads` threads hashing in a loop with the configured
/// parameters, each reusing its memory (the fastest way there is).
fn argon2_hashes_per_sec(config: &b2b_idp::config::PasswordConfig, threads: usize, seconds: f64) -> anyhow::Result<f64> {
    let params = argon2::Params::new(config.memory_kib, config.iterations, config.parallelism, None).map_err(|e| anyhow!("{e}"))?;
    let start = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let mut memory = vec![argon2::Block::default(); params.block_count()];
                    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
                    let (mut n, mut out, salt) = (0u64, [0u8; 32], rand::random::<[u8; 16]>());
                    while start.elapsed().as_secs_f64() < seconds {
                        if hasher.hash_password_into_with_memory(b"Alice-Passw0rd", &salt, &mut out, &mut memory).is_ok() {
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

// ---- processes ----

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

async fn wait_ready(http: &reqwest::Client, base: &str, child: &mut tokio::process::Child, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it was ready ({status})");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("server did not become ready within {timeout:?}")
}

/// SIGTERM (a clean shutdown: the store is flushed), then SIGKILL if it lingers.
async fn stop(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        if tokio::time::timeout(Duration::from_secs(15), child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
    let _ = child.wait().await;
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name"))?.split(':').nth(1).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// The machine's CPU time counters (/proc/stat, all CPUs): user … steal.
fn cpu_times() -> Vec<u64> {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.split_whitespace().skip(1).take(8).filter_map(|v| v.parse().ok()).collect()))
        .unwrap_or_default()
}

/// Share of the CPU time since `before` that the hypervisor stole (VMs), in percent.
fn steal_percent(before: &[u64]) -> Value {
    let now = cpu_times();
    if now.len() < 8 || before.len() < 8 {
        return Value::Null;
    }
    let total: u64 = now.iter().sum::<u64>().saturating_sub(before.iter().sum());
    json!(round(now[7].saturating_sub(before[7]) as f64 * 100.0 / total.max(1) as f64))
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// config/default.toml without its `[[tenants.conditional_access]]` tables.
fn without_conditional_access(toml: &str) -> String {
    let (mut out, mut skipping) = (String::new(), false);
    for line in toml.lines() {
        let t = line.trim();
        if t == "[[tenants.conditional_access]]" {
            skipping = true;
            continue;
        }
        if skipping {
            if t.is_empty() || t.starts_with('[') || t.starts_with('#') {
                skipping = false;
            } else {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Registers a daemon that authenticates with an ES256 key (a JWK) and the
/// same admin API permission as admin-cli; returns an assertion it may
/// reuse for ten minutes, as MSAL does.
async fn key_client(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|_| anyhow!("P-256 key"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).map_err(|_| anyhow!("P-256 key"))?;
    let point = pair.public_key().as_ref();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]), "kid": "bench"});
    let app: Value = http
        .post(format!("{base}/contoso/v1.0/applications"))
        .bearer_auth(admin_token(http, base).await?)
        .json(&json!({
            "displayName": "bench daemon (private_key_jwt)",
            "keyCredentials": [{"type": "JsonWebKey", "usage": "Verify", "key": STANDARD.encode(jwk.to_string())}],
            "requiredResourceAccess": [{"resourceAppId": "api://b2b-idp-admin", "resourceAccess": [{"id": "AuditLog.Read.All", "type": "Role"}]}],
        }))
        .send()
        .await?
        .json()
        .await?;
    let client_id = app["appId"].as_str().ok_or_else(|| anyhow!("no app registered: {app}"))?;
    b2b_idp::keys::install_crypto();
    let now = b2b_idp::util::now();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": format!("{base}/contoso/oauth2/v2.0/token"), "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string()});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("bench".into());
    Ok(jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()))?)
}

/// On-behalf-of: registers an orders API (with a secret) that the demo app
/// may call for a user and that may call a payroll API for them; signs
/// Alice in for the orders API. Returns the orders API's (client id,
/// secret) and Alice's token, the assertion it exchanges.
async fn obo_setup(http: &reqwest::Client, base: &str) -> anyhow::Result<(String, String, String)> {
    let admin = admin_token(http, base).await?;
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{base}/contoso/v1.0/{path}")).bearer_auth(&admin).json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            if !status.is_success() {
                bail!("{status}: {body}");
            }
            anyhow::Ok(body)
        }
    };
    let orders = post("applications", json!({"displayName": "bench orders API", "identifierUris": ["api://bench-orders"]})).await?;
    let orders_id = orders["appId"].as_str().ok_or_else(|| anyhow!("no app registered: {orders}"))?.to_string();
    post("applications", json!({"displayName": "bench payroll API", "identifierUris": ["api://bench-payroll"]})).await?;
    let secret = post(&format!("applications/{orders_id}/addPassword"), json!({"passwordCredential": {}})).await?;
    let secret = secret["secretText"].as_str().ok_or_else(|| anyhow!("no secret: {secret}"))?.to_string();
    for (client, resource, scope) in
        [("demo-app", "api://bench-orders", "Orders.Read"), (orders_id.as_str(), "api://bench-payroll", "Payroll.Read")]
    {
        let grant = json!({"clientId": client, "consentType": "AllPrincipals", "resourceId": resource, "scope": scope});
        post("oauth2PermissionGrants", grant).await?;
    }
    let tokens = sign_in(http, base, &member(ALICE), "api%3A%2F%2Fbench-orders%2FOrders.Read").await?;
    let assertion = tokens["access_token"].as_str().ok_or_else(|| anyhow!("no access token: {tokens}"))?.to_string();
    Ok((orders_id, secret, assertion))
}

// ---- the guest: invited, redeemed, then federated sign-ins ----

/// An admin API token of contoso (the demo's admin-cli).
async fn admin_token(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let token: Value = http
        .post(format!("{base}/contoso/oauth2/v2.0/token"))
        .basic_auth("admin-cli", Some("admin-cli-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")])
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"].as_str().ok_or_else(|| anyhow!("no admin token: {token}"))?.to_string())
}

/// Invites Bob (fabrikam) to contoso through the admin API and redeems the
/// invitation through the pages; then one sign-in whose ID token is checked.
async fn guest_setup(http: &reqwest::Client, base: &str) -> anyhow::Result<Value> {
    let token = admin_token(http, base).await?;
    let response = http
        .post(format!("{base}/contoso/v1.0/invitations"))
        .bearer_auth(&token)
        .json(&json!({"invitedUserEmailAddress": BOB.0, "inviteRedirectUrl": GUEST_LANDING, "sendInvitationMessage": false}))
        .send()
        .await?;
    let status = response.status();
    let invitation: Value = response.json().await?;
    let redeem = invitation["inviteRedeemUrl"].as_str().ok_or_else(|| anyhow!("invitation: {status} {invitation}"))?;
    let mut browser = Browser::new(http);
    let first = browser.get(redeem).await?;
    browser.drive(first, GUEST_LANDING, &guest()).await.context("redeeming the invitation")?;
    let tokens = sign_in(http, base, &guest(), "openid%20profile%20email").await.context("a first guest sign-in")?;
    let claims = jwt_part(tokens["id_token"].as_str().unwrap_or_default(), 1).unwrap_or(Value::Null);
    if claims["user_type"] != "Guest" || claims["home_tid"] != FABRIKAM_ID {
        bail!("the guest's ID token is not a fabrikam guest's: {claims}");
    }
    Ok(json!({"user_type": claims["user_type"], "acct": claims["acct"], "home_tid": claims["home_tid"],
              "idp": claims["idp"], "amr": claims["amr"], "acr": claims["acr"]}))
}

// ---- the peer: node oidc-provider (bench/peer) ----

/// The peer with the bench's client and user; its stderr goes to `logs`.
async fn start_peer(logs: &Path) -> Result<Peer, String> {
    let stderr = std::fs::File::create(logs.join("peer.stderr")).map_err(|e| e.to_string())?;
    let clients = json!([{
        "client_id": PEER_CLIENT.0, "client_secret": PEER_CLIENT.1,
        "grant_types": ["client_credentials", "refresh_token", "authorization_code"],
        "response_types": ["code"], "redirect_uris": [PEER_REDIRECT],
        "id_token_signed_response_alg": "ES256",
    }]);
    let users = json!([{"email": PEER_USER.0, "password": PEER_USER.1, "name": "Alice"}]);
    peer::start(&clients, &users, &[("NODE_ENV", "production")], stderr.into()).await
}

/// A refresh token from the peer: its code flow with its login page.
async fn peer_refresh_token(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let mut browser = Browser::new(http);
    let first = browser
        .get(&format!(
            "{base}/auth?client_id={}&response_type=code&redirect_uri={PEER_REDIRECT}&scope=openid%20offline_access&state=bench&nonce=bench",
            PEER_CLIENT.0
        ))
        .await?;
    let landed = browser.drive(first, PEER_REDIRECT, &[login_at("/interaction/", PEER_USER)]).await?;
    let code = query_param(&landed, "code").ok_or_else(|| anyhow!("no code in {landed}"))?;
    let body: Value = http
        .post(format!("{base}/token"))
        .basic_auth(PEER_CLIENT.0, Some(PEER_CLIENT.1))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", PEER_REDIRECT)])
        .send()
        .await?
        .json()
        .await?;
    Ok(body["refresh_token"].as_str().ok_or_else(|| anyhow!("no refresh token from the peer: {body}"))?.to_string())
}

async fn peer_section(plan: &Plan, http: &reqwest::Client, logs: &Path) -> anyhow::Result<Value> {
    let peer = match start_peer(logs).await {
        Ok(peer) => peer,
        Err(reason) => {
            eprintln!("bench: peer unavailable: {reason}");
            return Ok(json!({"status": format!("unavailable ({reason})")}));
        }
    };
    let base = peer.issuer.clone();
    let result = async {
        let probe: Value = http
            .post(format!("{base}/token"))
            .basic_auth(PEER_CLIENT.0, Some(PEER_CLIENT.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?
            .json()
            .await?;
        let header =
            jwt_part(probe["access_token"].as_str().ok_or_else(|| anyhow!("peer client_credentials: {probe}"))?, 0).unwrap_or(Value::Null);
        eprintln!("bench: peer client_credentials");
        let cc = cc_load(plan, format!("{base}/token"), Some(PEER_CLIENT), &[("grant_type", "client_credentials")]).await;
        eprintln!("bench: peer refresh_token (rotation)");
        let chains = refresh_chains(plan.concurrency, 8, |_| peer_refresh_token(http, &base)).await?;
        let refresh = refresh_load(plan, format!("{base}/token"), PEER_CLIENT, chains).await;
        let rss = rss_kib(peer.child.id().unwrap_or(0));
        anyhow::Ok(json!({
            "status": "ok",
            "name": "node oidc-provider 8.8.1 (bench/peer/server.js), one node process",
            "node": peer.node,
            "client_credentials_token": {"alg": header["alg"], "typ": header["typ"]},
            "client_credentials": cc.report(),
            "refresh_token": refresh.report(),
            "rss_after_load_mib": round(rss as f64 / 1024.0),
        }))
    }
    .await;
    stop(peer.child).await;
    result
}

// ---- grant cost against directory size ----

/// Every bulk user is this one with its own id, email and name.
fn bulk_template(password_hash: &str) -> anyhow::Result<b2b_idp::model::User> {
    let now = b2b_idp::util::now();
    Ok(serde_json::from_value(json!({
        "id": "", "tenant_id": CONTOSO_ID, "email": "", "display_name": "", "password_hash": password_hash,
        "user_type": "Member", "roles": [], "enabled": true, "created_at": now, "written_at_ms": now * 1000,
    }))?)
}

fn bulk_email(i: usize) -> String {
    format!("user{i:07}@contoso.example")
}

/// Concurrent writers: each `create_user` is flushed, and concurrent
/// writers share flushes.
const LOADERS: usize = 8;

/// Writes users `from..to` into a stopped server's store through the store API.
async fn bulk_load(store: &deploy::Store, from: usize, to: usize, template: &b2b_idp::model::User) -> anyhow::Result<()> {
    let store = store.open().await?;
    let next = Arc::new(AtomicUsize::new(from));
    let started = Instant::now();
    let tasks: Vec<_> = (0..LOADERS)
        .map(|_| {
            let (store, next, template) = (store.clone(), next.clone(), template.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        return anyhow::Ok(());
                    }
                    let mut user = template.clone();
                    user.id = uuid::Uuid::new_v4().to_string();
                    user.email = bulk_email(i);
                    user.display_name = format!("User {i}");
                    store.create_user(&user).await?;
                    if (i + 1) % 100_000 == 0 {
                        let done = i + 1 - from;
                        eprintln!("bench:   {} users ({:.0}/s)", i + 1, done as f64 / started.elapsed().as_secs_f64());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    store.flush().await?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The server(s) under test: how they run, their binary and config.
struct Under<'a> {
    deployment: &'a deploy::Deployment,
    bin: &'a Path,
    config: &'a Path,
}

/// Starts the server on a directory of `n` bulk users and measures
/// client_credentials, refresh_token and one user's password login.
async fn measure_directory(
    under: &Under<'_>,
    store: &deploy::Store,
    n: usize,
    plan: &Plan,
    storm: &Plan,
    http: &reqwest::Client,
) -> anyhow::Result<Value> {
    let started = Instant::now();
    let servers = under.deployment.start(under.bin, under.config, store, http).await?;
    let base = servers.public.clone();
    let start_ms = started.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_rss = servers.rss_kib();
    eprintln!("bench: directory with {n} users: client_credentials, refresh_token, password login");
    let cc = cc_load(
        plan,
        format!("{base}/contoso/oauth2/v2.0/token"),
        Some(("admin-cli", "admin-cli-secret")),
        &[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")],
    )
    .await;
    // Chains of users spread over the directory (uuid ids: spread over the key space too).
    let chains = refresh_chains(plan.concurrency, storm.concurrency, |k| {
        let i = (k * n / plan.concurrency + n / (2 * plan.concurrency)).min(n.saturating_sub(1));
        let logins = member((&bulk_email(i), BULK_PASSWORD));
        let (http, base) = (http.clone(), base.clone());
        async move {
            let tokens = sign_in(&http, &base, &logins, "openid%20offline_access").await?;
            Ok(tokens["refresh_token"].as_str().ok_or_else(|| anyhow!("no refresh token: {tokens}"))?.to_string())
        }
    })
    .await;
    let refresh = match chains {
        Ok(chains) => refresh_load(plan, format!("{base}/contoso/oauth2/v2.0/token"), ("demo-app", "demo-app-secret"), chains).await,
        Err(e) => Run { first_error: Some(format!("{e:#}")), errors: 1, elapsed: 1.0, ..Run::default() },
    };
    let one = Arc::new(member((&bulk_email(n / 2), BULK_PASSWORD)));
    let logins = {
        let (http, base) = (http.clone(), base.clone());
        load(storm, move |_| {
            let (http, base, one) = (http.clone(), base.clone(), one.clone());
            async move { sign_in(&http, &base, &one, "openid").await.map(|_| ()) }
        })
        .await
    };
    let loaded_rss = servers.rss_kib();
    servers.stop().await;
    Ok(json!({
        "users": n, "data_dir_mib": round(store.size_bytes().await? as f64 / 1_048_576.0),
        "start_to_ready_ms": round(start_ms), "idle_rss_mib": round(idle_rss as f64 / 1024.0),
        "rss_after_load_mib": round(loaded_rss as f64 / 1024.0),
        "client_credentials": cc.report(), "refresh_token": refresh.report(), "password_login": logins.report(),
    }))
}

/// One data dir grows through `sizes`; at each size the server starts on it
/// and the grants are measured. A copy of the smallest directory is measured
/// again at the end, so drift of the machine over the run shows (and is
/// averaged out of the ratios).
async fn sizes_section(
    under: &Under<'_>,
    work: &Path,
    passwords: &b2b_idp::config::PasswordConfig,
    sizes: &[usize],
    plan: &Plan,
    storm: &Plan,
    http: &reqwest::Client,
) -> anyhow::Result<Value> {
    let store = under.deployment.store(work.join("sizes/data")).await?;
    // sled only: the smallest directory is copied and measured again at the end.
    let smallest = match store.url {
        None => Some(under.deployment.store(work.join("sizes/smallest/data")).await?),
        Some(_) => None,
    };
    // A first start seeds the tenants and keys; then the server is stopped for the loader.
    under.deployment.start(under.bin, under.config, &store, http).await?.stop().await;
    let hash = b2b_idp::passwords::PasswordHasher::new(passwords)?.hash(BULK_PASSWORD).await?;
    let template = bulk_template(&hash)?;
    let mut rows = vec![];
    let mut loaded = 0;
    for &n in sizes {
        eprintln!("bench: directory with {n} users: loading");
        let started = Instant::now();
        bulk_load(&store, loaded, n.max(loaded), &template).await?;
        let load_secs = started.elapsed().as_secs_f64();
        let added = n.saturating_sub(loaded);
        loaded = loaded.max(n);
        if let (true, true, Some(smallest)) = (rows.is_empty(), sizes.len() > 1, &smallest) {
            copy_dir(&store.data, &smallest.data)?;
        }
        let mut row = measure_directory(under, &store, n, plan, storm, http).await?;
        row["added"] = json!(added);
        row["load_secs"] = json!(round(load_secs));
        row["users_loaded_per_sec"] = json!(round(added as f64 / load_secs.max(1e-9)));
        rows.push(row);
    }
    let mut repeat = None;
    if let (true, Some(&n), Some(smallest)) = (sizes.len() > 1, sizes.first(), &smallest) {
        eprintln!("bench: directory with {n} users again (a copy made before it grew)");
        let mut row = measure_directory(under, smallest, n, plan, storm, http).await?;
        row["repeat_of_smallest"] = json!(true);
        repeat = Some(row);
    }
    store.drop(under.deployment).await?;
    // Cost ratios, largest directory vs smallest (mean of its two measurements): > 1 means slower with more users.
    let figure = |row: Option<&Value>, k: &str, f: &str| row.and_then(|r| r[k][f].as_f64());
    let small = |k: &str, f: &str| {
        let both: Vec<f64> = [figure(rows.first(), k, f), figure(repeat.as_ref(), k, f)].into_iter().flatten().collect();
        (rows.len() > 1 && !both.is_empty()).then(|| both.iter().sum::<f64>() / both.len() as f64)
    };
    let large = rows.last().filter(|_| rows.len() > 1);
    let ratios = json!({
        "largest": large.map(|r| r["users"].clone()), "smallest": rows.first().filter(|_| rows.len() > 1).map(|r| r["users"].clone()),
        "refresh_cost": ratio(small("refresh_token", "per_sec"), figure(large, "refresh_token", "per_sec")),
        "refresh_p50": ratio(figure(large, "refresh_token", "p50_ms"), small("refresh_token", "p50_ms")),
        "client_credentials_cost": ratio(small("client_credentials", "per_sec"), figure(large, "client_credentials", "per_sec")),
        "password_login_cost": ratio(small("password_login", "per_sec"), figure(large, "password_login", "per_sec")),
    });
    if let Some(row) = repeat {
        rows.push(row);
    }
    Ok(json!({"rows": rows, "cost_ratio_largest_vs_smallest": ratios,
              "note": "one store grown by a bulk loader (store API create_user, 8 writers, one precomputed argon2id hash); \
                       refresh chains belong to users spread over the directory; the login is one user's; on sled, the last row \
                       is a copy of the smallest directory measured again at the end (the ratios use the mean of both)"}))
}

// ---- home realm discovery against the number of tenants ----

/// Adds tenants `from..to` (each owning `t{i}.bench.example`) through the store API.
async fn bulk_tenants(store: &deploy::Store, from: usize, to: usize) -> anyhow::Result<()> {
    let opened = store.open().await?;
    let next = Arc::new(AtomicUsize::new(from));
    let tasks: Vec<_> = (0..LOADERS)
        .map(|_| {
            let (store, next) = (opened.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        return anyhow::Ok(());
                    }
                    let tenant: b2b_idp::model::Tenant = serde_json::from_value(json!({
                        "id": uuid::Uuid::new_v4().to_string(), "name": format!("bench-{i}"), "display_name": format!("Bench {i}"),
                        "cloud": "global", "region_scope": "WW", "signing_alg": "ES256", "created_at": 0,
                        "domains": [bench_domain(i)], "unmanaged": false,
                    }))?;
                    store.put_tenant(&tenant).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    opened.flush().await?;
    Ok(())
}

fn bench_domain(i: usize) -> String {
    format!("t{i}.bench.example")
}

/// Guest sign-ins (home realm discovery on each) and invitations to
/// addresses of the bulk tenants' domains, with `counts` tenants in the
/// directory: what grows with the number of tenants shows as a ratio.
#[allow(clippy::too_many_arguments)]
async fn tenants_section(
    deployment: &deploy::Deployment,
    bin: &Path,
    config: &Path,
    counts: &[usize],
    storm: &Plan,
    http: &reqwest::Client,
    work: &Path,
) -> anyhow::Result<Value> {
    let store = deployment.store(work.join("tenants/data")).await?;
    let servers = deployment.start(bin, config, &store, http).await?;
    guest_setup(http, &servers.public).await.context("the guest")?;
    servers.stop().await;
    let demo_tenants = 2;
    let (mut loaded, mut rows, mut invited) = (demo_tenants, vec![], 0usize);
    for &n in counts {
        eprintln!("bench: {n} tenants: loading");
        let started = Instant::now();
        bulk_tenants(&store, loaded, n.max(loaded)).await?;
        let load_secs = started.elapsed().as_secs_f64();
        loaded = loaded.max(n);
        let bulk = loaded - demo_tenants;
        let servers = deployment.start(bin, config, &store, http).await?;
        let base = servers.public.clone();
        // The last tenant loaded answers: the directory really has them all.
        let last = format!("{base}/bench-{}/v2.0/.well-known/openid-configuration", loaded - 1);
        if bulk > 0 && !http.get(&last).send().await?.status().is_success() {
            bail!("tenant bench-{} is not there", loaded - 1);
        }
        eprintln!("bench: {n} tenants: guest sign-ins, invitations");
        let sign_ins = {
            let (http, base, bob) = (http.clone(), base.clone(), Arc::new(guest()));
            load(storm, move |_| {
                let (http, base, bob) = (http.clone(), base.clone(), bob.clone());
                async move { sign_in(&http, &base, &bob, "openid%20profile%20email").await.map(|_| ()) }
            })
            .await
        };
        let token = admin_token(http, &base).await?;
        let seq = Arc::new(AtomicUsize::new(invited));
        let invitations = {
            let (http, base, seq, token) = (http.clone(), base.clone(), seq.clone(), Arc::new(token));
            load(storm, move |_| {
                let (http, base, seq, token) = (http.clone(), base.clone(), seq.clone(), token.clone());
                async move {
                    let k = seq.fetch_add(1, Ordering::Relaxed);
                    let email = format!("inv{k}@{}", bench_domain(demo_tenants + k % bulk.max(1)));
                    let response = http
                        .post(format!("{base}/contoso/v1.0/invitations"))
                        .bearer_auth(token.as_str())
                        .json(
                            &json!({"invitedUserEmailAddress": email, "inviteRedirectUrl": GUEST_LANDING, "sendInvitationMessage": false}),
                        )
                        .send()
                        .await?;
                    if !response.status().is_success() {
                        bail!("invitation: {} {}", response.status(), response.text().await.unwrap_or_default());
                    }
                    Ok(())
                }
            })
            .await
        };
        invited = seq.load(Ordering::Relaxed);
        let rss = servers.rss_kib();
        servers.stop().await;
        rows.push(json!({"tenants": n, "load_secs": round(load_secs), "rss_after_mib": round(rss as f64 / 1024.0),
                         "guest_sign_in": sign_ins.report(), "invitation": invitations.report()}));
    }
    store.drop(deployment).await?;
    let figure = |row: Option<&Value>, k: &str| row.and_then(|r| r[k]["per_sec"].as_f64());
    let (small, large) = (rows.first(), rows.last().filter(|_| rows.len() > 1));
    Ok(json!({
        "rows": rows,
        "cost_ratio_most_vs_fewest": {
            "guest_sign_in": ratio(figure(small, "guest_sign_in"), figure(large, "guest_sign_in")),
            "invitation": ratio(figure(small, "invitation"), figure(large, "invitation")),
        },
        "note": "tenants added through the store API, each owning its own domain; every guest sign-in and invitation \
                 finds the home tenant of an address by its domain; invitations go to addresses of the added tenants' domains"
    }))
}

// ---- the run ----

/// The repository (the server crate's directory), above this crate's.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Under `cargo run` (no `--server-bin`), builds the server binary beside
/// this one first: `cargo run -p b2b-idp-bench` alone would leave a stale (or
/// missing) `b2b-idp` and measure old code.
fn build_server() -> anyhow::Result<()> {
    let Ok(cargo) = std::env::var("CARGO") else { return Ok(()) };
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "-p", "b2b-idp", "--bin", "b2b-idp", "--manifest-path"]).arg(repo().join("Cargo.toml"));
    // What `cargo run` sets for this binary must not reach the build: build
    // scripts (ring's) watch CARGO_PKG_* and the like, and would rebuild.
    const RUN_ONLY: [&str; 8] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CFG_",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| RUN_ONLY.iter().any(|p| n.starts_with(p))) {
            build.env_remove(name);
        }
    }
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    eprintln!("bench: building the server (cargo build --bin b2b-idp)");
    if !build.status().context("running cargo build")?.success() {
        bail!("cargo build --bin b2b-idp failed");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = match args.first().map(String::as_str) {
        Some("all") => false,
        Some("smoke") => true,
        asked => {
            let usage = "usage: bench all|smoke [--out FILE] [--server-bin PATH] [--sizes N,N,…] [--tenants N,N,…] \
                         [--only physical,main,guest,peer,sizes,tenants] [--seconds S] [--postgres URL [--instances N]]";
            if matches!(asked, Some("-h" | "--help" | "help")) {
                println!("{usage}");
                return Ok(());
            }
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = PathBuf::from(flag("--out").unwrap_or_else(|| "bench/results.json".into()));
    let server_bin = match flag("--server-bin") {
        Some(p) => PathBuf::from(p),
        None => {
            build_server()?;
            std::env::current_exe()?.with_file_name("b2b-idp")
        }
    };
    let only: Option<Vec<String>> = flag("--only").map(|s| s.split(',').map(str::to_string).collect());
    let wants = |section: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == section));
    let sizes: Vec<usize> = match flag("--sizes") {
        Some(s) => s.split(',').map(|n| n.trim().replace('_', "").parse()).collect::<Result<_, _>>().context("--sizes")?,
        None if smoke => vec![100],
        None => vec![1_000, 100_000, 1_000_000],
    };
    let tenant_counts: Vec<usize> = match flag("--tenants") {
        Some(s) => s.split(',').map(|n| n.trim().replace('_', "").parse()).collect::<Result<_, _>>().context("--tenants")?,
        None if smoke => vec![10, 20],
        None => vec![10, 10_000],
    };
    let deployment = deploy::Deployment {
        postgres: flag("--postgres"),
        instances: flag("--instances").map(|n| n.parse()).transpose().context("--instances")?.unwrap_or(1),
    };
    if deployment.postgres.is_none() && deployment.instances > 1 {
        bail!("--instances needs --postgres: sled admits one process");
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let seconds = match flag("--seconds") {
        Some(s) => s.parse().context("--seconds")?,
        None if smoke => 0.5,
        None => 8.0,
    };
    let work = tempfile::tempdir()?;

    // The server's config: the demo without its conditional access policies.
    let demo = repo().join("config/default.toml");
    let config_path = work.path().join("bench-config.toml");
    std::fs::write(&config_path, without_conditional_access(&std::fs::read_to_string(&demo)?))?;
    let config = b2b_idp::config::Config::load(Some(&config_path)).map_err(|e| anyhow!("the bench's config: {e}"))?;
    if config.tenants.iter().any(|t| !t.conditional_access.is_empty()) || config.tenants.len() < 2 {
        bail!("the bench's config still has conditional access, or lost a tenant");
    }
    eprintln!("bench: {NO_CA_NOTE}");

    let cpu_at_start = cpu_times();
    let mut results = Map::new();
    results.insert(
        "machine".into(),
        json!({"cores": cores, "cpu": cpu_model(), "mode": if smoke { "smoke" } else { "all" },
                                            "load_average_at_start": load_average()}),
    );
    results.insert("config".into(), json!(NO_CA_NOTE));
    results.insert("deployment".into(), json!(deployment.label()));

    let (mut es256, mut argon2) = (None, None);
    if wants("physical") {
        eprintln!("bench: physical limits");
        es256 = Some(signs_per_sec(b2b_idp::model::Alg::ES256, seconds)?);
        let rs256 = Some(signs_per_sec(b2b_idp::model::Alg::RS256, (seconds / 2.0).max(0.5))?);
        let jwt = Some(jwt_encodes_per_sec((seconds / 2.0).max(0.5))?);
        argon2 = Some(argon2_hashes_per_sec(&config.passwords, cores, seconds.max(1.0))?);
        results.insert(
            "physical".into(),
            json!({
            "es256_signs_per_sec_one_core": es256.map(round), "rs256_signs_per_sec_one_core": rs256.map(round),
            "es256_jwt_encodes_per_sec_one_core": jwt.map(round),
            "argon2id_hashes_per_sec": argon2.map(round),
            "argon2id_params": {"memory_kib": config.passwords.memory_kib, "iterations": config.passwords.iterations,
                                "parallelism": config.passwords.parallelism, "threads": cores}}),
        );
    }

    let http = client()?;
    let plan = Plan { seconds, concurrency: if smoke { 4 } else { 64 }, warmup: if smoke { 0.0 } else { 1.0 } };
    let storm = Plan { seconds, concurrency: cores * 4, warmup: 0.0 };
    let (mut cc, mut refresh, mut logins, mut guest_run, mut cold_start_ms, mut idle_rss_kib) = (None, None, None, None, None, None);
    let (mut cc_key, mut obo) = (None, None);

    if wants("main") || wants("guest") {
        // The server: its own process(es), a fresh store; started twice so
        // the second start measures start-up on existing data.
        let store = deployment.store(work.path().join("main/data")).await?;
        deployment.start(&server_bin, &config_path, &store, &http).await?.kill().await?;
        let started = Instant::now();
        let servers = deployment.start(&server_bin, &config_path, &store, &http).await?;
        cold_start_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        let base = servers.public.clone();
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle_rss_kib = Some(servers.rss_kib());
        results.insert(
            "server".into(),
            json!({"idle_rss_mib": idle_rss_kib.map(|k| round(k as f64 / 1024.0)),
                                               "start_to_ready_ms_existing_data": cold_start_ms.map(round)}),
        );

        if wants("main") {
            eprintln!("bench: client_credentials");
            let run = cc_load(
                &plan,
                format!("{base}/contoso/oauth2/v2.0/token"),
                Some(("admin-cli", "admin-cli-secret")),
                &[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")],
            )
            .await;
            let mut report = run.report();
            report["server_rss_after_mib"] = json!(round(servers.rss_kib() as f64 / 1024.0));
            results.insert("client_credentials".into(), report);
            cc = Some(run);

            eprintln!("bench: client_credentials with private_key_jwt (ES256)");
            let run = match key_client(&http, &base).await {
                Ok(assertion) => {
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("scope", "api://b2b-idp-admin/.default"),
                        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                        ("client_assertion", assertion.as_str()),
                    ];
                    cc_load(&plan, format!("{base}/contoso/oauth2/v2.0/token"), None, &form).await
                }
                Err(e) => Run::failed(e),
            };
            results.insert("client_credentials_private_key_jwt".into(), run.report());
            cc_key = Some(run);

            eprintln!("bench: on-behalf-of (jwt-bearer)");
            let run = match obo_setup(&http, &base).await {
                Ok((client_id, secret, assertion)) => {
                    let form = [
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("requested_token_use", "on_behalf_of"),
                        ("assertion", assertion.as_str()),
                        ("scope", "api://bench-payroll/.default"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.as_str()),
                    ];
                    cc_load(&plan, format!("{base}/contoso/oauth2/v2.0/token"), None, &form).await
                }
                Err(e) => Run::failed(e),
            };
            results.insert("on_behalf_of".into(), run.report());
            obo = Some(run);

            eprintln!("bench: refresh_token (rotation)");
            let alice = member(ALICE);
            let chains = refresh_chains(plan.concurrency, storm.concurrency, |_| async {
                let tokens = sign_in(&http, &base, &alice, "openid%20offline_access").await?;
                Ok(tokens["refresh_token"].as_str().ok_or_else(|| anyhow!("no refresh token: {tokens}"))?.to_string())
            })
            .await?;
            let run = refresh_load(&plan, format!("{base}/contoso/oauth2/v2.0/token"), ("demo-app", "demo-app-secret"), chains).await;
            let mut report = run.report();
            report["server_rss_after_mib"] = json!(round(servers.rss_kib() as f64 / 1024.0));
            results.insert("refresh_token".into(), report);
            refresh = Some(run);

            eprintln!("bench: password logins, with discovery/JWKS sampled during the storm");
            let storm_run = {
                let (http, base, alice) = (http.clone(), base.clone(), Arc::new(member(ALICE)));
                load(&storm, move |_| {
                    let (http, base, alice) = (http.clone(), base.clone(), alice.clone());
                    async move { sign_in(&http, &base, &alice, "openid").await.map(|_| ()) }
                })
            };
            let sampler = {
                let (http, base) = (http.clone(), base.clone());
                async move {
                    let mut run = Run::default();
                    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
                    let paths =
                        [format!("/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"), format!("/{CONTOSO_ID}/discovery/v2.0/keys")];
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
            let (storm_run, discovery) = tokio::join!(storm_run, sampler);
            let mut report = storm_run.report();
            report["server_rss_after_mib"] = json!(round(servers.rss_kib() as f64 / 1024.0));
            results.insert("password_login".into(), report);
            results.insert("discovery_jwks_during_login_storm".into(), discovery.report());
            logins = Some(storm_run);
        }

        if wants("guest") {
            eprintln!("bench: guest federated sign-in (contoso → fabrikam → contoso): invite, redeem, then sign-ins");
            let section = match guest_setup(&http, &base).await {
                Ok(claims) => {
                    let run = {
                        let (http, base, bob) = (http.clone(), base.clone(), Arc::new(guest()));
                        load(&storm, move |_| {
                            let (http, base, bob) = (http.clone(), base.clone(), bob.clone());
                            async move { sign_in(&http, &base, &bob, "openid%20profile%20email").await.map(|_| ()) }
                        })
                        .await
                    };
                    let mut report = run.report();
                    report["concurrency"] = json!(storm.concurrency);
                    report["server_rss_after_mib"] = json!(round(servers.rss_kib() as f64 / 1024.0));
                    report["guest_id_token"] = claims;
                    report["note"] = json!(NO_CA_NOTE);
                    guest_run = Some(run);
                    report
                }
                Err(e) => {
                    eprintln!("bench: guest scenario failed: {e:#}");
                    json!({"error": format!("{e:#}"), "note": NO_CA_NOTE})
                }
            };
            results.insert("guest_federated_sign_in".into(), section);
        }
        servers.stop().await;
        store.drop(&deployment).await?;
    }

    if wants("tenants") {
        let section =
            tenants_section(&deployment, &server_bin, &config_path, &tenant_counts, &storm, &http, work.path()).await.unwrap_or_else(|e| {
                eprintln!("bench: tenants failed: {e:#}");
                json!({"error": format!("{e:#}")})
            });
        results.insert("tenants".into(), section);
    }

    let mut peer = None;
    if wants("peer") {
        let section = if smoke {
            json!({"status": "skipped (smoke)"})
        } else {
            eprintln!("bench: peer (node oidc-provider)");
            peer_section(&plan, &http, work.path()).await.unwrap_or_else(|e| json!({"status": format!("failed ({e:#})")}))
        };
        peer = Some(section.clone());
        results.insert("peer".into(), section);
    }

    if wants("sizes") {
        let size_plan = Plan { seconds: if smoke { 0.3 } else { seconds * 5.0 / 8.0 }, ..plan };
        let size_storm = Plan { seconds: if smoke { 0.3 } else { seconds / 2.0 }, ..storm };
        let under = Under { deployment: &deployment, bin: &server_bin, config: &config_path };
        let section =
            sizes_section(&under, work.path(), &config.passwords, &sizes, &size_plan, &size_storm, &http).await.unwrap_or_else(|e| {
                eprintln!("bench: directory sizes failed: {e:#}");
                json!({"error": format!("{e:#}")})
            });
        results.insert("directory_sizes".into(), section);
    }

    // Ratios and targets (issue 6), read from this run only.
    let rate = |r: &Option<Run>| r.as_ref().map(Run::per_sec);
    let peer_rate = |k: &str| peer.as_ref().and_then(|p| p[k]["per_sec"].as_f64()).filter(|&v| v > 0.0);
    let size_ratios = results.get("directory_sizes").map(|s| s["cost_ratio_largest_vs_smallest"].clone()).unwrap_or(Value::Null);
    let ratios = json!({
        "client_credentials_vs_peer": ratio(rate(&cc), peer_rate("client_credentials")),
        "private_key_jwt_vs_secret": ratio(rate(&cc_key), rate(&cc)),
        "on_behalf_of_vs_client_credentials": ratio(rate(&obo), rate(&cc)),
        "refresh_vs_peer": ratio(rate(&refresh), peer_rate("refresh_token")),
        "client_credentials_vs_es256_one_core": ratio(rate(&cc), es256),
        "refresh_vs_es256_one_core": ratio(rate(&refresh), es256),
        "logins_vs_argon2id": ratio(rate(&logins), argon2),
        "guest_sign_ins_vs_argon2id": ratio(rate(&guest_run), argon2),
        "client_credentials_per_core_vs_keycloak": ratio(rate(&cc).map(|r| r / cores as f64), Some(KEYCLOAK_CC_PER_VCPU)),
        "logins_per_core_vs_keycloak": ratio(rate(&logins).map(|r| r / cores as f64), Some(KEYCLOAK_LOGINS_PER_VCPU)),
        "grant_cost_largest_vs_smallest_directory": size_ratios,
    });
    let at_least = |v: &Value, min: f64| v.as_f64().map_or(Value::Null, |x| json!(x >= min));
    let at_most = |v: Option<f64>, max: f64| v.map_or(Value::Null, |x| json!(x <= max));
    let discovery_p99 = results.get("discovery_jwks_during_login_storm").and_then(|d| d["p99_ms"].as_f64());
    let worst_size_cost = ["refresh_cost", "client_credentials_cost"]
        .iter()
        .filter_map(|k| ratios["grant_cost_largest_vs_smallest_directory"][*k].as_f64())
        .reduce(f64::max);
    let worst_tenant_cost = ["guest_sign_in", "invitation"]
        .iter()
        .filter_map(|k| results.get("tenants").and_then(|t| t["cost_ratio_most_vs_fewest"][*k].as_f64()))
        .reduce(f64::max);
    let targets = json!({
        "client_credentials >= 5x peer": at_least(&ratios["client_credentials_vs_peer"], 5.0),
        "refresh >= 5x peer": at_least(&ratios["refresh_vs_peer"], 5.0),
        "client_credentials >= 0.5x ES256 one core": at_least(&ratios["client_credentials_vs_es256_one_core"], 0.5),
        "refresh >= 0.5x ES256 one core": at_least(&ratios["refresh_vs_es256_one_core"], 0.5),
        "logins >= 0.9x argon2id": at_least(&ratios["logins_vs_argon2id"], 0.9),
        "discovery/JWKS p99 < 5 ms during logins": at_most(discovery_p99, 4.999),
        "grant cost at largest directory <= 1.2x smallest": at_most(worst_size_cost, 1.2),
        "guest sign-in and invitation cost at most tenants <= 1.2x fewest": at_most(worst_tenant_cost, 1.2),
        "idle RSS < 30 MiB": at_most(idle_rss_kib.map(|k| k as f64 / 1024.0), 29.999),
        "start to /readyz < 200 ms": at_most(cold_start_ms, 199.999),
    });
    if let Some(machine) = results.get_mut("machine") {
        machine["load_average_at_end"] = json!(load_average());
        machine["cpu_steal_percent_during_run"] = steal_percent(&cpu_at_start);
    }
    results.insert("ratios".into(), ratios);
    results.insert("targets_met".into(), targets);
    let results = Value::Object(results);

    print_report(&results, &sizes);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)?)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn print_report(results: &Value, sizes: &[usize]) {
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    let line = |name: &str, r: &Value| {
        if r["per_sec"].is_number() {
            println!(
                "{:<52} {:>10.1} {:>9.2} {:>9.2} {:>7}",
                name,
                num(&r["per_sec"]),
                num(&r["p50_ms"]),
                num(&r["p99_ms"]),
                num(&r["errors"])
            );
            if let Some(e) = r["first_error"].as_str() {
                println!("    first error: {e}");
            }
        } else if let Some(status) = r["status"].as_str().or(r["error"].as_str()) {
            println!("{name:<52} {status}");
        }
    };
    println!("deployment: {}", results["deployment"].as_str().unwrap_or("?"));
    println!("{:<52} {:>10} {:>9} {:>9} {:>7}", "scenario", "per sec", "p50 ms", "p99 ms", "errors");
    for (key, name) in [
        ("client_credentials", "b2b-idp client_credentials"),
        ("client_credentials_private_key_jwt", "b2b-idp client_credentials, private_key_jwt ES256"),
        ("on_behalf_of", "b2b-idp on-behalf-of (user token → downstream API)"),
        ("refresh_token", "b2b-idp refresh_token (rotation)"),
        ("password_login", "b2b-idp password login (authorize+form+code+token)"),
        ("discovery_jwks_during_login_storm", "b2b-idp discovery/JWKS during the login storm"),
        ("guest_federated_sign_in", "b2b-idp guest sign-in contoso → fabrikam → contoso"),
    ] {
        line(name, &results[key]);
    }
    let peer = &results["peer"];
    if peer["status"] == "ok" {
        line("peer client_credentials", &peer["client_credentials"]);
        line("peer refresh_token (rotation)", &peer["refresh_token"]);
    } else if peer.is_object() {
        println!("{:<52} {}", "peer (node oidc-provider)", peer["status"].as_str().unwrap_or("?"));
    }
    let sizes_section = &results["directory_sizes"];
    if let Some(rows) = sizes_section["rows"].as_array() {
        println!(
            "{:>9} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10} {:>8}",
            "users", "load s", "data MiB", "start ms", "RSS MiB", "cc/s", "refresh/s", "refr. p50", "login/s"
        );
        for row in rows {
            println!(
                "{:>9} {:>8} {:>8.0} {:>8.0} {:>8.1} {:>10.0} {:>10.0} {:>10.2} {:>8.1}",
                row["users"].as_u64().unwrap_or(0),
                if row["repeat_of_smallest"] == true { "again".to_string() } else { format!("{:.1}", num(&row["load_secs"])) },
                num(&row["data_dir_mib"]),
                num(&row["start_to_ready_ms"]),
                num(&row["idle_rss_mib"]),
                num(&row["client_credentials"]["per_sec"]),
                num(&row["refresh_token"]["per_sec"]),
                num(&row["refresh_token"]["p50_ms"]),
                num(&row["password_login"]["per_sec"])
            );
            for k in ["client_credentials", "refresh_token", "password_login"] {
                if let Some(e) = row[k]["first_error"].as_str() {
                    println!("    {k} first error: {e}");
                }
            }
        }
    } else if let Some(e) = sizes_section["error"].as_str() {
        println!("directory sizes {sizes:?}: {e}");
    }
    let tenants = &results["tenants"];
    if let Some(rows) = tenants["rows"].as_array() {
        println!("{:>9} {:>8} {:>14} {:>10} {:>14} {:>10}", "tenants", "load s", "guest sign-in/s", "p99 ms", "invitations/s", "p99 ms");
        for row in rows {
            println!(
                "{:>9} {:>8.1} {:>14.1} {:>10.1} {:>14.1} {:>10.1}",
                row["tenants"].as_u64().unwrap_or(0),
                num(&row["load_secs"]),
                num(&row["guest_sign_in"]["per_sec"]),
                num(&row["guest_sign_in"]["p99_ms"]),
                num(&row["invitation"]["per_sec"]),
                num(&row["invitation"]["p99_ms"])
            );
            for k in ["guest_sign_in", "invitation"] {
                if let Some(e) = row[k]["first_error"].as_str() {
                    println!("    {k} first error: {e}");
                }
            }
        }
        println!("cost ratio, most vs fewest tenants: {}", tenants["cost_ratio_most_vs_fewest"]);
    } else if let Some(e) = tenants["error"].as_str() {
        println!("tenants: {e}");
    }
    let physical = &results["physical"];
    if physical.is_object() {
        println!(
            "ES256 signatures/s, one core: {:.0} (whole JWTs: {:.0}); RS256: {:.0}; argon2id hashes/s ({} threads): {:.1}",
            num(&physical["es256_signs_per_sec_one_core"]),
            num(&physical["es256_jwt_encodes_per_sec_one_core"]),
            num(&physical["rs256_signs_per_sec_one_core"]),
            physical["argon2id_params"]["threads"],
            num(&physical["argon2id_hashes_per_sec"])
        );
    }
    if results["server"].is_object() {
        println!(
            "idle RSS: {} MiB; start to /readyz on existing data: {} ms",
            results["server"]["idle_rss_mib"], results["server"]["start_to_ready_ms_existing_data"]
        );
    }
    println!("ratios: {}", results["ratios"]);
    println!("targets met (null = not measured in this run):");
    if let Some(targets) = results["targets_met"].as_object() {
        for (name, met) in targets {
            println!(
                "  {:<48} {}",
                name,
                match met.as_bool() {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "—",
                }
            );
        }
    }
    println!("note: {NO_CA_NOTE}");
}
