//! The device login page (RFC 8628's verification URI,
//! `/{tenant}/devicelogin`): the person types the code their device shows,
//! confirms the app, and signs in as at the authorization endpoint. Parse,
//! call `protocol::device`, render.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::i18n;
use crate::idp::Idp;
use crate::model::{App, DeviceGrant, Tenant};
use crate::protocol::device;
use crate::web::error::{Page, PageFailure, PathTenant};
use crate::web::pages::{https, proceed_and_render, PageResult};
use crate::web::{client_address, cookies, templates};

/// CSRF binding of the code form (there is no sign-in request yet); the
/// confirmation's forms are bound to their code too (`confirm_csrf`).
const DEVICE_CSRF: &str = "devicelogin";

fn confirm_csrf(user_code: &str) -> String {
    format!("{DEVICE_CSRF}|{user_code}")
}

/// The page's query: a code to fill in (`verification_uri_complete`), or
/// how the sign-in it started ended.
#[derive(Deserialize)]
pub struct PageQuery {
    user_code: Option<String>,
    status: Option<String>,
    error: Option<String>,
}

pub async fn page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<PageQuery>) -> PageResult {
    let q = q.into_inner();
    // Fixed words for how it ended: nothing from the query is shown but the code.
    let ended = |title: &str, message: &str| {
        templates::tenant_page(
            &idp,
            &tenant,
            StatusCode::OK,
            "message.html",
            json!({"title": i18n::text(title, &[]), "message": i18n::text(message, &[])}),
        )
    };
    Ok(match (q.status.as_deref(), q.error.as_deref()) {
        (Some("approved"), _) => ended("device-done-title", "device-done"),
        (_, Some("access_denied")) => ended("device-cancelled-title", "device-cancelled"),
        (_, Some(_)) => ended("device-failed-title", "device-cancelled"),
        _ => {
            let typed: String = q.user_code.unwrap_or_default().chars().take(32).collect();
            code_form(&idp, &tenant, &req, StatusCode::OK, &typed, None)
        }
    })
}

fn code_form(idp: &Idp, tenant: &Tenant, req: &HttpRequest, status: StatusCode, user_code: &str, error: Option<String>) -> HttpResponse {
    let (browser, cookie) = cookies::browser_id(req, https(idp));
    let mut response = templates::tenant_page(
        idp,
        tenant,
        status,
        "devicelogin.html",
        json!({
            "action": device::verification_uri(idp, tenant),
            "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, DEVICE_CSRF),
            "user_code": user_code,
            "error": error,
        }),
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: String,
    user_code: String,
    /// On the confirmation page: `continue` or `cancel`.
    decision: Option<String>,
}

/// The code typed: the app asking, to confirm (or the form again, saying why not).
pub async fn enter(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<CodeForm>) -> PageResult {
    let (grant, app) = match waiting(&idp, &tenant, &req, &form, DEVICE_CSRF).await? {
        Ok(found) => found,
        Err(form_again) => return Ok(form_again),
    };
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    Ok(templates::tenant_page(
        &idp,
        &tenant,
        StatusCode::OK,
        "device_confirm.html",
        json!({
            "action": format!("{}/confirm", device::verification_uri(&idp, &tenant)),
            "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &confirm_csrf(&grant.user_code)),
            "user_code": grant.user_code,
            "shown_code": device::shown(&grant.user_code),
            "app_name": app.display_name,
        }),
    ))
}

/// The confirmation: the sign-in for the device's app, or no.
pub async fn confirm(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<CodeForm>) -> PageResult {
    let (grant, app) = match waiting(&idp, &tenant, &req, &form, &confirm_csrf(&form.user_code)).await? {
        Ok(found) => found,
        Err(form_again) => return Ok(form_again),
    };
    let decision = form.decision.as_deref();
    if decision != Some("continue") && decision != Some("cancel") {
        return Err(Error::Invalid(i18n::text("device-form-expired", &[])).into());
    }
    if decision == Some("cancel") {
        device::deny(&idp, &tenant, &grant.user_code).await?;
        let message = json!({"title": i18n::text("device-cancelled-title", &[]), "message": i18n::text("device-cancelled", &[])});
        return Ok(templates::tenant_page(&idp, &tenant, StatusCode::OK, "message.html", message));
    }
    let request = device::sign_in_request(&idp, &tenant, &grant, &client_address(&idp, &req));
    proceed_and_render(&idp, &tenant, &req, request, app).await
}

/// The grant the form names, after its CSRF check; otherwise the code
/// form again, saying why (a wrong code, or too many of them).
async fn waiting(
    idp: &Idp,
    tenant: &Tenant,
    req: &HttpRequest,
    form: &CodeForm,
    csrf: &str,
) -> Result<Result<(DeviceGrant, App), HttpResponse>, PageFailure> {
    if !cookies::csrf_valid(&idp.cookie_key, req, https(idp), csrf, &form.csrf_token) {
        crate::telemetry::security_event("csrf_refused", &format!("form to {} without a valid CSRF token", req.path()));
        return Err(Error::Invalid(i18n::text("device-form-expired", &[])).into());
    }
    let (status, message) = match device::waiting(idp, tenant, &form.user_code, &client_address(idp, req)).await {
        Ok(found) => return Ok(Ok(found)),
        Err(Error::Invalid(message)) => (StatusCode::BAD_REQUEST, message),
        Err(Error::TooManyAttempts(message)) => (StatusCode::TOO_MANY_REQUESTS, message),
        Err(e) => return Err(e.into()),
    };
    let typed: String = form.user_code.chars().take(32).collect();
    Ok(Err(code_form(idp, tenant, req, status, &typed, Some(message))))
}
