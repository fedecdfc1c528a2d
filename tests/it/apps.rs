//! Applications and directory roles through the admin API: an app
//! registered over HTTP signs people in and gets tokens with a secret from
//! `addPassword` (until it expires or is removed), who may change apps and
//! hand out roles, and guests holding limited admin roles.

use std::time::Duration;

use base64::Engine;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{json, Value};

use crate::b2b::invite;
use crate::harness::*;

const GLOBAL_ADMINISTRATOR_ID: &str = "62e90394-69f5-4237-9190-012177145e10";
const GUEST_INVITER_ID: &str = "95e79109-95c0-4d8e-aee3-d01accf2d47b";
const DIRECTORY_READERS_ID: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const APP_ADMIN: (&str, &str) = ("appadmin@contoso.example", "App-Admin-Passw0rd");
const USER_ADMIN: (&str, &str) = ("useradmin@contoso.example", "User-Admin-Passw0rd");

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn client_credentials<'a>(client_id: &'a str, secret: &'a str, scope: &'a str) -> [(&'a str, &'a str); 4] {
    [("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret), ("scope", scope)]
}

/// The error message of a Graph error answer.
fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_string()
}

async fn applications_are_registered_and_used(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let apps = server.url("/contoso/v1.0/applications");
    let payroll = json!({
        "displayName": "Payroll",
        "signInAudience": "AzureADMyOrg",
        "identifierUris": ["api://payroll"],
        "web": {"redirectUris": [REDIRECT_URI]},
        "requiredResourceAccess": [{"resourceAppId": "api://demo-app", "resourceAccess": [{"id": "Invoices.Read", "type": "Role"}]}]
    });
    let (status, _, created) = call(reqwest::Method::POST, apps.clone(), &token, Some(payroll)).await;
    assert_eq!(status, 201, "{created}");
    let app_id = created["appId"].as_str().expect("appId").to_string();
    assert!(uuid::Uuid::parse_str(&app_id).is_ok(), "{created}");
    assert_eq!(created["id"], app_id.as_str(), "an application's id is its appId here");
    assert_eq!(created["web"]["redirectUris"], json!([REDIRECT_URI]));
    assert_eq!(created["identifierUris"], json!(["api://payroll"]));
    assert_eq!(created["passwordCredentials"], json!([]));
    let this = server.url(&format!("/contoso/v1.0/applications/{app_id}"));

    // Confidential, and without a secret yet: it cannot authenticate.
    let (status, refused) = token_request(&server, CONTOSO, &client_credentials(&app_id, "", "api://payroll/.default")).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("invalid_client")), "{refused}");

    let add = server.url(&format!("/contoso/v1.0/applications/{app_id}/addPassword"));
    let (status, headers, secret) =
        call(reqwest::Method::POST, add.clone(), &token, Some(json!({"passwordCredential": {"displayName": "CI"}}))).await;
    assert_eq!(status, 200, "{secret}");
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let secret_text = secret["secretText"].as_str().expect("secretText").to_string();
    assert!(secret_text.len() >= 32, "{secret}");
    assert_eq!(secret["hint"].as_str(), Some(&secret_text[..3]));
    let end = secret["endDateTime"].as_str().expect("endDateTime");
    assert!(end.starts_with(&(time::OffsetDateTime::now_utc().year() + 2).to_string()), "two years by default: {end}");

    // client_credentials with the granted app role of another app's API.
    let (status, granted) = token_request(&server, CONTOSO, &client_credentials(&app_id, &secret_text, "api://demo-app/.default")).await;
    assert_eq!(status, 200, "{granted}");
    let claims = jwt_payload(granted["access_token"].as_str().expect("access token"));
    assert_eq!((claims["aud"].as_str(), claims["roles"].clone()), (Some("api://demo-app"), json!(["Invoices.Read"])), "{claims}");

    // Code + PKCE, with a library nobody here wrote: Alice signs in to Payroll.
    let rp = Rp::discover(&server, CONTOSO_ID, &app_id, Some(&secret_text)).await;
    let pending = rp.authorize(&["profile"], true);
    let code = Browser::new().run(&pending.url, Some(ALICE), REDIRECT_URI).await.param("code").expect("a code for Alice");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("tokens");
    let id_token = tokens.id_token().expect("ID token");
    let verified = id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("the ID token verifies");
    assert_eq!(verified.audiences()[0].as_str(), app_id);
    assert!(!tokens.access_token().secret().is_empty());

    // Read back: the secret by its hint, never its text.
    let (status, _, shown) = call(reqwest::Method::GET, this.clone(), &token, None).await;
    assert_eq!(status, 200, "{shown}");
    let credential = &shown["passwordCredentials"][0];
    assert_eq!((credential["displayName"].as_str(), credential["hint"].as_str()), (Some("CI"), Some(&secret_text[..3])));
    assert!(credential.get("secretText").is_none() && !shown.to_string().contains(&secret_text), "{shown}");
    let listed = list_all(apps.clone(), &token).await;
    assert!(listed.iter().any(|a| a["appId"] == app_id.as_str()) && listed.iter().any(|a| a["appId"] == DEMO_APP), "{listed:?}");

    // An API that defines its app roles is granted only those, by id (as
    // Graph names them) or value; an enabled role is disabled before it goes.
    let api = json!({"displayName": "Invoices API", "identifierUris": ["api://invoices"], "appRoles": [
        {"value": "Invoices.Read", "displayName": "Read invoices", "allowedMemberTypes": ["Application"]},
        {"value": "Invoices.Approve", "displayName": "Approve invoices", "allowedMemberTypes": ["User"]}
    ]});
    let (status, _, invoices) = call(reqwest::Method::POST, apps.clone(), &token, Some(api)).await;
    assert_eq!(status, 201, "{invoices}");
    let read_role = invoices["appRoles"][0]["id"].as_str().expect("a role id").to_string();
    assert!(uuid::Uuid::parse_str(&read_role).is_ok() && invoices["appRoles"][0]["origin"] == "Application", "{invoices}");
    let grant =
        |id: &str| json!({"requiredResourceAccess": [{"resourceAppId": "api://invoices", "resourceAccess": [{"id": id, "type": "Role"}]}]});
    for (undefined, why) in [("Invoices.Write", "no such role"), ("Invoices.Approve", "a role for users")] {
        let (status, _, body) = call(reqwest::Method::PATCH, this.clone(), &token, Some(grant(undefined))).await;
        assert!(status == 400 && message(&body).contains("no enabled application role"), "{why}: {body}");
    }
    assert_eq!(call(reqwest::Method::PATCH, this.clone(), &token, Some(grant(&read_role))).await.0, 204);
    let (status, granted) = token_request(&server, CONTOSO, &client_credentials(&app_id, &secret_text, "api://invoices/.default")).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(jwt_payload(granted["access_token"].as_str().expect("token"))["roles"], json!(["Invoices.Read"]), "the role's value");
    let invoices_url = server.url(&format!("/contoso/v1.0/applications/{}", invoices["appId"].as_str().expect("appId")));
    let (status, _, body) = call(reqwest::Method::PATCH, invoices_url.clone(), &token, Some(json!({"appRoles": []}))).await;
    assert!(status == 400 && message(&body).contains("disable"), "{body}");
    let mut disabled = invoices["appRoles"].clone();
    disabled[0]["isEnabled"] = json!(false);
    disabled[1]["isEnabled"] = json!(false);
    assert_eq!(call(reqwest::Method::PATCH, invoices_url.clone(), &token, Some(json!({"appRoles": disabled}))).await.0, 204);
    assert_eq!(call(reqwest::Method::PATCH, invoices_url, &token, Some(json!({"appRoles": []}))).await.0, 204);

    // PATCH: a new name; what cannot be honoured is refused by name.
    let (status, _, _) = call(reqwest::Method::PATCH, this.clone(), &token, Some(json!({"displayName": "Payroll 2"}))).await;
    assert_eq!(status, 204);
    assert_eq!(call(reqwest::Method::GET, this.clone(), &token, None).await.2["displayName"], "Payroll 2");
    for (bad, says) in [
        (json!({"web": {"implicitGrantSettings": {"enableIdTokenIssuance": true}}}), "implicitGrantSettings"),
        (json!({"web": {"redirectUris": ["http://evil.example/cb"]}}), "https"),
        (json!({"web": {"redirectUris": ["https://app.example/cb#x"]}}), "fragment"),
        (json!({"web": {"redirectUris": ["https://*.example/cb"]}}), "wildcard"),
        (json!({"web": {"redirectUris": ["https://a.example/cb"]}, "spa": {"redirectUris": ["https://b.example/cb"]}}), "one kind"),
        (json!({"identifierUris": ["api://b2b-idp-admin"]}), "admin API"),
        (json!({"identifierUris": ["demo-app"]}), "api://"),
        (json!({"signInAudience": "AzureADMultipleOrgs"}), "AzureADMyOrg"),
        (json!({"displayName": ""}), "displayName"),
        (json!({"appRoles": [{"value": "has space", "displayName": "X", "allowedMemberTypes": ["Application"]}]}), "without spaces"),
        (json!({"keyCredentials": [{"type": "Symmetric", "usage": "Verify", "key": "AA=="}]}), "keyCredentials[0]: type must be"),
        (json!({"requiredResourceAccess": [{"resourceAppId": "api://nowhere", "resourceAccess": []}]}), "api://nowhere"),
        (json!({"requiredResourceAccess": vec![json!({"resourceAppId": "api://demo-app", "resourceAccess": []}); 33]}), "at most 32"),
        (json!({"identifierUris": ["https://api.fabrikam.example/payroll"]}), "tenant's domains"),
        (json!([null, null]), "JSON object"),
    ] {
        let (status, _, body) = call(reqwest::Method::PATCH, this.clone(), &token, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(message(&body).contains(says), "{bad}: {body}");
    }
    let (status, _, taken) = call(reqwest::Method::PATCH, this.clone(), &token, Some(json!({"identifierUris": ["api://demo-app"]}))).await;
    assert_eq!(status, 409, "another app's identifier URI: {taken}");

    // A secret that expires: it works until its end, then not.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let soon = soon.format(&time::format_description::well_known::Rfc3339).expect("format");
    let (status, _, short) =
        call(reqwest::Method::POST, add.clone(), &token, Some(json!({"passwordCredential": {"endDateTime": soon}}))).await;
    assert_eq!(status, 200, "{short}");
    let short_text = short["secretText"].as_str().expect("secretText");
    let (status, _) = token_request(&server, CONTOSO, &client_credentials(&app_id, short_text, "api://payroll/.default")).await;
    assert_eq!(status, 200, "before its end");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, expired) = token_request(&server, CONTOSO, &client_credentials(&app_id, short_text, "api://payroll/.default")).await;
    assert_eq!((status, expired["error"].as_str()), (401, Some("invalid_client")), "after its end: {expired}");
    let signins = list_all(server.url("/contoso/v1.0/auditLogs/signIns"), &token).await;
    assert!(signins.iter().any(|s| s["appId"] == app_id.as_str() && s["status"]["errorCode"] == 7000222), "{signins:#?}");
    let past = json!({"passwordCredential": {"endDateTime": "2020-01-01T00:00:00Z"}});
    let (status, _, body) = call(reqwest::Method::POST, add.clone(), &token, Some(past)).await;
    assert!(status == 400 && message(&body).contains("endDateTime"), "{body}");

    // removePassword: that secret stops working at once; the other one does not.
    let remove = server.url(&format!("/contoso/v1.0/applications/{app_id}/removePassword"));
    let key_id = secret["keyId"].as_str().expect("keyId");
    let (status, _, _) = call(reqwest::Method::POST, remove.clone(), &token, Some(json!({"keyId": key_id}))).await;
    assert_eq!(status, 204);
    let (status, _) = token_request(&server, CONTOSO, &client_credentials(&app_id, &secret_text, "api://payroll/.default")).await;
    assert_eq!(status, 401, "a removed secret");
    let (status, _, body) = call(reqwest::Method::POST, remove, &token, Some(json!({"keyId": key_id}))).await;
    assert_eq!(status, 404, "{body}");

    // A public client has no secrets.
    let spa_add = server.url(&format!("/contoso/v1.0/applications/{DEMO_SPA}/addPassword"));
    let (status, _, body) = call(reqwest::Method::POST, spa_add, &token, Some(json!({}))).await;
    assert!(status == 400 && message(&body).contains("public client"), "{body}");

    // Gone: no more tokens, a Graph 404.
    let (status, _, _) = call(reqwest::Method::DELETE, this.clone(), &token, None).await;
    assert_eq!(status, 204);
    let (status, _, gone) = call(reqwest::Method::GET, this, &token, None).await;
    assert_eq!((status, gone["error"]["code"].as_str()), (404, Some("Request_ResourceNotFound")), "{gone}");
    let audits = list_all(server.url("/contoso/v1.0/auditLogs/directoryAudits"), &token).await;
    for activity in
        ["Add application", "Update application", "Update application – Certificates and secrets management", "Delete application"]
    {
        assert!(
            audits.iter().any(|a| a["activityDisplayName"] == activity && a["targetResources"][0]["id"] == app_id.as_str()),
            "{activity}"
        );
    }
    server.stop().await;
}

