//! The `b2b-idp` command line: subcommands, their arguments, and what each
//! does with the store and the server (README "Command line").

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::audit::change::{Actor, Change, Target};
use crate::config::{AppSeed, Config, TenantSeed, UserSeed};
use crate::directory::access::Caller;
use crate::directory::filter::Filter;
use crate::directory::paging::{PageRequest, MAX_TOP};
use crate::directory::{apps, bulk, lifecycle, roles};
use crate::idp::Idp;
use crate::keys;
use crate::model::Cloud;
use crate::model::{Alg, GrantType};
use crate::server;
use crate::server::seed;
use crate::util::random_token;
use crate::util::Secret;

const DEFAULT_CONFIG: &str = "config/default.toml";

#[derive(Parser)]
#[command(name = "b2b-idp", version, about = "Multi-tenant OpenID Connect provider with B2B guest collaboration")]
struct Cli {
    /// Configuration file; every key can be overridden with B2B_IDP__SECTION__KEY.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Users (members) of a tenant.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Applications (OAuth clients) of a tenant.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Directory roles held by a tenant's users (members or guests).
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// Invite guests in bulk from a CSV file (columns: email, display name,
    /// redirect URL, send message true/false, custom message). Prints a
    /// per-row report as CSV on standard output, progress on standard error.
    Invite {
        #[arg(long)]
        csv: std::path::PathBuf,
        #[arg(long)]
        tenant: String,
    },
    /// Guests across all tenants.
    Guests {
        #[command(subcommand)]
        command: GuestsCommand,
    },
    /// Secrets at rest.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Asks a running server whether it is ready (`/readyz`): exit 0 if so,
    /// 1 if not. For container health checks (the image has no curl).
    Health {
        /// The server to ask; default: `server.bind` of the config, on loopback.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Prints a new random key-encryption key (base64 of 32 bytes).
    NewKey,
    /// Re-seals every secret at rest under the key in FILE, opening them with
    /// the configured keys. Beside running PostgreSQL instances, run it once
    /// they all seal with FILE's key and still open the old one (README,
    /// "Changing the encryption key"); run it again: it moves nothing when done.
    Rekey {
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum GuestsCommand {
    /// Disable guests whose home account (a tenant on this server) no longer exists.
    Sweep,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new active signing key; old keys stay in the JWKS until their tokens expire.
    Rotate {
        #[arg(long)]
        tenant: String,
        /// Algorithm of the key to rotate (default: the tenant's).
        #[arg(long, value_parser = parse_alg)]
        alg: Option<Alg>,
    },
    /// List a tenant's keys.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// List tenants with their ids and issuers.
    List,
    /// Create (or update) a tenant.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// global, usgov or china.
        #[arg(long, default_value = "global", value_parser = parse_cloud)]
        cloud: Cloud,
        /// An email domain the tenant owns (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a member; the password is read from standard input with --password-stdin.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Directory role, e.g. "Global Administrator" (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's users.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// End a user's sign-in lockouts (wrong passwords or codes) now rather than in 15 minutes.
    Unlock {
        #[arg(long)]
        tenant: String,
        /// The user's email address or object id.
        #[arg(long)]
        user: String,
    },
    /// Block a user's sign-in and end their sessions and refresh grants now.
    Disable {
        #[arg(long)]
        tenant: String,
        /// The user's email address or object id.
        #[arg(long)]
        user: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        #[arg(long)]
        tenant: String,
        /// The user's email address or object id.
        #[arg(long)]
        user: String,
    },
    /// Delete a user (and their group memberships).
    Delete {
        #[arg(long)]
        tenant: String,
        /// The user's email address or object id.
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an application; a confidential one gets a generated secret,
    /// printed once, unless it authenticates with a key (`--key-credential`).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Exact redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A public client: no secret, PKCE required.
        #[arg(long, conflicts_with = "key_credentials")]
        public: bool,
        /// Grant type (repeatable; default authorization_code and refresh_token).
        #[arg(long = "grant", value_parser = parse_grant)]
        grants: Vec<GrantType>,
        /// A certificate (PEM or DER) or JWK file whose key signs the app's
        /// client assertions, `private_key_jwt` (repeatable).
        #[arg(long = "key-credential")]
        key_credentials: Vec<std::path::PathBuf>,
        /// Each client assertion's jti works once.
        #[arg(long)]
        single_use_client_assertions: bool,
        /// Its authorization requests must come pushed (PAR, RFC 9126).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
        /// Where a logout token is posted when a session that signed in to
        /// the app ends (OIDC Back-Channel Logout).
        #[arg(long, value_name = "URI", value_parser = parse_logout_uri)]
        backchannel_logout_uri: Option<String>,
        /// Loaded in an iframe of the signed-out page (OIDC Front-Channel Logout).
        #[arg(long, value_name = "URI", value_parser = parse_logout_uri)]
        frontchannel_logout_uri: Option<String>,
    },
    /// List a tenant's applications: client id, kind, secrets, name.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// An application as the admin API shows it (JSON).
    Show {
        #[arg(long)]
        tenant: String,
        /// The client id (appId).
        #[arg(long)]
        app: String,
    },
    /// Delete an application (one declared in config comes back at the next start).
    Delete {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        app: String,
    },
    /// Add a client secret, printed once.
    AddSecret {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        app: String,
        /// What the secret is for, e.g. "CI".
        #[arg(long)]
        name: Option<String>,
        /// Days until it expires.
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Give a user a directory role.
    Assign {
        #[arg(long)]
        tenant: String,
        /// The user's email address or object id.
        #[arg(long)]
        user: String,
        /// The role's name (e.g. "Directory Readers") or definition id.
        #[arg(long)]
        role: String,
    },
    /// List who holds which role.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Take a directory role from a user.
    Remove {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        role: String,
    },
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    // The wire name, or config's (`device_code`).
    GrantType::parse(s)
        .or_else(|| serde_json::from_value(serde_json::Value::String(s.to_string())).ok())
        .ok_or_else(|| format!("unknown grant type '{s}' (authorization_code, refresh_token, client_credentials or device_code)"))
}

/// Checked as config and the admin API check it (clap names the flag).
fn parse_logout_uri(s: &str) -> Result<String, String> {
    apps::logout_uri("URI", s)
}

fn parse_alg(s: &str) -> Result<Alg, String> {
    match s.to_ascii_uppercase().as_str() {
        "ES256" => Ok(Alg::ES256),
        "RS256" => Ok(Alg::RS256),
        _ => Err(format!("unknown algorithm '{s}' (ES256 or RS256)")),
    }
}

fn parse_cloud(s: &str) -> Result<Cloud, String> {
    match s {
        "global" => Ok(Cloud::Global),
        "usgov" => Ok(Cloud::Usgov),
        "china" => Ok(Cloud::China),
        _ => Err(format!("unknown cloud '{s}' (global, usgov or china)")),
    }
}

/// The configuration, and whether the default file was missing (said once logging is up).
fn load_config(path: &std::path::Path) -> anyhow::Result<(Config, bool)> {
    let file = if path.exists() {
        Some(path)
    } else if path == std::path::Path::new(DEFAULT_CONFIG) {
        None
    } else {
        bail!("config file {} not found", path.display());
    };
    let config = Config::load(file).map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    Ok((config, file.is_none()))
}

/// Logs to standard error in `log.format`, at the levels `RUST_LOG` sets
/// (else `default_filter`); colour only on a terminal without `NO_COLOR`.
fn init_logging(log: &crate::config::LogConfig, default_filter: &str) {
    use crate::config::LogFormat;
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = match log.format {
        LogFormat::Auto => !terminal,
        LogFormat::Text => false,
        LogFormat::Json => true,
    };
    if json {
        // The request's span carries its ids, client, tenant and app.
        builder.json().with_current_span(true).with_span_list(false).init();
    } else {
        builder.with_ansi(terminal && std::env::var_os("NO_COLOR").is_none()).init();
    }
}

/// A one-shot command's changes go to the directory audit log as the operator's.
fn audit(idp: &Idp, tenant: &crate::model::Tenant, category: &'static str, activity: &str, target: Target) {
    idp.audit.change(Change::new(&tenant.id, Actor::Operator, category, activity, vec![target]));
}

/// Makes a one-shot command's writes durable: its audit entries, then the
/// store; and sends the logout tokens it caused (a disabled user's apps).
async fn done(idp: &Idp) -> anyhow::Result<()> {
    let unsent = idp.logout_notices.settle(LOGOUT_SETTLING).await;
    if unsent > 0 {
        tracing::warn!(unsent, "back-channel logouts not sent before the command ended");
    }
    idp.audit.flush().await;
    Ok(idp.store.flush().await?)
}

/// How long a one-shot command waits for the logout tokens it caused.
const LOGOUT_SETTLING: std::time::Duration = std::time::Duration::from_secs(10);

/// The store and context for one-shot admin commands (no config seeding).
async fn open(config: Config) -> anyhow::Result<Idp> {
    config.validate()?;
    let store = crate::server::open_store(&config.store).await?;
    Ok(Idp::new(config, store).await?)
}

/// Parses the arguments and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server logs what it does; one-shot commands only what goes wrong
    // (their output is the report).
    let default_filter = if matches!(cli.command, Command::Serve) { "info,actix_server=warn" } else { "warn" };
    let (config, no_file) = load_config(&cli.config)?;
    init_logging(&config.log, default_filter);
    if no_file {
        tracing::warn!("{DEFAULT_CONFIG} not found; using built-in defaults and the environment");
    }
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Keys { command } => keys_command(open(config).await?, command).await,
        Command::Tenant { command } => tenant_command(config, command).await,
        Command::User { command } => user_command(open(config).await?, command).await,
        Command::App { command } => app_command(open(config).await?, command).await,
        Command::Role { command } => role_command(open(config).await?, command).await,
        Command::Invite { csv, tenant } => invite_command(open(config).await?, &csv, &tenant).await,
        Command::Health { url } => health(&config, url).await,
        Command::Store { command } => store_command(config, command).await,
        Command::Guests { command: GuestsCommand::Sweep } => {
            let idp = open(config).await?;
            let disabled = lifecycle::sweep(&idp).await?;
            done(&idp).await?;
            for user in &disabled {
                println!("disabled {} in tenant {} (home account gone)", user.email, user.tenant_id);
            }
            println!("{} guest(s) disabled", disabled.len());
            Ok(())
        }
    }
}

/// `/readyz` of this configuration's server (its bind address, on loopback
/// when it binds every interface), or of `url`.
async fn health(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let url = match url {
        Some(url) => url,
        None => {
            let port = config.server.bind.rsplit_once(':').map_or("8080", |(_, port)| port);
            let scheme = if config.server.tls_cert.is_some() { "https" } else { "http" };
            format!("{scheme}://127.0.0.1:{port}/readyz")
        }
    };
    // The server's own certificate may name its public host, not loopback.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .danger_accept_invalid_certs(url.starts_with("https://127.0.0.1"))
        .build()?;
    let response = http.get(&url).send().await.with_context(|| format!("{url} does not answer"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}: not ready", response.status());
    }
    println!("ready");
    Ok(())
}

async fn store_command(config: Config, command: StoreCommand) -> anyhow::Result<()> {
    match command {
        StoreCommand::NewKey => {
            use base64::Engine;
            println!("{}", base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>()));
        }
        StoreCommand::Rekey { new_key_file } => {
            let text = std::fs::read_to_string(&new_key_file).with_context(|| format!("{}", new_key_file.display()))?;
            let new = crate::config::encryption_key(&Secret(text)).map_err(|e| anyhow::anyhow!("{}: {e}", new_key_file.display()))?;
            config.validate()?;
            let vault = crate::vault::Vault::rekeying(&config.store, &new)?;
            let store = crate::server::open_store(&config.store).await?;
            let done = crate::vault::rekey::rekey(store.as_ref(), &vault).await?;
            store.flush().await?;
            println!(
                "re-sealed under key {}: {} signing keys, {} TOTP secrets, {} client secrets, {} server secrets; {} already under it",
                vault.sealing_key_id().unwrap_or_default(),
                done.signing_keys,
                done.totp_secrets,
                done.client_secrets,
                done.server_secrets,
                done.already_current
            );
            if done.moved() > 0 {
                println!(
                    "run it again once no instance seals with an older key: when it moves nothing, every secret is under this key \
                     and older keys can leave store.old_encryption_keys (servers: store.encryption_key = this key, e.g. \
                     B2B_IDP__STORE__ENCRYPTION_KEY_FILE={})",
                    new_key_file.display()
                );
            }
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let mut running = server::start(config, None).await?;
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        result = running.wait() => return result,
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
    running.stop().await
}

async fn keys_command(idp: Idp, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { tenant, alg } => {
            let tenant = idp.tenant(&tenant).await?;
            let key = keys::rotate(idp.store.as_ref(), &idp.vault, &tenant.id, alg.unwrap_or(tenant.signing_alg)).await?;
            audit(&idp, &tenant, "KeyManagement", "Rotate signing key", Target::new("Key", &key.kid, key.alg.as_str()));
            done(&idp).await?;
            println!("tenant {}: new active {} key {}", tenant.name, key.alg.as_str(), key.kid);
        }
        KeysCommand::List { tenant } => {
            let tenant = idp.tenant(&tenant).await?;
            for key in idp.store.keys(&tenant.id).await? {
                let state = key.retired_at.map_or("active".to_string(), |at| format!("retired at {at}"));
                println!("{}\t{}\t{:?}\t{}", key.kid, key.alg.as_str(), key.source, state);
            }
        }
    }
    Ok(())
}

async fn tenant_command(config: Config, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::List => {
            let idp = open(config).await?;
            for t in idp.store.tenants().await? {
                println!("{}\t{}\t{}\t{}", t.name, t.id, t.region_scope, idp.issuer(&t));
            }
        }
        TenantCommand::Create { name, display_name, cloud, domains } => {
            let seed = TenantSeed { name, display_name, cloud, domains, ..TenantSeed::default() };
            let idp = open(config).await?;
            seed::apply(&idp, std::slice::from_ref(&seed)).await?;
            let tenant = idp.tenant(&seed.name).await?;
            println!("tenant {} created: id {}, issuer {}", tenant.name, tenant.id, idp.issuer(&tenant));
        }
    }
    Ok(())
}

async fn user_command(idp: Idp, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { tenant, email, name, roles, password_stdin } => {
            let tenant = idp.tenant(&tenant).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
                Some(Secret(line.trim_end_matches(['\r', '\n']).to_string()))
            } else {
                None
            };
            let user_seed = UserSeed { email, display_name: name, password, roles, ..UserSeed::default() };
            let user = crate::directory::users::create_member(&idp, &tenant, &user_seed).await?;
            audit(&idp, &tenant, "UserManagement", "Add user", Target::new("User", &user.id, &user.email));
            done(&idp).await?;
            println!("user {} created in {}: oid {}", user.email, tenant.name, user.id);
        }
        UserCommand::Unlock { tenant, user } => {
            let (tenant, found) = find_user(&idp, &tenant, &user).await?;
            let cleared = crate::directory::users::unlock(&idp, &tenant, &Caller::operator(), &found.id).await?;
            done(&idp).await?;
            println!("{}: sign-in lockouts cleared ({cleared} counter(s))", found.email);
        }
        UserCommand::Disable { tenant, user } => set_enabled(&idp, &tenant, &user, false).await?,
        UserCommand::Enable { tenant, user } => set_enabled(&idp, &tenant, &user, true).await?,
        UserCommand::Delete { tenant, user } => {
            let (tenant, found) = find_user(&idp, &tenant, &user).await?;
            crate::directory::users::delete(&idp, &tenant, &Caller::operator(), &found.id).await?;
            done(&idp).await?;
            println!("{}: deleted", found.email);
        }
        UserCommand::List { tenant } => {
            let tenant = idp.tenant(&tenant).await?;
            let mut pages = crate::store::UserPages::new(idp.store.as_ref(), &tenant.id, 500);
            while let Some(page) = pages.next().await? {
                for u in page {
                    let state = if u.enabled { "enabled" } else { "disabled" };
                    println!("{}\t{}\t{}\t{state}\t{}", u.id, u.email, u.user_type.as_str(), u.roles.join(","));
                }
            }
        }
    }
    Ok(())
}

