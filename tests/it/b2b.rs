//! B2B collaboration end to end: invite, mail, redeem at home, consent, and
//! guest sign-in at the home tenant, checked with the openidconnect crate.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{json, Value};

use crate::harness::*;

const WELCOME: &str = "https://apps.contoso.example/welcome";

/// Invites `email` to contoso with the admin app; returns the invitation.
pub async fn invite(server: &TestServer, token: &str, email: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"invitedUserEmailAddress": email, "inviteRedirectUrl": WELCOME, "sendInvitationMessage": true});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, _, invitation) = call(reqwest::Method::POST, server.url("/contoso/v1.0/invitations"), token, Some(body)).await;
    (status, invitation)
}

async fn user(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, _, user) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/users/{id}")), token, None).await;
    assert_eq!(status, 200, "{user}");
    user
}

/// A guest's ID token at contoso, verified by the RP library; returns (claims JSON, refresh token).
async fn guest_sign_in(server: &TestServer, browser: &Browser, who: (&str, &str)) -> (Value, Option<String>) {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile", "email", "offline_access"], true);
    let landing = browser.run(&pending.url, Some(who), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("a code for the guest: {landing:?}"));
    let tokens = rp.exchange(&code, pending.verifier).await.expect("token response");
    let id_token = tokens.id_token().expect("ID token");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("ID token verifies against contoso's JWKS");
    let access = jwt_payload(tokens.access_token().secret());
    let claims = jwt_payload(&id_token.to_string());
    for claim in ["tid", "oid", "user_type", "acct", "home_tid", "idp", "amr", "acr"] {
        assert_eq!(access[claim], claims[claim], "access token and ID token agree on {claim}");
    }
    (claims, tokens.refresh_token().map(|r| r.secret().clone()))
}

async fn bob_is_invited_redeems_at_fabrikam_and_signs_in_as_a_guest(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let message = json!({"customizedMessageBody": "Welcome to the Contoso project, Bob!"});
    let (status, invitation) =
        invite(&server, &token, BOB.0, json!({"invitedUserDisplayName": "Bob (Fabrikam)", "invitedUserMessageInfo": message})).await;
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["status"], "PendingAcceptance");
    assert_eq!(invitation["invitedUserType"], "Guest");
    let guest_id = invitation["invitedUser"]["id"].as_str().expect("invitedUser.id").to_string();
    let redeem_url = invitation["inviteRedeemUrl"].as_str().expect("inviteRedeemUrl").to_string();
    assert!(redeem_url.starts_with(&server.url("/")), "{redeem_url}");

    // The guest user exists at once, pending.
    let guest = user(&server, &token, &guest_id).await;
    assert_eq!(
        (guest["userType"].as_str(), guest["externalUserState"].as_str(), guest["creationType"].as_str()),
        (Some("Guest"), Some("PendingAcceptance"), Some("Invitation"))
    );
    assert_eq!(guest["displayName"], "Bob (Fabrikam)");

    // Not redeemed yet: contoso's sign-in refuses the guest with a clear message.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let refused = Browser::new().run(&rp.authorize(&[], true).url, Some(BOB), REDIRECT_URI).await;
    let Landing::Page { body, .. } = refused else { panic!("a guest who has not redeemed got a code: {refused:?}") };
    assert!(body.contains("not accepted the invitation yet"), "{body}");

    // The mail: to Bob, naming contoso, the custom message and the redeem link.
    let mail = last_mail_to(&server.outbox(), BOB.0, "invited");
    assert!(mail.subject.contains("Contoso"), "{mail:?}");
    assert!(mail.text.contains("Welcome to the Contoso project, Bob!"), "{mail:?}");
    assert_eq!(mail.link().as_deref(), Some(redeem_url.as_str()));

    // Redeem: landing page, sign in at fabrikam's own page, consent at contoso, then the app.
    let browser = Browser::new();
    let landing = browser.run(&redeem_url, Some(BOB), WELCOME).await;
    assert_eq!(landing.client().as_str(), WELCOME);
    let guest = user(&server, &token, &guest_id).await;
    assert_eq!(guest["externalUserState"], "Accepted");
    let (_, _, after) = call(
        reqwest::Method::GET,
        server.url(&format!("/contoso/v1.0/invitations/{}", invitation["id"].as_str().expect("id"))),
        &token,
        None,
    )
    .await;
    assert_eq!(after["status"], "Completed", "{after}");

    // A later sign-in in a fresh browser: contoso sends Bob home, then issues guest tokens.
    let (claims, refresh) = guest_sign_in(&server, &Browser::new(), BOB).await;
    assert_eq!(claims["tid"], CONTOSO_ID);
    assert_eq!(claims["oid"], guest_id.as_str());
    assert_eq!(claims["sub"], guest_id.as_str());
    assert_eq!(claims["user_type"], "Guest");
    assert_eq!(claims["acct"], 1);
    assert_eq!(claims["home_tid"], FABRIKAM_ID);
    assert_eq!(claims["idp"], server.issuer(FABRIKAM_ID));
    // Both tenants demand MFA in the demo (see tests/it/mfa.rs): asked at each.
    assert_eq!(claims["amr"], json!(["fed", "mfa"]));
    assert_eq!(claims["acr"], "2");
    assert_eq!(claims["email"], BOB.0);

    // The link cannot be redeemed again.
    let again = Browser::new().run(&redeem_url, Some(BOB), WELCOME).await;
    let Landing::Page { body, .. } = again else { panic!("{again:?}") };
    assert!(body.contains("already been accepted"), "{body}");

    // Deleting the guest ends it: the refresh token no longer works.
    let (status, _, _) = call(reqwest::Method::DELETE, server.url(&format!("/contoso/v1.0/users/{guest_id}")), &token, None).await;
    assert_eq!(status, 204);
    let refresh = refresh.expect("a refresh token (offline_access)");
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    server.stop().await;
}

