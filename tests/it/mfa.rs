//! MFA, conditional access and cross-tenant trust: the double prompt Entra
//! documents, reproduced out of the box, and the trust that avoids it.
//! TOTP codes come from the secrets the enrolment pages show (the harness's
//! authenticator), never from a backdoor.

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{json, Value};

use crate::audit::log;
use crate::b2b::invite;
use crate::harness::*;

const WELCOME: &str = "https://apps.contoso.example/welcome";

/// Bob, invited to contoso and redeemed (enrolling fabrikam's MFA on the way).
async fn bob_redeemed(server: &TestServer, token: &str) {
    let (_, invitation) = invite(server, token, BOB.0, json!({})).await;
    Browser::new().run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(BOB), WELCOME).await.client();
}

/// Signs `who` in to `client` at contoso in a fresh browser; returns the
/// ID token's claims and the tenants where a TOTP code was typed.
async fn sign_in(server: &TestServer, client: &str, secret: Option<&str>, who: (&str, &str), extra: &str) -> (Value, Vec<String>) {
    let rp = Rp::discover(server, CONTOSO_ID, client, secret).await;
    let pending = rp.authorize(&["profile", "email"], true);
    let browser = Browser::new();
    let landing = browser.run(&format!("{}{extra}", pending.url), Some(who), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("no code for {}: {landing:?}", who.0));
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let id_token = tokens.id_token().expect("ID token");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
    let claims = jwt_payload(&id_token.to_string());
    let access = jwt_payload(tokens.access_token().secret());
    assert_eq!((&access["acr"], &access["amr"]), (&claims["acr"], &claims["amr"]), "access token agrees");
    let prompts = browser.mfa_prompts.lock().expect("lock").clone();
    (claims, prompts)
}

/// The newest successful sign-in of `user` to the demo app in contoso's sign-in log.
async fn last_sign_in(server: &TestServer, token: &str, user: &str) -> Value {
    let filter = format!("userId eq '{user}' and appId eq '{DEMO_APP}' and status/errorCode eq 0");
    let url = format!("{}?$top=1&$filter={}", server.url("/contoso/v1.0/auditLogs/signIns"), urlencoding(&filter));
    let (status, _, body) = call(reqwest::Method::GET, url, token, None).await;
    assert_eq!(status, 200, "{body}");
    body["value"][0].clone()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The steps of a sign-in that were multi-factor.
fn mfa_steps(sign_in: &Value) -> Vec<Value> {
    let steps = sign_in["authenticationDetails"].as_array().expect("authenticationDetails");
    steps.iter().filter(|s| s["authenticationStepRequirement"] == "Multifactor authentication").cloned().collect()
}

fn at(server: &TestServer, tenant: &str) -> String {
    format!("{}/{tenant}", server.base)
}

async fn double_mfa_out_of_the_box_and_trust_to_avoid_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    bob_redeemed(&server, &token).await;

    // Fabrikam requires MFA for its members, contoso for its guests: two prompts.
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), BOB, "").await;
    assert_eq!(prompts, vec![at(&server, FABRIKAM), at(&server, CONTOSO)], "one TOTP prompt at each tenant");
    assert_eq!(claims["acr"], "2");
    assert_eq!(claims["amr"], json!(["fed", "mfa"]));
    assert_eq!(claims["mfa_source"], "local");
    // The sign-in log tells the story: a guest from fabrikam, MFA at home
    // (not trusted) and again here, under the policy that asked for it.
    let bob = claims["oid"].as_str().expect("oid").to_string();
    let logged = last_sign_in(&server, &token, &bob).await;
    assert_eq!(logged["crossTenantAccessType"], "b2bCollaboration", "{logged}");
    assert_eq!((&logged["homeTenantId"], &logged["resourceTenantId"]), (&json!(FABRIKAM_ID), &json!(CONTOSO_ID)));
    assert_eq!((&logged["userType"], &logged["userPrincipalName"]), (&json!("guest"), &json!(BOB.0)));
    assert_eq!(logged["authenticationRequirement"], "multiFactorAuthentication");
    assert_eq!(logged["conditionalAccessStatus"], "success");
    let applied = logged["appliedConditionalAccessPolicies"].as_array().expect("policies");
    assert!(applied.iter().any(|p| p["displayName"] == "Guests need MFA" && p["result"] == "success"), "{logged}");
    let steps = mfa_steps(&logged);
    assert_eq!(steps.len(), 2, "two MFA steps, at home and here: {logged}");
    assert_eq!(steps[1]["authenticationMethod"], "Software OATH token");
    assert!(steps[0]["authenticationStepResultDetail"].as_str().expect("detail").contains("not accepted here"), "{logged}");
    assert_eq!(logged["authenticationDetails"][0]["authenticationMethod"], "Federated");

    // Contoso trusts fabrikam's MFA: one prompt, at home.
    let partner = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{FABRIKAM_ID}"));
    let (status, _, body) =
        call(reqwest::Method::PUT, partner.clone(), &token, Some(json!({"inboundTrust": {"isMfaAccepted": true}}))).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, read) = call(reqwest::Method::GET, partner, &token, None).await;
    assert_eq!(read["inboundTrust"]["isMfaAccepted"], true);
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), BOB, "").await;
    assert_eq!(prompts, vec![at(&server, FABRIKAM)], "only home asks");
    assert_eq!(claims["acr"], "2");
    assert_eq!(claims["amr"], json!(["fed", "mfa"]));
    assert_eq!(claims["mfa_source"], "home", "the token says MFA came from home");
    let logged = last_sign_in(&server, &token, &bob).await;
    let steps = mfa_steps(&logged);
    assert_eq!(steps.len(), 1, "one MFA step: {logged}");
    assert_eq!(steps[0]["authenticationStepResultDetail"], "MFA requirement satisfied by claim in the token");
    assert_eq!(logged["crossTenantAccessType"], "b2bCollaboration");

    // Trust on, but home no longer demands MFA: contoso sends Bob home for it.
    let fabrikam = app_token(&server, FABRIKAM).await;
    let policies = server.url("/fabrikam/v1.0/identity/conditionalAccess/policies");
    let (_, _, list) = call(reqwest::Method::GET, policies.clone(), &fabrikam, None).await;
    for policy in list["value"].as_array().expect("policies") {
        let (status, _, _) =
            call(reqwest::Method::DELETE, format!("{policies}/{}", policy["id"].as_str().expect("id")), &fabrikam, None).await;
        assert_eq!(status, 204);
    }
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), BOB, "").await;
    assert_eq!(prompts, vec![at(&server, FABRIKAM)], "the challenge is issued at home");
    assert_eq!((claims["acr"].as_str(), claims["mfa_source"].as_str()), (Some("2"), Some("home")));
    server.stop().await;
}

