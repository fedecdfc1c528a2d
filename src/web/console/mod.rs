//! The admin console at `/{tenant}/admin/`: server-rendered pages over the
//! admin API's own functions, called as the signed-in person (`Portal`'s
//! caller), so their directory roles decide exactly as for a Graph call.
//! A refusal is the API's refusal, shown as a page. Forms carry the
//! person's CSRF token; sensitive changes ask for a recent sign-in.

pub mod access;
pub mod branding;
pub mod people;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::directory::paging::PageRequest;
use crate::directory::{audit, portal as directory_portal};
use crate::error::Error;
use crate::idp::Idp;
use crate::model::LogKind;
use crate::web::error::{Page, PageFailure, PathTenant};
use crate::web::pages::PageResult;
use crate::web::portal::{signed_in, Portal};
use crate::web::{read_bounded, templates};

/// A console page: the tenant's branding, the console's navigation and the
/// person's CSRF token come with `context`.
fn page(idp: &Idp, req: &HttpRequest, portal: &Portal, name: &str, section: &str, context: Value, nonce: Option<&str>) -> HttpResponse {
    let mut context = context;
    context["csrf_token"] = json!(portal.csrf_token(idp, req));
    context["section"] = json!(section);
    context["admin_url"] = json!(idp.tenant_url(&portal.tenant, "admin"));
    context["myapps_url"] = json!(idp.tenant_url(&portal.tenant, "myapps"));
    context["sign_out_url"] = json!(idp.tenant_url(&portal.tenant, "oauth2/v2.0/logout"));
    context["person"] = json!(portal.user.email);
    context["wide"] = json!(true);
    templates::scripted_tenant_page(idp, &portal.tenant, StatusCode::OK, name, context, nonce)
}

/// The `file` field of a console upload (`multipart/form-data`), once the
/// `csrf_token` field before it checked out: nothing is read before that.
async fn uploaded_file(
    idp: &Idp,
    req: &HttpRequest,
    portal: &Portal,
    form: &mut actix_multipart::Multipart,
) -> Result<actix_multipart::Field, PageFailure> {
    use futures_util::StreamExt;
    let mut csrf = String::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| Error::Invalid(format!("the upload: {e}")))?;
        match field.name() {
            Some("csrf_token") if csrf.is_empty() => {
                csrf = String::from_utf8_lossy(&read_bounded(&mut field, 256, "csrf_token").await?).into_owned()
            }
            Some("file") => {
                portal.check_csrf(idp, req, &csrf)?;
                return Ok(field);
            }
            _ => return Err(Error::Invalid("the form must have one csrf_token, then file".into()).into()),
        }
    }
    Err(Error::Invalid(crate::i18n::text("admin-no-file", &[])).into())
}

/// After a change: back to the console page that shows it.
fn back_to(idp: &Idp, portal: &Portal, page: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, idp.tenant_url(&portal.tenant, page))).finish()
}

/// `GET /{tenant}/admin/`: who is in the directory, and the last sign-ins.
pub async fn overview(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let counts = directory_portal::overview(&idp, &tenant, &portal.caller).await?;
    // The sign-in log needs its own right: without it, the overview shows none.
    let recent = PageRequest::parse(Some("5"), None, None)?;
    let sign_ins = match audit::list(&idp, &tenant, &portal.caller, LogKind::SignIn, None, &recent).await {
        Ok(page) => Some(page.value.iter().map(sign_in_row).collect::<Vec<_>>()),
        Err(Error::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let context = json!({ "counts": counts, "sign_ins": sign_ins, "log_url": idp.tenant_url(&tenant, "admin/sign-ins") });
    Ok(page(&idp, &req, &portal, "admin/overview.html", "overview", context, None))
}

/// One line of a sign-in list, from Graph's `signIn`.
fn sign_in_row(entry: &Value) -> Value {
    json!({
        "when": entry["createdDateTime"],
        "who": entry["userPrincipalName"],
        "app": entry["appDisplayName"],
        "address": entry["ipAddress"],
        "succeeded": entry["status"]["errorCode"].as_i64() == Some(0),
        "reason": entry["status"]["failureReason"],
    })
}

#[derive(Deserialize)]
pub struct LogQuery {
    skiptoken: Option<String>,
}

/// `GET /{tenant}/admin/sign-ins`: the sign-in log, newest first, in pages.
pub async fn sign_ins(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, q: web::Query<LogQuery>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let request = PageRequest::parse(Some("50"), q.skiptoken.as_deref(), None)?;
    let found = audit::list(&idp, &tenant, &portal.caller, LogKind::SignIn, None, &request).await?;
    let next = found.skiptoken.map(|t| {
        format!("{}?{}", idp.tenant_url(&tenant, "admin/sign-ins"), serde_urlencoded::to_string([("skiptoken", t)]).unwrap_or_default())
    });
    let rows: Vec<Value> = found.value.iter().map(sign_in_row).collect();
    Ok(page(&idp, &req, &portal, "admin/sign_ins.html", "sign-ins", json!({ "sign_ins": rows, "next": next }), None))
}
