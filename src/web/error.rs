//! The one place domain errors become HTTP responses: one response type per
//! surface (OAuth endpoints, admin API, pages: a page in the person's
//! language), everything unexpected as a 500 that shows only a reference id
//! (the details, with their sources, go to the log). A path nothing serves
//! answers a browser with a page and anything else with JSON. Also the extractors that
//! resolve the tenant of a route, so handlers need not.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;
use crate::error::{OAuthCode, OAuthError};
use crate::i18n;
use crate::idp::Idp;
use crate::model::Tenant;
use crate::store::StoreError;
use crate::util::error_chain;
use crate::web::templates;

/// The three shapes an error answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// RFC 6749 JSON (`error`, `error_description`): the OAuth/OIDC endpoints.
    Api,
    /// Graph's `{"error": {code, message}}`: the admin API.
    Graph,
    /// A page for a person.
    Person,
}

/// Marks which shape a handler answers errors in; its return type picks it.
pub trait Surface {
    const AUDIENCE: Audience;
}

/// OAuth/OIDC endpoints: RFC 6749 JSON.
#[derive(Debug)]
pub enum OAuth {}
/// The admin API: Graph's error shape.
#[derive(Debug)]
pub enum Graph {}
/// Pages: an error page.
#[derive(Debug)]
pub enum Page {}

impl Surface for OAuth {
    const AUDIENCE: Audience = Audience::Api;
}
impl Surface for Graph {
    const AUDIENCE: Audience = Audience::Graph;
}
impl Surface for Page {
    const AUDIENCE: Audience = Audience::Person;
}

/// A domain error on its way out, in the shape of surface `S`. Every domain
/// error converts into it, so a handler's bare `?` answers in the handler's
/// own shape and never in another's.
#[derive(Debug)]
pub struct Failure<S> {
    pub error: Error,
    /// A page's caller that did not ask for HTML (a script probing an
    /// unknown tenant): it gets the JSON error instead of a page.
    json_caller: bool,
    surface: PhantomData<S>,
}

/// What the OAuth/OIDC endpoints answer on failure.
pub type OAuthFailure = Failure<OAuth>;
/// What the admin API answers on failure.
pub type GraphFailure = Failure<Graph>;
/// What pages answer on failure.
pub type PageFailure = Failure<Page>;

impl<S> std::fmt::Display for Failure<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl<S, E: Into<Error>> From<E> for Failure<S> {
    fn from(error: E) -> Failure<S> {
        Failure { error: error.into(), json_caller: false, surface: PhantomData }
    }
}

