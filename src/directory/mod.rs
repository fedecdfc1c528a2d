//! The directory: tenants, their users and their applications (clients).
//! Knows nothing of HTTP; the store persists these types as they are.

pub mod access;
pub mod address;
pub mod bulk;
pub mod collaboration;
pub mod groups;
pub mod invitations;
pub mod lifecycle;
pub mod password;
pub mod replica;
pub mod reset;
pub mod seed;
pub mod users;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::keys::Alg;

/// National clouds are isolated from each other (SPEC "Background").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Global,
    Usgov,
    China,
}

impl Cloud {
    /// Entra's `tenant_region_scope` for tenants of this cloud.
    pub fn region_scope(self) -> &'static str {
        match self {
            Cloud::Global => "WW",
            Cloud::Usgov => "USGov",
            Cloud::China => "CN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    /// URL-safe short name; tenants are addressed by name or id.
    pub name: String,
    pub display_name: String,
    pub cloud: Cloud,
    pub region_scope: String,
    pub signing_alg: Alg,
    pub created_at: i64,
    /// Email domains this tenant owns: home realm discovery sends their
    /// users here.
    #[serde(default)]
    pub domains: Vec<String>,
    /// A just-in-time ("viral") tenant created for a domain nobody manages;
    /// it never takes part in home realm discovery.
    #[serde(default)]
    pub unmanaged: bool,
    /// External collaboration settings (who may invite, whom, and how).
    #[serde(default)]
    pub collaboration: collaboration::Settings,
    /// External OIDC identity providers this tenant federates with.
    #[serde(default)]
    pub identity_providers: Vec<collaboration::ExternalIdp>,
    #[serde(default)]
    pub conditional_access: Vec<crate::policy::ConditionalAccessPolicy>,
    #[serde(default)]
    pub cross_tenant_access: crate::policy::CrossTenantAccess,
}

impl Tenant {
    pub fn owns_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| address::domain(d).is_some_and(|d| d == domain))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Member => "Member",
            UserType::Guest => "Guest",
        }
    }

    /// Entra's `acct` claim.
    pub fn acct(self) -> u8 {
        match self {
            UserType::Member => 0,
            UserType::Guest => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Object id (`oid`), unique within the tenant.
    pub id: String,
    pub tenant_id: String,
    /// Lower-cased; unique within the tenant.
    pub email: String,
    pub display_name: String,
    /// argon2 PHC string; `None` for accounts that cannot sign in locally.
    pub password_hash: Option<String>,
    pub user_type: UserType,
    /// Directory roles, e.g. `Global Administrator`.
    #[serde(default)]
    pub roles: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
    /// When the directory last wrote this object (ms); the replication-lag
    /// emulator hides it from lagging reads until `store.replication_lag_ms` later.
    #[serde(default)]
    pub written_at_ms: i64,
    /// Set for invited (external) users: their invitation state and home account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<collaboration::External>,
    /// Sessions and refresh tokens from sign-ins before this (ms) are void
    /// (Graph's `signInSessionsValidFromDateTime`).
    #[serde(default)]
    pub sessions_valid_from_ms: i64,
    /// The enrolled authenticator app, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<crate::mfa::TotpMethod>,
}

impl User {
    /// A new enabled account with a fresh object id: no password, roles,
    /// guest record or second factor yet.
    pub fn new(tenant_id: &str, email: &str, display_name: &str, user_type: UserType) -> User {
        User {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant_id.to_string(),
            email: email.to_string(),
            display_name: display_name.to_string(),
            password_hash: None,
            user_type,
            roles: vec![],
            enabled: true,
            created_at: now(),
            written_at_ms: now_ms(),
            external: None,
            sessions_valid_from_ms: 0,
            totp: None,
        }
    }

    /// The tenant the user authenticates at (`home_tid`).
    pub fn home_tenant_id(&self) -> &str {
        match self.external.as_ref().and_then(|e| e.home.as_ref()) {
            Some(home) => &home.tenant_id,
            None => &self.tenant_id,
        }
    }
}

/// Grant types an app may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub tenant_id: String,
    pub client_id: String,
    pub display_name: String,
    /// Hex SHA-256 of the client secret; `None` marks a public client.
    /// Client secrets are high-entropy, so a fast hash compared in constant
    /// time is the right tool (argon2 is for human passwords).
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Overrides the tenant's signing algorithm for this app's tokens.
    pub signing_alg: Option<Alg>,
    /// Resource URI (`api://…`) under which tokens for this app are requested.
    pub identifier_uri: Option<String>,
    /// App roles granted to this client, by resource (client credentials).
    pub api_permissions: BTreeMap<String, Vec<String>>,
    /// Delegated permissions an admin granted this client, by resource: what
    /// it may ask for on behalf of a user.
    #[serde(default)]
    pub delegated_permissions: BTreeMap<String, Vec<String>>,
    pub require_consent: bool,
}

impl App {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// Longest display name a user, group or app may have.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;

/// Hex SHA-256, used for client secrets and for codes and tokens at rest.
pub fn sha256_hex(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The domain part of an email address, in its normalised (ASCII) form.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.rsplit_once('@')?;
    if local.is_empty() {
        return None;
    }
    address::domain(domain)
}

/// A fresh 256-bit random value, base64url: codes, tokens, session ids.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    now_ms() / 1000
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
