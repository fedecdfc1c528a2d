//! Contoso and fabrikam on two separate b2b-idp server processes: contoso
//! knows fabrikam only as an external OIDC provider (issuer URL, client id
//! and secret), exactly as two organisations would set it up.

use serde_json::json;

use crate::b2b::invite;
use crate::harness::*;

const WELCOME: &str = "https://apps.contoso.example/welcome";

/// The demo's contoso, federating fabrikam.example to `fabrikam_issuer`.
fn contoso_config(fabrikam_issuer: &str) -> String {
    format!(
        r#"
[b2b]
allowed_internal_networks = ["127.0.0.1/32"]   # fabrikam's server is on this machine

[[tenants]]
name = "contoso"
id = "{CONTOSO_ID}"
display_name = "Contoso"
domains = ["contoso.example"]
  [[tenants.identity_providers]]
  display_name = "Fabrikam"
  issuer = "{fabrikam_issuer}"
  client_id = "contoso-b2b"
  client_secret = "contoso-b2b-secret"
  domains = ["fabrikam.example"]
  [[tenants.apps]]
  client_id = "{DEMO_APP}"
  secret = "{DEMO_APP_SECRET}"
  redirect_uris = ["{REDIRECT_URI}"]
  [[tenants.apps]]
  client_id = "{ADMIN_CLI}"
  secret = "{ADMIN_CLI_SECRET}"
  grant_types = ["client_credentials"]
  api_permissions = {{ "api://b2b-idp-admin" = ["User.Invite.All", "User.ReadWrite.All"] }}
"#
    )
}

/// The demo's fabrikam, with contoso registered as an OIDC client.
fn fabrikam_config(contoso_base: &str) -> String {
    format!(
        r#"
[[tenants]]
name = "fabrikam"
id = "{FABRIKAM_ID}"
display_name = "Fabrikam"
domains = ["fabrikam.example"]
  [[tenants.users]]
  email = "{}"
  display_name = "Bob"
  password = "{}"
  [[tenants.apps]]
  client_id = "contoso-b2b"
  display_name = "Contoso (B2B collaboration)"
  secret = "contoso-b2b-secret"
  redirect_uris = ["{contoso_base}/contoso/federation/callback"]
  grant_types = ["authorization_code"]
"#,
        BOB.0, BOB.1
    )
}

async fn start(dir: &std::path::Path, port: u16, config: String, backend: Backend) -> (tokio::process::Child, Option<String>) {
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("b2b-idp.toml");
    std::fs::write(&path, config).expect("config");
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = idp_command(dir, port, &base);
    let mut schema = None;
    if backend == Backend::Postgres {
        let (url, name) = pg_schema_url().await;
        cmd.env("B2B_IDP__STORE__URL", url);
        schema = Some(name);
    }
    let child = cmd.arg("--config").arg(&path).arg("serve").spawn().expect("spawn b2b-idp");
    wait_ready(&format!("{base}/readyz")).await;
    (child, schema)
}

async fn guest_across_two_servers(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (contoso_port, fabrikam_port) = (free_port(), free_port());
    let contoso_base = format!("http://127.0.0.1:{contoso_port}");
    let fabrikam_issuer = format!("http://127.0.0.1:{fabrikam_port}/{FABRIKAM_ID}/v2.0");
    let (fabrikam, fabrikam_schema) = start(&dir.path().join("fabrikam"), fabrikam_port, fabrikam_config(&contoso_base), backend).await;
    let (contoso, contoso_schema) = start(&dir.path().join("contoso"), contoso_port, contoso_config(&fabrikam_issuer), backend).await;
    // TestServer's helpers only need the base URL of the contoso process.
    let server = TestServer::external(&contoso_base);

    let token = app_token(&server, CONTOSO).await;
    let (status, invitation) = invite(&server, &token, BOB.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let mail = last_mail_to(&dir.path().join("contoso/outbox"), BOB.0, "invited");
    let landing = Browser::new().run(&mail.link().expect("link"), Some(BOB), WELCOME).await;
    assert_eq!(landing.client().as_str(), WELCOME);

    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile", "email"], true);
    let landing = Browser::new().run(&pending.url, Some(BOB), REDIRECT_URI).await;
    let tokens = rp.exchange(&landing.param("code").expect("code"), pending.verifier).await.expect("tokens");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("ID token");
    id_token.claims(&rp.client.id_token_verifier(), &pending.nonce).expect("verifies");
    let claims = jwt_payload(&id_token.to_string());
    assert_eq!(claims["iss"], format!("{contoso_base}/{CONTOSO_ID}/v2.0"));
    assert_eq!(claims["tid"], CONTOSO_ID);
    assert_eq!(claims["user_type"], "Guest");
    assert_eq!(claims["acct"], 1);
    assert_eq!(claims["home_tid"], FABRIKAM_ID, "the home server's tid claim");
    assert_eq!(claims["idp"], fabrikam_issuer.as_str());
    assert_eq!(claims["amr"], json!(["fed"]));

    terminate(contoso).await;
    terminate(fabrikam).await;
    for schema in [contoso_schema, fabrikam_schema].into_iter().flatten() {
        drop_pg_schema(&schema).await;
    }
}

on_both_backends!(guest_across_two_servers);
