//! The console's company branding: the default look's colour, texts and
//! banner logo, with a live preview, through the branding API's functions.

use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::json;

use crate::directory::branding::{self, BrandingChange, ImageKind, MAX_IMAGE_BYTES};
use crate::error::Error;
use crate::idp::Idp;
use crate::util::random_token;
use crate::web::console::{back_to, page, uploaded_file};
use crate::web::error::{Page, PathTenant};
use crate::web::pages::PageResult;
use crate::web::portal::signed_in;
use crate::web::read_bounded;

/// `GET /{tenant}/admin/branding`: the form, and the sign-in page as it
/// will look, updated as the administrator types.
pub async fn show(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let current = branding::get(&idp, &tenant, &portal.caller, None).await?;
    let logo = current.banner_logo_relative_url.as_ref().map(|path| format!("{}/{path}", idp.base_url()));
    // The preview's style gets the colour as the pages do: checked again.
    let preview_color = tenant.branding.default.color();
    let nonce = random_token();
    let context = json!({
        "branding_form": current,
        "logo": logo,
        "preview_color": preview_color,
        "action": idp.tenant_url(&tenant, "admin/branding"),
        "logo_action": idp.tenant_url(&tenant, "admin/branding/logo"),
        "nonce": nonce,
    });
    Ok(page(&idp, &req, &portal, "admin/branding.html", "branding", context, Some(&nonce)))
}

#[derive(Deserialize)]
pub struct BrandingForm {
    csrf_token: String,
    /// `save` the texts and colour, or `remove_logo`.
    action: String,
    #[serde(rename = "backgroundColor", default)]
    background_color: String,
    #[serde(rename = "signInPageText", default)]
    sign_in_page_text: String,
    #[serde(rename = "usernameHintText", default)]
    username_hint_text: String,
}

/// `POST /{tenant}/admin/branding`: an empty field clears its setting.
pub async fn save(idp: web::Data<Idp>, tenant: PathTenant<Page>, req: HttpRequest, form: web::Form<BrandingForm>) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    portal.check_csrf(&idp, &req, &form.csrf_token)?;
    let form = form.into_inner();
    match form.action.as_str() {
        "save" => {
            let given = |text: String| Some(Some(text.trim().to_string()).filter(|t| !t.is_empty()));
            let change = BrandingChange {
                background_color: given(form.background_color),
                // Browsers send line breaks as CRLF; the text keeps LF.
                sign_in_page_text: given(form.sign_in_page_text.replace("\r\n", "\n")),
                username_hint_text: given(form.username_hint_text),
            };
            branding::update(&idp, &tenant, &portal.caller, None, change).await?;
        }
        "remove_logo" => branding::remove_image(&idp, &tenant, &portal.caller, None, ImageKind::BannerLogo).await?,
        other => return Err(Error::Invalid(format!("unknown action '{other}'")).into()),
    }
    Ok(back_to(&idp, &portal, "admin/branding"))
}

/// `POST /{tenant}/admin/branding/logo` (`multipart/form-data`:
/// `csrf_token`, then `file`): a new banner logo, PNG or JPEG.
pub async fn upload_logo(
    idp: web::Data<Idp>,
    tenant: PathTenant<Page>,
    req: HttpRequest,
    mut form: actix_multipart::Multipart,
) -> PageResult {
    let portal = signed_in!(&idp, &tenant, &req);
    let file = uploaded_file(&idp, &req, &portal, &mut form).await?;
    // Rights before reading up to 300 KiB of anyone's upload (as the API does).
    portal.caller.require(branding::MANAGE_BRANDING)?;
    let bytes = read_bounded(file, MAX_IMAGE_BYTES, "the image").await?;
    branding::set_image(&idp, &tenant, &portal.caller, None, ImageKind::BannerLogo, &bytes).await?;
    Ok(back_to(&idp, &portal, "admin/branding"))
}
