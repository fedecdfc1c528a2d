//! The attacker review of 0.4.0 (issue 14), one test per finding, each
//! sending the attacker's request to the real server and checking it is
//! refused (and, where it helps, that the honest request still works, so
//! the test can tell a refusal from a broken flow).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::b2b::invite;
use crate::harness::*;

const ADMIN_PORTAL: &str = "admin-portal";
const ADMIN_PORTAL_SECRET: &str = "admin-portal-secret";
const USER_ADMIN: (&str, &str) = ("useradmin@contoso.example", "User-Admin-Passw0rd");
const INVITER: (&str, &str) = ("inviter@contoso.example", "Guest-Inviter-1");

fn session_cookie_name() -> String {
    format!("b2b_session_{CONTOSO_ID}")
}

/// The value of the contoso session cookie in `jar`.
fn session_cookie(jar: &reqwest::cookie::Jar, server: &TestServer) -> Option<String> {
    use reqwest::cookie::CookieStore;
    let url = url::Url::parse(&server.base).expect("base");
    let header = jar.cookies(&url)?;
    let name = session_cookie_name();
    header.to_str().ok()?.split("; ").find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// An authorize URL of demo-app at contoso with extra parameters.
fn authorize_url(server: &TestServer, extra: &str) -> String {
    server.url(&format!(
        "/contoso/oauth2/v2.0/authorize?client_id={DEMO_APP}&response_type=code&redirect_uri={REDIRECT_URI}&scope=openid%20profile&nonce=n{extra}"
    ))
}

/// Where `prompt=none` with only this session cookie leads: the callback's `error` or `code`.
async fn silent_with_cookie(server: &TestServer, cookie: &str) -> Landing {
    let mut headers = HeaderMap::new();
    headers.insert("cookie", HeaderValue::from_str(&format!("{}={cookie}", session_cookie_name())).expect("header"));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).default_headers(headers).build().expect("client");
    let response = client.get(authorize_url(server, "&prompt=none")).send().await.expect("authorize");
    let location = response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
    match location {
        Some(location) => Landing::Client(url::Url::parse(&location).expect("callback")),
        None => Landing::Page { status: response.status().as_u16(), body: response.text().await.unwrap_or_default() },
    }
}

/// Demo config plus a User Administrator and a Guest Inviter in contoso,
/// and demo-spa allowed only `AuditLog.Read.All` at the admin API.
fn with_admins(c: &mut b2b_idp::config::Config) {
    let contoso = &mut c.tenants[0];
    for ((email, password), role) in [(USER_ADMIN, "User Administrator"), (INVITER, "Guest Inviter")] {
        contoso.users.push(b2b_idp::config::UserSeed {
            email: email.into(),
            password: Some(b2b_idp::util::Secret(password.into())),
            roles: vec![role.into()],
            ..Default::default()
        });
    }
    let spa = contoso.apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
    spa.delegated_permissions.insert("api://b2b-idp-admin".into(), vec!["AuditLog.Read.All".into()]);
}

/// A person's token for the admin API, through `client`.
pub(crate) async fn person_token(server: &TestServer, client: &str, secret: Option<&str>, who: (&str, &str)) -> String {
    let rp = Rp::discover(server, CONTOSO_ID, client, secret).await;
    let pending = rp.authorize(&["api://b2b-idp-admin/.default"], true);
    let landing = Browser::new().run(&pending.url, Some(who), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("no code for {}: {landing:?}", who.0));
    rp.exchange(&code, pending.verifier).await.expect("tokens").access_token().secret().clone()
}

async fn user_id(server: &TestServer, token: &str, email: &str) -> String {
    let (_, _, list) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), token, None).await;
    let user = list["value"].as_array().expect("users").iter().find(|u| u["mail"] == email).unwrap_or_else(|| panic!("{email} listed"));
    user["id"].as_str().expect("id").to_string()
}

// 1 ------------------------------------------------------------------------

