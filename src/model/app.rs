//! Applications (OAuth clients) as the store keeps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Alg;

/// The admin API as an OAuth resource: the `aud` of the tokens it takes.
pub const ADMIN_RESOURCE: &str = "api://b2b-idp-admin";

/// Grant types an app may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// Entra's on-behalf-of: RFC 7523's `jwt-bearer` grant with
    /// `requested_token_use=on_behalf_of`. Not listed per app: every
    /// confidential client has it, as in Entra (`App::allows`).
    OnBehalfOf,
    /// RFC 8628's device authorization grant.
    DeviceCode,
}

impl GrantType {
    /// The `grant_type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::OnBehalfOf => JWT_BEARER,
            GrantType::DeviceCode => DEVICE_CODE,
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            JWT_BEARER => Some(GrantType::OnBehalfOf),
            DEVICE_CODE => Some(GrantType::DeviceCode),
            _ => None,
        }
    }
}

/// RFC 7523's grant type, which Entra's on-behalf-of uses.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8628's grant type.
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What kind of client an app is, named after Graph's platforms: a `Web`
/// app is confidential (it authenticates with a secret), `Spa` and
/// `PublicClient` apps are public (PKCE instead). One kind per app: its
/// redirect URIs are all of that platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Web,
    Spa,
    PublicClient,
}

impl Platform {
    /// The Graph property the platform's redirect URIs are under.
    pub fn graph_name(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Spa => "spa",
            Platform::PublicClient => "publicClient",
        }
    }
}

/// A client secret added through the admin API (Graph's
/// `passwordCredential`): stored as its hash, shown once, valid until
/// `end_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The first three characters, so an admin can tell secrets apart.
    pub hint: String,
    pub secret_hash: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A public key the app signs client assertions with (`private_key_jwt`;
/// Graph's `keyCredential`): from an X.509 certificate, as MSAL's
/// certificate credential uses, or a bare JWK. Kept as a JWK with the
/// certificate's thumbprints, so a token request parses no certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The public key: RSA of 2048 bits or more, or EC P-256.
    pub jwk: jsonwebtoken::jwk::Jwk,
    /// Base64 (standard) DER of the certificate, when it came from one.
    pub certificate: Option<String>,
    /// The certificate's SHA-1 and SHA-256, base64url without padding:
    /// what an assertion's `x5t` and `x5t#S256` headers name.
    pub x5t: Option<String>,
    pub x5t_s256: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A role an app defines as an API (Graph's `appRole`): what other apps
/// (client credentials) may be granted on it, by `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRole {
    pub id: String,
    pub value: String,
    pub display_name: String,
    pub description: String,
    /// `Application` and/or `User`.
    pub allowed_member_types: Vec<String>,
    pub is_enabled: bool,
}

/// How a presented client secret compares with an app's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    Valid,
    /// It was one of the app's secrets, but that one has expired.
    Expired,
    Wrong,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub tenant_id: String,
    pub client_id: String,
    pub display_name: String,
    /// Hex SHA-256 of the secret config or the command line registered
    /// (it does not expire). Client secrets are high-entropy, so a fast
    /// hash compared in constant time is the right tool (argon2 is for
    /// human passwords).
    pub secret_hash: Option<String>,
    /// Secrets added through the admin API (`addPassword`).
    #[serde(default)]
    pub passwords: Vec<PasswordCredential>,
    /// `None` in records written before 0.7.2, where a client without a
    /// secret was public: `platform()` reads those.
    #[serde(default)]
    pub platform: Option<Platform>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Overrides the tenant's signing algorithm for this app's tokens.
    pub signing_alg: Option<Alg>,
    /// Resource URI (`api://…`) under which tokens for this app are requested.
    pub identifier_uri: Option<String>,
    /// App roles granted to this client, by resource (client credentials).
    pub api_permissions: BTreeMap<String, Vec<String>>,
    /// Delegated permissions an admin granted this client, by resource: what
    /// it may ask for on behalf of a user.
    #[serde(default)]
    pub delegated_permissions: BTreeMap<String, Vec<String>>,
    pub require_consent: bool,
    /// The roles this app defines as an API. When it defines any, the
    /// application permissions granted on it must be among them.
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// Where My Apps launches the app (Graph's `web.homePageUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_page_url: Option<String>,
    /// Keys for `private_key_jwt` client authentication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_credentials: Vec<KeyCredential>,
    /// Each client assertion's `jti` works once (FAPI-minded clients);
    /// otherwise an assertion is reusable while valid, as MSAL caches one
    /// for about ten minutes and Entra accepts that.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_use_client_assertions: bool,
    /// Its authorization requests must come pushed (RFC 9126, PAR).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Where a logout token is posted when a session that signed in to the
    /// app ends (OIDC Back-Channel Logout 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Loaded in an iframe of the signed-out page (OIDC Front-Channel
    /// Logout 1.0; Graph's `web.logoutUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
}

