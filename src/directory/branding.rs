//! Company branding through the admin API, in Graph's shapes
//! (`organizationalBranding` and its `localizations`): the checks on what
//! may be shown (text stays text, images must be real PNG or JPEG of
//! bounded size), and the images' bytes for the pages.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::audit::change::Target;
use crate::directory::access::{Caller, Right, DIRECTORY_READERS, GLOBAL_ADMINISTRATOR};
use crate::directory::paging::{Page, PageRequest};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{is_color, Asset, Branding, BrandingLook, Image, Tenant};
use crate::util::sha256_hex_bytes;

/// Changing the branding (Entra's Organizational Branding Administrator
/// work; a Global Administrator's here).
pub const MANAGE_BRANDING: Right = Right { app_roles: &["OrganizationalBranding.ReadWrite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR] };

pub const READ_BRANDING: Right = Right {
    app_roles: &["OrganizationalBranding.Read.All", "OrganizationalBranding.ReadWrite.All", "Directory.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, DIRECTORY_READERS],
};

/// Entra's limits on the texts.
const MAX_SIGN_IN_TEXT: usize = 1024;
const MAX_USERNAME_HINT: usize = 64;
/// The largest image of any kind, for readers of request bodies.
pub const MAX_IMAGE_BYTES: usize = 300 * 1024;
/// Languages one tenant may brand for.
const MAX_LOCALIZATIONS: usize = 50;

/// The default look's id, as Graph names it.
const DEFAULT_ID: &str = "0";

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphBranding {
    /// `0` for the default look, else the language tag.
    pub id: String,
    pub background_color: Option<String>,
    pub sign_in_page_text: Option<String>,
    pub username_hint_text: Option<String>,
    /// Relative to each `cdnList` entry.
    pub banner_logo_relative_url: Option<String>,
    pub background_image_relative_url: Option<String>,
    pub cdn_list: Vec<String>,
}

/// A `PATCH`: each field given is set; `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrandingChange {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub background_color: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub sign_in_page_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub username_hint_text: Option<Option<String>>,
}

/// A field that is present: `Some(None)` when it is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Which image of a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    BannerLogo,
    BackgroundImage,
}

impl ImageKind {
    /// The path segment Graph uses.
    pub fn parse(segment: &str) -> Result<ImageKind> {
        match segment {
            "bannerLogo" => Ok(ImageKind::BannerLogo),
            "backgroundImage" => Ok(ImageKind::BackgroundImage),
            other => Err(Error::NotFound(format!("branding has no image {other:?}; there are bannerLogo and backgroundImage"))),
        }
    }

    /// Most bytes, widest and tallest (Entra asks for a 245×36 logo of at
    /// most 36 KB and a 1920×1080 background of at most 300 KB; a little
    /// room is left).
    fn limits(self) -> (usize, usize, usize) {
        match self {
            ImageKind::BannerLogo => (100 * 1024, 1024, 256),
            ImageKind::BackgroundImage => (MAX_IMAGE_BYTES, 3840, 2160),
        }
    }

    fn slot(self, look: &mut BrandingLook) -> &mut Option<Image> {
        match self {
            ImageKind::BannerLogo => &mut look.banner_logo,
            ImageKind::BackgroundImage => &mut look.background_image,
        }
    }
}

/// A look's id: the default (`0`) or a language tag, which is normalised
/// (`de-de` → `de-DE`).
pub fn look_id(id: &str) -> Result<Option<String>> {
    if id == DEFAULT_ID {
        return Ok(None);
    }
    crate::i18n::language_tag(id).map(Some).ok_or_else(|| Error::Invalid("not a language tag (such as de or fr-CA)".into()))
}

fn graph(idp: &Idp, tenant: &Tenant, id: &str, look: &BrandingLook) -> GraphBranding {
    let url = |image: &Option<Image>| image.as_ref().map(|i| i.relative_url(&tenant.id));
    GraphBranding {
        id: id.to_string(),
        background_color: look.background_color.clone(),
        sign_in_page_text: look.sign_in_page_text.clone(),
        username_hint_text: look.username_hint_text.clone(),
        banner_logo_relative_url: url(&look.banner_logo),
        background_image_relative_url: url(&look.background_image),
        cdn_list: vec![idp.base_url().to_string()],
    }
}

fn look<'a>(tenant: &'a Tenant, lang: Option<&str>) -> Result<&'a BrandingLook> {
    match lang {
        None => Ok(&tenant.branding.default),
        Some(lang) => tenant.branding.localizations.get(lang).ok_or_else(|| Error::NotFound(format!("branding localization {lang}"))),
    }
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>) -> Result<GraphBranding> {
    caller.require(READ_BRANDING)?;
    Ok(graph(idp, tenant, lang.unwrap_or(DEFAULT_ID), look(tenant, lang)?))
}

