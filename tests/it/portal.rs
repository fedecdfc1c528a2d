//! The portal over HTTP: the admin console and My Apps sign in through the
//! tenant's own authorize endpoint (code + PKCE) and act with the person's
//! own directory roles. What an attacker tries is refused: a state from
//! another browser, a form without its CSRF token, a sensitive action on an
//! old sign-in, changing the built-in portal app, a session ended elsewhere.

use serde_json::json;

use crate::harness::*;

const ADMIN: (&str, &str) = ("admin@contoso.example", "Contoso-Admin-1");

fn callback(server: &TestServer) -> String {
    server.url(&format!("/{CONTOSO_ID}/portal/callback"))
}

/// Signs `who` in from contoso's portal page `page` and returns where the
/// callback sends the browser, and that page (status, HTML).
async fn open(server: &TestServer, browser: &Browser, page: &str, who: (&str, &str)) -> (u16, String) {
    let landing = browser.run(&server.url(&format!("/contoso/{page}")), Some(who), &callback(server)).await.client();
    let answer = browser.http.get(landing.as_str()).send().await.expect("callback");
    assert_eq!(answer.status(), 303, "the callback signs the portal in");
    let location = answer.headers()["location"].to_str().expect("location").to_string();
    assert_eq!(location, server.url(&format!("/{CONTOSO_ID}/{page}")), "and returns to the page asked for");
    let shown = browser.http.get(&location).send().await.expect("page");
    (shown.status().as_u16(), shown.text().await.expect("body"))
}

fn csrf(html: &str) -> String {
    select_attr(html, "input[name=csrf_token]", "value").first().cloned().expect("a CSRF token on the page")
}

async fn user_exists(server: &TestServer, email: &str) -> bool {
    let token = app_token(server, CONTOSO).await;
    let url = server.url(&format!("/contoso/v1.0/users?$filter=mail eq '{email}'"));
    let (status, _, body) = call(reqwest::Method::GET, url, &token, None).await;
    assert_eq!(status, 200, "{body}");
    !body["value"].as_array().expect("value").is_empty()
}

/// The console sends a browser without a sign-in to the tenant's own
/// authorize endpoint as the built-in public client, with PKCE; the
/// administrator lands on the overview; the code works once.
#[tokio::test]
async fn the_console_signs_in_as_a_client_of_its_own_tenant() {
    let server = TestServer::start(Backend::Sled).await;
    let browser = Browser::new();
    let first = browser.http.get(server.url("/contoso/admin/")).send().await.expect("console");
    assert_eq!(first.status(), 303);
    let to = url::Url::parse(first.headers()["location"].to_str().expect("location")).expect("URL");
    assert!(to.path().ends_with(&format!("/{CONTOSO_ID}/oauth2/v2.0/authorize")), "{to}");
    let param = |name: &str| to.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("client_id").as_deref(), Some("b2b-idp-portal"));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("redirect_uri"), Some(callback(&server)));
    assert!(param("state").is_some_and(|s| s.len() > 40), "a signed state");

    let landing = browser.run(to.as_str(), Some(ADMIN), &callback(&server)).await.client();
    let answer = browser.http.get(landing.as_str()).send().await.expect("callback");
    assert_eq!(answer.status(), 303);
    let overview = browser.http.get(server.url("/contoso/admin/")).send().await.expect("overview");
    assert_eq!(overview.status(), 200);
    let html = overview.text().await.expect("body");
    assert_eq!(select_text(&html, "#count-members strong"), ["2"], "admin and alice: {html}");
    let users = browser.http.get(server.url("/contoso/admin/users")).send().await.expect("users");
    let html = users.text().await.expect("body");
    let last = select_text(&html, "[data-email='admin@contoso.example'] .last-sign-in");
    let at = b2b_idp::util::parse_rfc3339_ms(last.first().expect("the admin's row")).expect("a date");
    assert!(b2b_idp::util::now_ms() - at < 300_000, "the sign-in just made: {last:?}");
    assert_eq!(select_text(&html, "[data-email='alice@contoso.example'] .last-sign-in"), ["None in the sign-in log"]);

    // The same callback again: the code was spent, and nothing is signed in by it.
    let again = Browser::new();
    let replay = again.http.get(landing.as_str()).send().await.expect("replay");
    assert_eq!(replay.status(), 400, "another browser's state is refused");
    let replay = browser.http.get(landing.as_str()).send().await.expect("replay");
    assert_eq!(replay.status(), 400, "a spent code is refused");
    server.stop().await;
}

