//! Who may do what in the admin API. Checks live here, between the HTTP
//! layer and the directory, in one place (lldap's access-control wrapper).

use crate::directory::collaboration::InvitePolicy;
use crate::directory::{Tenant, User, UserType};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::protocol::introspect::live_access_token;
use crate::protocol::scopes::ADMIN_RESOURCE;

pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
pub const USER_ADMINISTRATOR: &str = "User Administrator";
pub const GUEST_INVITER: &str = "Guest Inviter";

/// An authenticated admin API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app (client credentials) or the user's object id.
    pub subject: String,
    /// App roles (applications) or directory roles (people).
    pub roles: Vec<String>,
    pub is_app: bool,
    /// The person behind a user token (their current directory record).
    pub user: Option<User>,
}

/// A right the admin API checks, with the roles that grant it.
#[derive(Debug, Clone, Copy)]
pub struct Right {
    pub app_role: &'static str,
    pub directory_roles: &'static [&'static str],
}

pub const READ_WRITE_USERS: Right =
    Right { app_role: "User.ReadWrite.All", directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

/// Inviting one guest under the default policy.
pub const INVITE_GUESTS: Right =
    Right { app_role: "User.Invite.All", directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER] };

/// Groups and their members.
pub const MANAGE_GROUPS: Right =
    Right { app_role: "Group.ReadWrite.All", directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

/// Tenant policies: external identity providers, cross-tenant access.
pub const MANAGE_POLICY: Right = Right { app_role: "Policy.ReadWrite.All", directory_roles: &[GLOBAL_ADMINISTRATOR] };

/// Bulk (CSV) invitations, and single ones under the admins-only policy.
pub const ADMIN_INVITE: Right =
    Right { app_role: "User.Invite.All", directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

impl Caller {
    /// The command line acts as the operator, with every right.
    pub fn operator() -> Caller {
        Caller { subject: "command-line".into(), roles: vec![ADMIN_INVITE.app_role.into()], is_app: true, user: None }
    }

    /// Whether this caller may invite guests, under the tenant's policy.
    pub fn may_invite(&self, tenant: &Tenant) -> Result<()> {
        match tenant.collaboration.guest_invite {
            InvitePolicy::AdminsOnly => self.require(ADMIN_INVITE),
            InvitePolicy::AdminsAndGuestInviters => self.require(INVITE_GUESTS),
            InvitePolicy::Members => {
                let member = self.user.as_ref().is_some_and(|u| u.user_type == UserType::Member && u.external.is_none());
                if member {
                    return Ok(());
                }
                self.require(INVITE_GUESTS).map_err(|_| {
                    Error::Forbidden(
                        "this tenant lets members, administrators and Guest Inviters invite; the caller is none of them".into(),
                    )
                })
            }
        }
    }

    pub fn require(&self, right: Right) -> Result<()> {
        let allowed = if self.is_app {
            self.roles.iter().any(|r| r == right.app_role)
        } else {
            self.roles.iter().any(|r| right.directory_roles.contains(&r.as_str()))
        };
        if allowed {
            return Ok(());
        }
        Err(Error::Forbidden(if self.is_app {
            format!("this operation needs the application permission {}", right.app_role)
        } else {
            format!("this operation needs the directory role {}", right.directory_roles.join(" or "))
        }))
    }
}

/// The caller behind a bearer token: an access token of this tenant for the
/// admin API. A person acts with their current directory roles, so removing a
/// role takes effect at once.
pub async fn caller(idp: &Idp, tenant: &Tenant, bearer: Option<&str>) -> Result<Caller> {
    let unauthenticated = |why: &str| Error::Unauthenticated(why.to_string());
    let token = bearer.ok_or_else(|| unauthenticated("a Bearer access token for api://b2b-idp-admin is required"))?;
    let claims = live_access_token(idp, tenant, token)
        .await
        .ok_or_else(|| unauthenticated("the access token is invalid, expired, revoked or of another tenant"))?;
    if claims.aud != ADMIN_RESOURCE {
        return Err(unauthenticated("the access token is not for api://b2b-idp-admin"));
    }
    if claims.idtyp == "app" {
        return Ok(Caller { subject: claims.sub, roles: claims.roles, is_app: true, user: None });
    }
    match idp.store.user(&tenant.id, &claims.sub).await? {
        Some(user) if user.enabled => {
            Ok(Caller { subject: user.id.clone(), roles: user.roles.clone(), is_app: false, user: Some(user) })
        }
        _ => Err(unauthenticated("the signed-in user no longer exists or is disabled")),
    }
}