impl App {
    /// The algorithm the app's tokens are signed with.
    pub fn token_alg(&self, tenant: &super::Tenant) -> Alg {
        self.signing_alg.unwrap_or(tenant.signing_alg)
    }

    /// Where My Apps launches the app: its home page, else the origin of
    /// its first web redirect URI; none for an app without either.
    pub fn home_page(&self) -> Option<String> {
        if let Some(url) = &self.home_page_url {
            return Some(url.clone());
        }
        let first = url::Url::parse(self.redirect_uris.first()?).ok()?;
        crate::util::address::is_web_url(&first).then(|| format!("{}/", first.origin().ascii_serialization()))
    }

    pub fn platform(&self) -> Platform {
        match self.platform {
            Some(platform) => platform,
            None if self.secret_hash.is_none() => Platform::Spa,
            None => Platform::Web,
        }
    }

    pub fn is_public(&self) -> bool {
        self.platform() != Platform::Web
    }

    /// Compares `given` with every secret of the app, each in constant
    /// time, so the answer's timing tells nothing about which came close.
    pub fn check_secret(&self, given: &str, now_ms: i64) -> SecretCheck {
        use subtle::ConstantTimeEq;
        let given = crate::util::sha256_hex(given);
        let matches = |hash: &str| -> bool { given.as_bytes().ct_eq(hash.as_bytes()).into() };
        let registered = self.secret_hash.as_deref().is_some_and(matches);
        let mut check = if registered { SecretCheck::Valid } else { SecretCheck::Wrong };
        for password in &self.passwords {
            if matches(&password.secret_hash) && check != SecretCheck::Valid {
                check = if password.end_ms > now_ms { SecretCheck::Valid } else { SecretCheck::Expired };
            }
        }
        check
    }

    /// Whether the app holds any permission on the admin API
    /// (`api://b2b-idp-admin`): such an app is as powerful as an
    /// administrator.
    pub fn holds_admin_permissions(&self) -> bool {
        [&self.api_permissions, &self.delegated_permissions].iter().any(|grants| grants.get(ADMIN_RESOURCE).is_some_and(|p| !p.is_empty()))
    }

    /// Whether the app has a secret it can authenticate with.
    pub fn has_secret(&self) -> bool {
        self.secret_hash.is_some() || !self.passwords.is_empty()
    }

    /// Whether the app has a secret or a key to authenticate with.
    pub fn has_credential(&self) -> bool {
        self.has_secret() || !self.key_credentials.is_empty()
    }

    /// Whether `uri` is one of the registered redirect URIs: an exact string
    /// match (RFC 9700 §4.1.3), no normalisation, prefix or wildcard.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| registered == uri)
    }

    /// The app's canonical resource URI (a token's `aud`): its identifier
    /// URI, else its client id.
    pub fn audience(&self) -> String {
        self.identifier_uri.clone().unwrap_or_else(|| self.client_id.clone())
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        match grant {
            // What it yields is bounded by the app's delegated grants.
            GrantType::OnBehalfOf => !self.is_public(),
            _ => self.grant_types.contains(&grant),
        }
    }
}

#[cfg(test)]
impl App {
    /// A confidential authorization-code client with nothing registered or
    /// granted, for unit tests to fill in.
    pub(crate) fn example(client_id: &str) -> App {
        App {
            tenant_id: "t".into(),
            client_id: client_id.into(),
            display_name: client_id.into(),
            secret_hash: Some("hash".into()),
            passwords: vec![],
            platform: Some(Platform::Web),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            signing_alg: None,
            identifier_uri: None,
            api_permissions: BTreeMap::new(),
            delegated_permissions: BTreeMap::new(),
            require_consent: false,
            app_roles: vec![],
            home_page_url: None,
            key_credentials: vec![],
            single_use_client_assertions: false,
            require_pushed_authorization_requests: false,
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
        }
    }
}
