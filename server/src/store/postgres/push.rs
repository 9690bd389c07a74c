//! Applying a device's pushed ops on PostgreSQL, inside this process's group transaction: the
//! same I/O around the same rules ([`crate::sync::rules`]) as [`crate::store::push`] on SQLite.

use super::ops as log;
use crate::store::StoreError;
use crate::store::accounts::DeviceCaller;
use crate::store::push::PushCounts;
use crate::sync::rules::{self, Context, PushLimits, Verdict};
use deadpool_postgres::Transaction;
use vaka_shared::Timestamp;
use vaka_shared::merge::{EntityState, WriteStamp};
use vaka_shared::op::Op;
use vaka_shared::sync::PushResult;

/// Applies `ops` from `caller` (sorted by `device_seq`).
pub async fn push(
    tx: &Transaction<'_>,
    caller: &DeviceCaller,
    ops: &[Op],
    now_ms: i64,
    limits: PushLimits,
) -> Result<(PushResult, PushCounts), StoreError> {
    let mut held_seq = log::held_seq(tx, caller.device_id).await?;
    let mut rejected = Vec::new();
    let mut counts = PushCounts::default();
    let mut stopped = None;
    let now = Timestamp::from_unix_ms(now_ms).unwrap_or_else(Timestamp::now_utc);

    for op in ops {
        let held_op = if op.device_seq <= held_seq {
            log::held_op(tx, caller.device_id, op.device_seq).await?
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
        if let Err(rejection) = apply(tx, caller, op, now, now_ms).await? {
            log::record_rejection(tx, caller, op, &rejection, now_ms).await?;
            rejected.push(rejection.for_op(op));
            counts.rejected += 1;
        } else {
            counts.accepted += 1;
        }
        held_seq = op.device_seq;
    }

    log::set_held_seq(tx, caller.device_id, held_seq, now_ms).await?;
    Ok((
        PushResult {
            acked_through: held_seq,
            rejected,
            stopped,
        },
        counts,
    ))
}

async fn apply(
    tx: &Transaction<'_>,
    caller: &DeviceCaller,
    op: &Op,
    now: Timestamp,
    now_ms: i64,
) -> Result<Result<(), rules::Rejection>, StoreError> {
    let stored = log::entity(tx, op.entity_id).await?;
    let entity = match &stored {
        Some(stored) => rules::Held::Stored(stored.facts),
        None if log::was_purged(tx, op.entity_id).await? => rules::Held::Purged,
        None => rules::Held::Unknown,
    };
    let parent = match (&stored, rules::parent_of(&op.body)) {
        (None, Some((_, parent))) => Some(log::held(tx, parent).await?),
        _ => None,
    };
    let admission = match rules::admit(caller, op, Context { entity, parent }, now) {
        Ok(admission) => admission,
        Err(rejection) => return Ok(Err(rejection)),
    };

    let mut fields = op.body.field_map();
    if stored.is_some() {
        log::redact_incoming(tx, op.entity_id, op.hlc, &mut fields).await?;
    }
    let audience = rules::audience_key(
        &op.body,
        stored.as_ref().map(|s| &s.state),
        admission.scope_member,
    );
    let seq = log::append(
        tx,
        caller,
        op,
        admission.scope_member,
        audience.as_deref(),
        &fields,
        now_ms,
    )
    .await?;
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
                tx,
                op.entity_id,
                op.kind(),
                caller,
                admission.scope_member,
                &state,
                seq,
            )
            .await?;
        }
        Some(mut entity) => {
            let applied = entity.state.apply(stamp, &fields);
            for field in fields.keys() {
                let open = log::open_conflicts(tx, caller.org_id, op.entity_id, field).await?;
                let now: Vec<_> = applied
                    .conflicts
                    .iter()
                    .filter(|c| c.field == *field)
                    .collect();
                let changes = rules::reconcile_conflicts(&open, &now, op.base_seq);
                log::change_conflicts(tx, caller.org_id, op.entity_id, field, seq, &changes)
                    .await?;
            }
            log::update_entity(tx, op.entity_id, &entity.state, seq).await?;
        }
    }
    log::project(tx, op.entity_id, now_ms).await?;
    if op.kind().is_entry() {
        super::notify::on_entry_written(tx, caller.org_id, op.entity_id, now_ms).await?;
    }
    Ok(Ok(()))
}