/// A member without directory roles has My Apps, not the console: the
/// console's refusal is the admin API's own.
#[tokio::test]
async fn a_member_without_roles_has_my_apps_but_not_the_console() {
    let server = TestServer::start(Backend::Sled).await;
    let browser = Browser::new();
    let (status, html) = open(&server, &browser, "admin/", ALICE).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("directory role"), "the API's reason: {html}");
    let shown = browser.http.get(server.url(&format!("/{CONTOSO_ID}/myapps"))).send().await.expect("myapps");
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.expect("body");
    let apps = select_text(&html, "#apps a");
    assert_eq!(apps, ["Contoso Demo App"], "the published app; not the portal itself, nor apps without a home page she never used");
    assert_eq!(select_attr(&html, "#apps a", "href"), ["http://127.0.0.1:8400/"]);
    assert!(select_attr(&html, "#admin-link", "href").is_empty(), "no console link without a role");
    server.stop().await;
}

/// Every console form needs the person's CSRF token: a form posted from
/// another site (no token, or another browser's) invites nobody.
#[tokio::test]
async fn console_forms_need_their_csrf_token() {
    let server = TestServer::start(Backend::Sled).await;
    let admin = Browser::new();
    let (status, html) = open(&server, &admin, "admin/invite", ADMIN).await;
    assert_eq!(status, 200);
    let token = csrf(&html);
    let invite = server.url(&format!("/{CONTOSO_ID}/admin/invite"));

    let forged = admin.http.post(&invite).form(&[("invitedUserEmailAddress", "mallory@evil.example")]).send().await.expect("post");
    assert_eq!(forged.status(), 400, "no token");
    let other = Browser::new();
    open(&server, &other, "admin/invite", ADMIN).await;
    let foreign = other.http.post(&invite).form(&[("csrf_token", token.as_str()), ("invitedUserEmailAddress", "mallory@evil.example")]);
    assert_eq!(foreign.send().await.expect("post").status(), 400, "another browser's token");
    let upload = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::text("mallory@evil.example,M,,false,\n"));
    let bulk = admin.http.post(server.url(&format!("/{CONTOSO_ID}/admin/invite/bulk"))).multipart(upload).send().await.expect("post");
    assert_eq!(bulk.status(), 400, "a bulk upload without its token");
    assert!(!user_exists(&server, "mallory@evil.example").await, "nobody was invited");

    let done = admin.http.post(&invite).form(&[("csrf_token", token.as_str()), ("invitedUserEmailAddress", "carol@partner.example")]);
    let html = done.send().await.expect("post").text().await.expect("body");
    assert_eq!(select_text(&html, "#invited"), ["An invitation was sent to carol@partner.example."], "{html}");
    assert!(user_exists(&server, "carol@partner.example").await);
    // Resetting the redemption names the guest by id, as Graph's resetRedemption does.
    let users = admin.http.get(server.url(&format!("/{CONTOSO_ID}/admin/users?q=carol"))).send().await.expect("users");
    let html = users.text().await.expect("body");
    let carol = select_attr(&html, "[data-email='carol@partner.example'] input[name=user]", "value");
    assert_eq!(carol.len(), 1, "{html}");
    let again = server.url(&format!("/{CONTOSO_ID}/admin/invite/again"));
    let form = [("csrf_token", token.as_str()), ("email", "carol@partner.example"), ("user", carol[0].as_str()), ("action", "reset")];
    let done = admin.http.post(&again).form(&form).send().await.expect("post");
    let html = done.text().await.expect("body");
    assert_eq!(
        select_text(&html, "[role=status]"),
        ["The redemption of carol@partner.example was reset and a new invitation sent."],
        "{html}"
    );

    let bad = admin.http.post(&invite).form(&[("csrf_token", token.as_str()), ("invitedUserEmailAddress", "not an address")]);
    let html = bad.send().await.expect("post").text().await.expect("body");
    assert!(select_text(&html, "#invite-error")[0].contains("invitedUserEmailAddress"), "the API's reason, on the form: {html}");
    assert_eq!(select_attr(&html, "#invitedUserEmailAddress", "value"), ["not an address"], "what was typed is kept");
    server.stop().await;
}

