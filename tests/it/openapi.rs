//! The admin API's OpenAPI 3.1 document (`/openapi.json`): valid by an
//! OpenAPI validator from PyPI, in agreement with the router both ways,
//! and the API fuzzed from it by schemathesis with no server error and
//! every answer matching its schema; a client generated from it works
//! unmodified. The Python tools are installed by `./test.sh`
//! (`B2B_IDP_TEST_PYTHON_BIN`).

use serde_json::Value;

use crate::harness::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_and_matches_the_router() {
    let server = TestServer::start(Backend::Sled).await;
    let response = api().get(server.url("/openapi.json")).send().await.expect("openapi.json");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).expect("write");
    let output = tokio::process::Command::new(python_bin("openapi-spec-validator")).arg(&file).output().await.expect("validator");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.contains("OK"), "{said}");

    // Every documented operation is routed and guarded (401 without a
    // token), and every other method on its path is a 405 naming the
    // documented ones: the router and the document agree.
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30, "{}", paths.len());
    let mut operation_ids = vec![];
    for (path, item) in paths {
        assert!(path.starts_with("/{tenant}/v1.0/"), "{path}");
        let concrete: String = path
            .split('/')
            .map(|s| {
                if s == "{tenant}" {
                    CONTOSO
                } else if s.starts_with('{') {
                    "x"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let documented: Vec<&str> = METHODS.iter().copied().filter(|m| item.get(*m).is_some()).collect();
        for method in METHODS {
            let http = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            let answer = api().request(http, server.url(&concrete)).send().await.expect("request");
            if documented.contains(&method) {
                assert_eq!(answer.status(), 401, "{method} {path}");
                let operation = &item[method];
                operation_ids.push(operation["operationId"].as_str().expect("operationId").to_string());
                assert!(operation["responses"]["401"].is_object() && operation["security"].is_array(), "{method} {path}");
            } else {
                assert_eq!(answer.status(), 405, "{method} {path} is not documented");
                let allow = answer.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
                for m in &documented {
                    assert!(allow.contains(m), "{path}: Allow {allow} lacks {m}");
                }
            }
        }
    }
    let count = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), count, "operationIds are unique");
    assert!(count >= 48, "{count} operations");

    // The schemas are the types': what the API answers is what they say.
    let user = &document["components"]["schemas"]["GraphUser"]["properties"];
    for property in ["id", "userType", "externalUserState", "accountEnabled", "mail"] {
        assert!(user.get(property).is_some(), "GraphUser.{property}");
    }
    let flows = &document["components"]["securitySchemes"]["oauth2"]["flows"];
    assert!(flows["clientCredentials"]["tokenUrl"].as_str().is_some_and(|u| u.ends_with("/oauth2/v2.0/token")), "{flows}");
    assert!(flows["authorizationCode"]["authorizationUrl"].is_string(), "{flows}");
    server.stop().await;
}

/// schemathesis generates requests for every operation from the document
/// (and chains them: a created app's id into its addPassword), with the
/// demo's admin app token: no 5xx, every answer's status, content type and
/// body as documented. Bounded: a fixed seed and a few examples each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors() {
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, CONTOSO).await;
    // schemathesis writes a cache where it runs: not in the repository.
    let dir = tempfile::tempdir().expect("dir");
    let output = tokio::process::Command::new(python_bin("st"))
        .current_dir(dir.path())
        .args(["run", &server.url("/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", "15", "--seed", "20261128", "--generation-database", "none"])
        .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance"])
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{said}");
    assert!(said.contains("generated") && !said.contains("Tested: 0"), "{said}");
    server.stop().await;
}

/// The README's generated-client example: openapi-python-client generates a
/// client from the live document, and docs/examples/admin_client.py uses
/// it unmodified (register an app, add a secret, list members).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_client_works() {
    let server = TestServer::start(Backend::Sled).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("gen.yaml"), "package_name_override: b2b_idp_admin\nproject_name_override: b2b-idp-admin\n")
        .expect("config");
    let output = tokio::process::Command::new(python_bin("openapi-python-client"))
        .args(["generate", "--url", &server.url("/openapi.json"), "--meta", "none", "--config", "gen.yaml"])
        .current_dir(dir.path())
        .output()
        .await
        .expect("openapi-python-client");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && dir.path().join("b2b_idp_admin").is_dir(), "{said}");

    let token = app_token(&server, CONTOSO).await;
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/admin_client.py");
    let output = tokio::process::Command::new(python_bin("python"))
        .arg(example)
        .args([server.url(""), token])
        .env("PYTHONPATH", dir.path())
        .output()
        .await
        .expect("python");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{said}");
    assert!(said.contains("registered ") && said.contains(ALICE.0), "{said}");
    server.stop().await;
}
