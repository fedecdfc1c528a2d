//! `b2b-idp store rekey`: moves every secret at rest under the vault's
//! sealing key. Safe beside running instances: each record is swapped only
//! if nobody changed it meanwhile (else re-read and retried), and instances
//! that still hold the old key as an old key keep opening both.

use crate::model::Protected;
use crate::store::{Store, StoreError, UserPages};
use crate::vault::{context, Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("{0} kept changing while it was re-sealed; run rekey again")]
    Busy(String),
}

/// What a rekey moved (sealed under the new key) and what was there already.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    pub signing_keys: u64,
    pub totp_secrets: u64,
    pub client_secrets: u64,
    pub server_secrets: u64,
    pub already_current: u64,
}

impl Rekeyed {
    pub fn moved(&self) -> u64 {
        self.signing_keys + self.totp_secrets + self.client_secrets + self.server_secrets
    }
}

const ATTEMPTS: usize = 8;

pub async fn rekey(store: &dyn Store, vault: &Vault) -> Result<Rekeyed, RekeyError> {
    let mut done = Rekeyed::default();
    for (name, _) in store.secrets().await? {
        server_secret(store, vault, &name, &mut done).await?;
    }
    for tenant in store.tenants().await? {
        for key in store.keys(&tenant.id).await? {
            signing_key(store, vault, &tenant.id, &key.kid, &mut done).await?;
        }
        client_secrets(store, vault, &tenant.id, &mut done).await?;
        let mut pages = UserPages::new(store, &tenant.id, 500);
        while let Some(page) = pages.next().await? {
            for user in page.into_iter().filter(|u| u.totp.is_some()) {
                totp_secret(store, vault, &tenant.id, &user.id, &mut done).await?;
            }
        }
    }
    Ok(done)
}

async fn server_secret(store: &dyn Store, vault: &Vault, name: &str, done: &mut Rekeyed) -> Result<(), RekeyError> {
    let context = context::server_secret(name);
    for _ in 0..ATTEMPTS {
        let Some((_, stored)) = store.secrets().await?.into_iter().find(|(n, _)| n == name) else { return Ok(()) };
        // Stored before 0.6.2: the raw secret, sealed now.
        let protected = serde_json::from_slice::<Protected>(&stored).ok();
        let next = match &protected {
            Some(protected) => match vault.reseal(protected, &context)? {
                Some(next) => serde_json::to_vec(&next).map_err(|e| StoreError::Corrupt(e.into()))?,
                None => {
                    done.already_current += 1;
                    return Ok(());
                }
            },
            None => vault.seal_bytes(&stored, &context)?,
        };
        if store.replace_secret(name, &stored, &next).await? {
            done.server_secrets += 1;
            return Ok(());
        }
    }
    Err(RekeyError::Busy(format!("server secret {name}")))
}

async fn signing_key(store: &dyn Store, vault: &Vault, tenant_id: &str, kid: &str, done: &mut Rekeyed) -> Result<(), RekeyError> {
    for _ in 0..ATTEMPTS {
        let Some(read) = store.keys(tenant_id).await?.into_iter().find(|k| k.kid == kid) else { return Ok(()) };
        let Some(sealed) = vault.reseal(&read.private_der, &context::signing_key(tenant_id, kid))? else {
            done.already_current += 1;
            return Ok(());
        };
        let next = crate::model::StoredKey { private_der: sealed, ..read.clone() };
        if store.replace_key(&read, &next).await? {
            done.signing_keys += 1;
            return Ok(());
        }
    }
    Err(RekeyError::Busy(format!("signing key {kid} of tenant {tenant_id}")))
}

async fn client_secrets(store: &dyn Store, vault: &Vault, tenant_id: &str, done: &mut Rekeyed) -> Result<(), RekeyError> {
    for _ in 0..ATTEMPTS {
        let Some(read) = store.tenant(tenant_id).await? else { return Ok(()) };
        let mut next = read.clone();
        let (mut moved, mut current) = (0, 0);
        for provider in &mut next.identity_providers {
            match vault.reseal(&provider.client_secret, &context::client_secret(tenant_id, &provider.issuer))? {
                Some(sealed) => {
                    provider.client_secret = sealed;
                    moved += 1;
                }
                None => current += 1,
            }
        }
        next.version = read.version + 1;
        if moved == 0 || store.replace_tenant(read.version, &next).await? {
            done.client_secrets += moved;
            done.already_current += current;
            return Ok(());
        }
    }
    Err(RekeyError::Busy(format!("identity providers of tenant {tenant_id}")))
}

async fn totp_secret(store: &dyn Store, vault: &Vault, tenant_id: &str, user_id: &str, done: &mut Rekeyed) -> Result<(), RekeyError> {
    for _ in 0..ATTEMPTS {
        let Some(read) = store.user(tenant_id, user_id).await? else { return Ok(()) };
        let Some(method) = &read.totp else { return Ok(()) };
        let Some(sealed) = vault.reseal(&method.secret, &context::totp(tenant_id, user_id))? else {
            done.already_current += 1;
            return Ok(());
        };
        let mut next = read.clone();
        if let Some(m) = next.totp.as_mut() {
            m.secret = sealed;
        }
        next.touched();
        if store.replace_user(read.version, &next).await? {
            done.totp_secrets += 1;
            return Ok(());
        }
    }
    Err(RekeyError::Busy(format!("user {user_id} of tenant {tenant_id}")))
}
