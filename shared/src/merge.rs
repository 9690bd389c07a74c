//! The merge: every field of an entity is a last-writer-wins register ordered by [`Hlc`].
//!
//! Applying ops is commutative, associative and idempotent, so every replica that has seen the
//! same ops holds the same state. The conflicts of a field are a function of the set of its
//! writes, not of the order they were applied in: a write is *superseded* when another write of the
//! field saw it (its device had pulled it, or made it earlier); the winner by [`Hlc`] is in
//! conflict with every write that is not superseded, comes from another device, neither saw the
//! winner nor was seen by it, and holds another value. To find them whatever comes next, a register
//! keeps, beside the winning write, the writes no write of the field has seen yet.

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
    /// The server sequence the op's device can have pulled: its `base_seq`, but never its own
    /// sequence or one after it.
    fn pulled_through(&self) -> u64 {
        match self.seq {
            Some(seq) => self.base_seq.min(seq.saturating_sub(1)),
            None => self.base_seq,
        }
    }

    /// Whether the op of `self` was made with knowledge of the op of `other`: its device had
    /// pulled it (`base_seq ≥` its sequence), or is the device that made it, earlier.
    pub fn saw(&self, other: &WriteStamp) -> bool {
        (self.hlc.device == other.hlc.device && self.hlc > other.hlc)
            || other.seq.is_some_and(|seq| self.pulled_through() >= seq)
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

    /// Learns the sequence of a write known while it waited on its device.
    fn learn(&mut self, seq: Option<u64>) {
        if self.seq.is_none() {
            self.seq = seq;
        }
    }
}

/// One write of one field: the value and the write's stamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWrite {
    /// The value (JSON of the field's type).
    #[serde(rename = "v")]
    pub value: Value,
    /// The write.
    #[serde(flatten)]
    pub stamp: WriteStamp,
}

/// The current value of one field, the write that put it there, and what the field's other
/// writes left that a conflict can still be found with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// The value (JSON of the field's type).
    #[serde(rename = "v")]
    pub value: Value,
    /// The write that set it: the field's write with the highest stamp.
    #[serde(flatten)]
    pub stamp: WriteStamp,
    /// The field's other writes that no write of it saw, lowest stamp first.
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<FieldWrite>,
    /// The highest sequence any write of the field had pulled: writes at or below it were seen.
    #[serde(rename = "c", default, skip_serializing_if = "is_zero")]
    pub covered: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Register {
    fn new(first: FieldWrite) -> Self {
        let covered = first.stamp.pulled_through();
        Self {
            value: first.value,
            stamp: first.stamp,
            unseen: Vec::new(),
            covered,
        }
    }

    /// Adds one write; says whether the value changed.
    fn write(&mut self, incoming: FieldWrite) -> bool {
        let stamp = incoming.stamp;
        let mut changed = false;
        if stamp.hlc == self.stamp.hlc {
            // The same op again (or its server-accepted copy).
            self.stamp.learn(stamp.seq);
        } else if let Some(known) = self.unseen.iter_mut().find(|w| w.stamp.hlc == stamp.hlc) {
            known.stamp.learn(stamp.seq);
        } else if stamp.hlc > self.stamp.hlc {
            let value = std::mem::replace(&mut self.value, incoming.value);
            changed = self.value != value;
            let old = std::mem::replace(&mut self.stamp, stamp);
            self.unseen.push(FieldWrite { value, stamp: old });
        } else {
            self.unseen.push(incoming);
        }
        self.covered = self.covered.max(stamp.pulled_through());
        // Keep only writes nothing saw: not at or below `covered`, and not followed by a later
        // write of their own device (a device's stamps grow with its ops, and its ops are
        // sequenced in order, so such a write was always seen by one still held or covered).
        let covered = self.covered;
        let held: Vec<Hlc> = self
            .unseen
            .iter()
            .map(|w| w.stamp.hlc)
            .chain([self.stamp.hlc])
            .collect();
        self.unseen.retain(|w| {
            w.stamp.seq.is_none_or(|seq| seq > covered)
                && !held
                    .iter()
                    .any(|h| h.device == w.stamp.hlc.device && *h > w.stamp.hlc)
        });
        self.unseen.sort_by_key(|w| w.stamp.hlc);
        changed
    }

    /// The winning write.
    pub fn winner(&self) -> FieldWrite {
        FieldWrite {
            value: self.value.clone(),
            stamp: self.stamp,
        }
    }

    /// The field's conflicts: the winner against each write no write saw that is concurrent with
    /// it and holds another value, lowest losing stamp first.
    pub fn conflicts(&self, field: &str) -> Vec<Conflict> {
        self.unseen
            .iter()
            .filter(|w| w.stamp.concurrent_with(&self.stamp) && w.value != self.value)
            .map(|loser| Conflict {
                field: field.to_owned(),
                winner: self.winner(),
                loser: loser.clone(),
            })
            .collect()
    }
}

