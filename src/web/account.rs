//! Self-service pages of an account: password reset by emailed link.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::directory::reset;
use crate::error::Error;
use crate::i18n;
use crate::idp::Idp;
use crate::model::Tenant;
use crate::util::sha256_hex;
use crate::web::error::{Page, PageFailure, PathTenant};
use crate::web::pages::{check_csrf, https, PageResult};
use crate::web::{cookies, templates};

/// CSRF binding of the request form (there is no token yet).
const REQUEST_BINDING: &str = "password-reset";

#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

fn form_page(idp: &Idp, tenant: &Tenant, req: &HttpRequest, token: Option<&str>, email: &str, error: Option<String>) -> HttpResponse {
    let (browser, cookie) = cookies::browser_id(req, https(idp));
    let binding = token.map_or(REQUEST_BINDING.to_string(), sha256_hex);
    let mut response = templates::tenant_page(
        idp,
        tenant,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "password_reset.html",
        json!({
            "token": token,
            "email": email,
            "error": error,
            "action": format!("{}/{}/password/reset", idp.base_url(), tenant.name),
            "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &binding),
        }),
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

pub async fn reset_page(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<ResetQuery>) -> PageResult {
    match q.token.as_deref() {
        Some(token) => {
            let user = reset::holder(&idp, &tenant, token).await?;
            Ok(form_page(&idp, &tenant, &req, Some(token), &user.email, None))
        }
        None => Ok(form_page(&idp, &tenant, &req, None, "", None)),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf_token: String,
    username: Option<String>,
    token: Option<String>,
    password: Option<String>,
}

pub async fn reset(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<ResetForm>) -> PageResult {
    let message = |title: &str, text: &str| {
        templates::tenant_page(
            &idp,
            &tenant,
            StatusCode::OK,
            "message.html",
            json!({"title": i18n::text(title, &[]), "message": i18n::text(text, &[]), }),
        )
    };
    match (&form.token, &form.password, &form.username) {
        (Some(token), Some(password), _) => {
            check_csrf(&idp, &req, &sha256_hex(token), &form.csrf_token)?;
            match reset::complete(&idp, &tenant, token, password, &crate::web::client_address(&idp, &req)).await {
                Ok(()) => Ok(message("password-changed-title", "password-changed")),
                Err(Error::Invalid(why)) => {
                    let user = reset::holder(&idp, &tenant, token).await?;
                    Ok(form_page(&idp, &tenant, &req, Some(token), &user.email, Some(why)))
                }
                Err(e) => Err(e.into()),
            }
        }
        (None, None, Some(email)) => {
            check_csrf(&idp, &req, REQUEST_BINDING, &form.csrf_token)?;
            reset::request(&idp.clone().into_inner(), &tenant, email, &crate::web::client_address(&idp, &req)).await?;
            Ok(message("check-mail-title", "check-mail"))
        }
        _ => Err(PageFailure::from(Error::Invalid("Fill in the form on the password reset page.".into()))),
    }
}