async fn another_home_account_cannot_redeem_or_take_over(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fabrikam = app_token(&server, FABRIKAM).await;
    let carol =
        json!({"displayName": "Carol", "userPrincipalName": "carol@fabrikam.example", "passwordProfile": {"password": "Carol-Passw0rd"}});
    let (status, _, _) = call(reqwest::Method::POST, server.url("/fabrikam/v1.0/users"), &fabrikam, Some(carol)).await;
    assert_eq!(status, 201);
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, "carol@fabrikam.example", json!({})).await;
    let redeem_url = invitation["inviteRedeemUrl"].as_str().expect("url").to_string();

    // Bob got hold of Carol's link: signing in at home as Bob does not redeem it.
    let landing = Browser::new().run(&redeem_url, Some(BOB), WELCOME).await;
    let Landing::Page { status, body } = landing else { panic!("Bob redeemed Carol's invitation: {landing:?}") };
    assert_eq!(status, 403);
    assert!(body.contains("the invitation is for carol@fabrikam.example"), "{body}");
    let carol = user(&server, &token, invitation["invitedUser"]["id"].as_str().expect("id")).await;
    assert_eq!(carol["externalUserState"], "PendingAcceptance");

    // Carol redeems; then a different fabrikam account with Carol's email
    // (a re-created account: new subject) cannot sign in as her.
    let landing = Browser::new().run(&redeem_url, Some(("carol@fabrikam.example", "Carol-Passw0rd")), WELCOME).await;
    assert_eq!(landing.client().as_str(), WELCOME);
    let home_carol = server.idp().store.user_by_email(FABRIKAM_ID, "carol@fabrikam.example").await.expect("store").expect("carol");
    server.idp().store.delete_user(FABRIKAM_ID, &home_carol.id).await.expect("delete");
    let recreated = json!({"displayName": "Not Carol", "userPrincipalName": "carol@fabrikam.example", "passwordProfile": {"password": "Other-Passw0rd"}});
    let (status, _, _) = call(reqwest::Method::POST, server.url("/fabrikam/v1.0/users"), &fabrikam, Some(recreated)).await;
    assert_eq!(status, 201);
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(("carol@fabrikam.example", "Other-Passw0rd")), REDIRECT_URI).await;
    let Landing::Page { status, body } = landing else { panic!("a new home account took over the guest: {landing:?}") };
    assert_eq!(status, 403);
    assert!(body.contains("not the one that accepted the invitation"), "{body}");
    server.stop().await;
}

