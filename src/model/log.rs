//! Entries of the sign-in and directory audit logs: written once, read
//! newest first, purged after `audit.retention_days`. The record is the
//! Graph JSON the admin API shows; the fields beside it are what queries
//! filter and order on.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Graph's `signIn` (`auditLogs/signIns`).
    SignIn,
    /// Graph's `directoryAudit` (`auditLogs/directoryAudits`).
    DirectoryAudit,
}

impl LogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::SignIn => "sign_in",
            LogKind::DirectoryAudit => "directory_audit",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub tenant_id: String,
    pub kind: LogKind,
    /// A UUID: unique, and the order among entries of the same millisecond.
    pub id: String,
    pub created_ms: i64,
    /// The user signing in, or who made a change.
    pub user_id: Option<String>,
    /// The app signing in, or through which a change was made.
    pub app_id: Option<String>,
    /// 0 for success; Entra's AADSTS number for a failed sign-in, 1 for a failed change.
    pub error_code: i64,
    pub record: serde_json::Value,
}
