//! Cookies and CSRF. Sessions live in the store, under the SHA-256 of the
//! cookie's random value. Over HTTPS, names carry the `__Host-` prefix (Secure, Path=/,
//! no Domain), so no sibling host can plant or read them.
//!
//! CSRF uses the signed double-submit pattern: the token in each form is an
//! HMAC, under the server's key, of a random per-browser cookie and the
//! sign-in request id. Another site can neither read the cookie nor forge it.

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

use crate::model::Session;
use crate::model::Tenant;
use crate::util::random_token;

const BROWSER: &str = "b2b_browser";

fn name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

fn cookie(name: String, value: String, max_age: Duration, https: bool) -> Cookie<'static> {
    Cookie::build(name, value).path("/").http_only(true).secure(https).same_site(SameSite::Lax).max_age(max_age).finish()
}

/// Each tenant has its own session cookie, so signing in to one tenant says
/// nothing about another (a guest's home and resource tenants included).
pub fn session_name(tenant: &Tenant, https: bool) -> String {
    name(&format!("b2b_session_{}", tenant.id), https)
}

/// The portal's access token (`web::portal`), per tenant like the session.
pub fn portal_name(tenant: &Tenant, https: bool) -> String {
    name(&format!("b2b_portal_{}", tenant.id), https)
}

pub fn portal(tenant: &Tenant, access_token: String, ttl: i64, https: bool) -> Cookie<'static> {
    cookie(portal_name(tenant, https), access_token, Duration::seconds(ttl), https)
}

pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_string())
}

/// The cookie of a session just minted (started, or rotated as its level
/// rose); none for a session read back from the store.
pub fn session(tenant: &Tenant, session: &Session, ttl: i64, https: bool) -> Option<Cookie<'static>> {
    let value = session.cookie.clone()?;
    Some(cookie(session_name(tenant, https), value, Duration::seconds(ttl), https))
}

pub fn session_removal(tenant: &Tenant, https: bool) -> Cookie<'static> {
    cookie(session_name(tenant, https), String::new(), Duration::ZERO, https)
}

/// The browser's CSRF binding: the existing cookie, or a new one to set.
pub fn browser_id(req: &HttpRequest, https: bool) -> (String, Option<Cookie<'static>>) {
    match read(req, &name(BROWSER, https)) {
        Some(id) if !id.is_empty() => (id, None),
        _ => {
            let id = random_token();
            let set = cookie(name(BROWSER, https), id.clone(), Duration::days(365), https);
            (id, Some(set))
        }
    }
}

fn csrf_message(browser: &str, request_id: &str) -> Vec<u8> {
    format!("csrf\0{browser}\0{request_id}").into_bytes()
}

pub fn csrf_token(key: &[u8], browser: &str, request_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, &csrf_message(browser, request_id)))
}

/// Constant-time check of a submitted form's CSRF token.
pub fn csrf_valid(key: &[u8], req: &HttpRequest, https: bool, request_id: &str, token: &str) -> bool {
    let Some(browser) = read(req, &name(BROWSER, https)) else { return false };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else { return false };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, &csrf_message(&browser, request_id), &tag).is_ok()
}
