//! The op log and the merged entities: what the push path reads and writes inside the writer's
//! group transaction, and the pull page read by cursor. Typed in, typed out; the rules that decide
//! what to write are in [`crate::sync::rules`].

use super::StoreError;
use super::row::{json, parsed, parsed_opt, wire};
use crate::store::accounts::DeviceCaller;
use crate::sync::rules::{ConflictChange, EntityFacts, Held, HeldOp, OpenConflict, Rejection};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use vaka_shared::merge::EntityState;
use vaka_shared::op::{EntityKind, Op};
use vaka_shared::sync::{RejectCode, Removal, RemovalKind};
use vaka_shared::{AreaId, DeviceId, EntityId, Hlc, MemberId, OpId, OrgId};

/// The highest `device_seq` of `device` the server holds (accepted or refused).
pub fn held_seq(conn: &Connection, device: DeviceId) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM devices WHERE id = ?1")?
        .query_row([device.to_string()], |r| r.get(0))?)
}

/// Notes that the server holds `device`'s ops through `held` and that it synced at `now_ms`.
pub fn set_held_seq(
    conn: &Connection,
    device: DeviceId,
    held: u64,
    now_ms: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE devices SET last_seq = ?2, last_sync_at_ms = ?3 WHERE id = ?1")?
        .execute(params![device.to_string(), held, now_ms])?;
    Ok(())
}

/// Writes devices' last sync times; a time is never moved backwards.
pub fn note_last_syncs(conn: &Connection, syncs: &[(DeviceId, i64)]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE devices SET last_sync_at_ms = MAX(COALESCE(last_sync_at_ms, 0), ?2) WHERE id = ?1",
    )?;
    for (device, at) in syncs {
        stmt.execute(params![device.to_string(), at])?;
    }
    Ok(())
}

/// What the server holds under number `device_seq` of `device`.
pub fn held_op(
    conn: &Connection,
    device: DeviceId,
    device_seq: u64,
) -> Result<Option<HeldOp>, StoreError> {
    let device = device.to_string();
    let accepted: Option<OpId> = conn
        .prepare_cached("SELECT op_id FROM ops WHERE device_id = ?1 AND device_seq = ?2")?
        .query_row(params![device, device_seq], |r| parsed(r, 0))
        .optional()?;
    if let Some(op_id) = accepted {
        return Ok(Some(HeldOp::Accepted(op_id)));
    }
    let refused = conn
        .prepare_cached(
            "SELECT op_id, code, message, field FROM rejected_ops
             WHERE device_id = ?1 AND device_seq = ?2",
        )?
        .query_row(params![device, device_seq], |r| {
            Ok(HeldOp::Rejected(
                parsed(r, 0)?,
                Rejection {
                    code: wire(r, 1, reject_code)?,
                    message: r.get(2)?,
                    field: r.get(3)?,
                },
            ))
        })
        .optional()?;
    Ok(refused)
}

/// An entity as stored: what decides who may write it, and its merged state.
#[derive(Debug)]
pub struct StoredEntity {
    /// Its organisation, kind, author and scope.
    pub facts: EntityFacts,
    /// Its merged state.
    pub state: EntityState,
}

/// The entity `id`, if it is stored.
pub fn entity(conn: &Connection, id: EntityId) -> Result<Option<StoredEntity>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT org_id, kind, author, scope_member, state FROM entities WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok(StoredEntity {
                facts: EntityFacts {
                    org_id: parsed(r, 0)?,
                    kind: wire(r, 1, EntityKind::from_wire)?,
                    author: parsed(r, 2)?,
                    scope_member: parsed(r, 3)?,
                },
                state: json(r, 4)?,
            })
        })
        .optional()?)
}

/// What the server holds of `id`: its facts, the fact that it was purged, or nothing.
pub fn held(conn: &Connection, id: EntityId) -> Result<Held, StoreError> {
    Ok(match entity_facts(conn, id)? {
        Some(facts) => Held::Stored(facts),
        None if super::retention::was_purged(conn, id)? => Held::Purged,
        None => Held::Unknown,
    })
}

