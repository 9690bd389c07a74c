//! Timestamps on the wire: RFC 3339 strings, always UTC, millisecond precision.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A point in time, serialised as RFC 3339 (`2026-11-21T22:14:05.12Z`): UTC, millisecond
/// precision, and in the years 0000 to 9999, the only ones RFC 3339 can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = DateTime))]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The timestamp `ms` milliseconds after the Unix epoch, or `None` if out of range.
    pub fn from_unix_ms(ms: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .and_then(Self::checked)
    }

    /// `value` in UTC, truncated to milliseconds; `None` when its date in UTC lies outside the
    /// years 0000 to 9999 (`9999-12-31T23:30:00-01:00`, say), which RFC 3339 cannot write.
    pub fn checked(value: OffsetDateTime) -> Option<Self> {
        let utc = value.checked_to_offset(UtcOffset::UTC)?;
        if !(0..=9999).contains(&utc.year()) {
            return None;
        }
        Some(Self(
            utc.replace_millisecond(utc.millisecond()).unwrap_or(utc),
        ))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> i64 {
        // In range for every representable date (year ±9999).
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// The wrapped date-time (UTC).
    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// The current wall-clock time of this machine, truncated to milliseconds.
    pub fn now_utc() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }
}

/// For times known to be in range, such as this machine's clock; anything read from outside goes
/// through [`Timestamp::checked`].
impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        let utc = value.to_offset(time::UtcOffset::UTC);
        let ms = utc.millisecond();
        // Truncating to milliseconds keeps every value exactly representable on the wire.
        Self(utc.replace_millisecond(ms).unwrap_or(utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let parsed = OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 time ({e}): {text}")))?;
        Self::checked(parsed).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "not an RFC 3339 time (its year in UTC must be 0000 to 9999): {text}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_at_millisecond_precision() {
        let t = Timestamp::from_unix_ms(1_763_762_045_120).expect("in range");
        let json = serde_json::to_string(&t).expect("serialises");
        assert_eq!(json, "\"2025-11-21T21:54:05.12Z\"");
        let back: Timestamp = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, t);
        assert_eq!(back.unix_ms(), 1_763_762_045_120);
    }

    #[test]
    fn accepts_offsets_and_normalises_to_utc() {
        let t: Timestamp = serde_json::from_str("\"2026-11-21T23:00:00+01:00\"").expect("parses");
        assert_eq!(t.to_string(), "2026-11-21T22:00:00Z");
    }

    #[test]
    fn a_time_whose_utc_year_rfc_3339_cannot_write_is_refused_not_a_panic() {
        // Found with the sync request fuzz target: the first panicked while it was read, the second
        // when it was written out again (a rejected op is stored as JSON).
        for text in [
            "\"9999-12-31T23:59:59-01:00\"",
            "\"0000-01-01T00:00:00+01:00\"",
        ] {
            let err = serde_json::from_str::<Timestamp>(text).expect_err("out of range");
            assert!(err.to_string().contains("0000 to 9999"), "{err}");
        }
        // The edges themselves are fine.
        for text in ["\"9999-12-31T23:59:59.999Z\"", "\"0000-01-01T00:00:00Z\""] {
            let t: Timestamp = serde_json::from_str(text).expect("in range");
            assert_eq!(serde_json::to_string(&t).expect("writes"), text);
        }
        // A year before 0000 has no RFC 3339 form either.
        assert_eq!(Timestamp::from_unix_ms(-62_167_219_200_001), None);
        assert!(Timestamp::from_unix_ms(-62_167_219_200_000).is_some());
    }

    #[test]
    fn rejects_text_that_is_not_a_time() {
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").expect_err("must fail");
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }
}
