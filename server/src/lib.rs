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
    /// Opens (creating and migrating) the store in `config.data_dir`.
    pub fn open(config: Config) -> Result<Self, StoreError> {
        let metrics = Arc::new(Metrics::default());
        let store = Store::open(
            &config.database_path(),
            config.read_connections,
            config.max_group_commit,
            metrics.clone(),
        )?;
        Ok(Self {
            state: AppState {
                store,
                config: Arc::new(config),
                metrics,
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

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr: SocketAddr = listener.local_addr()?;
        tracing::info!(%addr, "serving");
        // `into_make_service` shares one route table; serving the `Router` itself would rebuild
        // the table for every connection and keep that copy as long as the connection lives.
        axum::serve(listener, self.router().into_make_service())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
