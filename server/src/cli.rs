//! The `vaka-server` command line: serve, demo, and admin subcommands.

use crate::store::admin::MemberToAdd;
use crate::store::retention::PurgeSummary;
use crate::store::sharing::OrgLevel;
use crate::{Config, Server, demo, now_ms, secrets};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// Vaka's sync server.
#[derive(Debug, Parser)]
#[command(name = "vaka-server", version, about)]
struct Cli {
    /// Folder holding the SQLite store (used when --database is not given).
    #[arg(long, global = true, env = "VAKA_DATA", default_value = "vaka-data")]
    data: PathBuf,
    /// Serve from (or run the command on) this PostgreSQL database instead of the SQLite store:
    /// postgres://USER@HOST:PORT/DB. Better given by the environment when it holds a password.
    #[arg(
        long,
        global = true,
        env = "VAKA_DATABASE",
        hide_env_values = true,
        value_name = "URL"
    )]
    database: Option<String>,
    /// Mark dashboard cookies Secure; set this when users reach the server over HTTPS.
    #[arg(long, global = true, env = "VAKA_SECURE_COOKIES")]
    secure_cookies: bool,
    /// The address phones reach the server at (e.g. https://vaka.example.se), carried by the
    /// enrolment QR code; by default http:// and the listen address.
    #[arg(long, global = true, env = "VAKA_PUBLIC_URL")]
    public_url: Option<String>,
    /// How long a dashboard sign-in lasts, in seconds.
    #[arg(long, global = true, env = "VAKA_SESSION_TTL_SECS", default_value_t = 8 * 60 * 60)]
    session_ttl_secs: u64,
    /// Most connections open at once (default 2048).
    #[arg(long, global = true, env = "VAKA_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds a connection may wait for a request without sending a byte (default 30).
    #[arg(long, global = true, env = "VAKA_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// Seconds a request's head may take once its first byte has arrived (default 10).
    #[arg(long, global = true, env = "VAKA_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>,
    /// Seconds a request's body may take once its head has arrived (default 60).
    #[arg(long, global = true, env = "VAKA_BODY_TIMEOUT_SECS")]
    body_timeout_secs: Option<u64>,
    /// Failed sign-ins per name and per client address before delays start (defaults 5 and 20;
    /// overall, ten times this or 200).
    #[arg(long, global = true, env = "VAKA_SIGN_IN_FREE_FAILURES")]
    sign_in_free_failures: Option<u32>,
    /// The SMTP server e-mail notifications are sent through (without it, rules can still post
    /// to webhooks).
    #[arg(long, global = true, env = "VAKA_SMTP_HOST")]
    smtp_host: Option<String>,
    /// Its port (default: 587 with starttls, 465 with tls, 25 with none).
    #[arg(long, global = true, env = "VAKA_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// How the SMTP connection is protected: starttls (the default), tls, or none (a relay on
    /// the same machine or network only).
    #[arg(long, global = true, env = "VAKA_SMTP_TLS", default_value = "starttls", value_parser = parse_smtp_tls)]
    smtp_tls: crate::config::SmtpTls,
    /// The SMTP user, if the server asks for one.
    #[arg(long, global = true, env = "VAKA_SMTP_USER")]
    smtp_user: Option<String>,
    /// The SMTP password (better given by the environment).
    #[arg(
        long,
        global = true,
        env = "VAKA_SMTP_PASSWORD",
        hide_env_values = true
    )]
    smtp_password: Option<String>,
    /// The sender of notification e-mails, e.g. "Vaka <vaka@kommun.se>".
    #[arg(
        long,
        global = true,
        env = "VAKA_SMTP_FROM",
        default_value = "Vaka <vaka@localhost>"
    )]
    smtp_from: String,
    /// Let webhooks reach private, loopback and link-local addresses (your own network). Off:
    /// webhooks reach only the public internet.
    #[arg(long, global = true, env = "VAKA_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (and dashboard) on the store in --data, or on --database.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "VAKA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve /metrics only on this address, not beside the API.
        #[arg(long, env = "VAKA_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Answer /metrics only with `Authorization: Bearer <this>` (better given by the
        /// environment than on the command line, where other users of the machine can see it).
        #[arg(long, env = "VAKA_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// Serve with a demo organisation: areas, a coordinator, volunteers and four weeks of entries.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "VAKA_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage members.
    #[command(subcommand)]
    User(UserCommand),
    /// Print a one-time enrolment code for a member's phone.
    EnrollCode {
        /// The member.
        #[arg(long)]
        member: MemberId,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 168)]
        ttl_hours: i64,
    },
    /// Manage devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Purge entries older than their organisation's retention period now, with every trace of
    /// them (the server also does this every hour while it runs).
    Purge {
        /// Print what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The audit log: verify its chains, set how long an organisation keeps it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a consistent copy of the store to a file (safe while the server runs).
    Backup {
        /// The file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy the SQLite store in a data folder into an empty PostgreSQL database, then check that
    /// every row of every table is the same on both sides. Stop the server first.
    Migrate {
        /// The data folder of the SQLite store.
        #[arg(long, value_name = "DIR")]
        from_data: PathBuf,
        /// The empty PostgreSQL database: postgres://USER@HOST:PORT/DB.
        #[arg(long, value_name = "URL")]
        to_database: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation and print its id.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// `association` (logs entries; the default) or `municipality` (associations may share
        /// their aggregates with it).
        #[arg(long, default_value = "association", value_parser = parse_level)]
        level: OrgLevel,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a member and print their id. With --login, the dashboard password is read from the
    /// first line of standard input.
    Create {
        /// The organisation.
        #[arg(long)]
        org: OrgId,
        /// Display name.
        #[arg(long)]
        name: String,
        /// volunteer, coordinator, admin or liaison (aggregates only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Group, e.g. "Nattvandrarna".
        #[arg(long)]
        group: Option<String>,
        /// Sign-in name for the dashboard.
        #[arg(long)]
        login: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every chain (each record's hash, the links, the numbering) and print each chain's
    /// head hash; exits non-zero naming the first record edited, removed or reordered.
    Verify,
    /// Set how long an organisation keeps its audit log (90 to 3650 days; 1095 by default).
    Retention {
        /// The organisation.
        #[arg(long)]
        org: OrgId,
        /// Days.
        #[arg(long)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Revoke a device's token (a lost phone).
    Revoke {
        /// The device.
        #[arg(long)]
        device: DeviceId,
    },
}

/// One organisation's purge, in a line: what went (or would go) and what was held back.
fn purge_line(summary: &PurgeSummary, dry_run: bool) -> String {
    let cutoff = time::OffsetDateTime::from_unix_timestamp(summary.cutoff_ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_default();
    let kinds = if summary.by_kind.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = summary
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        format!(" ({})", parts.join(", "))
    };
    format!(
        "{}: retention {} days, entries before {cutoff}: {} {} entries{kinds}, {} comments and track segments, {} photos; {} held entries kept",
        summary.org_name,
        summary.retention_days,
        if dry_run { "would remove" } else { "removed" },
        summary.entries(),
        summary.children,
        summary.photos,
        summary.held,
    )
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::from_wire(text)
        .ok_or_else(|| format!("unknown role `{text}` (volunteer, coordinator, admin, liaison)"))
}

fn parse_smtp_tls(text: &str) -> Result<crate::config::SmtpTls, String> {
    crate::config::SmtpTls::from_name(text)
        .ok_or_else(|| format!("{text:?} is not one of starttls, tls, none"))
}

fn parse_level(text: &str) -> Result<OrgLevel, String> {
    OrgLevel::from_wire(text)
        .ok_or_else(|| format!("unknown level `{text}` (association, municipality)"))
}

/// Runs the command line; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vaka_server=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vaka-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut config = Config {
        data_dir: cli.data.clone(),
        database: cli.database.clone(),
        secure_cookies: cli.secure_cookies,
        public_url: cli.public_url.clone(),
        session_ttl: std::time::Duration::from_secs(cli.session_ttl_secs),
        ..Config::default()
    };
    if let Some(url) = &config.public_url {
        let link = vaka_shared::enroll_link::EnrollLink {
            server: url.trim_end_matches('/').to_owned(),
            code: "TEST".to_owned(),
        };
        vaka_shared::enroll_link::EnrollLink::parse(&link.to_string()).map_err(|_| {
            anyhow::anyhow!(
                "--public-url must be an http:// or https:// address without query: {url}"
            )
        })?;
    }
    let secs = std::time::Duration::from_secs;
    if let Some(n) = cli.max_connections {
        config.max_connections = n;
    }
    if let Some(s) = cli.idle_timeout_secs {
        config.idle_timeout = secs(s);
    }
    if let Some(s) = cli.header_timeout_secs {
        config.header_read_timeout = secs(s);
    }
    if let Some(s) = cli.body_timeout_secs {
        config.body_read_timeout = secs(s);
    }
    config.notify.allow_private_targets = cli.webhooks_allow_private;
    config.notify.smtp = cli.smtp_host.clone().map(|host| crate::config::SmtpConfig {
        host,
        port: cli.smtp_port.unwrap_or(match cli.smtp_tls {
            crate::config::SmtpTls::StartTls => 587,
            crate::config::SmtpTls::Tls => 465,
            crate::config::SmtpTls::None => 25,
        }),
        tls: cli.smtp_tls,
        username: cli.smtp_user.clone(),
        password: cli.smtp_password.clone(),
        from: cli.smtp_from.clone(),
    });
    if let Some(n) = cli.sign_in_free_failures {
        config.sign_in.free_per_name = n;
        config.sign_in.free_per_address = n;
        config.sign_in.free_overall = n.saturating_mul(10);
    }
    runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                listen,
                metrics_listen,
                metrics_token,
            } => {
                if metrics_token.as_deref().is_some_and(str::is_empty) {
                    bail!("the metrics token is empty; leave it out to serve /metrics to anyone");
                }
                let config = Config {
                    listen,
                    metrics_listen,
                    metrics_token,
                    ..config
                };
                serve(config, false).await
            }
            Command::Demo { listen } => serve(Config { listen, ..config }, true).await,
            Command::Migrate {
                from_data,
                to_database,
            } => move_store(config, from_data, &to_database).await,
            command => admin(config, command).await,
        }
    })
}