async fn read_json(url: &str, token: &str) -> Value {
    let (status, _, body) = call(reqwest::Method::GET, url.to_string(), token, None).await;
    assert_eq!(status, 200, "{url}: {body}");
    body
}

/// Logout URIs: `backchannelLogoutUri` (an extension) and Graph's
/// `web.logoutUrl` (front-channel), checked like redirect URIs; the
/// back-channel one, which this server posts to, never to an internal address.
async fn logout_uris_are_registered(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let rota = json!({
        "displayName": "Rota",
        "web": {"redirectUris": [REDIRECT_URI], "logoutUrl": "https://rota.example/frontchannel"},
        "backchannelLogoutUri": "https://rota.example/backchannel"
    });
    let (status, _, created) = call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), &token, Some(rota)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["web"]["logoutUrl"], "https://rota.example/frontchannel", "{created}");
    assert_eq!(created["backchannelLogoutUri"], "https://rota.example/backchannel", "{created}");
    assert!(created["spa"].get("logoutUrl").is_none() && created["publicClient"].get("logoutUrl").is_none(), "{created}");
    let this = server.url(&format!("/contoso/v1.0/applications/{}", created["appId"].as_str().expect("appId")));
    let read = || read_json(&this, &token);
    assert_eq!(read().await["backchannelLogoutUri"], "https://rota.example/backchannel");

    // web.logoutUrl alone changes only that: the redirect URIs stay.
    let patch = json!({"web": {"logoutUrl": "http://localhost:8400/frontchannel"}});
    assert_eq!(call(reqwest::Method::PATCH, this.clone(), &token, Some(patch)).await.0, 204);
    let shown = read().await;
    assert_eq!(shown["web"], json!({"redirectUris": [REDIRECT_URI], "logoutUrl": "http://localhost:8400/frontchannel"}), "{shown}");

    // Refused, and nothing changes.
    let long = format!("https://rota.example/{}", "a".repeat(240));
    for (bad, says) in [
        (json!({"backchannelLogoutUri": "/logout"}), "backchannelLogoutUri: '/logout' is not an absolute URL"),
        (json!({"web": {"logoutUrl": "https://rota.example/out#top"}}), "web.logoutUrl: 'https://rota.example/out#top': no fragment"),
        (json!({"backchannelLogoutUri": "http://rota.example/logout"}), "https, or http only on localhost"),
        (json!({"web": {"logoutUrl": long}}), "web.logoutUrl: at most 256 characters"),
        (json!({"spa": {"logoutUrl": "https://rota.example/out"}}), "spa.logoutUrl: a logout URL belongs under web"),
        (json!({"publicClient": {"redirectUris": [], "logoutUrl": ""}}), "publicClient.logoutUrl"),
        (json!({"backchannelLogoutUri": "https://10.0.0.1/logout"}), "backchannelLogoutUri: '10.0.0.1' is an internal address"),
        (json!({"backchannelLogoutUri": "https://169.254.169.254/logout"}), "internal address"),
    ] {
        let (status, _, body) = call(reqwest::Method::PATCH, this.clone(), &token, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(message(&body).contains(says), "{bad}: {body}");
    }
    assert_eq!(read().await, shown, "refused changes change nothing");

    // The browser loads the front-channel URL, so an internal one is the
    // app's business; the back-channel one may be this server's own.
    let own = server.url("/contoso/backchannel");
    let patch = json!({"web": {"logoutUrl": "https://10.0.0.1/logout"}, "backchannelLogoutUri": own});
    assert_eq!(call(reqwest::Method::PATCH, this.clone(), &token, Some(patch)).await.0, 204);
    let shown = read().await;
    assert_eq!(
        (shown["web"]["logoutUrl"].as_str(), shown["backchannelLogoutUri"].as_str()),
        (Some("https://10.0.0.1/logout"), Some(own.as_str()))
    );

    // "" clears either; an explicit empty list still clears the redirect URIs.
    let patch = json!({"web": {"logoutUrl": ""}, "backchannelLogoutUri": ""});
    assert_eq!(call(reqwest::Method::PATCH, this.clone(), &token, Some(patch)).await.0, 204);
    let shown = read().await;
    assert_eq!(shown["web"], json!({"redirectUris": [REDIRECT_URI]}), "{shown}");
    assert!(shown["backchannelLogoutUri"].is_null(), "{shown}");
    assert_eq!(call(reqwest::Method::PATCH, this.clone(), &token, Some(json!({"web": {"redirectUris": []}}))).await.0, 204);
    assert_eq!(read().await["web"]["redirectUris"], json!([]));

    let audits = list_all(server.url("/contoso/v1.0/auditLogs/directoryAudits"), &token).await;
    let changed: Vec<&str> = audits
        .iter()
        .filter(|a| a["targetResources"][0]["id"] == created["appId"])
        .flat_map(|a| a["targetResources"][0]["modifiedProperties"].as_array().into_iter().flatten())
        .filter_map(|p| p["displayName"].as_str())
        .collect();
    assert!(changed.contains(&"BackchannelLogoutUri") && changed.contains(&"LogoutUrl"), "{changed:?}");
    server.stop().await;
}

