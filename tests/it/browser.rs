//! The pages in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromedriver) by fantoccini, each test with its own server.
//! Every page a flow visits is checked by axe-core (WCAG 2.2 A/AA rules,
//! in the light and the dark theme; serious and critical violations fail),
//! and the main pages are saved under `docs/screenshots/` (desktop and a
//! 390 px phone, light and dark) for the README.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::harness::*;

/// A headless Chromium behind its own chromedriver; dropping it ends both.
struct Chromium {
    client: Client,
    _driver: tokio::process::Child,
}

/// Chrome DevTools commands through chromedriver (`goog/cdp/execute`):
/// how a test switches `prefers-color-scheme`.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

impl Chromium {
    /// A browser whose `Accept-Language` is `languages`.
    async fn start(languages: &str) -> Chromium {
        let driver_path = std::env::var("B2B_IDP_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{driver_path} does not run ({e}): test.sh installs Debian's chromium and chromium-driver"));
        let args = [
            "--headless=new".to_string(),
            // The tests run as root in CI: Chromium's sandbox refuses root.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--accept-lang={languages}"),
        ];
        let chromium = std::env::var("B2B_IDP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args, "prefs": {"intl.accept_languages": languages}},
        });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&webdriver).await {
                Ok(client) => return Chromium { client, _driver: driver },
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session from {driver_path}: {last_error}");
    }

    async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    async fn text(&self, selector: &str) -> String {
        let url = self.url().await;
        let element = self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no {selector} on {url}: {e}"));
        element.text().await.expect("text")
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    async fn lang(&self) -> String {
        let html = self.client.find(Locator::Css("html")).await.expect("html");
        html.attr("lang").await.expect("lang attribute").unwrap_or_default()
    }

    async fn has(&self, selector: &str) -> bool {
        !self.client.find_all(Locator::Css(selector)).await.expect("find").is_empty()
    }

    async fn type_into(&self, selector: &str, text: &str) {
        let field = self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        field.send_keys(text).await.expect("type");
    }

    /// Presses the submit button of the page's first form, as a person would.
    async fn submit(&self) {
        self.click_through("form button[type=submit]").await;
    }

    /// Clicks `selector` and waits until the browser has left the page (its
    /// old document is gone), so what the test reads next is the new page.
    async fn click_through(&self, selector: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("the page");
        let element = self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
        for _ in 0..200 {
            match old.attr("lang").await {
                Err(fantoccini::error::CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference => return,
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
        // A click that stays on the page (a redirect to a client that does not answer).
    }

    async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The URL once it starts with `prefix` (a redirect to a client that
    /// does not answer commits a little after the click returns).
    async fn wait_for_url(&self, prefix: &str) -> url::Url {
        for _ in 0..200 {
            let url = self.url().await;
            if url.as_str().starts_with(prefix) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never reached {prefix}: at {}", self.url().await);
    }

    async fn color_scheme(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        let command =
            json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": [{"name": "prefers-color-scheme", "value": value}]}});
        self.client.issue_cmd(Cdp(command)).await.expect("emulate the color scheme");
    }

    /// axe-core's WCAG 2.x A and AA rules on the page as shown now.
    async fn serious_violations(&self) -> Vec<Value> {
        self.client.execute(&axe_source(), vec![]).await.expect("inject axe-core");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
              .then(r => done(r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))
              .catch(e => done([{id: 'axe-failed', help: String(e)}]));"#;
        let result = self.client.execute_async(script, vec![]).await.expect("run axe-core");
        result.as_array().cloned().unwrap_or_else(|| panic!("axe-core answered {result}"))
    }

    /// Checks the page in both themes (axe-core), and saves it as `name`
    /// when given: desktop and phone, light and dark.
    async fn check_page(&self, name: Option<&str>) {
        for dark in [false, true] {
            self.color_scheme(dark).await;
            let violations = self.serious_violations().await;
            let scheme = if dark { "dark" } else { "light" };
            assert!(violations.is_empty(), "{} ({scheme}) is not accessible: {:#}", self.url().await, Value::from(violations));
            let Some(name) = name else { continue };
            for (size, label) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
                self.client.set_window_size(size.0, size.1).await.expect("resize");
                let png = self.client.screenshot().await.expect("screenshot");
                let path = screenshots().join(format!("{name}-{label}-{scheme}.png"));
                std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            }
        }
        self.color_scheme(false).await;
    }
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("docs/screenshots");
    dir
}

/// axe-core from npm (`tests/browser`, installed by test.sh).
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; run `npm ci --prefix tests/browser` (test.sh does)", path.display()))
}

/// A member signs in as Entra's pages do it: the email alone first, then
/// the password on a page of its own, then consent in words, and the code
/// reaches the relying party (the `openidconnect` crate), which redeems it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_in_identifier_first() {
    let server = TestServer::start(Backend::Sled).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let pending = rp.authorize(&["profile", "offline_access"], true);
    let browser = Chromium::start("en-US,en").await;
    browser.open(&format!("{}&prompt=consent", pending.url)).await;

    assert_eq!(browser.lang().await, "en");
    assert_eq!(browser.text("h1").await, "Sign in");
    assert!(browser.has("input#username[type=email]").await && !browser.has("input[type=password]").await, "the email alone first");
    assert!(browser.body().await.contains("Contoso Demo App"), "the app is named");
    browser.check_page(Some("sign-in")).await;
    browser.type_into("#username", ALICE.0).await;
    browser.submit().await;

    assert_eq!(browser.text("h1").await, "Enter password");
    assert_eq!(browser.text(".identity").await, ALICE.0);
    browser.type_into("#password", "not her password").await;
    browser.submit().await;
    assert_eq!(browser.text("#password-error").await, "Incorrect email or password.");
    let described = browser.client.find(Locator::Css("#password")).await.expect("field").attr("aria-describedby").await.expect("attr");
    assert_eq!(described.as_deref(), Some("password-error"), "the error is tied to its field");
    browser.check_page(Some("password")).await;
    browser.type_into("#password", ALICE.1).await;
    browser.submit().await;

    assert_eq!(browser.text("h1").await, "Permissions requested");
    let consent = browser.body().await;
    for words in ["Contoso Demo App", "Sign you in", "Read your profile", "Keep access when you are not present", "contoso.example"] {
        assert!(consent.contains(words), "consent says {words:?}: {consent}");
    }
    assert!(!consent.contains("offline_access"), "no raw scope strings: {consent}");
    browser.check_page(Some("consent")).await;
    browser.submit().await;

    let landed = browser.wait_for_url(REDIRECT_URI).await;
    let param = |name: &str| landed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string());
    assert_eq!(param("state").as_deref(), Some(pending.state.secret().as_str()));
    let code = param("code").expect("a code");
    let tokens = rp.exchange(&code, pending.verifier).await.expect("the RP redeems the code");
    assert!(openidconnect::OAuth2TokenResponse::refresh_token(&tokens).is_some(), "offline_access was granted");
    server.stop().await;
}

/// `ui_locales` first, then the browser's `Accept-Language`; the language
/// stays with the sign-in across its pages; error pages are pages too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_language_asked_for() {
    let server = TestServer::start(Backend::Sled).await;
    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Chromium::start("fr-FR,fr;q=0.9").await;

    browser.open(&rp.authorize(&["profile"], true).url).await;
    assert_eq!((browser.lang().await, browser.text("h1").await), ("fr".to_string(), "Se connecter".to_string()));
    browser.check_page(None).await;

    browser.open(&format!("{}&ui_locales=de-DE%20en", rp.authorize(&["profile"], true).url)).await;
    assert_eq!((browser.lang().await, browser.text("h1").await), ("de".to_string(), "Anmelden".to_string()));
    browser.type_into("#username", ALICE.0).await;
    browser.submit().await;
    assert_eq!((browser.lang().await, browser.text("h1").await), ("de".to_string(), "Kennwort eingeben".to_string()));
    browser.type_into("#password", "falsch").await;
    browser.submit().await;
    assert_eq!(browser.text("#password-error").await, "E-Mail-Adresse oder Kennwort ist falsch.");
    browser.check_page(None).await;

    // A tenant that does not exist: a page in French with the request id.
    browser.open(&server.url("/nowhere/oauth2/v2.0/authorize?client_id=demo-app")).await;
    assert_eq!((browser.lang().await, browser.text("h1").await), ("fr".to_string(), "Organisation introuvable".to_string()));
    assert_eq!(browser.text("#request-id").await.len(), 36, "a request id people can quote");
    browser.check_page(Some("error")).await;
    browser.open(&server.url("/contoso/no/such/page")).await;
    assert_eq!(browser.text("h1").await, "Page introuvable");
    server.stop().await;
}