pub async fn localizations(idp: &Idp, tenant: &Tenant, caller: &Caller, request: &PageRequest) -> Result<Page<GraphBranding>> {
    caller.require(READ_BRANDING)?;
    let all = tenant.branding.localizations.iter().map(|(lang, look)| graph(idp, tenant, lang, look)).collect();
    Ok(Page::whole(all, request))
}

/// Sets what `change` gives on the default look or a language's (which it
/// creates when missing).
pub async fn update(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>, change: BrandingChange) -> Result<GraphBranding> {
    caller.require(MANAGE_BRANDING)?;
    let checked = |value: Option<Option<String>>, check: fn(&str) -> Result<()>| -> Result<Option<Option<String>>> {
        match value {
            Some(Some(text)) if text.trim().is_empty() => Ok(Some(None)),
            Some(Some(text)) => check(&text).map(|()| Some(Some(text))),
            other => Ok(other),
        }
    };
    let color = checked(change.background_color, check_color)?;
    let text = checked(change.sign_in_page_text, |t| check_text("signInPageText", t, MAX_SIGN_IN_TEXT, true))?;
    let hint = checked(change.username_hint_text, |t| check_text("usernameHintText", t, MAX_USERNAME_HINT, false))?;
    let (_, after) = change_look(idp, tenant, lang, |look| {
        for (slot, value) in
            [(&mut look.background_color, &color), (&mut look.sign_in_page_text, &text), (&mut look.username_hint_text, &hint)]
        {
            if let Some(value) = value {
                slot.clone_from(value);
            }
        }
    })
    .await?;
    audit(idp, tenant, caller, lang);
    let shown = match lang {
        None => &after.default,
        Some(lang) => after.localizations.get(lang).ok_or_else(|| Error::NotFound(format!("branding localization {lang}")))?,
    };
    Ok(graph(idp, tenant, lang.unwrap_or(DEFAULT_ID), shown))
}

pub async fn remove_localization(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: &str) -> Result<()> {
    caller.require(MANAGE_BRANDING)?;
    look(tenant, Some(lang))?;
    let mut before = Branding::default();
    let changed = super::tenants::change(idp, &tenant.id, |current| {
        before = current.branding.clone();
        current.branding.localizations.remove(lang);
        Ok(())
    })
    .await?;
    forget_unused(idp, &tenant.id, &before, &changed.branding).await;
    audit(idp, tenant, caller, Some(lang));
    Ok(())
}

/// Stores `bytes` as the look's image of `kind`: a PNG or JPEG (read from
/// the bytes, not from what the client says) within the size limits.
pub async fn set_image(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>, kind: ImageKind, bytes: &[u8]) -> Result<()> {
    caller.require(MANAGE_BRANDING)?;
    let (max_bytes, max_width, max_height) = kind.limits();
    if bytes.len() > max_bytes {
        return Err(Error::Invalid(format!("the image is {} bytes; at most {max_bytes} are allowed", bytes.len())));
    }
    let (content_type, width, height) = decoded(bytes, max_width, max_height)?;
    if width == 0 || height == 0 || width > max_width || height > max_height {
        return Err(Error::Invalid(format!("the image is {width}×{height} pixels; at most {max_width}×{max_height} are allowed")));
    }
    if !localizable(tenant, lang) {
        return Err(too_many_languages());
    }
    let image = Image { hash: sha256_hex_bytes(bytes), content_type: content_type.into() };
    let asset =
        Asset { tenant_id: tenant.id.clone(), hash: image.hash.clone(), content_type: image.content_type.clone(), bytes: bytes.to_vec() };
    idp.store.put_asset(&asset).await?;
    match change_look(idp, tenant, lang, |look| *kind.slot(look) = Some(image.clone())).await {
        Ok((before, after)) => forget_unused(idp, &tenant.id, &before, &after).await,
        Err(e) => {
            // Not shown after all: the stored copy goes, unless a change meanwhile uses it.
            let in_use = idp.tenant(&tenant.id).await.map_or(true, |now| now.branding.uses(&image.hash));
            if !in_use {
                let _ = idp.store.delete_asset(&tenant.id, &image.hash).await;
            }
            return Err(e);
        }
    }
    audit(idp, tenant, caller, lang);
    Ok(())
}

pub async fn remove_image(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>, kind: ImageKind) -> Result<()> {
    caller.require(MANAGE_BRANDING)?;
    let (before, after) = change_look(idp, tenant, lang, |look| *kind.slot(look) = None).await?;
    forget_unused(idp, &tenant.id, &before, &after).await;
    audit(idp, tenant, caller, lang);
    Ok(())
}

/// The look's image of `kind`, for the admin API.
pub async fn image(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>, kind: ImageKind) -> Result<Asset> {
    caller.require(READ_BRANDING)?;
    let mut look = look(tenant, lang)?.clone();
    let image = kind.slot(&mut look).clone().ok_or_else(|| Error::NotFound("no such image is set".into()))?;
    stored(idp, tenant, &image.hash).await
}

