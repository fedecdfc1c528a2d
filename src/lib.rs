//! b2b-idp: a multi-tenant OpenID Connect provider modelled on Entra ID B2B
//! collaboration.
//!
//! Folders are layers. Bottom to top, a module imports only from the ones
//! above it in this list, never from those below (`tests/it/layers.rs`
//! checks every `crate::` path in `src/` against this list):
//!
//! - `allocator`: the binaries' memory allocator
//! - `util`: time, random tokens, hashing, email addresses, the redacting `Secret`
//! - `telemetry`: Prometheus metrics (`/metrics`): the recorder and the label sets
//! - `i18n`: message catalogs (Fluent: en, de, fr) and the language of the request being answered
//! - `model`: the records the store keeps (tenants, users, apps, grants, sessions…)
//! - `graph`: Microsoft Graph's JSON shapes that the admin API and config share
//! - `config`: typed settings and the tenants config seeds
//! - `store`: the storage trait, sled and PostgreSQL
//! - `audit`: the sign-in and directory audit logs (Graph shapes, the request context, the batched writer)
//! - `vault`: secrets at rest, sealed under a key-encryption key, and `store rekey`
//! - `keys`: per-tenant signing keys and JWKS
//! - `error`: the domain error and the OAuth error
//! - `mail`: invitation, passcode and reset mail (file outbox or SMTP)
//! - `egress`: outbound HTTP behind the SSRF guard, and the OIDC relying-party client
//! - `passwords`: the password policy and argon2 on its own threads
//! - `idp`: the shared context (config, store, keys, mailer, hasher, home providers)
//! - `signin`: browser sessions and the attempt throttle
//! - `directory`: tenants, users, groups, invitations, admin access, home realm discovery
//! - `policy`: conditional access and cross-tenant access (trusting a partner's MFA)
//! - `mfa`: TOTP second factor and recovery codes
//! - `federation`: guests' sign-in at home (OIDC relying party, email passcode)
//! - `protocol`: OIDC/OAuth endpoints' logic
//! - `web`: actix handlers, cookies, templates (the only place that knows HTTP)
//! - `server`: start-up, seeding config's tenants, the HTTP server
//! - `cli`: the command line (`b2b-idp serve`, `tenant`, `user`, `app`, `keys`, `invite`, `guests`)

pub mod allocator;
pub mod audit;
pub mod cli;
pub mod config;
pub mod directory;
pub mod egress;
pub mod error;
pub mod federation;
pub mod graph;
pub mod i18n;
pub mod idp;
pub mod keys;
pub mod mail;
pub mod mfa;
pub mod model;
pub mod passwords;
pub mod policy;
pub mod protocol;
pub mod server;
pub mod signin;
pub mod store;
pub mod telemetry;
pub mod util;
pub mod vault;
pub mod web;
