//! Browser state between the steps of a sign-in at home, a redemption, a
//! second factor or a password reset.

use serde::{Deserialize, Serialize};

use crate::model::HomeAccount;
use crate::model::Protected;

/// Browser state between the steps of a guest's sign-in or redemption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Random; the `state` sent home, or the hidden `ix` of our own forms.
    pub id: String,
    pub tenant_id: String,
    /// SHA-256 of the browser cookie that started it: a callback arriving
    /// in another browser is refused (login CSRF).
    pub browser: String,
    pub purpose: Purpose,
    pub step: Step,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Purpose {
    SignIn {
        request_id: String,
        user_id: String,
    },
    /// A sign-in `domain_hint` sent home before anyone typed an address:
    /// home's answer names the guest.
    SignInByDomain {
        request_id: String,
    },
    Redeem {
        invitation_id: String,
        user_id: String,
    },
    /// A member's self-service password reset (the emailed link).
    PasswordReset {
        user_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// Gone home; `issuer` names the registration, the rest checks the answer.
    Home {
        issuer: String,
        home_tenant_id: Option<String>,
        nonce: String,
        pkce_verifier: String,
        /// Sent home for the second factor (a trusted partner's MFA): the
        /// answer must show it.
        #[serde(default)]
        require_mfa: bool,
    },
    /// A passcode was mailed to `email`.
    Passcode { email: String, code_hash: String },
    /// Home proved who it is; the guest still has to accept (redemption only).
    Consent {
        home: HomeAccount,
        #[serde(default)]
        trusted_mfa: bool,
    },
    /// The second factor at this tenant: enrolling `enrol_secret` (sealed), or a prompt.
    Mfa { enrol_secret: Option<Protected> },
    /// A password-reset link was mailed; the interaction's id is the link token's hash.
    ResetLink,
}