async fn a_consumer_redeems_by_passcode_into_a_jit_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let dana = "dana@mailbox.example";
    let (status, invitation) = invite(&server, &token, dana, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let guest_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    let redeem_url = last_mail_to(&server.outbox(), dana, "invited").link().expect("redeem link");

    // Nobody serves mailbox.example: the redemption asks for a mailed passcode.
    let browser = Browser::new();
    let landing = browser.run(&redeem_url, None, WELCOME).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    let form = post_forms(&body).into_iter().find(|f| f.has("otp")).unwrap_or_else(|| panic!("no passcode form in {body}"));
    let mail = last_mail_to(&server.outbox(), dana, "verification code");
    let code = mail.code().expect("a code in the mail");
    // A wrong code costs an attempt and says so; the right one goes on.
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let landing = browser.submit(&form, &[("otp", wrong)], None, WELCOME).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    assert!(body.contains("4 attempts left"), "{body}");
    // "Send a new code": the first code is void, a new one is mailed.
    let resend = post_forms(&body).into_iter().find(|f| f.action.ends_with("/passcode/resend")).expect("a send-a-new-code form");
    let landing = browser.submit(&resend, &[], None, WELCOME).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    assert!(body.contains("We sent a new code"), "{body}");
    let mails = outbox(&server.outbox()).into_iter().filter(|m| m.to.contains(dana) && m.subject.contains("verification code")).count();
    assert_eq!(mails, 2, "a second code was mailed");
    let new_code = last_mail_to(&server.outbox(), dana, "verification code").code().expect("a new code");
    let form = post_forms(&body).into_iter().find(|f| f.has("otp")).expect("passcode form again");
    // The first code does not answer for the new one; an empty submit is no guess.
    let Landing::Page { body, .. } = browser.submit(&form, &[("otp", &code)], None, WELCOME).await else { panic!("a page") };
    assert!(body.contains("4 attempts left"), "{body}");
    let Landing::Page { body, .. } = browser.submit(&form, &[("otp", "")], None, WELCOME).await else { panic!("a page") };
    assert!(!body.contains("attempts left") && body.contains("name=\"otp\""), "{body}");
    let code = new_code;
    let landing = browser.submit(&form, &[("otp", &code)], None, WELCOME).await;
    assert_eq!(landing.client().as_str(), WELCOME);

    // A just-in-time tenant now holds Dana as a member.
    let tenants = server.idp().store.tenants().await.expect("store");
    let jit = tenants.iter().find(|t| t.owns_domain("mailbox.example")).expect("a JIT tenant for mailbox.example").clone();
    assert!(jit.unmanaged && jit.name.starts_with("jit-"), "{jit:?}");
    assert!(server.idp().store.user_by_email(&jit.id, dana).await.expect("store").is_some());

    // A link naming her (`login_hint`) mails nothing by itself: the
    // identifier page waits for her to press Next.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let mails_before = outbox(&server.outbox()).len();
    let hinted = format!("{}&login_hint={}", rp.authorize(&["email"], true).url, dana);
    let page = Browser::new().http.get(&hinted).send().await.expect("authorize").text().await.expect("page");
    let form = post_forms(&page).into_iter().next().expect("the identifier page");
    assert_eq!((form.value("username"), form.has("password")), (Some(dana), false), "{page}");
    assert_eq!(outbox(&server.outbox()).len(), mails_before, "no code was mailed by a link");

    // Signing in later: email on contoso's page, then a new passcode.
    let pending = rp.authorize(&["email", "offline_access"], true);
    let browser = Browser::new();
    let landing = browser.run(&pending.url, Some((dana, "")), REDIRECT_URI).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    let form = post_forms(&body).into_iter().find(|f| f.has("otp")).expect("passcode prompt at sign-in");
    let code = last_mail_to(&server.outbox(), dana, "verification code").code().expect("code");
    let landing = browser.submit(&form, &[("otp", &code)], None, REDIRECT_URI).await;
    let tokens = rp.exchange(&landing.param("code").expect("code"), pending.verifier).await.expect("tokens");
    let id_token = tokens.id_token().expect("ID token");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
    let claims = jwt_payload(&id_token.to_string());
    let refresh = tokens.refresh_token().expect("refresh token").secret().clone();
    assert_eq!(claims["oid"], guest_id.as_str());
    assert_eq!(claims["user_type"], "Guest");
    assert_eq!(claims["acct"], 1);
    assert_eq!(claims["home_tid"], jit.id.as_str());
    assert_eq!(claims["idp"], server.issuer(&jit.id));
    assert_eq!(claims["amr"], json!(["otp", "mfa"]), "the passcode, then contoso's MFA for guests");

    // An admin resets the redemption: same user object, pending again, a new link.
    let reset = json!({"resetRedemption": true, "invitedUser": {"id": guest_id}});
    let (status, again) = invite(&server, &token, dana, reset).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!((again["invitedUser"]["id"].as_str(), again["status"].as_str()), (Some(guest_id.as_str()), Some("PendingAcceptance")));
    assert_eq!(user(&server, &token, &guest_id).await["externalUserState"], "PendingAcceptance");
    let wrong_id = json!({"resetRedemption": true, "invitedUser": {"id": "00000000-0000-0000-0000-000000000000"}});
    assert_eq!(invite(&server, &token, dana, wrong_id).await.0, 400);
    // The reset signed the old account out, and the old link is void.
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let old = Browser::new().run(&redeem_url, None, WELCOME).await;
    let Landing::Page { body, .. } = old else { panic!("{old:?}") };
    assert!(body.contains("replaced by a newer one"), "{body}");
    server.stop().await;
}

