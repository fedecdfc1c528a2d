//! Groups (Microsoft Graph's `group`): security groups that people, guests
//! included (even before they redeem), are put in, and mail-enabled
//! distribution lists, whose addresses cannot be invited.

use serde::{Deserialize, Serialize};

use crate::audit::change::Target;
use crate::directory::access::{Caller, MANAGE_GROUPS, READ_GROUPS};
use crate::directory::filter::{Fields, Filter};
use crate::directory::paging::{self, Page, PageRequest};
use crate::directory::replica::Replica;
use crate::directory::users::GraphUser;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::Group;
use crate::model::{Tenant, User};
use crate::util::{now, now_ms};

/// Graph's `group`, as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphGroup {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub group_types: Vec<&'static str>,
    pub membership_rule: Option<String>,
    pub created_date_time: String,
}

impl From<&Group> for GraphGroup {
    fn from(g: &Group) -> Self {
        GraphGroup {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            description: g.description.clone(),
            mail: g.mail.clone(),
            mail_enabled: g.mail_enabled,
            security_enabled: g.security_enabled,
            group_types: if g.membership_rule.is_some() { vec!["DynamicMembership"] } else { vec![] },
            membership_rule: g.membership_rule.clone(),
            created_date_time: crate::directory::users::rfc3339(g.created_at),
        }
    }
}

/// `POST /v1.0/groups`. Unknown Graph fields (mailNickname, groupTypes…) are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub mail_enabled: bool,
    #[serde(default = "yes")]
    pub security_enabled: bool,
    /// A dynamic group: `user.userType -eq "Guest"` (or `"Member"`).
    #[serde(default)]
    pub membership_rule: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /v1.0/groups/{id}/members/$ref`: `{"@odata.id": "…/directoryObjects/{id}"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MemberRef {
    #[serde(rename = "@odata.id")]
    pub odata_id: String,
}

fn replica(idp: &Idp) -> Replica {
    Replica { lag_ms: idp.config.store.replication_lag_ms }
}

async fn load(idp: &Idp, tenant: &Tenant, id: &str) -> Result<Group> {
    idp.store.group(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("group {id}")))
}

pub async fn create(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewGroup) -> Result<GraphGroup> {
    caller.require(MANAGE_GROUPS)?;
    if new.display_name.trim().is_empty() {
        return Err(Error::Invalid("displayName is required".into()));
    }
    let mail = new.mail.filter(|m| !m.trim().is_empty()).map(|m| crate::util::address::email(&m)).transpose()?;
    if let Some(rule) = &new.membership_rule {
        crate::model::rule_user_type(rule).ok_or_else(|| {
            Error::Invalid(format!("membershipRule '{rule}': only user.userType -eq \"Guest\" or \"Member\" is supported"))
        })?;
    }
    if new.mail_enabled != mail.is_some() {
        return Err(Error::Invalid("a mail-enabled group needs a mail address, and only it may have one".into()));
    }
    let group = Group {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        display_name: new.display_name.trim().to_string(),
        description: new.description,
        mail,
        mail_enabled: new.mail_enabled,
        security_enabled: new.security_enabled,
        members: vec![],
        membership_rule: new.membership_rule,
        created_at: now(),
        written_at_ms: now_ms(),
    };
    idp.store.put_group(&group).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, group = %group.id, "group created");
    caller.changed(idp, &tenant.id, "GroupManagement", "Add group", vec![Target::new("Group", &group.id, &group.display_name)]);
    Ok(GraphGroup::from(&group))
}

/// What `$filter` may test on groups.
const GROUP_FIELDS: Fields<Group> = Fields {
    text: &[("id", |g| Some(g.id.as_str())), ("displayName", |g| Some(g.display_name.as_str())), ("mail", |g| g.mail.as_deref())],
    flags: &[("securityEnabled", |g| g.security_enabled), ("mailEnabled", |g| g.mail_enabled)],
};

