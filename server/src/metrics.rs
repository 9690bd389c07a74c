//! Prometheus metrics of the server, served as text at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Labels of the op outcome counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `accepted`, `duplicate`, `rejected` or `stopped`.
    pub outcome: &'static str,
}

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The endpoint (`sync`, `enroll`).
    pub endpoint: &'static str,
    /// The HTTP status code.
    pub status: u16,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ops: Family<OutcomeLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    pulled: Counter,
    commit_jobs: Histogram,
    commit_seconds: Histogram,
    sync_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vaka");
        let ops = Family::<OutcomeLabels, Counter>::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let pulled = Counter::default();
        let commit_jobs = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let sync_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("ops", "Pushed ops by outcome", ops.clone());
        registry.register(
            "requests",
            "API requests by endpoint and status",
            requests.clone(),
        );
        registry.register("pulled_ops", "Ops handed out by pulls", pulled.clone());
        registry.register(
            "commit_group_jobs",
            "Write jobs committed per transaction",
            commit_jobs.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time to run and commit one group transaction",
            commit_seconds.clone(),
        );
        registry.register(
            "sync_seconds",
            "Time to answer a sync request",
            sync_seconds.clone(),
        );
        Self {
            registry,
            ops,
            requests,
            pulled,
            commit_jobs,
            commit_seconds,
            sync_seconds,
        }
    }
}

impl Metrics {
    /// Counts `n` pushed ops with `outcome`.
    pub fn count_ops(&self, outcome: &'static str, n: usize) {
        self.ops
            .get_or_create(&OutcomeLabels { outcome })
            .inc_by(n as u64);
    }

    /// Counts a request.
    pub fn count_request(&self, endpoint: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
    }

    /// Counts ops handed out by a pull.
    pub fn count_pulled(&self, n: usize) {
        self.pulled.inc_by(n as u64);
    }

    /// Records one group commit.
    pub fn observe_commit(&self, jobs: usize, took: Duration) {
        self.commit_jobs.observe(jobs as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// Records the time a sync request took.
    pub fn observe_sync(&self, took: Duration) {
        self.sync_seconds.observe(took.as_secs_f64());
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::error!("cannot encode metrics");
        }
        text
    }
}