/// Demo config plus an Application Administrator and a User
/// Administrator, and demo-spa allowed to act for people at the admin API.
fn with_app_admins(c: &mut b2b_idp::config::Config) {
    let contoso = &mut c.tenants[0];
    for ((email, password), role) in [(APP_ADMIN, "Application Administrator"), (USER_ADMIN, "User Administrator")] {
        contoso.users.push(b2b_idp::config::UserSeed {
            email: email.into(),
            password: Some(b2b_idp::util::Secret(password.into())),
            roles: vec![role.into()],
            ..Default::default()
        });
    }
    let spa = contoso.apps.iter_mut().find(|a| a.client_id == DEMO_SPA).expect("demo-spa");
    spa.delegated_permissions.insert("api://b2b-idp-admin".into(), vec!["Directory.AccessAsUser.All".into()]);
}

/// A person's admin API token through demo-spa (code + PKCE).
async fn person_token(server: &TestServer, who: (&str, &str)) -> String {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_SPA, None).await;
    let pending = rp.authorize(&["api://b2b-idp-admin/.default"], true);
    let landing = Browser::new().run(&pending.url, Some(who), REDIRECT_URI).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("no code for {}: {landing:?}", who.0));
    rp.exchange(&code, pending.verifier).await.expect("tokens").access_token().secret().clone()
}