/// Company branding set through the admin API shows in the browser: the
/// logo loads (the page's CSP lets it), the colour and the text apply, in
/// the language's look where one is set; and the branded page stays accessible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_branding_shows() {
    use crate::branding::{branding_url, png, put_image};
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, CONTOSO).await;
    let look = json!({"backgroundColor": "#0f6cbd", "signInPageText": "Contoso staff and partners only.\nNeed help? Call the service desk.", "usernameHintText": "someone@contoso.example"});
    assert_eq!(call(reqwest::Method::PATCH, branding_url(&server, ""), &token, Some(look)).await.0, 200);
    let german = json!({"signInPageText": "Nur für Mitarbeitende und Partner von Contoso."});
    assert_eq!(call(reqwest::Method::PATCH, branding_url(&server, "/localizations/de"), &token, Some(german)).await.0, 200);
    assert_eq!(put_image(&branding_url(&server, "/bannerLogo"), &token, "image/png", png(240, 36, [0x0f, 0x6c, 0xbd])).await.0, 204);
    let background = png(64, 36, [0xdb, 0xea, 0xfe]);
    assert_eq!(put_image(&branding_url(&server, "/backgroundImage"), &token, "image/png", background).await.0, 204);

    let rp = Rp::discover(&server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let browser = Chromium::start("en").await;
    browser.open(&rp.authorize(&["profile"], true).url).await;
    let logo_width = browser.client.execute("return document.getElementById('banner-logo').naturalWidth", vec![]).await.expect("js");
    assert_eq!(logo_width, json!(240), "the logo loaded");
    let colour = browser.client.execute("return getComputedStyle(document.body).backgroundColor", vec![]).await.expect("js");
    assert_eq!(colour, json!("rgb(15, 108, 189)"));
    let image = browser.client.execute("return getComputedStyle(document.body).backgroundImage", vec![]).await.expect("js");
    assert!(image.as_str().unwrap_or_default().contains("/branding/"), "{image}");
    assert!(browser.text("#sign-in-text").await.starts_with("Contoso staff and partners only."));
    let hint = browser.client.find(Locator::Css("#username")).await.expect("field").attr("placeholder").await.expect("attr");
    assert_eq!(hint.as_deref(), Some("someone@contoso.example"));
    browser.check_page(Some("branded-sign-in")).await;

    browser.open(&format!("{}&ui_locales=de", rp.authorize(&["profile"], true).url)).await;
    assert_eq!(browser.text("#sign-in-text").await, "Nur für Mitarbeitende und Partner von Contoso.");
    server.stop().await;
}