fn entity_facts(conn: &Connection, id: EntityId) -> Result<Option<EntityFacts>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT org_id, kind, author, scope_member FROM entities WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok(EntityFacts {
                org_id: parsed(r, 0)?,
                kind: wire(r, 1, EntityKind::from_wire)?,
                author: parsed(r, 2)?,
                scope_member: parsed(r, 3)?,
            })
        })
        .optional()?)
}

/// Appends an accepted op (with its fields as they are to be stored) to the log; returns its
/// server sequence.
pub fn append(
    conn: &Connection,
    caller: &DeviceCaller,
    op: &Op,
    scope_member: MemberId,
    audience: Option<&str>,
    fields: &Map<String, Value>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO ops (org_id, scope_member, author, op_id, device_id, device_seq, hlc, base_seq,
                          entity_kind, entity_id, fields, received_at_ms, audience)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        caller.org_id.to_string(),
        scope_member.to_string(),
        caller.member_id.to_string(),
        op.op_id.to_string(),
        op.device_id.to_string(),
        op.device_seq,
        op.hlc.to_string(),
        op.base_seq,
        op.kind().as_str(),
        op.entity_id.to_string(),
        serde_json::to_string(fields)?,
        now_ms,
        audience
    ])?;
    Ok(conn.last_insert_rowid() as u64)
}

/// Stores a new entity, created by `caller`'s op `seq`.
pub fn insert_entity(
    conn: &Connection,
    id: EntityId,
    kind: EntityKind,
    caller: &DeviceCaller,
    scope_member: MemberId,
    state: &EntityState,
    seq: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO entities (id, org_id, kind, author, scope_member, state, created_seq, updated_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        id.to_string(),
        caller.org_id.to_string(),
        kind.as_str(),
        caller.member_id.to_string(),
        scope_member.to_string(),
        serde_json::to_string(state)?,
        seq
    ])?;
    Ok(())
}

/// Stores the merged state of `id` after op `seq`.
pub fn update_entity(
    conn: &Connection,
    id: EntityId,
    state: &EntityState,
    seq: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE entities SET state = ?2, updated_seq = ?3 WHERE id = ?1")?
        .execute(params![id.to_string(), serde_json::to_string(state)?, seq])?;
    Ok(())
}

/// The open conflict records of `field` of `entity`.
pub fn open_conflicts(
    conn: &Connection,
    org: OrgId,
    entity: EntityId,
    field: &str,
) -> Result<Vec<OpenConflict>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, winner_hlc, loser_hlc, winner_seq, loser_seq FROM conflicts
             WHERE org_id = ?1 AND entity_id = ?2 AND field = ?3 AND resolved_seq IS NULL",
        )?
        .query_map(params![org.to_string(), entity.to_string(), field], |r| {
            Ok(OpenConflict {
                id: r.get(0)?,
                winner_hlc: parsed::<Hlc>(r, 1)?,
                loser_hlc: parsed::<Hlc>(r, 2)?,
                winner_seq: r.get(3)?,
                loser_seq: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Writes the changes to the conflict records of `field` of `entity` that op `seq` brought.
pub fn change_conflicts(
    conn: &Connection,
    org: OrgId,
    entity: EntityId,
    field: &str,
    seq: u64,
    changes: &[ConflictChange<'_>],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            ConflictChange::Settle(id) => {
                conn.prepare_cached("UPDATE conflicts SET resolved_seq = ?2 WHERE id = ?1")?
                    .execute(params![id, seq])?;
            }
            ConflictChange::Drop(id) => {
                conn.prepare_cached("DELETE FROM conflicts WHERE id = ?1")?
                    .execute([id])?;
            }
            ConflictChange::Record(conflict) => {
                conn.prepare_cached(
                    "INSERT INTO conflicts (org_id, entity_id, field, winner_value, winner_hlc,
                                            winner_seq, loser_value, loser_hlc, loser_seq, detected_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    org.to_string(),
                    entity.to_string(),
                    field,
                    conflict.winner.value.to_string(),
                    conflict.winner.stamp.hlc.to_string(),
                    conflict.winner.stamp.seq,
                    conflict.loser.value.to_string(),
                    conflict.loser.stamp.hlc.to_string(),
                    conflict.loser.stamp.seq,
                    seq
                ])?;
            }
        }
    }
    Ok(())
}

/// Records a refused op with the reason, so it is reported again if the device sends it again.
pub fn record_rejection(
    conn: &Connection,
    caller: &DeviceCaller,
    op: &Op,
    rejection: &Rejection,
    now_ms: i64,
) -> Result<(), StoreError> {
    // Nothing of a purged entry is kept: the op is recorded without its fields.
    let stored = if rejection.code == RejectCode::Purged {
        let mut bare = serde_json::to_value(op)?;
        bare["fields"] = Value::Object(Map::new());
        bare.to_string()
    } else {
        serde_json::to_string(op)?
    };
    conn.prepare_cached(
        "INSERT INTO rejected_ops (device_id, device_seq, org_id, author, op_id, op, code, message,
                                   field, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        caller.device_id.to_string(),
        op.device_seq,
        caller.org_id.to_string(),
        caller.member_id.to_string(),
        op.op_id.to_string(),
        stored,
        reject_code_name(rejection.code),
        rejection.message,
        rejection.field,
        now_ms
    ])?;
    Ok(())
}