/// Who may change applications and hand out roles: an Application
/// Administrator registers apps but cannot touch one that holds admin API
/// permissions nor grant them; a User Administrator cannot register apps
/// or assign roles; only a Global Administrator assigns Global Administrator.
async fn only_the_right_admins_change_apps_and_roles(backend: Backend) {
    let server = TestServer::start_with(backend, with_app_admins).await;
    let apps = server.url("/contoso/v1.0/applications");
    let assignments = server.url("/contoso/v1.0/roleManagement/directory/roleAssignments");
    let app_admin = person_token(&server, APP_ADMIN).await;
    let (status, _, created) = call(reqwest::Method::POST, apps.clone(), &app_admin, Some(json!({"displayName": "Rota"}))).await;
    assert_eq!(status, 201, "{created}");
    let rota = server.url(&format!("/contoso/v1.0/applications/{}", created["appId"].as_str().expect("appId")));
    let admin_grant = json!({"requiredResourceAccess": [{"resourceAppId": "api://b2b-idp-admin", "resourceAccess": [{"id": "User.ReadWrite.All", "type": "Role"}]}]});
    let (status, _, body) = call(reqwest::Method::PATCH, rota.clone(), &app_admin, Some(admin_grant.clone())).await;
    assert!(status == 403 && message(&body).contains("Global Administrator"), "granting admin API permissions: {body}");
    let cli_secret = server.url(&format!("/contoso/v1.0/applications/{ADMIN_CLI}/addPassword"));
    let (status, _, body) = call(reqwest::Method::POST, cli_secret.clone(), &app_admin, Some(json!({}))).await;
    assert_eq!(status, 403, "a secret for an app holding admin API permissions: {body}");
    let (status, _, _) =
        call(reqwest::Method::DELETE, server.url(&format!("/contoso/v1.0/applications/{ADMIN_CLI}")), &app_admin, None).await;
    assert_eq!(status, 403);
    assert_eq!(call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &app_admin, None).await.0, 403, "no user rights");

    let user_admin = person_token(&server, USER_ADMIN).await;
    assert_eq!(call(reqwest::Method::POST, apps.clone(), &user_admin, Some(json!({"displayName": "X"}))).await.0, 403);
    let alice = crate::audit::user_id(&server, &app_token(&server, CONTOSO).await, ALICE.0).await;
    let make_admin = json!({"principalId": alice, "roleDefinitionId": GLOBAL_ADMINISTRATOR_ID, "directoryScopeId": "/"});
    let (status, _, body) = call(reqwest::Method::POST, assignments.clone(), &user_admin, Some(make_admin.clone())).await;
    assert!(status == 403 && message(&body).contains("Global Administrator"), "{body}");

    // Neither changing nor probing apps without the right: a 403, whether the app exists or not.
    for id in [created["appId"].as_str().expect("appId"), "no-such-app"] {
        let url = server.url(&format!("/contoso/v1.0/applications/{id}"));
        assert_eq!(call(reqwest::Method::PATCH, url, &user_admin, Some(json!({"displayName": "X"}))).await.0, 403, "{id}");
    }

    // The Global Administrator may do all of it, but does not grant admin
    // power to an app holding secrets someone else added.
    let rota_secret = format!("{rota}/addPassword");
    let (status, _, lesser) = call(reqwest::Method::POST, rota_secret, &app_admin, Some(json!({}))).await;
    assert_eq!(status, 200, "{lesser}");
    let global = person_token(&server, CONTOSO_ADMIN).await;
    let (status, _, body) = call(reqwest::Method::PATCH, rota.clone(), &global, Some(admin_grant.clone())).await;
    assert!(status == 400 && message(&body).contains("remove them first"), "{body}");
    let remove = json!({"keyId": lesser["keyId"]});
    assert_eq!(call(reqwest::Method::POST, format!("{rota}/removePassword"), &global, Some(remove)).await.0, 204);
    // A key someone else added is a credential too.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["rota.example".into()]).expect("params").self_signed(&key).expect("cert");
    let with_key = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify",
        "key": base64::engine::general_purpose::STANDARD.encode(cert.der())}]});
    assert_eq!(call(reqwest::Method::PATCH, rota.clone(), &app_admin, Some(with_key)).await.0, 204);
    let (status, _, body) = call(reqwest::Method::PATCH, rota.clone(), &global, Some(admin_grant.clone())).await;
    assert!(status == 400 && message(&body).contains("remove them first"), "{body}");
    assert_eq!(call(reqwest::Method::PATCH, rota.clone(), &global, Some(json!({"keyCredentials": []}))).await.0, 204);
    assert_eq!(call(reqwest::Method::PATCH, rota, &global, Some(admin_grant)).await.0, 204);
    assert_eq!(call(reqwest::Method::POST, cli_secret, &global, Some(json!({}))).await.0, 200);
    let (status, _, made) = call(reqwest::Method::POST, assignments.clone(), &global, Some(make_admin.clone())).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(call(reqwest::Method::POST, assignments.clone(), &global, Some(make_admin)).await.0, 409, "held already");
    let unknown = json!({"principalId": alice, "roleDefinitionId": "Galactic Emperor"});
    let (status, _, body) = call(reqwest::Method::POST, assignments.clone(), &global, Some(unknown)).await;
    assert!(status == 400 && message(&body).contains(DIRECTORY_READERS_ID), "the 400 lists the roles: {body}");
    let assignment = server.url(&format!("/contoso/v1.0/roleManagement/directory/roleAssignments/{}", made["id"].as_str().expect("id")));
    assert_eq!(call(reqwest::Method::DELETE, assignment.clone(), &global, None).await.0, 204);

    // The last Global Administrator stays: not removed from the role, disabled or deleted.
    let admin = crate::audit::user_id(&server, &app_token(&server, CONTOSO).await, CONTOSO_ADMIN.0).await;
    let own = server.url(&format!("/contoso/v1.0/roleManagement/directory/roleAssignments/{GLOBAL_ADMINISTRATOR_ID}_{admin}"));
    let (status, _, body) = call(reqwest::Method::DELETE, own, &global, None).await;
    assert!(status == 400 && message(&body).contains("last Global Administrator"), "{body}");
    let admin_url = server.url(&format!("/contoso/v1.0/users/{admin}"));
    let (status, _, body) = call(reqwest::Method::PATCH, admin_url.clone(), &global, Some(json!({"accountEnabled": false}))).await;
    assert!(status == 400 && message(&body).contains("last Global Administrator"), "{body}");
    assert_eq!(call(reqwest::Method::DELETE, admin_url, &global, None).await.0, 400);
    assert_eq!(call(reqwest::Method::GET, assignment, &global, None).await.0, 404);
    server.stop().await;
}

