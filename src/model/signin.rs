//! What the protocol keeps between requests: authorization requests, codes,
//! consents, sessions and refresh grants. Any instance can serve any step.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A validated authorization request waiting for the user to sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `prompt=none`: no page may be shown; errors go back to the client.
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    #[serde(default)]
    pub domain_hint: Option<String>,
    /// OIDC `ui_locales`, for the pages of this sign-in.
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// `acr_values=2`: the client asks for multi-factor authentication.
    #[serde(default)]
    pub require_mfa: bool,
    pub expires_at: i64,
    /// The client address that made the request (bounds pending requests per address).
    #[serde(default)]
    pub source: String,
    /// Counted among the waiting sign-ins (given back when it ends).
    #[serde(default)]
    pub admitted: bool,
    /// A device's sign-in (its user code): it ends by approving the
    /// device grant, not with a code for a redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl AuthRequest {
    /// `prompt=login` or `max_age`: a home sign-in must not reuse its session.
    pub fn forces_login(&self) -> bool {
        self.prompt_login || self.max_age.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    /// msal-browser's default for the code flow.
    Fragment,
    FormPost,
}

/// What a sign-in proved; copied into codes, refresh tokens and claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    /// The session's `sid` (never its cookie).
    pub session_id: String,
    /// When the sign-in happened, in ms (revocation compares at this precision).
    #[serde(default)]
    pub auth_time_ms: i64,
    /// Where the second factor was done: `local`, or `home` (a trusted partner's MFA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_source: Option<String>,
}

/// A device authorization (RFC 8628): the device polls with its
/// `device_code` (`{user_code}.{secret}`, so it names its record), the
/// person approves it in a browser with the `user_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceGrant {
    /// Normalised: upper case, no separator.
    pub user_code: String,
    /// SHA-256 of the device code's secret part.
    pub secret_hash: String,
    pub tenant_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Seconds the device must wait between polls; grows with each `slow_down`.
    pub interval: i64,
    pub last_poll_ms: i64,
    pub expires_at: i64,
    pub state: DeviceState,
}

impl DeviceGrant {
    /// Still waiting for its person, in `tenant_id`, at `now`.
    pub fn waits(&self, tenant_id: &str, now: i64) -> bool {
        self.tenant_id == tenant_id && self.state == DeviceState::Pending && self.expires_at >= now
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeviceState {
    Pending,
    /// The person signed in and approved; the next poll gets the tokens.
    Approved {
        auth: Authentication,
    },
    Denied,
    /// The tokens went out: the device code is spent.
    Redeemed,
}

/// A pushed authorization request (RFC 9126), stored under the SHA-256 of
/// its `request_uri`'s secret until the browser brings it, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedRequest {
    pub hash: String,
    pub tenant_id: String,
    pub client_id: String,
    /// The request's parameters, as the client pushed them (JSON).
    pub params: serde_json::Value,
    pub expires_at: i64,
}

/// An authorization code, stored under the SHA-256 of its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthCode {
    pub tenant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth: Authentication,
    /// The refresh-token family this code starts; revoked if the code is replayed.
    pub family_id: String,
    pub expires_at: i64,
    pub used: bool,
}

/// A grant with refresh tokens: what it grants and the one refresh token
/// that may be used next. Rotation swaps that token in place (one record per
/// grant, however often it is refreshed); presenting an older token of the
/// family is reuse, and revokes the family (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub auth: Authentication,
    /// SHA-256 of the live refresh token; none until the code is redeemed.
    pub current: Option<String>,
    /// When the live token was issued.
    pub issued_at: i64,
    /// When the live token (or the unredeemed code) idles out; the record
    /// is purged after it.
    pub expires_at: i64,
    /// Absolute end of the grant, however often it is refreshed.
    pub ends_at: i64,
    pub revoked: bool,
    /// An on-behalf-of grant's downstream API (its client id, or the admin
    /// API's identifier), whose conditional access applies at each refresh
    /// besides the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

