//! The scale-out store: PostgreSQL, shared by any number of instances.
//!
//! Each record kind is a table with its key columns, the columns queries
//! filter on, and the record itself as JSONB. Spending a code is one
//! conditional `UPDATE … WHERE NOT used RETURNING`, and rotating a refresh
//! token one `UPDATE … WHERE data = (what was read)`, so exactly one of any
//! number of concurrent callers, on any instance, wins.

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};

use super::{Cause, DirectoryStore, GrantStore, LogPage, LogQuery, LogStore, SeedingLock, Spend, Store, StoreError, StoreResult};
use crate::model::Asset;
use crate::model::Group;
use crate::model::Interaction;
use crate::model::Invitation;
use crate::model::LogEntry;
use crate::model::StoredKey;
use crate::model::{App, Tenant, User};
use crate::model::{AuthCode, AuthRequest, Consent, DeviceGrant, PushedRequest, RefreshFamily, Session};

/// Versioned schema changes, applied once each, in order, on start.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE tenants (id text PRIMARY KEY, name text NOT NULL UNIQUE, data jsonb NOT NULL);
    CREATE TABLE users (tenant_id text NOT NULL, id text NOT NULL, email text NOT NULL, data jsonb NOT NULL,
                        PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email));
    CREATE TABLE apps (tenant_id text NOT NULL, client_id text NOT NULL, data jsonb NOT NULL,
                       PRIMARY KEY (tenant_id, client_id));
    CREATE TABLE signing_keys (tenant_id text NOT NULL, kid text NOT NULL, data jsonb NOT NULL,
                               PRIMARY KEY (tenant_id, kid));
    CREATE TABLE secrets (name text PRIMARY KEY, value bytea NOT NULL);
    CREATE TABLE auth_requests (id text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    CREATE TABLE codes (hash text PRIMARY KEY, expires_at bigint NOT NULL, used boolean NOT NULL, data jsonb NOT NULL);
    CREATE TABLE refresh_families (id text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    CREATE TABLE refresh_tokens (hash text PRIMARY KEY, expires_at bigint NOT NULL, used boolean NOT NULL, data jsonb NOT NULL);
    CREATE TABLE sessions (id text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    CREATE TABLE consents (tenant_id text NOT NULL, user_id text NOT NULL, client_id text NOT NULL, data jsonb NOT NULL,
                           PRIMARY KEY (tenant_id, user_id, client_id));
    CREATE TABLE revoked_jti (jti text PRIMARY KEY, expires_at bigint NOT NULL);
    "#,
    ),
    (
        2,
        r#"
    CREATE TABLE invitations (tenant_id text NOT NULL, id text NOT NULL, ticket_hash text NOT NULL UNIQUE,
                              data jsonb NOT NULL, PRIMARY KEY (tenant_id, id));
    CREATE TABLE interactions (id text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    CREATE INDEX users_by_email ON users (email);
    CREATE TABLE counters (key text PRIMARY KEY, count integer NOT NULL, expires_at bigint NOT NULL);
    CREATE TABLE groups (tenant_id text NOT NULL, id text NOT NULL, data jsonb NOT NULL, PRIMARY KEY (tenant_id, id));
    "#,
    ),
    (
        3,
        // 0.4: one record per refresh grant, rotated in place; older tokens are no longer accepted.
        r#"
    DROP TABLE refresh_tokens;
    DELETE FROM refresh_families;
    "#,
    ),
    (
        4,
        // 0.6.2: what is looked up by something other than its key is
        // indexed. GIN without its pending list: directory writes are rare,
        // and a lookup must not slow down until the next vacuum merges it.
        r#"
    CREATE INDEX tenants_by_domain ON tenants USING gin ((data->'domains')) WITH (fastupdate = off);
    CREATE INDEX apps_by_identifier_uri ON apps (tenant_id, (data->>'identifier_uri'));
    CREATE INDEX groups_by_member ON groups USING gin ((data->'members')) WITH (fastupdate = off);
    CREATE INDEX groups_with_rules ON groups (tenant_id) WHERE data->>'membership_rule' IS NOT NULL;
    CREATE INDEX groups_by_mail ON groups (tenant_id, (data->>'mail'));
    "#,
    ),
    (
        5,
        // 0.7.0: the sign-in and directory audit logs, newest first by the
        // primary key; retention purges by time across tenants.
        r#"
    CREATE TABLE audit_log (tenant_id text NOT NULL, kind text NOT NULL, created_ms bigint NOT NULL, id text NOT NULL,
                            user_id text, app_id text, error_code bigint NOT NULL, data jsonb NOT NULL,
                            PRIMARY KEY (tenant_id, kind, created_ms, id));
    CREATE INDEX audit_log_by_time ON audit_log (created_ms);
    CREATE INDEX audit_log_by_user ON audit_log (tenant_id, kind, user_id, created_ms);
    "#,
    ),
    (
        6,
        // 0.7.3: company branding's images, by content hash.
        r#"
    CREATE TABLE assets (tenant_id text NOT NULL, hash text NOT NULL, content_type text NOT NULL, bytes bytea NOT NULL,
                         PRIMARY KEY (tenant_id, hash));
    "#,
    ),
    (
        7,
        // 0.7.7: pushed authorization requests (RFC 9126), taken once.
        r#"
    CREATE TABLE pushed_requests (hash text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    "#,
    ),
    (
        8,
        // 0.7.8: device grants (RFC 8628), by user code.
        r#"
    CREATE TABLE device_grants (user_code text PRIMARY KEY, expires_at bigint NOT NULL, data jsonb NOT NULL);
    "#,
    ),
    (
        9,
        // 0.7.9: sessions by user and by guest home session, for back-channel
        // logout. Sessions from before are filed under their user
        // (`Session::user_key`); none of them has a home session.
        r#"
    CREATE TABLE session_keys (key text NOT NULL, session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                               PRIMARY KEY (key, session_id));
    CREATE INDEX session_keys_by_session ON session_keys (session_id);
    INSERT INTO session_keys (key, session_id)
        SELECT concat_ws(chr(31), 'user', data->>'tenant_id', data->>'user_id'), id FROM sessions;
    "#,
    ),
];

/// Serialises concurrent migrations of instances starting together.
const MIGRATION_LOCK: i64 = 0x6232_6269_6470;
/// The advisory lock config seeding runs under (a session lock: seeding
/// spans many statements and connections).
const SEEDING_LOCK: i64 = 0x6232_6269_6471;

/// A session advisory lock, held by one pooled connection.
struct PgSeedingLock {
    client: Option<deadpool_postgres::Object>,
}

#[async_trait]
impl SeedingLock for PgSeedingLock {
    async fn release(mut self: Box<Self>) -> StoreResult<()> {
        if let Some(client) = self.client.take() {
            client.execute("SELECT pg_advisory_unlock($1)", &[&SEEDING_LOCK]).await.map_err(db)?;
        }
        Ok(())
    }
}

impl Drop for PgSeedingLock {
    /// Not released (an error on the way): the connection leaves the pool
    /// and closes, which ends its session and so the lock; back in the pool
    /// it would keep the lock for good.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

pub struct PgStore {
    pool: Pool,
}

fn backend(e: impl Into<Cause>) -> StoreError {
    StoreError::Backend(e.into())
}

fn db(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return StoreError::Conflict(e.as_db_error().and_then(|d| d.constraint()).unwrap_or("record").to_string());
    }
    backend(e)
}

fn record<T: DeserializeOwned>(row: &Row) -> StoreResult<T> {
    row.try_get::<_, Json<T>>("data").map(|j| j.0).map_err(|e| StoreError::Corrupt(e.into()))
}

fn records<T: DeserializeOwned>(rows: Vec<Row>) -> StoreResult<Vec<T>> {
    rows.iter().map(record).collect()
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: usize) -> StoreResult<PgStore> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| backend(format!("store.url: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        // Two at least: seeding holds one connection for its lock while it
        // writes through another.
        let pool = Pool::builder(manager).max_size(max_connections.max(2)).build().map_err(backend)?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| backend(format!("PostgreSQL unreachable: {e}")))
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db)?;
        let applied: Vec<i32> =
            tx.query("SELECT version FROM schema_migrations", &[]).await.map_err(db)?.iter().map(|r| r.get(0)).collect();
        for (version, sql) in MIGRATIONS {
            if !applied.contains(version) {
                tx.batch_execute(sql).await.map_err(db)?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version]).await.map_err(db)?;
                tracing::info!(version, "applied store migration");
            }
        }
        tx.commit().await.map_err(db)
    }

    // Statements are prepared once per pooled connection: one round trip per query.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(db)?;
        client.execute(&statement, params).await.map_err(db)
    }

    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(db)?;
        client.query(&statement, params).await.map_err(db)
    }

    /// Compare-and-swap of a tenant's record in `table` (keyed by
    /// `tenant_id` and `id_column`): stores `next` only if the record is
    /// still `read`.
    async fn swap<T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Sync>(
        &self,
        table: &'static str,
        id_column: &'static str,
        tenant: &str,
        id: &str,
        read: &T,
        next: &T,
    ) -> StoreResult<bool> {
        // jsonb equality compares content, not bytes.
        let update = format!("UPDATE {table} SET data = $4 WHERE tenant_id = $1 AND {id_column} = $2 AND data = $3");
        if self.execute(&update, &[&tenant, &id, &json(read), &json(next)]).await? == 1 {
            return Ok(true);
        }
        // The same record as an older version wrote it (without fields it
        // did not know): swap against what is stored.
        let select = format!("SELECT data FROM {table} WHERE tenant_id = $1 AND {id_column} = $2");
        let rows = self.rows(&select, &[&tenant, &id]).await?;
        let Some(stored) = rows.first().map(|r| r.get::<_, serde_json::Value>(0)) else { return Ok(false) };
        let same = serde_json::from_value::<T>(stored.clone()).is_ok_and(|r| r == *read);
        Ok(same && self.execute(&update, &[&tenant, &id, &stored, &json(next)]).await? == 1)
    }

    async fn one<T: DeserializeOwned>(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<T>> {
        match self.rows(sql, params).await?.first() {
            Some(row) => record(row).map(Some),
            None => Ok(None),
        }
    }

    async fn all<T: DeserializeOwned>(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<T>> {
        records(self.rows(sql, params).await?)
    }
}

fn json<T: Serialize>(value: &T) -> Json<&T> {
    Json(value)
}

#[async_trait]
impl DirectoryStore for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        self.client().await?.simple_query("SELECT 1").await.map_err(db)?;
        Ok(())
    }

    async fn flush(&self) -> StoreResult<()> {
        Ok(()) // every statement is durable when it returns
    }

    async fn put_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        self.execute(
            "INSERT INTO tenants (id, name, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, data = EXCLUDED.data",
            &[&tenant.id, &tenant.name, &json(tenant)],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("tenant name {}", tenant.name)),
            other => other,
        })?;
        Ok(())
    }

    async fn replace_tenant(&self, read_version: u64, next: &Tenant) -> StoreResult<bool> {
        let updated = self
            .execute(
                "UPDATE tenants SET name = $2, data = $3 WHERE id = $1 AND COALESCE((data->>'version')::bigint, 0) = $4",
                &[&next.id, &next.name, &json(next), &(read_version as i64)],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!("tenant name {}", next.name)),
                other => other,
            })?;
        Ok(updated == 1)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.one("SELECT data FROM tenants WHERE id = $1", &[&id]).await
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.one("SELECT data FROM tenants WHERE name = $1", &[&name]).await
    }

    async fn tenants_by_domain(&self, domain: &str) -> StoreResult<Vec<Tenant>> {
        const MANAGED_OWNERS: &str = "SELECT data FROM tenants WHERE data->'domains' ? $1 \
             AND NOT COALESCE((data->>'unmanaged')::boolean, false) ORDER BY id";
        self.all(MANAGED_OWNERS, &[&domain]).await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.all("SELECT data FROM tenants ORDER BY id", &[]).await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.execute(
            "INSERT INTO users (tenant_id, id, email, data) VALUES ($1, $2, $3, $4)",
            &[&user.tenant_id, &user.id, &user.email, &json(user)],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("user {}", user.email)),
            other => other,
        })?;
        Ok(())
    }

    async fn user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        self.one("SELECT data FROM users WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await
    }

    async fn user_by_email(&self, tenant_id: &str, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_lowercase();
        self.one("SELECT data FROM users WHERE tenant_id = $1 AND email = $2", &[&tenant_id, &email]).await
    }

    async fn replace_user(&self, read_version: u64, next: &User) -> StoreResult<bool> {
        // Records from before versions have none: version 0.
        let updated = self
            .execute(
                "UPDATE users SET data = $3 WHERE tenant_id = $1 AND id = $2 AND coalesce((data->>'version')::bigint, 0) = $4",
                &[&next.tenant_id, &next.id, &json(next), &(read_version as i64)],
            )
            .await?;
        Ok(updated == 1)
    }

    async fn user_tenants(&self, email: &str) -> StoreResult<Vec<String>> {
        let email = email.to_lowercase();
        let rows = self.rows("SELECT tenant_id FROM users WHERE email = $1 ORDER BY tenant_id", &[&email]).await?;
        rows.iter().map(|r| r.try_get::<_, String>(0).map_err(|e| StoreError::Corrupt(e.into()))).collect()
    }

    async fn users_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        // The primary key's order: an index range scan, however deep the
        // page. No id is empty, so "" comes before the first.
        let sql = "SELECT data FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        self.all(sql, &[&tenant_id, &after.unwrap_or(""), &(limit as i64)]).await
    }

    async fn delete_user(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM users WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await? > 0)
    }

    async fn put_group(&self, group: &Group) -> StoreResult<()> {
        self.execute(
            "INSERT INTO groups (tenant_id, id, data) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET data = EXCLUDED.data",
            &[&group.tenant_id, &group.id, &json(group)],
        )
        .await?;
        Ok(())
    }

    async fn replace_group(&self, read: &Group, next: &Group) -> StoreResult<bool> {
        self.swap("groups", "id", &read.tenant_id, &read.id, read, next).await
    }

    async fn group(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Group>> {
        self.one("SELECT data FROM groups WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await
    }

    async fn groups_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<Group>> {
        let sql = "SELECT data FROM groups WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        self.all(sql, &[&tenant_id, &after.unwrap_or(""), &(limit as i64)]).await
    }

    async fn groups_of(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Group>> {
        // Two indexed halves (members, rules), not one scan of the tenant's groups.
        const CANDIDATES: &str = "SELECT data FROM (\
             SELECT id, data FROM groups WHERE tenant_id = $1 AND data->'members' ? $2 \
             UNION SELECT id, data FROM groups WHERE tenant_id = $1 AND data->>'membership_rule' IS NOT NULL\
             ) g ORDER BY id";
        self.all(CANDIDATES, &[&tenant_id, &user_id]).await
    }

    async fn groups_by_mail(&self, tenant_id: &str, mail: &str) -> StoreResult<Vec<Group>> {
        self.all("SELECT data FROM groups WHERE tenant_id = $1 AND data->>'mail' = $2 ORDER BY id", &[&tenant_id, &mail]).await
    }

    async fn delete_group(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM groups WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await? > 0)
    }

    async fn put_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        self.execute(
            "INSERT INTO invitations (tenant_id, id, ticket_hash, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET data = EXCLUDED.data",
            &[&invitation.tenant_id, &invitation.id, &invitation.ticket_hash, &json(invitation)],
        )
        .await?;
        Ok(())
    }

    async fn invitation(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Invitation>> {
        self.one("SELECT data FROM invitations WHERE tenant_id = $1 AND id = $2", &[&tenant_id, &id]).await
    }

    async fn invitation_by_ticket(&self, ticket_hash: &str) -> StoreResult<Option<Invitation>> {
        self.one("SELECT data FROM invitations WHERE ticket_hash = $1", &[&ticket_hash]).await
    }

    async fn put_app(&self, app: &App) -> StoreResult<()> {
        self.execute(
            "INSERT INTO apps (tenant_id, client_id, data) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, client_id) DO UPDATE SET data = EXCLUDED.data",
            &[&app.tenant_id, &app.client_id, &json(app)],
        )
        .await?;
        Ok(())
    }

    async fn app(&self, tenant_id: &str, client_id: &str) -> StoreResult<Option<App>> {
        self.one("SELECT data FROM apps WHERE tenant_id = $1 AND client_id = $2", &[&tenant_id, &client_id]).await
    }

    async fn apps_page(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<App>> {
        let sql = "SELECT data FROM apps WHERE tenant_id = $1 AND client_id > $2 ORDER BY client_id LIMIT $3";
        self.all(sql, &[&tenant_id, &after.unwrap_or(""), &(limit as i64)]).await
    }

    async fn replace_app(&self, read: &App, next: &App) -> StoreResult<bool> {
        self.swap("apps", "client_id", &read.tenant_id, &read.client_id, read, next).await
    }

    async fn delete_app(&self, tenant_id: &str, client_id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM apps WHERE tenant_id = $1 AND client_id = $2", &[&tenant_id, &client_id]).await? > 0)
    }

    async fn app_by_identifier_uri(&self, tenant_id: &str, identifier_uri: &str) -> StoreResult<Option<App>> {
        let sql = "SELECT data FROM apps WHERE tenant_id = $1 AND data->>'identifier_uri' = $2 ORDER BY client_id LIMIT 1";
        self.one(sql, &[&tenant_id, &identifier_uri]).await
    }

    async fn put_asset(&self, asset: &Asset) -> StoreResult<()> {
        let sql = "INSERT INTO assets (tenant_id, hash, content_type, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        self.execute(sql, &[&asset.tenant_id, &asset.hash, &asset.content_type, &asset.bytes]).await?;
        Ok(())
    }

    async fn asset(&self, tenant_id: &str, hash: &str) -> StoreResult<Option<Asset>> {
        let rows = self.rows("SELECT content_type, bytes FROM assets WHERE tenant_id = $1 AND hash = $2", &[&tenant_id, &hash]).await?;
        Ok(rows.first().map(|row| Asset {
            tenant_id: tenant_id.to_string(),
            hash: hash.to_string(),
            content_type: row.get(0),
            bytes: row.get(1),
        }))
    }

    async fn delete_asset(&self, tenant_id: &str, hash: &str) -> StoreResult<()> {
        self.execute("DELETE FROM assets WHERE tenant_id = $1 AND hash = $2", &[&tenant_id, &hash]).await?;
        Ok(())
    }

    async fn put_key(&self, key: &StoredKey) -> StoreResult<()> {
        self.execute(
            "INSERT INTO signing_keys (tenant_id, kid, data) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, kid) DO UPDATE SET data = EXCLUDED.data",
            &[&key.tenant_id, &key.kid, &json(key)],
        )
        .await?;
        Ok(())
    }

    async fn replace_key(&self, read: &StoredKey, next: &StoredKey) -> StoreResult<bool> {
        const SWAP: &str = "UPDATE signing_keys SET data = $4 WHERE tenant_id = $1 AND kid = $2 AND data = $3";
        Ok(self.execute(SWAP, &[&read.tenant_id, &read.kid, &json(read), &json(next)]).await? == 1)
    }

    async fn keys(&self, tenant_id: &str) -> StoreResult<Vec<StoredKey>> {
        self.all("SELECT data FROM signing_keys WHERE tenant_id = $1 ORDER BY kid", &[&tenant_id]).await
    }

    async fn lock_seeding(&self) -> StoreResult<Box<dyn SeedingLock>> {
        let client = self.client().await?;
        client.execute("SELECT pg_advisory_lock($1)", &[&SEEDING_LOCK]).await.map_err(db)?;
        Ok(Box::new(PgSeedingLock { client: Some(client) }))
    }

    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let client = self.client().await?;
        client
            .execute("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", &[&name, &candidate])
            .await
            .map_err(db)?;
        let row = client.query_one("SELECT value FROM secrets WHERE name = $1", &[&name]).await.map_err(db)?;
        row.try_get(0).map_err(|e| StoreError::Corrupt(e.into()))
    }

    async fn secrets(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let rows = self.rows("SELECT name, value FROM secrets ORDER BY name", &[]).await?;
        rows.iter()
            .map(|r| {
                Ok((r.try_get(0).map_err(|e| StoreError::Corrupt(e.into()))?, r.try_get(1).map_err(|e| StoreError::Corrupt(e.into()))?))
            })
            .collect()
    }

    async fn replace_secret(&self, name: &str, read: &[u8], next: &[u8]) -> StoreResult<bool> {
        Ok(self.execute("UPDATE secrets SET value = $3 WHERE name = $1 AND value = $2", &[&name, &read, &next]).await? == 1)
    }
}

#[async_trait]
impl GrantStore for PgStore {
    async fn put_auth_request(&self, req: &AuthRequest) -> StoreResult<()> {
        self.execute(
            "INSERT INTO auth_requests (id, expires_at, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data",
            &[&req.id, &req.expires_at, &json(req)],
        )
        .await?;
        Ok(())
    }

    async fn auth_request(&self, id: &str) -> StoreResult<Option<AuthRequest>> {
        self.one("SELECT data FROM auth_requests WHERE id = $1", &[&id]).await
    }

    async fn delete_auth_request(&self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM auth_requests WHERE id = $1", &[&id]).await?;
        Ok(())
    }

    async fn put_interaction(&self, interaction: &Interaction) -> StoreResult<()> {
        self.execute(
            "INSERT INTO interactions (id, expires_at, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data",
            &[&interaction.id, &interaction.expires_at, &json(interaction)],
        )
        .await?;
        Ok(())
    }

    async fn interaction(&self, id: &str) -> StoreResult<Option<Interaction>> {
        self.one("SELECT data FROM interactions WHERE id = $1", &[&id]).await
    }

    async fn delete_interaction(&self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM interactions WHERE id = $1", &[&id]).await?;
        Ok(())
    }

    async fn create_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()> {
        let inserted = self
            .execute(
                "INSERT INTO device_grants (user_code, expires_at, data) VALUES ($1, $2, $3) ON CONFLICT (user_code) DO NOTHING",
                &[&grant.user_code, &grant.expires_at, &json(grant)],
            )
            .await?;
        match inserted {
            1 => Ok(()),
            _ => Err(StoreError::Conflict("user code".into())),
        }
    }

    async fn device_grant(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        self.one("SELECT data FROM device_grants WHERE user_code = $1", &[&user_code]).await
    }

    async fn replace_device_grant(&self, read: &DeviceGrant, next: &DeviceGrant) -> StoreResult<bool> {
        let replaced = self
            .execute("UPDATE device_grants SET data = $3 WHERE user_code = $1 AND data = $2", &[&read.user_code, &json(read), &json(next)])
            .await?;
        Ok(replaced == 1)
    }

    async fn put_pushed_request(&self, pushed: &PushedRequest) -> StoreResult<()> {
        self.execute(
            "INSERT INTO pushed_requests (hash, expires_at, data) VALUES ($1, $2, $3)",
            &[&pushed.hash, &pushed.expires_at, &json(pushed)],
        )
        .await?;
        Ok(())
    }

    async fn take_pushed_request(&self, hash: &str) -> StoreResult<Option<PushedRequest>> {
        self.one("DELETE FROM pushed_requests WHERE hash = $1 RETURNING data", &[&hash]).await
    }

    async fn put_code(&self, hash: &str, code: &AuthCode) -> StoreResult<()> {
        self.execute(
            "INSERT INTO codes (hash, expires_at, used, data) VALUES ($1, $2, $3, $4)",
            &[&hash, &code.expires_at, &code.used, &json(code)],
        )
        .await?;
        Ok(())
    }

    async fn code(&self, hash: &str) -> StoreResult<Option<AuthCode>> {
        self.one("SELECT data FROM codes WHERE hash = $1", &[&hash]).await
    }

    async fn spend_code(&self, hash: &str) -> StoreResult<Spend<AuthCode>> {
        let client = self.client().await?;
        let spent = client
            .query_opt(
                "UPDATE codes SET used = true, data = jsonb_set(data, '{used}', 'true') WHERE hash = $1 AND NOT used RETURNING data",
                &[&hash],
            )
            .await
            .map_err(db)?;
        if let Some(row) = spent {
            return Ok(Spend::Fresh(record(&row)?));
        }
        match client.query_opt("SELECT data FROM codes WHERE hash = $1", &[&hash]).await.map_err(db)? {
            Some(row) => Ok(Spend::Replayed(record(&row)?)),
            None => Ok(Spend::Missing),
        }
    }

    async fn put_family(&self, family: &RefreshFamily) -> StoreResult<()> {
        self.execute(
            "INSERT INTO refresh_families (id, expires_at, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data",
            &[&family.id, &family.expires_at, &json(family)],
        )
        .await?;
        Ok(())
    }

    async fn family(&self, id: &str) -> StoreResult<Option<RefreshFamily>> {
        self.one("SELECT data FROM refresh_families WHERE id = $1", &[&id]).await
    }

    async fn revoke_family(&self, id: &str) -> StoreResult<()> {
        self.execute("UPDATE refresh_families SET data = jsonb_set(data, '{revoked}', 'true') WHERE id = $1", &[&id]).await?;
        Ok(())
    }

    async fn replace_family(&self, read: &RefreshFamily, next: &RefreshFamily) -> StoreResult<bool> {
        // jsonb equality compares content, not bytes: `read` is the stored record or it is not.
        let replaced = self
            .execute(
                "UPDATE refresh_families SET expires_at = $3, data = $4 WHERE id = $1 AND data = $2",
                &[&read.id, &json(read), &next.expires_at, &json(next)],
            )
            .await?;
        Ok(replaced == 1)
    }

    /// One statement: the keys land with the record, and a session deleted
    /// meanwhile cannot fail the keys' insert. A re-put writes no key rows.
    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        self.execute(
            "WITH s AS (INSERT INTO sessions (id, expires_at, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, data = EXCLUDED.data RETURNING id) \
             INSERT INTO session_keys (key, session_id) SELECT unnest($4::text[]), id FROM s ON CONFLICT DO NOTHING",
            &[&session.id, &session.expires_at, &json(session), &session.lookup_keys()],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str) -> StoreResult<Option<Session>> {
        self.one("SELECT data FROM sessions WHERE id = $1", &[&id]).await
    }

    async fn delete_session(&self, id: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM sessions WHERE id = $1", &[&id]).await? == 1)
    }

    async fn add_session_client(&self, id: &str, client_id: &str) -> StoreResult<bool> {
        // One statement: a session deleted meanwhile matches no row, and is not written back.
        let sql = "UPDATE sessions SET data = CASE WHEN COALESCE(data->'clients', '[]'::jsonb) ? $2 THEN data \
                   ELSE jsonb_set(data, '{clients}', COALESCE(data->'clients', '[]'::jsonb) || to_jsonb($2::text)) END \
                   WHERE id = $1";
        Ok(self.execute(sql, &[&id, &client_id]).await? == 1)
    }

    async fn sessions_by_key(&self, key: &str, now: i64, limit: usize) -> StoreResult<Vec<Session>> {
        let sql = "SELECT s.data FROM session_keys k JOIN sessions s ON s.id = k.session_id \
                   WHERE k.key = $1 AND s.expires_at >= $2 LIMIT $3";
        self.all(sql, &[&key, &now, &(limit as i64)]).await
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        self.execute(
            "INSERT INTO consents (tenant_id, user_id, client_id, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET data = EXCLUDED.data",
            &[&consent.tenant_id, &consent.user_id, &consent.client_id, &json(consent)],
        )
        .await?;
        Ok(())
    }

    async fn consent(&self, tenant_id: &str, user_id: &str, client_id: &str) -> StoreResult<Option<Consent>> {
        self.one("SELECT data FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3", &[&tenant_id, &user_id, &client_id])
            .await
    }

    async fn bump_counter(&self, key: &str, window_secs: i64) -> StoreResult<u32> {
        let at = crate::util::now();
        let rows = self
            .rows(
                "INSERT INTO counters (key, count, expires_at) VALUES ($1, 1, $2::bigint + $3::bigint) \
                 ON CONFLICT (key) DO UPDATE SET \
                   count = CASE WHEN counters.expires_at < $2::bigint THEN 1 ELSE counters.count + 1 END, \
                   expires_at = CASE WHEN counters.expires_at < $2::bigint THEN $2::bigint + $3::bigint ELSE counters.expires_at END \
                 RETURNING count",
                &[&key, &at, &window_secs],
            )
            .await?;
        let count: i32 = rows.first().map(|r| r.get(0)).unwrap_or(1);
        Ok(count.max(0) as u32)
    }

    async fn peek_counter(&self, key: &str) -> StoreResult<u32> {
        let at = crate::util::now();
        let rows = self.rows("SELECT count FROM counters WHERE key = $1 AND expires_at >= $2::bigint", &[&key, &at]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i32>(0).max(0) as u32))
    }

    async fn reset_counter(&self, key: &str) -> StoreResult<()> {
        self.execute("DELETE FROM counters WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn reset_counters(&self, prefix: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM counters WHERE starts_with(key, $1)", &[&prefix]).await
    }

    async fn release_counter(&self, key: &str) -> StoreResult<()> {
        self.execute("UPDATE counters SET count = GREATEST(count - 1, 0) WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        self.execute("INSERT INTO revoked_jti (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING", &[&jti, &expires_at])
            .await?;
        Ok(())
    }

    async fn jti_revoked(&self, jti: &str) -> StoreResult<bool> {
        let row = self.client().await?.query_opt("SELECT 1 FROM revoked_jti WHERE jti = $1", &[&jti]).await.map_err(db)?;
        Ok(row.is_some())
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let mut purged = 0;
        for table in [
            "auth_requests",
            "interactions",
            "pushed_requests",
            "device_grants",
            "counters",
            "codes",
            "refresh_families",
            "sessions",
            "revoked_jti",
        ] {
            purged += self.execute(&format!("DELETE FROM {table} WHERE expires_at < $1"), &[&now]).await?;
        }
        Ok(purged)
    }
}

#[async_trait]
impl LogStore for PgStore {
    async fn append_log(&self, entries: &[LogEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&LogEntry) -> String| entries.iter().map(f).collect::<Vec<_>>();
        let (tenants, kinds, ids) = (column(|e| e.tenant_id.clone()), column(|e| e.kind.as_str().into()), column(|e| e.id.clone()));
        let created: Vec<i64> = entries.iter().map(|e| e.created_ms).collect();
        let users: Vec<Option<String>> = entries.iter().map(|e| e.user_id.clone()).collect();
        let apps: Vec<Option<String>> = entries.iter().map(|e| e.app_id.clone()).collect();
        let codes: Vec<i64> = entries.iter().map(|e| e.error_code).collect();
        let data: Vec<Json<&LogEntry>> = entries.iter().map(Json).collect();
        // One statement for the batch, however large.
        let sql = "INSERT INTO audit_log (tenant_id, kind, created_ms, id, user_id, app_id, error_code, data)
                   SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::jsonb[])
                   ON CONFLICT DO NOTHING";
        self.execute(sql, &[&tenants, &kinds, &created, &ids, &users, &apps, &codes, &data]).await?;
        Ok(())
    }

    async fn log_page(&self, query: &LogQuery, limit: usize) -> StoreResult<LogPage> {
        let (before_ms, before_id) = query.before.clone().map_or((None, None), |(t, id)| (Some(t), Some(id)));
        let sql = "SELECT data FROM audit_log WHERE tenant_id = $1 AND kind = $2
                   AND ($3::bigint IS NULL OR (created_ms, id) < ($3, $4::text))
                   AND ($5::bigint IS NULL OR created_ms >= $5)
                   AND ($6::text IS NULL OR user_id = $6) AND ($7::text IS NULL OR app_id = $7)
                   AND ($8::bigint IS NULL OR error_code = $8)
                   ORDER BY created_ms DESC, id DESC LIMIT $9";
        // One more than asked, to know whether there is a next page.
        let mut entries: Vec<LogEntry> = self
            .all(
                sql,
                &[
                    &query.tenant_id,
                    &query.kind.as_str(),
                    &before_ms,
                    &before_id,
                    &query.since_ms,
                    &query.user_id,
                    &query.app_id,
                    &query.error_code,
                    &(limit as i64 + 1),
                ],
            )
            .await?;
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next = entries.last().filter(|_| more).map(|e| (e.created_ms, e.id.clone()));
        Ok(LogPage { entries, next })
    }

    async fn purge_log(&self, before_ms: i64) -> StoreResult<u64> {
        self.execute("DELETE FROM audit_log WHERE created_ms < $1", &[&before_ms]).await
    }
}

impl Store for PgStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}
