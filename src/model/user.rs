//! Users, members and guests, and what the directory remembers about a
//! guest's home account (Entra's "external identities").

use serde::{Deserialize, Serialize};

use crate::model::Protected;
use crate::util::{now, now_ms};

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
    /// Graph's `givenName`, `surname` and `jobTitle`: the directory's
    /// record of the person, for apps that read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
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
    /// Bumped by every write (`touched`); the store swaps on it.
    #[serde(default)]
    pub version: u64,
    /// Set for invited (external) users: their invitation state and home account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<External>,
    /// Sessions and refresh tokens from sign-ins before this (ms) are void
    /// (Graph's `signInSessionsValidFromDateTime`).
    #[serde(default)]
    pub sessions_valid_from_ms: i64,
    /// The enrolled authenticator app, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpMethod>,
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
            given_name: None,
            surname: None,
            job_title: None,
            password_hash: None,
            user_type,
            roles: vec![],
            enabled: true,
            created_at: now(),
            written_at_ms: now_ms(),
            version: 0,
            external: None,
            sessions_valid_from_ms: 0,
            totp: None,
        }
    }

    /// Marks a change about to be written: the next version, written now.
    /// Store it with `replace_user(read_version, …)`.
    pub fn touched(&mut self) {
        self.version += 1;
        self.written_at_ms = now_ms();
    }

    /// The tenant the user authenticates at (`home_tid`).
    pub fn home_tenant_id(&self) -> &str {
        match self.external.as_ref().and_then(|e| e.home.as_ref()) {
            Some(home) => &home.tenant_id,
            None => &self.tenant_id,
        }
    }
}

/// Graph's `externalUserState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternalState {
    PendingAcceptance,
    Accepted,
}

impl ExternalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExternalState::PendingAcceptance => "PendingAcceptance",
            ExternalState::Accepted => "Accepted",
        }
    }
}

/// How a guest proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeMethod {
    /// An OIDC sign-in at the home tenant or home identity provider.
    Federation,
    /// A one-time passcode mailed to the guest (no organisation of their own).
    EmailOtp,
}

/// The home account a guest redeemed with; every later sign-in must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeAccount {
    /// `home_tid`.
    pub tenant_id: String,
    /// `idp`: the home identity provider's issuer.
    pub issuer: String,
    /// `sub` at the home identity provider.
    pub subject: String,
    pub method: HomeMethod,
}

/// What the directory knows about an invited user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct External {
    pub state: ExternalState,
    /// Set when the invitation is redeemed; cleared by `resetRedemption`.
    pub home: Option<HomeAccount>,
    pub invited_by: String,
    pub redeemed_at: Option<i64>,
    /// When an admin last reset the redemption (ms): older links are void.
    #[serde(default)]
    pub reset_at_ms: i64,
}

/// A user's authenticator app registration (Graph's `softwareOathAuthenticationMethod`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpMethod {
    pub id: String,
    /// Base32, as the authenticator app holds it; sealed.
    pub secret: Protected,
    /// The last time step accepted: replays of it (or older) are refused.
    pub last_step: u64,
    /// SHA-256 of each unused recovery code (they are random, high-entropy).
    pub recovery_hashes: Vec<String>,
    pub created_at: i64,
}
