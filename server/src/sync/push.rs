//! Applying a device's pushed ops. Runs inside the writer's group transaction: the result is only
//! reported to the device after the transaction is committed.
//!
//! The rules, in order, for each op (DESIGN section 4):
//! 1. `device_seq` at or below what the server holds: acknowledged again, nothing changes; a
//!    different op under that number stops the push (`op_mismatch`).
//! 2. A gap before it: stop and say where to resume (`gap`).
//! 3. Its clock too far ahead of the server's: stop (`clock_ahead`); the device re-stamps.
//! 4. Invalid or not allowed: recorded as rejected with the reason, acknowledged, and the queue
//!    moves on.
//! 5. Otherwise accepted: it gets the next server sequence and is merged into the entity; the
//!    conflict records of the fields it wrote are brought to the conflicts among their writes.

use crate::store::StoreError;
use crate::store::accounts::{DeviceCaller, parse_id};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::merge::{Conflict, EntityState, WriteStamp};
use vaka_shared::model::CommentFields;
use vaka_shared::op::{EntityKind, Op, OpBody};
use vaka_shared::policy::{self, Existing};
use vaka_shared::sync::{PushResult, PushStop, RejectCode, RejectedOp, StopCode};
use vaka_shared::validate::validate;
use vaka_shared::{EntityId, MemberId, Timestamp};

/// Bounds the push is checked against.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// How far an op's clock may be ahead of `now_ms`.
    pub max_clock_ahead_ms: i64,
}

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

/// An entity as stored.
struct StoredEntity {
    org_id: String,
    kind: EntityKind,
    author: MemberId,
    scope_member: String,
    state: EntityState,
}

fn load_entity(conn: &Connection, id: EntityId) -> Result<Option<StoredEntity>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT org_id, kind, author, scope_member, state FROM entities WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((org_id, kind, author, scope_member, state)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredEntity {
        org_id,
        kind: EntityKind::from_wire(&kind).ok_or_else(|| {
            StoreError::Sqlite(rusqlite::Error::InvalidColumnType(
                1,
                kind,
                rusqlite::types::Type::Text,
            ))
        })?,
        author: parse_id(&author)?,
        scope_member,
        state: serde_json::from_str(&state)?,
    }))
}

/// Why an op is refused for good.
struct Rejection {
    code: RejectCode,
    message: String,
    field: Option<String>,
}

impl Rejection {
    fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

/// The highest `device_seq` of `caller` the server holds (accepted or rejected).
pub fn held_seq(conn: &Connection, caller: &DeviceCaller) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM devices WHERE id = ?1")?
        .query_row([caller.device_id.to_string()], |r| r.get(0))?)
}

