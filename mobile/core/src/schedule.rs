//! Background sync: runs [`Device::sync_once`] at once, then on a timer while things go well,
//! at once when nudged (after logging something, on coming to the foreground), and after a
//! failure again after an exponential backoff with jitter, until stopped (or until the phone
//! wiped itself: a lost or retired phone has nothing more to sync).

use super::Device;
use super::error::DeviceError;
use super::sync::SyncReport;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// When background sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Wait between syncs while they succeed.
    pub interval: Duration,
    /// Shortest wait after a failure.
    pub min_backoff: Duration,
    /// Longest wait after failures.
    pub max_backoff: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
        }
    }
}

/// How long to wait before the next sync, given how the last ones went.
#[derive(Debug)]
pub struct RetryPolicy {
    config: SchedulerConfig,
    backoff: Option<ExponentialBackoff>,
}

impl RetryPolicy {
    /// A policy with no failures yet.
    pub fn new(config: SchedulerConfig) -> Self {
        Self {
            config,
            backoff: None,
        }
    }

    /// The wait after a sync that succeeded: the interval. Forgets earlier failures.
    pub fn after_success(&mut self) -> Duration {
        self.backoff = None;
        self.config.interval
    }

    /// The wait after a failed sync: doubling from `min_backoff` with each failure in a row.
    /// Jitter adds up to the delay again, so the base delay is capped at half of
    /// `max_backoff` and no wait exceeds `max_backoff`.
    pub fn after_failure(&mut self) -> Duration {
        let config = self.config;
        let backoff = self.backoff.get_or_insert_with(|| {
            ExponentialBuilder::default()
                .with_factor(2.0)
                .with_min_delay(config.min_backoff)
                .with_max_delay((config.max_backoff / 2).max(config.min_backoff))
                .with_jitter()
                .without_max_times()
                .build()
        });
        backoff
            .next()
            .unwrap_or(config.max_backoff)
            .min(config.max_backoff)
    }
}

/// The result of one background sync.
pub type SyncOutcome = Result<SyncReport, Arc<DeviceError>>;

/// A running background sync. Dropping it does not stop it; call [`SyncScheduler::stop`].
#[derive(Debug)]
pub struct SyncScheduler {
    nudge: Arc<Notify>,
    stop: watch::Sender<bool>,
    outcomes: watch::Receiver<Option<SyncOutcome>>,
    task: JoinHandle<()>,
}

impl SyncScheduler {
    /// Starts syncing `device` in the background (on the current tokio runtime).
    pub fn start(device: Device, http: reqwest::Client, config: SchedulerConfig) -> Self {
        let nudge = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let (outcome_tx, outcomes) = watch::channel(None);
        let task = tokio::spawn(run(
            device,
            http,
            RetryPolicy::new(config),
            Arc::clone(&nudge),
            stop_rx,
            outcome_tx,
        ));
        Self {
            nudge,
            stop,
            outcomes,
            task,
        }
    }

    /// Asks for a sync now (if one is running, another follows it at once).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// A handle the app can keep to nudge without holding the scheduler.
    pub fn nudger(&self) -> Arc<Notify> {
        Arc::clone(&self.nudge)
    }

    /// The outcome of each sync as it finishes (`None` before the first).
    pub fn outcomes(&self) -> watch::Receiver<Option<SyncOutcome>> {
        self.outcomes.clone()
    }

    /// Stops the background sync (abandoning a round trip in flight; nothing half-applied
    /// remains) and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "background sync ended badly");
        }
    }
}

async fn run(
    device: Device,
    http: reqwest::Client,
    mut policy: RetryPolicy,
    nudge: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    outcomes: watch::Sender<Option<SyncOutcome>>,
) {
    loop {
        let result = tokio::select! {
            result = device.sync_once(&http) => result,
            _ = stop.changed() => return,
        };
        let wait = match &result {
            Ok(report) => {
                tracing::debug!(?report, "synced");
                policy.after_success()
            }
            Err(error) => {
                let wait = policy.after_failure();
                tracing::info!(%error, retry_in = ?wait, "sync failed");
                wait
            }
        };
        let wiped = match &result {
            Ok(report) => report.wiped.is_some(),
            Err(error) => matches!(error, DeviceError::Wiped(_)),
        };
        outcomes.send_replace(Some(result.map_err(Arc::new)));
        if wiped {
            tracing::info!("the phone wiped itself; background sync ends");
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = nudge.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            interval: Duration::from_secs(60),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_up_to_the_maximum() {
        let mut policy = RetryPolicy::new(config());
        let waits: Vec<Duration> = (0..20).map(|_| policy.after_failure()).collect();
        // The n-th failure waits between 2^n and 2^(n+1) seconds (jitter), within the bounds.
        for (n, wait) in waits.iter().take(6).enumerate() {
            let base = Duration::from_secs(1 << n);
            assert!(*wait >= base && *wait <= base * 2, "failure {n}: {wait:?}");
        }
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(300)));
        // Later failures sit at the cap of 150 s plus jitter.
        assert!(
            waits[15..].iter().all(|w| *w >= Duration::from_secs(150)),
            "{waits:?}"
        );
    }

    #[test]
    fn a_success_resets_the_backoff_and_waits_the_interval() {
        let mut policy = RetryPolicy::new(config());
        for _ in 0..8 {
            policy.after_failure();
        }
        assert_eq!(policy.after_success(), Duration::from_secs(60));
        assert!(policy.after_failure() <= Duration::from_secs(2));
    }

    #[test]
    fn jitter_spreads_retries_of_many_devices() {
        let waits: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| {
                let mut policy = RetryPolicy::new(config());
                policy.after_failure();
                policy.after_failure()
            })
            .collect();
        assert!(
            waits.len() > 1,
            "all devices would retry at once: {waits:?}"
        );
    }
}
