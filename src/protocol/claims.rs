//! The JWTs this server issues: ID tokens and RFC 9068 access tokens, with
//! the Entra claims docs/contract.md lists (`tid oid user_type acct home_tid idp amr acr`).

use serde::{Deserialize, Serialize};

use crate::model::Authentication;
use crate::model::User;

/// Who the token is about, as every user token states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserClaims {
    pub oid: String,
    pub user_type: String,
    pub acct: u8,
    pub home_tid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    /// `local` or `home` when `acr` is 2: distinguishes a trusted partner's
    /// MFA from MFA done here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl UserClaims {
    /// `profile` and `email` gate the personal claims, as in Entra v2.
    pub fn new(user: &User, auth: &Authentication, profile: bool, email: bool) -> UserClaims {
        UserClaims {
            oid: user.id.clone(),
            user_type: user.user_type.as_str().to_string(),
            acct: user.user_type.acct(),
            home_tid: user.home_tenant_id().to_string(),
            idp: user.external.as_ref().and_then(|e| e.home.as_ref()).map(|h| h.issuer.clone()),
            auth_time: auth.auth_time,
            amr: auth.amr.clone(),
            acr: auth.acr.clone(),
            mfa_source: auth.mfa_source.clone(),
            sid: Some(auth.session_id.clone()),
            name: profile.then(|| user.display_name.clone()),
            preferred_username: profile.then(|| user.email.clone()),
            email: email.then(|| user.email.clone()),
        }
    }
}

/// OpenID Connect Core §2 ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    pub tid: String,
    pub ver: String,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// RFC 9068 access token, plus Entra's `scp`/`roles`/`azp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub client_id: String,
    pub azp: String,
    pub tid: String,
    pub ver: String,
    /// `user` or `app` (client credentials).
    pub idtyp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub user: Option<UserClaims>,
}

impl AccessClaims {
    pub fn scopes(&self) -> Vec<&str> {
        self.scope.as_deref().unwrap_or("").split_whitespace().collect()
    }
}

/// `at_hash`: left half of SHA-256 of the access token, base64url (both ES256 and RS256 use SHA-256).
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}
