//! Mail as people get it: multipart (plain text and HTML), with the
//! tenant's company branding, in the reader's language: the invitee's
//! (`messageLanguage`), else the tenant's `preferred_language`; a mail a
//! page asked for (a reset link, a passcode) in that page's language.

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE};
use serde_json::json;

use crate::b2b::invite;
use crate::branding::{branding_url, png, put_image};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_are_branded_and_in_the_readers_language() {
    let server = TestServer::start_with(Backend::Sled, |config| {
        config.tenants.iter_mut().find(|t| t.name == CONTOSO).expect("contoso").preferred_language = Some("fr".into());
    })
    .await;
    let token = app_token(&server, CONTOSO).await;
    let look = json!({"backgroundColor": "#0f6cbd"});
    assert_eq!(crate::harness::call(reqwest::Method::PATCH, branding_url(&server, ""), &token, Some(look)).await.0, 200);
    assert_eq!(put_image(&branding_url(&server, "/bannerLogo"), &token, "image/png", png(240, 36, [0x0f, 0x6c, 0xbd])).await.0, 204);
    let (_, _, branding) = call(reqwest::Method::GET, branding_url(&server, ""), &token, None).await;
    let logo = format!("{}/{}", branding["cdnList"][0].as_str().expect("cdn"), branding["bannerLogoRelativeUrl"].as_str().expect("logo"));

    // The invitee's language, given by the inviter; the message stays text.
    let message = "Welcome <script>alert(1)</script> & see you soon";
    let german = json!({"invitedUserMessageInfo": {"messageLanguage": "de-DE", "customizedMessageBody": message}});
    let (status, invitation) = invite(&server, &token, "erika@partner.example", german).await;
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["invitedUserMessageInfo"]["messageLanguage"], "de-DE");
    let mail = last_mail_to(&server.outbox(), "erika@partner.example", "Contoso");
    assert_eq!(mail.parts, 2, "plain text and HTML");
    assert_eq!(mail.subject, "Sie sind eingeladen, mit Contoso zusammenzuarbeiten");
    let redeem = invitation["inviteRedeemUrl"].as_str().expect("redeem URL");
    assert!(mail.text.contains(redeem) && mail.text.contains(message), "the text part: {}", mail.text);
    assert!(mail.text.contains("hat Sie eingeladen"), "{}", mail.text);
    assert_eq!(select_attr(&mail.html, "html", "lang"), ["de"]);
    assert_eq!(select_attr(&mail.html, "img", "src"), [logo], "the tenant's logo");
    assert!(mail.html.contains("#0f6cbd"), "the tenant's colour");
    assert_eq!(select_attr(&mail.html, "a", "href"), [redeem], "one link: the redemption");
    assert!(select_text(&mail.html, "blockquote")[0].contains("<script>"), "the message is shown as text");
    assert!(!mail.html.contains("<script>"), "and never as markup");

    // No language given: the tenant's preferred language.
    let (status, _) = invite(&server, &token, "jean@partner.example", json!({})).await;
    assert_eq!(status, 201);
    let mail = last_mail_to(&server.outbox(), "jean@partner.example", "Contoso");
    assert_eq!(mail.subject, "Vous êtes invité à collaborer avec Contoso");
    let (status, error) =
        invite(&server, &token, "x@partner.example", json!({"invitedUserMessageInfo": {"messageLanguage": "not a tag"}})).await;
    assert_eq!(status, 400, "{error}");

    // A reset link asked for from a page in English comes in English.
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-GB,en;q=0.8"));
    let browser = Browser::with(std::sync::Arc::new(reqwest::cookie::Jar::default()), headers);
    let page = browser.http.get(server.url("/contoso/password/reset")).send().await.expect("page").text().await.expect("page");
    let form = post_forms(&page).into_iter().next().expect("reset form");
    browser.http.post(&form.action).form(&form.filled(&[("username", ALICE.0)])).send().await.expect("ask");
    let mail = last_mail_to(&server.outbox(), ALICE.0, "password reset");
    assert_eq!((mail.subject.as_str(), mail.parts), ("Contoso password reset", 2));
    assert_eq!(select_attr(&mail.html, "html", "lang"), ["en"]);
    let link = mail.link().expect("a link");
    assert_eq!(select_attr(&mail.html, "a", "href"), [link]);
    server.stop().await;
}

#[test]
fn a_preferred_language_is_one_the_catalogs_cover() {
    let mut config = demo_config(std::path::Path::new("/tmp"), "http://127.0.0.1:8080");
    config.tenants[0].preferred_language = Some("es".into());
    let problems = config.validate().expect_err("refused").to_string();
    assert!(problems.contains("preferred_language 'es'"), "{problems}");
}
