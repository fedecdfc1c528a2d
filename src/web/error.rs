//! The one place domain errors become HTTP responses: OAuth errors as
//! RFC 6749 JSON, unknown tenants as JSON 404, everything unexpected as a
//! 500 that shows only a reference id (the details go to the log).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;
use crate::error::OAuthCode;
use crate::store::StoreError;
use crate::web::templates;

/// How the client wants errors: OAuth-style JSON, Graph-style JSON (admin
/// API), or a page for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Api,
    Graph,
    Person,
}

#[derive(Debug)]
pub struct HttpError {
    pub error: Error,
    pub audience: Audience,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl From<Error> for HttpError {
    fn from(error: Error) -> HttpError {
        HttpError { error, audience: Audience::Api }
    }
}

impl From<crate::store::StoreError> for HttpError {
    fn from(e: crate::store::StoreError) -> HttpError {
        Error::from(e).into()
    }
}

/// For page handlers: `.map_err(page)?` renders errors as HTML.
pub fn page(error: impl Into<Error>) -> HttpError {
    HttpError { error: error.into(), audience: Audience::Person }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match &self.error {
            Error::TenantNotFound(_) | Error::NotFound(_) | Error::NotYetReplicated { .. } => StatusCode::NOT_FOUND,
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Store(StoreError::Conflict(_)) | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Upstream(_) => StatusCode::BAD_GATEWAY,
            Error::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::OAuth(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Error::Store(_) | Error::Key(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (code, description) = match &self.error {
            Error::OAuth(e) => (e.error.as_str().to_string(), e.error_description.clone()),
            Error::TenantNotFound(_) => ("tenant_not_found".into(), self.error.to_string()),
            Error::NotFound(_) | Error::NotYetReplicated { .. } => ("not_found".into(), self.error.to_string()),
            Error::Invalid(message) => ("invalid_request".into(), message.clone()),
            Error::Unauthenticated(message) => ("invalid_token".into(), message.clone()),
            Error::Forbidden(message) => ("forbidden".into(), message.clone()),
            Error::Store(StoreError::Conflict(what)) => ("conflict".into(), format!("{what} already exists")),
            Error::Conflict(message) => ("conflict".into(), message.clone()),
            Error::Upstream(message) => ("upstream_failed".into(), message.clone()),
            Error::TooManyAttempts(message) => ("too_many_attempts".into(), message.clone()),
            other => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, error = %other, "request failed");
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
        // Unknown tenants answer JSON everywhere (SPEC); other page errors are pages.
        if self.audience == Audience::Person && !matches!(self.error, Error::TenantNotFound(_)) {
            return templates::page_response(status, "error.html", json!({ "title": "Something went wrong", "message": description }));
        }
        if self.audience == Audience::Graph {
            return response.json(json!({ "error": { "code": graph_code(&self.error), "message": description } }));
        }
        response.json(json!({ "error": code, "error_description": description }))
    }
}

/// Microsoft Graph's error codes for the admin API.
fn graph_code(error: &Error) -> &'static str {
    match error {
        Error::TenantNotFound(_) | Error::NotFound(_) | Error::NotYetReplicated { .. } => "Request_ResourceNotFound",
        Error::Invalid(_) | Error::OAuth(_) => "Request_BadRequest",
        Error::Unauthenticated(_) => "InvalidAuthenticationToken",
        Error::Forbidden(_) => "Authorization_RequestDenied",
        Error::Store(StoreError::Conflict(_)) | Error::Conflict(_) => "Request_MultipleObjectsWithSameKeyValue",
        Error::Upstream(_) => "ServiceNotAvailable",
        Error::TooManyAttempts(_) => "TooManyRequests",
        Error::Store(_) | Error::Key(_) | Error::Internal(_) => "InternalServerError",
    }
}
