//! Start-up refuses a configuration with problems, and names all of them at
//! once (not one per restart).

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_is_reported_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = demo_config(dir.path(), "http://127.0.0.1:1");
    config.server.public_base_url = "foo".into();
    config.server.bind = "8080".into();
    config.server.trusted_proxies = vec!["10.0.0.0/33".into()];
    config.tokens.code_ttl = 0;
    config.mail.from = "not an address".into();
    let again = config.tenants[1].clone();
    config.tenants.push(again);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let error = match b2b_idp::server::start(config, Some(listener)).await {
        Ok(_) => panic!("a broken configuration must not start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("6 problems in the configuration"), "{error}");
    for problem in [
        "server.public_base_url 'foo'",
        "server.bind '8080'",
        "server.trusted_proxies: '10.0.0.0/33'",
        "tokens.code_ttl must be a positive number",
        "mail.from 'not an address'",
        "tenants: 'fabrikam' is declared twice",
    ] {
        assert!(error.contains(problem), "missing {problem:?} in:\n{error}");
    }
    assert!(!dir.path().join("data").exists(), "the store is not even opened");
}

/// The shipped demo config is valid as it is.
#[test]
fn the_demo_config_is_valid() {
    let dir = tempfile::tempdir().expect("dir");
    demo_config(dir.path(), "http://127.0.0.1:8080").validate().expect("demo config validates");
}

/// Config is strict about the identity providers and collaboration settings
/// it declares (a misspelt key stops the start, naming it); the records the
/// store keeps of the same types read fields a newer version added.
#[test]
fn declared_settings_are_strict_and_stored_ones_are_not() {
    let dir = tempfile::tempdir().expect("dir");
    let base = std::fs::read_to_string(demo_config_path()).expect("demo");
    for (typo, extra) in [
        ("clientsecret", "[[b2b.identity_providers]]\nissuer = \"https://idp.partner.example\"\nclient_id = \"c\"\nclientsecret = \"s\"\ndomains = [\"partner.example\"]\n"),
        ("guests_can_leaf", ""),
    ] {
        let text = if extra.is_empty() {
            base.replacen("guests_can_leave = false", "guests_can_leaf = false", 1)
        } else {
            base.replacen("\n[[tenants]]\n", &format!("\n{extra}\n[[tenants]]\n"), 1)
        };
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, text).expect("write");
        let error = match b2b_idp::config::Config::load(Some(&path)) {
            Ok(_) => panic!("{typo} must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains(typo), "{typo}: {error}");
    }
    let stored = serde_json::json!({
        "issuer": "https://idp.partner.example", "client_id": "c", "client_secret": "s", "domains": ["partner.example"],
        "added_by_a_newer_version": true,
    });
    serde_json::from_value::<b2b_idp::model::ExternalIdp>(stored).expect("a stored provider with a newer field reads");
    let stored = serde_json::json!({"guests_can_leave": true, "added_by_a_newer_version": 1});
    serde_json::from_value::<b2b_idp::model::CollaborationSettings>(stored).expect("stored settings with a newer field read");
}

/// An app's logout URIs come from config, checked as the admin API checks
/// them; a bad one stops the start, naming the app and the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_logout_uris_are_seeded_and_checked() {
    let declare = |back: &str, front: &str| {
        let (back, front) = (back.to_string(), front.to_string());
        move |config: &mut b2b_idp::config::Config| {
            let app = config.tenants[0].apps.iter_mut().find(|a| a.client_id == DEMO_APP).expect("demo-app");
            app.backchannel_logout_uri = Some(back);
            app.frontchannel_logout_uri = Some(front);
        }
    };
    let server =
        TestServer::start_with(Backend::Sled, declare("https://app.contoso.example/backchannel", "http://127.0.0.1:8400/frontchannel"))
            .await;
    let app = server.idp().store.app(CONTOSO_ID, DEMO_APP).await.expect("store").expect("demo-app");
    assert_eq!(app.backchannel_logout_uri.as_deref(), Some("https://app.contoso.example/backchannel"));
    assert_eq!(app.frontchannel_logout_uri.as_deref(), Some("http://127.0.0.1:8400/frontchannel"));
    server.stop().await;

    for (back, front, says) in [
        ("http://app.contoso.example/backchannel", "https://app.contoso.example/f", "app demo-app: backchannel_logout_uri: "),
        ("https://app.contoso.example/b", "https://app.contoso.example/f#x", "app demo-app: frontchannel_logout_uri: "),
    ] {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = demo_config(dir.path(), "http://127.0.0.1:1");
        declare(back, front)(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let error = match b2b_idp::server::start(config, Some(listener)).await {
            Ok(_) => panic!("{back} {front} must not start"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(says), "{says}: {error}");
    }
}
