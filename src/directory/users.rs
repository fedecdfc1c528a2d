//! Users as the admin API shows and changes them (Microsoft Graph's `user`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::change::Target;
use crate::config::UserSeed;
use crate::directory::access::{Caller, MANAGE_PRIVILEGE, READ_USERS, READ_WRITE_USERS};
use crate::directory::filter::{Fields, Filter};
use crate::directory::groups;
use crate::directory::paging::{self, Page, PageRequest};
use crate::directory::replica::Replica;
use crate::directory::MAX_DISPLAY_NAME_CHARS;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::{Tenant, User, UserType};
use crate::passwords;
use crate::signin::{session, throttle};
use crate::util::Secret;
use crate::util::{address, email_domain};

/// Graph's `user` resource, the fields this directory has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    pub display_name: String,
    pub mail: String,
    pub user_principal_name: String,
    pub user_type: &'static str,
    pub account_enabled: bool,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    /// `Invitation` for invited guests; null for members (Graph).
    pub creation_type: Option<&'static str>,
    /// `PendingAcceptance` / `Accepted` for guests; null for members (Graph).
    pub external_user_state: Option<&'static str>,
    pub created_date_time: String,
}

/// Graph's `DateTimeOffset` of a time in seconds (the directory's records).
pub fn rfc3339(secs: i64) -> String {
    crate::util::rfc3339_ms(secs.saturating_mul(1000))
}