/// Applies `ops` from `caller` (sorted by `device_seq` by the caller of this function).
pub fn push(
    conn: &Connection,
    caller: &DeviceCaller,
    ops: &[Op],
    now_ms: i64,
    limits: PushLimits,
) -> Result<(PushResult, PushCounts), StoreError> {
    let device = caller.device_id.to_string();
    let mut held = held_seq(conn, caller)?;
    let mut rejected = Vec::new();
    let mut counts = PushCounts::default();
    let mut stopped = None;
    let now = Timestamp::from_unix_ms(now_ms).unwrap_or_else(Timestamp::now_utc);

    for op in ops {
        if op.device_seq <= held {
            match stored_op(conn, &device, op.device_seq)? {
                Some(StoredOp::Accepted { op_id }) if op_id == op.op_id.to_string() => {
                    counts.duplicate += 1;
                    continue;
                }
                // Reported again: the answer that carried the refusal may have been lost.
                Some(StoredOp::Rejected { op_id, rejection }) if op_id == op.op_id.to_string() => {
                    counts.duplicate += 1;
                    rejected.push(RejectedOp {
                        device_seq: op.device_seq,
                        op_id: op.op_id,
                        code: rejection.code,
                        message: rejection.message,
                        field: rejection.field,
                    });
                    continue;
                }
                _ => {}
            }
            stopped = Some(PushStop {
                at_seq: op.device_seq,
                code: StopCode::OpMismatch,
                message: format!(
                    "a different op is already stored as number {} of this device",
                    op.device_seq
                ),
            });
            break;
        }
        if op.device_seq != held + 1 {
            stopped = Some(PushStop {
                at_seq: held + 1,
                code: StopCode::Gap,
                message: format!("op {} is missing; send from there", held + 1),
            });
            break;
        }
        if op.hlc.ms > 0
            && (op.hlc.ms as i128) > i128::from(now_ms) + i128::from(limits.max_clock_ahead_ms)
        {
            stopped = Some(PushStop {
                at_seq: op.device_seq,
                code: StopCode::ClockAhead,
                message: format!(
                    "the op's clock is {} s ahead of the server's; correct the clock and re-stamp",
                    (op.hlc.ms as i128 - i128::from(now_ms)) / 1000
                ),
            });
            break;
        }
        match apply(conn, caller, op, now, now_ms)? {
            Ok(()) => counts.accepted += 1,
            Err(rejection) => {
                record_rejection(conn, caller, op, &rejection, now_ms)?;
                rejected.push(RejectedOp {
                    device_seq: op.device_seq,
                    op_id: op.op_id,
                    code: rejection.code,
                    message: rejection.message,
                    field: rejection.field,
                });
                counts.rejected += 1;
            }
        }
        held = op.device_seq;
    }

    conn.prepare_cached("UPDATE devices SET last_seq = ?2, last_sync_at_ms = ?3 WHERE id = ?1")?
        .execute(params![device, held, now_ms])?;
    Ok((
        PushResult {
            acked_through: held,
            rejected,
            stopped,
        },
        counts,
    ))
}

/// An op a device sent before, as the server holds it.
enum StoredOp {
    Accepted { op_id: String },
    Rejected { op_id: String, rejection: Rejection },
}

fn stored_op(
    conn: &Connection,
    device: &str,
    device_seq: u64,
) -> Result<Option<StoredOp>, StoreError> {
    let accepted: Option<String> = conn
        .prepare_cached("SELECT op_id FROM ops WHERE device_id = ?1 AND device_seq = ?2")?
        .query_row(params![device, device_seq], |r| r.get(0))
        .optional()?;
    if let Some(op_id) = accepted {
        return Ok(Some(StoredOp::Accepted { op_id }));
    }
    let rejected = conn
        .prepare_cached(
            "SELECT op_id, code, message, field FROM rejected_ops WHERE device_id = ?1 AND device_seq = ?2",
        )?
        .query_row(params![device, device_seq], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
        })
        .optional()?;
    let Some((op_id, code, message, field)) = rejected else {
        return Ok(None);
    };
    let code: RejectCode = serde_json::from_value(serde_json::Value::String(code))?;
    Ok(Some(StoredOp::Rejected {
        op_id,
        rejection: Rejection {
            code,
            message,
            field,
        },
    }))
}

