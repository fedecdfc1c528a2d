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