impl From<&User> for GraphUser {
    fn from(u: &User) -> GraphUser {
        GraphUser {
            id: u.id.clone(),
            display_name: u.display_name.clone(),
            mail: u.email.clone(),
            user_principal_name: u.email.clone(),
            user_type: u.user_type.as_str(),
            account_enabled: u.enabled,
            given_name: u.given_name.clone(),
            surname: u.surname.clone(),
            job_title: u.job_title.clone(),
            creation_type: u.external.as_ref().map(|_| "Invitation"),
            external_user_state: u.external.as_ref().map(|e| e.state.as_str()),
            created_date_time: rfc3339(u.created_at),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordProfile {
    pub password: Option<String>,
}

/// `POST /v1.0/users`: a member. Unknown Graph fields are accepted and ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub display_name: String,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: Option<bool>,
    pub password_profile: Option<PasswordProfile>,
}

/// `PATCH /v1.0/users/{id}`: what an admin may change. Other properties
/// are refused by name rather than ignored: a PATCH that quietly kept
/// `userType` or `mail` as they were would mislead its caller.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserChanges {
    /// False ends the user's sessions and refresh grants at once and
    /// blocks sign-in until it is true again.
    pub account_enabled: Option<bool>,
    pub display_name: Option<String>,
    /// `null` clears these; absent leaves them.
    #[serde(default, deserialize_with = "present")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub surname: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub job_title: Option<Option<String>>,
}

/// A property that is there, even as `null` (which clears it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Graph's limits on the person's names and title (characters).
const MAX_NAME_CHARS: usize = 64;
const MAX_JOB_TITLE_CHARS: usize = 128;

fn replica(idp: &Idp) -> Replica {
    Replica { lag_ms: idp.config.store.replication_lag_ms }
}

/// What `$filter` may test on users.
pub const USER_FIELDS: Fields<User> = Fields {
    text: &[
        ("id", |u| Some(u.id.as_str())),
        ("displayName", |u| Some(u.display_name.as_str())),
        ("mail", |u| Some(u.email.as_str())),
        ("userPrincipalName", |u| Some(u.email.as_str())),
        ("givenName", |u| u.given_name.as_deref()),
        ("surname", |u| u.surname.as_deref()),
        ("userType", |u| Some(u.user_type.as_str())),
        ("externalUserState", |u| u.external.as_ref().map(|e| e.state.as_str())),
    ],
    flags: &[("accountEnabled", |u| u.enabled)],
};

/// One page of the tenant's users (`$top`, `$skiptoken`, `$filter`). An
/// `eq` on the id or address is one lookup; other filters read the
/// directory in id order, at most `paging::MAX_READ` users per page.
pub async fn list(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, request: &PageRequest) -> Result<Page<GraphUser>> {
    Ok(records(idp, tenant, caller, filter, request).await?.map(|u| GraphUser::from(u)))
}

/// [`list`]'s page as the directory's records (the admin console shows more).
pub async fn records(idp: &Idp, tenant: &Tenant, caller: &Caller, filter: &Filter, request: &PageRequest) -> Result<Page<User>> {
    caller.require(READ_USERS)?;
    let matcher = filter.matcher(&USER_FIELDS)?;
    let page = match filter.key(&["id", "mail", "userPrincipalName"]) {
        Some(key) => {
            let found = find(idp, tenant, key).await?;
            Page::whole(found.into_iter().filter(|u| matcher.matches(u)).collect(), request)
        }
        None => {
            let fetch = |after: Option<String>, limit| async move { idp.store.users_page(&tenant.id, after.as_deref(), limit).await };
            paging::scan(request, &matcher, |u: &User| u.id.as_str(), fetch).await?
        }
    };
    Ok(Page { value: replica(idp).list(page.value), skiptoken: page.skiptoken, count: page.count })
}

/// A user named by object id or email address.
pub async fn find(idp: &Idp, tenant: &Tenant, id_or_email: &str) -> Result<Option<User>> {
    match idp.store.user(&tenant.id, id_or_email).await? {
        Some(user) => Ok(Some(user)),
        None => Ok(idp.store.user_by_email(&tenant.id, &address::lookup_form(id_or_email)).await?),
    }
}

/// `GET /v1.0/me`: the signed-in person of a delegated token, as Graph's
/// `user`: where an app reads whether its user is a guest (`userType`,
/// `externalUserState`), as the B2B FAQ tells apps to. Needs no role: a
/// person reads only their own record.
pub fn me(caller: &Caller) -> Result<GraphUser> {
    caller.user.as_ref().map(GraphUser::from).ok_or_else(not_delegated)
}

/// Graph's answer to `/me` with an app's token.
pub fn not_delegated() -> Error {
    Error::Invalid("/me request is only valid with delegated authentication flow.".into())
}

pub async fn get(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<GraphUser> {
    caller.require(READ_USERS)?;
    let user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    Ok(GraphUser::from(&replica(idp).read(user)?))
}

pub async fn create(idp: &Idp, tenant: &Tenant, caller: &Caller, new: NewUser) -> Result<GraphUser> {
    caller.require(READ_WRITE_USERS)?;
    let email = new.mail.or(new.user_principal_name).ok_or_else(|| Error::Invalid("userPrincipalName or mail is required".into()))?;
    let password = new.password_profile.and_then(|p| p.password).map(Secret);
    let user_seed = UserSeed { email, display_name: Some(new.display_name), password, ..UserSeed::default() };
    let mut user = create_member(idp, tenant, &user_seed).await?;
    if new.account_enabled == Some(false) {
        let read = user.version;
        user.enabled = false;
        user.touched();
        if !idp.store.replace_user(read, &user).await? {
            return Err(Error::NotFound(format!("user {}", user.id)));
        }
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %user.id, "user created");
    caller.changed(idp, &tenant.id, "UserManagement", "Add user", vec![Target::new("User", &user.id, &user.email)]);
    Ok(GraphUser::from(&user))
}

/// Applies an admin's changes to a user. Disabling ends the user's
/// sessions and refresh grants at once (sign-ins before now are void);
/// admin API tokens of a disabled user stop working at the next call.
pub async fn update(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, changes: UserChanges) -> Result<()> {
    caller.require(READ_WRITE_USERS)?;
    let mut user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    require_rights_over(caller, &user)?;
    let read = user.version;
    let mut modified = vec![];
    if let Some(name) = changes.display_name {
        let name = check_display_name(name.trim())?;
        if name != user.display_name {
            modified.push(("DisplayName", json!(user.display_name), json!(name)));
            user.display_name = name;
        }
    }
    let optional = [
        ("givenName", "GivenName", MAX_NAME_CHARS, changes.given_name, &mut user.given_name),
        ("surname", "Surname", MAX_NAME_CHARS, changes.surname, &mut user.surname),
        ("jobTitle", "JobTitle", MAX_JOB_TITLE_CHARS, changes.job_title, &mut user.job_title),
    ];
    for (field, audit_name, max, change, slot) in optional {
        let Some(value) = change else { continue };
        let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(Error::Invalid(format!("{field}: at most {max} characters")));
        }
        if value != *slot {
            modified.push((audit_name, json!(slot), json!(value)));
            *slot = value;
        }
    }
    let mut activity = "Update user";
    if changes.account_enabled == Some(false) {
        crate::directory::access::keep_a_global_administrator(idp, tenant, &user).await?;
    }
    if let Some(enabled) = changes.account_enabled.filter(|e| *e != user.enabled) {
        modified.push(("AccountEnabled", json!(user.enabled), json!(enabled)));
        user.enabled = enabled;
        if !enabled {
            user.sessions_valid_from_ms = crate::util::now_ms();
        }
        if modified.len() == 1 {
            activity = if enabled { "Enable account" } else { "Disable account" };
        }
    }
    if modified.is_empty() {
        return Ok(());
    }
    user.touched();
    if !idp.store.replace_user(read, &user).await? {
        return Err(Error::Conflict(format!("user {id} changed meanwhile; try again")));
    }
    if !user.enabled {
        session::end_all_of_user(idp, &tenant.id, id).await;
    }
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %id, activity, "user updated");
    let target = Target { modified, ..Target::new("User", id, &user.email) };
    caller.changed(idp, &tenant.id, "UserManagement", activity, vec![target]);
    Ok(())
}