async fn a_guest_from_a_tenant_without_mfa_is_asked_once(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.tenants[1].conditional_access.clear()).await;
    let token = app_token(&server, CONTOSO).await;
    bob_redeemed(&server, &token).await;
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), BOB, "").await;
    assert_eq!(prompts, vec![at(&server, CONTOSO)]);
    assert_eq!((claims["acr"].as_str(), claims["amr"].clone()), (Some("2"), json!(["fed", "mfa"])));

    // Guests are blocked from the admin portal: a clear page and no code.
    let rp = Rp::discover(&server, CONTOSO_ID, "admin-portal", Some("admin-portal-secret")).await;
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(BOB), REDIRECT_URI).await;
    let Landing::Page { status, body } = landing else { panic!("a blocked guest got a code: {landing:?}") };
    assert_eq!(status, 403);
    assert!(body.contains("Access blocked") && body.contains("Block guests from the admin portal"), "{body}");
    // Members are not blocked.
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");

    // A dynamic "all guests" group as a policy condition.
    let group = json!({"displayName": "All guests", "securityEnabled": true, "mailEnabled": false, "groupTypes": ["DynamicMembership"], "membershipRule": "(user.userType -eq \"Guest\")"});
    let (status, _, group) = call(reqwest::Method::POST, server.url("/contoso/v1.0/groups"), &token, Some(group)).await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().expect("id").to_string();
    let (_, _, members) = call(reqwest::Method::GET, server.url(&format!("/contoso/v1.0/groups/{gid}/members")), &token, None).await;
    let emails: Vec<&str> = members["value"].as_array().expect("members").iter().filter_map(|m| m["mail"].as_str()).collect();
    assert_eq!(emails, vec![BOB.0], "the rule picks the guests");
    let policy = json!({
        "displayName": "All guests group: no SPA",
        "conditions": {"users": {"includeGroups": [gid]}, "applications": {"includeApplications": [DEMO_SPA]}},
        "grantControls": {"builtInControls": ["block"]}
    });
    let (status, _, _) =
        call(reqwest::Method::POST, server.url("/contoso/v1.0/identity/conditionalAccess/policies"), &token, Some(policy)).await;
    assert_eq!(status, 201);
    let spa = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    let landing = Browser::new().run(&spa.authorize(&[], true).url, Some(BOB), REDIRECT_URI).await;
    assert!(matches!(&landing, Landing::Page { status: 403, body } if body.contains("All guests group")), "{landing:?}");
    let landing = Browser::new().run(&spa.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    server.stop().await;
}

