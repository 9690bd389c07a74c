//! The device's wall clock, a seam tests use to play a phone whose clock is wrong, and the
//! corrected time the device stamps ops with.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use vaka_shared::Timestamp;

/// Where the device reads the time of day from.
#[derive(Debug, Clone, Default)]
pub enum WallClock {
    /// The machine's clock.
    #[default]
    System,
    /// The machine's clock off by a fixed number of milliseconds (positive: ahead).
    Skewed(i64),
    /// A clock that shows what the test sets (Unix milliseconds).
    Manual(Arc<AtomicI64>),
}

impl WallClock {
    /// A manual clock showing `ms`.
    pub fn manual(ms: i64) -> Self {
        Self::Manual(Arc::new(AtomicI64::new(ms)))
    }

    /// Sets a manual clock (no effect on the others).
    pub fn set(&self, ms: i64) {
        if let Self::Manual(value) = self {
            value.store(ms, Ordering::SeqCst);
        }
    }

    /// The time shown, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Self::System => Timestamp::now_utc().unix_ms(),
            Self::Skewed(skew) => Timestamp::now_utc().unix_ms() + skew,
            Self::Manual(value) => value.load(Ordering::SeqCst),
        }
    }
}

/// The best estimate of the true time: the wall clock corrected by the offset learnt from the
/// server.
pub(crate) fn corrected_ms(wall: &WallClock, offset_ms: i64) -> i64 {
    wall.now_ms().saturating_add(offset_ms)
}

/// A Unix-millisecond time as a [`Timestamp`], clamped into the representable range.
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
        .or_else(|| Timestamp::from_unix_ms(0))
        .unwrap_or_else(Timestamp::now_utc)
}

/// A non-negative millisecond count for a clock stamp.
pub(crate) fn stamp_ms(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
