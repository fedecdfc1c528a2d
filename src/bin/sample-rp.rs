//! A minimal relying party, to try b2b-idp in a browser and to stand in for
//! "your app" in the docker-compose topology. It is an ordinary OIDC client
//! (the `openidconnect` crate): discovery, code flow with PKCE and nonce,
//! ID token verified against the JWKS, then the verified claims as JSON.
//!
//!   cargo run --bin sample-rp      # then open http://127.0.0.1:8400/
//!
//! Environment: RP_ISSUER (default: contoso's demo issuer on 127.0.0.1:8080),
//! RP_CLIENT_ID (demo-app), RP_CLIENT_SECRET (demo-app-secret),
//! RP_BIND (127.0.0.1:8400), RP_REDIRECT_URI (http://127.0.0.1:8400/callback).

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::{http::header, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

struct Rp {
    client: Client,
    http: openidconnect::reqwest::Client,
    /// Sign-ins in progress: state → (PKCE verifier, nonce).
    pending: Mutex<HashMap<String, (PkceCodeVerifier, Nonce)>>,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

async fn home() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>sample RP</title><h1>sample RP</h1><p><a href=\"/login\">Sign in</a></p>")
}

async fn login(rp: web::Data<Rp>) -> HttpResponse {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    if let Ok(mut pending) = rp.pending.lock() {
        pending.insert(state.secret().clone(), (verifier, nonce));
    }
    HttpResponse::Found().insert_header((header::LOCATION, url.to_string())).finish()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(rp: web::Data<Rp>, q: web::Query<Callback>) -> HttpResponse {
    if let Some(error) = &q.error {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": error, "error_description": q.error_description}));
    }
    let pending = q.state.as_ref().and_then(|s| rp.pending.lock().ok()?.remove(s));
    let (Some(code), Some((verifier, nonce))) = (q.code.clone(), pending) else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "unknown or missing state"}));
    };
    let exchanged = match rp.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(request) => request.set_pkce_verifier(verifier).request_async(&rp.http).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let tokens = match exchanged {
        Ok(tokens) => tokens,
        Err(e) => return HttpResponse::BadGateway().json(serde_json::json!({"error": "token exchange failed", "detail": e})),
    };
    let verified = tokens
        .id_token()
        .ok_or_else(|| "no ID token".to_string())
        .and_then(|t| t.claims(&rp.client.id_token_verifier(), &nonce).map(|_| t.to_string()).map_err(|e| e.to_string()));
    match verified.and_then(|token| payload(&token)) {
        Ok(claims) => HttpResponse::Ok().json(serde_json::json!({"verified_id_token_claims": claims})),
        Err(e) => HttpResponse::BadGateway().json(serde_json::json!({"error": "ID token rejected", "detail": e})),
    }
}

/// Every claim of an ID token the library has verified (its typed view
/// keeps only the standard ones; tid, oid, user_type… are the point here).
fn payload(token: &str) -> Result<serde_json::Value, String> {
    use base64::Engine;
    let part = token.split('.').nth(1).ok_or("malformed token")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = env("RP_ISSUER", "http://127.0.0.1:8080/6d2e5a3c-8f14-4b7e-9c21-3a5f0e8b7d41/v2.0");
    let bind = env("RP_BIND", "127.0.0.1:8400");
    let redirect = env("RP_REDIRECT_URI", "http://127.0.0.1:8400/callback");
    let http = openidconnect::reqwest::ClientBuilder::new().redirect(openidconnect::reqwest::redirect::Policy::none()).build()?;
    // The IdP may still be starting (docker-compose): retry discovery for a while.
    let mut attempt = 0;
    let metadata = loop {
        match CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone())?, &http).await {
            Ok(metadata) => break metadata,
            Err(e) if attempt < 60 => {
                attempt += 1;
                eprintln!("sample-rp: discovery at {issuer} failed ({e}); retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("discovery"),
        }
    };
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(env("RP_CLIENT_ID", "demo-app")),
        Some(ClientSecret::new(env("RP_CLIENT_SECRET", "demo-app-secret"))),
    )
    .set_redirect_uri(RedirectUrl::new(redirect)?);
    let rp = web::Data::new(Rp { client, http, pending: Mutex::new(HashMap::new()) });
    eprintln!("sample-rp: listening on http://{bind}/ for {issuer}");
    HttpServer::new(move || {
        App::new()
            .app_data(rp.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(callback))
    })
    .workers(1)
    .bind(&bind)?
    .run()
    .await?;
    Ok(())
}
