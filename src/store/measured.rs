//! Store operation latency (`b2b_idp_store_operation_seconds`, by backend
//! and operation): a wrapper around either backend that times every call,
//! so the backends stay free of metrics.

use std::sync::Arc;

use async_trait::async_trait;
use metrics::Histogram;

use super::{DirectoryStore, GrantStore, LogPage, LogQuery, LogStore, SeedingLock, Spend, Store, StoreResult};
use crate::model::Asset;
use crate::model::Group;
use crate::model::Interaction;
use crate::model::Invitation;
use crate::model::LogEntry;
use crate::model::StoredKey;
use crate::model::{App, Tenant, User};
use crate::model::{AuthCode, AuthRequest, Consent, DeviceGrant, PushedRequest, RefreshFamily, Session};

pub struct Measured {
    inner: Arc<dyn Store>,
    backend: &'static str,
    /// One histogram per operation, in `OPERATIONS`' order, registered
    /// once: a call only records.
    histograms: Box<[Histogram]>,
}

/// Every operation of the store traits. A timed call names its operation,
/// found here at compile time: one missing from this list does not build.
const OPERATIONS: &[&str] = &[
    "ping",
    "flush",
    "put_tenant",
    "replace_tenant",
    "tenant",
    "tenant_by_name",
    "tenants_by_domain",
    "tenants",
    "create_user",
    "replace_user",
    "user",
    "user_by_email",
    "users_page",
    "user_tenants",
    "delete_user",
    "put_group",
    "replace_group",
    "group",
    "groups_page",
    "groups_of",
    "groups_by_mail",
    "delete_group",
    "put_invitation",
    "invitation",
    "invitation_by_ticket",
    "put_app",
    "app",
    "apps_page",
    "replace_app",
    "delete_app",
    "app_by_identifier_uri",
    "put_asset",
    "asset",
    "delete_asset",
    "put_key",
    "replace_key",
    "keys",
    "secret_or_insert",
    "secrets",
    "replace_secret",
    "lock_seeding",
    "put_auth_request",
    "create_device_grant",
    "device_grant",
    "replace_device_grant",
    "put_pushed_request",
    "take_pushed_request",
    "auth_request",
    "delete_auth_request",
    "put_interaction",
    "interaction",
    "delete_interaction",
    "put_code",
    "code",
    "spend_code",
    "put_family",
    "family",
    "revoke_family",
    "replace_family",
    "put_session",
    "session",
    "delete_session",
    "add_session_client",
    "sessions_by_key",
    "put_consent",
    "consent",
    "bump_counter",
    "peek_counter",
    "reset_counter",
    "reset_counters",
    "release_counter",
    "revoke_jti",
    "jti_revoked",
    "purge_expired",
    "append_log",
    "log_page",
    "purge_log",
];

impl Measured {
    pub fn new(inner: Arc<dyn Store>) -> Measured {
        let backend = inner.backend_name();
        let histograms = OPERATIONS
            .iter()
            .map(|op| metrics::histogram!("b2b_idp_store_operation_seconds", "backend" => backend, "operation" => *op))
            .collect();
        Measured { backend, inner, histograms }
    }
}

