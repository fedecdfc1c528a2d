//! The embedded default store: one sled database, one tree per record kind.
//!
//! Composite keys join their parts with a NUL byte. Codes are spent and
//! refresh tokens rotated with compare-and-swap, so concurrent redemptions
//! in this process see exactly one winner (sled allows one process per
//! database).
//!
//! Tenants and apps are read on every token request, so their decoded
//! records are kept in memory (`Decoded`). That is safe only because sled
//! admits one process per database: every write passes through here.
//!
//! What is looked up by something other than its key has an index tree
//! (`{value} NUL {record id}` → nothing), written with the record under
//! `directory_writes`: new entries before the record, stale ones after, so
//! a crash in between leaves an extra entry (lookups check the record), never
//! a missing one. The layout has a version (`meta`), and `UPGRADES` bring
//! an older store up to it, in order, once each.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{DirectoryStore, GrantStore, LogPage, LogQuery, LogStore, SeedingLock, Spend, Store, StoreError, StoreResult};
use crate::model::Asset;
use crate::model::Group;
use crate::model::Interaction;
use crate::model::Invitation;
use crate::model::StoredKey;
use crate::model::{App, Tenant, User};
use crate::model::{AuthCode, AuthRequest, Consent, DeviceGrant, PushedRequest, RefreshFamily, Session};
use crate::model::{LogEntry, LogKind};
use crate::util::address;

/// Ordered upgrades of the store's layout; `meta`'s `schema_version` is the
/// number of the last one done. Each is idempotent: a crash before its
/// number is recorded runs it again.
type Upgrade = fn(&SledStore) -> StoreResult<()>;
const UPGRADES: &[(u32, &str, Upgrade)] = &[
    (1, "drop the per-token refresh trees of 0.3", SledStore::drop_retired_trees),
    (2, "index users' addresses across tenants", SledStore::index_emails),
    (3, "index managed tenants by domain", SledStore::index_tenant_domains),
    (4, "index apps by identifier URI", SledStore::index_app_uris),
    (5, "index groups by member and by mail", SledStore::index_groups),
    (6, "index sessions by user", SledStore::index_sessions),
];
const SCHEMA_VERSION: &[u8] = b"schema_version";

/// The member under which a group with a membership rule is indexed: its
/// members are computed, so it is a candidate for everyone. Never a user id.
const RULE_MEMBER: &str = "*";

pub struct SledStore {
    db: sled::Db,
    /// The layout version (`UPGRADES`).
    meta: sled::Tree,
    tenants: sled::Tree,
    tenant_names: sled::Tree,
    /// domain NUL tenant id, for managed tenants.
    tenant_domains: sled::Tree,
    users: sled::Tree,
    user_emails: sled::Tree,
    /// email NUL tenant id: the directories a person belongs to.
    email_tenants: sled::Tree,
    apps: sled::Tree,
    /// tenant NUL identifier URI NUL client id.
    app_uris: sled::Tree,
    groups: sled::Tree,
    /// tenant NUL member id (or `RULE_MEMBER`) NUL group id.
    group_members: sled::Tree,
    /// tenant NUL mail NUL group id.
    group_mails: sled::Tree,
    invitations: sled::Tree,
    invitation_tickets: sled::Tree,
    interactions: sled::Tree,
    keys: sled::Tree,
    /// tenant NUL hash → content type NUL bytes.
    assets: sled::Tree,
    secrets: sled::Tree,
    auth_requests: sled::Tree,
    codes: sled::Tree,
    pushed_requests: sled::Tree,
    device_grants: sled::Tree,
    families: sled::Tree,
    sessions: sled::Tree,
    /// lookup key (`Session::lookup_keys`) NUL session id.
    session_keys: sled::Tree,
    consents: sled::Tree,
    revoked_jti: sled::Tree,
    /// key → count (u32 BE) + window end (i64 BE).
    counters: sled::Tree,
    /// tenant NUL kind NUL (i64::MAX - created_ms, BE) id → entry: newest first.
    log: sled::Tree,
    /// created_ms (BE) + the `log` key → nothing: what retention purges.
    log_by_time: sled::Tree,
    decoded_tenants: Decoded<Tenant>,
    decoded_apps: Decoded<App>,
    /// Held by tenant and app writers from the tree write to the cache
    /// update, so two writers cannot leave the older value cached.
    directory_writes: Mutex<()>,
    /// Held from a session's index entries to its record, and by whoever
    /// drops an entry whose session is missing: an entry written just
    /// before its record is never taken for a stale one.
    session_writes: Arc<Mutex<()>>,
}

/// Decoded copies of one tree's records, by key. A writer replaces the
/// entry; a reader only fills a missing one, so a reader that loaded an
/// older value before a write can never put it back.
struct Decoded<T> {
    records: RwLock<HashMap<Vec<u8>, T>>,
}

impl<T: Clone + DeserializeOwned> Decoded<T> {
    fn new() -> Self {
        Decoded { records: RwLock::new(HashMap::new()) }
    }

    fn get(&self, tree: &sled::Tree, k: &[u8]) -> StoreResult<Option<T>> {
        if let Some(record) = self.records.read().unwrap_or_else(PoisonError::into_inner).get(k) {
            return Ok(Some(record.clone()));
        }
        if get::<T>(tree, k)?.is_none() {
            return Ok(None);
        }
        // Read again under the lock `forget` takes: a record deleted since
        // the read above is not put back.
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let Some(record) = get::<T>(tree, k)? else { return Ok(None) };
        Ok(Some(records.entry(k.to_vec()).or_insert(record).clone()))
    }

    fn replace(&self, k: &[u8], record: &T) {
        self.records.write().unwrap_or_else(PoisonError::into_inner).insert(k.to_vec(), record.clone());
    }