/// The FAQ's guest with limited admin rights: Bob, a guest from fabrikam,
/// reads the directory as a Directory Reader (and changes nothing), then
/// invites as a Guest Inviter; role changes apply at his next call.
async fn guests_hold_limited_admin_roles(backend: Backend) {
    let server = TestServer::start_with(backend, with_app_admins).await;
    let token = app_token(&server, CONTOSO).await;
    let (status, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let bob = invitation["invitedUser"]["id"].as_str().expect("id").to_string();
    let redeem = invitation["inviteRedeemUrl"].as_str().expect("url");
    Browser::new().run(redeem, Some(BOB), "https://apps.contoso.example/welcome").await.client();

    let definitions = list_all(server.url("/contoso/v1.0/roleManagement/directory/roleDefinitions"), &token).await;
    let names: Vec<&str> = definitions.iter().filter_map(|d| d["displayName"].as_str()).collect();
    assert_eq!(names, ["Global Administrator", "User Administrator", "Guest Inviter", "Application Administrator", "Directory Readers"]);
    assert_eq!(definitions[0]["id"], GLOBAL_ADMINISTRATOR_ID);

    let assignments = server.url("/contoso/v1.0/roleManagement/directory/roleAssignments");
    let reader = json!({"principalId": bob, "roleDefinitionId": DIRECTORY_READERS_ID, "directoryScopeId": "/"});
    let (status, _, reading) = call(reqwest::Method::POST, assignments.clone(), &token, Some(reader)).await;
    assert_eq!(status, 201, "{reading}");
    let guest = person_token(&server, BOB).await;
    assert_eq!(jwt_payload(&guest)["user_type"], "Guest");
    let (status, _, users) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &guest, None).await;
    assert!(status == 200 && users["value"].as_array().is_some_and(|v| v.len() >= 3), "a Directory Reader reads users: {users}");
    for path in ["/contoso/v1.0/groups", "/contoso/v1.0/applications", "/contoso/v1.0/roleManagement/directory/roleAssignments"] {
        assert_eq!(call(reqwest::Method::GET, server.url(path), &guest, None).await.0, 200, "{path}");
    }
    let carol =
        json!({"displayName": "Carol", "userPrincipalName": "carol@contoso.example", "passwordProfile": {"password": "Carol-Passw0rd"}});
    assert_eq!(call(reqwest::Method::POST, server.url("/contoso/v1.0/users"), &guest, Some(carol)).await.0, 403, "and writes nothing");
    assert_eq!(
        call(reqwest::Method::POST, server.url("/contoso/v1.0/applications"), &guest, Some(json!({"displayName": "X"}))).await.0,
        403
    );
    let (status, refused) = invite(&server, &guest, "dave@partner.example", json!({})).await;
    assert_eq!(status, 403, "a Directory Reader does not invite: {refused}");

    // Guest Inviter: the same token invites at once.
    let inviter = json!({"principalId": bob, "roleDefinitionId": GUEST_INVITER_ID});
    assert_eq!(call(reqwest::Method::POST, assignments.clone(), &token, Some(inviter)).await.0, 201);
    let (status, invited) = invite(&server, &guest, "dave@partner.example", json!({})).await;
    assert_eq!((status, invited["invitedUserType"].as_str()), (201, Some("Guest")), "{invited}");
    // Resetting a role holder's sign-in is a Global Administrator's call, not a User Administrator's.
    let reset = json!({"resetRedemption": true, "invitedUser": {"id": bob}, "sendInvitationMessage": false});
    let (status, refused) = invite(&server, &person_token(&server, USER_ADMIN).await, BOB.0, reset).await;
    assert_eq!(status, 403, "{refused}");
    let held = list_all(format!("{assignments}?$filter={}", encoded(&format!("principalId eq '{bob}'"))), &token).await;
    let mut held: Vec<&str> = held.iter().filter_map(|a| a["roleDefinitionId"].as_str()).collect();
    held.sort_unstable();
    assert_eq!(held, [DIRECTORY_READERS_ID, GUEST_INVITER_ID]);

    // Removed: refused at the next call with the same token.
    let id = reading["id"].as_str().expect("id");
    let one = server.url(&format!("/contoso/v1.0/roleManagement/directory/roleAssignments/{id}"));
    assert_eq!(call(reqwest::Method::DELETE, one, &token, None).await.0, 204);
    assert_eq!(call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &guest, None).await.0, 403);

    // Every assignment, one per page, exactly once; an unsupported filter is a 400 that says what is.
    let all = list_all(format!("{assignments}?$top=1"), &token).await;
    let mut ids: Vec<&str> = all.iter().filter_map(|a| a["id"].as_str()).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "no assignment twice");
    assert_eq!(count, 3 + 1, "contoso's admin, the two admins of this test, and Bob's Guest Inviter: {all:?}");
    let (status, _, bad) = call(reqwest::Method::GET, format!("{assignments}?$filter={}", encoded("appId eq 'x'")), &token, None).await;
    assert!(status == 400 && message(&bad).contains("principalId"), "{bad}");
    server.stop().await;
}

