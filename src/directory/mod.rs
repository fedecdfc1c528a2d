//! The directory: tenants, their users and their applications (clients).
//! Knows nothing of HTTP; the store persists these types as they are.

pub mod access;
pub mod apps;
pub mod audit;
pub mod branding;
pub mod bulk;
pub mod collaboration;
pub mod etag;
pub mod filter;
pub mod groups;
pub mod invitations;
pub mod lifecycle;
pub mod paging;
pub mod permission_grants;
pub mod portal;
pub mod realm;
pub mod replica;
pub mod reset;
pub mod roles;
pub mod tenants;
pub mod users;

/// Longest display name a user, group or app may have.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;
