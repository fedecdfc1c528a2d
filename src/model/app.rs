//! Applications (OAuth clients) as the store keeps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Alg;

/// Grant types an app may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub tenant_id: String,
    pub client_id: String,
    pub display_name: String,
    /// Hex SHA-256 of the client secret; `None` marks a public client.
    /// Client secrets are high-entropy, so a fast hash compared in constant
    /// time is the right tool (argon2 is for human passwords).
    pub secret_hash: Option<String>,
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
}

impl App {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether `uri` is one of the registered redirect URIs: an exact string
    /// match (RFC 9700 §4.1.3), no normalisation, prefix or wildcard.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| registered == uri)
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
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
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            signing_alg: None,
            identifier_uri: None,
            api_permissions: BTreeMap::new(),
            delegated_permissions: BTreeMap::new(),
            require_consent: false,
        }
    }
}