async fn sid_is_no_cookie_and_mfa_rotates_the_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = Browser::with(jar.clone(), HeaderMap::new());
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile"], true);
    // The password, by hand: the session cookie before the second factor.
    let page = browser.http.get(format!("{}&acr_values=2", pending.url)).send().await.expect("authorize").text().await.expect("page");
    let form = post_forms(&page).into_iter().find(|f| f.has("username")).expect("sign-in form");
    let action = url::Url::parse(&server.base).expect("base").join(&form.action).expect("action");
    let after_password =
        browser.http.post(action).form(&form.filled(&[("username", ALICE.0), ("password", ALICE.1)])).send().await.expect("sign in");
    let before_mfa = session_cookie(&jar, &server).expect("a session cookie after the password");
    // The second factor (enrolment: Alice has no app yet) through the pages.
    let landing = browser.drive(after_password, Some(ALICE), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("{landing:?}"));
    let after_mfa = session_cookie(&jar, &server).expect("a session cookie after MFA");
    assert_ne!(before_mfa, after_mfa, "MFA must rotate the session cookie");

    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let id_token = jwt_payload(&tokens.id_token().expect("ID token").to_string());
    let access = jwt_payload(tokens.access_token().secret());
    assert_eq!(id_token["acr"], "2");
    let sid = id_token["sid"].as_str().expect("sid").to_string();
    assert_eq!(access["sid"], sid.as_str(), "the access token names the same session");
    assert!(sid != before_mfa && sid != after_mfa, "sid is not the cookie");

    // The attacker sets what the token carries (or the pre-MFA cookie) as the cookie: not signed in.
    for (what, cookie) in [("the sid claim", sid.as_str()), ("the cookie seen before MFA", before_mfa.as_str())] {
        let landing = silent_with_cookie(&server, cookie).await;
        assert_eq!(landing.param("error").as_deref(), Some("login_required"), "{what}: {landing:?}");
    }
    // The browser's own, current cookie still works silently (the check can pass).
    assert!(silent_with_cookie(&server, &after_mfa).await.param("code").is_some(), "the live cookie signs in silently");
    // Signing in again (prompt=login) replaces the session: the old cookie ends with it.
    let again = browser.run(&authorize_url(&server, "&prompt=login"), Some(ALICE), REDIRECT_URI).await;
    assert!(again.param("code").is_some(), "{again:?}");
    let replaced = session_cookie(&jar, &server).expect("a new session cookie");
    assert_ne!(replaced, after_mfa);
    assert_eq!(
        silent_with_cookie(&server, &after_mfa).await.param("error").as_deref(),
        Some("login_required"),
        "the replaced session is over"
    );
    server.stop().await;
}

// 2 ------------------------------------------------------------------------

async fn authorize_bounds_what_it_keeps(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.server.pending_sign_ins_per_source = 3;
        c.server.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let browser = Browser::new();
    let get = |url: String, from: &'static str| {
        let http = browser.http.clone();
        async move { http.get(url).header("x-forwarded-for", from).send().await.expect("authorize") }
    };
    // One oversized value, or too much altogether: invalid_request, and the state is not echoed.
    let long = "x".repeat(3000);
    let medium = "y".repeat(1900);
    for extra in
        [format!("&state={long}"), format!("&state={medium}&login_hint={medium}&acr_values={medium}&max_age=1{medium}&prompt={medium}")]
    {
        let response = get(authorize_url(&server, &extra), "192.0.2.1").await;
        assert_eq!(response.status().as_u16(), 302, "{extra:.40}");
        let location = url::Url::parse(response.headers()["location"].to_str().expect("location")).expect("callback");
        let param = |n: &str| location.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
        assert_eq!(param("error").as_deref(), Some("invalid_request"), "{location}");
        assert_eq!(param("state"), None, "nothing oversized is echoed");
    }
    // Pending sign-ins per client address are bounded; another address is not affected.
    for _ in 0..3 {
        assert_eq!(get(authorize_url(&server, "&state=s"), "192.0.2.2").await.status().as_u16(), 200);
    }
    let refused = get(authorize_url(&server, "&state=s"), "192.0.2.2").await;
    let location = refused.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    assert!(location.contains("error=temporarily_unavailable"), "the fourth waiting sign-in is refused: {location}");
    assert_eq!(get(authorize_url(&server, "&state=s"), "192.0.2.3").await.status().as_u16(), 200);
    server.stop().await;
}

// 3 ------------------------------------------------------------------------

async fn only_a_global_administrator_deletes_an_administrator(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        with_admins(c);
    })
    .await;
    let app = app_token(&server, CONTOSO).await;
    let global_admin = user_id(&server, &app, CONTOSO_ADMIN.0).await;
    let alice = user_id(&server, &app, ALICE.0).await;
    let token = person_token(&server, ADMIN_PORTAL, Some(ADMIN_PORTAL_SECRET), USER_ADMIN).await;
    let users = server.url("/contoso/v1.0/users");
    let (status, _, body) = call(reqwest::Method::DELETE, format!("{users}/{global_admin}"), &token, None).await;
    assert_eq!(status, 403, "a User Administrator deletes a Global Administrator: {body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("Global Administrator"), "{body}");
    let (status, _, body) = call(reqwest::Method::GET, format!("{users}/{global_admin}"), &app, None).await;
    assert_eq!(status, 200, "still there: {body}");
    // The same for unlocking their sign-in; and the logs are not theirs to read.
    let (status, _, body) = call(reqwest::Method::POST, format!("{users}/{global_admin}/unlock"), &token, None).await;
    assert_eq!(status, 403, "a User Administrator unlocks a Global Administrator: {body}");
    let (status, _, body) = call(reqwest::Method::POST, format!("{users}/{alice}/unlock"), &token, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, _, body) = call(reqwest::Method::GET, server.url("/contoso/v1.0/auditLogs/signIns"), &token, None).await;
    assert_eq!(status, 403, "a User Administrator reads the sign-in log: {body}");
    let (status, _, body) = call(reqwest::Method::DELETE, format!("{users}/{alice}"), &token, None).await;
    assert_eq!(status, 204, "a member is the User Administrator's to delete: {body}");
    server.stop().await;
}