async fn passcode_attempts_are_limited(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.b2b.otp_max_attempts = 2).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, "eve@mailbox.example", json!({})).await;
    let browser = Browser::new();
    let landing = browser.run(invitation["inviteRedeemUrl"].as_str().expect("url"), None, WELCOME).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    let form = post_forms(&body).into_iter().find(|f| f.has("otp")).unwrap_or_else(|| panic!("no passcode form in {body}"));
    let code = last_mail_to(&server.outbox(), "eve@mailbox.example", "verification code").code().expect("code");
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    browser.submit(&form, &[("otp", wrong)], None, WELCOME).await;
    let landing = browser.submit(&form, &[("otp", wrong)], None, WELCOME).await;
    let Landing::Page { status, body } = landing else { panic!("{landing:?}") };
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many wrong codes"), "{body}");
    // The right code is void now.
    let landing = browser.submit(&form, &[("otp", &code)], None, WELCOME).await;
    assert!(matches!(landing, Landing::Page { status: 400, .. }), "{landing:?}");
    server.stop().await;
}

async fn parallel_passcode_guesses_get_no_extra_tries(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.b2b.otp_max_attempts = 3).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, "fay@mailbox.example", json!({})).await;
    let browser = Browser::new();
    let landing = browser.run(invitation["inviteRedeemUrl"].as_str().expect("url"), None, WELCOME).await;
    let Landing::Page { body, .. } = landing else { panic!("{landing:?}") };
    let form = post_forms(&body).into_iter().find(|f| f.has("otp")).unwrap_or_else(|| panic!("no passcode form in {body}"));
    let code = last_mail_to(&server.outbox(), "fay@mailbox.example", "verification code").code().expect("code");
    // 20 wrong guesses at once: at most 3 are even compared.
    let guesses = (0..20).map(|i| {
        let (http, form) = (browser.http.clone(), form.clone());
        let guess = format!("{:08}", (code.parse::<u32>().expect("digits") + 1 + i) % 100_000_000);
        async move { http.post(&form.action).form(&form.filled(&[("otp", &guess)])).send().await.expect("post").status().as_u16() }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let compared = statuses.iter().filter(|s| **s == 200).count();
    assert!(compared < 3, "only the first tries are compared: {statuses:?}");
    // The right code now finds the passcode void.
    let landing = browser.submit(&form, &[("otp", &code)], None, WELCOME).await;
    assert!(matches!(landing, Landing::Page { status: 400 | 429, .. }), "{landing:?}");
    server.stop().await;
}

async fn the_home_answer_only_counts_in_the_browser_that_asked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    // The victim's browser starts the redemption and is sent home...
    let victim = Browser::new();
    let redeem = victim.http.get(invitation["inviteRedeemUrl"].as_str().expect("url")).send().await.expect("redeem page");
    let form = post_forms(&redeem.text().await.expect("body")).into_iter().next().expect("redeem form");
    let home = victim.http.post(&form.action).form(&form.fields).send().await.expect("continue");
    let home_url = home.headers()["location"].to_str().expect("location").to_string();
    // ...the attacker signs in at home and hands the callback to another browser.
    let attacker = Browser::new();
    let landing = attacker.run(&home_url, Some(BOB), &server.url("/contoso/federation/callback")).await;
    let callback = landing.client();
    let replay = Browser::new().http.get(callback.as_str()).send().await.expect("callback");
    assert_eq!(replay.status(), 400, "a callback in another browser is refused");
    assert!(replay.text().await.expect("body").contains("started in another browser"));
    // In the right browser the state was not consumed by the failed attempt... but only once.
    let first = victim.http.get(callback.as_str()).send().await.expect("callback");
    assert_eq!(first.status(), 200, "the consent page");
    let again = victim.http.get(callback.as_str()).send().await.expect("callback again");
    assert_eq!(again.status(), 400, "state is single-use");
    server.stop().await;
}

