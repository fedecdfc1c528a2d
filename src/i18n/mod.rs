//! The words people read, in their language: Fluent message catalogs
//! (`en.ftl`, `de.ftl`, `fr.ftl`, compiled in) and the language of the
//! request being answered. The web layer runs each request inside a scope
//! holding the language negotiated from `Accept-Language`; a sign-in request
//! that carries OIDC `ui_locales` overrides it with [`prefer`]. Outside a
//! request (the command line, background mail) the language is English.

use std::cell::Cell;
use std::future::Future;
use std::str::FromStr;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_langneg::{negotiate_languages, NegotiationStrategy};
use unic_langid::LanguageIdentifier;

/// A language the catalogs cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// The BCP 47 tag, as `<html lang>` wants it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }

    fn catalog(self) -> &'static str {
        match self {
            Lang::En => include_str!("en.ftl"),
            Lang::De => include_str!("de.ftl"),
            Lang::Fr => include_str!("fr.ftl"),
        }
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The covered language for a tag such as `de-AT`, if any.
    pub fn for_tag(tag: &str) -> Option<Lang> {
        from_ui_locales(tag)
    }
}

static BUNDLES: LazyLock<Vec<(Lang, FluentBundle<FluentResource>)>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .map(|lang| {
            let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No bidi isolation marks around arguments: en, de and fr are
            // left-to-right, and the marks would end up inside addresses.
            bundle.set_use_isolating(false);
            // A catalog that fails to parse is caught by the unit tests below;
            // the messages that did parse are still used.
            let resource = FluentResource::try_new(lang.catalog().to_string()).unwrap_or_else(|(partial, _)| partial);
            let _ = bundle.add_resource(resource);
            (lang, bundle)
        })
        .collect()
});

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &BUNDLES.iter().find(|(l, _)| *l == lang).unwrap_or(&BUNDLES[0]).1
}

/// The languages there are catalogs for, as identifiers (parsed once).
static AVAILABLE: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| Lang::ALL.iter().filter_map(|l| l.tag().parse().ok()).collect());

/// The best covered language for a person who asked for `wanted` (most
/// preferred first); `None` when none of them is covered.
fn negotiate(wanted: &[LanguageIdentifier]) -> Option<Lang> {
    let chosen = negotiate_languages(wanted, &AVAILABLE, None, NegotiationStrategy::Lookup);
    chosen.first().and_then(|id| Lang::from_tag(id.language.as_str()))
}

/// OIDC `ui_locales`: space-separated BCP 47 tags, most preferred first.
/// `None` when none of them is covered, so the browser's choice stands.
pub fn from_ui_locales(ui_locales: &str) -> Option<Lang> {
    let wanted: Vec<LanguageIdentifier> =
        ui_locales.split_whitespace().take(10).filter_map(|t| LanguageIdentifier::from_str(t).ok()).collect();
    negotiate(&wanted)
}

/// A language tag as stored (`de-de` → `de-DE`): language, script and
/// region only, at most 35 bytes (variants would let one tag grow without bound).
pub fn language_tag(raw: &str) -> Option<String> {
    let tag: LanguageIdentifier = raw.parse().ok().filter(|_| raw.len() <= 35)?;
    let plain = tag.variants().len() == 0;
    plain.then(|| tag.to_string())
}

/// An `Accept-Language` header's choice, from its first 256 bytes (every
/// request pays for this parse; browsers send a few dozen bytes); English
/// when none of its languages is covered.
pub fn from_accept_language(header: &str) -> Lang {
    let end = header.char_indices().map(|(i, _)| i).take_while(|i| *i <= 256).last().unwrap_or(0);
    let head = if header.len() <= 256 { header } else { &header[..end] };
    negotiate(&fluent_langneg::accepted_languages::parse(head)).unwrap_or_default()
}

tokio::task_local! {
    static CURRENT: Cell<Lang>;
}

/// Runs `work` answering in `lang`.
pub fn scope<F: Future>(lang: Lang, work: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(Cell::new(lang), work)
}