/// A refusal's code by its stored name (the wire name).
fn reject_code(name: &str) -> Option<RejectCode> {
    serde_json::from_value(Value::String(name.to_owned())).ok()
}

/// The stored name of a refusal's code (the wire name).
fn reject_code_name(code: RejectCode) -> String {
    match serde_json::to_value(code) {
        Ok(Value::String(name)) => name,
        _ => "invalid_field".to_owned(),
    }
}

/// The newest clock among the ops `device` made, if any.
pub fn newest_hlc_of_device(
    conn: &Connection,
    device: DeviceId,
) -> Result<Option<Hlc>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MAX(hlc) FROM ops WHERE device_id = ?1")?
        .query_row([device.to_string()], |r| parsed_opt(r, 0))?)
}

/// The newest clock among the writes of `entity`, if any.
pub fn newest_hlc_of_entity(
    conn: &Connection,
    entity: EntityId,
) -> Result<Option<Hlc>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MAX(hlc) FROM ops WHERE entity_id = ?1")?
        .query_row([entity.to_string()], |r| parsed_opt(r, 0))?)
}

/// The server sequence of op number `device_seq` of `device`, if it was accepted.
pub fn seq_of(
    conn: &Connection,
    device: DeviceId,
    device_seq: u64,
) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM ops WHERE device_id = ?1 AND device_seq = ?2")?
        .query_row(params![device.to_string(), device_seq], |r| r.get(0))
        .optional()?)
}

/// The newest server sequence of an op.
pub fn last_op_seq(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM ops")?
        .query_row([], |r| r.get(0))?)
}

/// The newest server sequence handed out, of an op or a removal.
pub fn last_seq(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT MAX((SELECT COALESCE(MAX(seq), 0) FROM ops),
                        (SELECT COALESCE(MAX(seq), 0) FROM removals))",
        )?
        .query_row([], |r| r.get(0))?)
}

/// A stored op as it goes on the wire; serialises like [`vaka_shared::sync::ServerOp`]. Its
/// fields are served straight from their stored JSON, without re-parsing.
#[derive(Debug, Serialize)]
pub struct RawServerOp {
    /// The server sequence.
    pub seq: u64,
    /// The member whose device made it.
    pub author: MemberId,
    /// Its id.
    pub op_id: OpId,
    /// The device that made it.
    pub device_id: DeviceId,
    /// Its number on that device.
    pub device_seq: u64,
    /// Its clock.
    pub hlc: Hlc,
    /// The sequence its device had pulled when it made it.
    pub base_seq: u64,
    /// The entity written.
    pub entity_id: EntityId,
    /// The entity's kind.
    pub entity: EntityKind,
    /// The fields written, as stored.
    pub fields: Box<RawValue>,
}

/// A page of ops; serialises like [`vaka_shared::sync::PullPage`].
#[derive(Debug, Serialize)]
pub struct RawPullPage {
    /// The ops.
    pub ops: Vec<RawServerOp>,
    /// The cursor to store after applying them.
    pub cursor: u64,
    /// Whether more ops wait.
    pub more: bool,
    /// Removals in the same sequence (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removals: Vec<Removal>,
}

/// The three shapes of a pull, by who pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullShape {
    /// Coordinators and admins: every op of the organisation.
    Everything,
    /// Volunteers where the organisation shares entries: every op but messages for others and
    /// other phones' receipts.
    Shared,
    /// Volunteers who see their own entries only: their scope, and the messages for them.
    Own,
}

