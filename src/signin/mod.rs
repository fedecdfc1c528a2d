//! What signing in leaves behind and what limits it: browser sessions and
//! the attempt throttle for passwords and second-factor codes. Below the
//! directory, so that password reset, the second factor, federation and
//! the protocol all reach them without a cycle.

pub mod channel_logout;
pub mod log;
pub mod session;
pub mod throttle;
