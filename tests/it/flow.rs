//! The happy paths, driven by the `openidconnect` crate as a real RP.

use openidconnect::core::{CoreGenderClaim, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, AccessTokenHash, EmptyAdditionalClaims, Nonce, OAuth2TokenResponse, TokenIntrospectionResponse, TokenResponse,
};

use crate::harness::*;

async fn member_code_flow_end_to_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    assert_eq!(rp.metadata.issuer().as_str(), server.issuer(CONTOSO_ID));
    assert_eq!(rp.metadata.additional_metadata().tenant_region_scope, "WW");

    // Authorize with PKCE + nonce; the "browser" signs in on the login form.
    let pending = rp.authorize(&["profile", "email", "offline_access"], true);
    let landing = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await;
    assert_eq!(landing.param("state").as_deref(), Some(pending.state.secret().as_str()));
    assert_eq!(landing.param("iss"), Some(server.issuer(CONTOSO_ID)), "RFC 9207 iss parameter");
    let code = landing.param("code").expect("code");

    // Code exchange, ID token verified against the JWKS by the RP library.
    let tokens = rp.exchange(&code, pending.verifier).await.expect("token response");
    let id_token = tokens.id_token().expect("ID token");
    let verifier = rp.client.id_token_verifier();
    let claims = id_token.claims(&verifier, &pending.nonce).expect("ID token verifies");
    assert_eq!(claims.issuer().as_str(), server.issuer(CONTOSO_ID));
    assert_eq!(claims.audiences().len(), 1);
    assert_eq!(claims.audiences()[0].as_str(), DEMO_APP);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ALICE.0));
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(ALICE.0));
    let entra = claims.additional_claims();
    assert_eq!(entra.tid, CONTOSO_ID);
    assert_eq!(entra.oid, claims.subject().as_str());
    assert_eq!(entra.user_type, "Member");
    assert_eq!(entra.acct, 0);
    assert_eq!(entra.home_tid, CONTOSO_ID);
    assert_eq!(entra.idp, None, "members carry no idp claim");
    let amr: Vec<&str> = claims.auth_method_refs().expect("amr").iter().map(|m| m.as_str()).collect();
    assert_eq!(amr, vec!["pwd"]);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("1"));
    assert!(claims.auth_time().is_some());
    assert_eq!(id_token.signing_alg().expect("alg"), &CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&at_hash));

    // The access token: RFC 9068 shape, audience the app itself.
    let access = jwt_payload(tokens.access_token().secret());
    assert_eq!(jwt_header(tokens.access_token().secret())["typ"], "at+jwt");
    assert_eq!(access["aud"], DEMO_APP);
    assert_eq!(access["client_id"], DEMO_APP);
    assert_eq!(access["tid"], CONTOSO_ID);
    assert_eq!(access["user_type"], "Member");
    assert!(access["jti"].is_string());

    // Userinfo.
    let info = rp
        .client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint")
        .request_async::<EmptyAdditionalClaims, _, CoreGenderClaim>(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(ALICE.0));

    // Refresh: rotation gives a new refresh token and a new verifiable ID token.
    let refresh = tokens.refresh_token().expect("refresh token (offline_access)").clone();
    let refreshed =
        rp.client.exchange_refresh_token(&refresh).expect("token endpoint").request_async(&rp.http).await.expect("refresh grant");
    let rotated = refreshed.refresh_token().expect("rotated refresh token").clone();
    assert_ne!(rotated.secret(), refresh.secret());
    let no_nonce = |_: Option<&Nonce>| Ok(());
    let again = refreshed.id_token().expect("ID token on refresh").claims(&verifier, no_nonce).expect("verifies");
    assert_eq!(again.subject(), claims.subject());

    // Introspection: the new access token is active.
    let active = rp.client.introspect(refreshed.access_token()).request_async(&rp.http).await.expect("introspect");
    assert!(active.active());
    assert_eq!(active.client_id().map(|c| c.as_str()), Some(DEMO_APP));

    // Revoke the refresh token (RFC 7009; the crate insists on https for
    // revocation, so this one POST is made by hand): it goes inactive and
    // can no longer refresh.
    let revoke = |token: String| {
        let url = rp.metadata.additional_metadata().revocation_endpoint.clone();
        async move {
            let response =
                api().post(url).basic_auth(DEMO_APP, Some(DEMO_APP_SECRET)).form(&[("token", token)]).send().await.expect("revoke");
            assert_eq!(response.status().as_u16(), 200);
        }
    };
    let as_access = AccessToken::new(rotated.secret().clone());
    let live = rp.client.introspect(&as_access).request_async(&rp.http).await.expect("introspect");
    assert!(live.active(), "the live refresh token is active");
    assert_eq!(live.client_id().map(|c| c.as_str()), Some(DEMO_APP));
    assert!(live.scopes().is_some_and(|s| s.iter().any(|s| s.as_str() == "offline_access")), "{:?}", live.scopes());
    let spent = rp.client.introspect(&AccessToken::new(refresh.secret().clone())).request_async(&rp.http).await.expect("introspect");
    assert!(!spent.active(), "a rotated-away refresh token is inactive");
    revoke(rotated.secret().clone()).await;
    let inactive = rp.client.introspect(&as_access).request_async(&rp.http).await.expect("introspect");
    assert!(!inactive.active(), "revoked refresh token is inactive");
    let denied = rp.client.exchange_refresh_token(&rotated).expect("endpoint").request_async(&rp.http).await;
    assert!(denied.is_err(), "revoked refresh token cannot be used");

    // Revoke the access token: introspection then says inactive.
    revoke(refreshed.access_token().secret().clone()).await;
    let gone = rp.client.introspect(refreshed.access_token()).request_async(&rp.http).await.expect("introspect");
    assert!(!gone.active(), "revoked access token is inactive");
    server.stop().await;
}

