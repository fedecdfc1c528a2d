//! Bad input gets a clear error, the right OAuth code, and changes nothing.

use openidconnect::OAuth2TokenResponse;

use crate::harness::*;

/// Alice signs in; returns the code and the request (with its PKCE verifier).
async fn signed_in_code(rp: &Rp, scopes: &[&str]) -> (String, Pending) {
    let pending = rp.authorize(scopes, true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    (code, pending)
}

fn code_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
        ("client_id", DEMO_APP),
        ("client_secret", DEMO_APP_SECRET),
    ]
}

async fn resources_need_a_grant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Browser::new();
    browser.run(&rp.authorize(&[], true).url, Some(CONTOSO_ADMIN), REDIRECT_URI).await.client();
    // An admin's session must not let any app silently mint admin-API tokens.
    for scope in ["api://b2b-idp-admin/.default", "api://demo-app/Anything.Admin", "api://nowhere/.default"] {
        let landing = browser.run(&rp.authorize(&[scope], true).url, None, REDIRECT_URI).await;
        assert_eq!(landing.param("error").as_deref(), Some("invalid_scope"), "{scope}");
        assert!(landing.param("code").is_none());
    }
    // Client credentials for a resource the app holds no roles on: refused too.
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_APP),
            ("client_secret", DEMO_APP_SECRET),
            ("scope", "api://b2b-idp-admin/.default"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    // The app's own resource with .default is fine, for the user too.
    let landing = browser.run(&rp.authorize(&["api://demo-app/.default"], true).url, None, REDIRECT_URI).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    server.stop().await;
}

async fn wrong_password_and_unknown_user_read_the_same(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    for user in [(ALICE.0, "not-her-password"), ("nobody@contoso.example", "whatever")] {
        let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(user), REDIRECT_URI).await;
        match landing {
            Landing::Page { status, body } => {
                assert_eq!(status, 200);
                assert!(body.contains("Incorrect email or password."), "{body}");
                let form = &post_forms(&body)[0];
                assert_eq!(form.value("username"), Some(user.0), "the email stays filled in");
            }
            Landing::Client(url) => panic!("a wrong password must not reach the client: {url}"),
        }
    }
    // A bob of fabrikam is not a contoso member.
    let landing = Browser::new().run(&rp.authorize(&[], true).url, Some(BOB), REDIRECT_URI).await;
    assert!(matches!(landing, Landing::Page { .. }));
    server.stop().await;
}

async fn untrusted_client_or_redirect_uri_never_redirects(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let good = rp.authorize(&[], true).url;
    let cases = [
        good.replace("redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback", "redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
        good.replace("redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback", "redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback%2F"),
        good.replace("client_id=demo-app", "client_id=no-such-app"),
    ];
    for url in cases {
        assert_ne!(url, good, "the case must change the request");
        let response = api().get(&url).send().await.expect("authorize");
        assert_eq!(response.status().as_u16(), 400, "{url}");
        assert!(response.headers().get("location").is_none(), "never redirect to an unverified URI");
        assert!(response.text().await.expect("body").contains("not registered"));
    }
    server.stop().await;
}

async fn pkce_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let spa = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    // A public client without PKCE: invalid_request, sent back to the (registered) client.
    let landing = Browser::new().run(&spa.authorize(&[], false).url, Some(ALICE), REDIRECT_URI).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));
    // `plain` is refused even though the challenge is well-formed.
    let plain =
        format!("{}&code_challenge=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG&code_challenge_method=plain", spa.authorize(&[], false).url);
    let landing = Browser::new().run(&plain, Some(ALICE), REDIRECT_URI).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));
    assert!(landing.param("error_description").expect("description").contains("S256"));

    // A wrong verifier: invalid_grant.
    let app = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let (code, _) = signed_in_code(&app, &[]).await;
    let wrong = "x".repeat(43);
    let (status, body) = token_request(&server, CONTOSO, &code_form(&code, &wrong)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    server.stop().await;
}

async fn code_reuse_revokes_what_the_code_gave(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let (code, pending) = signed_in_code(&rp, &["offline_access"]).await;
    let verifier = pending.verifier.expect("pkce").secret().clone();
    let (status, first) = token_request(&server, CONTOSO, &code_form(&code, &verifier)).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = token_request(&server, CONTOSO, &code_form(&code, &verifier)).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")), "{second}");
    // The refresh token from the first exchange died with the replay.
    let refresh = first["refresh_token"].as_str().expect("refresh token");
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", DEMO_APP), ("client_secret", DEMO_APP_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    server.stop().await;
}