async fn an_inviter_from_the_guests_home_redeems_at_once(backend: Backend) {
    // demo-spa may act for users at the admin API (a test-only grant).
    let server = TestServer::start_with(backend, |c| {
        let spa = c.tenants[0].apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
        spa.delegated_permissions.insert("api://b2b-idp-admin".into(), vec!["Directory.AccessAsUser.All".into()]);
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    Browser::new().run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(BOB), WELCOME).await.client();
    // Contoso makes Bob a Guest Inviter.
    let mut bob =
        server.idp().store.user(CONTOSO_ID, invitation["invitedUser"]["id"].as_str().expect("id")).await.expect("store").expect("bob");
    let read = bob.version;
    bob.roles.push("Guest Inviter".into());
    bob.touched();
    assert!(server.idp().store.replace_user(read, &bob).await.expect("store"));

    // Bob, signed in as a guest, invites his colleague from fabrikam.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    let pending = rp.authorize(&["api://b2b-idp-admin/.default"], true);
    let code = Browser::new().run(&pending.url, Some(BOB), REDIRECT_URI).await.param("code").expect("code");
    let bob_token = rp.exchange(&code, pending.verifier).await.expect("tokens").access_token().secret().clone();
    let mails_before = outbox(&server.outbox()).len();
    let (status, invitation) = invite(&server, &bob_token, "admin@fabrikam.example", json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["status"], "Completed", "redeemed on creation: {invitation}");
    assert_eq!(outbox(&server.outbox()).len(), mails_before, "no mail for an auto-redeemed invitation");
    // The colleague signs in without ever redeeming: no consent step.
    let bulk = api()
        .post(server.url("/contoso/v1.0/invitations/bulk"))
        .bearer_auth(&bob_token)
        .body("x@partner.example,X,https://app.example/,false,")
        .send()
        .await
        .expect("bulk");
    assert_eq!(bulk.status(), 403, "bulk needs an administrator, not a Guest Inviter");
    let (claims, _) = guest_sign_in(&server, &Browser::new(), ("admin@fabrikam.example", "Fabrikam-Admin-1")).await;
    assert_eq!((claims["user_type"].as_str(), claims["home_tid"].as_str()), (Some("Guest"), Some(FABRIKAM_ID)));

    // Alice (a member without an inviter role) is refused under the default policy.
    let pending = rp.authorize(&["api://b2b-idp-admin/.default"], true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let alice_token = rp.exchange(&code, pending.verifier).await.expect("tokens").access_token().secret().clone();
    let (status, refused) = invite(&server, &alice_token, "someone@fabrikam.example", json!({})).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().expect("message").contains("Guest Inviter"), "{refused}");
    server.stop().await;
}

async fn refusals_are_clear_and_create_nothing(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.b2b.max_directories = 1;
        let contoso = &mut c.tenants[0].collaboration;
        contoso.denied_domains = vec!["blocked.example".into()];
        contoso.distribution_lists = vec!["all-staff@partner.example".into()];
        let mut gov = c.tenants[1].clone();
        gov.name = "gov".into();
        gov.id = Some("0b8e3c2a-5f6d-4e1a-9c7b-2d4f6a8e0c13".into());
        gov.cloud = b2b_idp::model::Cloud::Usgov;
        gov.domains = vec!["agency.example".into()];
        gov.users.clear();
        gov.apps.clear();
        c.tenants.push(gov);
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    let users_before = all_users(server.idp().store.as_ref(), CONTOSO_ID).await.len();
    let cases = [
        ("someone@blocked.example", json!({}), 403, "deny list"),
        ("all-staff@partner.example", json!({}), 400, "distribution list"),
        ("officer@agency.example", json!({}), 403, "national clouds"),
        (BOB.0, json!({}), 403, "already belongs to 1 directories"),
        (ALICE.0, json!({}), 409, "already a member"),
        ("not-an-email", json!({}), 400, "not an email address"),
        ("x@partner.example", json!({"inviteRedirectUrl": "javascript:alert(1)"}), 400, "inviteRedirectUrl"),
        ("x@partner.example", json!({"invitedUserType": "Owner"}), 400, "Guest or Member"),
        ("x@partner.example", json!({"inviteRedirectUrl": "http://phish.example/"}), 400, "https"),
        ("x@@partner.example", json!({}), 400, "not an email address"),
    ];
    for (email, extra, status, message) in cases {
        let (got, body) = invite(&server, &token, email, extra).await;
        assert_eq!(got, status, "{email}: {body}");
        assert!(body["error"]["message"].as_str().expect("message").contains(message), "{email}: {body}");
    }
    assert_eq!(all_users(server.idp().store.as_ref(), CONTOSO_ID).await.len(), users_before, "no refusal created a user");

    // Fabrikam only allows contoso.example.
    let mut fabrikam = server.idp().store.tenant(FABRIKAM_ID).await.expect("store").expect("fabrikam");
    fabrikam.collaboration.allowed_domains = vec!["contoso.example".into()];
    server.idp().store.put_tenant(&fabrikam).await.expect("store");
    let fabrikam_token = app_token(&server, FABRIKAM).await;
    let body = json!({"invitedUserEmailAddress": "x@partner.example", "inviteRedirectUrl": WELCOME});
    let (status, _, refused) = call(reqwest::Method::POST, server.url("/fabrikam/v1.0/invitations"), &fabrikam_token, Some(body)).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().expect("message").contains("allow list"), "{refused}");
    server.stop().await;
}

