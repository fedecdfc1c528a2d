//! OpenID Connect and OAuth 2.0 protocol logic. No actix types here: the web
//! layer parses requests into these types and renders what comes back.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod introspect;
pub mod logout;
pub mod records;
pub mod scopes;
pub mod session;
pub mod stepup;
pub mod throttle;
pub mod token;

pub use error::{OAuthCode, OAuthError};