async fn public_client_uses_pkce_without_secret(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_SPA, None).await;
    let pending = rp.authorize(&["offline_access"], true);
    let code = Browser::new().run(&pending.url, Some(CONTOSO_ADMIN), REDIRECT_URI).await.param("code").expect("code");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("public client gets tokens");
    tokens.id_token().expect("id token").claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
    assert!(tokens.refresh_token().is_some());
    server.stop().await;
}

async fn tenants_by_name_or_id_jwks_and_single_sign_on(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = api();
    for tenant in [CONTOSO, CONTOSO_ID] {
        let doc: serde_json::Value = http
            .get(server.url(&format!("/{tenant}/v2.0/.well-known/openid-configuration")))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["issuer"], server.issuer(CONTOSO_ID));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    }
    let jwks: serde_json::Value =
        http.get(server.url("/fabrikam/discovery/v2.0/keys")).send().await.expect("jwks").json().await.expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    let ec = keys.iter().find(|k| k["kty"] == "EC").expect("an EC key");
    assert_eq!(ec["alg"], "ES256");
    let rsa = keys.iter().find(|k| k["kty"] == "RSA").expect("an RSA key (OIDC Core 15.1)");
    assert_eq!(rsa["alg"], "RS256");
    for key in keys {
        assert!(key.get("d").is_none() && key.get("p").is_none(), "no private part is published");
    }

    // Signed in once at contoso, the next request needs no password.
    let browser = Browser::new();
    let contoso = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    browser.run(&contoso.authorize(&[], true).url, Some(ALICE), REDIRECT_URI).await.client();
    let again = browser.run(&contoso.authorize(&[], true).url, None, REDIRECT_URI).await;
    assert!(again.param("code").is_some(), "SSO: second request at contoso needs no password");
    // Fabrikam does not know contoso's app: its own page says so, no redirect.
    let fabrikam_url = contoso.authorize(&[], true).url.replace(CONTOSO_ID, FABRIKAM_ID);
    match browser.run(&fabrikam_url, None, REDIRECT_URI).await {
        Landing::Page { status, body } => {
            assert_eq!(status, 400);
            assert!(body.contains("not registered"), "{body}");
        }
        Landing::Client(url) => panic!("fabrikam must not redirect: {url}"),
    }
    server.stop().await;
}

