//! The server's shared context: config, store, keys and the password hasher.
//! Domain code receives `&Idp`; the web layer holds one in `web::Data`.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::Recorder;
use crate::config::Config;
use crate::egress::logout_delivery::Notifier;
use crate::egress::rp::HomeProviders;
use crate::egress::Egress;
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::mail::Mailer;
use crate::model::Tenant;
use crate::passwords::PasswordHasher;
use crate::store::Store;
use crate::vault::{context, Vault};

pub struct Idp {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keys: KeyRing,
    /// Seals and opens the secrets the store keeps.
    pub vault: Arc<Vault>,
    pub passwords: PasswordHasher,
    /// Server-wide HMAC key (CSRF tokens, federation client secrets);
    /// shared by all instances via the store.
    pub cookie_key: Vec<u8>,
    pub mailer: Mailer,
    /// Guests' home identity providers, as seen by this relying party.
    pub home: HomeProviders,
    /// `server.trusted_proxies`, parsed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Appends to the sign-in and directory audit logs.
    pub audit: Recorder,
    /// Posts logout tokens to apps (back-channel logout).
    pub logout_notices: Notifier,
}

impl Idp {
    pub async fn new(config: Config, store: Arc<dyn Store>) -> Result<Idp> {
        let t = &config.tokens;
        let grace = t.access_token_ttl.max(t.id_token_ttl) + 60;
        let vault = Arc::new(Vault::from_config(&config.store)?);
        let keys = KeyRing::new(store.clone(), vault.clone(), Duration::from_secs(config.keys.refresh_secs), grace);
        let passwords = PasswordHasher::new(&config.passwords)?;
        let candidate: [u8; 32] = rand::random();
        let bound_to = context::server_secret("cookie-hmac");
        let stored = store.secret_or_insert("cookie-hmac", &vault.seal_bytes(&candidate, &bound_to)?).await?;
        let cookie_key = vault.open_bytes(&stored, &bound_to)?;
        if Vault::is_plain_bytes(&stored) && vault.sealing_key_id().is_some() {
            // A store of 0.6.1 or older: its secrets are in clear until rekeyed.
            tracing::warn!(
                "secrets written before 0.6.2 are still stored in clear: run `b2b-idp store rekey` (README, \"Secrets at rest\")"
            );
        }
        let mailer = Mailer::new(&config.mail, config.server.base_url())?;
        let egress = Egress::new(crate::config::networks("b2b.allowed_internal_networks", &config.b2b.allowed_internal_networks)?);
        let logout_notices = Notifier::start(egress.clone(), config.server.base_url())?;
        let home = HomeProviders::new(egress)?;
        let trusted_proxies = crate::config::networks("server.trusted_proxies", &config.server.trusted_proxies)?;
        let audit = Recorder::start(&store, config.audit.queue);
        Ok(Idp { config, store, keys, vault, passwords, cookie_key, mailer, home, trusted_proxies, audit, logout_notices })
    }

    /// Resolves the `{tenant}` path segment: a tenant id, else a tenant name.
    pub async fn tenant(&self, id_or_name: &str) -> Result<Tenant> {
        if let Some(t) = self.store.tenant(id_or_name).await? {
            return Ok(t);
        }
        self.store.tenant_by_name(id_or_name).await?.ok_or_else(|| Error::TenantNotFound(id_or_name.to_string()))
    }

    pub fn base_url(&self) -> &str {
        self.config.server.base_url()
    }

    /// `{public_base_url}/{tenant_id}/v2.0` (docs/contract.md, "URLs").
    pub fn issuer(&self, tenant: &Tenant) -> String {
        format!("{}/{}/v2.0", self.base_url(), tenant.id)
    }

    /// An absolute URL under the tenant, e.g. `oauth2/v2.0/token`.
    pub fn tenant_url(&self, tenant: &Tenant, path: &str) -> String {
        format!("{}/{}/{}", self.base_url(), tenant.id, path)
    }
}