async fn guests_leave_if_allowed_and_are_swept_when_home_is_gone(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.b2b.sweep_interval_secs = 1).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    let bob_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    let browser = Browser::new();
    browser.run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(BOB), WELCOME).await.client();

    // Bob (signed in at contoso by the redemption) asks to leave: not allowed by default.
    let leave = |browser: &Browser| {
        let http = browser.http.clone();
        let url = server.url("/contoso/leave");
        async move {
            let page = http.get(&url).send().await.expect("leave page").text().await.expect("body");
            let form = post_forms(&page).into_iter().next().expect("leave form");
            let response = http.post(&form.action).form(&form.fields).send().await.expect("leave");
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    };
    let (status, body) = leave(&browser).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not let guests leave"), "{body}");
    let mut contoso = server.idp().store.tenant(CONTOSO_ID).await.expect("store").expect("contoso");
    contoso.collaboration.guests_can_leave = true;
    server.idp().store.put_tenant(&contoso).await.expect("store");
    let (status, body) = leave(&browser).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/users/{bob_id}")), &token, None).await;
    assert_eq!(status, 404, "Bob's guest account is gone");

    // Carol's home account is deleted at fabrikam: the periodic sweep disables her guest account.
    let fabrikam = app_token(&server, FABRIKAM).await;
    let carol =
        json!({"displayName": "Carol", "userPrincipalName": "carol@fabrikam.example", "passwordProfile": {"password": "Carol-Passw0rd"}});
    let (_, _, home_carol) = call(reqwest::Method::POST, server.url("/fabrikam/v1.0/users"), &fabrikam, Some(carol)).await;
    let (_, invitation) = invite(&server, &token, "carol@fabrikam.example", json!({})).await;
    let carol_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    Browser::new()
        .run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(("carol@fabrikam.example", "Carol-Passw0rd")), WELCOME)
        .await
        .client();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(user(&server, &token, &carol_id).await["accountEnabled"], true, "the sweep leaves live guests alone");
    let (status, _, _) = call(
        reqwest::Method::DELETE,
        server.url(&format!("/fabrikam/v1.0/users/{}", home_carol["id"].as_str().expect("id"))),
        &fabrikam,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let mut disabled = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if user(&server, &token, &carol_id).await["accountEnabled"] == false {
            disabled = true;
            break;
        }
    }
    assert!(disabled, "the sweep disabled Carol within 10 s");
    server.stop().await;
}

