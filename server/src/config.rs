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
    /// Folder holding the SQLite store (`vaka.sqlite3`).
    pub data_dir: PathBuf,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("vaka-data"),
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
        }
    }
}

impl Config {
    /// The path of the SQLite database inside the data folder.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("vaka.sqlite3")
    }
}
