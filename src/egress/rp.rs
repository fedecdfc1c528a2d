//! The resource tenant as an OpenID Connect relying party of a guest's home
//! identity provider, through the `openidconnect` crate: discovery, code
//! flow with PKCE and nonce, and full ID token validation (signature against
//! the home JWKS, `iss`, `aud`, `exp`, `nonce`) before anything is trusted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationContextClass, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, LoginHint, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::egress::{Egress, Guarded};
use crate::error::{Error, Result};
use crate::util::{error_chain, Secret};

/// Claims beyond the standard ones that a home b2b-idp (or Entra) sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HomeClaims {
    #[serde(default)]
    pub tid: Option<String>,
    /// Home's session id (Front/Back-Channel Logout): what its logout token will name.
    #[serde(default)]
    pub sid: Option<String>,
}
impl AdditionalClaims for HomeClaims {}

type HomeTokenResponse = StandardTokenResponse<
    IdTokenFields<HomeClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    CoreTokenType,
>;

type HomeClient = Client<
    HomeClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    HomeTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A relying-party registration at one home identity provider.
#[derive(Debug, Clone)]
pub struct Registration {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: String,
    /// A tenant of this server: the one destination exempt from `Egress`.
    pub same_server: bool,
}

/// What the home identity provider proved, from its validated ID token.
#[derive(Debug, Clone)]
pub struct HomeIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub tid: Option<String>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub sid: Option<String>,
}

/// Home provider metadata (with its JWKS) is cached this long.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// The least time between fetches a logout token's unknown key may cause.
const REFETCH_PAUSE: Duration = Duration::from_secs(60);

/// The HTTP clients and the discovered home providers.
pub struct HomeProviders {
    /// To this server's own tenants (a guest whose home is here).
    http: openidconnect::reqwest::Client,
    /// To external providers: public addresses only (`egress`).
    outbound: openidconnect::reqwest::Client,
    egress: Egress,
    cache: Mutex<HashMap<String, (CoreProviderMetadata, Instant)>>,
}

/// The details go to the log only: a provider's answers are not for the browser.
fn upstream(issuer: &str, what: &str, e: impl std::fmt::Display) -> Error {
    let reference = uuid::Uuid::new_v4();
    tracing::warn!(%issuer, %reference, step = what, error = %e, "home identity provider failed");
    Error::Upstream(crate::i18n::text("fed-provider-failed", &[("issuer", issuer), ("reference", &reference.to_string())]))
}

impl HomeProviders {
    pub fn new(egress: Egress) -> Result<HomeProviders> {
        let builder = || {
            openidconnect::reqwest::ClientBuilder::new()
                // The openidconnect docs: never follow redirects (SSRF).
                .redirect(openidconnect::reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
        };
        let built = |b: openidconnect::reqwest::ClientBuilder| b.build().map_err(|e| Error::Internal(format!("HTTP client: {e}")));
        let http = built(builder())?;
        let outbound = built(builder().no_proxy().dns_resolver(egress.resolver()))?;
        Ok(HomeProviders { http, outbound, egress, cache: Mutex::new(HashMap::new()) })
    }

    /// The outbound policy (registration checks use it too).
    pub fn egress(&self) -> &Egress {
        &self.egress
    }

    /// The client for a home: unrestricted only towards this server itself.
    fn http_for(&self, same_server: bool) -> Guarded<'_> {
        match same_server {
            true => Guarded { http: &self.http, egress: None },
            false => Guarded { http: &self.outbound, egress: Some(&self.egress) },
        }
    }

    async fn metadata(&self, issuer: &str, same_server: bool, fresh: bool) -> Result<CoreProviderMetadata> {
        if !fresh {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((metadata, at)) = cache.get(issuer) {
                if at.elapsed() < METADATA_TTL {
                    return Ok(metadata.clone());
                }
            }
        }
        let url = IssuerUrl::new(issuer.to_string()).map_err(|e| upstream(issuer, "issuer URL", e))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http_for(same_server))
            .await
            .map_err(|e| upstream(issuer, "discovery", error_chain(&e)))?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(issuer.to_string(), (metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    async fn client(&self, reg: &Registration, fresh: bool) -> Result<HomeClient> {
        let metadata = self.metadata(&reg.issuer, reg.same_server, fresh).await?;
        let redirect = RedirectUrl::new(reg.redirect_uri.clone()).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(reg.client_id.clone()),
            Some(ClientSecret::new(reg.client_secret.expose().to_string())),
        )
        .set_redirect_uri(redirect))
    }

    /// Home's published keys, as `jsonwebtoken` reads them (its logout
    /// tokens). Anyone may post a logout token naming an unknown key, so
    /// `refetch` fetches again at most once a minute per issuer.
    pub async fn keys(&self, issuer: &str, same_server: bool, refetch: bool) -> Result<jsonwebtoken::jwk::JwkSet> {
        let fetched_at = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(issuer).map(|(_, at)| *at);
        let refetch = refetch && fetched_at.is_none_or(|at| at.elapsed() >= REFETCH_PAUSE);
        let metadata = self.metadata(issuer, same_server, refetch).await?;
        serde_json::to_value(metadata.jwks()).and_then(serde_json::from_value).map_err(|e| upstream(issuer, "JWKS", e))
    }

    /// The home authorization URL for `state`, and the PKCE verifier to keep.
    pub async fn authorization_url(
        &self,
        reg: &Registration,
        state: &str,
        nonce: &str,
        login_hint: Option<&str>,
        force_login: bool,
        require_mfa: bool,
    ) -> Result<(String, String)> {
        let client = self.client(reg, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (state.to_string(), nonce.to_string());
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || CsrfToken::new(state), move || Nonce::new(nonce))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint.to_string()));
        }
        if force_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        if require_mfa {
            // acr 2 = multi-factor, as this server (and Entra's v2 `acrs`) reads it.
            request = request.add_auth_context_value(AuthenticationContextClass::new("2".into()));
        }
        let (url, _, _) = request.url();
        Ok((url.to_string(), verifier.secret().clone()))
    }

    /// Redeems the home code and validates the ID token. A token signed by a
    /// key we have not seen yet triggers one fresh discovery (home key rotation).
    pub async fn redeem_code(&self, reg: &Registration, code: &str, verifier: &str, nonce: &str) -> Result<HomeIdentity> {
        let client = self.client(reg, false).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| upstream(&reg.issuer, "token endpoint", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http_for(reg.same_server))
            .await
            .map_err(|e| upstream(&reg.issuer, "code redemption", error_chain(&e)))?;
        let id_token = tokens.id_token().ok_or_else(|| upstream(&reg.issuer, "token response", "no ID token"))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(_) => {
                let fresh = self.client(reg, true).await?;
                let verified =
                    id_token.claims(&fresh.id_token_verifier(), &nonce).map_err(|e| upstream(&reg.issuer, "ID token validation", e))?;
                verified.clone()
            }
        };
        Ok(HomeIdentity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().and_then(|e| crate::util::address::email(e).ok()),
            email_verified: claims.email_verified(),
            tid: claims.additional_claims().tid.clone(),
            sid: claims.additional_claims().sid.clone(),
            amr: claims.auth_method_refs().map(|m| m.iter().map(|v| v.to_string()).collect()).unwrap_or_default(),
            acr: claims.auth_context_ref().map(|a| a.to_string()),
        })
    }
}