/// Checks and merges one op. `Ok(Err(_))` is a refusal to record; `Err(_)` a store failure.
fn apply(
    conn: &Connection,
    caller: &DeviceCaller,
    op: &Op,
    now: Timestamp,
    now_ms: i64,
) -> Result<Result<(), Rejection>, StoreError> {
    if op.device_id != caller.device_id || op.hlc.device != caller.device_id {
        return Ok(Err(Rejection::new(
            RejectCode::DeviceMismatch,
            "the op names another device than the one that sent it",
        )));
    }
    let org = caller.org_id.to_string();
    let stored = load_entity(conn, op.entity_id)?;
    // An id of another organisation is treated as unknown: nothing about it is revealed.
    let stored = match stored {
        Some(entity) if entity.org_id != org => {
            return Ok(Err(Rejection::new(
                RejectCode::UnknownEntry,
                "no such entry in your organisation",
            )));
        }
        other => other,
    };
    if let Err(e) = validate(&op.body, now, stored.is_none()) {
        return Ok(Err(Rejection {
            code: RejectCode::InvalidField,
            message: e.to_string(),
            field: Some(e.field),
        }));
    }
    if stored.is_none() && crate::store::retention::was_purged(conn, op.entity_id)? {
        return Ok(Err(purged()));
    }
    let existing = stored.as_ref().map(|e| Existing {
        kind: e.kind,
        author: e.author,
    });
    if let Err(refusal) = policy::check_write(caller.role, caller.member_id, &op.body, existing) {
        let code = match refusal {
            policy::Refusal::ReviewField(_) => RejectCode::ReviewFieldForbidden,
            policy::Refusal::NotAuthor => RejectCode::NotAuthor,
            policy::Refusal::CreateOnce(_) => RejectCode::CreateOnce,
            policy::Refusal::KindMismatch { .. } => RejectCode::KindMismatch,
        };
        let field = match refusal {
            policy::Refusal::ReviewField(f) => Some(f.to_owned()),
            _ => None,
        };
        return Ok(Err(Rejection {
            code,
            message: refusal.to_string(),
            field,
        }));
    }
    // The member whose entries this entity belongs with, for pull scoping.
    let scope_member = match &stored {
        Some(entity) => entity.scope_member.clone(),
        None => match parent_of(&op.body) {
            None => caller.member_id.to_string(),
            Some((kind, parent_id)) => match load_entity(conn, parent_id)? {
                Some(parent)
                    if parent.org_id == org
                        && parent.kind == kind
                        && (caller.role.reviews()
                            || caller.volunteers_see_all
                            || parent.scope_member == caller.member_id.to_string()) =>
                {
                    parent.scope_member
                }
                None if crate::store::retention::was_purged(conn, parent_id)? => {
                    return Ok(Err(purged()));
                }
                _ => {
                    return Ok(Err(Rejection {
                        code: RejectCode::UnknownEntry,
                        message: format!("no such {} in your organisation", kind.as_str()),
                        field: Some(parent_field(&op.body).to_owned()),
                    }));
                }
            },
        },
    };

    let mut fields = op.body.field_map();
    if stored.is_some() {
        crate::store::redaction::redact_incoming(conn, op.entity_id, op.hlc, &mut fields)?;
    }
    let fields_json = serde_json::to_string(&fields)?;
    conn.prepare_cached(
        "INSERT INTO ops (org_id, scope_member, author, op_id, device_id, device_seq, hlc, base_seq,
                          entity_kind, entity_id, fields, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        org,
        scope_member,
        caller.member_id.to_string(),
        op.op_id.to_string(),
        op.device_id.to_string(),
        op.device_seq,
        op.hlc.to_string(),
        op.base_seq,
        op.kind().as_str(),
        op.entity_id.to_string(),
        fields_json,
        now_ms
    ])?;
    let seq = conn.last_insert_rowid() as u64;
    let stamp = WriteStamp {
        hlc: op.hlc,
        seq: Some(seq),
        base_seq: op.base_seq,
    };
    match stored {
        None => {
            let mut state = EntityState::default();
            state.apply(stamp, &fields);
            conn.prepare_cached(
                "INSERT INTO entities (id, org_id, kind, author, scope_member, state, created_seq, updated_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![
                op.entity_id.to_string(),
                org,
                op.kind().as_str(),
                caller.member_id.to_string(),
                scope_member,
                serde_json::to_string(&state)?,
                seq
            ])?;
        }
        Some(mut entity) => {
            let applied = entity.state.apply(stamp, &fields);
            record_conflicts(conn, &org, op, seq, &fields, &applied.conflicts)?;
            conn.prepare_cached("UPDATE entities SET state = ?2, updated_seq = ?3 WHERE id = ?1")?
                .execute(params![
                    op.entity_id.to_string(),
                    serde_json::to_string(&entity.state)?,
                    seq
                ])?;
        }
    }
    crate::store::entries::project(conn, op.entity_id, now_ms)?;
    Ok(Ok(()))
}

