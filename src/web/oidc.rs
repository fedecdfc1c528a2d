//! Machine endpoints: discovery, JWKS, token, introspection, revocation,
//! userinfo and health. Parse, call `protocol`, serialize.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
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

/// Prometheus text format (`server.metrics`); 404 when turned off.
pub async fn metrics(idp: web::Data<Idp>) -> HttpResponse {
    match idp.config.server.metrics.then(crate::telemetry::render).flatten() {
        Some(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        None => {
            HttpResponse::NotFound().json(json!({"error": "not_found", "error_description": "metrics are turned off (server.metrics)"}))
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

/// The `Authorization` header's value, if it is text.
fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    response
}

pub async fn token(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenParams>) -> ApiResult {
    let mut params = form.into_inner();
    let assertion = params.take_assertion();
    let app = calling_client(&idp, &tenant, &req, params.client_id.take(), params.client_secret.take(), assertion).await?;
    let response = token::grant(&idp, &tenant, &app, params).await?;
    Ok(no_store(HttpResponse::Ok().json(response)))
}

/// A pushed authorization request: the authorization request's parameters
/// and the client's authentication.
#[derive(Deserialize)]
pub struct ParForm {
    #[serde(flatten)]
    params: crate::protocol::authorize::AuthorizeParams,
    client_secret: Option<String>,
    #[serde(flatten)]
    assertion: client_auth::AssertionFields,
}

pub async fn par(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<ParForm>) -> ApiResult {
    let ParForm { params, client_secret, assertion } = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, params.client_id.clone(), client_secret, assertion).await?;
    let pushed = crate::protocol::par::push(&idp, &tenant, &app, params, &crate::web::client_address(&idp, &req)).await?;
    Ok(no_store(HttpResponse::Created().json(pushed)))
}

/// A device authorization request (RFC 8628 §3.1).
#[derive(Deserialize)]
pub struct DeviceCodeForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    #[serde(flatten)]
    assertion: client_auth::AssertionFields,
}

pub async fn devicecode(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<DeviceCodeForm>) -> ApiResult {
    let DeviceCodeForm { client_id, client_secret, scope, assertion } = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, client_id, client_secret, assertion).await?;
    let started = crate::protocol::device::start(&idp, &tenant, &app, scope.as_deref(), &crate::web::client_address(&idp, &req)).await?;
    Ok(no_store(HttpResponse::Ok().json(started)))
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: Option<String>,
    #[allow(dead_code)] // accepted and ignored: every token type is looked up anyway
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(flatten)]
    assertion: client_auth::AssertionFields,
}

/// The client a request authenticates as: the Basic header or the form's
/// fields (a secret, an assertion, or a public client's id alone).
async fn calling_client(
    idp: &Idp,
    tenant: &crate::model::Tenant,
    req: &HttpRequest,
    client_id: Option<String>,
    client_secret: Option<String>,
    assertion: client_auth::AssertionFields,
) -> Result<crate::model::App, OAuthFailure> {
    let basic = client_auth::basic_credentials(authorization(req))?;
    let creds = ClientCredentials::from_request(basic, client_id, client_secret, assertion)?;
    let app = client_auth::authenticate(idp, tenant, &creds).await?;
    crate::web::log_client(&app.client_id);
    Ok(app)
}

pub async fn introspect(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenForm>) -> ApiResult {
    let TokenForm { token, client_id, client_secret, assertion, .. } = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, client_id, client_secret, assertion).await?;
    if app.is_public() {
        return Err(Error::OAuth(OAuthError::invalid_client("introspection requires a confidential client")).into());
    }
    let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    Ok(no_store(HttpResponse::Ok().json(introspect::introspect(&idp, &tenant, &token).await?)))
}

pub async fn revoke(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest, form: web::Form<TokenForm>) -> ApiResult {
    let TokenForm { token, client_id, client_secret, assertion, .. } = form.into_inner();
    let app = calling_client(&idp, &tenant, &req, client_id, client_secret, assertion).await?;
    let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    introspect::revoke(&idp, &tenant, &app, &token).await?;
    Ok(no_store(HttpResponse::Ok().finish()))
}

pub async fn userinfo(idp: web::Data<Idp>, tenant: PathTenant<OAuth>, req: HttpRequest) -> ApiResult {
    let bearer =
        crate::web::bearer_token(&req).ok_or_else(|| Error::OAuth(OAuthError::invalid_token("a Bearer access token is required")))?;
    Ok(no_store(HttpResponse::Ok().json(introspect::userinfo(&idp, &tenant, bearer).await?)))
}