/// The command line's `app` and `role` commands on a stopped server's
/// store; a secret added there works at the next start (config re-applies
/// demo-app and keeps it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_and_role_commands_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    terminate(serve(dir.path(), port, &base, &[]).await).await;
    let cli = |args: &'static [&'static str]| idp_cli(dir.path(), port, &base, args);
    let (ok, listed) = cli(&["app", "list", "--tenant", "contoso"]).await;
    assert!(ok && listed.lines().any(|l| l.starts_with("demo-app\tweb\t1 secret(s)")), "{listed}");
    assert!(listed.lines().any(|l| l.starts_with("demo-spa\tspa\t0 secret(s)")), "{listed}");
    let (ok, added) = cli(&["app", "add-secret", "--tenant", "contoso", "--app", "demo-app", "--name", "CI", "--days", "1"]).await;
    assert!(ok, "{added}");
    let secret = added.lines().find_map(|l| l.strip_prefix("client secret (shown once): ")).expect("the secret").to_string();
    let (ok, shown) = cli(&["app", "show", "--tenant", "contoso", "--app", "demo-app"]).await;
    let shown: Value = serde_json::from_str(&shown).unwrap_or_else(|_| panic!("JSON: {shown}"));
    assert!(ok && shown["passwordCredentials"].as_array().is_some_and(|c| c.len() == 2), "{shown}");
    let (ok, text) = cli(&["app", "delete", "--tenant", "contoso", "--app", "demo-spa"]).await;
    assert!(ok && text.contains("deleted"), "{text}");
    let (ok, text) = cli(&["app", "show", "--tenant", "contoso", "--app", "demo-spa"]).await;
    assert!(!ok && text.contains("not found"), "{text}");

    let (ok, text) = cli(&["role", "assign", "--tenant", "contoso", "--user", ALICE.0, "--role", "directory readers"]).await;
    assert!(ok, "{text}");
    let (ok, listed) = cli(&["role", "list", "--tenant", "contoso"]).await;
    assert!(ok && listed.lines().any(|l| l.contains(ALICE.0) && l.ends_with("Directory Readers")), "{listed}");
    let (ok, text) = cli(&["role", "assign", "--tenant", "contoso", "--user", ALICE.0, "--role", "Galactic Emperor"]).await;
    assert!(!ok && text.contains("no directory role"), "{text}");
    let (ok, text) = cli(&["role", "remove", "--tenant", "contoso", "--user", ALICE.0, "--role", "Directory Readers"]).await;
    assert!(ok, "{text}");
    let (_, listed) = cli(&["role", "list", "--tenant", "contoso"]).await;
    assert!(!listed.contains(ALICE.0), "{listed}");

    // A daemon with a key (a JWK file) instead of a secret: private_key_jwt.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let point = key.public_key_raw();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]), "kid": "daemon-1"});
    let jwk_file = dir.path().join("daemon.jwk.json");
    std::fs::write(&jwk_file, jwk.to_string()).expect("write");
    let args = ["app", "create", "--tenant", "contoso", "--client-id", "cli-daemon", "--grant", "client_credentials", "--key-credential"];
    let (ok, text) = idp_cli(dir.path(), port, &base, &[&args[..], &[jwk_file.to_str().expect("path")]].concat()).await;
    assert!(ok && text.contains("key ") && !text.contains("client secret"), "{text}");

    // Logout URIs, checked as config and the admin API check them.
    let (ok, text) = cli(&[
        "app",
        "create",
        "--tenant",
        "contoso",
        "--client-id",
        "cli-rp",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8400/callback",
        "--backchannel-logout-uri",
        " https://rp.contoso.example/backchannel ",
        "--frontchannel-logout-uri",
        "https://rp.contoso.example/frontchannel",
        "--require-pushed-authorization-requests",
    ])
    .await;
    assert!(ok, "{text}");
    let (ok, shown) = cli(&["app", "show", "--tenant", "contoso", "--app", "cli-rp"]).await;
    let shown: Value = serde_json::from_str(&shown).unwrap_or_else(|_| panic!("JSON: {shown}"));
    assert!(ok && shown["backchannelLogoutUri"] == "https://rp.contoso.example/backchannel", "{shown}");
    assert_eq!(shown["web"]["logoutUrl"], "https://rp.contoso.example/frontchannel", "{shown}");
    assert_eq!(shown["requirePushedAuthorizationRequests"], true, "{shown}");
    let (ok, text) = cli(&[
        "app",
        "create",
        "--tenant",
        "contoso",
        "--client-id",
        "cli-bad",
        "--public",
        "--frontchannel-logout-uri",
        "http://rp.example/",
    ])
    .await;
    assert!(!ok && text.contains("--frontchannel-logout-uri") && text.contains("https, or http only on localhost"), "{text}");

    let child = serve(dir.path(), port, &base, &[]).await;
    let server = TestServer::external(&base);
    let (status, body) = token_request(&server, CONTOSO, &client_credentials(DEMO_APP, &secret, "api://demo-app/.default")).await;
    assert_eq!(status, 200, "the secret from the command line, after config was applied again: {body}");
    let (status, body) = token_request(&server, CONTOSO, &client_credentials(DEMO_APP, DEMO_APP_SECRET, "api://demo-app/.default")).await;
    assert_eq!(status, 200, "and config's own: {body}");
    b2b_idp::keys::install_crypto();
    let now = b2b_idp::util::now();
    let claims =
        serde_json::json!({"iss": "cli-daemon", "sub": "cli-daemon", "aud": format!("{base}/contoso/oauth2/v2.0/token"), "exp": now + 60});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("daemon-1".into());
    let signed = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der())).expect("sign");
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "cli-daemon/.default"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", &signed),
    ];
    let (status, body) = token_request(&server, CONTOSO, &form).await;
    assert_eq!(status, 200, "the key from the command line, by the tenant's name in aud: {body}");
    terminate(child).await;
}

on_both_backends!(
    applications_are_registered_and_used,
    logout_uris_are_registered,
    only_the_right_admins_change_apps_and_roles,
    guests_hold_limited_admin_roles
);
