//! Contoso and fabrikam on two separate b2b-idp server processes, with the
//! configuration docker-compose.yml gives them (deploy/): contoso knows
//! fabrikam only as an external OIDC provider (issuer URL, client id and
//! secret), exactly as two organisations would set it up. Both demand MFA
//! (fabrikam of its members, contoso of its guests): Bob is asked twice.

use serde_json::json;

use crate::audit::{log, sample, scrape};
use crate::b2b::invite;
use crate::harness::*;

const WELCOME: &str = "https://apps.contoso.example/welcome";

/// The compose files hold the demo fixture's tenants as config/default.toml
/// has them, plus only what federates them.
#[test]
fn the_compose_tenants_are_the_demo_fixture() {
    let demo = b2b_idp::config::Config::load(Some(&demo_config_path())).expect("demo config");
    for (file, name) in [("contoso.toml", CONTOSO), ("fabrikam.toml", "fabrikam")] {
        let deployed = b2b_idp::config::Config::load(Some(&deploy_file(file))).expect("deploy config");
        let [tenant] = deployed.tenants.as_slice() else { panic!("{file}: one tenant") };
        let mut tenant = serde_json::to_value(tenant).expect("json");
        let mut expected = serde_json::to_value(demo.tenants.iter().find(|t| t.name == name).expect("demo tenant")).expect("json");
        tenant["identity_providers"] = serde_json::json!([]);
        let apps = tenant["apps"].as_array_mut().expect("apps");
        apps.retain(|a| a["client_id"] != "contoso-b2b");
        expected["identity_providers"] = serde_json::json!([]);
        assert_eq!(tenant, expected, "{file} and config/default.toml disagree on {name}");
    }
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
    let fabrikam_base = format!("http://127.0.0.1:{fabrikam_port}");
    let (contoso, contoso_schema) = start(&dir.path().join("contoso"), contoso_port, contoso_config(&fabrikam_base), backend).await;
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
    let browser = Browser::new();
    let landing = browser.run(&pending.url, Some(BOB), REDIRECT_URI).await;
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
    assert_eq!((&claims["amr"], &claims["acr"]), (&json!(["fed", "mfa"]), &json!("2")), "{claims}");
    let prompts = browser.mfa_prompts.lock().expect("lock").clone();
    assert_eq!(prompts, [format!("{fabrikam_base}/fabrikam"), format!("{contoso_base}/contoso")], "double MFA, one prompt on each server");
    // Each server's metrics (a process of its own) count its side of it.
    let at_contoso = scrape(&server).await;
    let guest = [("tenant", CONTOSO), ("user_type", "guest")];
    assert_eq!(
        sample(&at_contoso, "b2b_idp_sign_ins_total", &[guest[0], guest[1], ("outcome", "federated")]),
        1.0,
        "the sign-in at home (redemption counts as an invitation)"
    );
    assert_eq!(sample(&at_contoso, "b2b_idp_sign_ins_total", &[guest[0], guest[1], ("outcome", "mfa_required")]), 1.0);
    assert_eq!(sample(&at_contoso, "b2b_idp_sign_ins_total", &[guest[0], guest[1], ("outcome", "success")]), 1.0);
    assert_eq!(sample(&at_contoso, "b2b_idp_mfa_satisfied_total", &[("tenant", CONTOSO), ("where", "local")]), 1.0);
    assert_eq!(
        sample(&at_contoso, "b2b_idp_mfa_satisfied_total", &[("tenant", CONTOSO), ("where", "home")]),
        0.0,
        "home's MFA is not trusted"
    );
    assert_eq!(sample(&at_contoso, "b2b_idp_invitations_total", &[("tenant", CONTOSO), ("outcome", "redeemed")]), 1.0);
    assert_eq!(sample(&at_contoso, "b2b_idp_mail_total", &[("transport", "file"), ("result", "sent")]), 1.0);
    let at_fabrikam = scrape(&TestServer::external(&fabrikam_base)).await;
    let fabrikam_mfa = sample(&at_fabrikam, "b2b_idp_mfa_satisfied_total", &[("tenant", "fabrikam"), ("where", "local")]);
    assert_eq!(fabrikam_mfa, 2.0, "Bob's MFA at home, at redemption and at sign-in");
    // Contoso's sign-in log has Bob's two MFA steps.
    let signed_in = log(&server, &token, "signIns", &format!("appId eq '{DEMO_APP}' and status/errorCode eq 0")).await;
    let steps = signed_in[0]["authenticationDetails"].as_array().expect("steps");
    assert_eq!(steps.iter().filter(|s| s["authenticationStepRequirement"] == "Multifactor authentication").count(), 2, "{signed_in:#?}");

    terminate(contoso).await;
    terminate(fabrikam).await;
    for schema in [contoso_schema, fabrikam_schema].into_iter().flatten() {
        drop_pg_schema(&schema).await;
    }
}

on_both_backends!(guest_across_two_servers);