/// Changing cross-tenant trust on a sign-in older than `recent_sign_in`
/// asks for the password again (`max_age`) and changes nothing meanwhile.
#[tokio::test]
async fn sensitive_actions_need_a_recent_sign_in() {
    let server = TestServer::start_with(Backend::Sled, |c| c.tokens.recent_sign_in = 1).await;
    let browser = Browser::new();
    let (status, html) = open(&server, &browser, "admin/partners", ADMIN).await;
    assert_eq!(status, 200);
    assert!(html.contains("asked twice"), "the double-MFA switch explains itself");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let form = [("csrf_token", csrf(&html)), ("partner", FABRIKAM.to_string()), ("mfa", "on".to_string())];
    let answer = browser.http.post(server.url(&format!("/{CONTOSO_ID}/admin/partners"))).form(&form).send().await.expect("post");
    assert_eq!(answer.status(), 303);
    let to = url::Url::parse(answer.headers()["location"].to_str().expect("location")).expect("URL");
    assert!(to.path().ends_with("/oauth2/v2.0/authorize"), "{to}");
    assert!(to.query_pairs().any(|(k, v)| k == "max_age" && v == "1"), "{to}");
    let token = app_token(&server, CONTOSO).await;
    let partner = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{FABRIKAM_ID}"));
    assert_eq!(call(reqwest::Method::GET, partner.clone(), &token, None).await.0, 404, "nothing changed");

    // Signing in again (the password page, not the session) lets it through.
    let landing = browser.run(to.as_str(), Some(ADMIN), &callback(&server)).await.client();
    browser.http.get(landing.as_str()).send().await.expect("callback");
    let html =
        browser.http.get(server.url(&format!("/{CONTOSO_ID}/admin/partners"))).send().await.expect("page").text().await.expect("body");
    let form = [("csrf_token", csrf(&html)), ("partner", FABRIKAM.to_string()), ("mfa", "on".to_string())];
    let answer = browser.http.post(server.url(&format!("/{CONTOSO_ID}/admin/partners"))).form(&form).send().await.expect("post");
    assert_eq!(answer.status(), 303);
    assert!(answer.headers()["location"].to_str().expect("location").ends_with("/admin/partners"), "done, back to the list");
    let (status, _, body) = call(reqwest::Method::GET, partner, &token, None).await;
    assert_eq!((status, body["inboundTrust"]["isMfaAccepted"].clone()), (200, json!(true)));
    server.stop().await;
}

/// The portal is built in: no API caller may add a redirect URI to it (and
/// so collect an administrator's token), nor delete it.
#[tokio::test]
async fn the_built_in_portal_cannot_be_changed() {
    let server = TestServer::start(Backend::Sled).await;
    let browser = Browser::new();
    browser.http.get(server.url("/contoso/myapps")).send().await.expect("the portal registers itself");
    let token = app_token(&server, CONTOSO).await;
    let app = server.url("/contoso/v1.0/applications/b2b-idp-portal");
    let (status, _, listed) = call(reqwest::Method::GET, app.clone(), &token, None).await;
    assert_eq!(status, 200, "{listed}");
    let change = json!({"spa": {"redirectUris": ["https://evil.example/cb"]}});
    assert_eq!(call(reqwest::Method::PATCH, app.clone(), &token, Some(change)).await.0, 403);
    assert_eq!(call(reqwest::Method::DELETE, app.clone(), &token, None).await.0, 403);
    let secret = server.url("/contoso/v1.0/applications/b2b-idp-portal/addPassword");
    assert_eq!(call(reqwest::Method::POST, secret, &token, Some(json!({}))).await.0, 403);
    server.stop().await;
}

