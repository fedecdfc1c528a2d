//! The records the store keeps: plain serde types with the small methods
//! that need nothing but the record itself. Every layer above may use them;
//! they use only `util`. What an API shows is shaped elsewhere.

mod app;
mod branding;
mod collaboration;
mod group;
mod interaction;
mod invitation;
mod key;
mod log;
mod policy;
mod sealed;
mod signin;
mod tenant;
mod user;

pub use app::*;
pub use branding::*;
pub use collaboration::*;
pub use group::*;
pub use interaction::*;
pub use invitation::*;
pub use key::*;
pub use log::*;
pub use policy::*;
pub use sealed::*;
pub use signin::*;
pub use tenant::*;
pub use user::*;