/// A field written concurrently by two devices: the value kept and the value that lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The field's name.
    pub field: String,
    /// The winning value and its write.
    pub winner: FieldWrite,
    /// The losing value and its write.
    pub loser: FieldWrite,
}

/// What applying one op did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Fields whose value changed.
    pub changed: Vec<String>,
    /// The conflicts of the fields the op wrote, as they stand after it (each field's whole set,
    /// see [`Register::conflicts`]).
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
            let incoming = FieldWrite {
                value: value.clone(),
                stamp,
            };
            match self.fields.get_mut(name) {
                None => {
                    self.fields.insert(name.clone(), Register::new(incoming));
                    applied.changed.push(name.clone());
                }
                Some(register) => {
                    if register.write(incoming) {
                        applied.changed.push(name.clone());
                    }
                    applied.conflicts.extend(register.conflicts(name));
                }
            }
        }
        applied
    }

    /// The conflicts of one field as they stand (see [`Register::conflicts`]).
    pub fn conflicts(&self, field: &str) -> Vec<Conflict> {
        self.fields
            .get(field)
            .map(|r| r.conflicts(field))
            .unwrap_or_default()
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

    /// Redacts `field`: every write of it stamped at or below `through` (the winner and the
    /// writes kept for conflicts) now holds `value`. Replicas that redact the same writes hold
    /// the same state, whatever order they saw the ops and the redaction in, as long as each op
    /// of the field stamped at or below `through` is redacted too ([`redact_fields`]) before it
    /// is applied. Says whether anything changed.
    pub fn redact(&mut self, field: &str, through: Hlc, value: &Value) -> bool {
        let Some(register) = self.fields.get_mut(field) else {
            return false;
        };
        let mut changed = false;
        if register.stamp.hlc <= through && register.value != *value {
            register.value = value.clone();
            changed = true;
        }
        for write in &mut register.unseen {
            if write.stamp.hlc <= through && write.value != *value {
                write.value = value.clone();
                changed = true;
            }
        }
        changed
    }
}

