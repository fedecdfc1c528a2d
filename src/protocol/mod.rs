//! OpenID Connect and OAuth 2.0 protocol logic. No actix types here: the web
//! layer parses requests into these types and renders what comes back.

pub mod authorize;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod introspect;
pub mod logout;
pub mod on_behalf_of;
pub mod par;
pub mod scopes;
pub mod stepup;
pub mod token;
