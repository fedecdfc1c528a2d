//! One integration-test binary (one link step): every module drives the real
//! server over HTTP. Add new test files as modules here, not as new binaries.

mod harness;

mod admin;
mod b2b;
mod bench_smoke;
mod bulk;
mod external_idp;
mod flow;
mod keys;
mod layers;
mod mfa;
mod negatives;
mod restart;
mod scale;
mod security;
mod store;
mod tls;
mod topology;
mod two_servers;
