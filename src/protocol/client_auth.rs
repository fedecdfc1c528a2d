//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (`client_assertion`), or `none` for public clients
//! (which then rely on PKCE).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::signin::{code, SignIn, Subject};
use crate::error::OAuthError;
use crate::error::Result;
use crate::idp::Idp;
use crate::model::{App, SecretCheck, Tenant};
use crate::protocol::client_assertion;

/// Credentials as the request presented them.
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// Came from an `Authorization: Basic` header.
    pub basic: bool,
    /// A signed client assertion (`private_key_jwt`).
    pub assertion: Option<String>,
}

/// The form fields of `private_key_jwt`, as a request sent them.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AssertionFields {
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl ClientCredentials {
    /// Merges the Basic header (already decoded) with the form fields;
    /// using two methods at once is refused (RFC 6749 §2.3).
    pub fn from_request(
        basic: Option<(String, String)>,
        form_id: Option<String>,
        form_secret: Option<String>,
        assertion: AssertionFields,
    ) -> Result<ClientCredentials> {
        if let Some(assertion) = signed_assertion(assertion)? {
            if basic.is_some() || form_secret.is_some() {
                return Err(OAuthError::invalid_request("use one client authentication method, not a client_assertion and a secret").into());
            }
            // RFC 7523 §3: client_id may be left out; the assertion's sub names the client.
            let client_id = form_id.or_else(|| client_assertion::claimed_client(&assertion));
            return Ok(ClientCredentials { client_id, secret: None, basic: false, assertion: Some(assertion) });
        }
        match basic {
            Some(_) if form_secret.is_some() => {
                Err(OAuthError::invalid_request("use one client authentication method, not both Basic and client_secret").into())
            }
            Some((id, _)) if form_id.as_ref().is_some_and(|f| *f != id) => {
                Err(OAuthError::invalid_request("client_id differs from the Basic credentials").into())
            }
            Some((id, secret)) => Ok(ClientCredentials { client_id: Some(id), secret: Some(secret), basic: true, assertion: None }),
            None => Ok(ClientCredentials { client_id: form_id, secret: form_secret, basic: false, assertion: None }),
        }
    }
}

/// The assertion of a `private_key_jwt` request, once its fields agree.
fn signed_assertion(fields: AssertionFields) -> Result<Option<String>> {
    match (fields.client_assertion_type, fields.client_assertion) {
        (None, None) => Ok(None),
        (Some(kind), Some(assertion)) if kind == client_assertion::ASSERTION_TYPE => {
            if assertion.len() > client_assertion::MAX_ASSERTION_BYTES {
                return Err(OAuthError::invalid_request(format!(
                    "client_assertion is longer than {} bytes",
                    client_assertion::MAX_ASSERTION_BYTES
                ))
                .into());
            }
            Ok(Some(assertion))
        }
        (Some(kind), Some(_)) => Err(OAuthError::invalid_request(format!(
            "client_assertion_type '{kind}' is not supported; use {}",
            client_assertion::ASSERTION_TYPE
        ))
        .into()),
        _ => Err(OAuthError::invalid_request("client_assertion and client_assertion_type must be sent together").into()),
    }
}

/// The client credentials of an `Authorization` header value, if it is
/// `Basic`: each part form-urlencoded (RFC 6749 §2.3.1). Other schemes are
/// not client authentication (None); a malformed Basic value is refused.
pub fn basic_credentials(authorization: Option<&str>) -> Result<Option<(String, String)>> {
    let Some(value) = authorization else { return Ok(None) };
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || OAuthError::invalid_request("malformed Basic authorization header");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let part = |s: &str| -> std::result::Result<String, OAuthError> {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced).decode_utf8().map(|c| c.into_owned()).map_err(|_| malformed())
    };
    Ok(Some((part(id)?, part(secret)?)))
}