impl PullShape {
    /// How `caller` pulls.
    pub fn of(caller: &DeviceCaller) -> Self {
        if caller.role.reviews() {
            Self::Everything
        } else if caller.volunteers_see_all {
            Self::Shared
        } else {
            Self::Own
        }
    }
}

/// The columns of an op as the pull reads them.
pub const OP_COLUMNS: &str =
    "seq, author, op_id, device_id, device_seq, hlc, base_seq, entity_id, entity_kind, fields";

/// The statement of a pull of `columns` from `table` (the op log or the removals), for a shape.
/// Parameters: `?1` organisation, `?2` cursor, `?3` limit, then for [`PullShape::Shared`] the
/// four audience keys ([`crate::sync::rules::pull_keys`]) as `?4`–`?7`, for [`PullShape::Own`]
/// the member as `?4` and the keys as `?5`–`?8` ([`pull_args`]). Each branch is served by an
/// index: `ops_org_seq`, `ops_org_scope_seq`, `ops_org_audience_seq` and the removals' twins.
pub fn pull_sql(shape: PullShape, table: &str, columns: &str, mark: char) -> String {
    let p = |n: u8| format!("{mark}{n}");
    let (org, cursor, limit) = (p(1), p(2), p(3));
    match shape {
        PullShape::Everything => format!(
            "SELECT {columns} FROM {table} WHERE org_id = {org} AND seq > {cursor}
             ORDER BY seq LIMIT {limit}"
        ),
        PullShape::Shared => {
            let keys = [p(4), p(5), p(6), p(7)].join(", ");
            format!(
                "SELECT {columns} FROM {table} WHERE org_id = {org} AND seq > {cursor}
                   AND (audience IS NULL OR audience IN ({keys}))
                 ORDER BY seq LIMIT {limit}"
            )
        }
        PullShape::Own => {
            let member = p(4);
            let keys = [p(5), p(6), p(7), p(8)].join(", ");
            format!(
                "SELECT * FROM (SELECT {columns} FROM {table}
                                WHERE org_id = {org} AND scope_member = {member}
                                  AND seq > {cursor} AND audience IS NULL
                                ORDER BY seq LIMIT {limit}) AS own
                 UNION ALL
                 SELECT * FROM (SELECT {columns} FROM {table}
                                WHERE org_id = {org} AND audience IN ({keys}) AND seq > {cursor}
                                ORDER BY seq LIMIT {limit}) AS addressed
                 ORDER BY seq LIMIT {limit}"
            )
        }
    }
}

/// The text parameters of [`pull_sql`] after the first three: the member and the audience keys
/// as the shape takes them.
pub fn pull_args(
    shape: PullShape,
    member: MemberId,
    area: Option<AreaId>,
    group: Option<&str>,
) -> Vec<Option<String>> {
    let keys = crate::sync::rules::pull_keys(member, area, group);
    match shape {
        PullShape::Everything => Vec::new(),
        PullShape::Shared => keys.to_vec(),
        PullShape::Own => std::iter::once(Some(member.to_string()))
            .chain(keys)
            .collect(),
    }
}

/// A member's area and group: what decides which messages their phones pull.
pub fn member_reach(
    conn: &Connection,
    member: MemberId,
) -> Result<(Option<AreaId>, Option<String>), StoreError> {
    Ok(conn
        .prepare_cached("SELECT area_id, member_group FROM members WHERE id = ?1")?
        .query_row([member.to_string()], |r| {
            Ok((parsed_opt(r, 0)?, r.get::<_, Option<String>>(1)?))
        })
        .optional()?
        .unwrap_or((None, None)))
}

