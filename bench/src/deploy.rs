//! How the server under test runs: on sled (one process), or on
//! PostgreSQL with one or more instances behind a round-robin TCP balancer
//! in this process (per connection, like an L4 load balancer), all under
//! the balancer's URL as their one issuer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use b2b_idp_testkit::free_port;

/// The key-encryption key of the bench's PostgreSQL runs (throw-away data).
const BENCH_ENCRYPTION_KEY: &str = "YmVuY2gtb25seS1rZXktZW5jcnlwdGlvbi1rZXktMzI=";

#[derive(Clone, Debug)]
pub struct Deployment {
    /// `postgres://…` of a database the bench may create schemas in; None: sled.
    pub postgres: Option<String>,
    pub instances: usize,
}

impl Deployment {
    pub fn label(&self) -> String {
        match (&self.postgres, self.instances) {
            (None, _) => "sled, one instance".into(),
            (Some(_), 1) => "PostgreSQL, one instance".into(),
            (Some(_), n) => format!("PostgreSQL, {n} instances behind a round-robin balancer"),
        }
    }

    /// A fresh store for one section: a data dir, and for PostgreSQL a schema of its own.
    pub async fn store(&self, data: PathBuf) -> anyhow::Result<Store> {
        let port = free_port()?;
        let Some(base) = &self.postgres else { return Ok(Store { data, port, url: None, schema: None }) };
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        admin(base).await?.batch_execute(&format!("CREATE SCHEMA {schema}")).await?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Ok(Store { data, port, url: Some(url), schema: Some(schema) })
    }

    /// Starts the instances on `store` and waits until each is ready.
    pub async fn start(&self, bin: &Path, config: &Path, store: &Store, http: &reqwest::Client) -> anyhow::Result<Servers> {
        let count = if store.url.is_some() { self.instances.max(1) } else { 1 };
        // The public port stays the store's: issuers (and the guests' home
        // accounts bound to them) outlive a restart.
        let (ports, balancer) = match count {
            1 => (vec![store.port], None),
            _ => {
                let ports = (0..count).map(|_| free_port()).collect::<Result<Vec<_>, _>>()?;
                let balancer = Balancer::start(store.port, &ports).await?;
                (ports, Some(balancer))
            }
        };
        let public = format!("http://127.0.0.1:{}", store.port);
        let mut children = vec![];
        for (i, port) in ports.iter().enumerate() {
            let mut cmd = tokio::process::Command::new(bin);
            cmd.arg("--config")
                .arg(config)
                .arg("serve")
                .env("B2B_IDP__SERVER__BIND", format!("127.0.0.1:{port}"))
                .env("B2B_IDP__SERVER__PUBLIC_BASE_URL", &public)
                .env("B2B_IDP__STORE__PATH", &store.data)
                .env("B2B_IDP__MAIL__OUTBOX", store.data.with_file_name(format!("outbox{i}")))
                // One address drives every sign-in of the load: lift the per-source bound.
                .env("B2B_IDP__SERVER__PENDING_SIGN_INS_PER_SOURCE", "10000000")
                .env("B2B_IDP__SERVER__PENDING_SIGN_INS_TOTAL", "10000000")
                .env("RUST_LOG", "warn")
                .kill_on_drop(true);
            if let Some(url) = &store.url {
                cmd.env("B2B_IDP__STORE__URL", url).env("B2B_IDP__STORE__ENCRYPTION_KEY", BENCH_ENCRYPTION_KEY);
            }
            let mut child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
            crate::wait_ready(http, &format!("http://127.0.0.1:{port}"), &mut child, Duration::from_secs(120)).await?;
            children.push(child);
        }
        Ok(Servers { children, public, balancer })
    }
}

/// A section's store: the sled data dir (also where mail goes), and the
/// PostgreSQL URL and schema when there is one.
pub struct Store {
    pub data: PathBuf,
    /// Where the deployment answers: the instance, or the balancer.
    port: u16,
    pub url: Option<String>,
    schema: Option<String>,
}

impl Store {
    /// Opens the store directly (the servers must be stopped on sled).
    pub async fn open(&self) -> anyhow::Result<std::sync::Arc<dyn b2b_idp::store::Store>> {
        Ok(match &self.url {
            Some(url) => std::sync::Arc::new(b2b_idp::store::postgres::PgStore::connect(url, 8).await?),
            None => std::sync::Arc::new(b2b_idp::store::sled::SledStore::open(&self.data)?),
        })
    }

    /// What the store takes on disk: the sled directory, or the schema's tables with their indexes.
    pub async fn size_bytes(&self) -> anyhow::Result<u64> {
        match (&self.url, &self.schema) {
            (Some(url), Some(schema)) => {
                let sql = "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'";
                let bytes: i64 = admin(url).await?.query_one(sql, &[schema]).await?.get(0);
                Ok(bytes.max(0) as u64)
            }
            _ => Ok(crate::dir_size(&self.data)),
        }
    }

    /// Drops the PostgreSQL schema; the data dir goes with its temp dir.
    pub async fn drop(self, deployment: &Deployment) -> anyhow::Result<()> {
        if let (Some(base), Some(schema)) = (&deployment.postgres, &self.schema) {
            admin(base).await?.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await?;
        }
        Ok(())
    }
}

async fn admin(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.with_context(|| format!("PostgreSQL at {url}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Running instances under one public URL.
pub struct Servers {
    children: Vec<tokio::process::Child>,
    pub public: String,
    balancer: Option<Balancer>,
}

impl Servers {
    /// Resident memory of all instances together.
    pub fn rss_kib(&self) -> u64 {
        self.children.iter().map(|c| crate::rss_kib(c.id().unwrap_or(0))).sum()
    }

    pub async fn stop(self) {
        for child in self.children {
            crate::stop(child).await;
        }
        if let Some(balancer) = self.balancer {
            balancer.stop().await;
        }
    }

    /// SIGKILL, no flush (the bench's "restart on existing data").
    pub async fn kill(mut self) -> anyhow::Result<()> {
        for child in &mut self.children {
            child.kill().await?;
            child.wait().await?;
        }
        if let Some(balancer) = self.balancer {
            balancer.stop().await;
        }
        Ok(())
    }
}

/// Accepts on its own port and hands each connection to the next instance.
struct Balancer {
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    async fn start(port: u16, ports: &[u16]) -> anyhow::Result<Balancer> {
        // The port is the deployment's across restarts: reuse it at once.
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
        let listener = socket.listen(1024)?;
        let ports = ports.to_vec();
        let task = tokio::spawn(async move {
            let mut next = 0usize;
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = ports[next % ports.len()];
                next += 1;
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Balancer { task })
    }

    /// Stops accepting (the listener closes with its task).
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