/// `user disable` and `user enable`: the admin API's `accountEnabled`.
async fn set_enabled(idp: &Idp, tenant: &str, user: &str, enable: bool) -> anyhow::Result<()> {
    let (tenant, found) = find_user(idp, tenant, user).await?;
    let changes = crate::directory::users::UserChanges { account_enabled: Some(enable), ..Default::default() };
    crate::directory::users::update(idp, &tenant, &Caller::operator(), &found.id, changes).await?;
    done(idp).await?;
    println!("{}: {}", found.email, if enable { "enabled" } else { "disabled; its sessions and refresh grants ended" });
    Ok(())
}

/// A tenant's user named by object id or email address.
async fn find_user(idp: &Idp, tenant: &str, user: &str) -> anyhow::Result<(crate::model::Tenant, crate::model::User)> {
    let tenant = idp.tenant(tenant).await?;
    let found = crate::directory::users::find(idp, &tenant, user).await?;
    let found = found.with_context(|| format!("no user {user} in {}", tenant.name))?;
    Ok((tenant, found))
}

async fn invite_command(idp: Idp, csv: &std::path::Path, tenant: &str) -> anyhow::Result<()> {
    let tenant = idp.tenant(tenant).await?;
    let file = tokio::fs::File::open(csv).await.with_context(|| format!("opening {}", csv.display()))?;
    let started = std::time::Instant::now();
    let progress = |t: &bulk::Tally| {
        if t.rows.is_multiple_of(500) {
            eprint!("\r{} rows: {} created, {} already invited, {} refused", t.rows, t.created, t.already_invited, t.refused);
        }
    };
    let tally = bulk::run(&idp, &tenant, &Caller::operator(), file, tokio::io::stdout(), progress).await?;
    done(&idp).await?;
    eprintln!(
        "\r{} rows: {} created, {} already invited, {} refused ({:.1} s)",
        tally.rows,
        tally.created,
        tally.already_invited,
        tally.refused,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn app_command(idp: Idp, command: AppCommand) -> anyhow::Result<()> {
    let operator = Caller::operator();
    match command {
        AppCommand::Create {
            tenant,
            client_id,
            name,
            redirect_uris,
            public,
            grants,
            key_credentials,
            single_use_client_assertions,
            require_pushed_authorization_requests,
            backchannel_logout_uri,
            frontchannel_logout_uri,
        } => {
            let secret = (!public && key_credentials.is_empty()).then(random_token);
            let seed = AppSeed {
                client_id,
                display_name: name,
                secret: secret.clone().map(Secret),
                redirect_uris,
                grant_types: if grants.is_empty() { crate::config::default_grants() } else { grants },
                key_credentials,
                single_use_client_assertions,
                require_pushed_authorization_requests,
                backchannel_logout_uri,
                frontchannel_logout_uri,
                ..AppSeed::default()
            };
            create_app(&idp, &tenant, seed).await?;
            if let Some(secret) = secret {
                println!("client secret (shown once): {secret}");
            }
        }
        AppCommand::List { tenant } => {
            let tenant = idp.tenant(&tenant).await?;
            let mut request = PageRequest { top: MAX_TOP, after: None, count: false };
            loop {
                let page = apps::list(&idp, &tenant, &operator, &Filter::default(), &request).await?;
                for app in &page.value {
                    let kind = app.platform.graph_name();
                    println!("{}\t{kind}\t{} secret(s)\t{}", app.app_id, app.password_credentials.len(), app.display_name);
                }
                let Some(last) = page.value.last().filter(|_| page.skiptoken.is_some()) else { break };
                request.after = Some(last.app_id.clone());
            }
        }
        AppCommand::Show { tenant, app } => {
            let tenant = idp.tenant(&tenant).await?;
            println!("{}", serde_json::to_string_pretty(&apps::get(&idp, &tenant, &operator, &app).await?)?);
        }
        AppCommand::Delete { tenant, app } => {
            let tenant = idp.tenant(&tenant).await?;
            apps::delete(&idp, &tenant, &operator, &app).await?;
            done(&idp).await?;
            println!("application {app} deleted from {}", tenant.name);
        }
        AppCommand::AddSecret { tenant, app, name, days } => {
            let tenant = idp.tenant(&tenant).await?;
            let end = crate::util::rfc3339_ms(crate::util::now_ms() + i64::from(days) * 86_400_000);
            let new = apps::NewPassword { display_name: name, end_date_time: Some(end) };
            let added = apps::add_password(&idp, &tenant, &operator, &app, new).await?;
            done(&idp).await?;
            println!("secret {} of {app}, valid until {}", added.key_id, added.end_date_time.unwrap_or_default());
            println!("client secret (shown once): {}", added.secret_text.unwrap_or_default());
        }
    }
    Ok(())
}

async fn role_command(idp: Idp, command: RoleCommand) -> anyhow::Result<()> {
    let operator = Caller::operator();
    match command {
        RoleCommand::Assign { tenant, user, role } => {
            let (tenant, found) = find_user(&idp, &tenant, &user).await?;
            let new = roles::NewRoleAssignment {
                principal_id: found.id.clone(),
                role_definition_id: role_id(&role)?.to_string(),
                directory_scope_id: "/".into(),
                odata_type: None,
            };
            roles::assign(&idp, &tenant, &operator, new).await?;
            done(&idp).await?;
            println!("{}: now holds {role}", found.email);
        }
        RoleCommand::Remove { tenant, user, role } => {
            let (tenant, found) = find_user(&idp, &tenant, &user).await?;
            roles::remove(&idp, &tenant, &operator, &format!("{}_{}", role_id(&role)?, found.id)).await?;
            done(&idp).await?;
            println!("{}: no longer holds {role}", found.email);
        }
        RoleCommand::List { tenant } => {
            let tenant = idp.tenant(&tenant).await?;
            let mut pages = crate::store::UserPages::new(idp.store.as_ref(), &tenant.id, 500);
            while let Some(page) = pages.next().await? {
                for u in page.iter().filter(|u| !u.roles.is_empty()) {
                    println!("{}\t{}\t{}\t{}", u.id, u.email, u.user_type.as_str(), u.roles.join(","));
                }
            }
        }
    }
    Ok(())
}

/// A role's definition id from its name (any case) or id.
fn role_id(role: &str) -> anyhow::Result<&'static str> {
    crate::directory::access::DIRECTORY_ROLES
        .iter()
        .find(|(name, id)| name.eq_ignore_ascii_case(role) || *id == role)
        .map(|(_, id)| *id)
        .with_context(|| format!("there is no directory role '{role}'"))
}

async fn create_app(idp: &Idp, tenant: &str, app_seed: AppSeed) -> anyhow::Result<()> {
    let tenant = idp.tenant(tenant).await?;
    if idp.store.app(&tenant.id, &app_seed.client_id).await?.is_some() {
        bail!("application '{}' already exists in {}", app_seed.client_id, tenant.name);
    }
    let app = seed::app_from_seed(&tenant, &app_seed)?;
    idp.store.put_app(&app).await?;
    audit(idp, &tenant, "ApplicationManagement", "Add application", Target::new("Application", &app.client_id, &app.display_name));
    done(idp).await?;
    println!("application {} registered in {}", app.client_id, tenant.name);
    for key in &app.key_credentials {
        println!(
            "key {} ({}), valid until {}",
            key.key_id,
            key.display_name.as_deref().unwrap_or("unnamed"),
            crate::util::rfc3339_ms(key.end_ms)
        );
    }
    Ok(())
}