impl RefreshFamily {
    /// A refresh token's value is `{family id}.{secret}`, so a used token
    /// still leads to its family without a record per token.
    pub fn id_of(token: &str) -> Option<&str> {
        token.split_once('.').filter(|(id, secret)| !id.is_empty() && !secret.is_empty()).map(|(id, _)| id)
    }

    /// Whether `token_hash` is the live token (constant time).
    pub fn is_current(&self, token_hash: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.current.as_deref().is_some_and(|current| current.as_bytes().ct_eq(token_hash.as_bytes()).into())
    }

    /// Usable now: not revoked, neither idled out nor past its end.
    pub fn is_live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at >= now && self.ends_at >= now
    }
}

/// A browser's single sign-on session at one tenant. The cookie's value is
/// a secret the store never sees: the record is kept under its SHA-256, and
/// tokens name the session by `sid`, a separate random id, so nothing a
/// token carries can be replayed as the cookie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the cookie's value: the store key.
    pub id: String,
    /// The `sid` claim: public, and useless as a credential.
    #[serde(default)]
    pub sid: String,
    pub tenant_id: String,
    pub user_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    pub expires_at: i64,
    #[serde(default)]
    pub mfa_source: Option<String>,
    /// When the sign-in happened, in ms.
    #[serde(default)]
    pub started_ms: i64,
    /// How the sign-in was done, step by step (the sign-in log shows them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<AuthStep>,
    /// The apps this session signed in to (each got a code or a device
    /// approval through it): whom its end is told (back- and front-channel logout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// A guest's session at home that this one came from, so home's
    /// back-channel logout can end it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<HomeSession>,
    /// The cookie's value, known only where the session was just minted
    /// (a sign-in, or a rotation when its level rose); never stored.
    #[serde(skip)]
    pub cookie: Option<String>,
}

/// Which session at a guest's home a session here came from: home's
/// `iss`, and the `sub` and `sid` of its ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeSession {
    pub issuer: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Session {
    /// The keys under which the store finds this session besides its id:
    /// its user's, and for a guest its home session's and home account's
    /// (what a logout must reach). They never change while it lives.
    pub fn lookup_keys(&self) -> Vec<String> {
        let mut keys = vec![Session::user_key(&self.tenant_id, &self.user_id)];
        if let Some(home) = &self.home {
            keys.push(Session::home_subject_key(&self.tenant_id, &home.issuer, &home.subject));
            keys.extend(home.sid.as_ref().map(|sid| Session::home_sid_key(&self.tenant_id, &home.issuer, sid)));
        }
        keys
    }

    pub fn user_key(tenant_id: &str, user_id: &str) -> String {
        format!("user\u{1f}{tenant_id}\u{1f}{user_id}")
    }

    pub fn home_subject_key(tenant_id: &str, issuer: &str, subject: &str) -> String {
        format!("home-sub\u{1f}{tenant_id}\u{1f}{issuer}\u{1f}{subject}")
    }

    pub fn home_sid_key(tenant_id: &str, issuer: &str, sid: &str) -> String {
        format!("home-sid\u{1f}{tenant_id}\u{1f}{issuer}\u{1f}{sid}")
    }
}

/// One step of a sign-in, in the words of Graph's `authenticationDetail`.
/// Mostly fixed wording: borrowed, so a step costs no allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthStep {
    /// `Password`, `Federated`, `Email one-time passcode`, `Software OATH token`, `Satisfied by token`…
    pub method: Cow<'static, str>,
    /// Where or how (e.g. the home tenant's id).
    #[serde(default)]
    pub detail: Cow<'static, str>,
    /// A second factor (`Multifactor authentication`), else the primary one.
    pub mfa: bool,
    pub succeeded: bool,
    /// Entra's wording of the result, e.g. "MFA requirement satisfied by claim in the token".
    pub result: Cow<'static, str>,
    pub at_ms: i64,
}

/// Scopes a user has agreed to share with an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}