/// The position of `op` in `OPERATIONS`. Only evaluated at compile time
/// (`timed!` asks in a `const`), so its panic is a build error.
#[allow(clippy::panic)]
const fn operation(op: &str) -> usize {
    let mut i = 0;
    while i < OPERATIONS.len() {
        if same(OPERATIONS[i].as_bytes(), op.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("a timed operation is missing from OPERATIONS")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Awaits `$call`, recording how long it took as operation `$op`. The
/// clock is quanta's (the CPU's counter): a sled read takes about a
/// microsecond, so two clock reads per call are worth making cheap.
macro_rules! timed {
    ($self:ident, $op:literal, $call:expr) => {{
        const OPERATION: usize = operation($op);
        let started = quanta::Instant::now();
        let result = $call.await;
        $self.histograms[OPERATION].record(started.elapsed().as_secs_f64());
        result
    }};
}

#[async_trait]
impl DirectoryStore for Measured {
    async fn ping(&self) -> StoreResult<()> {
        timed!(self, "ping", self.inner.ping())
    }

    async fn flush(&self) -> StoreResult<()> {
        timed!(self, "flush", self.inner.flush())
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        timed!(self, "put_tenant", self.inner.put_tenant(tenant))
    }

    async fn replace_tenant(&self, read_version: u64, next: &Tenant) -> StoreResult<bool> {
        timed!(self, "replace_tenant", self.inner.replace_tenant(read_version, next))
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        timed!(self, "tenant", self.inner.tenant(id))
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        timed!(self, "tenant_by_name", self.inner.tenant_by_name(name))
    }

    async fn tenants_by_domain(&self, domain: &str) -> StoreResult<Vec<Tenant>> {
        timed!(self, "tenants_by_domain", self.inner.tenants_by_domain(domain))
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        timed!(self, "tenants", self.inner.tenants())
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        timed!(self, "create_user", self.inner.create_user(user))
    }

    async fn replace_user(&self, read_version: u64, next: &User) -> StoreResult<bool> {
        timed!(self, "replace_user", self.inner.replace_user(read_version, next))
    }

    async fn user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        timed!(self, "user", self.inner.user(tenant_id, id))
    }

    async fn user_by_email(&self, tenant_id: &str, email: &str) -> StoreResult<Option<User>> {
        timed!(self, "user_by_email", self.inner.user_by_email(tenant_id, email))
    }

    async fn users_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        timed!(self, "users_page", self.inner.users_page(tenant_id, after, limit))
    }

    async fn user_tenants(&self, email: &str) -> StoreResult<Vec<String>> {
        timed!(self, "user_tenants", self.inner.user_tenants(email))
    }

    async fn delete_user(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        timed!(self, "delete_user", self.inner.delete_user(tenant_id, id))
    }

    async fn put_group(&self, group: &Group) -> StoreResult<()> {
        timed!(self, "put_group", self.inner.put_group(group))
    }

    async fn replace_group(&self, read: &Group, next: &Group) -> StoreResult<bool> {
        timed!(self, "replace_group", self.inner.replace_group(read, next))
    }

    async fn group(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Group>> {
        timed!(self, "group", self.inner.group(tenant_id, id))
    }

    async fn groups_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<Group>> {
        timed!(self, "groups_page", self.inner.groups_page(tenant_id, after, limit))
    }

    async fn groups_of(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        timed!(self, "groups_of", self.inner.groups_of(tenant_id, user_id))
    }

    async fn groups_by_mail(&self, tenant_id: &str, mail: &str) -> StoreResult<Vec<Group>> {
        timed!(self, "groups_by_mail", self.inner.groups_by_mail(tenant_id, mail))
    }

    async fn delete_group(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        timed!(self, "delete_group", self.inner.delete_group(tenant_id, id))
    }

    async fn put_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        timed!(self, "put_invitation", self.inner.put_invitation(invitation))
    }

    async fn invitation(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Invitation>> {
        timed!(self, "invitation", self.inner.invitation(tenant_id, id))
    }

    async fn invitation_by_ticket(&self, ticket_hash: &str) -> StoreResult<Option<Invitation>> {
        timed!(self, "invitation_by_ticket", self.inner.invitation_by_ticket(ticket_hash))
    }

    async fn put_app(&self, app: &App) -> StoreResult<()> {
        timed!(self, "put_app", self.inner.put_app(app))
    }

    async fn app(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<App>> {
        timed!(self, "app", self.inner.app(tenant_id, client_id))
    }

    async fn apps_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<App>> {
        timed!(self, "apps_page", self.inner.apps_page(tenant_id, after, limit))
    }

    async fn replace_app(&self, read: &App, next: &App) -> StoreResult<bool> {
        timed!(self, "replace_app", self.inner.replace_app(read, next))
    }

    async fn delete_app(&self, tenant_id: &str, client_id: &str) -> StoreResult<bool> {
        timed!(self, "delete_app", self.inner.delete_app(tenant_id, client_id))
    }

    async fn app_by_identifier_uri(&self, tenant_id: &str, identifier_uri: &str) -> StoreResult<Option<App>> {
        timed!(self, "app_by_identifier_uri", self.inner.app_by_identifier_uri(tenant_id, identifier_uri))
    }

    async fn put_asset(&self, asset: &Asset) -> StoreResult<()> {
        timed!(self, "put_asset", self.inner.put_asset(asset))
    }

    async fn asset(&self, tenant_id: &str, hash: &str) -> StoreResult<Option<Asset>> {
        timed!(self, "asset", self.inner.asset(tenant_id, hash))
    }

    async fn delete_asset(&self, tenant_id: &str, hash: &str) -> StoreResult<()> {
        timed!(self, "delete_asset", self.inner.delete_asset(tenant_id, hash))
    }

    async fn put_key(&self, key: &StoredKey) -> StoreResult<()> {
        timed!(self, "put_key", self.inner.put_key(key))
    }

    async fn replace_key(&self, read: &StoredKey, next: &StoredKey) -> StoreResult<bool> {
        timed!(self, "replace_key", self.inner.replace_key(read, next))
    }

    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<StoredKey>> {
        timed!(self, "keys", self.inner.keys(tenant_id))
    }

    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        timed!(self, "secret_or_insert", self.inner.secret_or_insert(name, candidate))
    }

    async fn secrets(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        timed!(self, "secrets", self.inner.secrets())
    }

    async fn replace_secret(&self, name: &str, read: &[u8], next: &[u8]) -> StoreResult<bool> {
        timed!(self, "replace_secret", self.inner.replace_secret(name, read, next))
    }

    async fn lock_seeding(&self) -> StoreResult<Box<dyn SeedingLock>> {
        timed!(self, "lock_seeding", self.inner.lock_seeding())
    }
}

#[async_trait]
impl GrantStore for Measured {
    async fn create_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()> {
        timed!(self, "create_device_grant", self.inner.create_device_grant(grant))
    }

    async fn device_grant(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        timed!(self, "device_grant", self.inner.device_grant(user_code))
    }

    async fn replace_device_grant(&self, read: &DeviceGrant, next: &DeviceGrant) -> StoreResult<bool> {
        timed!(self, "replace_device_grant", self.inner.replace_device_grant(read, next))
    }

    async fn put_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()> {
        timed!(self, "put_pushed_request", self.inner.put_pushed_request(pushed))
    }

    async fn take_pushed_request(&self, hash: &str) -> StoreResult<Option<PushedRequest>> {
        timed!(self, "take_pushed_request", self.inner.take_pushed_request(hash))
    }

    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        timed!(self, "put_auth_request", self.inner.put_auth_request(req))
    }

    async fn auth_request(&self, id: &str) -> StoreResult<Option<AuthRequest>> {
        timed!(self, "auth_request", self.inner.auth_request(id))
    }

    async fn delete_auth_request(&self, id: &str) -> StoreResult<()> {
        timed!(self, "delete_auth_request", self.inner.delete_auth_request(id))
    }

    async fn put_interaction(&self, interaction: &Interaction) -> StoreResult<()> {
        timed!(self, "put_interaction", self.inner.put_interaction(interaction))
    }

    async fn interaction(&self, id: &str) -> StoreResult<Option<Interaction>> {
        timed!(self, "interaction", self.inner.interaction(id))
    }

    async fn delete_interaction(&self, id: &str) -> StoreResult<()> {
        timed!(self, "delete_interaction", self.inner.delete_interaction(id))
    }

    async fn put_code(&self, hash: &str, code: &AuthCode) -> StoreResult<()> {
        timed!(self, "put_code", self.inner.put_code(hash, code))
    }

    async fn code(&self, hash: &str) -> StoreResult<Option<AuthCode>> {
        timed!(self, "code", self.inner.code(hash))
    }

    async fn spend_code(&self, hash: &str) -> StoreResult<Spend<AuthCode>> {
        timed!(self, "spend_code", self.inner.spend_code(hash))
    }

    async fn put_family(&self, family: &RefreshFamily) -> StoreResult<()> {
        timed!(self, "put_family", self.inner.put_family(family))
    }

    async fn family(&self, id: &str) -> StoreResult<Option<RefreshFamily>> {
        timed!(self, "family", self.inner.family(id))
    }

    async fn revoke_family(&self, id: &str) -> StoreResult<()> {
        timed!(self, "revoke_family", self.inner.revoke_family(id))
    }

    async fn replace_family(&self, read: &RefreshFamily, next: &RefreshFamily) -> StoreResult<bool> {
        timed!(self, "replace_family", self.inner.replace_family(read, next))
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        timed!(self, "put_session", self.inner.put_session(session))
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        timed!(self, "session", self.inner.session(id))
    }

    async fn delete_session(&self, id: &str) -> StoreResult<bool> {
        timed!(self, "delete_session", self.inner.delete_session(id))
    }

    async fn add_session_client(&self, id: &str, client_id: &str) -> StoreResult<bool> {
        timed!(self, "add_session_client", self.inner.add_session_client(id, client_id))
    }

    async fn sessions_by_key(&self, key: &str, now: i64, limit: usize) -> StoreResult<Vec<Session>> {
        timed!(self, "sessions_by_key", self.inner.sessions_by_key(key, now, limit))
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        timed!(self, "put_consent", self.inner.put_consent(consent))
    }

    async fn consent(&self, tenant_id: &str, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        timed!(self, "consent", self.inner.consent(tenant_id, user_id, client_id))
    }

    async fn bump_counter(&self, key: &str, window_secs: i64) -> StoreResult<u32> {
        timed!(self, "bump_counter", self.inner.bump_counter(key, window_secs))
    }

    async fn peek_counter(&self, key: &str) -> StoreResult<u32> {
        timed!(self, "peek_counter", self.inner.peek_counter(key))
    }

    async fn reset_counter(&self, key: &str) -> StoreResult<()> {
        timed!(self, "reset_counter", self.inner.reset_counter(key))
    }

    async fn reset_counters(&self, prefix: &str) -> StoreResult<u64> {
        timed!(self, "reset_counters", self.inner.reset_counters(prefix))
    }

    async fn release_counter(&self, key: &str) -> StoreResult<()> {
        timed!(self, "release_counter", self.inner.release_counter(key))
    }

    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        timed!(self, "revoke_jti", self.inner.revoke_jti(jti, expires_at))
    }

    async fn jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        timed!(self, "jti_revoked", self.inner.jti_revoked(jti))
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        timed!(self, "purge_expired", self.inner.purge_expired(now))
    }
}

#[async_trait]
impl LogStore for Measured {
    async fn append_log(&self, entries: &[LogEntry]) -> StoreResult<()> {
        timed!(self, "append_log", self.inner.append_log(entries))
    }

    async fn log_page(&self, query: &LogQuery, limit: usize) -> StoreResult<LogPage> {
        timed!(self, "log_page", self.inner.log_page(query, limit))
    }

    async fn purge_log(&self, before_ms: i64) -> StoreResult<u64> {
        timed!(self, "purge_log", self.inner.purge_log(before_ms))
    }
}

impl Store for Measured {
    fn backend_name(&self) -> &'static str {
        self.backend
    }
}