/// `vaka-server migrate`: the SQLite store in `from_data` (brought to the current schema first)
/// copied into the empty PostgreSQL database at `url` and compared row by row.
async fn move_store(config: Config, from_data: PathBuf, url: &str) -> anyhow::Result<()> {
    let config = Config {
        data_dir: from_data,
        ..config
    };
    let path = config.database_path();
    if !path.exists() {
        bail!("no store at {}", path.display());
    }
    // Opening applies the migrations the file lacks; then it is closed again.
    drop(
        Server::open(Config {
            database: None,
            ..config
        })
        .await
        .context("opening the SQLite store")?,
    );
    let pg = crate::store::postgres::PgStore::open(url, 4, 64, std::sync::Arc::default())
        .await
        .context("opening the PostgreSQL database")?;
    let moved = crate::store::postgres::copy::move_store(&path, &pg).await?;
    for (table, rows) in &moved.tables {
        println!("{table}: {rows} rows");
    }
    println!("moved and checked: every row of every table is the same on both sides");
    Ok(())
}

async fn serve(config: Config, with_demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let server = Server::open(config).await.context("opening the store")?;
    if with_demo {
        let demo = demo::ensure(server.store(), now_ms())
            .await
            .context("creating the demo data")?;
        println!("{}", demo.banner(listen));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    println!("vaka-server listening on http://{}", listener.local_addr()?);
    let metrics = match server.config().metrics_listen {
        None => None,
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listening for metrics on {address}"))?;
            println!(
                "vaka-server metrics on http://{}/metrics",
                listener.local_addr()?
            );
            let router = server.metrics_router();
            let config = server.config();
            // The same door as the API's, with few connections.
            let limits = crate::web::door::DoorLimits {
                max_connections: config.metrics_max_connections,
                idle_timeout: config.idle_timeout,
                header_read_timeout: config.header_read_timeout,
                body_read_timeout: config.body_read_timeout,
                max_body_bytes: config.max_body_bytes,
            };
            let metrics = server.metrics().clone();
            Some(tokio::spawn(async move {
                let served = crate::web::door::serve(listener, router, limits, metrics, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "serving metrics failed");
                }
            }))
        }
    };
    let served = server
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving");
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served
}

