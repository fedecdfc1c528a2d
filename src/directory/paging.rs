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
    /// `$count=true`: the first page also says how many match in all.
    pub count: bool,
}

impl PageRequest {
    /// From the query's `$top`, `$skiptoken` and `$count`, refused with a
    /// 400 naming the parameter.
    pub fn parse(top: Option<&str>, skiptoken: Option<&str>, count: Option<&str>) -> Result<PageRequest> {
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
        let count = match count {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(Error::Invalid("$count must be true or false".into())),
        };
        Ok(PageRequest { top, after, count })
    }

    /// Whether this page is to carry the total (`$count`, on the first page).
    pub fn counting(&self) -> bool {
        self.count && self.after.is_none()
    }

    /// Where a list held in one record continues: the position the
    /// previous page ended at (0 for the first page).
    pub fn position(&self) -> Result<usize> {
        match &self.after {
            None => Ok(0),
            Some(at) => at.parse::<usize>().map_err(|_| Error::Invalid("$skiptoken is not one this server gave out".into())),
        }
    }

    /// For lists that cannot count.
    pub fn refuse_count(&self) -> Result<()> {
        match self.count {
            true => Err(Error::Invalid("$count is not supported on this list".into())),
            false => Ok(()),
        }
    }
}

/// One page of a list, the `$skiptoken` of the next if there is one, and
/// (for `$count`) how many match in all.
#[derive(Debug)]
pub struct Page<T> {
    pub value: Vec<T>,
    pub skiptoken: Option<String>,
    pub count: Option<usize>,
}

impl<T> Page<T> {
    pub fn new(value: Vec<T>, skiptoken: Option<String>) -> Page<T> {
        Page { value, skiptoken, count: None }
    }

    /// The whole list at once (a lookup): counted by itself.
    pub fn whole(value: Vec<T>, request: &PageRequest) -> Page<T> {
        let count = request.counting().then_some(value.len());
        Page { value, skiptoken: None, count }
    }

    /// The same page of other items (the API's shapes of the records).
    pub fn map<U>(self, f: impl FnMut(&T) -> U) -> Page<U> {
        Page { value: self.value.iter().map(f).collect(), skiptoken: self.skiptoken, count: self.count }
    }
}

/// The most records `$count` reads: a total beyond it is refused rather
/// than read in one request.
pub const MAX_COUNT: usize = 100_000;

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
    let count = match request.counting() {
        true => Some(count(matcher, key, &mut fetch).await?),
        false => None,
    };
    let page = scan_page(request, matcher, key, fetch).await?;
    Ok(Page { count, ..page })
}

/// How many records `matcher` accepts, reading them all (up to `MAX_COUNT`).
async fn count<T, F, Fut>(matcher: &Matcher<T>, key: fn(&T) -> &str, fetch: &mut F) -> Result<usize>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = StoreResult<Vec<T>>>,
{
    const BATCH: usize = 1000;
    let (mut after, mut read, mut matched) = (None, 0, 0);
    loop {
        let records = fetch(after.take(), BATCH).await?;
        read += records.len();
        matched += records.iter().filter(|r| matcher.matches(r)).count();
        match records.last() {
            Some(last) if records.len() == BATCH => after = Some(key(last).to_string()),
            _ => return Ok(matched),
        }
        if read >= MAX_COUNT {
            return Err(Error::Invalid(format!("$count: more than {MAX_COUNT} records to count; narrow the $filter")));
        }
    }
}

async fn scan_page<T, F, Fut>(request: &PageRequest, matcher: &Matcher<T>, key: fn(&T) -> &str, mut fetch: F) -> Result<Page<T>>
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
                    return Ok(Page::new(value, after.filter(|_| !last).map(|a| skiptoken(&a))));
                }
            }
        }
        if !more {
            return Ok(Page::new(value, None));
        }
        if read >= MAX_READ {
            return Ok(Page::new(value, after.map(|a| skiptoken(&a))));
        }
    }
}

/// One page of a list held in one record (a tenant's policies or
/// providers: read whole anyway, and short), from its position.
pub fn slice<T>(items: Vec<T>, request: &PageRequest, matcher: &Matcher<T>) -> Result<Page<T>> {
    let start = request.position()?;
    let count = request.counting().then(|| items.iter().filter(|item| matcher.matches(item)).count());
    let mut value = Vec::new();
    for (i, item) in items.into_iter().enumerate().skip(start) {
        if value.len() == request.top {
            return Ok(Page { value, skiptoken: Some(skiptoken(&i.to_string())), count });
        }
        if matcher.matches(&item) {
            value.push(item);
        }
    }
    Ok(Page { value, skiptoken: None, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_and_skiptoken_are_checked() {
        assert_eq!(PageRequest::parse(None, None, None).unwrap(), PageRequest { top: DEFAULT_TOP, after: None, count: false });
        let token = skiptoken("user-7");
        assert_eq!(
            PageRequest::parse(Some("5"), Some(&token), Some("true")).unwrap(),
            PageRequest { top: 5, after: Some("user-7".into()), count: true }
        );
        for bad in ["0", "1000", "-1", "ten"] {
            assert!(PageRequest::parse(Some(bad), None, None).is_err(), "$top={bad}");
        }
        assert!(PageRequest::parse(None, Some("not base64!"), None).is_err());
        assert!(PageRequest::parse(None, None, Some("yes")).is_err());
    }
}