    fn forget(&self, k: &[u8]) {
        self.records.write().unwrap_or_else(PoisonError::into_inner).remove(k);
    }
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.into())
}

fn key(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.into()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.into()))
}

fn get<T: DeserializeOwned>(tree: &sled::Tree, k: &[u8]) -> StoreResult<Option<T>> {
    tree.get(k).map_err(backend)?.map(|v| decode(&v)).transpose()
}

fn put<T: Serialize>(tree: &sled::Tree, k: &[u8], value: &T) -> StoreResult<()> {
    tree.insert(k, encode(value)?).map_err(backend)?;
    Ok(())
}

/// Up to `limit` of a tenant's records in key order, after the key `after`.
fn page<T: DeserializeOwned>(tree: &sled::Tree, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<T>> {
    // No id is empty, so "" comes before the first.
    let start = Bound::Excluded(key(&[tenant_id, after.unwrap_or("")]));
    // Just past every `{tenant} NUL …` key.
    let end = Bound::Excluded([tenant_id.as_bytes(), b"\x01"].concat());
    tree.range::<Vec<u8>, _>((start, end)).take(limit).map(|item| decode(&item.map_err(backend)?.1)).collect()
}

/// Every record under `prefix` (a tenant id and the separator).
fn scan<T: DeserializeOwned>(tree: &sled::Tree, prefix: &str) -> StoreResult<Vec<T>> {
    tree.scan_prefix(key(&[prefix, ""])).map(|item| decode(&item.map_err(backend)?.1)).collect()
}

/// Replaces the record at `k` with `next` only if it is still `read`.
fn compare_and_swap<T: Serialize + DeserializeOwned + PartialEq>(tree: &sled::Tree, k: &[u8], read: &T, next: &T) -> StoreResult<bool> {
    let next = encode(next)?;
    let mut expected = encode(read)?;
    loop {
        match tree.compare_and_swap(k, Some(expected.as_slice()), Some(next.as_slice())).map_err(backend)? {
            Ok(()) => return Ok(true),
            // Same record in other bytes (written by an older version): swap against those.
            Err(e) => match e.current {
                Some(current) if *current != *expected && decode::<T>(&current)? == *read => expected = current.to_vec(),
                _ => return Ok(false),
            },
        }
    }
}

/// One record's entry in an index tree: `{scope…} NUL {value} NUL {record}`.
fn entry(scope: &[&str], value: &str, record: &str) -> Vec<u8> {
    let mut parts = scope.to_vec();
    parts.extend([value, record]);
    key(&parts)
}

/// Index entries for a record's `values`: written before the record.
fn index_add(tree: &sled::Tree, scope: &[&str], values: &[String], record: &str) -> StoreResult<()> {
    for value in values {
        tree.insert(entry(scope, value, record), &[]).map_err(backend)?;
    }
    Ok(())
}

/// Drops the entries of `old` values the record no longer has: after the record is written.
fn index_drop(tree: &sled::Tree, scope: &[&str], old: &[String], kept: &[String], record: &str) -> StoreResult<()> {
    for value in old.iter().filter(|v| !kept.contains(v)) {
        tree.remove(entry(scope, value, record)).map_err(backend)?;
    }
    Ok(())
}

/// The record ids an index tree lists under `{scope…} NUL {value}`, in order.
fn lookup(tree: &sled::Tree, scope: &[&str], value: &str) -> StoreResult<Vec<String>> {
    let mut parts = scope.to_vec();
    parts.extend([value, ""]);
    let prefix = key(&parts);
    tree.scan_prefix(&prefix).keys().map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()).map_err(backend)).collect()
}

/// What a tenant is indexed under: its domains, normalised, if it is managed.
fn owned_domains(tenant: &Tenant) -> Vec<String> {
    if tenant.unmanaged {
        return vec![];
    }
    tenant.domains.iter().filter_map(|d| address::domain(d)).collect()
}

fn identifier_uris(app: &App) -> Vec<String> {
    app.identifier_uri.iter().cloned().collect()
}

fn member_keys(group: &Group) -> Vec<String> {
    match group.membership_rule {
        Some(_) => vec![RULE_MEMBER.to_string()],
        None => group.members.clone(),
    }
}

fn mail_keys(group: &Group) -> Vec<String> {
    group.mail.iter().cloned().collect()
}

fn encode_counter(count: u32, until: i64) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&count.to_be_bytes());
    bytes[4..].copy_from_slice(&until.to_be_bytes());
    bytes
}

fn decode_counter(bytes: &[u8]) -> Option<(u32, i64)> {
    let count = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let until = i64::from_be_bytes(bytes.get(4..12)?.try_into().ok()?);
    Some((count, until))
}