/// Brings the open conflict records of the fields `op` wrote (`written`) to the conflicts the merge finds
/// among all the writes of those fields now (`conflicts`, a function of that set of writes, not of
/// the order they came in). A new conflict is recorded. One that is no longer a conflict is settled
/// by this op when the op was made with knowledge of both writes (as a coordinator's choice is),
/// and dropped otherwise: a side of it was superseded by a write that saw it, or a newer write won.
fn record_conflicts(
    conn: &Connection,
    org: &str,
    op: &Op,
    seq: u64,
    written: &serde_json::Map<String, serde_json::Value>,
    conflicts: &[Conflict],
) -> Result<(), StoreError> {
    let entity = op.entity_id.to_string();
    for field in written.keys() {
        let open = conn
            .prepare_cached(
                "SELECT id, winner_hlc, loser_hlc, winner_seq, loser_seq FROM conflicts
                 WHERE org_id = ?1 AND entity_id = ?2 AND field = ?3 AND resolved_seq IS NULL",
            )?
            .query_map(params![org, entity, field], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<u64>>(3)?,
                    r.get::<_, Option<u64>>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let now: Vec<(&Conflict, String, String)> = conflicts
            .iter()
            .filter(|c| c.field == *field)
            .map(|c| {
                (
                    c,
                    c.winner.stamp.hlc.to_string(),
                    c.loser.stamp.hlc.to_string(),
                )
            })
            .collect();
        for (id, winner_hlc, loser_hlc, winner_seq, loser_seq) in &open {
            if now
                .iter()
                .any(|(_, w, l)| w == winner_hlc && l == loser_hlc)
            {
                continue;
            }
            let saw_both = [winner_seq, loser_seq]
                .iter()
                .all(|s| s.is_some_and(|s| op.base_seq >= s));
            if saw_both {
                conn.prepare_cached("UPDATE conflicts SET resolved_seq = ?2 WHERE id = ?1")?
                    .execute(params![id, seq])?;
            } else {
                conn.prepare_cached("DELETE FROM conflicts WHERE id = ?1")?
                    .execute([id])?;
            }
        }
        for (conflict, winner_hlc, loser_hlc) in &now {
            if open
                .iter()
                .any(|(_, w, l, _, _)| w == winner_hlc && l == loser_hlc)
            {
                continue;
            }
            conn.prepare_cached(
                "INSERT INTO conflicts (org_id, entity_id, field, winner_value, winner_hlc, winner_seq,
                                        loser_value, loser_hlc, loser_seq, detected_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                org,
                entity,
                field,
                conflict.winner.value.to_string(),
                winner_hlc,
                conflict.winner.stamp.seq,
                conflict.loser.value.to_string(),
                loser_hlc,
                conflict.loser.stamp.seq,
                seq
            ])?;
        }
    }
    Ok(())
}

fn purged() -> Rejection {
    Rejection::new(
        RejectCode::Purged,
        "the entry was removed by the organisation's retention period before this change arrived",
    )
}

/// The entry a create-once child hangs on: a comment's entry, a track segment's patrol.
fn parent_of(body: &OpBody) -> Option<(EntityKind, EntityId)> {
    match body {
        OpBody::Comment(CommentFields {
            entry: Some(entry), ..
        }) => Some((entry.kind, entry.id)),
        OpBody::TrackSegment(f) => f.patrol_id.map(|id| (EntityKind::Patrol, id)),
        _ => None,
    }
}

fn parent_field(body: &OpBody) -> &'static str {
    match body {
        OpBody::TrackSegment(_) => "patrol_id",
        _ => "entry",
    }
}

fn record_rejection(
    conn: &Connection,
    caller: &DeviceCaller,
    op: &Op,
    rejection: &Rejection,
    now_ms: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO rejected_ops (device_id, device_seq, org_id, author, op_id, op, code, message, field, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        caller.device_id.to_string(),
        op.device_seq,
        caller.org_id.to_string(),
        caller.member_id.to_string(),
        op.op_id.to_string(),
        // Nothing of a purged entry is kept: the op is recorded without its fields.
        if rejection.code == RejectCode::Purged {
            let mut bare = serde_json::to_value(op)?;
            bare["fields"] = serde_json::Value::Object(serde_json::Map::new());
            bare.to_string()
        } else {
            serde_json::to_string(op)?
        },
        serde_json::to_value(rejection.code)?.as_str().unwrap_or("invalid_field"),
        rejection.message,
        rejection.field,
        now_ms
    ])?;
    Ok(())
}
