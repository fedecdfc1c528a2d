//! Graph's paging of lists: `$top` (default 100, at most 999) and an
//! opaque `$skiptoken` carried in `@odata.nextLink`. The store pages by
//! key, so a page costs the same at the millionth user as at the first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

pub const DEFAULT_TOP: usize = 100;
pub const MAX_TOP: usize = 999;

/// Which page a list call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub top: usize,
    /// The key the previous page ended at.
    pub after: Option<String>,
}

impl PageRequest {
    /// From the query's `$top` and `$skiptoken`, refused with a 400 naming the parameter.
    pub fn parse(top: Option<&str>, skiptoken: Option<&str>) -> Result<PageRequest> {
        let top = match top {
            None => DEFAULT_TOP,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_TOP).contains(n))
                .ok_or_else(|| Error::Invalid(format!("$top must be a number from 1 to {MAX_TOP}")))?,
        };
        let after = skiptoken
            .map(|token| {
                URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| Error::Invalid("$skiptoken is not one this server gave out".into()))
            })
            .transpose()?;
        Ok(PageRequest { top, after })
    }
}

/// One page of a list, and the `$skiptoken` of the next if there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub value: Vec<T>,
    pub skiptoken: Option<String>,
}

/// The `$skiptoken` that continues after `key`.
pub fn skiptoken(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_and_skiptoken_are_checked() {
        assert_eq!(PageRequest::parse(None, None).unwrap(), PageRequest { top: DEFAULT_TOP, after: None });
        let token = skiptoken("user-7");
        assert_eq!(PageRequest::parse(Some("5"), Some(&token)).unwrap(), PageRequest { top: 5, after: Some("user-7".into()) });
        for bad in ["0", "1000", "-1", "ten"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "$top={bad}");
        }
        assert!(PageRequest::parse(None, Some("not base64!")).is_err());
    }
}