// 4 ------------------------------------------------------------------------

async fn delegated_calls_need_the_role_and_the_scope(backend: Backend) {
    let server = TestServer::start_with(backend, with_admins).await;
    let users = server.url("/contoso/v1.0/users");
    let new = json!({"displayName": "Mallory", "userPrincipalName": "mallory@contoso.example"});
    // A Global Administrator through an app granted only AuditLog.Read.All.
    let narrow = person_token(&server, DEMO_SPA, None, CONTOSO_ADMIN).await;
    assert_eq!(jwt_payload(&narrow)["scp"], "AuditLog.Read.All");
    for (method, body) in [(reqwest::Method::POST, Some(new.clone())), (reqwest::Method::GET, None)] {
        let (status, _, answer) = call(method.clone(), users.clone(), &narrow, body).await;
        assert_eq!(status, 403, "{method} with scp AuditLog.Read.All: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("User.ReadWrite.All"), "{answer}");
    }
    // What that app may do for its admin: read the logs.
    let (status, _, answer) = call(reqwest::Method::GET, server.url("/contoso/v1.0/auditLogs/directoryAudits"), &narrow, None).await;
    assert_eq!(status, 200, "{answer}");
    // The admin portal holds every admin scope: the role decides (a member is refused, an admin is not).
    let member = person_token(&server, ADMIN_PORTAL, Some(ADMIN_PORTAL_SECRET), ALICE).await;
    assert_eq!(call(reqwest::Method::POST, users.clone(), &member, Some(new.clone())).await.0, 403);
    let admin = person_token(&server, ADMIN_PORTAL, Some(ADMIN_PORTAL_SECRET), CONTOSO_ADMIN).await;
    let (status, _, created) = call(reqwest::Method::POST, users, &admin, Some(new)).await;
    assert_eq!(status, 201, "{created}");
    server.stop().await;
}

// 5 ------------------------------------------------------------------------

async fn a_guest_inviter_invites_guests_not_members(backend: Backend) {
    let server = TestServer::start_with(backend, with_admins).await;
    let inviter = person_token(&server, ADMIN_PORTAL, Some(ADMIN_PORTAL_SECRET), INVITER).await;
    let (status, body) = invite(&server, &inviter, "erin@partner.example", json!({"invitedUserType": "Member"})).await;
    assert_eq!(status, 403, "a Guest Inviter invites a Member: {body}");
    let (status, body) = invite(&server, &inviter, "erin@partner.example", json!({})).await;
    assert_eq!((status, body["invitedUserType"].as_str()), (201, Some("Guest")), "{body}");
    let admin = app_token(&server, CONTOSO).await;
    let (status, body) = invite(&server, &admin, "frank@partner.example", json!({"invitedUserType": "Member"})).await;
    assert_eq!((status, body["invitedUserType"].as_str()), (201, Some("Member")), "an administrator may: {body}");
    server.stop().await;
}

// 6 ------------------------------------------------------------------------

/// A listener that counts the connections made to it.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, count)
}

fn ssrf_provider(port: u16) -> b2b_idp::model::ExternalIdp {
    b2b_idp::model::ExternalIdp {
        id: String::new(),
        display_name: "Internal".into(),
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: "b2b".into(),
        client_secret: b2b_idp::model::Protected::Plain("secret".into()),
        domains: vec!["internal.example".into()],
        cloud: Default::default(),
    }
}