impl Chromium {
    /// Answers the pages of a sign-in or redemption as `who` until the
    /// browser reaches `target`: the email, the password, authenticator
    /// enrolment (the key read off the page) and prompts, recovery codes,
    /// consent. Checks each kind of page once with axe-core (saving
    /// screenshots of those in `shoot`); returns the tenants (path
    /// segments) where a code was typed.
    async fn answer(&self, who: (&str, &str), target: &str, checked: &mut Vec<&'static str>, shoot: &[&str]) -> Vec<String> {
        let mut prompts = vec![];
        let mut waited = 0;
        for _ in 0..200 {
            let url = self.url().await;
            if url.as_str().starts_with(target) {
                return prompts;
            }
            // The tenant of the page, by name (issuers address tenants by id).
            let tenant = match url.path_segments().and_then(|mut s| s.next()).unwrap_or_default() {
                FABRIKAM_ID => FABRIKAM.to_string(),
                CONTOSO_ID => CONTOSO.to_string(),
                name => name.to_string(),
            };
            let page = if self.has("#totp-secret").await {
                "mfa-enrol"
            } else if self.has("#mfa-user").await {
                "mfa-prompt"
            } else if self.has("#recovery-codes").await {
                "recovery-codes"
            } else if self.has("input[name=decision]").await {
                "consent"
            } else if self.has("#password").await {
                "password"
            } else if self.has("#username").await {
                "sign-in"
            } else if self.has("input[name=ticket]").await {
                "redeem"
            } else if waited < 100 {
                // A navigation still under way (to a client that does not answer, say).
                waited += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            } else {
                panic!("an unexpected page at {url}: {}", self.body().await);
            };
            waited = 0;
            let page = if page == "consent" && self.has("form[action$='/redeem/consent']").await { "redeem-consent" } else { page };
            if !checked.contains(&page) {
                checked.push(page);
                self.check_page(shoot.contains(&page).then_some(page)).await;
            }
            let key = format!("{tenant}|{}", who.0);
            match page {
                "mfa-enrol" | "mfa-prompt" => {
                    if page == "mfa-enrol" {
                        enrol_authenticator(&key, &self.text("#totp-secret").await);
                        let label = self.client.find(Locator::Css(".qr")).await.expect("QR code").attr("aria-label").await.expect("attr");
                        assert!(label.is_some_and(|l| l.contains(who.0)), "the QR code has an accessible name");
                    }
                    assert_eq!(self.text("#mfa-user").await, who.0);
                    self.type_into("#otp", &authenticator_code(&key).await).await;
                    prompts.push(tenant);
                }
                "password" => self.type_into("#password", who.1).await,
                "sign-in" => self.type_into("#username", who.0).await,
                _ => {}
            }
            self.submit().await;
        }
        panic!("too many pages on the way to {target}");
    }
}