/// The language of the request being answered.
pub fn current() -> Lang {
    CURRENT.try_with(Cell::get).unwrap_or_default()
}

/// The client asked for `ui_locales` (OIDC Core 3.1.2.1): it wins over the
/// browser's `Accept-Language` for the rest of this request when it names a
/// covered language.
pub fn prefer(ui_locales: Option<&str>) {
    if let Some(lang) = ui_locales.and_then(from_ui_locales) {
        let _ = CURRENT.try_with(|current| current.set(lang));
    }
}

/// The message `key` in the current language, with `args` filled in.
pub fn text(key: &str, args: &[(&str, &str)]) -> String {
    text_in(current(), key, args)
}

/// The message `key` in `lang` (English where `lang`'s catalog lacks it;
/// the key itself where English does too, so a gap shows, not a blank).
pub fn text_in(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        // Numbers (written as Rust writes them, so "007" stays text) stay
        // numbers, so plural forms can be chosen by them.
        match value.parse::<i32>() {
            Ok(number) if number.to_string() == *value => fluent_args.set(*name, number),
            _ => fluent_args.set(*name, *value),
        }
    }
    for lang in [lang, Lang::En] {
        let bundle = bundle(lang);
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = vec![];
            return bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned();
        }
    }
    key.to_string()
}

/// `t("key", name=value, …)` in templates (pages and mails alike): the
/// message in the template's `lang` (else the request's language).
pub fn template_function(state: &minijinja::State, key: &str, args: minijinja::value::Kwargs) -> Result<String, minijinja::Error> {
    let lang = state.lookup("lang").and_then(|l| l.as_str().and_then(Lang::from_tag)).unwrap_or_else(current);
    let mut pairs: Vec<(&str, String)> = vec![];
    for name in args.args() {
        let value: minijinja::Value = args.get(name)?;
        pairs.push((name, value.to_string()));
    }
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Ok(text_in(lang, key, &borrowed))
}

/// The message keys of a catalog, for the tests that keep catalogs complete.
pub fn keys(lang: Lang) -> Vec<String> {
    let resource = FluentResource::try_new(lang.catalog().to_string()).unwrap_or_else(|(partial, _)| partial);
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_parse_and_cover_the_same_messages() {
        for lang in Lang::ALL {
            assert!(FluentResource::try_new(lang.catalog().to_string()).is_ok(), "{} does not parse", lang.tag());
        }
        let english = keys(Lang::En);
        assert!(english.len() > 50);
        for lang in [Lang::De, Lang::Fr] {
            let theirs = keys(lang);
            let missing: Vec<&String> = english.iter().filter(|k| !theirs.contains(k)).collect();
            let extra: Vec<&String> = theirs.iter().filter(|k| !english.contains(k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, extra {extra:?}", lang.tag());
        }
    }

    #[test]
    fn languages_are_negotiated() {
        assert_eq!(from_accept_language("fr-CH, fr;q=0.9, en;q=0.8"), Lang::Fr);
        assert_eq!(from_accept_language("es, de;q=0.5"), Lang::De);
        assert_eq!(from_accept_language("ja"), Lang::En);
        assert_eq!(from_accept_language(""), Lang::En);
        assert_eq!(from_ui_locales("de-AT en"), Some(Lang::De));
        assert_eq!(from_ui_locales("es"), None);
        assert_eq!(language_tag("de-de").as_deref(), Some("de-DE"));
        assert_eq!(language_tag("de-aaaaa-aaaab"), None, "no variants");
        assert_eq!(language_tag("not a tag"), None);
        assert_eq!(text_in(Lang::De, "sign-in", &[]), "Anmelden");
        assert_eq!(text_in(Lang::Fr, "no-such-message", &[]), "no-such-message");
        assert_eq!(text_in(Lang::En, "passcode-wrong", &[("left", "1")]), "That code is not right. One attempt left.");
        assert_eq!(text_in(Lang::En, "signed-in-as", &[("email", "007")]), "Signed in as 007.");
        assert_eq!(from_accept_language(&format!("{}de", "x-aa,".repeat(2000))), Lang::En, "only the head is read");
    }
}
