//! The second-factor pages: authenticator enrolment (key, QR code), the
//! code prompt (with a recovery code as the way out), and the recovery
//! codes shown once. Handlers parse, call `protocol::stepup`, render.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::i18n;
use crate::idp::Idp;
use crate::mfa::Enrolment;
use crate::model::{Tenant, User};
use crate::protocol::authorize;
use crate::protocol::stepup::{self, Checked, Retry, StepUp};
use crate::signin::session;
use crate::web::error::{Page, PathTenant};
use crate::web::pages::{check_csrf, continue_with, https, render, PageResult, Shown};
use crate::web::{cookies, templates};

/// The enrolment or prompt page for a step-up.
pub fn page_for(
    idp: &Idp,
    tenant: &Tenant,
    user: &User,
    browser: &str,
    ix: &str,
    enrolment: Option<&Enrolment>,
    error: Option<&str>,
) -> HttpResponse {
    templates::tenant_page(
        idp,
        tenant,
        StatusCode::OK,
        "mfa.html",
        json!({
            "email": user.email,
            "enrol": enrolment.is_some(),
            "secret": enrolment.map(|e| e.secret.clone()),
            "qr_svg": enrolment.map(|e| e.qr_svg.clone()),
            "error": error,
            "action": format!("{}/{}/mfa", idp.base_url(), tenant.name),
            "ix": ix,
            "csrf_token": cookies::csrf_token(&idp.cookie_key, browser, ix),
        }),
    )
}

/// Renders the start of a step-up (`authorize::Outcome::SecondFactor`).
pub async fn begin(
    idp: &Idp,
    tenant: &Tenant,
    req: &HttpRequest,
    request: &crate::model::AuthRequest,
    user: &User,
    browser: &str,
) -> PageResult {
    let source = crate::web::client_address(idp, req);
    Ok(match stepup::begin(idp, tenant, request, user, browser, &source).await? {
        StepUp::GoHome(url) => HttpResponse::Found().insert_header(("Location", url)).insert_header(("Cache-Control", "no-store")).finish(),
        StepUp::Enrol { interaction_id, enrolment } => page_for(idp, tenant, user, browser, &interaction_id, Some(&enrolment), None),
        StepUp::Prompt { interaction_id } => page_for(idp, tenant, user, browser, &interaction_id, None, None),
    })
}

#[derive(Deserialize)]
pub struct MfaForm {
    ix: String,
    csrf_token: String,
    otp: Option<String>,
    recovery_code: Option<String>,
}

pub async fn submit(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<MfaForm>) -> PageResult {
    check_csrf(&idp, &req, &form.ix, &form.csrf_token)?;
    let (browser, _) = cookies::browser_id(&req, https(&idp));
    let session_cookie = cookies::read(&req, &cookies::session_name(&tenant, https(&idp)));
    let active = session::active(&idp, &tenant, session_cookie.as_deref()).await?;
    let (session, user) = active.map(|(s, u)| (Some(s), Some(u))).unwrap_or_default();
    let origin = stepup::Origin { browser: &browser, source: &crate::web::client_address(&idp, &req) };
    let checked = stepup::check(&idp, &tenant, &form.ix, origin, session, form.otp.as_deref(), form.recovery_code.as_deref()).await?;
    let user = user.ok_or_else(|| crate::error::Error::Invalid("Your sign-in session ended.".into()))?;
    match checked {
        Checked::Retry { interaction_id, why, enrolment } => {
            let key = match why {
                Retry::WrongCode => "mfa-wrong-code",
                Retry::WrongEnrolmentCode => "mfa-wrong-enrolment-code",
                Retry::WrongRecoveryCode => "mfa-wrong-recovery-code",
                Retry::OldAppRemoved => "mfa-old-app-removed",
            };
            Ok(page_for(&idp, &tenant, &user, &browser, &interaction_id, enrolment.as_ref(), Some(&i18n::text(key, &[]))))
        }
        Checked::Enrolled { session, request_id, recovery_codes } => {
            let mut response = templates::tenant_page(
                &idp,
                &tenant,
                StatusCode::OK,
                "recovery_codes.html",
                json!({
                    "codes": recovery_codes,
                    "action": format!("{}/{}/resume", idp.base_url(), tenant.name),
                    "req": request_id,
                    "csrf_token": cookies::csrf_token(&idp.cookie_key, &browser, &request_id),
                }),
            );
            if let Some(cookie) = cookies::session(&tenant, &session, idp.config.tokens.session_ttl, https(&idp)) {
                let _ = response.add_cookie(&cookie);
            }
            Ok(response)
        }
        Checked::Done { session, request_id } => continue_with(&idp, &tenant, &req, &request_id, session).await,
    }
}

#[derive(Deserialize)]
pub struct ResumeForm {
    req: String,
    csrf_token: String,
}

/// Continues a pending sign-in request after a step shown in between.
pub async fn resume(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<ResumeForm>) -> PageResult {
    check_csrf(&idp, &req, &form.req, &form.csrf_token)?;
    let (request, app) = authorize::pending(&idp, &tenant, &form.req).await?;
    let session_cookie = cookies::read(&req, &cookies::session_name(&tenant, https(&idp)));
    let outcome = authorize::proceed(&idp, &tenant, request, app, session_cookie.as_deref()).await?;
    render(&idp, &tenant, &req, outcome, Shown::default()).await
}
