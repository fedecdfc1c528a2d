//! The device authorization grant (RFC 8628): a device without a browser
//! (a CLI, a TV) gets a `user_code` for the person to enter at
//! `/{tenant}/devicelogin` in any browser, and polls the token endpoint
//! with its `device_code` meanwhile. The person's sign-in there is the
//! authorization endpoint's own (members and guests, MFA, home
//! federation), and ends by approving the device instead of sending a code
//! to a redirect URI.

use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::error::{Error, OAuthCode, OAuthError, Result};
use crate::i18n;
use crate::idp::Idp;
use crate::model::{App, AuthRequest, Authentication, DeviceGrant, DeviceState, GrantType, ResponseMode, Tenant};
use crate::protocol::scopes::{self, Acting};
use crate::protocol::token::{self, Grant, TokenResponse};
use crate::store::StoreError;
use crate::util::{now, now_ms, random_token, sha256_hex};

/// RFC 8628 §6.1's base-20 alphabet: no vowels (no words), nothing that
/// reads like another character.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// How long a device code waits for the person (Entra: 15 minutes).
pub const EXPIRES_IN: i64 = 900;
/// Seconds between polls; each `slow_down` adds five (RFC 8628 §3.5).
pub const INTERVAL: i64 = 5;
/// Codes typed at the device login page per client address (an IPv6 /64
/// counts as one) within `GUESS_WINDOW_SECS`, and wrong codes per tenant,
/// past which an address that already typed a wrong one is refused: with
/// 20^8 codes and at most `server.pending_sign_ins_total` waiting, a guess
/// hits one in hundreds of thousands at best, and a hit only lets the
/// guesser approve the device with their own account, or cancel it.
const TRIES_PER_SOURCE: u32 = 20;
const WRONG_PER_TENANT: u32 = 2000;
const GUESS_WINDOW_SECS: i64 = 900;

/// RFC 8628 §3.2's answer, with Entra's `message`.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
    pub message: String,
}

/// The page where people enter their code.
pub fn verification_uri(idp: &Idp, tenant: &Tenant) -> String {
    format!("{}/{}/devicelogin", idp.base_url(), tenant.name)
}

/// `BCDF-GHJK`: easier to read out and type than eight letters in a row.
pub fn shown(user_code: &str) -> String {
    format!("{}-{}", &user_code[..4], &user_code[4..])
}

