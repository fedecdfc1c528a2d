//! Changes to a tenant's own record (its settings: policies, cross-tenant
//! access, identity providers): re-read, apply, compare-and-swap on the
//! record's version, and on a concurrent change start over from the new
//! record, so two admins changing different settings both keep theirs.

use crate::error::{Error, Result};
use crate::idp::Idp;
use crate::model::Tenant;

/// Attempts before giving up under a storm of concurrent changes.
const ATTEMPTS: usize = 32;

/// Applies `apply` to the current record of `tenant_id` and stores it;
/// `apply` may run more than once (on a fresh read each time).
pub async fn change(idp: &Idp, tenant_id: &str, mut apply: impl FnMut(&mut Tenant) -> Result<()>) -> Result<Tenant> {
    for _ in 0..ATTEMPTS {
        let read = idp.store.tenant(tenant_id).await?.ok_or_else(|| Error::TenantNotFound(tenant_id.to_string()))?;
        let mut next = read.clone();
        apply(&mut next)?;
        next.version = read.version + 1;
        if idp.store.replace_tenant(read.version, &next).await? {
            return Ok(next);
        }
    }
    Err(Error::Conflict("the tenant's settings are being changed by others right now; try again".into()))
}
