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
    // An unknown tenant is JSON for scripts, a page for a browser.
    let unknown = api().get(server.url("/nosuch/password/reset")).send().await.expect("page");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(unknown.json::<Value>().await.expect("json")["error"], "tenant_not_found");
    let browser = api().get(server.url("/nosuch/password/reset")).header("accept", "text/html,*/*;q=0.8").send().await.expect("page");
    assert_eq!(browser.status().as_u16(), 404);
    let request_id = browser.headers()["request-id"].to_str().expect("request id").to_string();
    let body = browser.text().await.expect("body");
    assert_eq!(select_text(&body, "#request-id"), [request_id], "the page quotes the request id: {body}");
    assert!(body.contains("Organisation not found") && !body.contains("nosuch"), "the page does not repeat the link's words: {body}");

    drop_pg_schema(server.pg_schema.as_deref().expect("a PostgreSQL schema")).await;

    let page = api().get(server.url("/contoso/password/reset")).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 500);
    assert!(page.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/html"), "a person gets a page");
    let request_id = page.headers()["request-id"].to_str().expect("request id").to_string();
    let body = page.text().await.expect("body");
    assert_eq!(select_text(&body, "#request-id"), [request_id], "the page shows the request id: {body}");
    assert!(!body.contains("relation") && !body.contains("schema"), "no database detail on the page: {body}");

    let (status, oauth) = token_request(&server, CONTOSO, &[("grant_type", "client_credentials"), ("client_id", ADMIN_CLI)]).await;
    assert_eq!((status, oauth["error"].as_str()), (500, Some("server_error")), "{oauth}");

    let (status, _, graph) = call(reqwest::Method::GET, server.url("/contoso/v1.0/users"), &token, None).await;
    assert_eq!((status, graph["error"]["code"].as_str()), (500, Some("InternalServerError")), "{graph}");
    assert!(graph["error"]["message"].as_str().unwrap_or_default().contains("Reference"), "{graph}");
    server.stop().await;
}