impl<S: Surface + std::fmt::Debug> ResponseError for Failure<S> {
    fn status_code(&self) -> StatusCode {
        match &self.error {
            Error::TenantNotFound(_) | Error::NotFound(_) | Error::NotYetReplicated { .. } => StatusCode::NOT_FOUND,
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Store(StoreError::Conflict(_)) | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Error::Upstream(_) => StatusCode::BAD_GATEWAY,
            Error::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::OAuth(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Error::Store(_) | Error::Key(_) | Error::Vault(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let audience = S::AUDIENCE;
        let (code, description) = match &self.error {
            Error::OAuth(e) => (e.error.as_str().to_string(), e.error_description.clone()),
            Error::TenantNotFound(_) => ("tenant_not_found".into(), self.error.to_string()),
            Error::NotFound(_) | Error::NotYetReplicated { .. } => ("not_found".into(), self.error.to_string()),
            Error::Invalid(message) => ("invalid_request".into(), message.clone()),
            Error::Unauthenticated(message) => ("invalid_token".into(), message.clone()),
            Error::Forbidden(message) => ("forbidden".into(), message.clone()),
            Error::Store(StoreError::Conflict(what)) => ("conflict".into(), format!("{what} already exists")),
            Error::Conflict(message) => ("conflict".into(), message.clone()),
            Error::PreconditionFailed(message) => ("precondition_failed".into(), message.clone()),
            Error::Upstream(message) => ("upstream_failed".into(), message.clone()),
            Error::TooManyAttempts(message) => ("too_many_attempts".into(), message.clone()),
            other => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %error_chain(other), "request failed");
                ("server_error".into(), format!("An internal error occurred. Reference: {reference}"))
            }
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Error::NotYetReplicated { retry_after_secs, .. } = &self.error {
            // Retryable: the object exists, this replica has not seen it yet.
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let Error::Unauthenticated(_) = &self.error {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
        }
        if let Error::OAuth(e) = &self.error {
            // Every 401 names a scheme (RFC 9110 §15.5.2; RFC 6749 §5.2; RFC 6750 §3).
            let challenge = match e.error {
                OAuthCode::InvalidClient => Some(r#"Basic realm="b2b-idp""#.to_string()),
                OAuthCode::InvalidToken | OAuthCode::InsufficientScope => {
                    Some(format!(r#"Bearer error="{}", error_description="{}""#, e.error.as_str(), e.error_description.replace('"', "'")))
                }
                _ => None,
            };
            if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        if audience == Audience::Person && !self.json_caller {
            return match &self.error {
                // Not the name from the URL: the page would say what a link's author wrote.
                Error::TenantNotFound(_) => {
                    error_page(status, &i18n::text("unknown-tenant-title", &[]), &i18n::text("unknown-tenant", &[]))
                }
                _ if status.is_server_error() && code == "server_error" => {
                    error_page(status, &i18n::text("error-title", &[]), &i18n::text("internal-error", &[]))
                }
                _ => error_page(status, &i18n::text("error-title", &[]), &description),
            };
        }
        if audience == Audience::Graph {
            return response.json(json!({ "error": { "code": graph_code(&self.error), "message": description } }));
        }
        let mut body = json!({ "error": code, "error_description": description });
        if let Error::OAuth(OAuthError { claims: Some(claims), .. }) = &self.error {
            body["claims"] = json!(claims);
        }
        response.json(body)
    }
}

/// An error page (`error.html`) with the request id people can quote.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let request_id = crate::audit::context::current().request_id.clone();
    templates::page_response(status, "error.html", json!({"title": title, "message": message, "request_id": request_id}))
}

/// A path no route serves: a page for a browser (it asked for HTML), JSON
/// for everything else, as an OAuth endpoint would answer.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if wants_html(&req) {
        return error_page(StatusCode::NOT_FOUND, &i18n::text("not-found-title", &[]), &i18n::text("not-found", &[]));
    }
    HttpResponse::NotFound().json(json!({"error": "not_found", "error_description": format!("nothing is served at {}", req.path())}))
}

/// A browser: its `Accept` names HTML.
fn wants_html(req: &HttpRequest) -> bool {
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// Microsoft Graph's error codes for the admin API.
fn graph_code(error: &Error) -> &'static str {
    match error {
        Error::TenantNotFound(_) | Error::NotFound(_) | Error::NotYetReplicated { .. } => "Request_ResourceNotFound",
        Error::Invalid(_) | Error::OAuth(_) => "Request_BadRequest",
        Error::Unauthenticated(_) => "InvalidAuthenticationToken",
        Error::Forbidden(_) => "Authorization_RequestDenied",
        Error::Store(StoreError::Conflict(_)) | Error::Conflict(_) => "Request_MultipleObjectsWithSameKeyValue",
        Error::PreconditionFailed(_) => "preconditionFailed",
        Error::Upstream(_) => "ServiceNotAvailable",
        Error::TooManyAttempts(_) => "TooManyRequests",
        Error::Store(_) | Error::Key(_) | Error::Vault(_) | Error::Internal(_) => "InternalServerError",
    }
}

/// The `{tenant}` of the route (an id or a name), resolved. Failing, it
/// answers in the shape of surface `S`, like the handler that asked.
pub struct PathTenant<S>(pub Tenant, PhantomData<S>);

impl<S> std::ops::Deref for PathTenant<S> {
    type Target = Tenant;
    fn deref(&self) -> &Tenant {
        &self.0
    }
}

/// The `Idp` and the `{tenant}` segment of a request, for extractors.
fn idp_and_segment(req: &HttpRequest) -> Result<(web::Data<Idp>, String), Error> {
    let idp = req.app_data::<web::Data<Idp>>().cloned().ok_or_else(|| Error::Internal("no Idp in app data".into()))?;
    let segment = req.match_info().get("tenant").ok_or_else(|| Error::Internal("route without a {tenant} segment".into()))?;
    Ok((idp, segment.to_string()))
}

impl<S: Surface + std::fmt::Debug + 'static> FromRequest for PathTenant<S> {
    type Error = Failure<S>;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let found = idp_and_segment(req);
        let json_caller = !wants_html(req);
        Box::pin(async move {
            let (idp, segment) = found?;
            match idp.tenant(&segment).await {
                Ok(tenant) => Ok(PathTenant(tenant, PhantomData)),
                Err(error @ Error::TenantNotFound(_)) => Err(Failure { error, json_caller, surface: PhantomData }),
                Err(error) => Err(error.into()),
            }
        })
    }
}