/// An image the tenant's pages show, by its file name (`{hash}.png`):
/// public, like the pages. Only images in use are served.
pub async fn public_image(idp: &Idp, tenant: &Tenant, file: &str) -> Result<Asset> {
    let hash = file.split_once('.').map_or(file, |(hash, _)| hash);
    if !tenant.branding.uses(hash) {
        return Err(Error::NotFound("no such branding image".into()));
    }
    stored(idp, tenant, hash).await
}

async fn stored(idp: &Idp, tenant: &Tenant, hash: &str) -> Result<Asset> {
    idp.store.asset(&tenant.id, hash).await?.ok_or_else(|| Error::NotFound("no such branding image".into()))
}

/// Applies `apply` to the default look or a language's, creating the
/// latter; the branding as the change found it and as it left it.
async fn change_look(idp: &Idp, tenant: &Tenant, lang: Option<&str>, apply: impl Fn(&mut BrandingLook)) -> Result<(Branding, Branding)> {
    let mut before = Branding::default();
    let changed = super::tenants::change(idp, &tenant.id, |current| {
        before = current.branding.clone();
        if !localizable(current, lang) {
            return Err(too_many_languages());
        }
        let branding = &mut current.branding;
        let look = match lang {
            None => &mut branding.default,
            Some(lang) => branding.localizations.entry(lang.to_string()).or_default(),
        };
        apply(look);
        Ok(())
    })
    .await?;
    Ok((before, changed.branding))
}

/// Whether `lang`'s look exists or may be added.
fn localizable(tenant: &Tenant, lang: Option<&str>) -> bool {
    let localizations = &tenant.branding.localizations;
    lang.is_none_or(|lang| localizations.contains_key(lang) || localizations.len() < MAX_LOCALIZATIONS)
}

fn too_many_languages() -> Error {
    Error::Invalid(format!("at most {MAX_LOCALIZATIONS} languages may be branded"))
}

/// The image's type and size, from decoding all of it (so a header cannot
/// claim a small image while the data holds a huge one), within limits
/// that stop a decompression bomb before it allocates.
fn decoded(bytes: &[u8], max_width: usize, max_height: usize) -> Result<(&'static str, usize, usize)> {
    let unreadable = |e: &dyn std::fmt::Display| Error::Invalid(format!("the image cannot be read: {e}"));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let limits = png::Limits { bytes: max_width * max_height * 8 };
        let mut reader = png::Decoder::new_with_limits(bytes, limits).read_info().map_err(|e| unreadable(&e))?;
        let (width, height) = (reader.info().width as usize, reader.info().height as usize);
        if width > max_width || height > max_height {
            return Ok(("image/png", width, height));
        }
        let mut pixels = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut pixels).map_err(|e| unreadable(&e))?;
        return Ok(("image/png", width, height));
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        use zune_jpeg::zune_core::{bytestream::ZCursor, options::DecoderOptions};
        let options = DecoderOptions::default().set_max_width(max_width).set_max_height(max_height);
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        decoder.decode().map_err(|e| unreadable(&e))?;
        let (width, height) = decoder.dimensions().ok_or_else(|| unreadable(&"no dimensions"))?;
        return Ok(("image/jpeg", width, height));
    }
    Err(Error::Invalid("the image must be a PNG or a JPEG".into()))
}

/// Drops the images `before` showed and `after` no longer does. A failure
/// leaves an unused image behind, which nothing serves.
async fn forget_unused(idp: &Idp, tenant_id: &str, before: &Branding, after: &Branding) {
    let looks = std::iter::once(&before.default).chain(before.localizations.values());
    for image in looks.flat_map(|look| [&look.banner_logo, &look.background_image]).flatten() {
        if !after.uses(&image.hash) {
            if let Err(e) = idp.store.delete_asset(tenant_id, &image.hash).await {
                tracing::warn!(error = %e, "an unused branding image stays in the store");
            }
        }
    }
}

fn audit(idp: &Idp, tenant: &Tenant, caller: &Caller, lang: Option<&str>) {
    let id = lang.unwrap_or(DEFAULT_ID);
    let target = Target::new("OrganizationalBranding", id, &format!("Company branding ({id})"));
    caller.changed(idp, &tenant.id, "DirectoryManagement", "Update company branding", vec![target]);
}

fn check_color(color: &str) -> Result<()> {
    if is_color(color) {
        return Ok(());
    }
    Err(Error::Invalid(format!("backgroundColor must be #rrggbb, not {color:?}")))
}

fn check_text(field: &str, text: &str, max: usize, lines: bool) -> Result<()> {
    let length = text.chars().count();
    if length > max {
        return Err(Error::Invalid(format!("{field} is {length} characters; at most {max} are allowed")));
    }
    if text.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return Err(Error::Invalid(format!(
            "{field} may not hold control characters{}",
            if lines { " (line breaks are fine)" } else { "" }
        )));
    }
    // Text that reads other than it is written (bidi overrides, zero-width marks).
    if text.chars().any(|c| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')) {
        return Err(Error::Invalid(format!("{field} may not hold invisible direction or width characters")));
    }
    Ok(())
}
