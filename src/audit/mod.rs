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

/// An RFC 3339 UTC timestamp (Graph's `DateTimeOffset`) of a time in ms.
pub fn datetime(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Parses Graph's `DateTimeOffset` (`2026-11-28T10:00:00Z`) to ms.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}
