//! Typed configuration: built-in defaults, then a TOML file, then
//! `B2B_IDP__SECTION__KEY` environment variables (docs/contract.md, "Configuration").
//!
//! The built-in defaults hold no tenants, users or secrets: the demo fixture
//! lives only in the shipped `config/default.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::graph::{ConditionalAccessPolicy, CrossTenantAccess};
use crate::model::Cloud;
use crate::model::{Alg, GrantType};
use crate::model::{CollaborationSettings, ExternalIdp};
use crate::util::Secret;

const ENV_PREFIX: &str = "B2B_IDP__";
const FILE_SUFFIX: &str = "_file";

/// A setting's value is unusable; the message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// A list setting of networks: CIDRs, or single addresses.
pub fn networks(setting: &str, values: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.parse::<ipnet::IpNet>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError(format!("{setting}: '{v}' is not a CIDR or an address")))
        })
        .collect()
}

/// Config is strict: a misspelt key is an error at start. The records the
/// store keeps are not (a field written by a newer version still reads),
/// so the model's types that config also declares are read through these
/// strict mirrors.
mod strict {
    use serde::{Deserialize, Deserializer};

    use crate::model::{Cloud, CollaborationSettings, ExternalIdp, InvitePolicy, Protected};

    #[derive(Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Collaboration {
        guest_invite: InvitePolicy,
        allowed_domains: Vec<String>,
        denied_domains: Vec<String>,
        distribution_lists: Vec<String>,
        guests_can_leave: bool,
        privacy_url: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct IdentityProvider {
        #[serde(default)]
        id: String,
        #[serde(default)]
        display_name: String,
        issuer: String,
        client_id: String,
        client_secret: Protected,
        domains: Vec<String>,
        #[serde(default)]
        cloud: Cloud,
    }

    pub fn collaboration<'de, D: Deserializer<'de>>(d: D) -> Result<CollaborationSettings, D::Error> {
        let c = Collaboration::deserialize(d)?;
        Ok(CollaborationSettings {
            guest_invite: c.guest_invite,
            allowed_domains: c.allowed_domains,
            denied_domains: c.denied_domains,
            distribution_lists: c.distribution_lists,
            guests_can_leave: c.guests_can_leave,
            privacy_url: c.privacy_url,
        })
    }

    pub fn identity_providers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ExternalIdp>, D::Error> {
        let declared = Vec::<IdentityProvider>::deserialize(d)?;
        Ok(declared
            .into_iter()
            .map(|x| ExternalIdp {
                id: x.id,
                display_name: x.display_name,
                issuer: x.issuer,
                client_id: x.client_id,
                client_secret: x.client_secret,
                domains: x.domains,
                cloud: x.cloud,
            })
            .collect())
    }
}

/// A key-encryption key: base64 (standard, padded or not) of 32 bytes,
/// surrounding whitespace ignored (a file written by `openssl rand -base64 32`).
pub fn encryption_key(value: &Secret) -> Result<[u8; 32], String> {
    use base64::Engine;
    let text = value.expose().trim().trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(text).map_err(|_| "not base64".to_string())?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("{} bytes, not 32", b.len()))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub mail: MailConfig,
    pub passwords: PasswordConfig,
    pub tokens: TokenConfig,
    pub keys: KeysConfig,
    pub b2b: B2bConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    /// Tenants declared in config are created on start if missing; their
    /// apps are updated to match, their users are only ever created.
    pub tenants: Vec<TenantSeed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    /// Base of every issuer and URL the server prints; no trailing slash.
    pub public_base_url: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For` names the client;
    /// from anyone else the header is ignored. Empty by default.
    pub trusted_proxies: Vec<String>,
    /// Sign-in requests one client address (an IPv6 /64) may have waiting
    /// for a person at once (abandoned ones stop counting after 15 minutes).
    pub pending_sign_ins_per_source: u32,
    /// The same for all clients of one tenant together.
    pub pending_sign_ins_total: u32,
    /// `GET /metrics` (Prometheus text format); false turns it off.
    pub metrics: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
            workers: 0,
            trusted_proxies: vec![],
            pending_sign_ins_per_source: 600,
            pending_sign_ins_total: 60_000,
            metrics: true,
        }
    }
}

impl ServerConfig {
    pub fn base_url(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// Cookies get `Secure` whenever the public URL is HTTPS.
    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// sled directory (the embedded default store).
    pub path: PathBuf,
    /// `postgres://…`; takes precedence over `path` when set.
    pub url: Option<Secret>,
    /// Connections per instance in the PostgreSQL pool.
    pub max_connections: usize,
    /// Emulates Entra's replication delay ("instant-on"): admin API reads see
    /// a directory write only this long after it. 0 = read your own writes.
    pub replication_lag_ms: u64,
    /// Key-encryption key for secrets at rest (base64 of 32 random bytes,
    /// e.g. `openssl rand -base64 32`), shared by every instance. Unset on
    /// sled: one is generated beside the data (`{path}.key`).
    pub encryption_key: Option<Secret>,
    /// Earlier keys, still read (never written) while `b2b-idp store rekey` moves secrets off them.
    pub old_encryption_keys: Vec<Secret>,
    /// PostgreSQL without `encryption_key` keeps secrets in clear only if this says so.
    pub allow_plaintext_secrets: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: "data".into(),
            url: None,
            max_connections: 16,
            replication_lag_ms: 0,
            encryption_key: None,
            old_encryption_keys: vec![],
            allow_plaintext_secrets: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub outbox: PathBuf,
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            outbox: "data/outbox".into(),
            from: "b2b-idp <no-reply@b2b-idp.invalid>".into(),
            smtp_host: "localhost".into(),
            smtp_port: 25,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
        }
    }
}

