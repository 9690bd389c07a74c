//! The server's configuration: one struct, its defaults in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vaka_shared::sync::limits;

/// Everything the server can be configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder holding the SQLite store (`vaka.sqlite3`), when [`Config::database`] is not set.
    pub data_dir: PathBuf,
    /// The PostgreSQL database to serve from (`postgres://USER@HOST:PORT/DB`); `None`: the
    /// SQLite store in [`Config::data_dir`].
    pub database: Option<String>,
    /// How far an op's clock may run ahead of the server's before it is refused, in ms.
    pub max_clock_ahead_ms: i64,
    /// Most ops in one push.
    pub max_push_ops: usize,
    /// Largest pull page.
    pub max_pull_page: u32,
    /// Pull page size when the device names none.
    pub default_pull_page: u32,
    /// Largest request body after decompression, in bytes.
    pub max_body_bytes: usize,
    /// How long an enrolment code stays valid.
    pub enrollment_code_ttl: Duration,
    /// Most write requests committed together in one transaction.
    pub max_group_commit: usize,
    /// Read connections in the pool.
    pub read_connections: u32,
    /// Most sync requests handled at once; more wait their turn.
    pub max_concurrent_syncs: usize,
    /// How long a dashboard session lasts after sign-in.
    pub session_ttl: Duration,
    /// Mark the dashboard's cookies `Secure` (set when the server is reached over TLS).
    pub secure_cookies: bool,
    /// The address phones reach the server at (`https://vaka.example.se`), carried by the
    /// enrolment QR code; `None`: `http://` and [`Config::listen`]. Behind a proxy the server
    /// cannot know it, so it is configured (`--public-url`).
    pub public_url: Option<String>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// When set, `/metrics` is served only on this address (by `web::metrics_router`), not
    /// beside the API.
    pub metrics_listen: Option<SocketAddr>,
    /// Most connections open at once on `metrics_listen` (a scraper or two, not the public).
    pub metrics_max_connections: usize,
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a connection may wait for a request (new, or kept alive after the last one)
    /// without sending a byte before it is closed.
    pub idle_timeout: Duration,
    /// How long a request's head may take to arrive once its first byte has.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive once its head has (answered 408 after).
    pub body_read_timeout: Duration,
    /// How often devices' last sync times noted by pull-only syncs are written.
    pub last_sync_flush: Duration,
    /// How often entries past their organisation's retention period are purged (also once at
    /// start).
    pub purge_interval: Duration,
    /// Sign-in limits: password checks at once, waiting checks, delays after failures.
    pub sign_in: SignInLimits,
    /// Notifications: the SMTP server, webhook limits, the delivery worker's timing.
    pub notify: NotifyConfig,
}

/// How notifications are sent (`crate::notify`).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The SMTP server e-mail notifications go through; `None`: e-mail deliveries fail with
    /// "no SMTP server is set up" (webhooks still work).
    pub smtp: Option<SmtpConfig>,
    /// Allow webhooks to private, loopback and link-local addresses (an operator's own network;
    /// the tests' loopback receivers). Off by default: a webhook can then reach only the public
    /// internet.
    pub allow_private_targets: bool,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    /// How often the police no-show rules are checked.
    pub no_show_interval: Duration,
    /// How long one delivery attempt may take (webhook request, SMTP conversation).
    pub timeout: Duration,
    /// How long a claimed delivery stays with the process that claimed it; longer than
    /// [`NotifyConfig::timeout`], so no other process takes it while it is being sent.
    pub lease: Duration,
    /// Deliveries claimed at once by one process.
    pub batch: usize,
    /// The waits between attempts; when used up, the delivery has failed.
    pub retry_delays: Vec<Duration>,
}

/// An SMTP server to send e-mail through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Its host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The user to sign in as, if the server needs one.
    pub username: Option<String>,
    /// Their password.
    pub password: Option<String>,
    /// The sender (`Vaka <vaka@kommun.se>`).
    pub from: String,
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// None (a relay on the same machine or network only).
    None,
    /// STARTTLS on the submission port (usually 587).
    StartTls,
    /// TLS from the first byte (usually 465).
    Tls,
}

impl SmtpTls {
    /// The mode named `none`, `starttls` or `tls`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            allow_private_targets: false,
            poll_interval: Duration::from_secs(1),
            no_show_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(15),
            lease: Duration::from_secs(120),
            batch: 16,
            retry_delays: crate::notify::default_retry_delays(),
        }
    }
}

/// How dashboard sign-in is bounded. Failures are counted per sign-in name, per client address
/// and overall; past a free number of failures each further attempt of that scope must wait a
/// delay that doubles with every failure, up to a cap. A browser that signed in as that name
/// before (it holds a trusted-browser cookie) is not held back by the name's or the overall
/// count, only by its own failures, so guessing at a name cannot lock its owner out.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Password checks running at once (argon2id costs 19 MiB and tens of ms each).
    pub checks_at_once: usize,
    /// Checks that may wait for a free slot; more are answered 429 at once.
    pub queue: usize,
    /// The window failures are counted in.
    pub window: Duration,
    /// Failures per name within the window before delays start.
    pub free_per_name: u32,
    /// Failures per client address within the window before delays start.
    pub free_per_address: u32,
    /// Failures overall within the window before delays start (for browsers not trusted).
    pub free_overall: u32,
    /// The first delay; each further failure doubles it.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long a browser stays trusted for a name after signing in.
    pub trusted_browser_ttl: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            checks_at_once: cores,
            queue: cores * 16,
            window: Duration::from_secs(60 * 60),
            free_per_name: 5,
            free_per_address: 20,
            free_overall: 200,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            trusted_browser_ttl: Duration::from_secs(90 * 24 * 60 * 60),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("vaka-data"),
            database: None,
            max_clock_ahead_ms: limits::MAX_CLOCK_AHEAD_MS,
            max_push_ops: limits::MAX_PUSH_OPS,
            max_pull_page: limits::MAX_PULL_PAGE,
            default_pull_page: limits::DEFAULT_PULL_PAGE,
            max_body_bytes: limits::MAX_BODY_BYTES,
            enrollment_code_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            max_group_commit: 256,
            read_connections: 8,
            max_concurrent_syncs: 64,
            session_ttl: Duration::from_secs(8 * 60 * 60),
            secure_cookies: false,
            public_url: None,
            metrics_token: None,
            metrics_listen: None,
            metrics_max_connections: 16,
            max_connections: 2048,
            idle_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            last_sync_flush: Duration::from_secs(5),
            purge_interval: Duration::from_secs(60 * 60),
            sign_in: SignInLimits::default(),
            notify: NotifyConfig::default(),
        }
    }
}

impl Config {
    /// The address phones reach the server at: [`Config::public_url`], or `http://` and the
    /// listen address; never with a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The path of the SQLite database inside the data folder.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("vaka.sqlite3")
    }
}
