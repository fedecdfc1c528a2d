//! The sign-in and directory audit logs, in Microsoft Graph's shapes
//! (`signIn`, `directoryAudit`): what an admin reads at
//! `/{tenant}/v1.0/auditLogs/…` to see who signed in to what, how (which
//! home tenant, MFA here or at home), which conditional access applied, and
//! who changed the directory.
//!
//! Entries are built where things happen (`signin`, `change`) and handed
//! to the `Recorder`, which writes them in batches off the request path:
//! a sign-in costs a channel send, never a store round trip.

pub mod change;
pub mod context;
pub mod signin;
mod writer;

pub use writer::{Recorder, Repeat};