/// The sign-in and directory audit logs (`GET /{tenant}/v1.0/auditLogs/…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries older than this many days are purged (Entra keeps 30 with P1/P2).
    pub retention_days: u32,
    /// Entries waiting to be written at most; past it new ones are dropped
    /// and counted (`b2b_idp_audit_dropped_total`) rather than slow sign-ins.
    pub queue: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { retention_days: 30, queue: 65_536 }
    }
}

/// What the server writes to standard error (levels: `RUST_LOG`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// Log lines for people or for machines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `text` on a terminal, `json` otherwise (a file, a pipe, a container's log).
    #[default]
    Auto,
    /// One line per event for people; colour only on a terminal without `NO_COLOR`.
    Text,
    /// One JSON object per line, with the request's span (request ids, client, tenant).
    Json,
}

/// How mail leaves the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// One `.eml` per message in `mail.outbox` (the default: nothing leaves the machine).
    #[default]
    File,
    /// To `mail.smtp_host`.
    Smtp,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
    /// No TLS: local relays only.
    None,
}

/// argon2id parameters for human passwords (OWASP defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashing threads (concurrent hashes); 0 means one per core. Bounds
    /// memory in a login storm: each thread keeps one argon2 buffer.
    pub max_concurrent: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1, max_concurrent: 0 }
    }
}

/// Lifetimes, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub code_ttl: i64,
    /// Idle lifetime of one refresh token; each rotation starts it again.
    pub refresh_token_ttl: i64,
    /// Absolute lifetime of a refresh-token family.
    pub refresh_family_ttl: i64,
    pub session_ttl: i64,
    /// How long a sign-in page may stay open.
    pub interaction_ttl: i64,
    /// How recent a sign-in the admin console's sensitive actions need;
    /// older, they ask for the password again (`max_age`).
    pub recent_sign_in: i64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: 3600,
            id_token_ttl: 3600,
            code_ttl: 120,
            refresh_token_ttl: 14 * 86400,
            refresh_family_ttl: 90 * 86400,
            session_ttl: 12 * 3600,
            interaction_ttl: 900,
            recent_sign_in: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Each instance re-reads the tenant key sets at least this often, so a
    /// rotation made elsewhere is published and used within this bound.
    pub refresh_secs: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self { refresh_secs: 30 }
    }
}

/// B2B collaboration, server-wide.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct B2bConfig {
    /// A person may belong to at most this many directories (home + guest).
    pub max_directories: usize,
    /// External OIDC identity providers every tenant may send guests home to.
    #[serde(deserialize_with = "strict::identity_providers")]
    pub identity_providers: Vec<ExternalIdp>,
    /// Lifetime of an emailed one-time passcode (Entra: 30 minutes).
    pub otp_ttl_secs: i64,
    /// Wrong passcodes allowed before the code is void.
    pub otp_max_attempts: u32,
    /// How often the server looks for guests whose home account is gone; 0 = never.
    pub sweep_interval_secs: u64,
    /// Networks (CIDRs) of internal addresses that home identity providers
    /// may still be fetched from; every other loopback, link-local, private
    /// or unique-local address is refused (SSRF). Empty by default.
    pub allowed_internal_networks: Vec<String>,
    /// Invitation mails one inviter may cause per hour (0 = no limit).
    pub invitation_mails_per_inviter_hourly: u32,
    /// Invitation mails one tenant may send per hour (0 = no limit).
    pub invitation_mails_per_tenant_hourly: u32,
}