impl SledStore {
    pub fn open(path: &Path) -> StoreResult<SledStore> {
        let db = sled::Config::new().path(path).open().map_err(|e| {
            StoreError::Backend(format!("cannot open sled store at {} ({e}); is another b2b-idp process using it?", path.display()).into())
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        SledStore {
            meta: tree("meta")?,
            tenants: tree("tenants")?,
            tenant_names: tree("tenant_names")?,
            tenant_domains: tree("tenant_domains")?,
            users: tree("users")?,
            user_emails: tree("user_emails")?,
            email_tenants: tree("email_tenants")?,
            apps: tree("apps")?,
            app_uris: tree("app_uris")?,
            groups: tree("groups")?,
            group_members: tree("group_members")?,
            group_mails: tree("group_mails")?,
            invitations: tree("invitations")?,
            invitation_tickets: tree("invitation_tickets")?,
            interactions: tree("interactions")?,
            keys: tree("keys")?,
            assets: tree("assets")?,
            secrets: tree("secrets")?,
            auth_requests: tree("auth_requests")?,
            codes: tree("codes")?,
            pushed_requests: tree("pushed_requests")?,
            device_grants: tree("device_grants")?,
            families: tree("refresh_families")?,
            sessions: tree("sessions")?,
            session_keys: tree("session_keys")?,
            consents: tree("consents")?,
            revoked_jti: tree("revoked_jti")?,
            counters: tree("counters")?,
            log: tree("audit_log")?,
            log_by_time: tree("audit_log_by_time")?,
            decoded_tenants: Decoded::new(),
            decoded_apps: Decoded::new(),
            directory_writes: Mutex::new(()),
            session_writes: Arc::new(Mutex::new(())),
            db,
        }
        .upgraded()
    }

    /// The layout version this store is at (0: before versions were recorded).
    pub fn schema_version(&self) -> StoreResult<u32> {
        let stored = self.meta.get(SCHEMA_VERSION).map_err(backend)?;
        Ok(stored.and_then(|v| v.as_ref().try_into().ok()).map_or(0, u32::from_be_bytes))
    }

    /// Runs the upgrades this store has not had, in order, recording each.
    fn upgraded(self) -> StoreResult<SledStore> {
        let at = self.schema_version()?;
        let newest = UPGRADES.last().map_or(0, |(n, _, _)| *n);
        if at > newest {
            return Err(StoreError::Backend(
                format!("this sled store has layout version {at}, from a newer b2b-idp; this one knows up to {newest}").into(),
            ));
        }
        for (number, what, upgrade) in UPGRADES.iter().filter(|(n, _, _)| *n > at) {
            upgrade(&self)?;
            self.meta.insert(SCHEMA_VERSION, &number.to_be_bytes()).map_err(backend)?;
            self.db.flush().map_err(backend)?;
            if at > 0 {
                tracing::info!(version = number, "sled store upgraded: {what}");
            }
        }
        Ok(self)
    }

    /// Before 0.4 a record per refresh token; those tokens are no longer accepted.
    fn drop_retired_trees(&self) -> StoreResult<()> {
        for retired in ["refresh", "families"] {
            self.db.drop_tree(retired).map_err(backend)?;
        }
        Ok(())
    }

    fn index_emails(&self) -> StoreResult<()> {
        for item in self.user_emails.iter() {
            let (k, _) = item.map_err(backend)?;
            let text = String::from_utf8_lossy(&k);
            if let Some((tenant_id, email)) = text.split_once('\0') {
                self.email_tenants.insert(key(&[email, tenant_id]), &[]).map_err(backend)?;
            }
        }
        Ok(())
    }

    fn index_tenant_domains(&self) -> StoreResult<()> {
        for item in self.tenants.iter() {
            let tenant: Tenant = decode(&item.map_err(backend)?.1)?;
            index_add(&self.tenant_domains, &[], &owned_domains(&tenant), &tenant.id)?;
        }
        Ok(())
    }

    fn index_app_uris(&self) -> StoreResult<()> {
        for item in self.apps.iter() {
            let app: App = decode(&item.map_err(backend)?.1)?;
            index_add(&self.app_uris, &[&app.tenant_id], &identifier_uris(&app), &app.client_id)?;
        }
        Ok(())
    }

    fn index_groups(&self) -> StoreResult<()> {
        for item in self.groups.iter() {
            let group: Group = decode(&item.map_err(backend)?.1)?;
            self.index_group_add(&group)?;
        }
        Ok(())
    }

    /// Sessions from before the index. One that no longer reads is skipped:
    /// `session` cannot read it either, and it must not keep the store shut.
    fn index_sessions(&self) -> StoreResult<()> {
        for item in self.sessions.iter() {
            if let Ok(session) = decode::<Session>(&item.map_err(backend)?.1) {
                index_add(&self.session_keys, &[], &session.lookup_keys(), &session.id)?;
            }
        }
        Ok(())
    }

    /// A group's index entries, before the group is written.
    fn index_group_add(&self, group: &Group) -> StoreResult<()> {
        let scope = [group.tenant_id.as_str()];
        index_add(&self.group_members, &scope, &member_keys(group), &group.id)?;
        index_add(&self.group_mails, &scope, &mail_keys(group), &group.id)
    }

    /// The entries of `old` that `new` (None: deleted) no longer has, after it is written.
    fn index_group_drop(&self, old: Option<&Group>, new: Option<&Group>) -> StoreResult<()> {
        let Some(old) = old else { return Ok(()) };
        let scope = [old.tenant_id.as_str()];
        let kept = |keys: fn(&Group) -> Vec<String>| new.map(keys).unwrap_or_default();
        index_drop(&self.group_members, &scope, &member_keys(old), &kept(member_keys), &old.id)?;
        index_drop(&self.group_mails, &scope, &mail_keys(old), &kept(mail_keys), &old.id)
    }

    /// The groups an index lists that still match `keep`: an entry may
    /// outlive its value for a moment (stale entries go after the record).
    fn indexed_groups(&self, tenant_id: &str, ids: Vec<String>, keep: impl Fn(&Group) -> bool) -> StoreResult<Vec<Group>> {
        let mut groups = vec![];
        for id in ids {
            if let Some(group) = get::<Group>(&self.groups, &key(&[tenant_id, &id]))?.filter(&keep) {
                groups.push(group);
            }
        }
        Ok(groups)
    }

    /// The tree writes of `put_tenant`; the caller holds `directory_writes`.
    fn put_tenant_now(&self, tenant: &Tenant) -> StoreResult<()> {
        let claimed = self
            .tenant_names
            .compare_and_swap(tenant.name.as_bytes(), None as Option<&[u8]>, Some(tenant.id.as_bytes()))
            .map_err(backend)?;
        if let Err(current) = claimed {
            if current.current.as_deref() != Some(tenant.id.as_bytes()) {
                return Err(StoreError::Conflict(format!("tenant name {}", tenant.name)));
            }
        }
        let old = get::<Tenant>(&self.tenants, tenant.id.as_bytes())?;
        if let Some(old) = &old {
            if old.name != tenant.name {
                self.tenant_names.remove(old.name.as_bytes()).map_err(backend)?;
            }
        }
        let domains = owned_domains(tenant);
        index_add(&self.tenant_domains, &[], &domains, &tenant.id)?;
        put(&self.tenants, tenant.id.as_bytes(), tenant)?;
        index_drop(&self.tenant_domains, &[], &old.as_ref().map(owned_domains).unwrap_or_default(), &domains, &tenant.id)?;
        self.decoded_tenants.replace(tenant.id.as_bytes(), tenant);
        Ok(())
    }

    /// Directory writes are rare and precious (keys above all): make them
    /// durable now. sled's blocking flush, on the blocking pool: concurrent
    /// `flush_async` calls deadlock sled 0.34 (spacejam/sled#1308), and
    /// two admin requests can write at the same instant.
    async fn durable(&self) -> StoreResult<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush()).await.map_err(|e| StoreError::Backend(e.into()))?.map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl DirectoryStore for SledStore {
    async fn ping(&self) -> StoreResult<()> {
        self.tenants.first().map_err(backend)?;
        Ok(())
    }

    async fn flush(&self) -> StoreResult<()> {
        self.durable().await
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        {
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            self.put_tenant_now(tenant)?;
        }
        self.durable().await
    }

    async fn replace_tenant(&self, read_version: u64, next: &Tenant) -> StoreResult<bool> {
        {
            // One process owns a sled store, and every tenant write holds this lock.
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            match get::<Tenant>(&self.tenants, next.id.as_bytes())? {
                Some(current) if current.version == read_version => self.put_tenant_now(next)?,
                _ => return Ok(false),
            }
        }
        self.durable().await?;
        Ok(true)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.decoded_tenants.get(&self.tenants, id.as_bytes())
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        match self.tenant_names.get(name.as_bytes()).map_err(backend)? {
            Some(id) => self.decoded_tenants.get(&self.tenants, &id),
            None => Ok(None),
        }
    }

    async fn tenants_by_domain(&self, domain: &str) -> StoreResult<Vec<Tenant>> {
        let mut owners = vec![];
        for id in lookup(&self.tenant_domains, &[], domain)? {
            let tenant = self.decoded_tenants.get(&self.tenants, id.as_bytes())?;
            owners.extend(tenant.filter(|t| owned_domains(t).iter().any(|d| d == domain)));
        }
        Ok(owners)
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.tenants.iter().map(|item| decode(&item.map_err(backend)?.1)).collect()
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let email_key = key(&[&user.tenant_id, &user.email]);
        let claimed = self.user_emails.compare_and_swap(&email_key, None as Option<&[u8]>, Some(user.id.as_bytes())).map_err(backend)?;
        if claimed.is_err() {
            return Err(StoreError::Conflict(format!("user {}", user.email)));
        }
        put(&self.users, &key(&[&user.tenant_id, &user.id]), user)?;
        self.email_tenants.insert(key(&[&user.email, &user.tenant_id]), &[]).map_err(backend)?;
        self.durable().await
    }

    async fn replace_user(&self, read_version: u64, next: &User) -> StoreResult<bool> {
        let k = key(&[&next.tenant_id, &next.id]);
        let Some(current) = self.users.get(&k).map_err(backend)? else { return Ok(false) };
        if decode::<User>(&current)?.version != read_version {
            return Ok(false);
        }
        // Against the bytes read: a write in between fails the swap.
        let swapped = self.users.compare_and_swap(&k, Some(&current), Some(encode(next)?)).map_err(backend)?.is_ok();
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }

    async fn user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        get(&self.users, &key(&[tenant_id, id]))
    }

    async fn user_by_email(&self, tenant_id: &str, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_lowercase();
        match self.user_emails.get(key(&[tenant_id, &email])).map_err(backend)? {
            Some(id) => get(&self.users, &key(&[tenant_id, &String::from_utf8_lossy(&id)])),
            None => Ok(None),
        }
    }

    async fn user_tenants(&self, email: &str) -> StoreResult<Vec<String>> {
        let prefix = key(&[&email.to_lowercase(), ""]);
        self.email_tenants
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()).map_err(backend))
            .collect()
    }

    async fn users_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        page(&self.users, tenant_id, after, limit)
    }

    async fn delete_user(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let Some(old) = self.users.remove(key(&[tenant_id, id])).map_err(backend)? else {
            return Ok(false);
        };
        let user: User = decode(&old)?;
        self.user_emails.remove(key(&[tenant_id, &user.email])).map_err(backend)?;
        self.email_tenants.remove(key(&[&user.email, tenant_id])).map_err(backend)?;
        self.durable().await?;
        Ok(true)
    }

    async fn put_group(&self, group: &Group) -> StoreResult<()> {
        {
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            let k = key(&[&group.tenant_id, &group.id]);
            let old = get::<Group>(&self.groups, &k)?;
            self.index_group_add(group)?;
            put(&self.groups, &k, group)?;
            self.index_group_drop(old.as_ref(), Some(group))?;
        }
        self.durable().await
    }

    async fn replace_group(&self, read: &Group, next: &Group) -> StoreResult<bool> {
        let swapped = {
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            self.index_group_add(next)?;
            let swapped = compare_and_swap(&self.groups, &key(&[&read.tenant_id, &read.id]), read, next)?;
            if swapped {
                self.index_group_drop(Some(read), Some(next))?;
            }
            swapped
        };
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }

    async fn group(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Group>> {
        get(&self.groups, &key(&[tenant_id, id]))
    }

    async fn groups_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<Group>> {
        page(&self.groups, tenant_id, after, limit)
    }

    async fn groups_of(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        let mut ids = lookup(&self.group_members, &[tenant_id], user_id)?;
        ids.extend(lookup(&self.group_members, &[tenant_id], RULE_MEMBER)?);
        ids.sort();
        ids.dedup();
        self.indexed_groups(tenant_id, ids, |g| g.membership_rule.is_some() || g.members.iter().any(|m| m == user_id))
    }

    async fn groups_by_mail(&self, tenant_id: &str, mail: &str) -> StoreResult<Vec<Group>> {
        let ids = lookup(&self.group_mails, &[tenant_id], mail)?;
        self.indexed_groups(tenant_id, ids, |g| g.mail.as_deref() == Some(mail))
    }

    async fn delete_group(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let removed = {
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            let old = self.groups.remove(key(&[tenant_id, id])).map_err(backend)?.map(|v| decode::<Group>(&v)).transpose()?;
            self.index_group_drop(old.as_ref(), None)?;
            old.is_some()
        };
        self.durable().await?;
        Ok(removed)
    }

    async fn put_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        let k = key(&[&invitation.tenant_id, &invitation.id]);
        let claimed = self
            .invitation_tickets
            .compare_and_swap(invitation.ticket_hash.as_bytes(), None as Option<&[u8]>, Some(k.as_slice()))
            .map_err(backend)?;
        if let Err(current) = claimed {
            if current.current.as_deref() != Some(k.as_slice()) {
                return Err(StoreError::Conflict("invitation ticket".into()));
            }
        }
        put(&self.invitations, &k, invitation)?;
        self.durable().await
    }

    async fn invitation(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Invitation>> {
        get(&self.invitations, &key(&[tenant_id, id]))
    }

    async fn invitation_by_ticket(&self, ticket_hash: &str) -> StoreResult<Option<Invitation>> {
        match self.invitation_tickets.get(ticket_hash.as_bytes()).map_err(backend)? {
            Some(k) => get(&self.invitations, &k),
            None => Ok(None),
        }
    }

    async fn put_app(&self, app: &App) -> StoreResult<()> {
        {
            let k = key(&[&app.tenant_id, &app.client_id]);
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            let old = get::<App>(&self.apps, &k)?;
            let uris = identifier_uris(app);
            index_add(&self.app_uris, &[&app.tenant_id], &uris, &app.client_id)?;
            put(&self.apps, &k, app)?;
            self.decoded_apps.replace(&k, app);
            index_drop(&self.app_uris, &[&app.tenant_id], &old.as_ref().map(identifier_uris).unwrap_or_default(), &uris, &app.client_id)?;
        }
        self.durable().await
    }

    async fn app(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<App>> {
        self.decoded_apps.get(&self.apps, &key(&[tenant_id, client_id]))
    }

    async fn apps_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<App>> {
        page(&self.apps, tenant_id, after, limit)
    }

    async fn replace_app(&self, read: &App, next: &App) -> StoreResult<bool> {
        let swapped = {
            let k = key(&[&read.tenant_id, &read.client_id]);
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            let uris = identifier_uris(next);
            index_add(&self.app_uris, &[&next.tenant_id], &uris, &next.client_id)?;
            let swapped = compare_and_swap(&self.apps, &k, read, next)?;
            if swapped {
                self.decoded_apps.replace(&k, next);
                index_drop(&self.app_uris, &[&read.tenant_id], &identifier_uris(read), &uris, &read.client_id)?;
            }
            swapped
        };
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }

    async fn delete_app(&self, tenant_id: &str, client_id: &str) -> StoreResult<bool> {
        let k = key(&[tenant_id, client_id]);
        {
            let _writing = self.directory_writes.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(old) = self.apps.remove(&k).map_err(backend)? else { return Ok(false) };
            self.decoded_apps.forget(&k);
            index_drop(&self.app_uris, &[tenant_id], &identifier_uris(&decode(&old)?), &[], client_id)?;
        }
        self.durable().await?;
        Ok(true)
    }

    async fn app_by_identifier_uri(&self, tenant_id: &str, identifier_uri: &str) -> StoreResult<Option<App>> {
        for client_id in lookup(&self.app_uris, &[tenant_id], identifier_uri)? {
            let app = self.decoded_apps.get(&self.apps, &key(&[tenant_id, &client_id]))?;
            if let Some(app) = app.filter(|a| a.identifier_uri.as_deref() == Some(identifier_uri)) {
                return Ok(Some(app));
            }
        }
        Ok(None)
    }

    async fn put_asset(&self, asset: &Asset) -> StoreResult<()> {
        let value = [asset.content_type.as_bytes(), &[0], &asset.bytes].concat();
        self.assets.insert(key(&[&asset.tenant_id, &asset.hash]), value).map_err(backend)?;
        self.durable().await
    }

    async fn asset(&self, tenant_id: &str, hash: &str) -> StoreResult<Option<Asset>> {
        let Some(value) = self.assets.get(key(&[tenant_id, hash])).map_err(backend)? else { return Ok(None) };
        let split = value.iter().position(|b| *b == 0).ok_or_else(|| StoreError::Backend("an asset without a content type".into()))?;
        Ok(Some(Asset {
            tenant_id: tenant_id.to_string(),
            hash: hash.to_string(),
            content_type: String::from_utf8_lossy(&value[..split]).into_owned(),
            bytes: value[split + 1..].to_vec(),
        }))
    }

    async fn delete_asset(&self, tenant_id: &str, hash: &str) -> StoreResult<()> {
        self.assets.remove(key(&[tenant_id, hash])).map_err(backend)?;
        self.durable().await
    }

    async fn put_key(&self, stored: &StoredKey) -> StoreResult<()> {
        put(&self.keys, &key(&[&stored.tenant_id, &stored.kid]), stored)?;
        self.durable().await
    }

    async fn replace_key(&self, read: &StoredKey, next: &StoredKey) -> StoreResult<bool> {
        let swapped = compare_and_swap(&self.keys, &key(&[&read.tenant_id, &read.kid]), read, next)?;
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }

    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<StoredKey>> {
        scan(&self.keys, tenant_id)
    }

    /// sled allows one process per data directory, and seeding runs once per
    /// start: there is nobody to wait for.
    async fn lock_seeding(&self) -> StoreResult<Box<dyn SeedingLock>> {
        struct Unshared;
        #[async_trait]
        impl SeedingLock for Unshared {
            async fn release(self: Box<Self>) -> StoreResult<()> {
                Ok(())
            }
        }
        Ok(Box::new(Unshared))
    }

    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let result = self.secrets.compare_and_swap(name.as_bytes(), None as Option<&[u8]>, Some(candidate)).map_err(backend)?;
        match result {
            Ok(()) => {
                self.durable().await?;
                Ok(candidate.to_vec())
            }
            Err(existing) => Ok(existing.current.map(|v| v.to_vec()).unwrap_or_default()),
        }
    }

    async fn secrets(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        self.secrets.iter().map(|item| item.map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v.to_vec())).map_err(backend)).collect()
    }

    async fn replace_secret(&self, name: &str, read: &[u8], next: &[u8]) -> StoreResult<bool> {
        let swapped = self.secrets.compare_and_swap(name.as_bytes(), Some(read), Some(next)).map_err(backend)?.is_ok();
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }
}