/// Redacts one op's written fields: when the op, stamped `hlc`, writes `field` and `hlc` is at
/// or below `through`, the written value becomes `value`. Says whether anything changed.
pub fn redact_fields(
    written: &mut Map<String, Value>,
    hlc: Hlc,
    field: &str,
    through: Hlc,
    value: &Value,
) -> bool {
    match written.get_mut(field) {
        Some(old) if hlc <= through && old != value => {
            *old = value.clone();
            true
        }
        _ => false,
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
    fn a_redaction_replaces_every_covered_write_and_leaves_later_ones() {
        let name = json!("Kalle Anka bråkade");
        let mut state = EntityState::default();
        state.apply(
            stamp(30, 1, 5, 0),
            &fields(&[("description", name.clone())]),
        );
        state.apply(
            stamp(20, 2, 6, 0),
            &fields(&[("description", json!("Kalle igen"))]),
        );
        assert_eq!(state.conflicts("description").len(), 1);
        let hidden = json!("En person bråkade");
        assert!(state.redact("description", hlc(30, 1), &hidden));
        assert_eq!(state.values()["description"], hidden);
        let text = serde_json::to_string(&state).expect("serialises");
        assert!(!text.contains("Kalle"), "{text}");
        assert!(
            state.conflicts("description").is_empty(),
            "same value: no conflict"
        );
        assert!(
            !state.redact("description", hlc(30, 1), &hidden),
            "twice is once"
        );
        // A later write stands; a late op below the redaction is redacted before it is applied.
        let mut late = fields(&[("description", json!("Kalle, tredje gången"))]);
        assert!(redact_fields(
            &mut late,
            hlc(25, 3),
            "description",
            hlc(30, 1),
            &hidden
        ));
        state.apply(stamp(25, 3, 7, 0), &late);
        assert_eq!(state.values()["description"], hidden);
        let mut newer = fields(&[("description", json!("Ny text"))]);
        assert!(!redact_fields(
            &mut newer,
            hlc(40, 3),
            "description",
            hlc(30, 1),
            &hidden
        ));
        state.apply(stamp(40, 3, 8, 6), &newer);
        assert_eq!(state.values()["description"], json!("Ny text"));
        assert!(
            !serde_json::to_string(&state)
                .expect("serialises")
                .contains("Kalle")
        );
    }

    #[test]
    fn writes_of_one_device_never_conflict() {
        let mut state = EntityState::default();
        state.apply(stamp(10, 1, 5, 0), &fields(&[("note", json!("a"))]));
        let applied = state.apply(stamp(20, 1, 6, 0), &fields(&[("note", json!("b"))]));
        assert!(applied.conflicts.is_empty());
    }

    /// Every order of `0..n`.
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut all = Vec::new();
        for shorter in permutations(n - 1) {
            for at in 0..=shorter.len() {
                let mut order = shorter.clone();
                order.insert(at, n - 1);
                all.push(order);
            }
        }
        all
    }

    fn pairs(conflicts: &[Conflict]) -> Vec<(Value, Value)> {
        conflicts
            .iter()
            .map(|c| (c.winner.value.clone(), c.loser.value.clone()))
            .collect()
    }

    /// Write A (seq 1), write B that saw A, write C concurrent with both, all to one field: one
    /// conflict, the winner against the one write nobody saw, in every order.
    #[test]
    fn three_writers_give_one_conflict_in_every_order() {
        let a = (stamp(10, 1, 1, 0), fields(&[("severity", json!(1))]));
        for (c_ms, expected) in [(30, (json!(3), json!(2))), (15, (json!(2), json!(3)))] {
            let b = (stamp(20, 2, 3, 1), fields(&[("severity", json!(2))]));
            let c = (stamp(c_ms, 3, 2, 0), fields(&[("severity", json!(3))]));
            let writes = [&a, &b, &c];
            for order in permutations(3) {
                let mut state = EntityState::default();
                let mut last = Vec::new();
                for &i in &order {
                    last = state.apply(writes[i].0, &writes[i].1).conflicts;
                }
                assert_eq!(
                    pairs(&state.conflicts("severity")),
                    vec![expected.clone()],
                    "C at {c_ms} ms, order {order:?}"
                );
                assert_eq!(last, state.conflicts("severity"), "order {order:?}");
            }
        }
    }

    #[test]
    fn a_write_waiting_on_its_device_conflicts_only_once_it_has_a_sequence() {
        let mut state = EntityState::default();
        state.apply(stamp(10, 1, 1, 0), &fields(&[("note", json!("a"))]));
        let waiting = WriteStamp {
            seq: None,
            ..stamp(20, 2, 0, 0)
        };
        let applied = state.apply(waiting, &fields(&[("note", json!("b"))]));
        assert_eq!(applied.changed, vec!["note".to_owned()]);
        assert!(applied.conflicts.is_empty(), "{applied:?}");
        // The server accepted it as seq 2 and the device pulled it back.
        let applied = state.apply(stamp(20, 2, 2, 0), &fields(&[("note", json!("b"))]));
        assert!(applied.changed.is_empty());
        assert_eq!(pairs(&applied.conflicts), vec![(json!("b"), json!("a"))]);
        assert_eq!(state.fields["note"].stamp.seq, Some(2));
    }

    #[test]
    fn a_devices_later_write_supersedes_its_earlier_one() {
        // Device 2 writes twice without pulling; device 1's write is concurrent with both.
        let mut state = EntityState::default();
        state.apply(stamp(10, 2, 1, 0), &fields(&[("note", json!("first"))]));
        state.apply(stamp(20, 2, 2, 0), &fields(&[("note", json!("second"))]));
        let applied = state.apply(stamp(30, 1, 3, 0), &fields(&[("note", json!("other"))]));
        assert_eq!(
            pairs(&applied.conflicts),
            vec![(json!("other"), json!("second"))]
        );
    }

    #[test]
    fn a_write_that_saw_both_settles_the_conflict() {
        let mut state = EntityState::default();
        state.apply(stamp(10, 1, 1, 0), &fields(&[("note", json!("a"))]));
        let applied = state.apply(stamp(20, 2, 2, 0), &fields(&[("note", json!("b"))]));
        assert_eq!(applied.conflicts.len(), 1);
        let applied = state.apply(stamp(30, 3, 3, 2), &fields(&[("note", json!("a"))]));
        assert!(applied.conflicts.is_empty(), "{applied:?}");
        assert_eq!(state.values()["note"], json!("a"));
        assert!(state.fields["note"].unseen.is_empty());
    }

    #[derive(Debug, Clone)]
    struct TestOp {
        stamp: WriteStamp,
        fields: Map<String, Value>,
    }

    /// Ops from up to 4 devices on up to 4 fields, with distinct stamps and sequences, in server
    /// order. As on real devices, a device's stamps grow with its ops, and once one of its ops
    /// waits on it (no sequence; about one in six), its later ops wait too.
    fn ops() -> impl Strategy<Value = Vec<TestOp>> {
        proptest::collection::vec(
            (
                0u64..20,
                1u128..5,
                0u64..40,
                0u8..6,
                proptest::collection::btree_map(
                    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")],
                    0i64..5,
                    1..3,
                ),
            ),
            1..25,
        )
        .prop_map(|raw| {
            let mut accepted = 0u64;
            let mut last_ms: BTreeMap<u128, u64> = BTreeMap::new();
            let mut waiting = std::collections::BTreeSet::new();
            raw.into_iter()
                .enumerate()
                .map(|(i, (step, device, base, roll, map))| {
                    if roll == 0 {
                        waiting.insert(device);
                    }
                    let seq = if waiting.contains(&device) {
                        None
                    } else {
                        accepted += 1;
                        Some(accepted)
                    };
                    let ms = last_ms.get(&device).map_or(step, |last| last + step);
                    last_ms.insert(device, ms);
                    TestOp {
                        stamp: WriteStamp {
                            // `i` in the counter keeps every stamp distinct.
                            hlc: Hlc {
                                ms,
                                counter: i as u16,
                                device: DeviceId(Uuid::from_u128(device)),
                            },
                            seq,
                            base_seq: base.min(accepted.saturating_sub(u64::from(seq.is_some()))),
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

    /// One write of the contested field "x" in a generated history.
    #[derive(Debug, Clone)]
    struct Write {
        stamp: WriteStamp,
        value: Value,
        /// Where a copy of it without a sequence (as its own device knew it before the server
        /// accepted it) is applied before it.
        early: Option<prop::sample::Index>,
    }

    /// k writes of one field by up to 3 devices, in server order: each accepted write gets the
    /// next sequence and a random `base_seq` below it, so a later write may have seen any of the
    /// earlier ones or none. A device's stamps grow with its writes, and once one of its writes
    /// waits (no sequence), its later writes wait too, as on a real device.
    fn one_field_history() -> impl Strategy<Value = Vec<Write>> {
        proptest::collection::vec(
            (
                1u128..4,
                0u64..30,
                0i64..3,
                any::<prop::sample::Index>(),
                0u8..10,
                any::<prop::sample::Index>(),
            ),
            1..6,
        )
        .prop_map(|raw| {
            let mut accepted = 0u64;
            let mut last_ms: BTreeMap<u128, u64> = BTreeMap::new();
            let mut waiting = std::collections::BTreeSet::new();
            raw.into_iter()
                .enumerate()
                .map(|(i, (device, step, value, base, roll, early))| {
                    if roll == 0 {
                        waiting.insert(device);
                    }
                    let seq = if waiting.contains(&device) {
                        None
                    } else {
                        accepted += 1;
                        Some(accepted)
                    };
                    // Below its own sequence; a waiting write may have pulled all accepted so far.
                    let base_seq =
                        base.index(accepted as usize + usize::from(seq.is_none())) as u64;
                    let ms = last_ms.get(&device).map_or(step, |last| last + step);
                    last_ms.insert(device, ms);
                    Write {
                        stamp: WriteStamp {
                            hlc: Hlc {
                                ms,
                                counter: i as u16,
                                device: DeviceId(Uuid::from_u128(device)),
                            },
                            seq,
                            base_seq,
                        },
                        value: json!(value),
                        early: (seq.is_some() && roll < 3).then_some(early),
                    }
                })
                .collect()
        })
    }

    /// The conflicts of "x" written out from the rule over the set: the winner by stamp against
    /// each other write that no write saw, concurrent with the winner and of another value.
    fn reference(writes: &[Write]) -> (Value, Vec<(Value, Value, Hlc)>) {
        let winner = writes
            .iter()
            .max_by_key(|w| w.stamp.hlc)
            .expect("at least one write");
        let mut conflicts: Vec<(Value, Value, Hlc)> = writes
            .iter()
            .filter(|w| w.stamp.hlc != winner.stamp.hlc)
            .filter(|w| {
                !writes
                    .iter()
                    .any(|x| x.stamp.hlc != w.stamp.hlc && x.stamp.saw(&w.stamp))
            })
            .filter(|w| w.stamp.concurrent_with(&winner.stamp) && w.value != winner.value)
            .map(|w| (winner.value.clone(), w.value.clone(), w.stamp.hlc))
            .collect();
        conflicts.sort_by_key(|c| c.2);
        (winner.value.clone(), conflicts)
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
            // Not only the values: the writes kept to find conflicts are the same too.
            prop_assert_eq!(&state, &reference);
            // Applying everything again changes nothing.
            let mut again = state.clone();
            for op in &ops {
                let applied = again.apply(op.stamp, &op.fields);
                prop_assert!(applied.changed.is_empty());
            }
            prop_assert_eq!(again, state);
        }

        /// k writes of one field with random `base_seq`, some first known without a sequence:
        /// every order of applying them gives the same state and exactly the reference's
        /// conflicts, and the last op applied reports that whole set.
        #[test]
        fn conflicts_of_one_field_depend_on_the_set_not_the_order(writes in one_field_history()) {
            let (value, expected) = reference(&writes);
            let mut first: Option<EntityState> = None;
            for order in permutations(writes.len()) {
                let mut events: Vec<(WriteStamp, &Value)> =
                    order.iter().map(|&i| (writes[i].stamp, &writes[i].value)).collect();
                for w in &writes {
                    if let Some(early) = &w.early {
                        let at = events
                            .iter()
                            .position(|e| e.0.hlc == w.stamp.hlc)
                            .expect("in the order");
                        events.insert(early.index(at + 1), (WriteStamp { seq: None, ..w.stamp }, &w.value));
                    }
                }
                let mut state = EntityState::default();
                let mut last = Vec::new();
                for (stamp, v) in &events {
                    last = state.apply(*stamp, &fields(&[("x", (*v).clone())])).conflicts;
                }
                let got: Vec<(Value, Value, Hlc)> = state
                    .conflicts("x")
                    .into_iter()
                    .map(|c| (c.winner.value, c.loser.value, c.loser.stamp.hlc))
                    .collect();
                prop_assert_eq!(&got, &expected, "order {:?}", order);
                prop_assert_eq!(&last, &state.conflicts("x"), "order {:?}", order);
                prop_assert_eq!(&state.values()["x"], &value);
                match &first {
                    None => first = Some(state),
                    Some(first) => prop_assert_eq!(first, &state, "order {:?}", order),
                }
            }
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
