//! The domain error: what every layer above the store returns. The web
//! layer maps it to HTTP once (`web::error`). Also the OAuth 2.0 error
//! (RFC 6749 §5.2 shape: `error`, `error_description`), which protocol code
//! returns through it.

use serde::Serialize;

use crate::config::ConfigError;
use crate::keys::KeyError;
use crate::store::StoreError;
use crate::util::address::InvalidAddress;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("tenant '{0}' not found")]
    TenantNotFound(String),
    #[error("{0} not found")]
    NotFound(String),
    /// Bad input outside the OAuth protocol (admin API, CLI).
    #[error("{0}")]
    Invalid(String),
    /// The admin API caller lacks a right; the message names the role needed.
    #[error("{0}")]
    Forbidden(String),
    /// The admin API caller's token is missing or not for this tenant's admin API.
    #[error("{0}")]
    Unauthenticated(String),
    /// The object exists in a form that excludes the request (e.g. already a member).
    #[error("{0}")]
    Conflict(String),
    /// The caller's `If-Match` names a representation that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Another identity provider (a guest's home) failed or refused.
    #[error("{0}")]
    Upstream(String),
    /// Too many attempts; the message says when to try again.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The object exists but this (lagging) read does not see it yet.
    #[error("{what} is not replicated yet; retry after {retry_after_secs} s")]
    NotYetReplicated { what: String, retry_after_secs: u64 },
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<InvalidAddress> for Error {
    fn from(e: InvalidAddress) -> Error {
        Error::Invalid(e.0)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Invalid(e.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    InvalidToken,
    InsufficientScope,
    LoginRequired,
    InteractionRequired,
    ConsentRequired,
    RequestNotSupported,
    /// RFC 8628 §3.5: the device polls on.
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    ServerError,
    TemporarilyUnavailable,
}

impl OAuthCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthCode::InvalidRequest => "invalid_request",
            OAuthCode::InvalidClient => "invalid_client",
            OAuthCode::InvalidGrant => "invalid_grant",
            OAuthCode::UnauthorizedClient => "unauthorized_client",
            OAuthCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthCode::InvalidScope => "invalid_scope",
            OAuthCode::AccessDenied => "access_denied",
            OAuthCode::InvalidToken => "invalid_token",
            OAuthCode::InsufficientScope => "insufficient_scope",
            OAuthCode::LoginRequired => "login_required",
            OAuthCode::InteractionRequired => "interaction_required",
            OAuthCode::ConsentRequired => "consent_required",
            OAuthCode::RequestNotSupported => "request_not_supported",
            OAuthCode::AuthorizationPending => "authorization_pending",
            OAuthCode::SlowDown => "slow_down",
            OAuthCode::ExpiredToken => "expired_token",
            OAuthCode::ServerError => "server_error",
            OAuthCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error:?}: {error_description}")]
pub struct OAuthError {
    pub error: OAuthCode,
    pub error_description: String,
    /// A claims challenge (OIDC Core §5.5 syntax), as Entra answers
    /// `interaction_required`: what a new sign-in must satisfy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

impl OAuthError {
    pub fn new(error: OAuthCode, description: impl Into<String>) -> OAuthError {
        OAuthError { error, error_description: description.into(), claims: None }
    }

    /// HTTP status per RFC 6749 §5.2 and RFC 6750 §3.1.
    pub fn status(&self) -> u16 {
        match self.error {
            OAuthCode::InvalidClient | OAuthCode::InvalidToken => 401,
            OAuthCode::InsufficientScope => 403,
            OAuthCode::ServerError => 500,
            _ => 400,
        }
    }
}

macro_rules! constructors {
    ($($name:ident => $code:ident),* $(,)?) => {
        impl OAuthError {
            $(pub fn $name(description: impl Into<String>) -> OAuthError {
                OAuthError::new(OAuthCode::$code, description)
            })*
        }
    };
}

constructors! {
    invalid_request => InvalidRequest,
    invalid_client => InvalidClient,
    invalid_grant => InvalidGrant,
    unauthorized_client => UnauthorizedClient,
    unsupported_grant_type => UnsupportedGrantType,
    invalid_scope => InvalidScope,
    invalid_token => InvalidToken,
}
