//! Sign-in log entries (Graph's `signIn`), with the B2B facts Entra's log
//! shows: the guest's home tenant, whether it was a cross-tenant sign-in,
//! each authentication step (and whether MFA was done here or satisfied by
//! the home tenant's claim), and which conditional access applied.

use serde_json::json;

use std::borrow::Cow;
use std::sync::Arc;

use crate::audit::context::{self, RequestContext};
use crate::model::{AuthStep, LogEntry, LogKind, Tenant, User, UserType};
use crate::util::{now_ms, rfc3339_ms};

/// Entra's sign-in error codes (AADSTS numbers) for what this server refuses.
pub mod code {
    pub const INVALID_PASSWORD: i64 = 50126;
    pub const LOCKED: i64 = 50053;
    pub const ACCOUNT_DISABLED: i64 = 50057;
    pub const BLOCKED_BY_POLICY: i64 = 53003;
    pub const MFA_FAILED: i64 = 500121;
    pub const CONSENT_DECLINED: i64 = 65004;
    pub const HOME_FAILED: i64 = 50020;
    pub const CODE_REDEEMED: i64 = 54005;
    pub const INVALID_GRANT: i64 = 70008;
    pub const INVALID_CLIENT_SECRET: i64 = 7000215;
    pub const CLIENT_SECRET_EXPIRED: i64 = 7000222;
    /// A client assertion whose signature, key, audience or `jti` fails.
    pub const CLIENT_ASSERTION_INVALID: i64 = 700027;
    /// A client assertion outside its valid time range.
    pub const CLIENT_ASSERTION_TIME: i64 = 700024;
    /// A client assertion whose `iss`/`sub` is not the client.
    pub const CLIENT_ASSERTION_CLIENT: i64 = 700021;
    pub const REFRESH_REUSED: i64 = 70000;
    pub const MFA_NOW_REQUIRED: i64 = 50076;
    /// The server failed (the store, signing): not the caller's doing.
    pub const SERVICE_ERROR: i64 = 50000;
}

/// Whose sign-in it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A person of the tenant (member or guest).
    User {
        id: String,
        upn: String,
        display_name: String,
        user_type: UserType,
        /// Invited from another organisation (B2B collaboration), whatever its `user_type`.
        external: bool,
        home_tenant_id: Option<String>,
    },
    /// Someone who typed an address this tenant may not know.
    Unknown { upn: String },
    /// An app signing in as itself (client credentials).
    App,
}

/// Longest failure reason a log entry keeps.
const MAX_REASON_CHARS: usize = 1024;

/// Longest typed address a log entry keeps (RFC 5321's limit is 254).
const MAX_UPN_CHARS: usize = 320;

impl Subject {
    /// Someone who typed `typed` as their address. Kept only when it is
    /// one: people paste passwords into the username box.
    pub fn unknown(typed: &str) -> Subject {
        let upn = match crate::util::address::email(typed) {
            Ok(address) => address.chars().take(MAX_UPN_CHARS).collect(),
            Err(_) => "(not an address)".into(),
        };
        Subject::Unknown { upn }
    }

    pub fn user(user: &User) -> Subject {
        Subject::User {
            id: user.id.clone(),
            upn: user.email.clone(),
            display_name: user.display_name.clone(),
            user_type: user.user_type,
            external: user.external.is_some(),
            home_tenant_id: user.external.as_ref().and_then(|e| e.home.as_ref()).map(|h| h.tenant_id.clone()),
        }
    }
}

/// A conditional access policy that applied, and how it went (`success`, `failure`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedPolicy {
    pub id: String,
    pub display_name: String,
    pub controls: Vec<String>,
    pub result: &'static str,
}