#[async_trait]
impl GrantStore for SledStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        put(&self.auth_requests, req.id.as_bytes(), req)
    }

    async fn auth_request(&self, id: &str) -> StoreResult<Option<AuthRequest>> {
        get(&self.auth_requests, id.as_bytes())
    }

    async fn delete_auth_request(&self, id: &str) -> StoreResult<()> {
        self.auth_requests.remove(id.as_bytes()).map_err(backend)?;
        Ok(())
    }

    async fn put_interaction(&self, interaction: &Interaction) -> StoreResult<()> {
        put(&self.interactions, interaction.id.as_bytes(), interaction)
    }

    async fn interaction(&self, id: &str) -> StoreResult<Option<Interaction>> {
        get(&self.interactions, id.as_bytes())
    }

    async fn delete_interaction(&self, id: &str) -> StoreResult<()> {
        self.interactions.remove(id.as_bytes()).map_err(backend)?;
        Ok(())
    }

    async fn put_code(&self, hash: &str, code: &AuthCode) -> StoreResult<()> {
        put(&self.codes, hash.as_bytes(), code)
    }

    async fn code(&self, hash: &str) -> StoreResult<Option<AuthCode>> {
        get(&self.codes, hash.as_bytes())
    }

    async fn create_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()> {
        let created = self
            .device_grants
            .compare_and_swap(grant.user_code.as_bytes(), None as Option<&[u8]>, Some(encode(grant)?))
            .map_err(backend)?;
        created.map_err(|_| StoreError::Conflict("user code".into()))
    }

    async fn device_grant(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        get(&self.device_grants, user_code.as_bytes())
    }

    async fn replace_device_grant(&self, read: &DeviceGrant, next: &DeviceGrant) -> StoreResult<bool> {
        compare_and_swap(&self.device_grants, read.user_code.as_bytes(), read, next)
    }

    async fn put_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()> {
        put(&self.pushed_requests, pushed.hash.as_bytes(), pushed)
    }

    async fn take_pushed_request(&self, hash: &str) -> StoreResult<Option<PushedRequest>> {
        self.pushed_requests.remove(hash.as_bytes()).map_err(backend)?.map(|bytes| decode(&bytes)).transpose()
    }

    /// Compare-and-swap from the bytes read; retries if the record changed meanwhile.
    async fn spend_code(&self, hash: &str) -> StoreResult<Spend<AuthCode>> {
        loop {
            let Some(current) = self.codes.get(hash.as_bytes()).map_err(backend)? else {
                return Ok(Spend::Missing);
            };
            let mut code: AuthCode = decode(&current)?;
            if code.used {
                return Ok(Spend::Replayed(code));
            }
            code.used = true;
            let swapped = self.codes.compare_and_swap(hash.as_bytes(), Some(&current), Some(encode(&code)?)).map_err(backend)?;
            if swapped.is_ok() {
                return Ok(Spend::Fresh(code));
            }
        }
    }

    async fn put_family(&self, family: &RefreshFamily) -> StoreResult<()> {
        put(&self.families, family.id.as_bytes(), family)
    }

    async fn family(&self, id: &str) -> StoreResult<Option<RefreshFamily>> {
        get(&self.families, id.as_bytes())
    }

    async fn revoke_family(&self, id: &str) -> StoreResult<()> {
        self.families
            .fetch_and_update(id.as_bytes(), |current| {
                let mut family: RefreshFamily = serde_json::from_slice(current?).ok()?;
                family.revoked = true;
                serde_json::to_vec(&family).ok()
            })
            .map_err(backend)?;
        Ok(())
    }

    async fn replace_family(&self, read: &RefreshFamily, next: &RefreshFamily) -> StoreResult<bool> {
        compare_and_swap(&self.families, read.id.as_bytes(), read, next)
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let _writing = self.session_writes.lock().unwrap_or_else(PoisonError::into_inner);
        index_add(&self.session_keys, &[], &session.lookup_keys(), &session.id)?;
        put(&self.sessions, session.id.as_bytes(), session)
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        get(&self.sessions, id.as_bytes())
    }

    async fn delete_session(&self, id: &str) -> StoreResult<bool> {
        let _writing = self.session_writes.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(old) = self.sessions.remove(id.as_bytes()).map_err(backend)? else { return Ok(false) };
        // An unreadable record's entries are left to `purge_expired`: the logout still ends it.
        if let Ok(old) = decode::<Session>(&old) {
            index_drop(&self.session_keys, &[], &old.lookup_keys(), &[], id)?;
        }
        Ok(true)
    }

    async fn add_session_client(&self, id: &str, client_id: &str) -> StoreResult<bool> {
        // Under the lock `delete_session` takes: a session ended meanwhile stays ended.
        let _writing = self.session_writes.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(mut session) = get::<Session>(&self.sessions, id.as_bytes())? else { return Ok(false) };
        if !session.clients.iter().any(|c| c == client_id) {
            session.clients.push(client_id.to_string());
            put(&self.sessions, id.as_bytes(), &session)?;
        }
        Ok(true)
    }

    async fn sessions_by_key(&self, lookup_key: &str, now: i64, limit: usize) -> StoreResult<Vec<Session>> {
        let prefix = entry(&[], lookup_key, "");
        let mut found = vec![];
        for item in self.session_keys.scan_prefix(&prefix).keys() {
            if found.len() == limit {
                break;
            }
            let indexed = item.map_err(backend)?;
            let id = &indexed[prefix.len()..];
            // Another key's entry, under a key this one is a prefix of: ids hold no NUL.
            if id.contains(&0) {
                continue;
            }
            match get::<Session>(&self.sessions, id)? {
                Some(session) if session.expires_at >= now && session.lookup_keys().iter().any(|k| k == lookup_key) => found.push(session),
                Some(_) => {}
                None => drop_orphan(&self.sessions, &self.session_keys, &self.session_writes, &indexed, id)?,
            }
        }
        Ok(found)
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        let k = key(&[&consent.tenant_id, &consent.user_id, &consent.client_id]);
        put(&self.consents, &k, consent)
    }

    async fn consent(&self, tenant_id: &str, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        get(&self.consents, &key(&[tenant_id, user_id, client_id]))
    }

    async fn bump_counter(&self, key: &str, window_secs: i64) -> StoreResult<u32> {
        let at = crate::util::now();
        let updated = self
            .counters
            .update_and_fetch(key.as_bytes(), |old| {
                let (count, until) = old.and_then(decode_counter).filter(|(_, until)| *until >= at).unwrap_or((0, at + window_secs));
                Some(encode_counter(count.saturating_add(1), until).to_vec())
            })
            .map_err(backend)?;
        Ok(updated.as_deref().and_then(decode_counter).map_or(1, |(count, _)| count))
    }

    async fn peek_counter(&self, key: &str) -> StoreResult<u32> {
        let at = crate::util::now();
        let current = self.counters.get(key.as_bytes()).map_err(backend)?;
        Ok(current.as_deref().and_then(decode_counter).filter(|(_, until)| *until >= at).map_or(0, |(count, _)| count))
    }

    async fn reset_counter(&self, key: &str) -> StoreResult<()> {
        self.counters.remove(key.as_bytes()).map_err(backend)?;
        Ok(())
    }

    async fn reset_counters(&self, prefix: &str) -> StoreResult<u64> {
        let mut removed = 0;
        for k in self.counters.scan_prefix(prefix.as_bytes()).keys() {
            self.counters.remove(k.map_err(backend)?).map_err(backend)?;
            removed += 1;
        }
        Ok(removed)
    }

    async fn release_counter(&self, key: &str) -> StoreResult<()> {
        self.counters
            .update_and_fetch(key.as_bytes(), |old| {
                let (count, until) = old.and_then(decode_counter)?;
                Some(encode_counter(count.saturating_sub(1), until).to_vec())
            })
            .map_err(backend)?;
        Ok(())
    }

    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        self.revoked_jti.insert(jti.as_bytes(), &expires_at.to_be_bytes()).map_err(backend)?;
        Ok(())
    }

    async fn jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        self.revoked_jti.contains_key(jti.as_bytes()).map_err(backend)
    }

    /// A walk over every short-lived record (sled has no expiry index):
    /// on the blocking pool, so it never holds up a request's worker.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let records = [
            &self.auth_requests,
            &self.interactions,
            &self.pushed_requests,
            &self.device_grants,
            &self.codes,
            &self.families,
            &self.sessions,
        ]
        .map(|t| t.clone());
        let (counters, revoked_jti) = (self.counters.clone(), self.revoked_jti.clone());
        let (sessions, session_keys, session_writes) = (self.sessions.clone(), self.session_keys.clone(), self.session_writes.clone());
        let walk = move || -> StoreResult<u64> {
            let purged = purge(now, &records, &counters, &revoked_jti)?;
            // One pass over the index: the entries of what the walk just
            // deleted, and any a crash left behind.
            for item in session_keys.iter().keys() {
                let entry = item.map_err(backend)?;
                let id = entry.rsplit(|b| *b == 0).next().unwrap_or_default();
                if !sessions.contains_key(id).map_err(backend)? {
                    drop_orphan(&sessions, &session_keys, &session_writes, &entry, id)?;
                }
            }
            Ok(purged)
        };
        tokio::task::spawn_blocking(walk).await.map_err(|e| StoreError::Backend(e.into()))?
    }
}