/// Redeems an invitation of someone at the provider's domain; true if the
/// server connected to the provider.
async fn redemption_reaches(server: &TestServer, seen: &AtomicUsize) -> bool {
    let token = app_token(server, CONTOSO).await;
    let (status, invitation) = invite(server, &token, "eve@internal.example", json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let landing = Browser::new().run(invitation["inviteRedeemUrl"].as_str().expect("url"), None, "http://never/").await;
    assert!(matches!(landing, Landing::Page { .. }), "{landing:?}");
    seen.load(Ordering::SeqCst) > 0
}

async fn identity_providers_at_internal_addresses_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let url = server.url("/contoso/v1.0/identity/identityProviders");
    for issuer in [
        "https://127.0.0.1:9443",
        "https://169.254.169.254/latest",
        "https://10.0.0.1",
        "https://[::ffff:127.0.0.1]",
        "https://[fd00::1]",
        "https://localhost:9443",
    ] {
        let body = json!({"@odata.type": "#microsoft.graph.openIdConnectIdentityProvider", "displayName": "x", "issuer": issuer, "clientId": "c", "clientSecret": "s", "domains": ["x.example"]});
        let (status, _, answer) = call(reqwest::Method::POST, url.clone(), &token, Some(body)).await;
        assert_eq!(status, 400, "{issuer}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("internal address"), "{issuer}: {answer}");
    }
    server.stop().await;

    // At connect time too: a provider configured at an internal address is never contacted ...
    let (port, seen) = counting_listener().await;
    let server = TestServer::start_with(backend, |c| c.b2b.identity_providers = vec![ssrf_provider(port)]).await;
    assert!(!redemption_reaches(&server, &seen).await, "the server connected to an internal address");
    server.stop().await;
    // ... unless the allow-list names it (so the refusal above is the policy, not a broken test).
    let (port, seen) = counting_listener().await;
    let server = TestServer::start_with(backend, |c| {
        c.b2b.identity_providers = vec![ssrf_provider(port)];
        c.b2b.allowed_internal_networks = vec!["127.0.0.1/32".into()];
    })
    .await;
    assert!(redemption_reaches(&server, &seen).await, "an allow-listed address is reached");
    server.stop().await;
}

// 7 ------------------------------------------------------------------------

async fn addresses_are_validated_and_normalised(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let users = server.url("/contoso/v1.0/users");
    let member = |upn: &str| json!({"displayName": "Carol", "userPrincipalName": upn});
    for bad in [
        "carol@contoso.example\u{0}1",
        "carol\n@contoso.example",
        "ca rol@contoso.example",
        "@",
        "carol@",
        "carol@@contoso.example",
        "carol@contoso.example\u{202e}",
    ] {
        let (status, _, body) = call(reqwest::Method::POST, users.clone(), &token, Some(member(bad))).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    // Spaces around and case are one spelling: the second is the same person.
    let (status, _, carol) = call(reqwest::Method::POST, users.clone(), &token, Some(member("  Carol@Contoso.Example "))).await;
    assert_eq!((status, carol["mail"].as_str()), (201, Some("carol@contoso.example")), "{carol}");
    assert_eq!(call(reqwest::Method::POST, users, &token, Some(member("carol@contoso.example"))).await.0, 409);

    // Invitations: the same rules; internationalised domains are kept in their ASCII form.
    for bad in ["carol@partner.example\u{0}7", "carol\t@partner.example", "x"] {
        assert_eq!(invite(&server, &token, bad, json!({})).await.0, 400, "{bad:?}");
    }
    let (status, invited) = invite(&server, &token, "Dana@Bücher.Example", json!({})).await;
    assert_eq!((status, invited["invitedUserEmailAddress"].as_str()), (201, Some("dana@xn--bcher-kva.example")), "{invited}");
    let (status, again) = invite(&server, &token, "dana@xn--bcher-kva.example", json!({})).await;
    assert_eq!((status, again["invitedUser"]["id"].clone()), (201, invited["invitedUser"]["id"].clone()), "one person: {again}");
    let cc = json!({"invitedUserMessageInfo": {"ccRecipients": [{"emailAddress": {"address": "boss@partner.example\u{0}"}}]}});
    assert_eq!(invite(&server, &token, "gina@partner.example", cc).await.0, 400);

    // CSV rows go through the same check.
    let csv = "erin@partner.example\u{1},Erin,https://apps.contoso.example/,false,\nfay@partner.example,Fay,https://apps.contoso.example/,false,\n";
    let report = bulk_report(&server, &token, csv).await;
    let results: Vec<&str> = report.lines().filter_map(|l| l.split(',').nth(2)).collect();
    assert_eq!(results, ["result", "refused", "created"], "{report}");
    server.stop().await;
}

/// The CSV report of a bulk invitation upload.
async fn bulk_report(server: &TestServer, token: &str, csv: &'static str) -> String {
    let response = api()
        .post(server.url("/contoso/v1.0/invitations/bulk"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await;
    response.expect("bulk").text().await.expect("report")
}

// 8 ------------------------------------------------------------------------

async fn invitations_are_no_mail_relay(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.tenants[0].collaboration.denied_domains = vec!["denied.example".into()];
        c.b2b.invitation_mails_per_inviter_hourly = 4;
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    let cc = |addresses: &[&str]| {
        let list: Vec<Value> = addresses.iter().map(|a| json!({"emailAddress": {"address": a}})).collect();
        json!({"invitedUserMessageInfo": {"customizedMessageBody": "Hello", "ccRecipients": list}})
    };
    let (status, body) = invite(&server, &token, "gus@partner.example", cc(&["a@partner.example", "b@partner.example"])).await;
    assert_eq!(status, 400, "two CC recipients: {body}");
    let (status, body) = invite(&server, &token, "gus@partner.example", cc(&["spy@denied.example"])).await;
    assert_eq!(status, 403, "a CC in a denied domain: {body}");
    let (status, body) = invite(&server, &token, "gus@partner.example", cc(&["boss@partner.example"])).await;
    assert_eq!(status, 201, "{body}");
    let invitee = last_mail_to(&server.outbox(), "gus@partner.example", "invited");
    assert!(invitee.link().is_some_and(|l| l.contains("/redeem?ticket=")), "the invitee gets the link");
    let notice = last_mail_to(&server.outbox(), "boss@partner.example", "invited");
    assert!(!notice.text.contains("ticket="), "the CC never gets a redeem link: {}", notice.text);

    // Two mails so far (invitee + CC) of this inviter's 4 an hour: two more, then refused.
    for who in ["hal@partner.example", "ida@partner.example"] {
        assert_eq!(invite(&server, &token, who, json!({})).await.0, 201, "{who}");
    }
    let (status, body) = invite(&server, &token, "jon@partner.example", json!({})).await;
    assert_eq!(status, 429, "past the hourly mail limit: {body}");
    let (status, body) = invite(&server, &token, "jon@partner.example", json!({"sendInvitationMessage": false})).await;
    assert_eq!(status, 201, "without a mail the invitation still works: {body}");
    server.stop().await;
}

// 9 ------------------------------------------------------------------------

async fn password_reset_answers_before_any_mail_is_sent(backend: Backend) {
    // An SMTP server that accepts and then says nothing until the test lets it.
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = smtp.local_addr().expect("addr").port();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let held = smtp.accept().await.map(|(stream, _)| {
            seen.fetch_add(1, Ordering::SeqCst);
            stream
        });
        let _ = released.await;
        drop(held);
    });
    let server = TestServer::start_with(backend, |c| {
        c.mail.transport = b2b_idp::config::MailTransport::Smtp;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = port;
        c.mail.smtp_tls = b2b_idp::config::SmtpTls::None;
    })
    .await;
    let browser = Browser::new();
    let reset = server.url("/contoso/password/reset");
    let page = browser.http.get(&reset).send().await.expect("page").text().await.expect("text");
    let form = post_forms(&page).into_iter().next().expect("reset form");
    let field = if form.has("username") { "username" } else { "email" };
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(30), browser.http.post(&reset).form(&form.filled(&[(field, ALICE.0)])).send())
            .await
            .expect("the answer does not wait for the mail server")
            .expect("reset");
    assert_eq!(answer.status().as_u16(), 200);
    assert!(answer.text().await.expect("text").contains("Check your mail"));
    // The mail is being sent in the background, to the server that is still silent.
    for _ in 0..100 {
        if accepted.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the mail was sent after the answer");
    let _ = release.send(());
    server.stop().await;
}

// 10 -----------------------------------------------------------------------

async fn concurrent_membership_changes_are_all_kept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let mut groups = vec![];
    for name in ["Red", "Green", "Blue"] {
        let body = json!({"displayName": name, "mailEnabled": false, "securityEnabled": true});
        let (status, _, group) = call(reqwest::Method::POST, server.url("/contoso/v1.0/groups"), &token, Some(body)).await;
        assert_eq!(status, 201, "{group}");
        groups.push(server.url(&format!("/contoso/v1.0/groups/{}/members", group["id"].as_str().expect("id"))));
    }
    let mut ids = vec![];
    for i in 0..24 {
        let body = json!({"displayName": format!("M{i}"), "userPrincipalName": format!("m{i}@contoso.example")});
        let (status, _, user) = call(reqwest::Method::POST, server.url("/contoso/v1.0/users"), &token, Some(body)).await;
        assert_eq!(status, 201, "{user}");
        ids.push(user["id"].as_str().expect("id").to_string());
    }
    // 24 users into each of three groups, all 72 requests at once.
    let mut adds = vec![];
    for members in &groups {
        for id in &ids {
            let body = json!({"@odata.id": format!("{}/contoso/v1.0/directoryObjects/{id}", server.base)});
            adds.push(call(reqwest::Method::POST, format!("{members}/$ref"), &token, Some(body)));
        }
    }
    for (status, _, body) in futures_util::future::join_all(adds).await {
        assert_eq!(status, 204, "{body}");
    }
    for members in &groups {
        let (_, _, listed) = call(reqwest::Method::GET, members.clone(), &token, None).await;
        assert_eq!(listed["value"].as_array().expect("members").len(), 24, "24 parallel adds, 24 members");
    }
    let mut removes = vec![];
    for members in &groups {
        for id in &ids[..12] {
            removes.push(call(reqwest::Method::DELETE, format!("{members}/{id}/$ref"), &token, None));
        }
    }
    for (status, _, body) in futures_util::future::join_all(removes).await {
        assert_eq!(status, 204, "{body}");
    }
    for members in &groups {
        let (_, _, listed) = call(reqwest::Method::GET, members.clone(), &token, None).await;
        assert_eq!(listed["value"].as_array().expect("members").len(), 12, "12 parallel removes, 12 left");
    }
    server.stop().await;
}

// 11 -----------------------------------------------------------------------

async fn members_live_in_the_tenants_domains_under_one_password_policy(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let users = server.url("/contoso/v1.0/users");
    let (status, _, body) =
        call(reqwest::Method::POST, users.clone(), &token, Some(json!({"displayName": "Fake Bob", "userPrincipalName": BOB.0}))).await;
    assert_eq!(status, 400, "a member in fabrikam's domain: {body}");
    // The real Bob can still be invited as a guest.
    assert_eq!(invite(&server, &token, BOB.0, json!({})).await.0, 201);
    let weak = json!({"displayName": "Kim", "userPrincipalName": "kim@contoso.example", "passwordProfile": {"password": "x"}});
    let (status, _, body) = call(reqwest::Method::POST, users.clone(), &token, Some(weak)).await;
    assert_eq!(status, 400, "a 1-character password: {body}");
    let good = json!({"displayName": "Kim", "userPrincipalName": "kim@contoso.example", "passwordProfile": {"password": "Kim-Passw0rd"}});
    assert_eq!(call(reqwest::Method::POST, users, &token, Some(good)).await.0, 201);
    server.stop().await;
}

// 12 -----------------------------------------------------------------------

async fn deny_lists_match_normalised_domains(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.tenants[0].collaboration.denied_domains = vec!["bücher.example".into(), "*.blocked.example".into()];
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    for denied in ["a@xn--bcher-kva.example", "b@BÜCHER.example", "c@team.blocked.example"] {
        let (status, body) = invite(&server, &token, denied, json!({})).await;
        assert_eq!(status, 403, "{denied}: {body}");
    }
    // A wildcard names subdomains only.
    assert_eq!(invite(&server, &token, "d@blocked.example", json!({})).await.0, 201);
    server.stop().await;
}

// 13 -----------------------------------------------------------------------

/// A sign-in form of a fresh request in `browser`.
async fn sign_in_form(server: &TestServer, browser: &Browser) -> Form {
    let page = browser.http.get(authorize_url(server, "&state=s")).send().await.expect("authorize").text().await.expect("page");
    post_forms(&page).into_iter().find(|f| f.has("username")).expect("sign-in form")
}

async fn post_sign_in(server: &TestServer, browser: &Browser, form: &Form, who: (&str, &str)) -> reqwest::Response {
    let action = url::Url::parse(&server.base).expect("base").join(&form.action).expect("action");
    browser.http.post(action).form(&form.filled(&[("username", who.0), ("password", who.1)])).send().await.expect("sign in")
}

async fn parallel_guesses_cannot_overshoot_the_source_limit(backend: Backend) {
    let server = TestServer::start(backend).await;
    guess_in_parallel(&server).await;
    server.stop().await;
}

async fn guess_in_parallel(server: &TestServer) {
    let browser = Browser::new();
    let mut forms = vec![];
    for _ in 0..100 {
        forms.push(sign_in_form(server, &browser).await);
    }
    // 100 wrong passwords at once over 20 accounts (5 each: no account's limit is reached).
    let browser = &browser;
    let guesses = forms.iter().enumerate().map(|(i, form)| {
        let email = format!("nobody{}@contoso.example", i % 20);
        async move { post_sign_in(server, browser, form, (&email, "wrong-password")).await.text().await.expect("page") }
    });
    let pages = futures_util::future::join_all(guesses).await;
    let checked = pages.iter().filter(|p| p.contains("Incorrect email or password")).count();
    let refused = pages.iter().filter(|p| p.contains("Too many failed sign-ins")).count();
    assert_eq!((checked, refused), (50, 50), "exactly the per-source limit of 50 is checked");
}

// 14 -----------------------------------------------------------------------

async fn csv_reports_neutralise_formulas(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let csv = "=HYPERLINK(\"http://evil.example\",\"x\"),X,https://apps.contoso.example/,false,\n+cmd@partner.example,Y,https://apps.contoso.example/,false,\n";
    let report = bulk_report(&server, &token, csv).await;
    let mut reader = csv_async::AsyncReaderBuilder::new().create_reader(report.as_bytes());
    let mut records = reader.records();
    let mut cells = vec![];
    use futures_util::StreamExt;
    while let Some(record) = records.next().await {
        cells.extend(record.expect("a CSV record").iter().map(str::to_string).collect::<Vec<_>>());
    }
    assert!(cells.iter().any(|c| c.starts_with("'=HYPERLINK")), "{report}");
    assert!(cells.iter().any(|c| c.starts_with("'+cmd")), "{report}");
    assert!(!cells.iter().any(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])), "no cell starts a formula: {report}");
    server.stop().await;
}