/// A guest's whole journey in the browser: Bob redeems contoso's
/// invitation by signing in at fabrikam (its password page straight away,
/// the email already known) and enrolling fabrikam's authenticator, then
/// consents to what contoso will see. Signing in to contoso's app then asks
/// for a code twice, at home and here (Entra's double MFA), until contoso
/// trusts fabrikam's MFA: then once. Every page passes axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_redeems_and_meets_double_mfa_then_trust() {
    const WELCOME: &str = "https://apps.contoso.example/welcome";
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, CONTOSO).await;
    let (status, invitation) = crate::b2b::invite(&server, &token, BOB.0, json!({})).await;
    assert_eq!(status, 201, "{invitation}");
    let redeem = last_mail_to(&server.outbox(), BOB.0, "invited").link().expect("the link in the mail");
    let mut checked = vec![];
    let shots = ["mfa-enrol", "redeem-consent", "mfa-prompt"];

    let browser = Chromium::start("en").await;
    browser.open(&redeem).await;
    assert_eq!(browser.text("h1").await, "You're invited");
    browser.check_page(Some("redeem")).await;
    checked.push("redeem");
    browser.submit().await;
    assert_eq!(browser.text(".identity").await, BOB.0, "fabrikam's password page straight away");
    let prompts = browser.answer(BOB, WELCOME, &mut checked, &shots).await;
    assert_eq!(prompts, [FABRIKAM], "fabrikam enrolled its authenticator; contoso asked nothing at redemption");
    assert!(checked.contains(&"redeem-consent"), "{checked:?}");

    let browser = Chromium::start("en").await;
    browser.open(&demo_app_sign_in(&server).await).await;
    let prompts = browser.answer(BOB, REDIRECT_URI, &mut checked, &shots).await;
    assert_eq!(prompts, [FABRIKAM, CONTOSO], "a code at home, and again here");

    let partner = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{FABRIKAM_ID}"));
    let trust = json!({"inboundTrust": {"isMfaAccepted": true}});
    assert_eq!(call(reqwest::Method::PUT, partner, &token, Some(trust)).await.0, 200);
    let browser = Chromium::start("en").await;
    browser.open(&demo_app_sign_in(&server).await).await;
    let prompts = browser.answer(BOB, REDIRECT_URI, &mut checked, &shots).await;
    assert_eq!(prompts, [FABRIKAM], "contoso trusts fabrikam's MFA: one code");
    for page in ["redeem", "password", "mfa-enrol", "recovery-codes", "redeem-consent", "sign-in", "mfa-prompt"] {
        assert!(checked.contains(&page), "{page} was checked: {checked:?}");
    }
    server.stop().await;
}

