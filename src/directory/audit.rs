//! Reading the sign-in and directory audit logs (Graph's
//! `auditLogs/signIns` and `auditLogs/directoryAudits`): who may, and the
//! `$filter` forms an admin uses most, turned into a store query.

use std::collections::{HashMap, HashSet};

use crate::directory::access::{Caller, Right, GLOBAL_ADMINISTRATOR};
use crate::directory::paging::{skiptoken, Page, PageRequest};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{LogKind, Tenant};
use crate::store::LogQuery;

/// Reading either log: Entra's `AuditLog.Read.All`, or a role that reads reports.
pub const READ_AUDIT_LOGS: Right = Right {
    app_roles: &["AuditLog.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, "Global Reader", "Security Reader", "Reports Reader"],
};

/// The filterable properties of each log, by what the store filters on.
struct Fields {
    time: &'static str,
    user: &'static str,
    app: &'static str,
    /// The outcome, and whether it is a number (`status/errorCode`) or `success`/`failure` (`result`).
    outcome: &'static str,
}

fn fields(kind: LogKind) -> Fields {
    match kind {
        LogKind::SignIn => Fields { time: "createdDateTime", user: "userId", app: "appId", outcome: "status/errorCode" },
        LogKind::DirectoryAudit => {
            Fields { time: "activityDateTime", user: "initiatedBy/user/id", app: "initiatedBy/app/appId", outcome: "result" }
        }
    }
}

/// A quoted OData string literal (`'it''s'`), unquoted.
fn string_literal(value: &str) -> Option<String> {
    let inner = value.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Parses `$filter`: clauses joined by `and`, each one of `{time} ge
/// {DateTimeOffset}`, `{user} eq '…'`, `{app} eq '…'`, `{outcome} eq …`.
pub fn parse_filter(tenant_id: &str, kind: LogKind, filter: Option<&str>) -> Result<LogQuery> {
    let mut query = LogQuery::new(tenant_id, kind);
    let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else { return Ok(query) };
    if filter.len() > 1024 {
        return Err(Error::Invalid("$filter is longer than 1024 characters".into()));
    }
    let f = fields(kind);
    let supported = || {
        format!(
            "$filter supports {} ge <date-time>, {} eq '<id>', {} eq '<id>', {} eq <value>, joined by 'and'",
            f.time, f.user, f.app, f.outcome
        )
    };
    for clause in filter.split(" and ").map(str::trim) {
        let mut parts = clause.splitn(3, ' ');
        let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next().map(str::trim)) else {
            return Err(Error::Invalid(format!("$filter clause '{clause}' is not '<property> <operator> <value>'; {}", supported())));
        };
        let op = op.to_ascii_lowercase();
        let bad_value = |what: &str| Error::Invalid(format!("$filter: {field} takes {what}, not {value}"));
        match (field, op.as_str()) {
            (name, "ge") if name == f.time => {
                query.since_ms =
                    Some(crate::util::parse_rfc3339_ms(value).ok_or_else(|| bad_value("a date-time like 2026-11-28T00:00:00Z"))?);
            }
            (name, "eq") if name == f.user => query.user_id = Some(string_literal(value).ok_or_else(|| bad_value("a quoted id"))?),
            (name, "eq") if name == f.app => query.app_id = Some(string_literal(value).ok_or_else(|| bad_value("a quoted id"))?),
            (name, "eq") if name == f.outcome && kind == LogKind::SignIn => {
                query.error_code = Some(value.parse().map_err(|_| bad_value("a number"))?);
            }
            (name, "eq") if name == f.outcome => {
                query.error_code = match string_literal(value).as_deref() {
                    Some("success") => Some(0),
                    Some("failure") => Some(1),
                    _ => return Err(bad_value("'success' or 'failure'")),
                };
            }
            _ => return Err(Error::Invalid(format!("$filter clause '{clause}' is not supported; {}", supported()))),
        }
    }
    Ok(query)
}

/// One page of a log, newest first. The caller's own recent entries are
/// written first, so an admin sees what they just did.
pub async fn list(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    kind: LogKind,
    filter: Option<&str>,
    page: &PageRequest,
) -> Result<Page<serde_json::Value>> {
    caller.require(READ_AUDIT_LOGS)?;
    page.refuse_count()?;
    let mut query = parse_filter(&tenant.id, kind, filter)?;
    if let Some(after) = &page.after {
        let cursor = after.split_once(':').and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_string())));
        query.before = Some(cursor.ok_or_else(|| Error::Invalid("$skiptoken is not one this server gave out".into()))?);
    }
    settle(idp).await;
    let read = idp.store.log_page(&query, page.top).await?;
    let skiptoken = read.next.map(|(created_ms, id)| skiptoken(&format!("{created_ms}:{id}")));
    Ok(Page::new(read.entries.into_iter().map(|e| e.record).collect(), skiptoken))
}