impl Default for B2bConfig {
    fn default() -> Self {
        Self {
            max_directories: 500,
            identity_providers: vec![],
            otp_ttl_secs: 1800,
            otp_max_attempts: 5,
            sweep_interval_secs: 0,
            allowed_internal_networks: vec![],
            invitation_mails_per_inviter_hourly: 100,
            invitation_mails_per_tenant_hourly: 1000,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSeed {
    pub name: String,
    /// Fixed id (a UUID) so issuers are stable across fresh data dirs.
    pub id: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub cloud: Cloud,
    /// Overrides the `tenant_region_scope` derived from `cloud`.
    pub region_scope: Option<String>,
    #[serde(default)]
    pub signing_alg: Alg,
    /// Operator-supplied PKCS#8 PEM key (see keys/README.md); becomes the
    /// active key for its algorithm.
    pub signing_key_file: Option<PathBuf>,
    /// Email domains the tenant owns (home realm discovery).
    #[serde(default)]
    pub domains: Vec<String>,
    /// The language of its mails when the reader's is unknown (`en`, `de`, `fr`).
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default, deserialize_with = "strict::collaboration")]
    pub collaboration: CollaborationSettings,
    /// External identity providers for this tenant's guests.
    #[serde(default, deserialize_with = "strict::identity_providers")]
    pub identity_providers: Vec<ExternalIdp>,
    /// Conditional access policies (Graph's shape); those added through the
    /// admin API are kept beside them.
    #[serde(default)]
    pub conditional_access: Vec<ConditionalAccessPolicy>,
    /// Cross-tenant access settings; partners named here override the stored ones.
    #[serde(default)]
    pub cross_tenant_access: Option<CrossTenantAccess>,
    #[serde(default)]
    pub users: Vec<UserSeed>,
    #[serde(default)]
    pub apps: Vec<AppSeed>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSeed {
    pub email: String,
    pub display_name: Option<String>,
    pub password: Option<Secret>,
    /// An argon2 PHC string, for configs that should not hold plain passwords.
    pub password_hash: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSeed {
    pub client_id: String,
    pub display_name: Option<String>,
    /// Absent for public clients (which must use PKCE).
    pub secret: Option<Secret>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default = "default_grants")]
    pub grant_types: Vec<GrantType>,
    pub signing_alg: Option<Alg>,
    /// Resource URI under which other apps request tokens for this app.
    pub identifier_uri: Option<String>,
    /// Application permissions (app roles) granted to this client, by resource.
    #[serde(default)]
    pub api_permissions: BTreeMap<String, Vec<String>>,
    /// Delegated permissions granted to this client, by resource.
    #[serde(default)]
    pub delegated_permissions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub require_consent: bool,
    /// Where My Apps launches the app (else the origin of its first redirect URI).
    pub home_page_url: Option<String>,
    /// Files of the public keys it signs client assertions with
    /// (`private_key_jwt`): each a PEM or DER certificate, or a JWK's JSON.
    #[serde(default)]
    pub key_credentials: Vec<std::path::PathBuf>,
    /// Each client assertion's `jti` works once.
    #[serde(default)]
    pub single_use_client_assertions: bool,
    /// Its authorization requests must come pushed (RFC 9126, PAR).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Where a logout token is posted when a session that signed in to it
    /// ends (OIDC Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Loaded in an iframe of the signed-out page (OIDC Front-Channel Logout 1.0).
    pub frontchannel_logout_uri: Option<String>,
}

impl Default for AppSeed {
    fn default() -> Self {
        AppSeed {
            client_id: String::new(),
            display_name: None,
            secret: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: default_grants(),
            signing_alg: None,
            identifier_uri: None,
            api_permissions: BTreeMap::new(),
            delegated_permissions: BTreeMap::new(),
            require_consent: false,
            home_page_url: None,
            key_credentials: vec![],
            single_use_client_assertions: false,
            require_pushed_authorization_requests: false,
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
        }
    }
}

pub fn default_grants() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

impl Config {
    /// Defaults, then the file (if it exists), then the environment, then
    /// `B2B_IDP__SECTION__KEY_FILE` variables: the key's value is that file's
    /// content (a secret handed over as a file, e.g. a Docker secret).
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(Env::prefixed(ENV_PREFIX).filter(|key| !key.as_str().to_ascii_lowercase().ends_with(FILE_SUFFIX)).split("__"));
        for (name, path) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            let Some(key) =
                name.strip_prefix(ENV_PREFIX).and_then(|k| k.to_ascii_lowercase().strip_suffix(FILE_SUFFIX).map(str::to_string))
            else {
                continue;
            };
            let value = std::fs::read_to_string(&path)
                .map_err(|e| Box::new(figment::Error::from(format!("{name}: cannot read {}: {e}", Path::new(&path).display()))))?;
            fig = fig.merge(Serialized::default(&key.replace("__", "."), value.trim_end_matches(['\r', '\n'])));
        }
        fig.extract().map_err(Box::new)
    }

    /// Every problem with the settings at once, so an operator fixes them in
    /// one go; the server and the CLI refuse to start with any. Tenant seeds
    /// are checked where they are applied (`server::seed`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = vec![];
        let server = &self.server;
        match url::Url::parse(&server.public_base_url) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.username().is_empty()
                    && u.query().is_none()
                    && u.fragment().is_none() => {}
            _ => problems.push(format!(
                "server.public_base_url '{}': an absolute http(s) URL without query or fragment, e.g. https://login.example.com",
                server.public_base_url
            )),
        }
        if !server.bind.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()) {
            problems.push(format!("server.bind '{}': host:port, e.g. 0.0.0.0:8080", server.bind));
        }
        match (&server.tls_cert, &server.tls_key) {
            (Some(_), Some(_)) if !server.is_https() => {
                problems.push("server.tls_cert is set, so server.public_base_url must be https://…".into())
            }
            (Some(_), None) | (None, Some(_)) => problems.push("server.tls_cert and server.tls_key must be set together".into()),
            _ => {}
        }
        for tenant in &self.tenants {
            if let Some(tag) = tenant.preferred_language.as_deref().filter(|tag| crate::i18n::Lang::for_tag(tag).is_none()) {
                problems.push(format!("tenants.preferred_language '{tag}' (tenant {}): one of en, de, fr", tenant.name));
            }
        }
        if self.audit.retention_days == 0 || self.audit.queue == 0 {
            problems.push("audit.retention_days and audit.queue must be at least 1".into());
        }
        for (setting, values) in
            [("server.trusted_proxies", &server.trusted_proxies), ("b2b.allowed_internal_networks", &self.b2b.allowed_internal_networks)]
        {
            if let Err(e) = networks(setting, values) {
                problems.push(e.0);
            }
        }
        if self.store.url.is_none() && self.store.path.as_os_str().is_empty() {
            problems.push("store.path is empty (and no store.url is set)".into());
        }
        let keys = self.store.encryption_key.iter().map(|k| ("store.encryption_key", k));
        for (setting, key) in keys.chain(self.store.old_encryption_keys.iter().map(|k| ("store.old_encryption_keys", k))) {
            if let Err(e) = encryption_key(key) {
                problems.push(format!("{setting}: {e}"));
            }
        }
        if self.store.url.is_some() && self.store.encryption_key.is_none() && !self.store.allow_plaintext_secrets {
            problems.push(
                "store.encryption_key is required with PostgreSQL (base64 of 32 random bytes: openssl rand -base64 32), \
                 or store.allow_plaintext_secrets = true to keep secrets in clear"
                    .into(),
            );
        }
        if let Err(e) = self.mail.from.parse::<lettre::message::Mailbox>() {
            problems.push(format!("mail.from '{}': {e}", self.mail.from));
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp_host.trim().is_empty() {
            problems.push("mail.smtp_host is required with mail.transport = \"smtp\"".into());
        }
        if self.mail.smtp_username.is_some() != self.mail.smtp_password.is_some() {
            problems.push("mail.smtp_username and mail.smtp_password must be set together".into());
        }
        let p = &self.passwords;
        if let Err(e) = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, None) {
            problems.push(format!("passwords: {e}"));
        }
        let t = &self.tokens;
        for (name, secs) in [
            ("access_token_ttl", t.access_token_ttl),
            ("id_token_ttl", t.id_token_ttl),
            ("code_ttl", t.code_ttl),
            ("refresh_token_ttl", t.refresh_token_ttl),
            ("refresh_family_ttl", t.refresh_family_ttl),
            ("session_ttl", t.session_ttl),
            ("interaction_ttl", t.interaction_ttl),
            ("recent_sign_in", t.recent_sign_in),
            ("b2b.otp_ttl_secs", self.b2b.otp_ttl_secs),
        ] {
            if secs <= 0 {
                let name = if name.contains('.') { name.to_string() } else { format!("tokens.{name}") };
                problems.push(format!("{name} must be a positive number of seconds, not {secs}"));
            }
        }
        if self.b2b.otp_max_attempts == 0 {
            problems.push("b2b.otp_max_attempts must be at least 1".into());
        }
        let mut seen = std::collections::HashSet::new();
        for tenant in &self.tenants {
            if !seen.insert(tenant.name.as_str()) {
                problems.push(format!("tenants: '{}' is declared twice", tenant.name));
            }
        }
        match problems.len() {
            0 => Ok(()),
            1 => Err(ConfigError(problems.remove(0))),
            n => Err(ConfigError(format!("{n} problems in the configuration:\n  - {}", problems.join("\n  - ")))),
        }
    }
}
