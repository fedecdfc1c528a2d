//! The domain error: what directory and protocol code returns. The web layer
//! maps it to HTTP once (`web::error`).

use crate::keys::KeyError;
use crate::protocol::OAuthError;
use crate::store::StoreError;

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
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;
