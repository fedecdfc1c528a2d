//! Graph's paging of lists: `$top` (default 100, at most 999) and an
//! opaque `$skiptoken` carried in `@odata.nextLink`. The store pages by
//! key, so a page costs the same at the millionth user as at the first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use std::future::Future;

use crate::directory::filter::Matcher;
use crate::error::{Error, Result};
use crate::store::StoreResult;

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

/// Most records one list request reads while filtering: a filter that
/// matches few records answers a short page with a next link rather than
/// reading a whole directory in one request.
pub const MAX_READ: usize = 2000;

/// One page of a (filtered) list: reads the store's pages (`fetch(after,
/// limit)`, in key order) from the request's cursor, keeping the records
/// `matcher` accepts, until `top` are kept, the records end, or
/// `MAX_READ` were read. The next page starts after the last record read.
pub async fn scan<T, F, Fut>(request: &PageRequest, matcher: &Matcher<T>, key: fn(&T) -> &str, mut fetch: F) -> Result<Page<T>>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    let (mut after, mut value, mut read) = (request.after.clone(), Vec::new(), 0);
    loop {
        let wanted = request.top - value.len();
        let limit = if matcher.is_everything() { wanted } else { wanted.max(200).min(MAX_READ - read) };
        let records = fetch(after.clone(), limit).await?;
        let more = records.len() == limit;
        let count = records.len();
        for (i, record) in records.into_iter().enumerate() {
            read += 1;
            after = Some(key(&record).to_string());
            if matcher.matches(&record) {
                value.push(record);
                if value.len() == request.top {
                    let last = !more && i + 1 == count;
                    return Ok(Page { value, skiptoken: after.filter(|_| !last).map(|a| skiptoken(&a)) });
                }
            }
        }
        if !more {
            return Ok(Page { value, skiptoken: None });
        }
        if read >= MAX_READ {
            return Ok(Page { value, skiptoken: after.map(|a| skiptoken(&a)) });
        }
    }
}

/// One page of a list held in one record (a tenant's policies or
/// providers: read whole anyway, and short), from its position.
pub fn slice<T>(items: Vec<T>, request: &PageRequest, matcher: &Matcher<T>) -> Result<Page<T>> {
    let start = match &request.after {
        None => 0,
        Some(at) => at.parse::<usize>().map_err(|_| Error::Invalid("$skiptoken is not one this server gave out".into()))?,
    };
    let mut value = Vec::new();
    for (i, item) in items.into_iter().enumerate().skip(start) {
        if value.len() == request.top {
            return Ok(Page { value, skiptoken: Some(skiptoken(&i.to_string())) });
        }
        if matcher.matches(&item) {
            value.push(item);
        }
    }
    Ok(Page { value, skiptoken: None })
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
