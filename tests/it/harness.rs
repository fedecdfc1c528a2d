//! The test kit: starts the real server on an ephemeral port with a temp
//! data dir, and drives it like a browser (reqwest + cookie jar + an HTML
//! parser) and like a relying party (the `openidconnect` crate).

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use b2b_idp::config::Config;
use b2b_idp::server::{self, Running};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdTokenFields, IntrospectionUrl, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, RevocationUrl, Scope, StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

// The demo fixture, forms and JWT parts come from the kit the bench shares.
pub use b2b_idp_testkit::demo::*;
pub use b2b_idp_testkit::{jwt_part, post_forms, select_attr, select_text, Form};

pub fn demo_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml")
}

/// The shipped demo config, pointed at `dir` and `base`.
pub fn demo_config(dir: &Path, base: &str) -> Config {
    let mut config = Config::load(Some(&demo_config_path())).expect("demo config loads");
    config.server.public_base_url = base.to_string();
    config.store.path = dir.join("data");
    config.mail.outbox = dir.join("outbox");
    config.server.workers = 2;
    config
}

/// Every user of a tenant, read page by page.
pub async fn all_users(store: &dyn b2b_idp::store::Store, tenant_id: &str) -> Vec<b2b_idp::model::User> {
    let mut pages = b2b_idp::store::UserPages::new(store, tenant_id, 100);
    let mut users = vec![];
    while let Some(page) = pages.next().await.expect("users page") {
        users.extend(page);
    }
    users
}

/// The key-encryption key of test clusters (PostgreSQL refuses to start
/// without one; sled processes get it too). Tests only: it is public.
pub const TEST_ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Which store a test server runs on; server tests run on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sled,
    Postgres,
}

/// Generates a `sled` and a `postgres` test for each `async fn name(backend: Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sled() {
                super::$name($crate::harness::Backend::Sled).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::harness::Backend::Postgres).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// The test database: `B2B_IDP_TEST_PG`, or the machine's PostgreSQL.
pub fn pg_base_url() -> String {
    std::env::var("B2B_IDP_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub async fn pg_admin() -> tokio_postgres::Client {
    let url = pg_base_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} (set B2B_IDP_TEST_PG): {e}"));
    tokio::spawn(connection);
    client
}

/// A fresh schema for one test, so tests run in parallel on one database.
/// Returns the store URL (search_path set) and the schema name.
pub async fn pg_schema_url() -> (String, String) {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    pg_admin().await.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    let base = pg_base_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{separator}options=-c%20search_path%3D{schema}"), schema)
}

pub async fn drop_pg_schema(schema: &str) {
    pg_admin().await.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.expect("drop schema");
}

pub struct TestServer {
    pub base: String,
    pub running: Option<Running>,
    /// Holds the data dir for the server's lifetime.
    pub _dir: tempfile::TempDir,
    pub pg_schema: Option<String>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    /// Starts with the demo config on `backend`, adjusted by `tweak`.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = demo_config(dir.path(), &base);
        let mut pg_schema = None;
        if backend == Backend::Postgres {
            let (url, schema) = pg_schema_url().await;
            config.store.url = Some(b2b_idp::util::Secret(url));
            config.store.encryption_key = Some(b2b_idp::util::Secret(TEST_ENCRYPTION_KEY.into()));
            pg_schema = Some(schema);
        }
        tweak(&mut config);
        let base = config.server.public_base_url.clone();
        let running = server::start(config, Some(listener)).await.expect("server starts");
        TestServer { base, running: Some(running), _dir: dir, pg_schema }
    }

    /// Helpers for a server running as another process at `base`.
    pub fn external(base: &str) -> TestServer {
        TestServer { base: base.to_string(), running: None, _dir: tempfile::tempdir().expect("dir"), pg_schema: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn issuer(&self, tenant_id: &str) -> String {
        format!("{}/{}/v2.0", self.base, tenant_id)
    }

    pub fn outbox(&self) -> PathBuf {
        self._dir.path().join("outbox")
    }

    pub fn idp(&self) -> &b2b_idp::idp::Idp {
        &self.running.as_ref().expect("running").idp
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean stop");
        }
        if let Some(schema) = self.pg_schema.take() {
            drop_pg_schema(&schema).await;
        }
    }
}

