//! The Vaka sync server: the sync API, accounts and devices, the SQLite store and the CLI.
//!
//! `store` owns SQLite (one group-committing writer, pooled readers); `sync` applies pushes and
//! serves pulls with the shared merge; `web` is the HTTP surface; `cli` the `vaka-server` binary.

pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod metrics;
pub mod notify;
pub mod passwords;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod web;

pub use config::Config;
use metrics::Metrics;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use store::{Store, StoreError};

/// What every request handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The configuration.
    pub config: Arc<Config>,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Devices' sync times waiting for the next batched write.
    pub last_sync: sync::LastSync,
    /// The bounded pool that checks dashboard passwords.
    pub passwords: passwords::PasswordChecker,
}

/// The server's clock, Unix milliseconds.
pub fn now_ms() -> i64 {
    vaka_shared::Timestamp::now_utc().unix_ms()
}

/// A server with its store opened, ready to serve.
#[derive(Debug, Clone)]
pub struct Server {
    state: AppState,
}

impl Server {
    /// Opens (creating and migrating) the store: the PostgreSQL database `config.database`
    /// when it is set, else the SQLite store in `config.data_dir`.
    pub async fn open(config: Config) -> Result<Self, StoreError> {
        let metrics = Arc::new(Metrics::default());
        let store = match &config.database {
            Some(url) => {
                Store::open_postgres(
                    url,
                    config.read_connections as usize,
                    config.max_group_commit,
                    metrics.clone(),
                )
                .await?
            }
            None => Store::open(
                &config.database_path(),
                config.read_connections,
                config.max_group_commit,
                metrics.clone(),
            )?,
        };
        let passwords =
            passwords::PasswordChecker::start(config.sign_in.checks_at_once, config.sign_in.queue);
        Ok(Self {
            state: AppState {
                store,
                config: Arc::new(config),
                metrics,
                last_sync: sync::LastSync::default(),
                passwords,
            },
        })
    }

    /// The store, for admin commands and tests.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The HTTP routes.
    pub fn router(&self) -> axum::Router {
        web::router(self.state.clone())
    }

    /// The metrics, for the accept loop's open connections gauge
    /// ([`Metrics::open_connection`]).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.state.metrics
    }

    /// The routes of the metrics listen address (`Config::metrics_listen`): `/metrics` only.
    pub fn metrics_router(&self) -> axum::Router {
        web::metrics_router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, within the limits of the
    /// configuration (connections, timeouts, body size: see `web::door`).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr: SocketAddr = listener.local_addr()?;
        tracing::info!(%addr, "serving");
        let config = &self.state.config;
        let limits = web::door::DoorLimits {
            max_connections: config.max_connections,
            idle_timeout: config.idle_timeout,
            header_read_timeout: config.header_read_timeout,
            body_read_timeout: config.body_read_timeout,
            max_body_bytes: config.max_body_bytes,
        };
        let flusher = self.flush_last_sync_times();
        let purger = self.purge_on_a_timer();
        let notifier = notify::worker::Worker::new(self.state.clone()).start();
        let served = web::door::serve(
            listener,
            self.router(),
            limits,
            self.state.metrics.clone(),
            shutdown,
        )
        .await;
        flusher.abort();
        purger.abort();
        notifier.abort();
        if let Err(e) = self.state.last_sync.flush(&self.state.store).await {
            tracing::warn!(error = %e, "device sync times not written");
        }
        served
    }

    /// Purges entries past their organisation's retention period: at start, then on a timer
    /// (`Config::purge_interval`).
    fn purge_on_a_timer(&self) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.config.purge_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match state.store.purge_all(now_ms()).await {
                    Ok(summaries) => {
                        for s in summaries.iter().filter(|s| s.entries() > 0) {
                            tracing::info!(
                                org = %s.org_id,
                                entries = s.entries(),
                                held = s.held,
                                "purged entries past the retention period"
                            );
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "purge failed; it runs again later"),
                }
            }
        })
    }

    /// Writes the sync times that pull-only syncs noted, on a timer.
    fn flush_last_sync_times(&self) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.config.last_sync_flush);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = state.last_sync.flush(&state.store).await {
                    tracing::warn!(error = %e, "device sync times not written");
                }
            }
        })
    }
}
