//! What the fuzz targets share: a tokio runtime and, for the protocol
//! targets, a real `Idp` (the server's context, no HTTP) over a throw-away
//! sled store, prepared from [`FIXTURE`] the way the server starts.
//!
//! The protocol targets only call read paths (a fuzzed code, refresh token or
//! session cookie never names a stored record), so the store does not grow
//! while fuzzing and an input behaves the same on replay.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use b2b_idp::config::Config;
use b2b_idp::idp::Idp;
use b2b_idp::model::Tenant;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

pub const TENANT_ID: &str = "00000000-0000-4000-8000-00000000f022";
pub const BASE_URL: &str = "https://idp.fuzz.example";
pub const ISSUER: &str = "https://idp.fuzz.example/00000000-0000-4000-8000-00000000f022/v2.0";
/// Where the fixture's browser requests come from (`authorize::validate`).
pub const SOURCE: &str = "203.0.113.7";

/// The fixture tenant: a confidential web app, a public SPA (PKCE), and an
/// API the web app may call as itself (`client_credentials`).
pub const FIXTURE: &str = r#"
[server]
public_base_url = "https://idp.fuzz.example"

[passwords]
memory_kib = 1024
iterations = 1
max_concurrent = 1

[[tenants]]
name = "fuzz"
id = "00000000-0000-4000-8000-00000000f022"
domains = ["fuzz.example"]

  [[tenants.apps]]
  client_id = "web"
  secret = "web-secret"
  redirect_uris = ["https://rp.example/cb"]
  post_logout_redirect_uris = ["https://rp.example/bye"]
  grant_types = ["authorization_code", "refresh_token", "client_credentials"]
  api_permissions = { "api://fuzz-api" = ["Data.Read"] }
  delegated_permissions = { "api://fuzz-api" = ["user_impersonation"] }

  [[tenants.apps]]
  client_id = "spa"
  redirect_uris = ["http://localhost:3000/cb"]
  require_consent = true

  [[tenants.apps]]
  client_id = "api"
  secret = "api-secret"
  identifier_uri = "api://fuzz-api"
  grant_types = ["client_credentials"]
  signing_alg = "RS256"
"#;

/// Client secrets of [`FIXTURE`]'s confidential apps.
pub fn fixture_secret(client_id: &str) -> Option<&'static str> {
    match client_id {
        "web" => Some("web-secret"),
        "api" => Some("api-secret"),
        _ => None,
    }
}

/// The `redirect_uris` registered in [`FIXTURE`]: the only places the
/// authorization endpoint may send a browser back to.
pub const REDIRECT_URIS: [&str; 2] = ["https://rp.example/cb", "http://localhost:3000/cb"];

/// One current-thread runtime per process: everything async here runs on it.
pub fn block_on<F: Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| fixture_failed(&format!("tokio runtime: {e}")))
    })
    .block_on(f)
}

pub struct Fixture {
    pub idp: Arc<Idp>,
    pub tenant: Tenant,
}

/// The fixture, prepared once per process (one sled store, removed at exit);
/// the targets build it in `fuzz_target!`'s `init`, before any input is timed.
pub fn fixture() -> &'static Fixture {
    static FIXTURE_CELL: OnceLock<Fixture> = OnceLock::new();
    FIXTURE_CELL.get_or_init(|| {
        let dir = scratch_dir();
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(FIXTURE))
            .extract()
            .unwrap_or_else(|e| fixture_failed(&format!("fixture config: {e}")));
        config.store.path = dir.join("store");
        config.mail.outbox = dir.join("outbox");
        block_on(async {
            let idp = b2b_idp::server::prepare(config).await.unwrap_or_else(|e| fixture_failed(&format!("server::prepare: {e:#}")));
            let tenant = idp.tenant(TENANT_ID).await.unwrap_or_else(|e| fixture_failed(&format!("fixture tenant: {e}")));
            Fixture { idp, tenant }
        })
    })
}

/// A fixture that cannot be built is not a finding about an input: say so
/// and stop, without leaving a crash artifact behind.
fn fixture_failed(why: &str) -> ! {
    eprintln!("fuzz fixture failed: {why}");
    std::process::exit(3)
}

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_scratch() {
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A fresh directory under $TMPDIR, removed when the process exits normally
/// (libFuzzer ends with `exit`); a crash leaves it for the post-mortem.
fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("b2b-idp-fuzz-{}-{nanos}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        fixture_failed(&format!("{}: {e}", dir.display()));
    }
    let dir = SCRATCH.get_or_init(|| dir).clone();
    // SAFETY: registers a plain `extern "C" fn()` with no captured state.
    unsafe {
        libc::atexit(remove_scratch);
    }
    dir
}
