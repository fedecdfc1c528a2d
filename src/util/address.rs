//! Email addresses and domains as the directory keys them. Every address
//! that enters (users, invitations and their CC, CSV rows, config, sign-in
//! names) goes through `email`, so one person has one spelling: trimmed,
//! lower-case, the domain in its ASCII (IDNA/punycode) form, and nothing a
//! mail system would read differently (control characters, spaces, a
//! second `@`).

/// An address `email` refuses, with the reason (the domain error maps it to
/// `Error::Invalid`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAddress(pub String);

type Result<T> = std::result::Result<T, InvalidAddress>;

/// Longest address SMTP carries (RFC 5321 §4.5.3.1: 64 + 1 + 255, less the path's brackets).
pub const MAX_EMAIL: usize = 254;

/// A domain name in its ASCII form, lower-case; none for anything else (an
/// address literal, a single label, an invalid IDN).
pub fn domain(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_end_matches('.');
    if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    match url::Host::parse(raw) {
        Ok(url::Host::Domain(ascii)) if ascii.contains('.') && !ascii.starts_with('.') && ascii.len() <= 253 => Some(ascii),
        _ => None,
    }
}

/// The normalised form of one email address, or why it is not one.
pub fn email(raw: &str) -> Result<String> {
    let shown: String = raw.chars().filter(|c| !c.is_control()).take(80).collect();
    let refuse = |why: &str| InvalidAddress(format!("'{shown}' is not an email address ({why})"));
    let trimmed = raw.trim();
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse("it contains spaces or control characters"));
    }
    let (local, host) = trimmed.split_once('@').ok_or_else(|| refuse("no @"))?;
    if host.contains('@') {
        return Err(refuse("more than one @"));
    }
    if local.is_empty() || local.len() > 64 {
        return Err(refuse("the part before @ must be 1 to 64 characters"));
    }
    let host = domain(host).ok_or_else(|| refuse("the part after @ is not a domain name"))?;
    let address = format!("{}@{host}", local.to_lowercase());
    if address.len() > MAX_EMAIL {
        return Err(refuse("longer than 254 characters"));
    }
    // The mail library's own parser: what it cannot send is refused here.
    address.parse::<lettre::Address>().map_err(|_| refuse("the part before @ is not valid"))?;
    Ok(address)
}

/// An address typed to look someone up (sign-in, reset): its normalised
/// form, or, if it is not an address, a form that matches nobody.
pub fn lookup_form(raw: &str) -> String {
    email(raw).unwrap_or_else(|_| raw.trim().to_lowercase())
}

/// Whether `domain` (normalised) is on `list`: an entry matches itself
/// exactly; an entry `*.example.com` matches every subdomain of example.com
/// (not example.com itself). Entries are compared in their ASCII form.
pub fn listed(list: &[String], domain: &str) -> bool {
    list.iter().any(|entry| match entry.trim().strip_prefix("*.") {
        Some(parent) => self::domain(parent).is_some_and(|p| domain.ends_with(&format!(".{p}"))),
        None => self::domain(entry).is_some_and(|d| d == domain),
    })
}

/// The domain part of an email address, in its normalised (ASCII) form.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, host) = email.rsplit_once('@')?;
    if local.is_empty() {
        return None;
    }
    domain(host)
}

/// An address a browser may be sent to: https, or http on this machine
/// (loopback, where no one else can listen).
pub fn is_web_url(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_one_spelling() {
        assert_eq!(email("  Bob@Fabrikam.Example ").expect("valid"), "bob@fabrikam.example");
        assert_eq!(email("anna@bücher.example").expect("IDN"), "anna@xn--bcher-kva.example");
        for bad in
            ["bob", "bob@", "@fabrikam.example", "a@b@c.example", "bob @x.example", "bob@localhost", "bob@[127.0.0.1]", "b\u{0}@x.example"]
        {
            assert!(email(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(email_domain("bob@Fabrikam.Example."), Some("fabrikam.example".into()));
    }

    #[test]
    fn listed_domains_match_exactly_or_as_subdomains_of_a_wildcard() {
        let list = ["partner.example".to_string(), "*.contractors.example".into(), "BÜCHER.example".into()];
        assert!(listed(&list, "partner.example"));
        assert!(!listed(&list, "sub.partner.example"), "no wildcard: no subdomains");
        assert!(listed(&list, "a.contractors.example") && listed(&list, "x.y.contractors.example"));
        assert!(!listed(&list, "contractors.example"), "a wildcard is not its parent");
        assert!(!listed(&list, "evilcontractors.example"), "not a suffix match");
        assert!(listed(&list, "xn--bcher-kva.example"), "entries compare in ASCII form");
    }
}