/// One sign-in, successful or not.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub tenant_id: String,
    /// The tenant as metrics label it (`telemetry::tenant_label`).
    pub tenant_label: String,
    pub subject: Subject,
    pub app_id: String,
    pub app_name: String,
    pub interactive: bool,
    /// 0, or one of `code`.
    pub error_code: i64,
    pub failure_reason: String,
    pub steps: Vec<AuthStep>,
    /// Whether the sign-in had to be multi-factor.
    pub mfa_required: bool,
    pub policies: Vec<AppliedPolicy>,
    /// When and from where (set by `new`: the log is written later).
    pub created_ms: i64,
    pub request: Arc<RequestContext>,
}

impl SignIn {
    pub fn new(tenant: &Tenant, subject: Subject, app_id: &str, app_name: &str) -> SignIn {
        SignIn {
            tenant_id: tenant.id.clone(),
            tenant_label: crate::telemetry::tenant_label(&tenant.name, tenant.unmanaged).to_string(),
            subject,
            app_id: app_id.into(),
            app_name: app_name.into(),
            interactive: true,
            error_code: 0,
            failure_reason: String::new(),
            steps: vec![],
            mfa_required: false,
            policies: vec![],
            created_ms: now_ms(),
            request: context::current(),
        }
    }

    /// The signed-in user's object id, if it is a user of the tenant.
    pub fn user_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Failed with Entra's `code`; the reason is cut to a bounded length
    /// (it may quote a home IdP's error description).
    pub fn failed(mut self, code: i64, reason: impl Into<String>) -> SignIn {
        self.error_code = code;
        self.failure_reason = reason.into().chars().take(MAX_REASON_CHARS).collect();
        self
    }

    pub fn with_steps(mut self, steps: &[AuthStep]) -> SignIn {
        self.steps.extend_from_slice(steps);
        self
    }

    pub fn with_step(mut self, step: AuthStep) -> SignIn {
        self.steps.push(step);
        self
    }

    pub fn non_interactive(mut self) -> SignIn {
        self.interactive = false;
        self
    }