// 15 -----------------------------------------------------------------------

fn from(address: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(address).expect("header"));
    Browser::with(Arc::new(reqwest::cookie::Jar::default()), headers)
}

async fn a_stranger_cannot_lock_out_the_owner(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    // The stranger writes Alice's address (and junk) into the header; the
    // proxy appends the stranger's real one, which is what counts.
    let stranger = from("198.51.100.9, junk, 203.0.113.7");
    let mut last = String::new();
    for _ in 0..11 {
        let form = sign_in_form(&server, &stranger).await;
        last = post_sign_in(&server, &stranger, &form, (ALICE.0, "wrong-password")).await.text().await.expect("page");
    }
    assert!(last.contains("Too many failed sign-ins"), "the stranger's address is locked for Alice");
    // Alice, from her own address behind the same proxy, still signs in.
    let landing = from("198.51.100.9").run(&authorize_url(&server, "&state=s"), Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "the owner is not locked out: {landing:?}");
    server.stop().await;

    // Without a trusted proxy the header is the client's word: ignored.
    let server = TestServer::start(backend).await;
    for i in 0..11 {
        let browser = from(&format!("203.0.113.{i}"));
        let form = sign_in_form(&server, &browser).await;
        last = post_sign_in(&server, &browser, &form, (ALICE.0, "wrong-password")).await.text().await.expect("page");
    }
    assert!(last.contains("Too many failed sign-ins"), "rotating X-Forwarded-For does not escape the limit");
    server.stop().await;
}

