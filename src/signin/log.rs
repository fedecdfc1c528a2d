//! What sign-ins tell the sign-in log when they fail. Failures cost an
//! attacker little (a refused request, no password hashed once locked), so
//! each client address may add a bounded number of failures to a tenant's
//! log per window; past it they are only counted (metrics), and the log
//! keeps room for everyone else.

use crate::audit::context;
use crate::audit::signin::{SignIn, Subject};
use crate::idp::Idp;
use crate::model::{AuthStep, Tenant};
use crate::signin::throttle;

/// Failed sign-ins one client address adds to one tenant's log per
/// `throttle::WINDOW_SECS`.
pub const FAILURES_LOGGED_PER_SOURCE: u32 = 100;

/// Logs a failed sign-in, unless its client address has had its share.
pub async fn failure(idp: &Idp, sign_in: SignIn) {
    let source = throttle::source_key(&context::current().ip_address);
    let key = format!("log-failures|{}|{source}", sign_in.tenant_id);
    let logged = idp.store.bump_counter(&key, throttle::WINDOW_SECS).await.is_ok_and(|n| n <= FAILURES_LOGGED_PER_SOURCE);
    if logged {
        idp.audit.sign_in(sign_in);
    } else {
        idp.audit.count(&sign_in);
    }
}

/// The app a pending sign-in request is for: its client id and name
/// (empty when the request is gone).
pub async fn app_of(idp: &Idp, tenant: &Tenant, request_id: &str) -> (String, String) {
    let Ok(Some(request)) = idp.store.auth_request(request_id).await else { return Default::default() };
    let name = match idp.store.app(&tenant.id, &request.client_id).await {
        Ok(Some(app)) => app.display_name,
        _ => String::new(),
    };
    (request.client_id, name)
}

/// Logs a failed step of a sign-in for the request `request_id`.
pub async fn failed(idp: &Idp, tenant: &Tenant, subject: Subject, request_id: &str, code: i64, reason: &str, steps: &[AuthStep]) {
    let (app_id, app_name) = app_of(idp, tenant, request_id).await;
    failure(idp, SignIn::new(tenant, subject, &app_id, &app_name).failed(code, reason).with_steps(steps)).await;
}
