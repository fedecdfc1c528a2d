//! One integration-test binary (one link step): every module drives the real
//! server over HTTP. Add new test files as modules here, not as new binaries.

// Tests may unwrap and panic: a failure is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable)]

mod harness;

mod admin;
mod apps;
mod audit;
mod b2b;
mod branding;
mod browser;
mod bulk;
mod channel_logout;
mod config;
mod device;
mod external_idp;
mod flow;
mod keys;
mod layers;
mod logs;
mod mail;
mod mfa;
mod negatives;
mod on_behalf_of;
mod openapi;
mod par;
mod permission_grants;
mod portal;
mod private_key_jwt;
mod readme;
mod restart;
mod scale;
mod secrets;
mod security;
mod store;
mod surfaces;
mod tls;
mod topology;
mod two_servers;
