//! Each surface answers failures in its own shape, whatever failed: a page
//! for a person, RFC 6749 JSON at the OAuth endpoints, Graph's error JSON at
//! the admin API. Made to fail for real: the PostgreSQL schema the server
//! runs on is dropped under it, so every store call errors.

use serde_json::Value;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_answers_in_each_surfaces_shape() {
    let server = TestServer::start(Backend::Postgres).await;
    let token = app_token(&server, CONTOSO).await;
    // An unknown tenant is JSON everywhere, pages included.
    let unknown = api().get(server.url("/nosuch/password/reset")).send().await.expect("page");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.json::<Value>().await.expect("json")["error"], "tenant_not_found");

    drop_pg_schema(server.pg_schema.as_deref().expect("a PostgreSQL schema")).await;

    let page = api().get(server.url("/contoso/password/reset")).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 500);
    assert!(page.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/html"), "a person gets a page");
    let body = page.text().await.expect("body");
    assert!(body.contains("Reference"), "the page shows only a reference id: {body}");
    assert!(!body.contains("relation") && !body.contains("schema"), "no database detail on the page: {body}");

    let (status, oauth) = token_request(&server, CONTOSO, &[("grant_type", "client_credentials"), ("client_id", ADMIN_CLI)]).await;
    assert_eq!((status, oauth["error"].as_str()), (500, Some("server_error")), "{oauth}");

    let (status, _, graph) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &token, None).await;
    assert_eq!((status, graph["error"]["code"].as_str()), (500, Some("InternalServerError")), "{graph}");
    assert!(graph["error"]["message"].as_str().unwrap_or_default().contains("Reference"), "{graph}");
    server.stop().await;
}
