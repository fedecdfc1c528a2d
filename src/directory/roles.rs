//! Directory roles as Graph's role management shows them
//! (`roleManagement/directory`): the built-in role definitions, and
//! assignments of them to users, members and guests alike (the B2B FAQ's
//! guest with limited admin rights). An assignment is the role's name on
//! the user's record, so roles are read live: a change takes effect at the
//! holder's next admin call.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::change::Target;
use crate::directory::access::{self, Caller, DIRECTORY_ROLES, MANAGE_PRIVILEGE, READ_ROLES};
use crate::directory::filter::{Clause, Filter};
use crate::directory::paging::{self, Page, PageRequest};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{Tenant, User};

/// Graph's `unifiedRoleDefinition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: &'static str,
    pub template_id: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub is_built_in: bool,
    pub is_enabled: bool,
}

/// Graph's `unifiedRoleAssignment`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub role_definition_id: String,
    pub directory_scope_id: &'static str,
}

/// `POST …/roleAssignments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRoleAssignment {
    pub principal_id: String,
    pub role_definition_id: String,
    /// Only `/`: roles here are directory-wide.
    #[serde(default = "whole_directory")]
    pub directory_scope_id: String,
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
}

fn whole_directory() -> String {
    "/".into()
}

fn description(name: &str) -> &'static str {
    match name {
        access::GLOBAL_ADMINISTRATOR => "Can manage all aspects of the directory, and assign every role.",
        access::USER_ADMINISTRATOR => "Can manage users and groups, invite guests, and reset the sign-in of users without a role.",
        access::GUEST_INVITER => "Can invite guest users, whatever the tenant's invitation setting allows members.",
        access::APPLICATION_ADMINISTRATOR => {
            "Can register and manage applications and their secrets, except those holding admin API permissions."
        }
        access::DIRECTORY_READERS => "Can read users, groups, applications and role assignments.",
        _ => "",
    }
}

pub fn definitions(caller: &Caller) -> Result<Vec<RoleDefinition>> {
    caller.require(READ_ROLES)?;
    Ok(DIRECTORY_ROLES
        .iter()
        .map(|(name, id)| RoleDefinition {
            id,
            template_id: id,
            display_name: name,
            description: description(name),
            is_built_in: true,
            is_enabled: true,
        })
        .collect())
}

pub fn definition(caller: &Caller, id: &str) -> Result<RoleDefinition> {
    definitions(caller)?.into_iter().find(|d| d.id == id).ok_or_else(|| Error::NotFound(format!("role definition {id}")))
}

/// The role named by a definition id.
fn role_named(definition_id: &str) -> Option<&'static str> {
    DIRECTORY_ROLES.iter().find(|(_, id)| *id == definition_id).map(|(name, _)| *name)
}

/// An assignment's id: the definition and the principal, so no record is
/// needed beyond the user's own.
fn assignment(definition_id: &str, principal_id: &str) -> RoleAssignment {
    RoleAssignment {
        id: format!("{definition_id}_{principal_id}"),
        principal_id: principal_id.into(),
        role_definition_id: definition_id.into(),
        directory_scope_id: "/",
    }
}

fn assignments_of(user: &User) -> impl Iterator<Item = RoleAssignment> + '_ {
    DIRECTORY_ROLES.iter().filter(|(name, _)| user.roles.iter().any(|r| r == name)).map(|(_, id)| assignment(id, &user.id))
}

/// Users read per page while listing, at most: a filter that matches few
/// users answers a short page (and a next link) rather than reading the
/// whole directory in one request.
const MAX_USERS_READ: usize = 2000;

