//! The hybrid logical clock that totally orders ops.
//!
//! An [`Hlc`] is (wall-clock milliseconds, counter, device). Comparing two stamps compares those
//! three in order, so stamps from different devices never tie. A device keeps one [`HlcClock`];
//! it never hands out a stamp at or below one it handed out or observed before, whatever its
//! wall clock does.

use crate::ids::DeviceId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A hybrid logical clock stamp. On the wire: `"<ms, 13 digits>-<counter, 4 hex>-<device uuid>"`,
/// which sorts as text in the same order as the stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    /// Wall-clock milliseconds since the Unix epoch (as corrected by the device).
    pub ms: u64,
    /// Logical counter for stamps within the same millisecond.
    pub counter: u16,
    /// The device that made the stamp; breaks ties between devices.
    pub device: DeviceId,
}

impl Hlc {
    /// The stamp that follows `(ms, counter)` on the logical axis.
    fn successor(ms: u64, counter: u16) -> (u64, u16) {
        match counter.checked_add(1) {
            Some(next) => (ms, next),
            None => (ms + 1, 0),
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:013}-{:04x}-{}", self.ms, self.counter, self.device)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Hlc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Hybrid logical clock stamp: <ms, 13 digits>-<counter, 4 lowercase hex>-<device \
                 uuid, hyphenated>",
            ))
            .pattern(Some(
                "^[0-9]{13}-[0-9a-f]{4}-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            ))
            .examples(["1763762045120-0000-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Hlc {}

/// Why a text is not an [`Hlc`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a clock stamp (expected <ms>-<counter hex>-<device uuid>): {0}")]
pub struct ParseHlcError(String);

impl FromStr for Hlc {
    type Err = ParseHlcError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseHlcError(s.chars().take(80).collect());
        let mut parts = s.splitn(3, '-');
        let ms = parts.next().ok_or_else(bad)?;
        let counter = parts.next().ok_or_else(bad)?;
        let device = parts.next().ok_or_else(bad)?;
        // Lowercase hex only, so that the text form sorts like the stamp.
        let lowercase_hex = counter
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        // The device in its hyphenated form only (36 characters), as the pattern says.
        if ms.len() != 13
            || !ms.bytes().all(|b| b.is_ascii_digit())
            || counter.len() != 4
            || !lowercase_hex
            || device.len() != 36
        {
            return Err(bad());
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            counter: u16::from_str_radix(counter, 16).map_err(|_| bad())?,
            device: DeviceId(Uuid::parse_str(device).map_err(|_| bad())?),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A device's clock: hands out strictly increasing stamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlcClock {
    device: DeviceId,
    last_ms: u64,
    last_counter: u16,
}

impl HlcClock {
    /// A clock for `device` that has handed out nothing yet.
    pub fn new(device: DeviceId) -> Self {
        Self {
            device,
            last_ms: 0,
            last_counter: 0,
        }
    }

    /// A clock that resumes after `last` (the highest stamp handed out or observed before).
    pub fn resume(device: DeviceId, last: Hlc) -> Self {
        Self {
            device,
            last_ms: last.ms,
            last_counter: last.counter,
        }
    }

    /// The device this clock stamps for.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The highest stamp handed out or observed so far.
    pub fn last(&self) -> Hlc {
        Hlc {
            ms: self.last_ms,
            counter: self.last_counter,
            device: self.device,
        }
    }

    /// A new stamp, given the (corrected) wall clock in milliseconds. Strictly greater than
    /// every stamp handed out or observed before, even when the wall clock stands still or goes
    /// backwards.
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        (self.last_ms, self.last_counter) = if wall_ms > self.last_ms {
            (wall_ms, 0)
        } else {
            Hlc::successor(self.last_ms, self.last_counter)
        };
        self.last()
    }

    /// Takes note of a stamp received from elsewhere, so that later stamps order after it.
    pub fn observe(&mut self, remote: Hlc) {
        if (remote.ms, remote.counter) > (self.last_ms, self.last_counter) {
            self.last_ms = remote.ms;
            self.last_counter = remote.counter;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device(n: u128) -> DeviceId {
        DeviceId(Uuid::from_u128(n))
    }

    #[test]
    fn text_form_round_trips_and_sorts_like_the_stamp() {
        let a = Hlc {
            ms: 1_763_762_045_120,
            counter: 3,
            device: device(1),
        };
        let b = Hlc {
            ms: 1_763_762_045_120,
            counter: 12,
            device: device(1),
        };
        assert_eq!(a.to_string().parse::<Hlc>(), Ok(a));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "",
            "12-0000-x",
            "1763762045120-zz00-00000000-0000-0000-0000-000000000001",
        ] {
            assert!(text.parse::<Hlc>().is_err(), "{text}");
        }
    }

    #[test]
    fn counter_overflow_moves_to_the_next_millisecond() {
        let mut clock = HlcClock::resume(
            device(1),
            Hlc {
                ms: 10,
                counter: u16::MAX,
                device: device(1),
            },
        );
        let next = clock.tick(5);
        assert_eq!((next.ms, next.counter), (11, 0));
    }

    #[derive(Debug, Clone)]
    enum Event {
        Tick(u64),
        Observe(u64, u16),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (0u64..2_000).prop_map(Event::Tick),
            (0u64..3_000, any::<u16>()).prop_map(|(ms, c)| Event::Observe(ms, c)),
        ]
    }

    proptest! {
        /// Whatever the wall clock does (forwards, backwards, standing still) and whatever stamps
        /// arrive from elsewhere, every stamp handed out is above everything before it.
        #[test]
        fn stamps_strictly_increase(events in proptest::collection::vec(event(), 1..200)) {
            let mut clock = HlcClock::new(device(7));
            let mut highest: Option<(u64, u16)> = None;
            for event in events {
                match event {
                    Event::Tick(wall) => {
                        let stamp = clock.tick(wall);
                        let key = (stamp.ms, stamp.counter);
                        if let Some(h) = highest {
                            prop_assert!(key > h, "{key:?} not above {h:?}");
                        }
                        prop_assert!(stamp.ms >= wall);
                        highest = Some(key);
                    }
                    Event::Observe(ms, counter) => {
                        clock.observe(Hlc { ms, counter, device: device(9) });
                        let key = (ms, counter);
                        highest = Some(highest.map_or(key, |h| h.max(key)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod strict_form_tests {
    use super::*;

    #[test]
    fn the_device_part_must_be_hyphenated() {
        let hyphenated = "1763762045120-0000-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f";
        assert!(hyphenated.parse::<Hlc>().is_ok());
        for other in [
            "1763762045120-0000-019a8f6e1c2b7d3e8f405a6b7c8d9e0f",
            "1763762045120-0000-{019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f}",
            "1763762045120-0000-urn:uuid:019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
        ] {
            assert!(other.parse::<Hlc>().is_err(), "{other}");
        }
    }
}