/// Up to `limit` ops after `cursor` that `caller` may see, with the removals of the same range
/// ([`PullShape`]): all of the organisation's for coordinators and admins; for volunteers, all
/// of them or those belonging with their own entries (as the organisation says), and in either
/// case only the messages for the whole organisation, their area or their group, and only
/// their own phones' receipts.
pub fn pull(
    conn: &Connection,
    caller: &DeviceCaller,
    cursor: u64,
    limit: u32,
) -> Result<RawPullPage, StoreError> {
    let shape = PullShape::of(caller);
    let (area, group) = match shape {
        PullShape::Everything => (None, None),
        PullShape::Shared | PullShape::Own => member_reach(conn, caller.member_id)?,
    };
    let mut args: Vec<rusqlite::types::Value> = vec![
        caller.org_id.to_string().into(),
        i64::try_from(cursor).unwrap_or(i64::MAX).into(),
        (i64::from(limit) + 1).into(),
    ];
    args.extend(
        pull_args(shape, caller.member_id, area, group.as_deref())
            .into_iter()
            .map(|arg| arg.map_or(rusqlite::types::Value::Null, Into::into)),
    );
    let ops = conn
        .prepare_cached(&pull_sql(shape, "ops", OP_COLUMNS, '?'))?
        .query_map(rusqlite::params_from_iter(&args), |r| {
            let fields: String = r.get(9)?;
            Ok(RawServerOp {
                seq: r.get(0)?,
                author: parsed(r, 1)?,
                op_id: parsed(r, 2)?,
                device_id: parsed(r, 3)?,
                device_seq: r.get(4)?,
                hlc: parsed(r, 5)?,
                base_seq: r.get(6)?,
                entity_id: parsed(r, 7)?,
                entity: wire(r, 8, EntityKind::from_wire)?,
                fields: RawValue::from_string(fields).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        9,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let removals = conn
        .prepare_cached(&pull_sql(shape, "removals", "seq, record", '?'))?
        .query_map(rusqlite::params_from_iter(&args), |r| {
            Ok(Removal {
                seq: r.get(0)?,
                what: json::<RemovalKind>(r, 1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(ops, removals, cursor, limit))
}

/// The page of `limit` from the ops and removals after `cursor` (each fetched up to `limit + 1`,
/// by sequence): ops and removals share one sequence, so the page holds the first `limit` of both
/// together, and the cursor moves to the last of them.
pub fn page(
    mut ops: Vec<RawServerOp>,
    mut removals: Vec<Removal>,
    cursor: u64,
    limit: u32,
) -> RawPullPage {
    let limit = limit as usize;
    let more = ops.len() + removals.len() > limit;
    if more {
        let mut seqs: Vec<u64> = ops
            .iter()
            .map(|op| op.seq)
            .chain(removals.iter().map(|r| r.seq))
            .collect();
        seqs.sort_unstable();
        let last = seqs[limit - 1];
        ops.retain(|op| op.seq <= last);
        removals.retain(|r| r.seq <= last);
    }
    let cursor = ops
        .last()
        .map(|op| op.seq)
        .into_iter()
        .chain(removals.last().map(|r| r.seq))
        .max()
        .unwrap_or(cursor);
    RawPullPage {
        ops,
        cursor,
        more,
        removals,
    }
}

/// The op log as the sync endpoints use it.
impl super::SqliteStore {
    /// The highest `device_seq` of `device` the server holds, from a read connection.
    pub async fn held_seq(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.read(move |conn| held_seq(conn, device)).await
    }

    /// Applies `ops` from `caller` (sorted by `device_seq`) in the next group transaction; the
    /// answer comes once it is committed.
    pub async fn push(
        &self,
        caller: DeviceCaller,
        ops: Vec<Op>,
        now_ms: i64,
        limits: crate::sync::rules::PushLimits,
    ) -> Result<(vaka_shared::sync::PushResult, super::push::PushCounts), StoreError> {
        self.write(move |conn| super::push::push(conn, &caller, &ops, now_ms, limits))
            .await
    }

    /// A page of `caller`'s scope after `cursor` (see [`pull`]).
    pub async fn pull(
        &self,
        caller: DeviceCaller,
        cursor: u64,
        limit: u32,
    ) -> Result<RawPullPage, StoreError> {
        self.read(move |conn| pull(conn, &caller, cursor, limit))
            .await
    }

    /// The newest server sequence handed out, of an op or a removal.
    pub async fn last_seq(&self) -> Result<u64, StoreError> {
        self.read(last_seq).await
    }

    /// Writes devices' last sync times in one write job; a time is never moved backwards.
    pub async fn note_last_syncs(&self, syncs: Vec<(DeviceId, i64)>) -> Result<(), StoreError> {
        self.write(move |conn| note_last_syncs(conn, &syncs)).await
    }
}