/// One page of groups, in id order.
pub async fn list(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, request: &PageRequest) -> Result<Page<GraphGroup>> {
    caller.require(READ_GROUPS)?;
    let replica = replica(idp);
    let matcher = filter.matcher(&GROUP_FIELDS)?.and(move |g: &Group| replica.visible(g.written_at_ms, "").is_ok());
    let fetch = |after: Option<String>, limit| async move { idp.store.groups_page(&tenant.id, after.as_deref(), limit).await };
    let page = paging::scan(request, &matcher, |g: &Group| g.id.as_str(), fetch).await?;
    Ok(page.map(|g| GraphGroup::from(g)))
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<GraphGroup> {
    caller.require(READ_GROUPS)?;
    let group = load(idp, tenant, id).await?;
    replica(idp).visible(group.written_at_ms, &format!("group {id}"))?;
    Ok(GraphGroup::from(&group))
}

pub async fn delete(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    caller.require(MANAGE_GROUPS)?;
    if !idp.store.delete_group(&tenant.id, id).await? {
        return Err(Error::NotFound(format!("group {id}")));
    }
    caller.changed(idp, &tenant.id, "GroupManagement", "Delete group", vec![Target::new("Group", id, "")]);
    Ok(())
}

/// Adds a user (member or guest, redeemed or not) to a group.
pub async fn add_member(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, member: MemberRef) -> Result<()> {
    caller.require(MANAGE_GROUPS)?;
    let user_id = member.odata_id.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string();
    if idp.store.user(&tenant.id, &user_id).await?.is_none() {
        return Err(Error::Invalid(format!("@odata.id does not name a user of this tenant: {}", member.odata_id)));
    }
    change_members(idp, tenant, id, |group| {
        if group.membership_rule.is_some() {
            return Err(Error::Invalid("members of a dynamic group follow its membershipRule".into()));
        }
        if group.members.contains(&user_id) {
            return Err(Error::Conflict(format!("user {user_id} is already a member of group {id}")));
        }
        group.members.push(user_id.clone());
        Ok(())
    })
    .await?;
    let targets = vec![Target::new("Group", id, ""), Target::new("User", &user_id, "")];
    caller.changed(idp, &tenant.id, "GroupManagement", "Add member to group", targets);
    Ok(())
}

pub async fn remove_member(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, user_id: &str) -> Result<()> {
    caller.require(MANAGE_GROUPS)?;
    change_members(idp, tenant, id, |group| {
        let before = group.members.len();
        group.members.retain(|m| m != user_id);
        if group.members.len() == before {
            return Err(Error::NotFound(format!("user {user_id} in group {id}")));
        }
        Ok(())
    })
    .await?;
    let targets = vec![Target::new("Group", id, ""), Target::new("User", user_id, "")];
    caller.changed(idp, &tenant.id, "GroupManagement", "Remove member from group", targets);
    Ok(())
}

/// Applies `change` to the group's current members and stores the result
/// with a compare-and-swap, re-reading and re-applying when another change
/// landed in between, so concurrent adds and removes are never lost.
async fn change_members(idp: &Idp, tenant: &Tenant, id: &str, change: impl Fn(&mut Group) -> Result<()>) -> Result<()> {
    for _ in 0..100 {
        let read = load(idp, tenant, id).await?;
        let mut next = read.clone();
        change(&mut next)?;
        next.written_at_ms = now_ms();
        if idp.store.replace_group(&read, &next).await? {
            return Ok(());
        }
    }
    Err(Error::Conflict(format!("group {id} is changing too often right now; try again")))
}

/// One page of a group's members (`$filter` as on users): a dynamic
/// group's by walking the directory, an assigned group's from its list.
pub async fn members(
    idp: &Idp,
    tenant: &Tenant,
    caller: &Caller,
    id: &str,
    filter: &Filter,
    request: &PageRequest,
) -> Result<Page<GraphUser>> {
    caller.require(READ_GROUPS)?;
    request.refuse_count()?;
    let group = load(idp, tenant, id).await?;
    let matcher = filter.matcher(&crate::directory::users::USER_FIELDS)?;
    if group.membership_rule.is_some() {
        let matcher = matcher.and(move |u: &User| group.has_member(u));
        let fetch = |after: Option<String>, limit| async move { idp.store.users_page(&tenant.id, after.as_deref(), limit).await };
        let page = paging::scan(request, &matcher, |u: &User| u.id.as_str(), fetch).await?;
        return Ok(page.map(|u| GraphUser::from(u)));
    }
    // The list is the group's own, in the order members were added; the
    // cursor is a position in it.
    let start = request.position()?;
    let mut value = Vec::new();
    for (i, user_id) in group.members.iter().enumerate().skip(start) {
        if value.len() == request.top || i - start == paging::MAX_READ {
            return Ok(Page::new(value, Some(paging::skiptoken(&i.to_string()))));
        }
        if let Some(user) = idp.store.user(&tenant.id, user_id).await?.filter(|u| matcher.matches(u)) {
            value.push(GraphUser::from(&user));
        }
    }
    Ok(Page::new(value, None))
}

/// `GET /v1.0/me/memberOf`: the groups the signed-in person is in
/// (dynamic ones by their rule), for a delegated token.
pub async fn of_me(idp: &Idp, tenant: &Tenant, caller: &Caller) -> Result<Vec<GraphGroup>> {
    let user = caller.user.as_ref().ok_or_else(crate::directory::users::not_delegated)?;
    let groups = idp.store.groups_of(&tenant.id, &user.id).await?;
    Ok(groups.iter().filter(|g| g.has_member(user)).map(GraphGroup::from).collect())
}

/// Ids of the groups `user` belongs to (conditional access conditions).
pub async fn of_user(idp: &Idp, tenant: &Tenant, user: &User) -> Result<Vec<String>> {
    Ok(idp.store.groups_of(&tenant.id, &user.id).await?.into_iter().filter(|g| g.has_member(user)).map(|g| g.id).collect())
}

/// A deleted user leaves every group of the tenant.
pub async fn forget_member(idp: &Idp, tenant: &Tenant, user_id: &str) -> Result<()> {
    for group in idp.store.groups_of(&tenant.id, user_id).await? {
        if group.members.iter().any(|m| m == user_id) {
            let removed = change_members(idp, tenant, &group.id, |g| {
                g.members.retain(|m| m != user_id);
                Ok(())
            });
            match removed.await {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Whether `email` is the address of one of the tenant's distribution lists.
pub async fn is_distribution_list(idp: &Idp, tenant: &Tenant, email: &str) -> Result<bool> {
    Ok(idp.store.groups_by_mail(&tenant.id, email).await?.iter().any(|g| g.is_distribution_list()))
}