/// What a person typed, as stored: upper case, without the dash or spaces.
fn normalised(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn new_user_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..USER_CODE_LEN).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Starts a device authorization for `app` (authenticated, or a public
/// client by its id): a new grant waiting for its person. Waiting grants
/// count against the same bounds per client address and tenant as
/// waiting sign-ins, for their lifetime.
pub async fn start(idp: &Idp, tenant: &Tenant, app: &App, scope: Option<&str>, source: &str) -> Result<DeviceAuthorization> {
    if !app.allows(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client("this client may not use the device code flow (a mobile or desktop app may)").into());
    }
    let requested = scopes::resolve(idp, tenant, app, scope.unwrap_or(""), Acting::ForUser).await?;
    if requested.scopes.is_empty() {
        return Err(OAuthError::invalid_scope("scope is required").into());
    }
    if !crate::signin::throttle::admit_waiting(idp, "device", &tenant.id, source, EXPIRES_IN).await? {
        return Err(Error::TooManyAttempts("too many device sign-ins are waiting; try again later".into()));
    }
    let secret = random_token();
    for _ in 0..5 {
        let grant = DeviceGrant {
            user_code: new_user_code(),
            secret_hash: sha256_hex(&secret),
            tenant_id: tenant.id.clone(),
            client_id: app.client_id.clone(),
            scopes: requested.scopes.clone(),
            interval: INTERVAL,
            last_poll_ms: 0,
            expires_at: now() + EXPIRES_IN,
            state: DeviceState::Pending,
        };
        match idp.store.create_device_grant(&grant).await {
            Ok(()) => {
                let uri = verification_uri(idp, tenant);
                let user_code = shown(&grant.user_code);
                return Ok(DeviceAuthorization {
                    device_code: format!("{}.{secret}", grant.user_code),
                    verification_uri_complete: format!("{uri}?user_code={user_code}"),
                    message: i18n::text("device-message", &[("uri", &uri), ("code", &user_code)]),
                    verification_uri: uri,
                    user_code,
                    expires_in: EXPIRES_IN,
                    interval: INTERVAL,
                });
            }
            // Another grant has this user code: draw again.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal("no free user code after five draws".into()))
}

/// The device's poll (RFC 8628 §3.4): tokens once the person approved,
/// else why not yet. Each poll is remembered, so one too soon is
/// `slow_down` and the interval grows.
pub async fn poll(idp: &Idp, tenant: &Tenant, app: &App, device_code: Option<&str>) -> Result<TokenResponse> {
    let device_code = device_code.ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let invalid = || OAuthError::invalid_grant("device_code is invalid");
    let (user_code, secret) = device_code.split_once('.').ok_or_else(invalid)?;
    let grant = idp.store.device_grant(user_code).await?.ok_or_else(invalid)?;
    let matches: bool = sha256_hex(secret).as_bytes().ct_eq(grant.secret_hash.as_bytes()).into();
    if grant.tenant_id != tenant.id || grant.client_id != app.client_id || !matches {
        return Err(invalid().into());
    }
    if grant.expires_at < now() {
        return Err(OAuthError::new(OAuthCode::ExpiredToken, "the device code has expired: start again").into());
    }
    match &grant.state {
        DeviceState::Redeemed => Err(OAuthError::invalid_grant("the device code was already used").into()),
        DeviceState::Denied => Err(OAuthError::new(OAuthCode::AccessDenied, "the person declined the sign-in").into()),
        DeviceState::Pending => {
            let now_ms = now_ms();
            let too_soon = now_ms - grant.last_poll_ms < grant.interval * 1000;
            let interval = if too_soon { grant.interval + INTERVAL } else { grant.interval };
            // Losing this swap to a concurrent poll or the approval changes nothing: the next poll sees it.
            idp.store.replace_device_grant(&grant, &DeviceGrant { last_poll_ms: now_ms, interval, ..grant.clone() }).await?;
            Err(match too_soon {
                true => OAuthError::new(OAuthCode::SlowDown, format!("polled too soon: wait {interval} seconds between polls")),
                false => OAuthError::new(OAuthCode::AuthorizationPending, "the person has not finished signing in yet"),
            }
            .into())
        }
        DeviceState::Approved { auth } => {
            if !idp.store.replace_device_grant(&grant, &DeviceGrant { state: DeviceState::Redeemed, ..grant.clone() }).await? {
                return Err(OAuthError::invalid_grant("the device code was already used").into());
            }
            let user = token::live_user(idp, tenant, auth).await?;
            let requested = scopes::resolve(idp, tenant, app, &grant.scopes.join(" "), Acting::ForUser).await?;
            let refresh_token = match token::wants_refresh(app, &requested) {
                true => Some(token::new_refresh_grant(idp, tenant, app, &requested.scopes, auth, None).await?),
                false => None,
            };
            token::issue(idp, tenant, app, Grant { user: &user, auth, refresh_token, jti: None }, &requested, None).await
        }
    }
}

/// The waiting grant a person's typed code names, and its app. Every
/// code typed counts for its address (counted first, so a burst cannot
/// slip past); wrong ones count for the tenant too, and once those are
/// many, an address that has typed a wrong code is refused (someone who
/// types their right code at once never is).
pub async fn waiting(idp: &Idp, tenant: &Tenant, typed: &str, source: &str) -> Result<(DeviceGrant, App)> {
    let source = crate::signin::throttle::source_key(source);
    let (by_source, by_tenant) = (format!("devicelogin|{}|{source}", tenant.id), format!("devicelogin|{}", tenant.id));
    let tries = idp.store.bump_counter(&by_source, GUESS_WINDOW_SECS).await?;
    if tries > TRIES_PER_SOURCE || (tries > 1 && idp.store.peek_counter(&by_tenant).await? >= WRONG_PER_TENANT) {
        return Err(Error::TooManyAttempts(i18n::text("device-too-many", &[])));
    }
    let found = match normalised(typed) {
        Some(code) => idp.store.device_grant(&code).await?,
        None => None,
    };
    let waiting = found.filter(|g| g.waits(&tenant.id, now()));
    let app = match &waiting {
        Some(grant) => idp.store.app(&tenant.id, &grant.client_id).await?,
        None => None,
    };
    match (waiting, app) {
        (Some(grant), Some(app)) => Ok((grant, app)),
        _ => {
            idp.store.bump_counter(&by_tenant, GUESS_WINDOW_SECS).await?;
            Err(Error::Invalid(i18n::text("device-code-wrong", &[])))
        }
    }
}

/// The sign-in a confirmed code starts: an authorization request of the
/// device's app whose end approves the grant (see `approve`), and whose
/// refusals come back to the device login page.
pub fn sign_in_request(idp: &Idp, tenant: &Tenant, grant: &DeviceGrant, source: &str) -> AuthRequest {
    AuthRequest {
        id: random_token(),
        tenant_id: tenant.id.clone(),
        client_id: grant.client_id.clone(),
        redirect_uri: verification_uri(idp, tenant),
        response_mode: ResponseMode::Query,
        scopes: grant.scopes.clone(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt_none: false,
        prompt_login: false,
        prompt_consent: false,
        max_age: None,
        login_hint: None,
        domain_hint: None,
        ui_locales: None,
        require_mfa: false,
        expires_at: now() + idp.config.tokens.interaction_ttl,
        source: source.to_string(),
        admitted: false,
        device: Some(grant.user_code.clone()),
    }
}

/// Records the person's sign-in on the waiting grant: the device's next
/// poll gets the tokens. False if it no longer waits.
pub async fn approve(idp: &Idp, tenant: &Tenant, user_code: &str, auth: Authentication) -> Result<bool> {
    set_state(idp, tenant, user_code, DeviceState::Approved { auth }).await
}

/// The person said no: the device's next poll gets `access_denied`.
pub async fn deny(idp: &Idp, tenant: &Tenant, user_code: &str) -> Result<bool> {
    set_state(idp, tenant, user_code, DeviceState::Denied).await
}

/// Moves a waiting grant to `state`. A poll writing its time at the same
/// moment makes the swap fail: read again and retry, while it waits.
async fn set_state(idp: &Idp, tenant: &Tenant, user_code: &str, state: DeviceState) -> Result<bool> {
    for _ in 0..10 {
        let Some(grant) = idp.store.device_grant(user_code).await? else { return Ok(false) };
        if !grant.waits(&tenant.id, now()) {
            return Ok(false);
        }
        if idp.store.replace_device_grant(&grant, &DeviceGrant { state: state.clone(), ..grant.clone() }).await? {
            return Ok(true);
        }
    }
    Err(Error::Internal("a device grant kept changing under its approval".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typed_loosely_and_read_strictly() {
        let code = new_user_code();
        assert_eq!(code.len(), USER_CODE_LEN);
        assert_eq!(normalised(&shown(&code)).as_deref(), Some(code.as_str()));
        assert_eq!(normalised(" bcdf-ghjk ").as_deref(), Some("BCDFGHJK"));
        for wrong in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", "", "BCDF GHJK!"] {
            assert_eq!(normalised(wrong), None, "{wrong}");
        }
    }
}