    /// `b2b_idp_sign_ins_total`'s outcome label.
    pub fn outcome(&self) -> &'static str {
        match self.error_code {
            0 => "success",
            code::INVALID_PASSWORD => "wrong_password",
            code::LOCKED => "locked",
            code::BLOCKED_BY_POLICY => "blocked",
            code::MFA_FAILED => "mfa_failed",
            code::MFA_NOW_REQUIRED => "mfa_required",
            _ => "failure",
        }
    }

    /// `b2b_idp_sign_ins_total`'s user type label.
    pub fn user_type_label(&self) -> &'static str {
        match &self.subject {
            Subject::User { user_type, .. } => user_type_label(*user_type),
            Subject::Unknown { .. } => "unknown",
            Subject::App => "app",
        }
    }

    /// The log entry: this sign-in, or `count` alike up to `last_ms`
    /// (aggregated non-interactive ones).
    pub fn entry(self, count: u64, last_ms: i64) -> LogEntry {
        let created_ms = self.created_ms;
        let id = uuid::Uuid::new_v4().to_string();
        let request = &self.request;
        let (user_id, upn, user_name, user_type, home) = match &self.subject {
            Subject::User { id, upn, display_name, user_type, home_tenant_id, .. } => {
                (Some(id.clone()), upn.clone(), display_name.clone(), Some(*user_type), home_tenant_id.clone())
            }
            Subject::Unknown { upn } => (None, upn.clone(), String::new(), None, None),
            Subject::App => (None, String::new(), String::new(), None, None),
        };
        let cross_tenant = matches!(self.subject, Subject::User { external: true, .. });
        let ca_status = if self.policies.is_empty() {
            "notApplied"
        } else if self.policies.iter().any(|p| p.result == "failure") {
            "failure"
        } else {
            "success"
        };
        let event_type = match (&self.subject, self.interactive) {
            (Subject::App, _) => "servicePrincipal",
            (_, true) => "interactiveUser",
            (_, false) => "nonInteractiveUser",
        };
        let mut record = json!({
            "id": id,
            "createdDateTime": rfc3339_ms(created_ms),
            "userDisplayName": user_name,
            "userPrincipalName": upn,
            "userId": user_id,
            "userType": user_type.map(user_type_label),
            "appId": self.app_id,
            "appDisplayName": self.app_name,
            "ipAddress": request.ip_address,
            "clientAppUsed": if self.interactive { "Browser" } else { "Mobile Apps and Desktop clients" },
            "correlationId": request.request_id,
            "clientRequestId": request.client_request_id,
            "userAgent": request.user_agent,
            "isInteractive": self.interactive,
            "signInEventTypes": [event_type],
            "resourceTenantId": self.tenant_id,
            "homeTenantId": home.clone().unwrap_or_else(|| self.tenant_id.clone()),
            "crossTenantAccessType": if cross_tenant { "b2bCollaboration" } else { "none" },
            "status": {
                "errorCode": self.error_code,
                "failureReason": if self.error_code == 0 { "Other." } else { self.failure_reason.as_str() },
            },
            "authenticationRequirement": if self.mfa_required { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
            "authenticationDetails": self.steps.iter().map(|s| json!({
                "authenticationMethod": s.method,
                "authenticationMethodDetail": s.detail,
                "authenticationStepDateTime": rfc3339_ms(s.at_ms),
                "authenticationStepRequirement": if s.mfa { "Multifactor authentication" } else { "Primary authentication" },
                "authenticationStepResultDetail": s.result,
                "succeeded": s.succeeded,
            })).collect::<Vec<_>>(),
            "conditionalAccessStatus": ca_status,
            "appliedConditionalAccessPolicies": self.policies.iter().map(|p| json!({
                "id": p.id,
                "displayName": p.display_name,
                "enforcedGrantControls": p.controls,
                "result": p.result,
            })).collect::<Vec<_>>(),
        });
        if count > 1 {
            // Entra's aggregation of non-interactive sign-ins.
            record["aggregatedCount"] = json!(count);
            record["lastSignInDateTime"] = json!(rfc3339_ms(last_ms));
        }
        LogEntry {
            tenant_id: self.tenant_id,
            kind: LogKind::SignIn,
            id,
            created_ms,
            user_id,
            app_id: Some(self.app_id).filter(|a| !a.is_empty()),
            error_code: self.error_code,
            record,
        }
    }
}

/// A user type as metrics label it (`member`, `guest`), as the log's `userType`.
pub fn user_type_label(user_type: UserType) -> &'static str {
    match user_type {
        UserType::Member => "member",
        UserType::Guest => "guest",
    }
}

/// A session's steps as a sign-in that reuses it shows them: those done
/// before `since_ms` (before this sign-in began) were "Previously satisfied"
/// (Entra's words), not done again; a stolen cookie must not read as a
/// typed password.
pub fn reused(steps: &[AuthStep], since_ms: i64) -> Vec<AuthStep> {
    steps
        .iter()
        .map(|s| match s.at_ms < since_ms {
            true => AuthStep {
                method: "Previously satisfied".into(),
                detail: s.method.clone(),
                result: if s.mfa {
                    "MFA requirement satisfied by the session"
                } else {
                    "First factor requirement satisfied by the session"
                }
                .into(),
                ..s.clone()
            },
            false => s.clone(),
        })
        .collect()
}

/// A step done just now (a result quoting someone else's words is cut to a bounded length).
pub fn step(
    method: &'static str,
    detail: impl Into<Cow<'static, str>>,
    mfa: bool,
    succeeded: bool,
    result: impl Into<Cow<'static, str>>,
) -> AuthStep {
    let mut result = result.into();
    if result.len() > MAX_REASON_CHARS {
        result = Cow::Owned(result.chars().take(MAX_REASON_CHARS).collect());
    }
    AuthStep { method: method.into(), detail: detail.into(), mfa, succeeded, result, at_ms: now_ms() }
}
