//! Integers as the protocol reads them from JSON: any number without a fraction, also when it
//! is written with one (`2.0` is 2, as JSON Schema counts it), within the field's range and at
//! most [`MAX_INT`] (2^53 − 1, which every JSON reader holds exactly).

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// The largest integer the protocol carries.
pub const MAX_INT: u64 = (1 << 53) - 1;

struct IntVisitor<T>(PhantomData<T>);

impl<T: TryFrom<u64>> IntVisitor<T> {
    fn fit<E: de::Error>(value: u64) -> Result<T, E> {
        if value > MAX_INT {
            return Err(E::custom(format!(
                "{value} is above the protocol's largest integer {MAX_INT}"
            )));
        }
        T::try_from(value).map_err(|_| E::custom(format!("{value} is out of range")))
    }
}

impl<'de, T: TryFrom<u64>> Visitor<'de> for IntVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Self::fit(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(format!("{value} is negative")))
            .and_then(Self::fit)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        if value.fract() != 0.0 || !(0.0..=MAX_INT as f64).contains(&value) {
            return Err(E::custom(format!("{value} is not a non-negative integer")));
        }
        // Integral and at most 2^53 − 1: exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Self::fit(value as u64)
    }
}

/// Reads an integer field (`#[serde(deserialize_with = "crate::int::read")]`).
pub fn read<'de, D: Deserializer<'de>, T: TryFrom<u64>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_any(IntVisitor(PhantomData))
}

/// Reads an optional integer field: absent or `null` is `None`.
pub fn read_option<'de, D: Deserializer<'de>, T: TryFrom<u64>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    struct OptionVisitor<T>(PhantomData<T>);
    impl<'de, T: TryFrom<u64>> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            read(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "read")]
        n: u16,
        #[serde(default, deserialize_with = "read_option")]
        m: Option<u64>,
    }

    fn probe(json: &str) -> Result<(u16, Option<u64>), String> {
        serde_json::from_str::<Probe>(json)
            .map(|p| (p.n, p.m))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_may_be_written_with_a_zero_fraction() {
        assert_eq!(probe(r#"{"n": 7}"#), Ok((7, None)));
        assert_eq!(
            probe(r#"{"n": 7.0, "m": 9007199254740991}"#),
            Ok((7, Some(MAX_INT)))
        );
        assert_eq!(probe(r#"{"n": 65535, "m": null}"#), Ok((65535, None)));
        // Exactly, however the number is spelled (JSON numbers are read with full precision).
        assert_eq!(
            probe(r#"{"n": 1, "m": 2.251799813685247e15}"#),
            Ok((1, Some(2_251_799_813_685_247)))
        );
        assert_eq!(
            probe(r#"{"n": 1, "m": 9.007199254740991e15}"#),
            Ok((1, Some(MAX_INT)))
        );
    }

    #[test]
    fn fractions_negatives_and_out_of_range_are_refused() {
        for json in [
            r#"{"n": 7.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": -0.5}"#,
            r#"{"n": 65536}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "7"}"#,
            r#"{"n": 1, "m": 9007199254740992}"#,
            r#"{"n": 1, "m": 18446744073709551615}"#,
        ] {
            assert!(probe(json).is_err(), "{json}");
        }
    }
}