/// Removes a session index entry found without its session, unless the
/// session turned up since: checked again under `writes`, which
/// `put_session` holds from its entries to its record.
fn drop_orphan(sessions: &sled::Tree, session_keys: &sled::Tree, writes: &Mutex<()>, entry: &[u8], id: &[u8]) -> StoreResult<()> {
    let _writing = writes.lock().unwrap_or_else(PoisonError::into_inner);
    if !sessions.contains_key(id).map_err(backend)? {
        session_keys.remove(entry).map_err(backend)?;
    }
    Ok(())
}

/// `purge_expired`'s walk: records with an `expires_at` before `now`,
/// counters whose window ended, revoked token ids past their expiry.
fn purge(now: i64, records: &[sled::Tree], counters: &sled::Tree, revoked_jti: &sled::Tree) -> StoreResult<u64> {
    #[derive(serde::Deserialize)]
    struct Expiring {
        expires_at: i64,
    }
    let mut purged = 0;
    let mut remove = |tree: &sled::Tree, k: sled::IVec| -> StoreResult<()> {
        tree.remove(k).map_err(backend)?;
        purged += 1;
        Ok(())
    };
    for tree in records {
        for item in tree.iter() {
            let (k, v) = item.map_err(backend)?;
            if decode::<Expiring>(&v)?.expires_at < now {
                remove(tree, k)?;
            }
        }
    }
    for item in counters.iter() {
        let (k, v) = item.map_err(backend)?;
        if decode_counter(&v).is_none_or(|(_, until)| until < now) {
            remove(counters, k)?;
        }
    }
    for item in revoked_jti.iter() {
        let (k, v) = item.map_err(backend)?;
        if v.as_ref().try_into().map(i64::from_be_bytes).unwrap_or(0) < now {
            remove(revoked_jti, k)?;
        }
    }
    Ok(purged)
}

