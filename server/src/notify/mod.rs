//! Notifications: word of a severe entry, or of police who have not come, sent to the desk by
//! e-mail and webhook as soon as the server knows.
//!
//! An admin's rules ([`rules::RuleSpec`]) say which entries notify whom. The store records a
//! notification — with one delivery per e-mail address and webhook — in the same transaction
//! as the op that caused it (the push), or as the timer's police check
//! (`Store::raise_police_no_shows`), at most once per rule and entry: an outbox. Each server
//! process runs a [`worker`] that claims due deliveries under a lease, sends them
//! ([`email`], [`webhook`]) and records every attempt; a failed one is tried again later
//! ([`retry_delay`]), a server killed mid-delivery delivers after its restart, and several
//! processes on one PostgreSQL database never send one delivery twice while its lease holds.
//!
//! What leaves the server is thin ([`Facts`]): kind, category, severity, area, times and a link
//! to the entry — never free text or names.

pub mod email;
pub mod rules;
pub mod webhook;
pub mod worker;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;
use vaka_shared::EntityId;
use vaka_shared::op::EntityKind;

macro_rules! server_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

server_id!(
    /// A notification rule.
    RuleId
);
server_id!(
    /// A webhook endpoint.
    WebhookId
);
server_id!(
    /// A notification in the outbox (its webhook messages carry it as `webhook-id`).
    NotificationId
);
server_id!(
    /// One delivery of a notification to one target.
    DeliveryId
);

/// What a notification says, as recorded in the outbox: no free text, no names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The rule's name.
    pub rule: String,
    /// The entry's kind.
    pub kind: EntityKind,
    /// Its category code.
    pub category: Option<String>,
    /// Its severity.
    pub severity: Option<u8>,
    /// The name of its area.
    pub area: Option<String>,
    /// When it happened (patrols: started).
    pub occurred_at_ms: Option<i64>,
    /// When police were contacted (police no-show notifications).
    pub police_contacted_ms: Option<i64>,
    /// The rule's wait in minutes (police no-show notifications).
    pub wait_minutes: Option<u32>,
}

/// How a notification reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail to an address.
    Email,
    /// A webhook endpoint.
    Webhook,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    /// The channel with this stored name.
    pub fn from_wire(text: &str) -> Option<Self> {
        [Self::Email, Self::Webhook]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Where a delivery is going, as the worker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An e-mail address.
    Email(String),
    /// A webhook endpoint's address and signing secret (`whsec_…`).
    Webhook {
        /// The endpoint.
        id: WebhookId,
        /// Its URL.
        url: String,
        /// Its secret.
        secret: String,
    },
}

/// A delivery the worker has claimed: what to send, where, and the lease it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The delivery.
    pub id: DeliveryId,
    /// The notification.
    pub notification: NotificationId,
    /// The entry it is about.
    pub entry: EntityId,
    /// Its event (`entry.matched`, `police.no_show`).
    pub event: String,
    /// What it says.
    pub facts: Facts,
    /// When it was made.
    pub created_at_ms: i64,
    /// Where it goes.
    pub target: Target,
    /// Tries since it was made or last sent again.
    pub tries: u32,
    /// Attempts in all (the number of the attempt being made is this plus one).
    pub attempts: u32,
    /// The lease's token: the outcome is recorded only while it still holds.
    pub lease_token: String,
}

/// How a delivery attempt ended, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the receiver.
    Delivered,
    /// Not accepted this time; tried again at `next_ms`.
    Retry {
        /// When to try again.
        next_ms: i64,
    },
    /// Not accepted, and not tried again (retries used up, or refused for good).
    Failed,
    /// The webhook answered 410 Gone: the endpoint is disabled with every delivery waiting for
    /// it.
    Disabled,
}

impl Outcome {
    /// The delivery's status after an attempt with this outcome (`deliveries.status`): a retry
    /// leaves it pending.
    pub fn delivery_status(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "pending",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }

    /// When the next attempt is due, for a retry.
    pub fn next_attempt_ms(&self) -> Option<i64> {
        match self {
            Self::Retry { next_ms } => Some(*next_ms),
            _ => None,
        }
    }

    /// The stored name (`delivery_attempts.outcome`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "retry",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }
}

/// The default waits between attempts: the Standard Webhooks schedule (5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h) stretched to about three days (14 h, 14 h, 16 h): eleven attempts, the
/// last about 71½ hours after the first.
pub fn default_retry_delays() -> Vec<Duration> {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    [
        5,
        5 * MIN,
        30 * MIN,
        2 * HOUR,
        5 * HOUR,
        10 * HOUR,
        10 * HOUR,
        14 * HOUR,
        14 * HOUR,
        16 * HOUR,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

/// The wait before the next attempt after `tries` failed ones, with `jitter` in `[0, 1)`
/// spreading it over ±10 %, so that deliveries failing together do not come back together;
/// `None` when the schedule is used up.
pub fn retry_delay(delays: &[Duration], tries: u32, jitter: f64) -> Option<Duration> {
    let base = delays.get(usize::try_from(tries).ok()?.checked_sub(1)?)?;
    Some(base.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_with_jitter_and_end_after_about_three_days() {
        let delays = default_retry_delays();
        assert_eq!(
            retry_delay(&delays, 0, 0.5),
            None,
            "no wait before a first try"
        );
        assert_eq!(retry_delay(&delays, 1, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(
            retry_delay(&delays, 1, 0.0),
            Some(Duration::from_millis(4500))
        );
        assert_eq!(
            retry_delay(&delays, 1, 1.0),
            Some(Duration::from_millis(5500))
        );
        assert_eq!(retry_delay(&delays, 2, 0.5), Some(Duration::from_secs(300)));
        assert_eq!(retry_delay(&delays, 11, 0.5), None, "used up");
        let total: Duration = (1..=10).filter_map(|t| retry_delay(&delays, t, 0.5)).sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((70.0..=74.0).contains(&hours), "{hours} h");
    }

    #[test]
    fn ids_and_channels_read_back() {
        let id = RuleId::new();
        assert_eq!(id.to_string().parse::<RuleId>().expect("id"), id);
        for c in [Channel::Email, Channel::Webhook] {
            assert_eq!(Channel::from_wire(c.as_str()), Some(c));
        }
        assert_eq!(Channel::from_wire("sms"), None);
    }
}