async fn guests_join_groups_before_they_redeem(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let groups = server.url("/contoso/v1.0/groups");
    let (status, _, project) = call(
        reqwest::Method::POST,
        groups.clone(),
        &token,
        Some(json!({"displayName": "Project X", "mailEnabled": false, "securityEnabled": true})),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let members = format!("{groups}/{}/members", project["id"].as_str().expect("id"));

    // A delayed invitation (no mail yet): the guest can be managed at once.
    let mails_before = outbox(&server.outbox()).len();
    let (_, invitation) = invite(&server, &token, BOB.0, json!({"sendInvitationMessage": false})).await;
    assert_eq!(outbox(&server.outbox()).len(), mails_before, "no mail was asked for");
    let bob_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    let member = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{bob_id}")});
    let (status, _, body) = call(reqwest::Method::POST, format!("{members}/$ref"), &token, Some(member.clone())).await;
    assert_eq!(status, 204, "{body}");
    let (status, _, _) = call(reqwest::Method::POST, format!("{members}/$ref"), &token, Some(member)).await;
    assert_eq!(status, 409, "already a member");
    let (_, _, listed) = call(reqwest::Method::GET, members.clone(), &token, None).await;
    assert_eq!(listed["value"][0]["id"], bob_id.as_str());
    assert_eq!(listed["value"][0]["externalUserState"], "PendingAcceptance");

    // A distribution list's address cannot be invited.
    let list =
        json!({"displayName": "All partners", "mailEnabled": true, "mail": "all-partners@partner.example", "securityEnabled": false});
    let (status, _, _) = call(reqwest::Method::POST, groups.clone(), &token, Some(list)).await;
    assert_eq!(status, 201);
    let (status, refused) = invite(&server, &token, "all-partners@partner.example", json!({})).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().expect("message").contains("distribution list"), "{refused}");
    let (status, _, _) = call(reqwest::Method::POST, groups, &token, Some(json!({"displayName": "No address", "mailEnabled": true}))).await;
    assert_eq!(status, 400);

    // Deleting the guest takes them out of the group.
    call(reqwest::Method::DELETE, server.url(&format!("/contoso/v1.0/users/{bob_id}")), &token, None).await;
    let (_, _, listed) = call(reqwest::Method::GET, members, &token, None).await;
    assert_eq!(listed["value"], json!([]));
    server.stop().await;
}

