//! Who may do what in the admin API. Checks live here, between the HTTP
//! layer and the directory, in one place (lldap's access-control wrapper).

use crate::directory::Tenant;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::protocol::introspect::live_access_token;
use crate::protocol::scopes::ADMIN_RESOURCE;

pub const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
pub const USER_ADMINISTRATOR: &str = "User Administrator";

/// An authenticated admin API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app (client credentials) or the user's object id.
    pub subject: String,
    /// App roles (applications) or directory roles (people).
    pub roles: Vec<String>,
    pub is_app: bool,
}

/// A right the admin API checks, with the roles that grant it.
#[derive(Debug, Clone, Copy)]
pub struct Right {
    pub app_role: &'static str,
    pub directory_roles: &'static [&'static str],
}

pub const READ_WRITE_USERS: Right =
    Right { app_role: "User.ReadWrite.All", directory_roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR] };

impl Caller {
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
        return Ok(Caller { subject: claims.sub, roles: claims.roles, is_app: true });
    }
    match idp.store.user(&tenant.id, &claims.sub).await? {
        Some(user) if user.enabled => Ok(Caller { subject: user.id, roles: user.roles, is_app: false }),
        _ => Err(unauthenticated("the signed-in user no longer exists or is disabled")),
    }
}