/// Role assignments, by walking users (in id order) from the skiptoken;
/// `$filter` on `principalId eq '…'` (one user read) or
/// `roleDefinitionId eq '…'`.
pub async fn list(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, page: &PageRequest) -> Result<Page<RoleAssignment>> {
    caller.require(READ_ROLES)?;
    page.refuse_count()?;
    let (mut principal, mut definition) = (None, None);
    for clause in &filter.clauses {
        match clause {
            Clause::Eq(property, value) if property == "principalId" => principal = Some(value.text()?),
            Clause::Eq(property, value) if property == "roleDefinitionId" => definition = Some(value.text()?),
            other => return Err(filter.unsupported(other, "principalId eq '<id>', roleDefinitionId eq '<id>'")),
        }
    }
    let wanted = |a: &RoleAssignment| definition.as_ref().is_none_or(|d| *d == a.role_definition_id);
    if let Some(principal) = principal {
        let user = idp.store.user(&tenant.id, &principal).await?;
        let value = user.iter().flat_map(assignments_of).filter(wanted).collect();
        return Ok(Page::new(value, None));
    }
    // The cursor: the user id to read after, and how many assignments of
    // the next user were shown already.
    let (mut after, mut skip) = match page.after.as_deref().and_then(|a| a.rsplit_once(' ')) {
        None if page.after.is_some() => return Err(Error::Invalid("$skiptoken is not one this server gave out".into())),
        None => (None, 0),
        Some((user, shown)) => ((!user.is_empty()).then(|| user.to_string()), shown.parse::<usize>().unwrap_or(0)),
    };
    let cursor = |after: &Option<String>, shown: usize| Some(paging::skiptoken(&format!("{} {shown}", after.as_deref().unwrap_or(""))));
    let mut value = Vec::new();
    let mut read = 0;
    loop {
        let users = idp.store.users_page(&tenant.id, after.as_deref(), 100).await?;
        if users.is_empty() {
            return Ok(Page::new(value, None));
        }
        for user in &users {
            let skipped = std::mem::take(&mut skip);
            let mine: Vec<_> = assignments_of(user).filter(wanted).skip(skipped).collect();
            let room = page.top - value.len();
            if mine.len() > room {
                value.extend(mine.into_iter().take(room));
                return Ok(Page::new(value, cursor(&after, skipped + room)));
            }
            value.extend(mine);
            after = Some(user.id.clone());
            read += 1;
            if value.len() == page.top || read >= MAX_USERS_READ {
                return Ok(Page::new(value, cursor(&after, 0)));
            }
        }
    }
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<RoleAssignment> {
    caller.require(READ_ROLES)?;
    let (user, definition_id) = assigned(idp, tenant, id).await?;
    Ok(assignment(definition_id, &user.id))
}

/// The user and role definition an assignment id names, if it is held.
async fn assigned(idp: &Idp, tenant: &Tenant, id: &str) -> Result<(User, &'static str)> {
    let missing = || Error::NotFound(format!("role assignment {id}"));
    let (definition_id, principal) = id.split_once('_').ok_or_else(missing)?;
    let (name, definition_id) = DIRECTORY_ROLES.iter().find(|(_, d)| *d == definition_id).ok_or_else(missing)?;
    let user = idp.store.user(&tenant.id, principal).await?.ok_or_else(missing)?;
    if !user.roles.iter().any(|r| r == name) {
        return Err(missing());
    }
    Ok((user, definition_id))
}

/// Assigns a role to a user of this tenant (a guest too). Handing out
/// admin rights is a Global Administrator's (or an app's with
/// `RoleManagement.ReadWrite.Directory`).
pub async fn assign(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewRoleAssignment) -> Result<RoleAssignment> {
    caller.require(MANAGE_PRIVILEGE)?;
    if new.directory_scope_id != "/" {
        return Err(Error::Invalid("directoryScopeId: only \"/\" (the whole directory)".into()));
    }
    if new.odata_type.as_deref().is_some_and(|t| t != "#microsoft.graph.unifiedRoleAssignment") {
        return Err(Error::Invalid("@odata.type: #microsoft.graph.unifiedRoleAssignment".into()));
    }
    let name = role_named(&new.role_definition_id).ok_or_else(|| {
        let ids: Vec<String> = DIRECTORY_ROLES.iter().map(|(name, id)| format!("{id} ({name})")).collect();
        Error::Invalid(format!("roleDefinitionId: '{}' is none of {}", new.role_definition_id, ids.join(", ")))
    })?;
    let missing = || Error::Invalid(format!("principalId: no user {} in this tenant", new.principal_id));
    let mut user = idp.store.user(&tenant.id, &new.principal_id).await?.ok_or_else(missing)?;
    if user.roles.iter().any(|r| r == name) {
        return Err(Error::Conflict(format!("{} holds {name} already", user.email)));
    }
    let read = user.version;
    let before = user.roles.clone();
    user.roles.push(name.to_string());
    user.touched();
    if !idp.store.replace_user(read, &user).await? {
        return Err(Error::Conflict(format!("user {} changed meanwhile; try again", user.id)));
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %user.id, role = name, "role assigned");
    changed(idp, tenant, caller, "Add member to role", &user, before, name);
    Ok(assignment(&new.role_definition_id, &user.id))
}

pub async fn remove(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    caller.require(MANAGE_PRIVILEGE)?;
    let (mut user, definition_id) = assigned(idp, tenant, id).await?;
    let name = role_named(definition_id).unwrap_or_default();
    if name == access::GLOBAL_ADMINISTRATOR {
        access::keep_a_global_administrator(idp, tenant, &user).await?;
    }
    let read = user.version;
    let before = user.roles.clone();
    user.roles.retain(|r| r != name);
    user.touched();
    if !idp.store.replace_user(read, &user).await? {
        return Err(Error::Conflict(format!("user {} changed meanwhile; try again", user.id)));
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %user.id, role = name, "role removed");
    changed(idp, tenant, caller, "Remove member from role", &user, before, name);
    Ok(())
}

/// Entra's directoryAudit of a role change: the user, with the role's name.
fn changed(idp: &Idp, tenant: &Tenant, caller: &Caller, activity: &str, user: &User, before: Vec<String>, role: &str) {
    let user_target = Target { modified: vec![("Roles", json!(before), json!(user.roles))], ..Target::new("User", &user.id, &user.email) };
    let role_target = Target::new("Role", role, role);
    caller.changed(idp, &tenant.id, "RoleManagement", activity, vec![user_target, role_target]);
}