/// An app token for the admin API of `tenant` (the demo's admin-cli).
pub async fn app_token(server: &TestServer, tenant: &str) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", ADMIN_CLI),
        ("client_secret", ADMIN_CLI_SECRET),
        ("scope", "api://b2b-idp-admin/.default"),
    ];
    let (status, body) = token_request(server, tenant, &form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

/// An admin API call: status, headers and the JSON body (null if none).
pub async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = api().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("admin request");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// Every item of an admin API list, following `@odata.nextLink`.
pub async fn list_all(url: String, token: &str) -> Vec<serde_json::Value> {
    let (mut next, mut items) = (Some(url), vec![]);
    while let Some(url) = next.take() {
        let (status, _, page) = call(reqwest::Method::GET, url, token, None).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["value"].as_array().expect("value").iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    items
}

/// A message from the file outbox.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
    /// How many text and HTML parts it has.
    pub parts: usize,
}

impl Mail {
    /// The first http(s) URL in the text.
    pub fn link(&self) -> Option<String> {
        self.text.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://")).map(str::to_string)
    }

    /// The one-time code: the only 6-8 digit number in the text (docs/contract.md, "Mail").
    pub fn code(&self) -> Option<String> {
        let codes: Vec<&str> = self.text.split(|c: char| !c.is_ascii_digit()).filter(|w| (6..=8).contains(&w.len())).collect();
        assert!(codes.len() <= 1, "more than one code-like number in {:?}", self.text);
        codes.first().map(|c| c.to_string())
    }
}

/// Every message in a file outbox (`.eml`, as lettre writes them), read
/// by a MIME parser: the text part and the HTML part apart.
pub fn outbox(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut mails: Vec<(std::time::SystemTime, Mail)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| {
            // A message lettre is still writing does not parse yet: the
            // callers look again (`last_mail_to` polls).
            let raw = std::fs::read(e.path()).expect("mail");
            let message = mail_parser::MessageParser::default().parse(&raw)?;
            let to = message.to().and_then(|to| to.first()).and_then(|a| a.address()).unwrap_or_default().to_string();
            let mail = Mail {
                to,
                subject: message.subject().unwrap_or_default().to_string(),
                text: message.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
                html: message.body_html(0).unwrap_or_default().to_string(),
                parts: message.text_body.len() + message.html_body.len(),
            };
            let modified = e.metadata().and_then(|m| m.modified()).expect("mtime");
            Some((modified, mail))
        })
        .collect();
    mails.sort_by_key(|(t, _)| *t);
    mails.into_iter().map(|(_, m)| m).collect()
}