/// A display name as the directory keeps it.
fn check_display_name(name: &str) -> Result<String> {
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::Invalid(format!("displayName must be 1 to {MAX_DISPLAY_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}

/// A user holding a directory role is a Global Administrator's to change.
fn require_rights_over(caller: &Caller, user: &User) -> Result<()> {
    if !user.roles.is_empty() {
        caller.require(MANAGE_PRIVILEGE)?;
    }
    Ok(())
}

pub async fn delete(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<()> {
    caller.require(READ_WRITE_USERS)?;
    let user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    require_rights_over(caller, &user)?;
    crate::directory::access::keep_a_global_administrator(idp, tenant, &user).await?;
    if !idp.store.delete_user(&tenant.id, id).await? {
        return Err(Error::NotFound(format!("user {id}")));
    }
    groups::forget_member(idp, tenant, id).await?;
    session::end_all_of_user(idp, &tenant.id, id).await;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %id, "user deleted");
    caller.changed(idp, &tenant.id, "UserManagement", "Delete user", vec![Target::new("User", id, &user.email)]);
    Ok(())
}

/// Graph's `softwareOathAuthenticationMethod`: the user's authenticator app.
pub async fn authenticators(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<Vec<serde_json::Value>> {
    caller.require(READ_WRITE_USERS)?;
    let user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    Ok(user.totp.iter().map(|m| serde_json::json!({"id": m.id, "createdDateTime": rfc3339(m.created_at)})).collect())
}

/// An admin resets a user's MFA (the FAQ: guests too): they enrol again
/// at their next sign-in that needs it.
pub async fn remove_authenticator(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str, method: &str) -> Result<()> {
    caller.require(READ_WRITE_USERS)?;
    let mut user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    require_rights_over(caller, &user)?;
    if user.totp.as_ref().is_none_or(|m| m.id != method) {
        return Err(Error::NotFound(format!("authentication method {method}")));
    }
    let read = user.version;
    user.totp = None;
    user.sessions_valid_from_ms = crate::util::now_ms();
    user.touched();
    if !idp.store.replace_user(read, &user).await? {
        return Err(Error::Conflict(format!("user {id} changed meanwhile; try again")));
    }
    session::end_all_of_user(idp, &tenant.id, id).await;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %id, "authenticator app removed by an admin");
    let target = vec![Target::new("User", id, &user.email)];
    caller.changed(idp, &tenant.id, "UserManagement", "Admin deleted security info", target);
    Ok(())
}

/// Clears the lockouts of a user's sign-in (password, from every address)
/// and second factor before they expire by themselves (15 minutes), e.g.
/// after the help desk verified the person. Returns how many were active.
pub async fn unlock(idp: &Idp, tenant: &Tenant, caller: &Caller, id: &str) -> Result<u64> {
    caller.require(READ_WRITE_USERS)?;
    let user = idp.store.user(&tenant.id, id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    require_rights_over(caller, &user)?;
    let email = crate::util::address::lookup_form(&user.email);
    let cleared = throttle::unlock(idp, &throttle::PASSWORD, &tenant.id, &email).await?
        + throttle::unlock(idp, &throttle::SECOND_FACTOR, &tenant.id, &user.id).await?;
    tracing::info!(tenant = %tenant.id, by = %caller.subject, user = %id, cleared, "sign-in lockouts cleared");
    caller.changed(idp, &tenant.id, "UserManagement", "Unlock user sign-in", vec![Target::new("User", id, &user.email)]);
    Ok(cleared)
}

/// Creates a member: an address in one of the tenant's own domains (a
/// member elsewhere would shadow another tenant's user), a password that
/// meets the policy; a taken email is a conflict.
pub async fn create_member(idp: &Idp, tenant: &Tenant, seed: &UserSeed) -> Result<User> {
    let email = address::email(&seed.email)?;
    let domain = email_domain(&email).unwrap_or_default();
    if !tenant.owns_domain(&domain) {
        return Err(Error::Invalid(format!(
            "{email}: members must have an address in one of {}'s domains ({}); invite people from elsewhere as guests",
            tenant.display_name,
            tenant.domains.join(", ")
        )));
    }
    let display_name = check_display_name(seed.display_name.as_deref().unwrap_or(&email).trim())?;
    crate::directory::access::check_roles(&seed.roles)?;
    let password_hash = match (&seed.password_hash, &seed.password) {
        (Some(hash), _) => Some(hash.clone()),
        (None, Some(password)) => {
            passwords::check_policy(password.expose(), &email)?;
            Some(idp.passwords.hash(password.expose()).await?)
        }
        (None, None) => None,
    };
    let user = User { password_hash, roles: seed.roles.clone(), ..User::new(&tenant.id, &email, &display_name, UserType::Member) };
    idp.store.create_user(&user).await?;
    Ok(user)
}