async fn concurrent_redemption_of_one_code_has_one_winner(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let (code, pending) = signed_in_code(&rp, &[]).await;
    let verifier = pending.verifier.expect("pkce").secret().clone();
    let attempts = (0..8).map(|_| {
        let (code, verifier, url) = (code.clone(), verifier.clone(), server.url("/contoso/oauth2/v2.0/token"));
        tokio::spawn(async move { api().post(url).form(&code_form(&code, &verifier)).send().await.expect("token").status().as_u16() })
    });
    let mut statuses = vec![];
    for attempt in attempts {
        statuses.push(attempt.await.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");
    server.stop().await;
}

async fn expired_code_is_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.tokens.code_ttl = 1).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let (code, pending) = signed_in_code(&rp, &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let verifier = pending.verifier.expect("pkce").secret().clone();
    let (status, body) = token_request(&server, CONTOSO, &code_form(&code, &verifier)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().expect("description").contains("expired"));
    server.stop().await;
}

async fn refresh_token_reuse_revokes_the_family(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let (code, pending) = signed_in_code(&rp, &["offline_access"]).await;
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let original = tokens.refresh_token().expect("refresh").secret().clone();
    let refresh = |token: String| {
        let server_url = server.url("/contoso/oauth2/v2.0/token");
        async move {
            let response = api()
                .post(server_url)
                .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", token.as_str())])
                .send()
                .await
                .expect("refresh");
            (response.status().as_u16(), response.json::<serde_json::Value>().await.expect("json"))
        }
    };
    let (status, rotated) = refresh(original.clone()).await;
    assert_eq!(status, 200, "{rotated}");
    let successor = rotated["refresh_token"].as_str().expect("rotated").to_string();
    // The thief (or a confused client) replays the old one: refused...
    let (status, replay) = refresh(original).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "{replay}");
    // ...and the legitimate successor is now dead too.
    let (status, body) = refresh(successor).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // A wider scope is refused; a narrower one narrows this response only,
    // and the grant keeps its scope (RFC 6749 §6).
    let (code, pending) = signed_in_code(&rp, &["offline_access"]).await;
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let token = tokens.refresh_token().expect("refresh").secret().clone();
    let with_scope = |token: &str, scope: &str| {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", scope),
            ("client_id", DEMO_APP),
            ("client_secret", DEMO_APP_SECRET),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let url = server.url("/contoso/oauth2/v2.0/token");
        async move {
            let response = api().post(url).form(&form).send().await.expect("refresh");
            (response.status().as_u16(), response.json::<serde_json::Value>().await.expect("json"))
        }
    };
    let (status, body) = with_scope(&token, "openid email").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let (status, narrowed) = with_scope(&token, "openid").await;
    assert_eq!((status, narrowed["scope"].as_str()), (200, Some("openid")), "{narrowed}");
    let next = narrowed["refresh_token"].as_str().expect("rotated");
    let (status, full) = with_scope(next, "openid offline_access").await;
    assert_eq!((status, full["scope"].as_str()), (200, Some("openid offline_access")), "{full}");
    // Another client presenting the token gets nothing and burns nothing;
    // a token of another shape (the pre-0.4 format) is simply invalid.
    let live = full["refresh_token"].as_str().expect("rotated");
    let response = api()
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", live), ("client_id", DEMO_SPA)])
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<serde_json::Value>().await.expect("json")["error"], "invalid_grant");
    let (status, body) = with_scope(&"A".repeat(43), "openid").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // The same token twice at once: one rotation wins, the other is reuse
    // and revokes the grant, the winner's new token included.
    let (a, b) = tokio::join!(with_scope(live, "openid"), with_scope(live, "openid"));
    let winners: Vec<_> = [a, b].into_iter().filter(|(status, _)| *status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent use of a token succeeds: {winners:?}");
    let successor = winners[0].1["refresh_token"].as_str().expect("rotated");
    let (status, body) = with_scope(successor, "openid").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    server.stop().await;
}

