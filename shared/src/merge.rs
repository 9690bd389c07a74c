//! The merge: every field of an entity is a last-writer-wins register ordered by [`Hlc`].
//!
//! Applying ops is commutative, associative and idempotent, so every replica that has seen the
//! same ops holds the same state. Two writes of one field are concurrent when they come from
//! different devices and neither device had pulled the other's write when it made its own
//! (judged by server sequence and `base_seq`); the losing value is reported as a [`Conflict`] so
//! that it is kept, not lost.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a write sits in the sync order: its clock stamp, the server sequence it was given (none
/// while it waits on its device) and the server sequence its device had pulled when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteStamp {
    /// The op's clock stamp.
    #[serde(rename = "h")]
    pub hlc: Hlc,
    /// The server sequence of the op, once the server accepted it.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The op's `base_seq`.
    #[serde(rename = "b")]
    pub base_seq: u64,
}

impl WriteStamp {
    /// Whether the op of `self` was made with knowledge of the op of `other`.
    fn saw(&self, other: &WriteStamp) -> bool {
        other.seq.is_some_and(|seq| self.base_seq >= seq)
    }

    /// Whether two writes are concurrent: from different devices, both accepted by the server,
    /// and neither made with knowledge of the other.
    pub fn concurrent_with(&self, other: &WriteStamp) -> bool {
        self.hlc.device != other.hlc.device
            && self.seq.is_some()
            && other.seq.is_some()
            && !self.saw(other)
            && !other.saw(self)
    }
}

/// The current value of one field and the write that put it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// The value (JSON of the field's type).
    #[serde(rename = "v")]
    pub value: Value,
    /// The write that set it.
    #[serde(flatten)]
    pub stamp: WriteStamp,
}

/// A field written concurrently by two devices: the value kept and the value that lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The field's name.
    pub field: String,
    /// The winning value and its write.
    pub winner: Register,
    /// The losing value and its write.
    pub loser: Register,
}

/// What applying one op did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Fields whose value changed.
    pub changed: Vec<String>,
    /// Concurrent writes found while applying.
    pub conflicts: Vec<Conflict>,
}

/// The state of one entity: a register per field that was ever written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntityState {
    /// Field name to register.
    pub fields: BTreeMap<String, Register>,
}

impl EntityState {
    /// Applies the fields one op wrote. Each field keeps the value with the highest stamp;
    /// applying the same op again changes nothing.
    pub fn apply(&mut self, stamp: WriteStamp, written: &Map<String, Value>) -> Applied {
        let mut applied = Applied::default();
        for (name, value) in written {
            let incoming = Register {
                value: value.clone(),
                stamp,
            };
            match self.fields.get_mut(name) {
                None => {
                    self.fields.insert(name.clone(), incoming);
                    applied.changed.push(name.clone());
                }
                Some(current) if current.stamp.hlc == stamp.hlc => {
                    // The same op again (or its server-accepted copy): learn its sequence.
                    if current.stamp.seq.is_none() {
                        current.stamp.seq = stamp.seq;
                    }
                }
                Some(current) => {
                    // Two devices writing the same value do not disagree.
                    let concurrent =
                        current.stamp.concurrent_with(&stamp) && current.value != incoming.value;
                    if stamp.hlc > current.stamp.hlc {
                        let loser = std::mem::replace(current, incoming);
                        if current.value != loser.value {
                            applied.changed.push(name.clone());
                        }
                        if concurrent {
                            applied.conflicts.push(Conflict {
                                field: name.clone(),
                                winner: current.clone(),
                                loser,
                            });
                        }
                    } else if concurrent {
                        applied.conflicts.push(Conflict {
                            field: name.clone(),
                            winner: current.clone(),
                            loser: incoming,
                        });
                    }
                }
            }
        }
        applied
    }

