//! A guest whose home is an external OIDC provider this project did not
//! write: panva's `oidc-provider` (OpenID Certified), installed from the npm
//! registry into bench/peer (see its README), configured per resource tenant
//! through the admin API.

use std::process::Stdio;

use serde_json::json;

use crate::b2b::invite;
use crate::harness::*;

const WELCOME: &str = "https://apps.contoso.example/welcome";
const ERIN: (&str, &str) = ("erin@partner.example", "Erin-Passw0rd");

async fn a_guest_from_an_external_oidc_provider(backend: Backend) {
    // The peer runs on this machine: its loopback address must be allowed (SSRF guard).
    let server = TestServer::start_with(backend, |c| c.b2b.allowed_internal_networks = vec!["127.0.0.0/8".into(), "::1/128".into()]).await;
    let callback = server.url("/contoso/federation/callback");
    let clients = json!([{
        "client_id": "contoso-b2b", "client_secret": "peer-secret-for-contoso",
        "redirect_uris": [callback], "grant_types": ["authorization_code"], "response_types": ["code"],
    }]);
    let users = json!([{"email": ERIN.0, "password": ERIN.1, "name": "Erin"}]);
    let peer =
        b2b_idp_testkit::peer::start(&clients, &users, &[], Stdio::inherit()).await.expect("the peer OP starts (Node.js is required)");
    let issuer = peer.issuer.clone();

    // Contoso's admin registers the provider for partner.example (Graph's shape).
    let token = app_token(&server, CONTOSO).await;
    let provider = json!({
        "@odata.type": "#microsoft.graph.openIdConnectIdentityProvider",
        "displayName": "Partner", "issuer": issuer, "clientId": "contoso-b2b",
        "clientSecret": "peer-secret-for-contoso", "domains": ["partner.example"],
    });
    let url = server.url("/contoso/v1.0/identity/identityProviders");
    let (status, _, added) = call(reqwest::Method::POST, url.clone(), &token, Some(provider)).await;
    assert_eq!(status, 201, "{added}");
    assert!(added.get("clientSecret").is_none(), "the secret is write-only: {added}");
    let (_, _, listed) = call(reqwest::Method::GET, url, &token, None).await;
    assert_eq!(listed["value"][0]["issuer"], issuer.as_str());

    // Invite, redeem at the provider's own login page, consent, land on the app.
    let (status, invitation) = invite(&server, &token, ERIN.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let landing = Browser::new().run(invitation["inviteRedeemUrl"].as_str().expect("url"), Some(ERIN), WELCOME).await;
    assert_eq!(landing.client().as_str(), WELCOME);

    // Sign in to a contoso app: home realm discovery sends Erin to the provider.
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile", "email"], true);
    let landing = Browser::new().run(&pending.url, Some(ERIN), REDIRECT_URI).await;
    let tokens = rp.exchange(&landing.param("code").expect("code"), pending.verifier).await.expect("tokens");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("ID token");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
    let claims = jwt_payload(&id_token.to_string());
    assert_eq!(claims["user_type"], "Guest");
    assert_eq!(claims["acct"], 1);
    assert_eq!(claims["idp"], issuer.as_str());
    let represented = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, issuer.as_bytes()).to_string();
    assert_eq!(claims["home_tid"], represented.as_str(), "the tenant id that stands for the provider");
    assert_eq!(claims["amr"], json!(["fed", "mfa"]), "contoso's MFA for guests");
    assert_eq!(claims["email"], ERIN.0);

    // Trusting the provider's MFA when it cannot deliver any: a clear refusal, no code.
    let partner = format!(
        "/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{}",
        percent_encoding::utf8_percent_encode(&issuer, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, _, body) =
        call(reqwest::Method::PUT, server.url(&partner), &token, Some(json!({"inboundTrust": {"isMfaAccepted": true}}))).await;
    assert_eq!(status, 200, "{body}");
    let landing = Browser::new().run(&rp.authorize(&["email"], true).url, Some(ERIN), REDIRECT_URI).await;
    let Landing::Page { status, body } = landing else { panic!("a code without MFA: {landing:?}") };
    assert_eq!(status, 403);
    assert!(body.contains("did not include it"), "{body}");
    drop(peer);
    server.stop().await;
}

on_both_backends!(a_guest_from_an_external_oidc_provider);