/// A guest with no organisation of their own redeems with a mailed code,
/// asks for a new one on the page, and uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passcode_guest_asks_for_a_new_code() {
    const WELCOME: &str = "https://apps.contoso.example/welcome";
    let dana = "dana@mailbox.example";
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, CONTOSO).await;
    assert_eq!(crate::b2b::invite(&server, &token, dana, json!({})).await.0, 201);
    let redeem = last_mail_to(&server.outbox(), dana, "invited").link().expect("link");
    let browser = Chromium::start("en").await;
    browser.open(&redeem).await;
    browser.submit().await;
    assert_eq!(browser.text("h1").await, "Enter code");
    let first = last_mail_to(&server.outbox(), dana, "verification code").code().expect("a code");
    browser.check_page(Some("passcode")).await;
    let resend = browser.client.find(Locator::Css("form:nth-of-type(2) button")).await.expect("send a new code");
    assert_eq!(resend.text().await.expect("text"), "Send a new code");
    browser.click_through("form:nth-of-type(2) button").await;
    assert_eq!(browser.text("[role=status]").await, "We sent a new code. Codes sent before no longer work.");
    let mut second = first.clone();
    for _ in 0..100 {
        second = last_mail_to(&server.outbox(), dana, "verification code").code().expect("a code");
        if second != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(second, first, "a new code was mailed");
    browser.type_into("#otp", &first).await;
    browser.submit().await;
    assert!(browser.text("#otp-error").await.contains("attempts left"), "the first code is void");
    browser.type_into("#otp", &second).await;
    browser.submit().await;
    assert_eq!(browser.text("h1").await, "Review permissions");
    assert!(browser.body().await.contains("a one-time passcode sent to your email"));
    browser.submit().await;
    browser.wait_for_url(WELCOME).await;
    server.stop().await;
}