    /// The current values as a JSON object of field name to value.
    pub fn values(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(name, register)| (name.clone(), register.value.clone()))
            .collect()
    }

    /// The highest stamp of any field, if any field was written.
    pub fn last_write(&self) -> Option<Hlc> {
        self.fields.values().map(|r| r.stamp.hlc).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DeviceId;
    use proptest::prelude::*;
    use serde_json::json;
    use uuid::Uuid;

    fn hlc(ms: u64, device: u128) -> Hlc {
        Hlc {
            ms,
            counter: 0,
            device: DeviceId(Uuid::from_u128(device)),
        }
    }

    fn stamp(ms: u64, device: u128, seq: u64, base_seq: u64) -> WriteStamp {
        WriteStamp {
            hlc: hlc(ms, device),
            seq: Some(seq),
            base_seq,
        }
    }

    fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn later_stamp_wins_whatever_the_order() {
        let a = (stamp(10, 1, 1, 0), fields(&[("severity", json!(2))]));
        let b = (stamp(20, 2, 2, 1), fields(&[("severity", json!(3))]));
        for order in [[&a, &b], [&b, &a]] {
            let mut state = EntityState::default();
            for (s, f) in order {
                state.apply(*s, f);
            }
            assert_eq!(state.values()["severity"], json!(3));
        }
    }

    #[test]
    fn an_edit_made_after_pulling_the_other_is_not_a_conflict() {
        let mut state = EntityState::default();
        state.apply(stamp(10, 1, 5, 0), &fields(&[("severity", json!(2))]));
        let applied = state.apply(stamp(20, 2, 6, 5), &fields(&[("severity", json!(3))]));
        assert!(applied.conflicts.is_empty());
        assert_eq!(applied.changed, vec!["severity".to_owned()]);
    }

    #[test]
    fn concurrent_edit_that_loses_is_reported_with_both_values() {
        let mut state = EntityState::default();
        state.apply(stamp(30, 1, 5, 0), &fields(&[("severity", json!(4))]));
        let applied = state.apply(stamp(20, 2, 6, 0), &fields(&[("severity", json!(1))]));
        assert!(applied.changed.is_empty());
        let [conflict] = applied.conflicts.as_slice() else {
            panic!("one conflict expected: {applied:?}");
        };
        assert_eq!(conflict.winner.value, json!(4));
        assert_eq!(conflict.loser.value, json!(1));
    }

    #[test]
    fn concurrent_writes_of_the_same_value_are_no_conflict() {
        let mut state = EntityState::default();
        state.apply(stamp(30, 1, 5, 0), &fields(&[("severity", json!(4))]));
        let applied = state.apply(stamp(20, 2, 6, 0), &fields(&[("severity", json!(4))]));
        assert!(applied.conflicts.is_empty());
    }

    #[test]
    fn writes_of_one_device_never_conflict() {
        let mut state = EntityState::default();
        state.apply(stamp(10, 1, 5, 0), &fields(&[("note", json!("a"))]));
        let applied = state.apply(stamp(20, 1, 6, 0), &fields(&[("note", json!("b"))]));
        assert!(applied.conflicts.is_empty());
    }

    #[derive(Debug, Clone)]
    struct TestOp {
        stamp: WriteStamp,
        fields: Map<String, Value>,
    }

    /// Ops from up to 4 devices on up to 4 fields, with distinct stamps and sequences.
    fn ops() -> impl Strategy<Value = Vec<TestOp>> {
        proptest::collection::vec(
            (
                0u64..50,
                1u128..5,
                0u64..40,
                proptest::collection::btree_map(
                    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")],
                    0i64..5,
                    1..3,
                ),
            ),
            1..25,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (ms, device, base, map))| {
                    let seq = i as u64 + 1;
                    TestOp {
                        stamp: WriteStamp {
                            // `i` in the counter keeps every stamp distinct.
                            hlc: Hlc {
                                ms,
                                counter: i as u16,
                                device: DeviceId(Uuid::from_u128(device)),
                            },
                            seq: Some(seq),
                            base_seq: base.min(seq - 1),
                        },
                        fields: map
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), json!(v)))
                            .collect(),
                    }
                })
                .collect()
        })
    }

    fn apply_all<'a>(ops: impl IntoIterator<Item = &'a TestOp>) -> EntityState {
        let mut state = EntityState::default();
        for op in ops {
            state.apply(op.stamp, &op.fields);
        }
        state
    }

    proptest! {
        /// Any order, with repeats, gives the same state: the merge is commutative, associative
        /// and idempotent.
        #[test]
        fn any_order_with_repeats_gives_the_same_state(
            ops in ops(),
            order in proptest::collection::vec(any::<prop::sample::Index>(), 0..60),
            seed in any::<u64>(),
        ) {
            let reference = apply_all(&ops);
            // A permutation plus extra repeats chosen by `order`.
            let mut shuffled: Vec<&TestOp> = ops.iter().collect();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            for index in &order {
                shuffled.push(index.get(&ops));
            }
            let state = apply_all(shuffled.iter().copied());
            prop_assert_eq!(
                state.values(),
                reference.values()
            );
            // Applying everything again changes nothing.
            let mut again = state.clone();
            for op in &ops {
                let applied = again.apply(op.stamp, &op.fields);
                prop_assert!(applied.changed.is_empty());
            }
            prop_assert_eq!(again, state);
        }

        /// Two concurrent writes of one field are found as one conflict whatever the order in which
        /// they and unrelated ops arrive, with the higher stamp kept and the other reported.
        #[test]
        fn concurrent_writes_are_detected_in_any_order(
            others in ops(),
            first_ms in 0u64..100,
            second_ms in 0u64..100,
            first_value in 0i64..5,
            second_value in 5i64..10,
            seed in any::<u64>(),
        ) {
            // Unrelated ops write fields a–d; the contested field is "x".
            let n = others.len() as u64;
            let first = TestOp {
                stamp: WriteStamp {
                    hlc: Hlc { ms: first_ms, counter: 1000, device: DeviceId(Uuid::from_u128(10)) },
                    seq: Some(n + 1),
                    base_seq: 0,
                },
                fields: fields(&[("x", json!(first_value))]),
            };
            let second = TestOp {
                stamp: WriteStamp {
                    hlc: Hlc { ms: second_ms, counter: 1001, device: DeviceId(Uuid::from_u128(11)) },
                    seq: Some(n + 2),
                    base_seq: n,
                },
                fields: fields(&[("x", json!(second_value))]),
            };
            let (winner, loser) = if first.stamp.hlc > second.stamp.hlc {
                (&first, &second)
            } else {
                (&second, &first)
            };
            // The server applies each op once (it deduplicates by device_seq), so the contested
            // ops come once each; the unrelated ones come in any order.
            let mut all: Vec<&TestOp> = others.iter().chain([&first, &second]).collect();
            let mut x = seed | 1;
            for i in (1..all.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                all.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut state = EntityState::default();
            let mut conflicts = Vec::new();
            for op in all {
                // The unrelated ops may conflict among themselves on fields a–d.
                conflicts.extend(
                    state.apply(op.stamp, &op.fields).conflicts.into_iter().filter(|c| c.field == "x"),
                );
            }
            prop_assert_eq!(conflicts.len(), 1, "{:?}", conflicts);
            prop_assert_eq!(&conflicts[0].field, "x");
            prop_assert_eq!(&conflicts[0].winner.value, &winner.fields["x"]);
            prop_assert_eq!(&conflicts[0].loser.value, &loser.fields["x"]);
            prop_assert_eq!(&state.values()["x"], &winner.fields["x"]);
        }
    }
}