/// The `log` tree's prefix for one tenant's log of one kind.
fn log_prefix(tenant_id: &str, kind: LogKind) -> Vec<u8> {
    key(&[tenant_id, kind.as_str(), ""])
}

/// An entry's `log` key: newer entries sort first.
fn log_key(tenant_id: &str, kind: LogKind, created_ms: i64, id: &str) -> Vec<u8> {
    let mut k = log_prefix(tenant_id, kind);
    k.extend_from_slice(&(i64::MAX - created_ms.max(0)).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// Entries one page may read at most: a filter that matches little stops
/// there and hands back a cursor, rather than walk a whole log.
const LOG_SCAN_BUDGET: usize = 20_000;

/// Reads a page of the log (a range of one tenant's entries of one kind,
/// filtered as it goes), on the blocking pool.
fn log_page(log: &sled::Tree, query: &LogQuery, limit: usize) -> StoreResult<LogPage> {
    let prefix = log_prefix(&query.tenant_id, query.kind);
    let start = match &query.before {
        Some((created_ms, id)) => Bound::Excluded(log_key(&query.tenant_id, query.kind, *created_ms, id)),
        None => Bound::Included(prefix.clone()),
    };
    let mut page = LogPage { entries: vec![], next: None };
    let mut last_read = None;
    for (read, item) in log.range((start, Bound::Unbounded)).enumerate() {
        let (k, v) = item.map_err(backend)?;
        if !k.starts_with(&prefix) {
            break;
        }
        let entry: LogEntry = decode(&v)?;
        if query.since_ms.is_some_and(|since| entry.created_ms < since) {
            break;
        }
        if read == LOG_SCAN_BUDGET {
            // Budget spent, and this one not looked at: continue after the last one read.
            page.next = last_read;
            break;
        }
        last_read = Some((entry.created_ms, entry.id.clone()));
        if query.matches(&entry) {
            if page.entries.len() == limit {
                // One more exists: continue after the last one shown.
                page.next = page.entries.last().map(|e| (e.created_ms, e.id.clone()));
                break;
            }
            page.entries.push(entry);
        }
    }
    Ok(page)
}

fn purge_log(log: &sled::Tree, by_time: &sled::Tree, before_ms: i64) -> StoreResult<u64> {
    let mut purged = 0;
    for item in by_time.range(..before_ms.max(0).to_be_bytes().to_vec()) {
        let (k, _) = item.map_err(backend)?;
        log.remove(&k[8..]).map_err(backend)?;
        by_time.remove(&k).map_err(backend)?;
        purged += 1;
    }
    Ok(purged)
}

#[async_trait]
impl LogStore for SledStore {
    async fn append_log(&self, entries: &[LogEntry]) -> StoreResult<()> {
        let (mut log, mut by_time) = (sled::Batch::default(), sled::Batch::default());
        for entry in entries {
            let k = log_key(&entry.tenant_id, entry.kind, entry.created_ms, &entry.id);
            let mut t = entry.created_ms.max(0).to_be_bytes().to_vec();
            t.extend_from_slice(&k);
            log.insert(k, encode(entry)?);
            by_time.insert(t, &[]);
        }
        // The time index first: a crash in between leaves an entry to
        // purge that is not there, never an entry that is never purged.
        self.log_by_time.apply_batch(by_time).map_err(backend)?;
        self.log.apply_batch(log).map_err(backend)
    }

    async fn log_page(&self, query: &LogQuery, limit: usize) -> StoreResult<LogPage> {
        let (log, query) = (self.log.clone(), query.clone());
        tokio::task::spawn_blocking(move || log_page(&log, &query, limit)).await.map_err(|e| StoreError::Backend(e.into()))?
    }

    async fn purge_log(&self, before_ms: i64) -> StoreResult<u64> {
        let (log, by_time) = (self.log.clone(), self.log_by_time.clone());
        tokio::task::spawn_blocking(move || purge_log(&log, &by_time, before_ms)).await.map_err(|e| StoreError::Backend(e.into()))?
    }
}

impl Store for SledStore {
    fn backend_name(&self) -> &'static str {
        "sled"
    }
}