impl Chromium {
    async fn click(&self, selector: &str) {
        let element = self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no {selector}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// The text of `selector` once it is shown (a script's result).
    async fn shown_text(&self, selector: &str) -> String {
        for _ in 0..200 {
            if let Ok(element) = self.client.find(Locator::Css(selector)).await {
                if element.is_displayed().await.unwrap_or(false) {
                    return element.text().await.expect("text");
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{selector} never showed on {}", self.url().await);
    }
}

/// The admin console: the administrator signs in through contoso's own
/// sign-in pages, invites a guest with a message, bulk-invites three from
/// a CSV file (a progress bar, a summary, the report downloaded), trusts
/// fabrikam's MFA and withdraws it again, and finds the guest in the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_works_in_the_console() {
    const ADMIN: (&str, &str) = ("admin@contoso.example", "Contoso-Admin-1");
    let server = TestServer::start(Backend::Sled).await;
    let console = |page: &str| server.url(&format!("/{CONTOSO_ID}/admin/{page}"));
    let browser = Chromium::start("en").await;
    browser.open(&server.url("/contoso/admin/")).await;
    browser.answer(ADMIN, &console(""), &mut vec![], &[]).await;
    assert_eq!(browser.text("h1").await, "Overview");
    assert_eq!(browser.text("#count-members strong").await, "2");
    browser.check_page(Some("admin-overview")).await;

    browser.open(&console("invite")).await;
    browser.type_into("#invitedUserEmailAddress", "carol@partner.example").await;
    browser.type_into("#customizedMessageBody", "Welcome to the Northwind project").await;
    browser.click_through("#invite-send").await;
    assert_eq!(browser.text("#invited").await, "An invitation was sent to carol@partner.example.");
    let mail = last_mail_to(&server.outbox(), "carol@partner.example", "invited");
    assert!(mail.text.contains("Welcome to the Northwind project"), "{}", mail.text);
    browser.check_page(Some("admin-invite")).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("guests.csv");
    let rows = "Email,Name,Redirect,Send,Message\ndave@partner.example,Dave,,false,\nerin@partner.example,Erin,,false,\nfrank@partner.example,Frank,,true,Hello\n";
    std::fs::write(&csv, rows).expect("write the CSV");
    browser.type_into("#file", csv.to_str().expect("path")).await;
    browser.click("#bulk-upload").await;
    assert_eq!(browser.shown_text("#bulk-report").await, "Download the report");
    assert_eq!(browser.text("#bulk-summary").await, "3 rows: 3 invited, 0 invited again, 0 refused.");
    let progress = browser.client.execute("return document.getElementById('bulk-progress').value", vec![]).await.expect("value");
    assert_eq!(progress, json!(100), "the progress bar is full");
    let downloads = dir.path().join("downloads");
    let allow = json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": downloads}});
    browser.client.issue_cmd(Cdp(allow)).await.expect("allow downloads");
    browser.click("#bulk-report").await;
    let saved = downloads.join("bulk-invitations-report.csv");
    for _ in 0..200 {
        if saved.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("the report was downloaded to {}: {e}", saved.display()));
    let lines: Vec<&str> = report.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{report}");
    for (line, who) in lines.iter().zip(["dave", "erin", "frank"]) {
        assert!(line.contains(&format!("{who}@partner.example,created,")), "{report}");
    }
    browser.check_page(None).await;

    browser.open(&console("partners")).await;
    assert!(browser.text("#double-mfa").await.contains("asked twice"));
    browser.type_into("#partner", FABRIKAM).await;
    browser.click("#partner-mfa").await;
    browser.click_through("#partner-save").await;
    let trust = format!("[data-partner='{FABRIKAM_ID}'] .trust");
    assert_eq!(browser.text(&trust).await, "Yes");
    browser.check_page(Some("admin-partners")).await;
    browser.click_through(&format!("[data-partner='{FABRIKAM_ID}'] button.toggle")).await;
    assert_eq!(browser.text(&trust).await, "No");
    let token = app_token(&server, CONTOSO).await;
    let partner = server.url(&format!("/contoso/v1.0/policies/crossTenantAccessPolicy/partners/{FABRIKAM_ID}"));
    let (status, _, setting) = call(reqwest::Method::GET, partner, &token, None).await;
    assert_eq!((status, setting["inboundTrust"]["isMfaAccepted"].clone()), (200, json!(false)));

    browser.open(&console("users?q=carol")).await;
    let row = "[data-email='carol@partner.example']";
    assert_eq!(browser.text(&format!("{row} .state")).await, "PendingAcceptance");
    browser.check_page(Some("admin-users")).await;
    browser.click_through(&format!("{row} button[value=resend]")).await;
    assert_eq!(browser.text("[role=status]").await, "A new invitation was sent to carol@partner.example.");
    server.stop().await;
}

/// The rest of the console: a group with a member, a policy that blocks
/// guests from one app (and its deletion), company branding with its live
/// preview and a logo (which the sign-in page then shows), the identity
/// providers and the sign-in log. Every page passes axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_groups_policies_and_branding() {
    const ADMIN: (&str, &str) = ("admin@contoso.example", "Contoso-Admin-1");
    let server = TestServer::start(Backend::Sled).await;
    let console = |page: &str| server.url(&format!("/{CONTOSO_ID}/admin/{page}"));
    let browser = Chromium::start("en").await;
    browser.open(&console("groups")).await;
    browser.answer(ADMIN, &console("groups"), &mut vec![], &[]).await;
    browser.type_into("#displayName", "Northwind partners").await;
    browser.type_into("#description", "Everyone on the Northwind project").await;
    browser.click_through("#group-create").await;
    assert_eq!(browser.text("h1").await, "Northwind partners");
    browser.type_into("#email", ALICE.0).await;
    browser.click_through("#member-add").await;
    assert!(browser.has(&format!("#members [data-email='{}']", ALICE.0)).await, "alice is a member");
    browser.check_page(Some("admin-group")).await;

    browser.open(&console("policies")).await;
    assert!(browser.text("#policies").await.contains("Guests need MFA"), "the demo's policies are listed");
    browser.type_into("#displayName", "No guests in the SPA").await;
    let spa = browser.client.find(Locator::Css("#app option[value='demo-spa']")).await.expect("the SPA is a choice");
    spa.click().await.expect("choose");
    browser.click_through("#policy-block").await;
    let row = "[data-policy='No guests in the SPA']";
    assert_eq!(browser.text(&format!("{row} .control")).await, "Block access");
    assert!(browser.text(row).await.contains("Contoso Demo SPA"), "apps by name");
    browser.check_page(Some("admin-policies")).await;
    browser.click_through(&format!("{row} button[value=delete]")).await;
    assert!(!browser.has(row).await, "deleted");

    browser.open(&console("branding")).await;
    browser.type_into("#backgroundColor", "#0f6cbd").await;
    browser.type_into("#signInPageText", "Northwind staff only").await;
    let preview = "return [getComputedStyle(document.getElementById('preview')).backgroundColor, document.getElementById('preview-text').textContent]";
    let shown = browser.client.execute(preview, vec![]).await.expect("preview");
    assert_eq!(shown, json!(["rgb(15, 108, 189)", "Northwind staff only"]), "the preview follows the form before saving");
    browser.click_through("#branding-save").await;
    assert_eq!(
        browser.client.find(Locator::Css("#backgroundColor")).await.expect("field").prop("value").await.expect("value").as_deref(),
        Some("#0f6cbd")
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, crate::branding::png(240, 60, [15, 108, 189])).expect("write the logo");
    browser.type_into("#logo-file", logo.to_str().expect("path")).await;
    browser.click_through("#logo-upload").await;
    assert!(browser.has("#preview-logo:not([hidden])").await, "the logo is shown in the preview");
    browser.check_page(Some("admin-branding")).await;
    // Signed in already: prompt=login shows the sign-in page all the same.
    browser.open(&format!("{}&prompt=login", demo_app_sign_in(&server).await)).await;
    assert!(browser.has("#banner-logo").await, "the sign-in page shows the uploaded logo");
    assert!(browser.body().await.contains("Northwind staff only"));

    browser.open(&console("identity-providers")).await;
    assert_eq!(browser.text("h1").await, "Identity providers");
    browser.check_page(None).await;
    browser.open(&console("sign-ins")).await;
    assert!(browser.text("#sign-ins").await.contains(ADMIN.0), "the administrator's own sign-in is logged");
    browser.check_page(Some("admin-sign-ins")).await;
    server.stop().await;
}

/// My Apps, where an invitation without a redirect URL lands: Bob redeems
/// contoso's invitation and, after contoso's own MFA, sees contoso's demo
/// app and both of his organisations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_lands_on_my_apps() {
    let server = TestServer::start(Backend::Sled).await;
    let token = app_token(&server, CONTOSO).await;
    let (status, invitation) = crate::b2b::invite(&server, &token, BOB.0, json!({"inviteRedirectUrl": ""})).await;
    assert_eq!(status, 201, "{invitation}");
    let myapps = server.url(&format!("/{CONTOSO_ID}/myapps"));
    assert_eq!(invitation["inviteRedirectUrl"], json!(myapps), "My Apps is the default");
    let redeem = last_mail_to(&server.outbox(), BOB.0, "invited").link().expect("the link in the mail");
    let browser = Chromium::start("en").await;
    browser.open(&redeem).await;
    browser.submit().await;
    let prompts = browser.answer(BOB, &myapps, &mut vec![], &[]).await;
    assert_eq!(prompts, [FABRIKAM, CONTOSO], "an authenticator at home, and contoso's own for its guests");
    assert_eq!(browser.text("h1").await, "My Apps");
    let apps = browser.text("#apps").await;
    assert!(apps.contains("Contoso Demo App"), "{apps}");
    let organisations = browser.text("#organisations").await;
    assert!(organisations.contains("Contoso (current) · Guest") && organisations.contains("Fabrikam · Member"), "{organisations}");
    browser.check_page(Some("myapps")).await;
    server.stop().await;
}

/// A device signed in from the browser (RFC 8628): the code page, the
/// confirmation naming the app, the member's sign-in, and the page that
/// says it is done, each checked by axe-core; the device's poll then gets
/// its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_signed_in_from_the_browser() {
    let server = TestServer::start(Backend::Sled).await;
    let cli = crate::device::register_cli(&server).await;
    let response = api().post(server.url("/contoso/oauth2/v2.0/devicecode")).form(&[("client_id", cli.as_str()), ("scope", "openid")]);
    let flow: Value = response.send().await.expect("devicecode").json().await.expect("JSON");
    let browser = Chromium::start("en").await;
    browser.open(server.url("/contoso/devicelogin").as_str()).await;
    assert_eq!(browser.text("h1").await, "Sign in on your device");
    browser.check_page(None).await;
    browser.type_into("#user_code", flow["user_code"].as_str().expect("user_code")).await;
    browser.submit().await;
    assert_eq!(browser.text("h1").await, "Are you signing in to Contoso CLI?");
    assert_eq!(browser.text("#user-code").await, flow["user_code"].as_str().expect("user_code"));
    browser.check_page(None).await;
    browser.submit().await;
    browser.type_into("#username", ALICE.0).await;
    browser.submit().await;
    browser.type_into("#password", ALICE.1).await;
    browser.submit().await;
    browser.wait_for_url(&server.url("/contoso/devicelogin?status=approved")).await;
    assert_eq!(browser.text("h1").await, "You have signed in");
    browser.check_page(None).await;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", cli.as_str()),
        ("device_code", flow["device_code"].as_str().expect("device_code")),
    ];
    let (status, tokens) = token_request(&server, CONTOSO, &form).await;
    assert_eq!(status, 200, "{tokens}");
    server.stop().await;
}

