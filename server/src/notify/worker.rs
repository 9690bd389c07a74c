//! The delivery worker every server process runs: it claims due deliveries under a lease (so no
//! other process takes them while they are being sent), sends each, and records the attempt
//! and what comes next — delivered, tried again after a wait from the schedule, failed for good,
//! or, on a webhook's 410, the endpoint disabled. A second loop checks the police no-show rules
//! on a timer. A process killed mid-delivery leaves its claims to run out; another process, or
//! this one restarted, sends them then.

use super::email::{self, Mailer, Refusal};
use super::webhook::{self, Answer};
use super::{Claimed, Outcome, Target, retry_delay};
use crate::{AppState, now_ms};
use rand::Rng;
use std::time::Duration;

/// What an attempt came to, before the schedule is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// Accepted, with the answer (`HTTP 200`, `SMTP`).
    Accepted(String),
    /// Not accepted; worth another try.
    Transient(String),
    /// Not accepted; another try would end the same.
    Permanent(String),
    /// The webhook endpoint is gone (410).
    Gone,
}

/// The outcome of an attempt that came to `result` after `tries` tries in all (this one
/// included), at `now_ms`: the schedule decides whether a transient failure is tried again.
pub fn decide(
    result: &Attempted,
    tries: u32,
    delays: &[Duration],
    jitter: f64,
    now_ms: i64,
) -> Outcome {
    match result {
        Attempted::Accepted(_) => Outcome::Delivered,
        Attempted::Gone => Outcome::Disabled,
        Attempted::Permanent(_) => Outcome::Failed,
        Attempted::Transient(_) => match retry_delay(delays, tries, jitter) {
            Some(wait) => Outcome::Retry {
                next_ms: now_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
            },
            None => Outcome::Failed,
        },
    }
}

/// What the log says of an attempt that found no SMTP server set up (the dashboard shows it in
/// words).
pub const NO_SMTP: &str = "no SMTP server is set up";

/// The words an attempt is logged with: the receiver's answer or the error, in a line.
fn detail(result: &Attempted) -> String {
    match result {
        Attempted::Gone => "HTTP 410".into(),
        Attempted::Accepted(d) | Attempted::Transient(d) | Attempted::Permanent(d) => d.clone(),
    }
}

/// The worker of one process.
#[derive(Debug, Clone)]
pub struct Worker {
    app: AppState,
    http: reqwest::Client,
    mailer: Option<Mailer>,
}

impl Worker {
    /// A worker for the server `app`.
    pub fn new(app: AppState) -> Self {
        let notify = &app.config.notify;
        let http = webhook::client(notify.timeout, notify.allow_private_targets);
        let mailer = notify.smtp.as_ref().and_then(|smtp| {
            email::mailer(smtp, notify.timeout)
                .inspect_err(|e| tracing::warn!(error = %e, "the SMTP server cannot be used"))
                .ok()
        });
        Self { app, http, mailer }
    }

