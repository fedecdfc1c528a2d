//! Server-rendered pages: minijinja templates compiled into the binary,
//! auto-escaped because their names end in `.html`. Their words come from
//! the catalogs (`t("key", arg=…)`, see `crate::i18n`) in the request's
//! language, which `<html lang>` names.

use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::idp::Idp;
use crate::model::{Image, Tenant};

/// The built-in templates, by name.
const SOURCES: [(&str, &str); 31] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("password.html", include_str!("templates/password.html")),
    ("consent.html", include_str!("templates/consent.html")),
    ("form_post.html", include_str!("templates/form_post.html")),
    ("message.html", include_str!("templates/message.html")),
    ("signed_out.html", include_str!("templates/signed_out.html")),
    ("logout.html", include_str!("templates/logout.html")),
    ("devicelogin.html", include_str!("templates/devicelogin.html")),
    ("device_confirm.html", include_str!("templates/device_confirm.html")),
    ("error.html", include_str!("templates/error.html")),
    ("redeem.html", include_str!("templates/redeem.html")),
    ("redeem_consent.html", include_str!("templates/redeem_consent.html")),
    ("passcode.html", include_str!("templates/passcode.html")),
    ("leave.html", include_str!("templates/leave.html")),
    ("mfa.html", include_str!("templates/mfa.html")),
    ("password_reset.html", include_str!("templates/password_reset.html")),
    ("recovery_codes.html", include_str!("templates/recovery_codes.html")),
    ("myapps.html", include_str!("templates/myapps.html")),
    ("admin/nav.html", include_str!("templates/admin/nav.html")),
    ("admin/overview.html", include_str!("templates/admin/overview.html")),
    ("admin/users.html", include_str!("templates/admin/users.html")),
    ("admin/invite.html", include_str!("templates/admin/invite.html")),
    ("admin/partners.html", include_str!("templates/admin/partners.html")),
    ("admin/done.html", include_str!("templates/admin/done.html")),
    ("admin/sign_ins.html", include_str!("templates/admin/sign_ins.html")),
    ("admin/groups.html", include_str!("templates/admin/groups.html")),
    ("admin/group.html", include_str!("templates/admin/group.html")),
    ("admin/policies.html", include_str!("templates/admin/policies.html")),
    ("admin/identity_providers.html", include_str!("templates/admin/identity_providers.html")),
    ("admin/branding.html", include_str!("templates/admin/branding.html")),
];

static TEMPLATES: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_function("t", crate::i18n::template_function);
    for (name, source) in SOURCES {
        env.add_template(name, source).map_err(|e| format!("{e:#}"))?;
    }
    Ok(env)
});

/// Parses the built-in templates; start-up calls this to fail fast.
pub fn check() -> Result<(), String> {
    TEMPLATES.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Pages may only load inline styles; scripts need the page's nonce, and
/// may only talk to this server (the console's upload); frames only from
/// `frame_origins` (the signed-out page's front-channel logout).
fn csp(script_nonce: Option<&str>, frame_origins: &[String]) -> String {
    let script = match script_nonce {
        Some(n) => format!("script-src 'nonce-{n}'; connect-src 'self'"),
        None => "script-src 'none'".to_string(),
    };
    let frames = match frame_origins {
        [] => String::new(),
        origins => format!("frame-src {}; ", origins.join(" ")),
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; {script}; {frames}frame-ancestors 'none'; base-uri 'none'"
    )
}

pub fn render(name: &str, context: impl Serialize) -> Result<String, String> {
    let env = TEMPLATES.as_ref().map_err(Clone::clone)?;
    let lang = crate::i18n::current().tag();
    let context = context! { lang, ..Value::from_serialize(context) };
    env.get_template(name).and_then(|t| t.render(context)).map_err(|e| format!("{e:#}"))
}

/// What a page shows of its tenant's company branding, in the page's language.
#[derive(Serialize)]
struct Brand {
    logo_url: Option<String>,
    background_color: Option<String>,
    background_url: Option<String>,
    sign_in_text: Option<String>,
    username_hint: Option<String>,
}

fn brand(idp: &Idp, tenant: &Tenant) -> Brand {
    let look = tenant.branding.look(crate::i18n::current().tag());
    let url = |image: &Option<Image>| image.as_ref().map(|i| format!("{}/{}", idp.base_url(), i.relative_url(&tenant.id)));
    Brand {
        logo_url: url(&look.banner_logo),
        background_url: url(&look.background_image),
        background_color: look.color(),
        sign_in_text: look.sign_in_page_text,
        username_hint: look.username_hint_text,
    }
}

/// A page of `tenant`: its name and company branding come with `context`.
pub fn tenant_page(idp: &Idp, tenant: &Tenant, status: StatusCode, name: &str, context: impl Serialize) -> HttpResponse {
    scripted_tenant_page(idp, tenant, status, name, context, None)
}

/// A [`tenant_page`] whose scripts carry `nonce` (the CSP allows only those).
pub fn scripted_tenant_page(
    idp: &Idp,
    tenant: &Tenant,
    status: StatusCode,
    name: &str,
    context: impl Serialize,
    nonce: Option<&str>,
) -> HttpResponse {
    let context = context! { tenant_name => tenant.display_name, branding => brand(idp, tenant), ..Value::from_serialize(context) };
    page_with_nonce(status, name, context, nonce)
}

/// A scripted tenant page that may frame `frame_origins`.
pub fn framing_tenant_page(
    idp: &Idp,
    tenant: &Tenant,
    name: &str,
    context: impl Serialize,
    nonce: &str,
    frame_origins: &[String],
) -> HttpResponse {
    let mut response = scripted_tenant_page(idp, tenant, StatusCode::OK, name, context, Some(nonce));
    if let Ok(policy) = header::HeaderValue::from_str(&csp(Some(nonce), frame_origins)) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

pub fn page_response(status: StatusCode, name: &str, context: impl Serialize) -> HttpResponse {
    page_with_nonce(status, name, context, None)
}

pub fn page_with_nonce(status: StatusCode, name: &str, context: impl Serialize, nonce: Option<&str>) -> HttpResponse {
    match render(name, context) {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_SECURITY_POLICY, csp(nonce, &[])))
            .body(body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed to render");
            HttpResponse::InternalServerError().body("internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SOURCES;

    /// Every `t("key")` of a template is a message of the English catalog
    /// (the catalog tests keep the other languages level with English).
    #[test]
    fn templates_use_only_catalogued_messages() {
        let known = crate::i18n::keys(crate::i18n::Lang::En);
        for (name, source) in SOURCES {
            for used in source.split("t(\"").skip(1).filter_map(|rest| rest.split('"').next()) {
                assert!(known.iter().any(|k| k == used), "{name} uses {used:?}, which en.ftl lacks");
            }
        }
        super::check().expect("templates parse");
    }
}