/// The authenticated client, or `invalid_client`. Every failure reads the
/// same to the client; the sign-in log tells an expired secret apart.
pub async fn authenticate(idp: &Idp, tenant: &Tenant, creds: &ClientCredentials) -> Result<App> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client_id = creds.client_id.as_deref().ok_or_else(failed)?;
    let app = idp.store.app(&tenant.id, client_id).await?.ok_or_else(failed)?;
    if let Some(assertion) = &creds.assertion {
        let refused = match client_assertion::verify(idp, tenant, &app, assertion).await? {
            Ok(()) => return Ok(app),
            Err(refused) => refused,
        };
        log_failure(idp, tenant, &app, refused.code, &refused.reason).await;
        return Err(OAuthError::invalid_client(refused.reason).into());
    }
    let check = match (&creds.secret, app.is_public()) {
        (None, true) => SecretCheck::Valid,
        (Some(given), false) => app.check_secret(given, crate::util::now_ms()),
        _ => SecretCheck::Wrong,
    };
    let (error_code, reason) = match check {
        SecretCheck::Valid => return Ok(app),
        SecretCheck::Expired => (code::CLIENT_SECRET_EXPIRED, "The provided client secret keys are expired"),
        SecretCheck::Wrong => (code::INVALID_CLIENT_SECRET, "Invalid client secret provided"),
    };
    log_failure(idp, tenant, &app, error_code, reason).await;
    Err(failed().into())
}

async fn log_failure(idp: &Idp, tenant: &Tenant, app: &App, error_code: i64, reason: &str) {
    crate::telemetry::security_event("client_auth_failed", &format!("client {}: {reason}", app.client_id));
    let sign_in = SignIn::new(tenant, Subject::App, &app.client_id, &app.display_name).non_interactive();
    crate::signin::log::failure(idp, sign_in.failed(error_code, reason)).await;
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;
    use crate::error::{Error, OAuthCode};

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn invalid_request(result: Result<impl std::fmt::Debug>) {
        match result {
            Err(Error::OAuth(e)) if e.error == OAuthCode::InvalidRequest => {}
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_parts() {
        let header = basic("my%20app", "p%3Ass+word");
        assert_eq!(basic_credentials(Some(&header)).expect("decodes"), Some(("my app".into(), "p:ss word".into())));
        assert_eq!(basic_credentials(Some("bAsIc ZGVtbzpzZWNyZXQ=")).expect("any case"), Some(("demo".into(), "secret".into())));
        assert_eq!(basic_credentials(Some("Bearer abc")).expect("not Basic"), None);
        assert_eq!(basic_credentials(None).expect("absent"), None);
        invalid_request(basic_credentials(Some("Basic !!!")));
        invalid_request(basic_credentials(Some(&format!("Basic {}", STANDARD.encode("no-colon")))));
        invalid_request(basic_credentials(Some(&format!("Basic {}", STANDARD.encode([0xff, b':', b'x'])))));
    }

    #[test]
    fn one_authentication_method_at_a_time() {
        let from_basic = Some(("demo".to_string(), "s".to_string()));
        let creds = ClientCredentials::from_request(from_basic.clone(), Some("demo".into()), None, AssertionFields::default())
            .expect("same client_id is fine");
        assert_eq!((creds.client_id.as_deref(), creds.secret.as_deref(), creds.basic), (Some("demo"), Some("s"), true));
        invalid_request(ClientCredentials::from_request(from_basic.clone(), None, Some("s".into()), AssertionFields::default()));
        invalid_request(ClientCredentials::from_request(from_basic.clone(), Some("other".into()), None, AssertionFields::default()));
        let post = ClientCredentials::from_request(None, Some("demo".into()), Some("s".into()), AssertionFields::default())
            .expect("client_secret_post");
        assert!(!post.basic);
        let jwt = |kind: &str| AssertionFields { client_assertion_type: Some(kind.into()), client_assertion: Some("a.b.c".into()) };
        let signed = ClientCredentials::from_request(None, Some("demo".into()), None, jwt(client_assertion::ASSERTION_TYPE)).expect("jwt");
        assert_eq!(signed.assertion.as_deref(), Some("a.b.c"));
        invalid_request(ClientCredentials::from_request(from_basic, None, None, jwt(client_assertion::ASSERTION_TYPE)));
        invalid_request(ClientCredentials::from_request(None, None, Some("s".into()), jwt(client_assertion::ASSERTION_TYPE)));
        invalid_request(ClientCredentials::from_request(None, None, None, jwt("urn:ietf:params:oauth:client-assertion-type:saml2-bearer")));
        let half = AssertionFields { client_assertion_type: None, client_assertion: Some("a.b.c".into()) };
        invalid_request(ClientCredentials::from_request(None, None, None, half));
    }
}