// 16 -----------------------------------------------------------------------

async fn rs256_is_published_and_chosen_by_registration(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        let spa = c.tenants[0].apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
        spa.signing_alg = Some(b2b_idp::model::Alg::RS256);
    })
    .await;
    // Every tenant, whether or not an app asked for RS256 (fabrikam has none that does).
    for tenant in [CONTOSO, FABRIKAM] {
        let discovery = get_json(&server.url(&format!("/{tenant}/v2.0/.well-known/openid-configuration"))).await;
        let jwks = get_json(&server.url(&format!("/{tenant}/discovery/v2.0/keys"))).await;
        let algs: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["alg"].as_str()).collect();
        for advertised in discovery["id_token_signing_alg_values_supported"].as_array().expect("algs") {
            assert!(algs.contains(&advertised.as_str().expect("alg")), "{tenant} advertises {advertised} without a key: {jwks}");
        }
        assert!(algs.contains(&"RS256"), "{tenant}: {jwks}");
    }
    // demo-app (no choice) gets ES256, demo-spa (registered RS256) RS256; openidconnect verifies both.
    for (client, secret, alg) in [(DEMO_APP, Some(DEMO_APP_SECRET), "ES256"), (DEMO_SPA, None, "RS256")] {
        let rp = Rp::discover(&server, CONTOSO_ID, client, secret).await;
        let pending = rp.authorize(&[], true);
        let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
        let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
        let id_token = tokens.id_token().expect("ID token");
        id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
        assert_eq!(jwt_header(&id_token.to_string())["alg"], alg, "{client}");
    }
    server.stop().await;
}