/// The newest message to `address` whose subject contains `subject` (file
/// times are coarse: two mails written together may share one).
/// The newest mail to `address` about `subject`, waiting up to ten seconds
/// for it (some mail is sent after the answer, e.g. password resets).
pub fn last_mail_to(dir: &Path, address: &str, subject: &str) -> Mail {
    for _ in 0..200 {
        let found = outbox(dir).into_iter().rev().find(|m| m.to.contains(address) && m.subject.contains(subject));
        if let Some(mail) = found {
            return mail;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no mail to {address} about '{subject}'")
}

/// A plain API client: no redirects followed, no cookies.
pub fn api() -> reqwest::Client {
    trusting_tests(reqwest::Client::builder()).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The certificate `start_https` serves (`localhost`), one per test process.
static TEST_TLS: std::sync::LazyLock<rcgen::CertifiedKey> =
    std::sync::LazyLock::new(|| rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("self-signed cert"));

/// A client that trusts `start_https`'s certificate, so every helper
/// (`call`, `token_request`, `Browser`, `Rp`) works over HTTPS as well.
fn trusting_tests(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.add_root_certificate(reqwest::Certificate::from_pem(TEST_TLS.cert.pem().as_bytes()).expect("cert"))
}

/// The JSON body of a plain GET (discovery documents, key sets, `/readyz`).
pub async fn get_json(url: &str) -> serde_json::Value {
    api()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// A person with a browser: cookies kept, redirects inspected one by one.
pub struct Browser {
    pub http: reqwest::Client,
    /// Tenant (origin + path segment) of every second-factor code typed, in order.
    pub mfa_prompts: std::sync::Mutex<Vec<String>>,
    /// The authenticator key of the last second-factor form answered.
    last_mfa_key: std::sync::Mutex<String>,
}

/// The people's authenticator apps: TOTP secrets enrolled through the pages,
/// by tenant (origin + path segment) and email, with the last step used.
/// Codes are computed from the enrolled secret, as a phone would.
static AUTHENTICATOR: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, (String, u64)>>> =
    std::sync::LazyLock::new(Default::default);

/// Recovery codes shown at enrolment, by the same key.
pub static RECOVERY_CODES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>> =
    std::sync::LazyLock::new(Default::default);

/// `http://host:port/tenant` of a page's form action.
pub fn tenant_of(action: &url::Url) -> String {
    let segment = action.path_segments().and_then(|mut s| s.next()).unwrap_or_default();
    format!("{}/{segment}", action.origin().ascii_serialization())
}

/// The current code of `key`'s enrolled secret, never one already used
/// (waits for the next 30 s step when the window is used up).
pub async fn authenticator_code(key: &str) -> String {
    loop {
        let (secret, last) =
            AUTHENTICATOR.lock().expect("lock").get(key).cloned().unwrap_or_else(|| panic!("no authenticator enrolled for {key}"));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        let current = now / 30;
        if let Some(step) = (current.saturating_sub(1)..=current + 1).find(|s| *s > last) {
            let bytes = totp_rs::Secret::Encoded(secret.clone()).to_bytes().expect("base32 secret");
            let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "test".into()).expect("totp");
            AUTHENTICATOR.lock().expect("lock").insert(key.to_string(), (secret, step));
            return totp.generate(step * 30);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The base32 secret `key`'s authenticator holds (what enrolment showed).
/// Adds the key an enrolment page showed to the authenticator, as `key`.
pub fn enrol_authenticator(key: &str, secret: &str) {
    AUTHENTICATOR.lock().expect("lock").insert(key.to_string(), (secret.to_string(), 0));
}

pub fn authenticator_secret(key: &str) -> String {
    AUTHENTICATOR.lock().expect("lock").get(key).map(|(secret, _)| secret.clone()).unwrap_or_else(|| panic!("no authenticator for {key}"))
}

/// The same authenticator, known under `to` as well (a server that moved).
pub fn copy_authenticator(from: &str, to: &str) {
    let mut known = AUTHENTICATOR.lock().expect("lock");
    let entry = known.get(from).cloned().unwrap_or_else(|| panic!("no authenticator for {from}"));
    known.insert(to.to_string(), entry);
}

/// Forgets `key`'s enrolment (after an admin or recovery reset).
pub fn forget_authenticator(key: &str) {
    AUTHENTICATOR.lock().expect("lock").remove(key);
}

/// Where a browser flow ended up.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to the client: the full callback URL.
    Client(url::Url),
    /// A page of the IdP that the script did not know how to answer.
    Page { status: u16, body: String },
}

impl Landing {
    pub fn client(self) -> url::Url {
        match self {
            Landing::Client(url) => url,
            Landing::Page { status, body } => panic!("expected a redirect to the client, got page {status}: {body}"),
        }
    }

    /// A response parameter, from the query or (response_mode=fragment) the fragment.
    pub fn param(&self, name: &str) -> Option<String> {
        let Landing::Client(url) = self else { return None };
        let fragment = url.fragment().unwrap_or_default();
        url.query_pairs().chain(url::form_urlencoded::parse(fragment.as_bytes())).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser::with(std::sync::Arc::new(reqwest::cookie::Jar::default()), reqwest::header::HeaderMap::new())
    }

    /// A browser whose cookies the test can read (`jar`) and that sends
    /// `headers` with every request (e.g. a proxy's `X-Forwarded-For`).
    pub fn with(jar: std::sync::Arc<reqwest::cookie::Jar>, headers: reqwest::header::HeaderMap) -> Browser {
        Browser {
            http: trusting_tests(reqwest::Client::builder())
                .cookie_provider(jar)
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            mfa_prompts: Default::default(),
            last_mfa_key: Default::default(),
        }
    }

    /// Opens `url` and answers sign-in, redemption and consent pages with
    /// `user` (at the resource tenant and at home alike) until the IdP sends
    /// the browser to `client_prefix` or shows a page it cannot answer.
    pub async fn run(&self, url: &str, user: Option<(&str, &str)>, client_prefix: &str) -> Landing {
        let response = self.http.get(url).send().await.expect("request");
        self.drive(response, user, client_prefix).await
    }

    /// Like `run`, from a form the script fills itself (e.g. a passcode).
    pub async fn submit(&self, form: &Form, values: &[(&str, &str)], user: Option<(&str, &str)>, client_prefix: &str) -> Landing {
        let response = self.http.post(&form.action).form(&form.filled(values)).send().await.expect("post form");
        self.drive(response, user, client_prefix).await
    }

    /// Answers pages from `response` on, as `run` does.
    pub async fn drive(&self, mut response: reqwest::Response, user: Option<(&str, &str)>, client_prefix: &str) -> Landing {
        // Sign-in forms already answered: the same one again means it failed.
        let mut answered: Vec<String> = vec![];
        for _ in 0..20 {
            let status = response.status().as_u16();
            if let Some(location) = response.headers().get("location").and_then(|v| v.to_str().ok()) {
                let location = location.to_string();
                if location.starts_with(client_prefix) {
                    return Landing::Client(url::Url::parse(&location).expect("callback URL"));
                }
                let next = response.url().join(&location).expect("redirect target");
                if next.as_str().starts_with(client_prefix) {
                    return Landing::Client(next);
                }
                response = self.http.get(next).send().await.expect("follow");
                continue;
            }
            let response_url = response.url().clone();
            let body = response.text().await.expect("body");
            let forms = post_forms(&body);
            let Some(form) = forms.first() else { return Landing::Page { status, body } };
            let action = form.action.split('?').next().unwrap_or_default().to_string();
            // Sign-in is identifier first: the email page, then (for a member) the password page.
            let sign_in_step = match (form.has("username"), form.has("password")) {
                (true, true) => Some("password"),
                (true, false) if form.value("csrf_token").is_some() && form.has("req") => Some("identifier"),
                _ => None,
            };
            let fields = if let Some(step) = sign_in_step {
                let step_key = format!("{step} {action}");
                let Some((email, password)) = user.filter(|_| !answered.contains(&step_key)) else { return Landing::Page { status, body } };
                answered.push(step_key);
                match step {
                    "password" => form.filled(&[("username", email), ("password", password)]),
                    _ => form.filled(&[("username", email)]),
                }
            } else if form.action.starts_with(client_prefix) {
                // response_mode=form_post: what the browser would post to the client.
                let mut url = url::Url::parse(&form.action).expect("form_post action");
                url.query_pairs_mut().extend_pairs(form.fields.iter());
                return Landing::Client(url);
            } else if form.has("otp") && !select_text(&body, "#mfa-user").is_empty() {
                // The second factor: enrol (the page shows the key) or answer with the app.
                let target = url::Url::parse(response_url.as_str()).and_then(|base| base.join(&form.action)).expect("form action");
                let key = format!("{}|{}", tenant_of(&target), select_text(&body, "#mfa-user")[0]);
                if let Some(secret) = select_text(&body, "#totp-secret").first() {
                    AUTHENTICATOR.lock().expect("lock").insert(key.clone(), (secret.clone(), 0));
                }
                self.mfa_prompts.lock().expect("lock").push(tenant_of(&target));
                *self.last_mfa_key.lock().expect("lock") = key.clone();
                let code = authenticator_code(&key).await;
                form.filled(&[("otp", &code)])
            } else if form.has("otp") {
                // A code only the test can fetch (a mailed passcode).
                return Landing::Page { status, body };
            } else {
                // Consent and redemption pages: the first POST form accepts (docs/contract.md, "Pages and forms").
                let codes = select_text(&body, "#recovery-codes li");
                if !codes.is_empty() {
                    let key = self.last_mfa_key.lock().expect("lock").clone();
                    RECOVERY_CODES.lock().expect("lock").insert(key, codes);
                }
                form.fields.clone()
            };
            let target = url::Url::parse(response_url.as_str()).and_then(|base| base.join(&form.action)).expect("form action");
            response = self.http.post(target).form(&fields).send().await.expect("post form");
        }
        panic!("too many steps in a browser flow")
    }
}

// ---- the relying party: openidconnect with Entra's claims ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraClaims {
    pub tid: String,
    pub oid: String,
    pub user_type: String,
    pub acct: u8,
    pub home_tid: String,
    #[serde(default)]
    pub idp: Option<String>,
}
/// `amr` and `acr` are standard claims: read them with `auth_method_refs()`
/// and `auth_context_ref()`.
impl AdditionalClaims for EntraClaims {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtraMetadata {
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub end_session_endpoint: String,
    pub tenant_region_scope: String,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub type EntraTokenResponse = StandardTokenResponse<
    IdTokenFields<EntraClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    CoreTokenType,
>;

pub type RpClient = Client<
    EntraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    EntraTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub struct Rp {
    pub client: RpClient,
    pub metadata: Metadata,
    pub http: reqwest::Client,
}

/// One authorization request the RP started.
pub struct Pending {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: Option<PkceCodeVerifier>,
}

impl Rp {
    /// Discovers the tenant's issuer (by id, as RPs configure it) and registers as `client_id`.
    pub async fn discover(server: &TestServer, tenant_id: &str, client_id: &str, secret: Option<&str>) -> Rp {
        Rp::discover_using(api(), server, tenant_id, client_id, secret).await
    }

    pub async fn discover_using(http: reqwest::Client, server: &TestServer, tenant_id: &str, client_id: &str, secret: Option<&str>) -> Rp {
        let issuer = IssuerUrl::new(server.issuer(tenant_id)).expect("issuer URL");
        let metadata = Metadata::discover_async(issuer, &http).await.expect("discovery");
        let extra = metadata.additional_metadata().clone();
        let client = Client::from_provider_metadata(
            metadata.clone(),
            ClientId::new(client_id.to_string()),
            secret.map(|s| ClientSecret::new(s.to_string())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_string()).expect("redirect"))
        .set_introspection_url(IntrospectionUrl::new(extra.introspection_endpoint).expect("url"))
        .set_revocation_url(RevocationUrl::new(extra.revocation_endpoint).expect("url"));
        Rp { client, metadata, http }
    }

    /// An authorization URL with state, nonce and (if `pkce`) S256 PKCE.
    pub fn authorize(&self, scopes: &[&str], pkce: bool) -> Pending {
        let mut request = self.client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let verifier = if pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            Some(verifier)
        } else {
            None
        };
        let (url, state, nonce) = request.url();
        Pending { url: url.to_string(), state, nonce, verifier }
    }

    /// Exchanges a code; the crate verifies nothing yet (see `id_claims`).
    pub async fn exchange(&self, code: &str, verifier: Option<PkceCodeVerifier>) -> Result<EntraTokenResponse, String> {
        let mut request = self.client.exchange_code(openidconnect::AuthorizationCode::new(code.to_string())).expect("token endpoint known");
        if let Some(v) = verifier {
            request = request.set_pkce_verifier(v);
        }
        request.request_async(&self.http).await.map_err(|e| describe(&e))
    }
}

/// The OAuth error code from a failed openidconnect request, else its message.
pub fn describe<E: std::error::Error>(e: &E) -> String {
    format!("{e}: {}", source_chain(e))
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut current = e.source();
    while let Some(s) = current {
        out.push_str(&s.to_string());
        out.push_str(" / ");
        current = s.source();
    }
    out
}

/// Decodes a JWT's payload without verifying it (for claims the RP library already verified).
pub fn jwt_payload(token: &str) -> serde_json::Value {
    jwt_part(token, 1).expect("a JWT with a JSON payload")
}

pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0).expect("a JWT with a JSON header")
}

pub fn free_port() -> u16 {
    b2b_idp_testkit::free_port().expect("a free port")
}

/// POST a form to the token endpoint of `tenant` and return (status, JSON).
pub async fn token_request(server: &TestServer, tenant: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = api().post(server.url(&format!("/{tenant}/oauth2/v2.0/token"))).form(form).send().await.expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

// ---- real processes, as an operator runs them ----

pub fn deploy_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(name)
}

/// docker-compose.yml's contoso (deploy/contoso.toml), federating
/// fabrikam.example to the fabrikam server at `fabrikam_base` (in compose:
/// http://fabrikam.localhost:8081, on the compose network).
pub fn contoso_config(fabrikam_base: &str) -> String {
    let config = std::fs::read_to_string(deploy_file("contoso.toml")).expect("deploy/contoso.toml");
    assert!(config.contains("http://fabrikam.localhost:8081") && config.contains(r#"["172.28.0.0/24"]"#));
    config.replace("http://fabrikam.localhost:8081", fabrikam_base).replace(r#"["172.28.0.0/24"]"#, r#"["127.0.0.1/32"]"#)
}

/// docker-compose.yml's fabrikam (deploy/fabrikam.toml), with contoso (at
/// `contoso_base`; in compose the balancer, http://localhost:8080) as a client.
pub fn fabrikam_config(contoso_base: &str) -> String {
    let config = std::fs::read_to_string(deploy_file("fabrikam.toml")).expect("deploy/fabrikam.toml");
    assert!(config.contains("http://localhost:8080/contoso/federation/callback"));
    config.replace("http://localhost:8080", contoso_base)
}

pub const IDP_BIN: &str = env!("CARGO_BIN_EXE_b2b-idp");

/// `b2b-idp` listening on `port`, announcing `public` as its base URL, with
/// data under `dir` (sled unless `B2B_IDP__STORE__URL` is added).
pub fn idp_command(dir: &Path, port: u16, public: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(IDP_BIN);
    cmd.current_dir(dir)
        .env("B2B_IDP__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("B2B_IDP__SERVER__PUBLIC_BASE_URL", public)
        .env("B2B_IDP__STORE__PATH", dir.join("data"))
        .env("B2B_IDP__MAIL__OUTBOX", dir.join("outbox"))
        .env("B2B_IDP__STORE__ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs a `b2b-idp` command with the demo config on the store under `dir`:
/// whether it succeeded, and what it printed (stdout, then stderr).
pub async fn idp_cli(dir: &Path, port: u16, public: &str, args: &[&str]) -> (bool, String) {
    let mut command = idp_command(dir, port, public);
    command.arg("--config").arg(demo_config_path()).args(args);
    let output = command.output().await.expect("b2b-idp");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Waits until `url` answers 200, or panics after ten seconds.
pub async fn wait_ready(url: &str) {
    for _ in 0..200 {
        if api().get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} did not become ready");
}

/// `b2b-idp serve` with the demo config (plus `env`), ready to serve.
pub async fn serve(dir: &Path, port: u16, public: &str, env: &[(&str, &str)]) -> tokio::process::Child {
    serve_config(dir, port, public, &demo_config_path(), env).await
}

/// `b2b-idp serve --config config` (plus `env`), ready to serve.
pub async fn serve_config(dir: &Path, port: u16, public: &str, config: &Path, env: &[(&str, &str)]) -> tokio::process::Child {
    let mut cmd = idp_command(dir, port, public);
    cmd.envs(env.iter().copied()).arg("--config").arg(config).arg("serve");
    let child = cmd.spawn().expect("spawn b2b-idp");
    wait_ready(&format!("http://127.0.0.1:{port}/readyz")).await;
    child
}

/// `b2b-idp serve` with the demo config plus `env`, expected to stop by
/// itself (a start that is refused): its exit status and output.
pub async fn serve_refused(dir: &Path, port: u16, public: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = idp_command(dir, port, public);
    cmd.envs(env.iter().copied()).arg("--config").arg(demo_config_path()).arg("serve");
    cmd.output().await.expect("run b2b-idp")
}

/// Runs a client library's script (MSAL, openid-client) to its end and
/// reads the JSON it printed; a failed run fails the test with what it said.
pub async fn script_json(mut command: tokio::process::Command) -> serde_json::Value {
    let output = command.output().await.expect("the script runs (./test.sh installs Python's and Node's packages)");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{said}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("JSON from the script: {said}"))
}

/// SIGTERM, then wait: the server stops gracefully and flushes its store.
pub async fn terminate(mut child: tokio::process::Child) {
    let pid = child.id().expect("running") as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait()).await.expect("stops").expect("status");
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}

/// A program of the Python virtualenv `./test.sh` installs
/// (`B2B_IDP_TEST_PYTHON_BIN`; tests/python/requirements.txt).
pub fn python_bin(name: &str) -> std::path::PathBuf {
    let bin = std::env::var("B2B_IDP_TEST_PYTHON_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin"));
    let program = bin.join(name);
    assert!(program.exists(), "{} is missing: run ./test.sh, which installs tests/python/requirements.txt", program.display());
    program
}

/// A server over HTTPS (rustls; `public_base_url` `https://localhost:…`)
/// with a self-signed certificate, a client that trusts it (no redirects
/// followed), and the certificate's PEM file for other clients, kept while
/// the returned directory lives.
pub async fn start_https(backend: Backend) -> (TestServer, reqwest::Client, std::path::PathBuf, tempfile::TempDir) {
    start_https_with(backend, |_| {}).await
}

/// [`start_https`], with the config adjusted by `tweak` first.
pub async fn start_https_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, reqwest::Client, std::path::PathBuf, tempfile::TempDir) {
    let certs = tempfile::tempdir().expect("dir");
    let (cert_path, key_path) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert_path, TEST_TLS.cert.pem()).expect("write cert");
    std::fs::write(&key_path, TEST_TLS.key_pair.serialize_pem()).expect("write key");
    let server = TestServer::start_with(backend, |c| {
        tweak(c);
        let port = url::Url::parse(&c.server.public_base_url).expect("url").port().expect("port");
        c.server.public_base_url = format!("https://localhost:{port}");
        c.server.tls_cert = Some(cert_path.clone());
        c.server.tls_key = Some(key_path.clone());
    })
    .await;
    (server, api(), cert_path, certs)
}