async fn members_policy_acr_values_replay_recovery_and_lockout(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    // No policy covers contoso's members: one factor.
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), ALICE, "").await;
    assert!(prompts.is_empty());
    assert_eq!((claims["acr"].as_str(), claims["amr"].clone()), (Some("1"), json!(["pwd"])));
    // A single-factor session with a refresh token; prompt=none cannot add a factor.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Browser::new();
    let pending = rp.authorize(&["offline_access"], true);
    let code = browser.run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let refresh = rp.exchange(&code, pending.verifier).await.expect("tokens").refresh_token().expect("refresh").secret().clone();
    let silent = browser.run(&format!("{}&prompt=none&acr_values=2", rp.authorize(&[], true).url), None, REDIRECT_URI).await;
    assert_eq!(silent.param("error").as_deref(), Some("interaction_required"), "{silent:?}");
    // acr_values=2 asks for MFA anyway: Alice enrols.
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), ALICE, "&acr_values=2").await;
    assert_eq!(prompts, vec![at(&server, CONTOSO)]);
    assert_eq!((claims["acr"].as_str(), claims["amr"].clone()), (Some("2"), json!(["pwd", "mfa"])));

    // A policy for members only (Graph's shape, through the API).
    let policy = json!({
        "displayName": "Members need MFA", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["GuestsOrExternalUsers"]}, "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
    });
    let (status, _, created) =
        call(reqwest::Method::POST, server.url("/contoso/v1.0/identity/conditionalAccess/policies"), &token, Some(policy)).await;
    assert_eq!(status, 201, "{created}");
    let (claims, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), ALICE, "").await;
    assert_eq!(prompts, vec![at(&server, CONTOSO)]);
    assert_eq!(claims["acr"], "2");
    // The single-factor grant from before the policy can no longer be refreshed.
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // The prompt page by hand: a replayed code is refused, five wrong codes lock the account.
    let key = format!("{}|{}", at(&server, CONTOSO), ALICE.0);
    let prompt = |browser: &Browser| {
        let url = rp.authorize(&[], true).url;
        let http = browser.http.clone();
        async move {
            let login = http.get(&url).send().await.expect("authorize").text().await.expect("page");
            let form = post_forms(&login).into_iter().next().expect("login form");
            let page =
                http.post(&form.action).form(&form.filled(&[("username", ALICE.0), ("password", ALICE.1)])).send().await.expect("login");
            let body = page.text().await.expect("page");
            post_forms(&body).into_iter().find(|f| f.has("otp")).unwrap_or_else(|| panic!("TOTP prompt in {body}"))
        }
    };
    let browser = Browser::new();
    let form = prompt(&browser).await;
    let code = authenticator_code(&key).await;
    let ok = browser.http.post(&form.action).form(&form.filled(&[("otp", &code)])).send().await.expect("otp");
    assert_eq!(ok.status(), 302, "the fresh code passes");
    let browser = Browser::new();
    let form = prompt(&browser).await;
    let replay = browser.http.post(&form.action).form(&form.filled(&[("otp", &code)])).send().await.expect("otp");
    assert!(replay.text().await.expect("body").contains("That code is not right"), "a used code is refused");

    // Lost phone: a recovery code removes the app and starts a new enrolment.
    let recovery = RECOVERY_CODES.lock().expect("lock").get(&key).cloned().expect("recovery codes were shown");
    let page = browser
        .http
        .post(&form.action)
        .form(&[
            ("ix", form.value("ix").expect("ix")),
            ("csrf_token", form.value("csrf_token").expect("csrf")),
            ("recovery_code", &recovery[0]),
        ])
        .send()
        .await
        .expect("recovery");
    let body = page.text().await.expect("body");
    assert!(body.contains("totp-secret") && body.contains("old authenticator app is removed"), "{body}");
    forget_authenticator(&key);

    // An admin resets a user's methods (here Bob's brand-new enrolment would go the same way).
    let alice = server.idp().store.user_by_email(CONTOSO_ID, ALICE.0).await.expect("store").expect("alice");
    let methods = server.url(&format!("/contoso/v1.0/users/{}/authentication/softwareOathMethods", alice.id));
    let (_, _, listed) = call(reqwest::Method::GET, methods.clone(), &token, None).await;
    assert_eq!(listed["value"], json!([]), "the recovery code removed it: {listed}");

    // Five wrong codes lock the second factor for a while.
    let (_, prompts) = sign_in(&server, DEMO_APP, Some(DEMO_APP_SECRET), ALICE, "").await;
    assert_eq!(prompts.len(), 1, "Alice enrolled again");
    let (_, _, listed) = call(reqwest::Method::GET, methods.clone(), &token, None).await;
    let method = listed["value"][0]["id"].as_str().expect("a method").to_string();
    let browser = Browser::new();
    let form = prompt(&browser).await;
    for _ in 0..5 {
        browser.http.post(&form.action).form(&form.filled(&[("otp", "000000")])).send().await.expect("otp");
    }
    let locked = browser.http.post(&form.action).form(&form.filled(&[("otp", &authenticator_code(&key).await)])).send().await.expect("otp");
    assert_eq!(locked.status(), 429);
    assert!(locked.text().await.expect("body").contains("locked"));
    let (status, _, _) = call(reqwest::Method::DELETE, format!("{methods}/{method}"), &token, None).await;
    assert_eq!(status, 204, "an admin removes the method");
    server.stop().await;
}

