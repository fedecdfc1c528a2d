//! Who may do what in the admin API: the caller (from a bearer token the
//! protocol verified) and the rights (`Right`) operations require. Admin
//! operations in `directory` and `policy::api` check the caller with
//! `require` (or `may_invite`) before they act (lldap's access-control
//! wrapper, as a type).

use crate::audit::change::{Actor, Change, Target};
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::InvitePolicy;
use crate::model::{Tenant, User, UserType};

pub use crate::model::ADMIN_RESOURCE;

pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
pub const USER_ADMINISTRATOR: &str = "User Administrator";
pub const GUEST_INVITER: &str = "Guest Inviter";
pub const APPLICATION_ADMINISTRATOR: &str = "Application Administrator";
/// Reads users, groups, applications and role assignments; changes
/// nothing. The limited role a guest may safely be given.
pub const DIRECTORY_READERS: &str = "Directory Readers";

/// Every directory role there is: Entra's names, and its role template ids
/// (the same in every Entra tenant, so scripts written for Entra find them).
pub const DIRECTORY_ROLES: &[(&str, &str)] = &[
    (GLOBAL_ADMINISTRATOR, "62e90394-69f5-4237-9190-012177145e10"),
    (USER_ADMINISTRATOR, "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (GUEST_INVITER, "95e79109-95c0-4d8e-aee3-d01accf2d47b"),
    (APPLICATION_ADMINISTRATOR, "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
    (DIRECTORY_READERS, "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
];

/// Refuses roles that do not exist: a misspelt one would grant nothing,
/// silently.
pub fn check_roles(roles: &[String]) -> Result<()> {
    match roles.iter().find(|r| !DIRECTORY_ROLES.iter().any(|(name, _)| name == r)) {
        Some(unknown) => {
            let names: Vec<&str> = DIRECTORY_ROLES.iter().map(|(name, _)| *name).collect();
            Err(Error::Invalid(format!("there is no directory role '{unknown}'; the roles are {}", names.join(", "))))
        }
        None => Ok(()),
    }
}

/// Refuses a change that would leave the tenant without an enabled Global
/// Administrator (`user` losing the role, being disabled or deleted): no
/// one could then assign roles or change administrators again.
pub async fn keep_a_global_administrator(idp: &Idp, tenant: &Tenant, user: &User) -> Result<()> {
    if !user.enabled || !user.roles.iter().any(|r| r == GLOBAL_ADMINISTRATOR) {
        return Ok(());
    }
    let mut pages = crate::store::UserPages::new(idp.store.as_ref(), &tenant.id, 500);
    while let Some(page) = pages.next().await? {
        if page.iter().any(|u| u.id != user.id && u.enabled && u.roles.iter().any(|r| r == GLOBAL_ADMINISTRATOR)) {
            return Ok(());
        }
    }
    Err(Error::Invalid(format!(
        "{} is the last Global Administrator of {}: assign the role to someone else first",
        user.email, tenant.name
    )))
}

/// An authenticated admin API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app (client credentials) or the user's object id.
    pub subject: String,
    /// App roles (applications) or directory roles (people).
    pub roles: Vec<String>,
    /// A person's delegated permissions (the token's `scp`): what the app
    /// they signed in through may do for them. Their roles still decide.
    pub scopes: Vec<String>,
    pub is_app: bool,
    /// The command line on the server's machine (`operator`), not an app of the tenant.
    pub is_operator: bool,
    /// The person behind a user token (their current directory record).
    pub user: Option<User>,
}

/// The delegated permission that lets an app act with all of its user's
/// directory rights (Graph's), besides each right's own.
pub const ACT_AS_USER: &str = "Directory.AccessAsUser.All";

/// A right the admin API checks. An app needs one of `app_roles`; a person
/// needs one of `directory_roles` AND a token whose `scp` carries one of
/// `app_roles` (as a delegated permission) or `Directory.AccessAsUser.All`:
/// Entra's intersection of what the user may do and what the app may do
/// for them. The first app role is the one error messages name.
#[derive(Debug, Clone, Copy)]
pub struct Right {
    pub app_roles: &'static [&'static str],
    pub directory_roles: &'static [&'static str],
}

