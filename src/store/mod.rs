//! One storage trait, implemented per backend (sled and PostgreSQL),
//! exercised by one shared test suite (`tests/it/store.rs`).
//!
//! Records are plain serde types; backends index the few fields that are
//! looked up and keep the rest as JSON. Operations the protocol needs to be
//! atomic (spending a code, rotating a refresh token) are single calls here, so each
//! backend can make them atomic its own way.

pub mod measured;
pub mod postgres;
pub mod sled;

use async_trait::async_trait;

use crate::model::Asset;
use crate::model::Group;
use crate::model::Interaction;
use crate::model::Invitation;
use crate::model::StoredKey;
use crate::model::{App, Tenant, User};
use crate::model::{AuthCode, AuthRequest, Consent, DeviceGrant, PushedRequest, RefreshFamily, Session};
use crate::model::{LogEntry, LogKind};

/// What a backend error carries: the backend's own error, kept as the
/// source (logged with it), never shown to a caller.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("storage backend failed")]
    Backend(#[source] Cause),
    #[error("stored record is unreadable")]
    Corrupt(#[source] Cause),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Outcome of spending a single-use record (an authorization code).
#[derive(Debug, Clone, PartialEq)]
pub enum Spend<T> {
    /// This call spent it; it was unused until now.
    Fresh(T),
    /// Someone already spent it: a replay.
    Replayed(T),
    Missing,
}

/// Tenants, users, applications, signing keys and server secrets.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Cheap round trip proving the backend answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Makes every write so far durable (called on shutdown).
    async fn flush(&self) -> StoreResult<()>;

    /// Insert or replace; a name taken by another tenant is a conflict.
    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Compare-and-swap: stores `next` only if the stored tenant is still at
    /// `read_version` (`next.version` is the caller's bump); false if someone
    /// changed it since, or it is gone. A name taken by another tenant is a conflict.
    async fn replace_tenant(&self, read_version: u64, next: &Tenant) -> StoreResult<bool>;
    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    /// The managed tenants whose `domains` hold `domain` (tenants keep their
    /// domains normalised, `util::address::domain`), by id: one, unless
    /// something let two claim a domain.
    async fn tenants_by_domain(&self, domain: &str) -> StoreResult<Vec<Tenant>>;
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// Fails with `Conflict` if the email is taken in that tenant.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    /// Compare-and-swap: replaces the user with `next` (the email is
    /// immutable) only if the stored one is still at `read_version`; false
    /// if someone wrote it since, or it is gone (a deleted user is never
    /// brought back by a late write).
    async fn replace_user(&self, read_version: u64, next: &User) -> StoreResult<bool>;
    async fn user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, tenant_id: &str, email: &str) -> StoreResult<Option<User>>;
    /// Up to `limit` users of the tenant in id order, after the id `after`:
    /// a page, so no caller holds a whole directory at once.
    async fn users_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>>;
    /// Ids of the tenants (directories) where `email` has an account.
    async fn user_tenants(&self, email: &str) -> StoreResult<Vec<String>>;
    async fn delete_user(&self, tenant_id: &str, id: &str) -> StoreResult<bool>;

    /// Insert or replace.
    async fn put_group(&self, group: &Group) -> StoreResult<()>;
    /// Compare-and-swap: stores `next` only if the group is still exactly
    /// `read`; of concurrent changes from the same `read`, one gets true.
    async fn replace_group(&self, read: &Group, next: &Group) -> StoreResult<bool>;
    async fn group(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Group>>;
    /// Up to `limit` groups of the tenant in id order, after `after`.
    async fn groups_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<Group>>;
    /// The groups that list `user_id` as a member, and every group with a
    /// membership rule (the caller evaluates those), in id order.
    async fn groups_of(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Group>>;
    /// The groups whose `mail` is `mail` (lower-cased).
    async fn groups_by_mail(&self, tenant_id: &str, mail: &str) -> StoreResult<Vec<Group>>;
    async fn delete_group(&self, tenant_id: &str, id: &str) -> StoreResult<bool>;

    /// Insert or replace; the ticket hash is unique.
    async fn put_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    async fn invitation(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Invitation>>;
    async fn invitation_by_ticket(&self, ticket_hash: &str) -> StoreResult<Option<Invitation>>;

    async fn put_app(&self, app: &App) -> StoreResult<()>;
    async fn app(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<App>>;
    /// Up to `limit` apps of the tenant in client id order, after `after`.
    async fn apps_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<App>>;
    /// Compare-and-swap: stores `next` only if the app is still exactly `read`.
    async fn replace_app(&self, read: &App, next: &App) -> StoreResult<bool>;
    async fn delete_app(&self, tenant_id: &str, client_id: &str) -> StoreResult<bool>;
    /// The app registered under `identifier_uri` (`api://…`); of several, the first by client id.
    async fn app_by_identifier_uri(&self, tenant_id: &str, identifier_uri: &str) -> StoreResult<Option<App>>;

    /// A branding image, kept by content hash: written once, never changed.
    async fn put_asset(&self, asset: &Asset) -> StoreResult<()>;
    async fn asset(&self, tenant_id: &str, hash: &str) -> StoreResult<Option<Asset>>;
    async fn delete_asset(&self, tenant_id: &str, hash: &str) -> StoreResult<()>;

    async fn put_key(&self, key: &StoredKey) -> StoreResult<()>;
    /// Compare-and-swap: stores `next` only if the key is still exactly `read`.
    async fn replace_key(&self, read: &StoredKey, next: &StoredKey) -> StoreResult<bool>;
    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<StoredKey>>;

    /// A server-wide secret, created from `candidate` by whichever instance
    /// asks first; every instance then gets the same value.
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
    /// Every server-wide secret, by name.
    async fn secrets(&self) -> StoreResult<Vec<(String, Vec<u8>)>>;
    /// Compare-and-swap: stores `next` only if the secret is still `read`.
    async fn replace_secret(&self, name: &str, read: &[u8], next: &[u8]) -> StoreResult<bool>;

    /// The cluster-wide lock under which config's tenants are applied:
    /// instances starting together seed one after another, and each sees
    /// what the one before created. Waits while another instance holds it.
    async fn lock_seeding(&self) -> StoreResult<Box<dyn SeedingLock>>;
}

/// Walks a tenant's users a page at a time (`users_page`), for jobs that
/// visit them all (sweeps, rekey, listings) without holding them all.
pub struct UserPages<'a> {
    store: &'a dyn DirectoryStore,
    tenant_id: String,
    size: usize,
    after: Option<String>,
    done: bool,
}

impl<'a> UserPages<'a> {
    pub fn new(store: &'a dyn DirectoryStore, tenant_id: &str, size: usize) -> UserPages<'a> {
        UserPages { store, tenant_id: tenant_id.to_string(), size: size.max(1), after: None, done: false }
    }

    /// The next page; None after the last.
    pub async fn next(&mut self) -> StoreResult<Option<Vec<User>>> {
        if self.done {
            return Ok(None);
        }
        let page = self.store.users_page(&self.tenant_id, self.after.as_deref(), self.size).await?;
        self.done = page.len() < self.size;
        self.after = page.last().map(|u| u.id.clone());
        Ok(if page.is_empty() { None } else { Some(page) })
    }
}

/// Held while config's tenants are applied (`DirectoryStore::lock_seeding`).
/// Dropped without `release` (a failed start), it is released all the same.
#[async_trait]
pub trait SeedingLock: Send {
    async fn release(self: Box<Self>) -> StoreResult<()>;
}

/// Short-lived protocol state: sign-in requests, codes, refresh grants,
/// sessions, consents and revoked access-token ids.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()>;
    async fn auth_request(&self, id: &str) -> StoreResult<Option<AuthRequest>>;
    async fn delete_auth_request(&self, id: &str) -> StoreResult<()>;

    /// A guest's sign-in or redemption between its steps.
    async fn put_interaction(&self, interaction: &Interaction) -> StoreResult<()>;
    async fn interaction(&self, id: &str) -> StoreResult<Option<Interaction>>;
    async fn delete_interaction(&self, id: &str) -> StoreResult<()>;

    /// Adds a device grant; `Conflict` if its user code is taken.
    async fn create_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()>;
    async fn device_grant(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>>;
    /// Replaces `read` with `next` if it is still what the store holds.
    async fn replace_device_grant(&self, read: &DeviceGrant, next: &DeviceGrant) -> StoreResult<bool>;

    async fn put_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()>;
    /// Removes and returns the pushed request: of concurrent takers, one gets it.
    async fn take_pushed_request(&self, hash: &str) -> StoreResult<Option<PushedRequest>>;

    async fn put_code(&self, hash: &str, code: &AuthCode) -> StoreResult<()>;
    async fn code(&self, hash: &str) -> StoreResult<Option<AuthCode>>;
    /// Atomically marks the code used; exactly one concurrent caller gets `Fresh`.
    async fn spend_code(&self, hash: &str) -> StoreResult<Spend<AuthCode>>;

    /// Insert or replace.
    async fn put_family(&self, family: &RefreshFamily) -> StoreResult<()>;
    async fn family(&self, id: &str) -> StoreResult<Option<RefreshFamily>>;
    async fn revoke_family(&self, id: &str) -> StoreResult<()>;
    /// Compare-and-swap: stores `next` only if the family is still exactly
    /// `read` (nobody rotated or revoked it since). Of concurrent rotations
    /// from the same `read`, exactly one gets true.
    async fn replace_family(&self, read: &RefreshFamily, next: &RefreshFamily) -> StoreResult<bool>;

    async fn put_session(&self, session: &Session) -> StoreResult<()>;
    async fn session(&self, id: &str) -> StoreResult<Option<Session>>;
    /// Whether there was such a session (of concurrent deleters, one gets true).
    async fn delete_session(&self, id: &str) -> StoreResult<bool>;
    /// Adds `client_id` to the session's `clients`, unless it is there;
    /// false when the session is gone (ended meanwhile: never brought back).
    async fn add_session_client(&self, id: &str, client_id: &str) -> StoreResult<bool>;
    /// Up to `limit` sessions filed under `key` (`Session::lookup_keys`)
    /// that have not expired at `now`, in no set order: the sessions a
    /// logout must reach (a user's, a guest's home session's).
    async fn sessions_by_key(&self, key: &str, now: i64, limit: usize) -> StoreResult<Vec<Session>>;

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()>;
    async fn consent(&self, tenant_id: &str, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>>;

    /// Counts an event under `key` within a window of `window_secs` that
    /// starts with the first event; atomic, so concurrent callers each get a
    /// distinct count. Throttles and attempt limits are built on it. Keys
    /// are text without NUL (PostgreSQL's `text`).
    async fn bump_counter(&self, key: &str, window_secs: i64) -> StoreResult<u32>;
    /// The count in the current window (0 when none).
    async fn peek_counter(&self, key: &str) -> StoreResult<u32>;
    async fn reset_counter(&self, key: &str) -> StoreResult<()>;
    /// Removes every counter whose key starts with `prefix`; returns how many.
    async fn reset_counters(&self, prefix: &str) -> StoreResult<u64>;
    /// Takes back one count (never below zero): a reservation that turned
    /// out not to count, such as a correct password.
    async fn release_counter(&self, key: &str) -> StoreResult<()>;

    /// Remembers a revoked access token's `jti` until the token expires.
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()>;
    async fn jti_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Deletes everything that expired before `now`; returns how many records.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64>;
}

/// Which log entries a query wants: one tenant's log of one kind, newest
/// first, after a cursor, narrowed by the filters the admin API offers.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub tenant_id: String,
    pub kind: LogKind,
    /// The (created_ms, id) of the last entry of the previous page.
    pub before: Option<(i64, String)>,
    /// Entries created at or after this time (ms) only.
    pub since_ms: Option<i64>,
    pub user_id: Option<String>,
    pub app_id: Option<String>,
    pub error_code: Option<i64>,
}

impl LogQuery {
    pub fn new(tenant_id: &str, kind: LogKind) -> LogQuery {
        LogQuery { tenant_id: tenant_id.into(), kind, before: None, since_ms: None, user_id: None, app_id: None, error_code: None }
    }

    /// Whether `entry` is one this query wants (cursor and time aside).
    pub fn matches(&self, entry: &LogEntry) -> bool {
        let wanted = |want: &Option<String>, got: &Option<String>| want.is_none() || want == got;
        wanted(&self.user_id, &entry.user_id)
            && wanted(&self.app_id, &entry.app_id)
            && self.error_code.is_none_or(|code| code == entry.error_code)
    }
}

/// A page of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Where the next page starts (`LogQuery::before`), while there may be more.
    pub next: Option<(i64, String)>,
}

/// The sign-in and directory audit logs (`audit`).
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends entries (a batch: one round trip, whatever its size).
    async fn append_log(&self, entries: &[LogEntry]) -> StoreResult<()>;
    /// Up to `limit` entries of `query`, newest first; entries of the same
    /// millisecond in an order of the backend's that `before` continues. A
    /// backend that filters as it reads may stop early (fewer entries, and
    /// a `next`), so no page costs more than a bounded read.
    async fn log_page(&self, query: &LogQuery, limit: usize) -> StoreResult<LogPage>;
    /// Deletes entries of every tenant created before `before_ms`; returns how many.
    async fn purge_log(&self, before_ms: i64) -> StoreResult<u64>;
}

/// Everything the server persists.
pub trait Store: DirectoryStore + GrantStore + LogStore {
    fn backend_name(&self) -> &'static str;
}
