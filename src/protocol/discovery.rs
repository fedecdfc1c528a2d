//! OpenID Provider metadata (OIDC Discovery 1.0 §3), with Entra's
//! `tenant_region_scope` and `cloud_instance_name`.

use serde_json::{json, Value};

use crate::idp::Idp;
use crate::model::{Cloud, Tenant};
use crate::protocol::client_assertion;
use crate::protocol::scopes::OPENID_SCOPES;

pub fn metadata(idp: &Idp, tenant: &Tenant) -> Value {
    let url = |path: &str| idp.tenant_url(tenant, path);
    let assertion_algs: Vec<String> = client_assertion::ALGORITHMS.iter().map(|alg| format!("{alg:?}")).collect();
    json!({
        "issuer": idp.issuer(tenant),
        "authorization_endpoint": url("oauth2/v2.0/authorize"),
        "token_endpoint": url("oauth2/v2.0/token"),
        "jwks_uri": url("discovery/v2.0/keys"),
        "userinfo_endpoint": url("openid/userinfo"),
        "end_session_endpoint": url("oauth2/v2.0/logout"),
        "introspection_endpoint": url("oauth2/v2.0/introspect"),
        "revocation_endpoint": url("oauth2/v2.0/revoke"),
        "pushed_authorization_request_endpoint": url("oauth2/v2.0/par"),
        "device_authorization_endpoint": url("oauth2/v2.0/devicecode"),
        "require_pushed_authorization_requests": false,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", crate::model::JWT_BEARER, crate::model::DEVICE_CODE],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": OPENID_SCOPES,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "auth_time", "at_hash", "sid",
            "name", "email", "preferred_username",
            "tid", "oid", "user_type", "acct", "home_tid", "idp", "amr", "acr", "mfa_source", "ver"
        ],
        "acr_values_supported": ["1", "2"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "tenant_region_scope": tenant.region_scope,
        "cloud_instance_name": match tenant.cloud {
            Cloud::Global => "b2b-idp.global",
            Cloud::Usgov => "b2b-idp.usgov",
            Cloud::China => "b2b-idp.china",
        },
    })
}
