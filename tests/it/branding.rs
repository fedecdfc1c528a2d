//! Company branding: set through Graph's `organizationalBranding` (and its
//! localizations), shown on every page of the tenant (text as text, never
//! markup), images checked from their bytes and served by content hash.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// A real PNG of `width`×`height`, one colour.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    let pixels: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
    writer.write_image_data(&pixels).expect("png data");
    writer.finish().expect("png end");
    bytes
}

pub fn branding_url(server: &TestServer, rest: &str) -> String {
    server.url(&format!("/{CONTOSO}/v1.0/organization/{CONTOSO_ID}/branding{rest}"))
}

/// Uploads `bytes` as an image; the status.
pub async fn put_image(url: &str, token: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let response = api().put(url).bearer_auth(token).header("content-type", content_type).body(bytes).send().await.expect("put");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sign_in_page(server: &TestServer, extra: &str) -> String {
    let rp = Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await;
    let url = format!("{}{extra}", rp.authorize(&["profile"], true).url);
    Browser::new().http.get(&url).send().await.expect("authorize").text().await.expect("page")
}

async fn branding_is_managed_and_shown(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = app_token(&server, CONTOSO).await;
    let (status, _, unset) = call(Method::GET, branding_url(&server, ""), &token, None).await;
    assert_eq!((status, unset["id"].as_str(), &unset["backgroundColor"]), (200, Some("0"), &Value::Null), "{unset}");

    // Text and colour; markup in the text stays text on the page.
    let text = "Welcome to <b>Contoso</b>\nUse your work account.";
    let change = json!({"backgroundColor": "#0f6cbd", "signInPageText": text, "usernameHintText": "someone@contoso.example"});
    let (status, _, set) = call(Method::PATCH, branding_url(&server, ""), &token, Some(change)).await;
    assert_eq!((status, set["signInPageText"].as_str(), set["backgroundColor"].as_str()), (200, Some(text), Some("#0f6cbd")), "{set}");
    for (bad, names) in [
        (json!({"backgroundColor": "red"}), "backgroundColor"),
        (json!({"backgroundColor": "#12345g"}), "backgroundColor"),
        (json!({"signInPageText": "x".repeat(1025)}), "signInPageText"),
        (json!({"usernameHintText": "two\nlines"}), "usernameHintText"),
        (json!({"signInPageText": "Sign in at \u{202e}moc.osotnoc"}), "signInPageText"),
        (json!({"customCSS": "body{}"}), "customCSS"),
    ] {
        let (status, _, error) = call(Method::PATCH, branding_url(&server, ""), &token, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert!(error["error"]["message"].as_str().unwrap_or_default().contains(names), "{bad}: {error}");
    }
    let elsewhere = server.url(&format!("/{CONTOSO}/v1.0/organization/{FABRIKAM_ID}/branding"));
    assert_eq!(call(Method::GET, elsewhere, &token, None).await.0, 404, "another tenant's organization is not here");

    // Images: a real PNG or JPEG within the limits, judged by its bytes.
    let logo = png(240, 36, [0x0f, 0x6c, 0xbd]);
    assert_eq!(put_image(&branding_url(&server, "/bannerLogo"), &token, "image/png", logo.clone()).await.0, 204);
    let read = api().get(branding_url(&server, "/bannerLogo")).bearer_auth(&token).send().await.expect("get logo");
    assert_eq!(read.headers()["content-type"], "image/png");
    assert_eq!(read.bytes().await.expect("bytes").to_vec(), logo);
    for (content_type, bytes, why) in [
        ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(), "PNG or a JPEG"),
        ("image/png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), "PNG or a JPEG"),
        ("image/png", png(2000, 40, [0, 0, 0]), "pixels"),
        ("image/png", vec![0u8; 400 * 1024], "larger than"),
        ("image/png", vec![], "PNG or a JPEG"),
        ("image/png", logo[..logo.len() - 20].to_vec(), "cannot be read"),
        ("image/jpeg", [&[0xff, 0xd8, 0xff, 0xc0][..], &[0; 64]].concat(), "cannot be read"),
    ] {
        let (status, error) = put_image(&branding_url(&server, "/bannerLogo"), &token, content_type, bytes).await;
        assert_eq!(status, 400, "{why}: {error}");
        assert!(error["error"]["message"].as_str().unwrap_or_default().contains(why), "{why}: {error}");
    }
    assert_eq!(put_image(&branding_url(&server, "/squareLogo"), &token, "image/png", logo.clone()).await.0, 404);
    let (_, _, set) = call(Method::GET, branding_url(&server, ""), &token, None).await;
    let logo_url = format!("{}/{}", set["cdnList"][0].as_str().expect("cdn"), set["bannerLogoRelativeUrl"].as_str().expect("logo url"));

    // Every page of the tenant shows it; the image is public and immutable.
    let page = sign_in_page(&server, "").await;
    assert_eq!(select_attr(&page, "#banner-logo", "src"), std::slice::from_ref(&logo_url), "{page}");
    assert_eq!(select_attr(&page, "#banner-logo", "alt"), ["Contoso"]);
    assert!(select_attr(&page, "body", "style")[0].contains("#0f6cbd"), "{page}");
    assert_eq!(select_text(&page, "#sign-in-text"), [text], "shown as text: {page}");
    assert!(page.contains("&lt;b&gt;Contoso") && !page.contains("<b>Contoso"), "markup is escaped");
    assert_eq!(select_attr(&page, "#username", "placeholder"), ["someone@contoso.example"]);
    let csp = Browser::new().http.get(sign_in_url(&server).await).send().await.expect("page").headers()["content-security-policy"].clone();
    assert!(csp.to_str().unwrap_or_default().contains("img-src 'self' data:"), "{csp:?}");
    let image = api().get(&logo_url).send().await.expect("public logo");
    assert_eq!(image.status().as_u16(), 200);
    assert_eq!(image.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(image.bytes().await.expect("bytes").to_vec(), logo);
    let not_branding = server.url(&format!("/{CONTOSO_ID}/branding/{}.png", "0".repeat(64)));
    assert_eq!(api().get(&not_branding).send().await.expect("get").status().as_u16(), 404, "only images in use are served");

    // A language of its own: German text over the default look.
    let german = json!({"signInPageText": "Willkommen bei Contoso"});
    let (status, _, de) = call(Method::PATCH, branding_url(&server, "/localizations/de-de"), &token, Some(german)).await;
    assert_eq!((status, de["id"].as_str()), (200, Some("de-DE")), "{de}");
    for tag in ["not%20a%20tag", "de-aaaaa-aaaab", &format!("de-{}", "x".repeat(40))] {
        assert_eq!(
            call(Method::PATCH, branding_url(&server, &format!("/localizations/{tag}")), &token, Some(json!({}))).await.0,
            400,
            "{tag}"
        );
    }
    let page = sign_in_page(&server, "&ui_locales=de").await;
    assert_eq!(select_text(&page, "#sign-in-text"), ["Willkommen bei Contoso"]);
    assert_eq!(select_attr(&page, "#banner-logo", "src"), std::slice::from_ref(&logo_url), "the default logo still shows");
    assert_eq!(select_text(&sign_in_page(&server, "&ui_locales=fr").await, "#sign-in-text"), [text]);
    let localizations = list_all(branding_url(&server, "/localizations"), &token).await;
    assert_eq!(localizations.iter().map(|l| l["id"].clone()).collect::<Vec<_>>(), [json!("de-DE")]);

    // A new logo replaces the old, whose URL then serves nothing.
    assert_eq!(put_image(&branding_url(&server, "/bannerLogo"), &token, "image/png", png(120, 30, [0xc5, 0x0f, 0x1f])).await.0, 204);
    assert_eq!(api().get(&logo_url).send().await.expect("old logo").status().as_u16(), 404);
    assert_eq!(call(Method::DELETE, branding_url(&server, "/localizations/de-DE"), &token, None).await.0, 204);
    assert_eq!(call(Method::GET, branding_url(&server, "/localizations/de-DE"), &token, None).await.0, 404);
    assert_eq!(call(Method::DELETE, branding_url(&server, "/bannerLogo"), &token, None).await.0, 204);
    assert!(select_attr(&sign_in_page(&server, "").await, "#banner-logo", "src").is_empty());
    let cleared = json!({"signInPageText": null, "backgroundColor": null});
    let (_, _, set) = call(Method::PATCH, branding_url(&server, ""), &token, Some(cleared)).await;
    assert_eq!((&set["signInPageText"], &set["backgroundColor"]), (&Value::Null, &Value::Null), "{set}");

    // Who may: a member acting through the admin portal may not.
    let member = crate::security::person_token(&server, "admin-portal", Some("admin-portal-secret"), ALICE).await;
    let (status, _, error) = call(Method::PATCH, branding_url(&server, ""), &member, Some(json!({"backgroundColor": "#000000"}))).await;
    assert_eq!(status, 403, "{error}");
    assert_eq!(put_image(&branding_url(&server, "/bannerLogo"), &member, "image/png", png(10, 10, [0, 0, 0])).await.0, 403);
    let audits = list_all(server.url(&format!("/{CONTOSO}/v1.0/auditLogs/directoryAudits")), &token).await;
    let branded = audits.iter().filter(|a| a["activityDisplayName"] == "Update company branding").count();
    assert_eq!(branded, 7, "every change is audited, no refusal is");
    server.stop().await;
}

async fn sign_in_url(server: &TestServer) -> String {
    Rp::discover(server, CONTOSO_ID, DEMO_APP, Some(DEMO_APP_SECRET)).await.authorize(&["profile"], true).url
}

on_both_backends!(branding_is_managed_and_shown);