/// `domain_hint` naming a partner's domain sends the browser straight to
/// that home, before any address is typed; home's answer names the guest.
/// A home account that is not a guest here is refused, and a hint that
/// cannot skip the address (this tenant's own domain, an unknown one) shows
/// the identifier page.
async fn domain_hint_goes_home_without_an_address(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let (_, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    let guest_id = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    let redeem_url = invitation["inviteRedeemUrl"].as_str().expect("url").to_string();
    assert_eq!(Browser::new().run(&redeem_url, Some(BOB), WELCOME).await.client().as_str(), WELCOME);

    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile"], true);
    let browser = Browser::new();
    let first = browser.http.get(format!("{}&domain_hint=Fabrikam.Example", pending.url)).send().await.expect("authorize");
    assert_eq!(first.status(), 302, "straight home, no page of contoso's first");
    let home = first.headers()["location"].to_str().expect("location").to_string();
    assert!(home.starts_with(&server.url(&format!("/{FABRIKAM_ID}/oauth2/v2.0/authorize"))), "{home}");
    let home_url = url::Url::parse(&home).expect("URL");
    assert!(home_url.query_pairs().all(|(k, _)| k != "login_hint"), "no address was typed, so none is sent home: {home}");
    let landing = browser.drive(first, Some(BOB), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("a code for the guest: {landing:?}"));
    let tokens = rp.exchange(&code, pending.verifier).await.expect("token response");
    let claims = jwt_payload(&tokens.id_token().expect("ID token").to_string());
    assert_eq!((claims["oid"].as_str(), claims["user_type"].as_str()), (Some(guest_id.as_str()), Some("Guest")));

    // Fabrikam's admin is no guest of contoso: home proves the account,
    // contoso refuses it, in the browser's language.
    let hinted = format!("{}&domain_hint=fabrikam.example", rp.authorize(&["profile"], true).url);
    let mut german = reqwest::header::HeaderMap::new();
    german.insert("accept-language", reqwest::header::HeaderValue::from_static("de"));
    let browser = Browser::with(std::sync::Arc::new(reqwest::cookie::Jar::default()), german);
    let landing = browser.run(&hinted, Some(("admin@fabrikam.example", "Fabrikam-Admin-1")), REDIRECT_URI).await;
    let Landing::Page { status, body } = landing else { panic!("a home account that is no guest got a code: {landing:?}") };
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("admin@fabrikam.example ist kein Gast von Contoso."), "{body}");
    let failed = server.url("/contoso/v1.0/auditLogs/signIns?$filter=status/errorCode eq 50020");
    let (status, _, log) = call(reqwest::Method::GET, failed, &token, None).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["value"].as_array().map(Vec::len), Some(1), "the refused sign-in is in the sign-in log: {log}");

    for hint in ["contoso.example", "nobody.example", "organizations", "%3Cb%3E"] {
        let page = Browser::new().http.get(format!("{}&domain_hint={hint}", rp.authorize(&[], true).url)).send().await.expect("page");
        assert_eq!(page.status(), 200, "{hint}: the identifier page");
        let html = page.text().await.expect("body");
        assert_eq!(select_attr(&html, "input[name=username]", "type"), ["email"], "{hint}");
    }
    server.stop().await;
}

on_both_backends!(
    domain_hint_goes_home_without_an_address,
    parallel_passcode_guesses_get_no_extra_tries,
    the_home_answer_only_counts_in_the_browser_that_asked,
    guests_join_groups_before_they_redeem,
    guests_leave_if_allowed_and_are_swept_when_home_is_gone,
    bob_is_invited_redeems_at_fabrikam_and_signs_in_as_a_guest,
    another_home_account_cannot_redeem_or_take_over,
    a_consumer_redeems_by_passcode_into_a_jit_tenant,
    passcode_attempts_are_limited,
    an_inviter_from_the_guests_home_redeems_at_once,
    refusals_are_clear_and_create_nothing
);
