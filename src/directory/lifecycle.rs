//! The end of a guest's life: deleted by an admin (`users::delete`), leaving
//! by themselves (a tenant setting), or disabled by the sweep when their
//! home account is gone — the cleanup Entra left to administrators.

use crate::audit::change::{Actor, Change, Target};
use crate::directory::groups;
use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::HomeAccount;
use crate::model::{Tenant, User};
use crate::store::UserPages;

/// A guest removes themselves from `tenant`, if its settings allow it.
pub async fn leave(idp: &Idp, tenant: &Tenant, user: &User) -> Result<()> {
    if user.external.is_none() {
        return Err(Error::Forbidden(format!("Members of {} cannot leave it; ask an administrator.", tenant.display_name)));
    }
    if !tenant.collaboration.guests_can_leave {
        return Err(Error::Forbidden(format!(
            "{} does not let guests leave by themselves. Ask an administrator to remove you.",
            tenant.display_name
        )));
    }
    idp.store.delete_user(&tenant.id, &user.id).await?;
    groups::forget_member(idp, tenant, &user.id).await?;
    crate::signin::session::end_all_of_user(idp, &tenant.id, &user.id).await;
    tracing::info!(tenant = %tenant.id, user = %user.id, "guest left the tenant");
    let guest = Actor::User { id: user.id.clone(), upn: user.email.clone(), app_id: None };
    let target = vec![Target::new("User", &user.id, &user.email)];
    idp.audit.change(Change::new(&tenant.id, guest, "UserManagement", "Guest left the organisation", target));
    Ok(())
}

/// Whether a home account still exists. Homes on this server are checked
/// directly; external providers offer no standard way to ask, so their
/// guests are left alone (`None`).
async fn home_exists(idp: &Idp, home: &HomeAccount) -> Result<Option<bool>> {
    let Some(home_tenant) = idp.store.tenant(&home.tenant_id).await? else { return Ok(None) };
    if idp.issuer(&home_tenant) != home.issuer {
        return Ok(None);
    }
    let user = idp.store.user(&home_tenant.id, &home.subject).await?;
    Ok(Some(user.is_some_and(|u| u.enabled)))
}

/// Disables every guest whose home account on this server is gone or
/// disabled; returns them.
pub async fn sweep(idp: &Idp) -> Result<Vec<User>> {
    let mut disabled = vec![];
    for tenant in idp.store.tenants().await? {
        let mut pages = UserPages::new(idp.store.as_ref(), &tenant.id, 500);
        while let Some(page) = pages.next().await? {
            for mut user in page {
                let Some(home) = user.external.as_ref().and_then(|e| e.home.clone()) else { continue };
                if !user.enabled || home_exists(idp, &home).await? != Some(false) {
                    continue;
                }
                let read = user.version;
                user.enabled = false;
                user.touched();
                if !idp.store.replace_user(read, &user).await? {
                    continue; // changed or deleted meanwhile: the next sweep looks again
                }
                crate::signin::session::end_all_of_user(idp, &tenant.id, &user.id).await;
                tracing::info!(tenant = %tenant.id, user = %user.id, home = %home.tenant_id, "guest disabled: home account is gone");
                let sweep = Actor::System { what: "Guest sweep (home account gone)".into() };
                let target = vec![Target::new("User", &user.id, &user.email)];
                idp.audit.change(Change::new(&tenant.id, sweep, "UserManagement", "Disable account", target));
                disabled.push(user);
            }
        }
    }
    Ok(disabled)
}