/// A moment for what is queued to reach the log (an admin sees what they
/// just did), but never stuck behind a flood.
async fn settle(idp: &Idp) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), idp.audit.flush()).await;
}

/// The most sign-ins one console page reads to find its people's last.
const LAST_SIGN_IN_SCAN: usize = 10_000;

/// A person's last successful sign-in, as far as the log shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LastSignIn {
    At(i64),
    /// Not in the log at all (it keeps `audit.retention_days`).
    Never,
    /// Not among the last `LAST_SIGN_IN_SCAN` sign-ins of the tenant.
    NotRecently,
}

/// When each of `user_ids` last signed in successfully (Graph's
/// `signInActivity`, which needs the same right). One walk back through
/// the tenant's log, bounded, however many people a page lists.
pub async fn last_sign_ins(idp: &Idp, tenant: &Tenant, caller: &Caller, user_ids: &[&str]) -> Result<HashMap<String, LastSignIn>> {
    caller.require(READ_AUDIT_LOGS)?;
    settle(idp).await;
    let mut wanted: HashSet<&str> = user_ids.iter().copied().collect();
    let mut last = HashMap::new();
    let mut query = LogQuery::new(&tenant.id, LogKind::SignIn);
    let mut read = 0;
    let log_ended = loop {
        let page = idp.store.log_page(&query, 500).await?;
        read += page.entries.len();
        for entry in page.entries.iter().filter(|e| e.error_code == 0) {
            if let Some(user) = entry.user_id.as_deref().filter(|u| wanted.remove(*u)) {
                last.insert(user.to_string(), LastSignIn::At(entry.created_ms));
            }
        }
        match page.next {
            Some(cursor) if !wanted.is_empty() && read < LAST_SIGN_IN_SCAN => query.before = Some(cursor),
            next => break next.is_none(),
        }
    };
    let unseen = if log_ended { LastSignIn::Never } else { LastSignIn::NotRecently };
    last.extend(wanted.into_iter().map(|user| (user.to_string(), unseen)));
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_map_to_the_store_query() {
        let q = parse_filter(
            "t",
            LogKind::SignIn,
            Some("createdDateTime ge 2026-11-28T00:00:00Z and userId eq 'u-1' and appId eq 'it''s' and status/errorCode eq 50126"),
        )
        .unwrap();
        assert_eq!(q.since_ms, Some(1_795_824_000_000));
        assert_eq!((q.user_id.as_deref(), q.app_id.as_deref(), q.error_code), (Some("u-1"), Some("it's"), Some(50126)));
        let q = parse_filter("t", LogKind::DirectoryAudit, Some("result eq 'failure' and initiatedBy/user/id eq 'x'")).unwrap();
        assert_eq!((q.error_code, q.user_id.as_deref()), (Some(1), Some("x")));
        for bad in [
            "userPrincipalName eq 'a'",
            "createdDateTime ge yesterday",
            "userId eq unquoted",
            "status/errorCode eq many",
            "userId",
            "createdDateTime lt 2026-11-28T00:00:00Z",
        ] {
            assert!(parse_filter("t", LogKind::SignIn, Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_filter("t", LogKind::DirectoryAudit, Some("result eq 'maybe'")).is_err());
    }
}