/// "Sign out everywhere" on My Apps ends the person's other sessions too.
#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let server = TestServer::start(Backend::Sled).await;
    let (here, elsewhere) = (Browser::new(), Browser::new());
    let (_, html) = open(&server, &here, "myapps", ALICE).await;
    open(&server, &elsewhere, "myapps", ALICE).await;
    let everywhere = server.url(&format!("/{CONTOSO_ID}/myapps/sign-out-everywhere"));
    let forged = here.http.post(&everywhere).form(&[("csrf_token", "forged")]).send().await.expect("post");
    assert_eq!(forged.status(), 400);
    assert_eq!(elsewhere.http.get(server.url("/contoso/myapps")).send().await.expect("get").status(), 200, "a forged form ends nothing");
    let done = here.http.post(&everywhere).form(&[("csrf_token", csrf(&html))]).send().await.expect("post");
    assert_eq!(done.status(), 200);
    for browser in [&here, &elsewhere] {
        let shown = browser.http.get(server.url("/contoso/myapps")).send().await.expect("get");
        assert_eq!(shown.status(), 303, "signed out: off to sign in again");
    }
    server.stop().await;
}

/// Security info on My Apps: a first authenticator app after a recent
/// sign-in, then a new one in its place with a code from the current one.
/// A wrong code changes nothing, a tampered page is refused, and the old
/// app's codes stop working.
#[tokio::test]
async fn a_person_replaces_their_authenticator_on_my_apps() {
    let server = TestServer::start(Backend::Sled).await;
    let browser = Browser::new();
    let (_, html) = open(&server, &browser, "myapps", ALICE).await;
    assert_eq!(select_text(&html, "#authenticator"), ["Not set up."]);
    let authenticator = server.url(&format!("/{CONTOSO_ID}/myapps/authenticator"));
    let confirm = format!("{authenticator}/confirm");
    let post = |url: &str, form: Vec<(&str, String)>| {
        let request = browser.http.post(url).form(&form);
        async move {
            let response = request.send().await.expect("post");
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    };
    let field = |html: &str, name: &str| select_attr(html, &format!("input[name={name}]"), "value").first().cloned().expect(name);

    let (status, page) = post(&authenticator, vec![("csrf_token", csrf(&html))]).await;
    assert_eq!(status, 200, "{page}");
    let first = select_text(&page, "#totp-secret")[0].clone();
    enrol_authenticator("alice-first", &first);
    let (status, _) = post(&confirm, vec![("csrf_token", csrf(&page)), ("ix", field(&page, "ix")), ("otp", "12345x".into())]).await;
    assert_eq!(status, 400, "a wrong first code sets nothing up");
    let otp = authenticator_code("alice-first").await;
    let (status, codes) = post(&confirm, vec![("csrf_token", csrf(&page)), ("ix", field(&page, "ix")), ("otp", otp)]).await;
    assert_eq!(status, 200, "{codes}");
    let recovery = select_text(&codes, "#recovery-codes li");
    assert_eq!(recovery.len(), 8, "{codes}");

    // A recovery code starts a replacement but keeps the app until the new
    // one works: abandoning the page leaves the account with its MFA.
    let html = browser.http.get(server.url("/contoso/myapps")).send().await.expect("get").text().await.expect("body");
    let (status, _) = post(&authenticator, vec![("csrf_token", csrf(&html)), ("recovery_code", recovery[0].clone())]).await;
    assert_eq!(status, 200, "a recovery code lets the person set up a new app");
    let (status, _) = post(&authenticator, vec![("csrf_token", csrf(&html)), ("recovery_code", recovery[0].clone())]).await;
    assert_eq!(status, 400, "once");

    let html = browser.http.get(server.url("/contoso/myapps")).send().await.expect("get").text().await.expect("body");
    assert!(select_text(&html, "#authenticator")[0].starts_with("Set up on"), "{html}");
    let (status, refused) = post(&authenticator, vec![("csrf_token", csrf(&html)), ("otp", "000001".into())]).await;
    assert_eq!(status, 400);
    assert_eq!(select_text(&refused, "#security-error"), ["That code is not right."]);
    let otp = authenticator_code("alice-first").await;
    let (status, page) = post(&authenticator, vec![("csrf_token", csrf(&html)), ("otp", otp)]).await;
    assert_eq!(status, 200, "{page}");
    let second = select_text(&page, "#totp-secret")[0].clone();
    assert_ne!(second, first, "a new key");

    // The page's signed state cannot be swapped for one of the attacker's choosing.
    let ix = field(&page, "ix");
    let (payload, mac) = ix.split_once('.').expect("signed");
    let forged = format!("{}.{mac}", payload.chars().rev().collect::<String>());
    let (status, _) = post(&confirm, vec![("csrf_token", csrf(&page)), ("ix", forged), ("otp", "000000".into())]).await;
    assert_eq!(status, 400, "a tampered page is refused");

    enrol_authenticator("alice-second", &second);
    let otp = authenticator_code("alice-second").await;
    let (status, codes) = post(&confirm, vec![("csrf_token", csrf(&page)), ("ix", ix), ("otp", otp)]).await;
    assert_eq!(status, 200, "{codes}");
    let html = browser.http.get(server.url("/contoso/myapps")).send().await.expect("get").text().await.expect("body");
    let otp = authenticator_code("alice-first").await;
    let (status, _) = post(&authenticator, vec![("csrf_token", csrf(&html)), ("otp", otp)]).await;
    assert_eq!(status, 400, "the old app's codes no longer work");
    server.stop().await;
}

/// Signing out at the tenant ends the portal too: its cookie goes, and its
/// token is revoked, so a copy of the cookie's value is no API credential.
#[tokio::test]
async fn signing_out_ends_the_portal_and_its_token() {
    let server = TestServer::start(Backend::Sled).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = Browser::with(jar.clone(), reqwest::header::HeaderMap::new());
    open(&server, &browser, "admin/", ADMIN).await;
    let base = url::Url::parse(&server.url("/")).expect("URL");
    let cookies = reqwest::cookie::CookieStore::cookies(jar.as_ref(), &base).expect("cookies");
    let token = cookies
        .to_str()
        .expect("ascii")
        .split("; ")
        .find_map(|c| c.strip_prefix(&format!("b2b_portal_{CONTOSO_ID}=")))
        .expect("the portal cookie")
        .to_string();
    let me = server.url("/contoso/v1.0/me");
    assert_eq!(call(reqwest::Method::GET, me.clone(), &token, None).await.0, 200, "the portal's token, before");

    let logout = browser.http.get(server.url("/contoso/oauth2/v2.0/logout")).send().await.expect("logout page").text().await.expect("body");
    let form = [("csrf_token", csrf(&logout)), ("confirm", "yes".to_string())];
    let done = browser.http.post(server.url("/contoso/oauth2/v2.0/logout")).form(&form).send().await.expect("logout");
    assert_eq!(done.status(), 200);
    let cleared = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or_default().starts_with(&format!("b2b_portal_{CONTOSO_ID}=;")));
    assert!(cleared, "the portal cookie is removed");
    assert_eq!(call(reqwest::Method::GET, me, &token, None).await.0, 401, "and its token revoked");
    assert_eq!(browser.http.get(server.url("/contoso/admin/")).send().await.expect("console").status(), 303, "signed out of the console");
    server.stop().await;
}

/// My Apps lists only the organisations where the person is the same
/// identity: an invitation to the same address that nobody redeemed, in
/// another tenant, is not the person's business (nor anyone's who signs in
/// with that address).
#[tokio::test]
async fn my_apps_lists_only_the_persons_own_organisations() {
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, FABRIKAM).await;
    let invitation = json!({"invitedUserEmailAddress": ALICE.0, "inviteRedirectUrl": "https://apps.fabrikam.example/"});
    let (status, _, body) = call(reqwest::Method::POST, server.url("/fabrikam/v1.0/invitations"), &token, Some(invitation)).await;
    assert_eq!(status, 201, "{body}");
    let browser = Browser::new();
    let (_, html) = open(&server, &browser, "myapps", ALICE).await;
    assert_eq!(select_text(&html, "#organisations li").len(), 1, "only contoso: {html}");
    server.stop().await;
}
