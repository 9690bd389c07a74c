//! Any bytes as the body of `POST /api/v1/sync`: decoded as a `SyncRequest` the way the server
//! reads it, each op validated and checked against the write policy as the push does, and the
//! valid ones merged into entity states. Nothing may panic, and everything the server stores
//! (the op, its fields, the entity's state) must serialise and read back, or a later request
//! would fail on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use vaka_shared::merge::{EntityState, WriteStamp};
use vaka_shared::model::Role;
use vaka_shared::policy::{self, Existing};
use vaka_shared::sync::{SyncRequest, limits};
use vaka_shared::validate::validate;
use vaka_shared::{EntityId, EntityKind, MemberId, Op, OpBody, Timestamp};

/// The server's clock in every run, so that a finding replays the same way.
const NOW_MS: i64 = 1_795_300_000_000;

/// An entity as the push keeps it: its kind, who created it and its merged state.
struct Stored {
    kind: EntityKind,
    author: MemberId,
    state: EntityState,
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut request) = serde_json::from_slice::<SyncRequest>(data) else {
        return;
    };
    if request.push.len() > limits::MAX_PUSH_OPS {
        return;
    }
    if let Some(pull) = request.pull {
        let limit = pull.limit.unwrap_or(limits::DEFAULT_PULL_PAGE);
        if limit == 0 || limit > limits::MAX_PULL_PAGE {
            return;
        }
    }
    request.push.sort_by_key(|op| op.device_seq);
    let now = Timestamp::from_unix_ms(NOW_MS).expect("the fixed clock is in range");
    for role in [Role::Volunteer, Role::Coordinator] {
        push(&request.push, role, now);
    }
});

/// The push of `ops` by members of `role`, each op's member named after its device.
fn push(ops: &[Op], role: Role, now: Timestamp) {
    let mut entities: BTreeMap<EntityId, Stored> = BTreeMap::new();
    for (seq, op) in (1u64..).zip(ops) {
        // Accepted or rejected, the server stores the op as JSON and may hand it out again.
        let json = serde_json::to_string(op).expect("a decoded op serialises");
        serde_json::from_str::<Op>(&json).expect("a stored op reads back");

        let caller = MemberId(op.device_id.0);
        let stored = entities.get(&op.entity_id);
        if validate(&op.body, now, stored.is_none()).is_err() {
            continue;
        }
        let existing = stored.map(|e| Existing {
            kind: e.kind,
            author: e.author,
        });
        if policy::check_write(role, caller, &op.body, existing).is_err() {
            continue;
        }

        // What the server stores as the op's fields is what a pulling device reads.
        let fields = op.body.field_map();
        let fields_json = serde_json::to_string(&fields).expect("an op's fields serialise");
        let pulled: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&fields_json).expect("stored fields read back");
        OpBody::from_field_map(op.kind(), pulled).expect("pulled fields parse as the op's kind");

        let stamp = WriteStamp {
            hlc: op.hlc,
            seq: Some(seq),
            base_seq: op.base_seq,
        };
        let entity = entities.entry(op.entity_id).or_insert_with(|| Stored {
            kind: op.kind(),
            author: caller,
            state: EntityState::default(),
        });
        let applied = entity.state.apply(stamp, &fields);
        for conflict in &applied.conflicts {
            let _ = (
                conflict.winner.value.to_string(),
                conflict.loser.value.to_string(),
            );
        }
        let state = serde_json::to_string(&entity.state).expect("an entity state serialises");
        serde_json::from_str::<EntityState>(&state).expect("a stored entity state reads back");
    }
}