pub const READ_WRITE_USERS: Right =
    Right { app_roles: &["User.ReadWrite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

/// Reading users (a Directory Reader may).
pub const READ_USERS: Right = Right {
    app_roles: &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, DIRECTORY_READERS],
};

/// Inviting one guest under the default policy.
pub const INVITE_GUESTS: Right =
    Right { app_roles: &["User.Invite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER] };

/// Groups and their members.
pub const MANAGE_GROUPS: Right =
    Right { app_roles: &["Group.ReadWrite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

/// Reading groups and their members.
pub const READ_GROUPS: Right = Right {
    app_roles: &["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, DIRECTORY_READERS],
};

/// Registering and changing applications (clients), and their secrets.
pub const MANAGE_APPS: Right =
    Right { app_roles: &["Application.ReadWrite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR, APPLICATION_ADMINISTRATOR] };

pub const READ_APPS: Right = Right {
    app_roles: &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, APPLICATION_ADMINISTRATOR, DIRECTORY_READERS],
};

/// Tenant policies: external identity providers, cross-tenant access.
pub const MANAGE_POLICY: Right = Right { app_roles: &["Policy.ReadWrite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR] };

/// Bulk (CSV) invitations, single ones under the admins-only policy, and
/// inviting someone as a Member.
pub const ADMIN_INVITE: Right = Right { app_roles: &["User.Invite.All"], directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

/// Anything that hands out admin rights: assigning directory roles,
/// changing or deleting a user who holds one (or resetting their sign-in),
/// and granting admin API permissions to an app or changing the
/// credentials of an app that holds them. Only a Global Administrator
/// (Entra's rule), or an app that may manage role assignments.
pub const MANAGE_PRIVILEGE: Right = Right { app_roles: &["RoleManagement.ReadWrite.Directory"], directory_roles: &[GLOBAL_ADMINISTRATOR] };

/// Reading role definitions and assignments.
pub const READ_ROLES: Right = Right {
    app_roles: &["RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All"],
    directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, APPLICATION_ADMINISTRATOR, DIRECTORY_READERS],
};

impl Caller {
    /// Who this caller is, as the directory audit log names them.
    pub fn actor(&self) -> Actor {
        match (&self.user, self.is_app) {
            _ if self.is_operator => Actor::Operator,
            (_, true) => Actor::App { app_id: self.subject.clone() },
            (Some(user), false) => Actor::User { id: user.id.clone(), upn: user.email.clone(), app_id: None },
            (None, false) => Actor::User { id: self.subject.clone(), upn: String::new(), app_id: None },
        }
    }

    /// Logs a change this caller made (a `directoryAudit`).
    pub fn changed(&self, idp: &Idp, tenant_id: &str, category: &'static str, activity: &str, targets: Vec<Target>) {
        idp.audit.change(Change::new(tenant_id, self.actor(), category, activity, targets));
    }

    /// The command line acts as the operator, with every right.
    pub fn operator() -> Caller {
        let roles = [ADMIN_INVITE, READ_WRITE_USERS, MANAGE_APPS, MANAGE_PRIVILEGE].map(|r| r.app_roles[0].to_string()).to_vec();
        Caller { subject: "command-line".into(), roles, scopes: vec![], is_app: true, user: None, is_operator: true }
    }

    /// Whether this caller may invite guests, under the tenant's policy.
    pub fn may_invite(&self, tenant: &Tenant) -> Result<()> {
        match tenant.collaboration.guest_invite {
            InvitePolicy::AdminsOnly => self.require(ADMIN_INVITE),
            InvitePolicy::AdminsAndGuestInviters => self.require(INVITE_GUESTS),
            InvitePolicy::Members => {
                let member = self.user.as_ref().is_some_and(|u| u.user_type == UserType::Member && u.external.is_none());
                if member && self.delegates(INVITE_GUESTS) {
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

    /// Whether a person's token lets the app act for them with `right`.
    fn delegates(&self, right: Right) -> bool {
        self.scopes.iter().any(|s| right.app_roles.contains(&s.as_str()) || s == ACT_AS_USER)
    }

    pub fn require(&self, right: Right) -> Result<()> {
        self.allowed(right).inspect_err(|e| {
            crate::telemetry::security_event("admin_forbidden", &format!("{} ({}): {e}", self.subject, right.app_roles[0]));
        })
    }

    fn allowed(&self, right: Right) -> Result<()> {
        if self.is_app {
            if self.roles.iter().any(|r| right.app_roles.contains(&r.as_str())) {
                return Ok(());
            }
            return Err(Error::Forbidden(format!("this operation needs the application permission {}", right.app_roles.join(" or "))));
        }
        if !self.roles.iter().any(|r| right.directory_roles.contains(&r.as_str())) {
            return Err(Error::Forbidden(format!("this operation needs the directory role {}", right.directory_roles.join(" or "))));
        }
        if !self.delegates(right) {
            return Err(Error::Forbidden(format!(
                "the access token does not carry the delegated permission {} (or {ACT_AS_USER})",
                right.app_roles.join(" or ")
            )));
        }
        Ok(())
    }
}

/// What the request's bearer token turned out to be. The web layer asks the
/// protocol to verify it; the directory decides what the caller may do.
#[derive(Debug, Clone)]
pub enum Bearer {
    Missing,
    /// Not a live access token of this tenant (bad signature, expired,
    /// revoked, another tenant's).
    Invalid,
    Valid(VerifiedToken),
}

/// The claims of a verified access token that decide who is calling. Only
/// this crate builds one (`protocol::introspect::bearer`, after verifying).
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub(crate) audience: String,
    /// The app (client credentials) or the user's object id.
    pub(crate) subject: String,
    pub(crate) is_app: bool,
    pub(crate) roles: Vec<String>,
    /// Delegated permissions (`scp`), split.
    pub(crate) scopes: Vec<String>,
    /// The client it was issued to (`client_id`).
    pub(crate) client_id: String,
    /// The sign-in session it came from (`sid`), for a person's token.
    pub(crate) session: Option<String>,
}

/// The caller behind a bearer token: an access token of this tenant for the
/// admin API. A person acts with their current directory roles, so removing a
/// role takes effect at once.
pub async fn caller(idp: &Idp, tenant: &Tenant, bearer: Bearer) -> Result<Caller> {
    let unauthenticated = |why: &str| Error::Unauthenticated(why.to_string());
    let token = match bearer {
        Bearer::Missing => return Err(unauthenticated("a Bearer access token for api://b2b-idp-admin is required")),
        Bearer::Invalid => return Err(unauthenticated("the access token is invalid, expired, revoked or of another tenant")),
        Bearer::Valid(token) => token,
    };
    if token.audience != ADMIN_RESOURCE {
        return Err(unauthenticated("the access token is not for api://b2b-idp-admin"));
    }
    if token.is_app {
        return Ok(Caller { subject: token.subject, roles: token.roles, scopes: vec![], is_app: true, user: None, is_operator: false });
    }
    match idp.store.user(&tenant.id, &token.subject).await? {
        Some(user) if user.enabled => Ok(Caller {
            subject: user.id.clone(),
            roles: user.roles.clone(),
            scopes: token.scopes,
            is_app: false,
            user: Some(user),
            is_operator: false,
        }),
        _ => Err(unauthenticated("the signed-in user no longer exists or is disabled")),
    }
}
