//! Machine endpoints: discovery, JWKS, token, introspection, revocation,
//! userinfo and health. Parse, call `protocol`, serialize.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::error::OAuthError;
use crate::idp::Idp;
use crate::protocol::client_auth::{self, ClientCredentials};
use crate::protocol::token::{self, TokenParams};
use crate::protocol::{discovery, introspect};
use crate::web::error::{OAuth, OAuthFailure, PathTenant};

type ApiResult = Result<HttpResponse, OAuthFailure>;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(idp: web::Data<Idp>) -> HttpResponse {
    match idp.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "store": idp.store.backend_name()})),
        Err(e) => {
            tracing::warn!(error = %crate::util::error_chain(&e), "store not reachable");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "store": idp.store.backend_name()}))
        }
    }
}

pub async fn discovery(idp: web::Data<Idp>, tenant: PathTenant<OAuth>) -> ApiResult {
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=3600")).json(discovery::metadata(&idp, &tenant)))
}

pub async fn jwks(idp: web::Data<Idp>, tenant: PathTenant<OAuth>) -> ApiResult {
    let set = idp.keys.jwks(&tenant.id).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, format!("public, max-age={}", idp.config.keys.refresh_secs))).json(set))
}

/// `Authorization: Basic` credentials, each part form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let Some(value) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || OAuthError::invalid_request("malformed Basic authorization header");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let part = |s: &str| -> Result<String, OAuthError> {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced).decode_utf8().map(|c| c.into_owned()).map_err(|_| malformed())
    };
    Ok(Some((part(id)?, part(secret)?)))
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    response
}

pub async fn token(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenParams>) -> ApiResult {
    let mut params = form.into_inner();
    let creds = ClientCredentials::from_request(basic_credentials(&req)?, params.client_id.take(), params.client_secret.take())?;
    let app = client_auth::authenticate(&idp, &tenant, &creds).await?;
    let response = token::grant(&idp, &tenant, &app, params).await?;
    Ok(no_store(HttpResponse::Ok().json(response)))
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: Option<String>,
    #[allow(dead_code)] // accepted and ignored: every token type is looked up anyway
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn calling_client(
    idp: &Idp,
    tenant: &crate::model::Tenant,
    req: &HttpRequest,
    form: &mut TokenForm,
) -> Result<crate::model::App, OAuthFailure> {
    let creds = ClientCredentials::from_request(basic_credentials(req)?, form.client_id.take(), form.client_secret.take())?;
    Ok(client_auth::authenticate(idp, tenant, &creds).await?)
}

pub async fn introspect(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenForm>) -> ApiResult {
    let mut form = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, &mut form).await?;
    if app.is_public() {
        return Err(Error::OAuth(OAuthError::invalid_client("introspection requires a confidential client")).into());
    }
    let token = form.token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    Ok(no_store(HttpResponse::Ok().json(introspect::introspect(&idp, &tenant, &token).await?)))
}

pub async fn revoke(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenForm>) -> ApiResult {
    let mut form = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, &mut form).await?;
    let token = form.token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    introspect::revoke(&idp, &tenant, &app, &token).await?;
    Ok(no_store(HttpResponse::Ok().finish()))
}

pub async fn userinfo(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest) -> ApiResult {
    let bearer =
        crate::web::bearer_token(&req).ok_or_else(|| Error::OAuth(OAuthError::invalid_token("a Bearer access token is required")))?;
    Ok(no_store(HttpResponse::Ok().json(introspect::userinfo(&idp, &tenant, bearer).await?)))
}