async fn client_authentication_failures(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cc = |id: &'static str, secret: &'static str| {
        vec![("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default"), ("client_id", id), ("client_secret", secret)]
    };
    let (status, body) = token_request(&server, CONTOSO, &cc(ADMIN_CLI, "wrong-secret")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let (status, body) = token_request(&server, CONTOSO, &cc("no-such-client", "x")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    // Basic auth failure names the scheme (RFC 6749 §5.2).
    let response = api()
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .basic_auth(ADMIN_CLI, Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("scope", "api://b2b-idp-admin/.default")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers()["www-authenticate"].to_str().expect("header").starts_with("Basic"));
    // A public client may not use client_credentials; a confidential one not an unknown grant.
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "client_credentials"), ("client_id", DEMO_SPA), ("scope", "api://b2b-idp-admin/.default")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    let (status, body) =
        token_request(&server, CONTOSO, &[("grant_type", "password"), ("client_id", ADMIN_CLI), ("client_secret", ADMIN_CLI_SECRET)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")), "{body}");
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", ADMIN_CLI), ("client_secret", ADMIN_CLI_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_CLI),
            ("client_secret", ADMIN_CLI_SECRET),
            ("scope", "api://nothing-here/.default"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    // Not a form at all.
    let response = api()
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("token");
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("json error");
    assert_eq!(body["error"], "invalid_request");
    server.stop().await;
}

async fn unknown_tenant_is_a_json_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    for path in [
        "/nowhere/v2.0/.well-known/openid-configuration",
        "/nowhere/discovery/v2.0/keys",
        "/nowhere/oauth2/v2.0/authorize?client_id=demo-app",
    ] {
        let response = api().get(server.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON error");
        assert_eq!(body["error"], "tenant_not_found", "{path}");
    }
    let (status, body) = token_request(&server, "nowhere", &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("tenant_not_found")));
    server.stop().await;
}

async fn tokens_do_not_cross_tenants(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = |secret| {
        vec![
            ("grant_type", "client_credentials"),
            ("scope", "api://b2b-idp-admin/.default"),
            ("client_id", ADMIN_CLI),
            ("client_secret", secret),
        ]
    };
    let (_, contoso) = token_request(&server, CONTOSO, &form(ADMIN_CLI_SECRET)).await;
    let token = contoso["access_token"].as_str().expect("token");
    let introspect = |tenant: &'static str| {
        let url = server.url(&format!("/{tenant}/oauth2/v2.0/introspect"));
        let token = token.to_string();
        async move {
            let response =
                api().post(url).basic_auth(ADMIN_CLI, Some(ADMIN_CLI_SECRET)).form(&[("token", token)]).send().await.expect("introspect");
            response.json::<serde_json::Value>().await.expect("json")
        }
    };
    assert_eq!(introspect(CONTOSO).await["active"], true);
    assert_eq!(introspect(FABRIKAM).await["active"], false, "fabrikam does not accept contoso's token");
    // Userinfo at fabrikam with a contoso token: invalid_token with a Bearer challenge.
    let response = api().get(server.url("/fabrikam/openid/userinfo")).bearer_auth(token).send().await.expect("userinfo");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers()["www-authenticate"].to_str().expect("header").starts_with("Bearer"));
    // Introspection needs a confidential client.
    let response = api()
        .post(server.url("/contoso/oauth2/v2.0/introspect"))
        .form(&[("token", token), ("client_id", DEMO_SPA)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status().as_u16(), 401);
    server.stop().await;
}

async fn forged_or_missing_csrf_token_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Browser::new();
    let page = browser.http.get(&rp.authorize(&[], true).url).send().await.expect("authorize");
    let form = post_forms(&page.text().await.expect("body")).remove(0);
    for csrf in ["", "forged-token"] {
        let fields = form.filled(&[("username", ALICE.0), ("password", ALICE.1), ("csrf_token", csrf)]);
        let response = browser.http.post(&form.action).form(&fields).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 400);
        assert!(response.headers().get("set-cookie").is_none(), "no session for a forged form");
    }
    // The same form posted from another browser (no binding cookie) is refused too.
    let fields = form.filled(&[("username", ALICE.0), ("password", ALICE.1)]);
    let response = Browser::new().http.post(&form.action).form(&fields).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 400);
    // The genuine form still works afterwards: nothing was consumed.
    let response = browser.http.post(&form.action).form(&fields).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 302);
    server.stop().await;
}

on_both_backends!(
    resources_need_a_grant,
    wrong_password_and_unknown_user_read_the_same,
    untrusted_client_or_redirect_uri_never_redirects,
    pkce_rules,
    code_reuse_revokes_what_the_code_gave,
    concurrent_redemption_of_one_code_has_one_winner,
    expired_code_is_refused,
    refresh_token_reuse_revokes_the_family,
    client_authentication_failures,
    unknown_tenant_is_a_json_404,
    tokens_do_not_cross_tenants,
    forged_or_missing_csrf_token_is_refused,
);