// 17 -----------------------------------------------------------------------

async fn unknown_openid_scopes_are_ignored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let landing = Browser::new()
        .run(&server.url(&format!("/contoso/oauth2/v2.0/authorize?client_id={DEMO_APP}&response_type=code&redirect_uri={REDIRECT_URI}&scope=openid%20phone%20address&nonce=n")), Some(ALICE), REDIRECT_URI)
        .await;
    let code = landing.param("code").unwrap_or_else(|| panic!("openid phone address: {landing:?}"));
    let (status, tokens) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", DEMO_APP),
            ("client_secret", DEMO_APP_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid", "unknown values are dropped, not granted");
    // An unknown resource scope is still refused.
    let landing = Browser::new()
        .run(&server.url(&format!("/contoso/oauth2/v2.0/authorize?client_id={DEMO_APP}&response_type=code&redirect_uri={REDIRECT_URI}&scope=openid%20api://nowhere/read&nonce=n")), Some(ALICE), REDIRECT_URI)
        .await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_scope"));
    server.stop().await;
}

// 18 -----------------------------------------------------------------------

async fn acr_values_is_a_preference_list(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&[], true);
    let browser = Browser::new();
    let landing = browser.run(&format!("{}&acr_values=1%202", pending.url), Some(ALICE), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("{landing:?}"));
    assert!(browser.mfa_prompts.lock().expect("lock").is_empty(), "'1 2' accepts single factor: no MFA enrolment");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    assert_eq!(jwt_payload(&tokens.id_token().expect("ID token").to_string())["acr"], "1");
    // `2` alone still requires it.
    let pending = rp.authorize(&[], true);
    let browser = Browser::new();
    let landing = browser.run(&format!("{}&acr_values=2", pending.url), Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    assert_eq!(browser.mfa_prompts.lock().expect("lock").len(), 1, "acr_values=2 asks for MFA");
    server.stop().await;
}

// 19, 20 -------------------------------------------------------------------

async fn code_for(server: &TestServer, scope: &str) -> String {
    let url = server.url(&format!(
        "/contoso/oauth2/v2.0/authorize?client_id={DEMO_APP}&response_type=code&redirect_uri={REDIRECT_URI}&scope={scope}&nonce=n"
    ));
    Browser::new().run(&url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code")
}

fn redeem_form(code: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("client_id", DEMO_APP),
        ("client_secret", DEMO_APP_SECRET),
    ]
}

