//! Applying a device's pushed ops. Runs inside the writer's group transaction: the result is only
//! reported to the device after the transaction is committed.
//!
//! This is the thin I/O around the rules of [`crate::sync::rules`]: for each op it looks up what the
//! rules need, asks them, and stores what they decide.

use super::StoreError;
use super::accounts::DeviceCaller;
use super::ops as log;
use crate::sync::rules::{self, Context, PushLimits, Verdict};
use rusqlite::Connection;
use vaka_shared::Timestamp;
use vaka_shared::merge::{EntityState, WriteStamp};
use vaka_shared::op::Op;
use vaka_shared::sync::PushResult;

/// Counts of what a push did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCounts {
    /// Ops accepted and merged.
    pub accepted: usize,
    /// Ops already held (sent again).
    pub duplicate: usize,
    /// Ops recorded as rejected.
    pub rejected: usize,
}

/// Applies `ops` from `caller` (sorted by `device_seq` by the caller of this function).
pub fn push(
    conn: &Connection,
    caller: &DeviceCaller,
    ops: &[Op],
    now_ms: i64,
    limits: PushLimits,
) -> Result<(PushResult, PushCounts), StoreError> {
    let mut held_seq = log::held_seq(conn, caller.device_id)?;
    let mut rejected = Vec::new();
    let mut counts = PushCounts::default();
    let mut stopped = None;
    let now = Timestamp::from_unix_ms(now_ms).unwrap_or_else(Timestamp::now_utc);

    for op in ops {
        let held_op = if op.device_seq <= held_seq {
            log::held_op(conn, caller.device_id, op.device_seq)?
        } else {
            None
        };
        match rules::verdict(op, held_seq, held_op.as_ref(), now_ms, limits) {
            Verdict::Duplicate => {
                counts.duplicate += 1;
                continue;
            }
            Verdict::DuplicateRejected(rejection) => {
                counts.duplicate += 1;
                rejected.push(rejection.for_op(op));
                continue;
            }
            Verdict::Stop(stop) => {
                stopped = Some(stop);
                break;
            }
            Verdict::Next => {}
        }
        if let Err(rejection) = apply(conn, caller, op, now, now_ms)? {
            log::record_rejection(conn, caller, op, &rejection, now_ms)?;
            rejected.push(rejection.for_op(op));
            counts.rejected += 1;
        } else {
            counts.accepted += 1;
        }
        held_seq = op.device_seq;
    }

    log::set_held_seq(conn, caller.device_id, held_seq, now_ms)?;
    Ok((
        PushResult {
            acked_through: held_seq,
            rejected,
            stopped,
        },
        counts,
    ))
}

/// Checks and merges one op. `Ok(Err(_))` is a refusal to record; `Err(_)` a store failure.
fn apply(
    conn: &Connection,
    caller: &DeviceCaller,
    op: &Op,
    now: Timestamp,
    now_ms: i64,
) -> Result<Result<(), rules::Rejection>, StoreError> {
    let stored = log::entity(conn, op.entity_id)?;
    let entity = match &stored {
        Some(stored) => rules::Held::Stored(stored.facts),
        None if crate::store::retention::was_purged(conn, op.entity_id)? => rules::Held::Purged,
        None => rules::Held::Unknown,
    };
    let parent = match (&stored, rules::parent_of(&op.body)) {
        (None, Some((_, parent))) => Some(log::held(conn, parent)?),
        _ => None,
    };
    let admission = match rules::admit(caller, op, Context { entity, parent }, now) {
        Ok(admission) => admission,
        Err(rejection) => return Ok(Err(rejection)),
    };

    let mut fields = op.body.field_map();
    if stored.is_some() {
        crate::store::redaction::redact_incoming(conn, op.entity_id, op.hlc, &mut fields)?;
    }
    let audience = rules::audience_key(
        &op.body,
        stored.as_ref().map(|s| &s.state),
        admission.scope_member,
    );
    let seq = log::append(
        conn,
        caller,
        op,
        admission.scope_member,
        audience.as_deref(),
        &fields,
        now_ms,
    )?;
    let stamp = WriteStamp {
        hlc: op.hlc,
        seq: Some(seq),
        base_seq: op.base_seq,
    };
    match stored {
        None => {
            let mut state = EntityState::default();
            state.apply(stamp, &fields);
            log::insert_entity(
                conn,
                op.entity_id,
                op.kind(),
                caller,
                admission.scope_member,
                &state,
                seq,
            )?;
        }
        Some(mut entity) => {
            let applied = entity.state.apply(stamp, &fields);
            for field in fields.keys() {
                let open = log::open_conflicts(conn, caller.org_id, op.entity_id, field)?;
                let now: Vec<_> = applied
                    .conflicts
                    .iter()
                    .filter(|c| c.field == *field)
                    .collect();
                let changes = rules::reconcile_conflicts(&open, &now, op.base_seq);
                log::change_conflicts(conn, caller.org_id, op.entity_id, field, seq, &changes)?;
            }
            log::update_entity(conn, op.entity_id, &entity.state, seq)?;
        }
    }
    crate::store::entries::project(conn, op.entity_id, now_ms)?;
    if op.kind().is_entry() {
        crate::store::notify::on_entry_written(conn, caller.org_id, op.entity_id, now_ms)?;
    }
    Ok(Ok(()))
}
