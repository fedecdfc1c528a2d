//! A tenant's company branding (Graph's `organizationalBranding`): what its
//! pages and mails show besides the words. Text is shown as text, never as
//! markup; images live in the store apart (`Asset`), addressed by the
//! SHA-256 of their bytes, so a changed image has a new URL and browsers may
//! cache any one for ever.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An image of the branding: where its bytes are (`Store::asset`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
}

impl Image {
    /// Where pages and mails load it from, under the public base URL.
    pub fn relative_url(&self, tenant_id: &str) -> String {
        format!("{tenant_id}/branding/{}.{}", self.hash, self.extension())
    }

    pub fn extension(&self) -> &'static str {
        if self.content_type == "image/png" {
            "png"
        } else {
            "jpg"
        }
    }
}

/// `#rrggbb`: the only colour a look may hold (it goes into style attributes).
pub fn is_color(color: &str) -> bool {
    color.strip_prefix('#').is_some_and(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One look: the default, or a language's (whose unset parts fall back to the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingLook {
    /// `#rrggbb`: behind the sign-in box (and while the background image loads).
    #[serde(default)]
    pub background_color: Option<String>,
    /// Shown under the sign-in form.
    #[serde(default)]
    pub sign_in_page_text: Option<String>,
    /// The email field's placeholder.
    #[serde(default)]
    pub username_hint_text: Option<String>,
    #[serde(default)]
    pub banner_logo: Option<Image>,
    #[serde(default)]
    pub background_image: Option<Image>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    #[serde(default)]
    pub default: BrandingLook,
    /// Per-language looks, by language tag (`de`, `fr-CA`).
    #[serde(default)]
    pub localizations: BTreeMap<String, BrandingLook>,
}

impl BrandingLook {
    /// The background colour, if it is one (checked again where it is shown:
    /// a style attribute is no place for anything else).
    pub fn color(&self) -> Option<String> {
        self.background_color.clone().filter(|c| is_color(c))
    }
}

impl Branding {
    /// What a page in `lang` shows: the localization for `lang` (the exact
    /// tag, else the first of the same language) over the default look.
    pub fn look(&self, lang: &str) -> BrandingLook {
        let primary = |tag: &str| tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        let local = self
            .localizations
            .get(lang)
            .or_else(|| self.localizations.iter().find(|(tag, _)| primary(tag) == primary(lang)).map(|(_, look)| look));
        let Some(local) = local else { return self.default.clone() };
        let d = &self.default;
        BrandingLook {
            background_color: local.background_color.clone().or_else(|| d.background_color.clone()),
            sign_in_page_text: local.sign_in_page_text.clone().or_else(|| d.sign_in_page_text.clone()),
            username_hint_text: local.username_hint_text.clone().or_else(|| d.username_hint_text.clone()),
            banner_logo: local.banner_logo.clone().or_else(|| d.banner_logo.clone()),
            background_image: local.background_image.clone().or_else(|| d.background_image.clone()),
        }
    }

    /// Whether any look shows the image `hash` (an unused one can go).
    pub fn uses(&self, hash: &str) -> bool {
        std::iter::once(&self.default)
            .chain(self.localizations.values())
            .flat_map(|look| [&look.banner_logo, &look.background_image])
            .any(|image| image.as_ref().is_some_and(|i| i.hash == hash))
    }
}

/// An image's bytes, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub tenant_id: String,
    pub hash: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_look_falls_back_to_the_default() {
        let logo = Image { hash: "ab".into(), content_type: "image/png".into() };
        let mut branding = Branding::default();
        branding.default.sign_in_page_text = Some("Welcome".into());
        branding.default.banner_logo = Some(logo.clone());
        branding.localizations.insert("de-DE".into(), BrandingLook { sign_in_page_text: Some("Willkommen".into()), ..Default::default() });
        let german = branding.look("de");
        assert_eq!((german.sign_in_page_text.as_deref(), german.banner_logo.as_ref()), (Some("Willkommen"), Some(&logo)));
        assert_eq!(branding.look("fr").sign_in_page_text.as_deref(), Some("Welcome"));
        assert!(branding.uses("ab") && !branding.uses("cd"));
    }
}
