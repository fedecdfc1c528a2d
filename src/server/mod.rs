//! Start-up: open the store, apply config, bind (plain or rustls TLS), run.

pub mod seed;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::config::{Config, StoreConfig};
use crate::directory::lifecycle;
use crate::idp::Idp;
use crate::store::{Store, StoreResult};
use crate::util::now;
use crate::{store, web as routes};

/// Opens the store and applies the configured tenants.
pub async fn prepare(config: Config) -> anyhow::Result<Arc<Idp>> {
    config.validate()?;
    let mut store = open_store(&config.store).await.context("opening the store")?;
    if config.server.metrics {
        store = Arc::new(store::measured::Measured::new(store));
    }
    let idp = Idp::new(config, store).await.context("initialising")?;
    seed::apply(&idp, &idp.config.tenants).await.context("applying configured tenants")?;
    Ok(Arc::new(idp))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub idp: Arc<Idp>,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits until the server stops by itself.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }

    /// Graceful stop: finish in-flight requests, then make the store durable.
    /// Stops gracefully and flushes the store. Returns once nothing of the
    /// server holds the store any more (its worker threads let go of it
    /// after the server future ends), so the same sled data can be opened
    /// again at once in this process.
    pub async fn stop(self) -> anyhow::Result<()> {
        // Logouts just made are sent first (some go to this server itself).
        self.idp.logout_notices.settle(std::time::Duration::from_secs(5)).await;
        self.handle.stop(true).await;
        self.sweeper.abort();
        let _ = self.sweeper.await;
        let _ = self.task.await;
        self.idp.audit.flush().await;
        self.idp.store.flush().await?;
        for _ in 0..1500 {
            if Arc::strong_count(&self.idp) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The store closes (sled's file lock goes) when its last holder lets
        // go: a log write in flight may hold it a moment after the context.
        let store = Arc::downgrade(&self.idp.store);
        drop(self.idp);
        for _ in 0..500 {
            if store.strong_count() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(())
    }
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?)
}

/// Starts serving on `listener` (or on `server.bind`). Signals are the caller's business.
pub async fn start(config: Config, listener: Option<TcpListener>) -> anyhow::Result<Running> {
    config.validate()?;
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(&config.server.bind).with_context(|| format!("binding {}", config.server.bind))?,
    };
    let addr = listener.local_addr()?;
    routes::templates::check().map_err(|e| anyhow::anyhow!("built-in templates: {e}"))?;
    if config.server.metrics && crate::telemetry::install().is_none() {
        tracing::warn!("another metrics recorder is installed: /metrics stays empty");
    }
    let idp = prepare(config).await?;
    let server_cfg = idp.config.server.clone();
    let data = web::Data::from(idp.clone());
    let https = server_cfg.is_https();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(routes::extractor_errors)
            .configure(routes::routes)
            .wrap(routes::security_headers(https))
            .wrap_fn(routes::access_log)
    })
    .disable_signals()
    .shutdown_timeout(5);
    if server_cfg.workers > 0 {
        server = server.workers(server_cfg.workers);
    }
    server = match (&server_cfg.tls_cert, &server_cfg.tls_key) {
        (Some(cert), Some(key)) => server.listen_rustls_0_23(listener, tls_config(cert, key)?)?,
        (None, None) => server.listen(listener)?,
        _ => anyhow::bail!("server.tls_cert and server.tls_key must be set together"),
    };
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    let sweeper = tokio::spawn(sweep(idp.clone()));
    tracing::info!(%addr, base_url = %server_cfg.base_url(), store = idp.store.backend_name(), tls = server_cfg.tls_cert.is_some(), "b2b-idp listening");
    Ok(Running { addr, idp, handle, task, sweeper })
}

/// Folds metrics samples every few seconds; deletes expired codes, tokens,
/// sessions and sign-in requests, and audit log entries past
/// `audit.retention_days`, every few minutes; and (if configured) disables guests whose home account is gone.
async fn sweep(idp: Arc<Idp>) {
    let mut purge = tokio::time::interval(Duration::from_secs(300));
    let guests_every = idp.config.b2b.sweep_interval_secs;
    let mut guests = tokio::time::interval(Duration::from_secs(guests_every.max(1)));
    let mut metrics = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = metrics.tick() => crate::telemetry::upkeep(),
            _ = purge.tick() => {
                match idp.store.purge_expired(now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "expired records removed"),
                    Err(e) => tracing::warn!(error = %crate::util::error_chain(&e), "purging expired records failed"),
                }
                let retention_ms = i64::from(idp.config.audit.retention_days) * 86_400_000;
                match idp.store.purge_log(crate::util::now_ms() - retention_ms).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "audit log entries past audit.retention_days removed"),
                    Err(e) => tracing::warn!(error = %crate::util::error_chain(&e), "purging the audit log failed"),
                }
            }
            _ = guests.tick(), if guests_every > 0 => {
                if let Err(e) = lifecycle::sweep(&idp).await {
                    tracing::warn!(error = %crate::util::error_chain(&e), "sweeping guests failed");
                }
            }
        }
    }
}

/// Opens the configured backend: PostgreSQL when `store.url` is set, else sled.
pub async fn open_store(config: &StoreConfig) -> StoreResult<Arc<dyn Store>> {
    match config.url.as_ref().map(|u| u.expose()).filter(|u| !u.is_empty()) {
        Some(url) => Ok(Arc::new(store::postgres::PgStore::connect(url, config.max_connections).await?)),
        None => Ok(Arc::new(store::sled::SledStore::open(&config.path)?)),
    }
}
