//! Directory audit entries (Graph's `directoryAudit`): who changed what,
//! through which app, and whether it worked.

use serde_json::json;

use crate::audit::context;
use crate::model::{LogEntry, LogKind};
use crate::util::{now_ms, rfc3339_ms};

/// Who made a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    /// An app with its own token (client credentials).
    App { app_id: String },
    /// A person, through the app they signed in to.
    User { id: String, upn: String, app_id: Option<String> },
    /// The command line on the server's machine.
    Operator,
    /// The server itself (a guest redeeming an invitation, a sweep).
    System { what: String },
}

/// What was changed: Graph's `targetResource`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    /// `User`, `Group`, `Policy`, `Application`, `Invitation`, `Key`, `Directory`…
    pub kind: &'static str,
    pub display_name: String,
    /// What changed on it (Graph's `modifiedProperties`): name, old and new
    /// value (never a secret).
    pub modified: Vec<(&'static str, serde_json::Value, serde_json::Value)>,
}

impl Target {
    pub fn new(kind: &'static str, id: &str, display_name: &str) -> Target {
        Target { id: id.into(), kind, display_name: display_name.into(), modified: vec![] }
    }
}

/// One change.
#[derive(Debug, Clone)]
pub struct Change {
    pub tenant_id: String,
    pub actor: Actor,
    /// Entra's wording, e.g. `Invite external user`, `Update conditional access policy`.
    pub activity: String,
    /// `UserManagement`, `GroupManagement`, `Policy`, `ApplicationManagement`, `KeyManagement`, `RoleManagement`.
    pub category: &'static str,
    pub targets: Vec<Target>,
    pub failure: Option<String>,
}

impl Change {
    pub fn new(tenant_id: &str, actor: Actor, category: &'static str, activity: &str, targets: Vec<Target>) -> Change {
        Change { tenant_id: tenant_id.into(), actor, activity: activity.into(), category, targets, failure: None }
    }

    pub fn entry(self) -> LogEntry {
        let created_ms = now_ms();
        let id = uuid::Uuid::new_v4().to_string();
        let request = context::current();
        let (initiated_by, user_id, app_id) = match &self.actor {
            Actor::App { app_id } => (json!({"app": {"appId": app_id, "displayName": app_id}}), None, Some(app_id.clone())),
            Actor::User { id, upn, app_id } => (
                json!({"user": {"id": id, "userPrincipalName": upn, "ipAddress": request.ip_address}, "app": app_id.as_ref().map(|a| json!({"appId": a}))}),
                Some(id.clone()),
                app_id.clone(),
            ),
            Actor::Operator => (json!({"app": {"displayName": "b2b-idp command line"}}), None, None),
            Actor::System { what } => (json!({"app": {"displayName": what}}), None, None),
        };
        let record = json!({
            "id": id,
            "activityDateTime": rfc3339_ms(created_ms),
            "activityDisplayName": self.activity,
            "category": self.category,
            "correlationId": request.request_id,
            "loggedByService": "Core Directory",
            "operationType": operation_type(&self.activity),
            "initiatedBy": initiated_by,
            "targetResources": self.targets.iter().map(target_resource).collect::<Vec<_>>(),
            "result": if self.failure.is_some() { "failure" } else { "success" },
            "resultReason": self.failure.clone().unwrap_or_default(),
        });
        LogEntry {
            tenant_id: self.tenant_id,
            kind: LogKind::DirectoryAudit,
            id,
            created_ms,
            user_id,
            app_id,
            error_code: i64::from(self.failure.is_some()),
            record,
        }
    }
}

/// Graph's `targetResource`; property values are JSON text, as Graph writes them.
fn target_resource(target: &Target) -> serde_json::Value {
    let modified: Vec<_> = target
        .modified
        .iter()
        .map(|(name, old, new)| json!({"displayName": name, "oldValue": old.to_string(), "newValue": new.to_string()}))
        .collect();
    json!({"id": target.id, "type": target.kind, "displayName": target.display_name, "modifiedProperties": modified})
}

/// Graph's `operationType`, from the activity's verb.
fn operation_type(activity: &str) -> &'static str {
    match activity.split(' ').next() {
        Some("Add" | "Create" | "Invite" | "Register") => "Add",
        Some("Delete" | "Remove") => "Delete",
        Some("Assign") => "Assign",
        _ => "Update",
    }
}