async fn admin(config: Config, command: Command) -> anyhow::Result<()> {
    let ttl_ms = |hours: i64| hours * 60 * 60 * 1000;
    let server = Server::open(config).await.context("opening the store")?;
    let store = server.store();
    let now = now_ms();
    match command {
        Command::Org(OrgCommand::Create { name, level }) => {
            let id = store.create_org_at(name, level, now).await?;
            println!("{id}");
        }
        Command::User(UserCommand::Create {
            org,
            name,
            role,
            group,
            login,
        }) => {
            let password_hash = match &login {
                None => None,
                Some(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .context("reading the password")?;
                    let password = line.trim_end_matches(['\r', '\n']);
                    if password.chars().count() < 10 {
                        bail!("the password must have at least 10 characters");
                    }
                    Some(
                        secrets::hash_password(password)
                            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
                    )
                }
            };
            let member = MemberToAdd {
                org,
                name,
                role,
                group,
                login,
                password_hash,
            };
            let id = store.add_member(member, now).await?;
            println!("{id}");
        }
        Command::EnrollCode { member, ttl_hours } => {
            let code = store
                .enrolment_code_for(member, ttl_ms(ttl_hours), now)
                .await?;
            match code {
                Some(code) => println!("{code}"),
                None => bail!("no member with id {member}"),
            }
        }
        Command::Device(DeviceCommand::Revoke { device }) => {
            if !store.revoke_device_by_operator(device, now).await? {
                bail!("no active device with id {device}");
            }
            println!("revoked {device}");
        }
        Command::Purge { dry_run } => {
            let summaries = if dry_run {
                store.purge_dry_run(now).await?
            } else {
                store.purge_all(now).await?
            };
            for summary in &summaries {
                println!("{}", purge_line(summary, dry_run));
            }
        }
        Command::Audit(AuditCommand::Verify) => match store.verify_audit().await? {
            Ok(heads) => {
                let records: u64 = heads.iter().map(|h| h.records).sum();
                println!("ok: {records} records in {} chains", heads.len());
                for head in &heads {
                    let chain = if head.org_id.is_empty() {
                        "unknown sign-in names".to_owned()
                    } else {
                        format!("organisation {}", head.org_id)
                    };
                    println!(
                        "{chain}: {} records, head #{} {}",
                        head.records, head.head_seq, head.head_hash
                    );
                }
            }
            Err(damage) => bail!("the audit log is damaged: {damage}"),
        },
        Command::Audit(AuditCommand::Retention { org, days }) => {
            store
                .set_audit_retention(org, days, now)
                .await?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("audit retention of {org}: {days} days");
        }
        Command::Backup { to } => {
            if to.exists() {
                bail!("{} exists already", to.display());
            }
            store.backup_to(&to).await?;
            println!("backup written to {}", to.display());
        }
        Command::Serve { .. } | Command::Demo { .. } | Command::Migrate { .. } => {
            unreachable!("handled by run")
        }
    }
    Ok(())
}