    /// Runs the delivery loop and the police check until aborted.
    pub fn start(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let notify = &self.app.config.notify;
            let mut deliver = tokio::time::interval(notify.poll_interval);
            deliver.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut police = tokio::time::interval(notify.no_show_interval);
            police.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = deliver.tick() => {
                        // Keep going while whole batches come back: a backlog drains at once.
                        loop {
                            match self.deliver_due().await {
                                Ok(n) if n >= notify.batch => continue,
                                Ok(_) => break,
                                Err(e) => {
                                    tracing::warn!(error = %e, "notifications not delivered now; tried again later");
                                    break;
                                }
                            }
                        }
                    }
                    _ = police.tick() => {
                        match self.app.store.raise_police_no_shows(now_ms()).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(notifications = n, "police no-show rules fired"),
                            Err(e) => tracing::warn!(error = %e, "police no-show check failed; it runs again later"),
                        }
                    }
                }
            }
        })
    }

    /// Claims the deliveries due now and makes one attempt at each; returns how many it
    /// claimed.
    pub async fn deliver_due(&self) -> Result<usize, crate::store::StoreError> {
        let notify = &self.app.config.notify;
        let now = now_ms();
        let lease_ms = i64::try_from(notify.lease.as_millis()).unwrap_or(i64::MAX / 2);
        let token = crate::secrets::new_token();
        let claimed = self
            .app
            .store
            .claim_deliveries(now, now + lease_ms, token, notify.batch)
            .await?;
        let n = claimed.len();
        let attempts = claimed.into_iter().map(|c| async move {
            let result = self.attempt(&c).await;
            let now = now_ms();
            let jitter = rand::rng().random::<f64>();
            let outcome = decide(&result, c.tries + 1, &notify.retry_delays, jitter, now);
            let recorded = self
                .app
                .store
                .record_attempt(c.id, c.lease_token.clone(), outcome.clone(), detail(&result), now)
                .await;
            match recorded {
                Ok(true) => tracing::info!(delivery = %c.id, outcome = outcome.as_str(), "notification attempt"),
                Ok(false) => tracing::warn!(delivery = %c.id, "the delivery's lease ran out before its outcome was recorded"),
                Err(e) => tracing::warn!(delivery = %c.id, error = %e, "a notification attempt was not recorded"),
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(n)
    }

    /// One attempt at `c`.
    async fn attempt(&self, c: &Claimed) -> Attempted {
        let public_url = self.app.config.public_url();
        let notify = &self.app.config.notify;
        match &c.target {
            Target::Email(to) => {
                let (Some(mailer), Some(smtp)) = (&self.mailer, &notify.smtp) else {
                    return Attempted::Transient(NO_SMTP.into());
                };
                match email::send(mailer, smtp, to, c, &public_url).await {
                    Ok(()) => Attempted::Accepted("SMTP: accepted".into()),
                    Err(Refusal::Transient(d)) => Attempted::Transient(d),
                    Err(Refusal::Permanent(d)) => Attempted::Permanent(d),
                }
            }
            Target::Webhook { url, secret, .. } => {
                let answer = webhook::post(
                    &self.http,
                    url,
                    secret,
                    &webhook::message_id(c),
                    webhook::body(c, &public_url),
                    now_ms() / 1000,
                    notify.allow_private_targets,
                )
                .await;
                match answer {
                    Answer::Status(s) if (200..300).contains(&s) => {
                        Attempted::Accepted(format!("HTTP {s}"))
                    }
                    Answer::Status(410) => Attempted::Gone,
                    Answer::Status(s) => Attempted::Transient(format!("HTTP {s}")),
                    Answer::Refused(d) => Attempted::Permanent(d),
                    Answer::Failed(d) => Attempted::Transient(d),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_delivered_retried_failed_or_disables_its_endpoint() {
        let delays = [Duration::from_secs(5), Duration::from_secs(60)];
        assert_eq!(
            decide(&Attempted::Accepted("HTTP 200".into()), 1, &delays, 0.5, 0),
            Outcome::Delivered
        );
        assert_eq!(
            decide(&Attempted::Gone, 1, &delays, 0.5, 0),
            Outcome::Disabled
        );
        assert_eq!(
            decide(&Attempted::Permanent("550".into()), 1, &delays, 0.5, 0),
            Outcome::Failed
        );
        assert_eq!(
            decide(
                &Attempted::Transient("HTTP 500".into()),
                1,
                &delays,
                0.5,
                1_000
            ),
            Outcome::Retry { next_ms: 6_000 }
        );
        assert_eq!(
            decide(
                &Attempted::Transient("HTTP 500".into()),
                2,
                &delays,
                0.5,
                1_000
            ),
            Outcome::Retry { next_ms: 61_000 }
        );
        assert_eq!(
            decide(
                &Attempted::Transient("HTTP 500".into()),
                3,
                &delays,
                0.5,
                1_000
            ),
            Outcome::Failed,
            "the schedule is used up"
        );
    }
}