/// Where the demo app sends a browser to sign in at contoso.
async fn demo_app_sign_in(server: &TestServer) -> String {
    Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await.authorize(&["profile"], true).url
}

/// Front-channel logout in a real browser: the signed-out page loads the
/// app's logout page in a frame (with `iss` and `sid`), then moves on to
/// the app's post-logout URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_signs_the_apps_out_in_frames() {
    let (app, received, handle) = crate::channel_logout::receiver();
    let server = crate::channel_logout::start(Backend::Sled, &app).await;
    let browser = Chromium::start("en").await;
    for redirect in [true, false] {
        browser.open(&demo_app_sign_in(&server).await).await;
        browser.type_into("#username", ALICE.0).await;
        browser.submit().await;
        browser.type_into("#password", ALICE.1).await;
        browser.submit().await;
        browser.wait_for_url(REDIRECT_URI).await;
        let mut logout = server.url("/contoso/oauth2/v2.0/logout");
        if redirect {
            logout.push_str(&format!("?client_id={DEMO_APP}&post_logout_redirect_uri=http://127.0.0.1:8400/&state=bye"));
        }
        browser.open(&logout).await;
        assert_eq!(browser.text("h1").await, "Sign out?");
        browser.submit().await;
        if redirect {
            browser.wait_for_url("http://127.0.0.1:8400/?state=bye").await;
        } else {
            assert_eq!(browser.text("h1").await, "You have signed out");
            browser.check_page(None).await;
        }
        let loaded = received.wait_for("/fc/demo-app", if redirect { 1 } else { 2 }).await;
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(loaded.last().expect("loaded").as_bytes()).into_owned().collect();
        assert_eq!(query.get("iss"), Some(&server.issuer(CONTOSO_ID)), "{query:?}");
        assert!(query.get("sid").is_some_and(|sid| !sid.is_empty()), "{query:?}");
    }
    server.stop().await;
    handle.stop(false).await;
}
