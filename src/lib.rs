//! b2b-idp: a multi-tenant OpenID Connect provider modelled on Entra ID B2B
//! collaboration. Folders are layers:
//!
//! - `web`: actix handlers, cookies, templates (the only place that knows HTTP)
//! - `protocol`: OIDC/OAuth endpoints' logic and the records they keep
//! - `directory`: tenants, users, apps, invitations, passwords, config seeding
//! - `federation`: guests' sign-in at home (OIDC relying party, email passcode)
//! - `mail`: invitation and passcode mail (file outbox or SMTP)
//! - `mfa`: TOTP second factor and recovery codes
//! - `policy`: conditional access and cross-tenant access (trusting a partner's MFA)
//! - `keys`: per-tenant signing keys and JWKS
//! - `store`: the storage trait and its backends
//! - `config`, `error`, `idp` (shared context), `server` (start-up),
//!   `allocator` (the binaries' memory allocator)
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod allocator;
pub mod config;
pub mod directory;
pub mod error;
pub mod federation;
pub mod idp;
pub mod keys;
pub mod mail;
pub mod mfa;
pub mod policy;
pub mod protocol;
pub mod server;
pub mod store;
pub mod web;