async fn a_replayed_code_revokes_its_access_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let code = code_for(&server, "openid%20profile%20offline_access").await;
    let (status, tokens) = token_request(&server, CONTOSO, &redeem_form(&code)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token").to_string();
    let userinfo = server.url("/contoso/openid/userinfo");
    assert_eq!(api().get(&userinfo).bearer_auth(&access).send().await.expect("userinfo").status().as_u16(), 200);
    let (status, replay) = token_request(&server, CONTOSO, &redeem_form(&code)).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "{replay}");
    assert_eq!(api().get(&userinfo).bearer_auth(&access).send().await.expect("userinfo").status().as_u16(), 401, "revoked by the replay");
    let introspected: Value = api()
        .post(server.url("/contoso/oauth2/v2.0/introspect"))
        .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json");
    assert_eq!(introspected["active"], false, "{introspected}");
    server.stop().await;
}

async fn concurrent_redemptions_speak_of_the_code(backend: Backend) {
    let server = TestServer::start(backend).await;
    // The race is narrow: many rounds, so the old wording would show.
    for _ in 0..20 {
        let code = code_for(&server, "openid%20offline_access").await;
        let form = redeem_form(&code);
        let (a, b) = tokio::join!(token_request(&server, CONTOSO, &form), token_request(&server, CONTOSO, &form));
        for (status, body) in [a, b] {
            if status != 200 {
                assert_eq!(body["error"], "invalid_grant", "{body}");
                let description = body["error_description"].as_str().unwrap_or_default();
                assert!(description.contains("authorization code") && !description.contains("refresh token"), "{description}");
            }
        }
    }
    server.stop().await;
}

on_both_backends!(
    sid_is_no_cookie_and_mfa_rotates_the_session,
    authorize_bounds_what_it_keeps,
    only_a_global_administrator_deletes_an_administrator,
    delegated_calls_need_the_role_and_the_scope,
    a_guest_inviter_invites_guests_not_members,
    identity_providers_at_internal_addresses_are_refused,
    addresses_are_validated_and_normalised,
    invitations_are_no_mail_relay,
    password_reset_answers_before_any_mail_is_sent,
    concurrent_membership_changes_are_all_kept,
    members_live_in_the_tenants_domains_under_one_password_policy,
    deny_lists_match_normalised_domains,
    parallel_guesses_cannot_overshoot_the_source_limit,
    csv_reports_neutralise_formulas,
    a_stranger_cannot_lock_out_the_owner,
    rs256_is_published_and_chosen_by_registration,
    unknown_openid_scopes_are_ignored,
    acr_values_is_a_preference_list,
    a_replayed_code_revokes_its_access_token,
    concurrent_redemptions_speak_of_the_code,
);

/// "Use another account" links back to the identifier page of the same
/// sign-in request; only the browser that had the request may follow it
/// (the link carries its CSRF token), so a request id seen elsewhere is no
/// form for someone else. `login_hint` skips to the password page only
/// for an email address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identifier_page_belongs_to_its_browser() {
    let server = TestServer::start(Backend::Sled).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let victim = Browser::new();
    let page = victim.http.get(&rp.authorize(&["profile"], true).url).send().await.expect("authorize").text().await.expect("page");
    let form = post_forms(&page).into_iter().next().expect("identifier page");
    let password_page =
        victim.http.post(&form.action).form(&form.filled(&[("username", ALICE.0)])).send().await.expect("next").text().await.expect("page");
    let password_form = post_forms(&password_page).into_iter().next().expect("password page");
    assert!(password_form.has("password") && password_form.value("username") == Some(ALICE.0), "{password_page}");
    let switch = select_attr(&password_page, "a[href*='login?req=']", "href");
    let switch = server.url(&switch[0].replace(&server.base, ""));
    assert!(switch.contains("csrf_token="), "{switch}");

    let attacker = Browser::new().http.get(&switch).send().await.expect("switch");
    assert_eq!(attacker.status().as_u16(), 400, "another browser gets no form for the victim's request");
    assert!(post_forms(&attacker.text().await.expect("page")).is_empty());
    let tampered = victim.http.get(switch.replace("csrf_token=", "csrf_token=x")).send().await.expect("switch");
    assert_eq!(tampered.status().as_u16(), 400);
    let back = victim.http.get(&switch).send().await.expect("switch").text().await.expect("page");
    let again = post_forms(&back).into_iter().next().expect("the identifier page again");
    assert_eq!((again.value("username"), again.has("password")), (Some(""), false), "{back}");

    // A hint that is no address prefills the field and skips nothing.
    let odd = format!("{}&login_hint=Your%20account%20is%20suspended", rp.authorize(&["profile"], true).url);
    let page = Browser::new().http.get(&odd).send().await.expect("authorize").text().await.expect("page");
    let form = post_forms(&page).into_iter().next().expect("identifier page");
    assert!(!form.has("password") && select_text(&page, ".identity").is_empty(), "{page}");
    let hinted = format!("{}&login_hint={}", rp.authorize(&["profile"], true).url, ALICE.0);
    let page = Browser::new().http.get(&hinted).send().await.expect("authorize").text().await.expect("page");
    assert_eq!(select_text(&page, ".identity"), [ALICE.0], "a member's address goes straight to the password: {page}");
    server.stop().await;
}
