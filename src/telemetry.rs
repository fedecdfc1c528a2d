//! Prometheus metrics at `/metrics` (`server.metrics`), through the
//! `metrics` facade: code anywhere counts with `metrics::counter!` and
//! friends; this module installs the recorder that keeps them and renders
//! the text format. Names start with `b2b_idp_`; labels are bounded sets
//! (route templates, tenant names, outcomes), never a user, an address or
//! a raw path.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds): from a cached read to a slow argon2 queue.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; servers started later in the
/// same process, as tests do, share it). None if another recorder was
/// installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder =
                PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS).ok()?.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// The text exposition of every metric so far.
pub fn render() -> Option<String> {
    install().map(|handle| {
        upkeep();
        handle.render()
    })
}

/// Folds histograms' pending samples into their buckets. They pile up
/// between scrapes otherwise, so the server runs this every few seconds.
pub fn upkeep() {
    if let Some(Some(handle)) = HANDLE.get() {
        handle.run_upkeep();
    }
    set_active_lockouts(&mut LOCKOUTS.lock().unwrap_or_else(PoisonError::into_inner));
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("b2b_idp_http_requests_total", "HTTP requests by route template, method and status");
    describe_histogram!("b2b_idp_http_request_duration_seconds", Unit::Seconds, "HTTP request latency by route template and method");
    describe_counter!("b2b_idp_tokens_issued_total", "Tokens issued by tenant, grant type and client kind");
    describe_counter!("b2b_idp_sign_ins_total", "Sign-ins and sign-in steps by tenant, outcome and user type");
    describe_counter!("b2b_idp_mfa_satisfied_total", "Second factors satisfied, by where (local, home)");
    describe_counter!("b2b_idp_invitations_total", "Invitations by tenant and outcome");
    describe_gauge!("b2b_idp_argon2_queue_depth", "Password hashes waiting for a hashing thread");
    describe_histogram!("b2b_idp_argon2_wait_seconds", Unit::Seconds, "Time a password hash waited for a hashing thread");
    describe_histogram!("b2b_idp_store_operation_seconds", Unit::Seconds, "Store operation latency by backend and operation");
    describe_counter!("b2b_idp_mail_total", "Mail by transport and result (sent, failed)");
    describe_counter!("b2b_idp_lockouts_total", "Lockouts started, by kind (password, mfa)");
    describe_gauge!("b2b_idp_lockouts_active", "Lockouts this instance started that have not ended yet");
    describe_counter!("b2b_idp_security_events_total", "Refused requests worth an alert, by event");
    describe_counter!(
        "b2b_idp_backchannel_logouts_total",
        "Logout tokens sent to apps, by tenant and outcome (delivered, refused, failed, dropped)"
    );
    describe_counter!("b2b_idp_audit_dropped_total", "Audit log entries dropped (queue full or store failing)");
}

/// A tenant as a label: its name (tenants are created by admins, so the
/// set is bounded), except just-in-time tenants, which anyone with a new
/// mail domain creates: those count together.
pub fn tenant_label(name: &str, unmanaged: bool) -> &str {
    if unmanaged {
        "unmanaged"
    } else {
        name
    }
}

/// When the lockouts this instance started end.
static LOCKOUTS: Mutex<VecDeque<Instant>> = Mutex::new(VecDeque::new());

/// A lockout began (`kind`: `password`, `mfa`) and lasts `for_secs`.
pub fn lockout_started(kind: &'static str, for_secs: u64, reason: &str) {
    metrics::counter!("b2b_idp_lockouts_total", "kind" => kind).increment(1);
    security_event("lockout", reason);
    let mut active = LOCKOUTS.lock().unwrap_or_else(PoisonError::into_inner);
    active.push_back(Instant::now() + Duration::from_secs(for_secs));
    set_active_lockouts(&mut active);
}

/// `b2b_idp_lockouts_active`: those not ended yet (they end in the order they began).
fn set_active_lockouts(active: &mut VecDeque<Instant>) {
    let now = Instant::now();
    while active.front().is_some_and(|end| *end <= now) {
        active.pop_front();
    }
    metrics::gauge!("b2b_idp_lockouts_active").set(active.len() as f64);
}

/// A refused request worth an alert: logged at WARN with its reason (never
/// a secret) and counted by `event` (`b2b_idp_security_events_total`).
pub fn security_event(event: &'static str, reason: &str) {
    metrics::counter!("b2b_idp_security_events_total", "event" => event).increment(1);
    tracing::warn!(event, reason, "security event");
}

/// The caches' map: keys are paths and short names, hashed on every
/// request, so a fast hasher (they are per thread and bounded, so
/// flooding one costs its owner a lookup, nothing more).
type HashMap<K, V> = foldhash::HashMap<K, V>;

/// Paths (or tenants) a thread remembers handles for; past it the cache
/// starts over, so odd paths cost a lookup, never memory.
const CACHED_KEYS: usize = 1024;

/// One path's route template, and its request counter and latency
/// histogram by (method, status).
type PathHandles = (String, HashMap<(&'static str, u16), (Counter, Histogram)>);

/// One tenant's counters by (metric, labels).
type TenantCounters = HashMap<(&'static str, Labels), Counter>;

thread_local! {
    static REQUESTS: RefCell<HashMap<String, PathHandles>> = RefCell::new(HashMap::default());
    static TENANT_COUNTERS: RefCell<HashMap<String, TenantCounters>> = RefCell::new(HashMap::default());
}

/// Up to two more labels besides the tenant (an empty name is none).
pub type Labels = [(&'static str, &'static str); 2];

/// Counts a request and its latency (`b2b_idp_http_requests_total`,
/// `b2b_idp_http_request_duration_seconds`). The route template comes from
/// `route` (asked once per path and thread: actix finds it by matching the
/// path again); handles are registered once and reused.
pub fn request(path: &str, route: impl FnOnce() -> String, method: &'static str, status: u16, seconds: f64) {
    REQUESTS.with_borrow_mut(|paths| {
        if !paths.contains_key(path) {
            if paths.len() >= CACHED_KEYS {
                paths.clear();
            }
            paths.insert(path.to_string(), (route(), HashMap::default()));
        }
        let Some((route, handles)) = paths.get_mut(path) else { return };
        let (counter, histogram) = handles.entry((method, status)).or_insert_with(|| {
            let labels = [("route", route.clone()), ("method", method.to_string()), ("status", status.to_string())];
            let counter = metrics::counter!("b2b_idp_http_requests_total", &labels);
            let histogram = metrics::histogram!("b2b_idp_http_request_duration_seconds", &labels[..2]);
            (counter, histogram)
        });
        counter.increment(1);
        histogram.record(seconds);
    });
}

/// Adds one to a per-tenant counter (`tenant`: a `tenant_label`).
pub fn count_for_tenant(name: &'static str, tenant: &str, labels: Labels) {
    TENANT_COUNTERS.with_borrow_mut(|tenants| {
        if !tenants.contains_key(tenant) {
            if tenants.len() >= CACHED_KEYS {
                tenants.clear();
            }
            tenants.insert(tenant.to_string(), HashMap::default());
        }
        let Some(counters) = tenants.get_mut(tenant) else { return };
        let counter = counters.entry((name, labels)).or_insert_with(|| {
            let mut all = vec![("tenant", tenant.to_string())];
            all.extend(labels.iter().filter(|(k, _)| !k.is_empty()).map(|(k, v)| (*k, v.to_string())));
            metrics::counter!(name, &all)
        });
        counter.increment(1);
    });
}