async fn password_guessing_locks_the_account(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Browser::new();
    let login = browser.http.get(&rp.authorize(&[], true).url).send().await.expect("authorize").text().await.expect("page");
    let form = post_forms(&login).into_iter().next().expect("login form");
    for _ in 0..10 {
        let page = browser
            .http
            .post(&form.action)
            .form(&form.filled(&[("username", ALICE.0), ("password", "wrong")]))
            .send()
            .await
            .expect("login");
        assert!(page.text().await.expect("body").contains("Incorrect email or password"));
    }
    let page =
        browser.http.post(&form.action).form(&form.filled(&[("username", ALICE.0), ("password", ALICE.1)])).send().await.expect("login");
    let body = page.text().await.expect("body");
    assert!(body.contains("Too many failed sign-ins"), "even the right password waits: {body}");
    // The log says why; an admin unlocks her (nobody else may), and she is in.
    let token = app_token(&server, CONTOSO).await;
    let refused = log(&server, &token, "signIns", "status/errorCode eq 50053").await;
    assert_eq!(refused[0]["userPrincipalName"], ALICE.0, "{refused:#?}");
    let alice = crate::audit::user_id(&server, &token, ALICE.0).await;
    let unlock = server.url(&format!("/contoso/v1.0/users/{alice}/unlock"));
    assert_eq!(api().post(&unlock).send().await.expect("anonymous").status(), 401);
    let (status, _, body) = call(reqwest::Method::POST, unlock, &token, None).await;
    assert_eq!(status, 204, "{body}");
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "unlocked: {landing:?}");
    // Another account is not locked.
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(CONTOSO_ADMIN), REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    server.stop().await;
}

async fn members_reset_their_password_by_mail(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let ask = |email: &'static str| {
        let http = Browser::new().http;
        let url = server.url("/contoso/password/reset");
        async move {
            let page = http.get(&url).send().await.expect("reset page").text().await.expect("body");
            let form = post_forms(&page).into_iter().next().expect("request form");
            http.post(&form.action).form(&form.filled(&[("username", email)])).send().await.expect("request").text().await.expect("body")
        }
    };
    assert!(ask(ALICE.0).await.contains("Check your mail"));
    let link = last_mail_to(&server.outbox(), ALICE.0, "password reset").link().expect("reset link");
    let browser = Browser::new();
    let page = browser.http.get(&link).send().await.expect("link").text().await.expect("body");
    let form = post_forms(&page).into_iter().next().expect("new password form");
    let short = browser.http.post(&form.action).form(&form.filled(&[("password", "short")])).send().await.expect("post");
    assert_eq!(short.status(), 400);
    let done = browser.http.post(&form.action).form(&form.filled(&[("password", "Alice-New-Passw0rd")])).send().await.expect("post");
    assert!(done.text().await.expect("body").contains("Password changed"));
    let reused = browser.http.post(&form.action).form(&form.filled(&[("password", "Another-Passw0rd")])).send().await.expect("post");
    assert_eq!(reused.status(), 400, "a link works once");

    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let old = Browser::new().run(&rp.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await;
    assert!(
        matches!(&old, Landing::Page { body, .. } if body.contains("Incorrect email or password")),
        "the old password no longer works: {old:?}"
    );
    let new = Browser::new().run(&rp.authorize(&[], true).url, Some((ALICE.0, "Alice-New-Passw0rd")), REDIRECT_URI).await;
    assert!(new.param("code").is_some(), "{new:?}");

    // A guest's password is their home's business: the same answer, no mail.
    invite(&server, &token, BOB.0, json!({"sendInvitationMessage": false})).await;
    assert!(ask(BOB.0).await.contains("Check your mail"));
    // Mail goes out after the answer: a member asked after Bob gets theirs,
    // and by then Bob's (none) would have been sent too.
    assert!(ask(CONTOSO_ADMIN.0).await.contains("Check your mail"));
    last_mail_to(&server.outbox(), CONTOSO_ADMIN.0, "password reset");
    assert!(outbox(&server.outbox()).iter().all(|m| !(m.to.contains(BOB.0) && m.subject.contains("password reset"))));
    server.stop().await;
}

on_both_backends!(
    members_reset_their_password_by_mail,
    double_mfa_out_of_the_box_and_trust_to_avoid_it,
    a_guest_from_a_tenant_without_mfa_is_asked_once,
    members_policy_acr_values_replay_recovery_and_lockout,
    password_guessing_locks_the_account
);