async fn prompt_max_age_consent_form_post_and_logout(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Browser::new();

    // prompt=none before signing in: login_required, back at the client.
    let url = format!("{}&prompt=none", rp.authorize(&[], true).url);
    let landing = browser.run(&url, None, REDIRECT_URI).await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));

    let first = rp.authorize(&[], true);
    let code = browser.run(&first.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("code");
    let tokens = rp.exchange(&code, first.verifier).await.expect("tokens");
    let id_token = tokens.id_token().expect("id token").to_string();

    // prompt=none with a session: straight back with a code.
    let url = format!("{}&prompt=none", rp.authorize(&[], true).url);
    assert!(browser.run(&url, None, REDIRECT_URI).await.param("code").is_some());

    // prompt=login shows the sign-in page despite the session.
    let url = format!("{}&prompt=login", rp.authorize(&[], true).url);
    assert!(matches!(browser.run(&url, None, REDIRECT_URI).await, Landing::Page { status: 200, .. }));

    // max_age older than the sign-in forces it again; a generous one does not.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let url = format!("{}&max_age=1", rp.authorize(&[], true).url);
    assert!(matches!(browser.run(&url, None, REDIRECT_URI).await, Landing::Page { status: 200, .. }));
    let url = format!("{}&max_age=3600", rp.authorize(&[], true).url);
    assert!(browser.run(&url, None, REDIRECT_URI).await.param("code").is_some());

    // prompt=consent: the consent page; declining sends access_denied.
    let url = format!("{}&prompt=consent", rp.authorize(&["profile"], true).url);
    let mut response = browser.http.get(&url).send().await.expect("authorize");
    let body = response.text().await.expect("body");
    let forms = post_forms(&body);
    assert_eq!(forms.len(), 2, "accept form first, then decline");
    assert_eq!(forms[0].value("decision"), Some("accept"));
    response = browser.http.post(&forms[1].action).form(&forms[1].fields).send().await.expect("decline");
    let location = response.headers()["location"].to_str().expect("location").to_string();
    assert!(location.starts_with(REDIRECT_URI) && location.contains("error=access_denied"), "{location}");
    // ...and accepting (the first form, as outside tools do) gives a code.
    let url = format!("{}&prompt=consent", rp.authorize(&["profile"], true).url);
    assert!(browser.run(&url, None, REDIRECT_URI).await.param("code").is_some());

    // response_mode=fragment (msal-browser's default): the code in the fragment.
    let url = format!("{}&response_mode=fragment", rp.authorize(&[], true).url);
    let landing = browser.run(&url, None, REDIRECT_URI).await;
    let Landing::Client(callback) = &landing else { panic!("expected the client: {landing:?}") };
    assert!(callback.query().is_none() && callback.fragment().is_some_and(|f| f.contains("code=")), "{callback}");

    // response_mode=form_post: an auto-submitting form to the redirect URI.
    let url = format!("{}&response_mode=form_post", rp.authorize(&[], true).url);
    let page = browser.http.get(&url).send().await.expect("authorize");
    assert!(page.headers()["content-security-policy"].to_str().expect("csp").contains("nonce-"));
    let forms = post_forms(&page.text().await.expect("body"));
    assert_eq!(forms[0].action, REDIRECT_URI);
    assert!(forms[0].value("code").is_some() && forms[0].value("state").is_some());

    // RP-initiated logout back to a registered URI, with state.
    let logout = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        rp.metadata.additional_metadata().end_session_endpoint,
        "http://127.0.0.1:8400/"
    );
    let response = browser.http.get(&logout).send().await.expect("logout");
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "http://127.0.0.1:8400/?state=bye");
    let url = format!("{}&prompt=none", rp.authorize(&[], true).url);
    assert_eq!(browser.run(&url, None, REDIRECT_URI).await.param("error").as_deref(), Some("login_required"));

    // Without an id_token_hint, logout asks first; the confirmation form signs out.
    let second = rp.authorize(&[], true);
    browser.run(&second.url, Some(ALICE), REDIRECT_URI).await.client();
    let endpoint = rp.metadata.additional_metadata().end_session_endpoint.clone();
    let page = browser.http.get(&endpoint).send().await.expect("logout");
    assert_eq!(page.status().as_u16(), 200);
    let forms = post_forms(&page.text().await.expect("body"));
    assert_eq!(forms.len(), 1, "a confirmation form");
    let url = format!("{}&prompt=none", rp.authorize(&[], true).url);
    assert!(browser.run(&url, None, REDIRECT_URI).await.param("code").is_some(), "still signed in until confirmed");
    let done = browser.http.post(&forms[0].action).form(&forms[0].fields).send().await.expect("confirm");
    assert_eq!(done.status().as_u16(), 200);
    assert_eq!(browser.run(&url, None, REDIRECT_URI).await.param("error").as_deref(), Some("login_required"));

    // An unregistered post-logout URI is refused on our own page: no open redirect.
    let evil = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/",
        rp.metadata.additional_metadata().end_session_endpoint
    );
    let response = browser.http.get(&evil).send().await.expect("logout");
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("location").is_none());
    server.stop().await;
}

async fn client_credentials_for_the_admin_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_CLI),
            ("client_secret", ADMIN_CLI_SECRET),
            ("scope", "api://b2b-idp-admin/.default"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "api://b2b-idp-admin");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["tid"], CONTOSO_ID);
    let roles: Vec<&str> = claims["roles"].as_array().expect("roles").iter().filter_map(|r| r.as_str()).collect();
    assert!(roles.contains(&"User.Invite.All") && roles.contains(&"Policy.ReadWrite.All"), "{roles:?}");
    assert!(body.get("refresh_token").is_none());

    // The same via HTTP Basic, for the demo app's own resource (no roles granted).
    let response = api()
        .post(server.url("/contoso/oauth2/v2.0/token"))
        .basic_auth(DEMO_APP, Some(DEMO_APP_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "api://demo-app/.default")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token").to_string();
    assert_eq!(jwt_payload(&token)["aud"], "api://demo-app");
    // Named by client id, the same resource has the same canonical audience.
    let (_, body) = token_request(
        &server,
        CONTOSO,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_APP),
            ("client_secret", DEMO_APP_SECRET),
            ("scope", "demo-app/.default"),
        ],
    )
    .await;
    assert_eq!(jwt_payload(body["access_token"].as_str().expect("token"))["aud"], "api://demo-app");
    // An app token has no openid scope: userinfo says insufficient_scope.
    let response = api().get(server.url("/contoso/openid/userinfo")).bearer_auth(&token).send().await.expect("userinfo");
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers()["www-authenticate"].to_str().expect("header").contains("insufficient_scope"));
    server.stop().await;
}

on_both_backends!(
    member_code_flow_end_to_end,
    public_client_uses_pkce_without_secret,
    tenants_by_name_or_id_jwks_and_single_sign_on,
    prompt_max_age_consent_form_post_and_logout,
    client_credentials_for_the_admin_api,
);
