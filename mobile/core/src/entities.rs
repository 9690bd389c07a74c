//! The `entities` table: the merged state of every entity, kept up to date by applying ops with
//! the shared merge, and rebuilt from the log when an op is rejected or re-stamped.

use super::error::{DeviceError, Result};
use super::store::{OP_COLUMNS, i64_of, op_from_row, parse};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::merge::{EntityState, WriteStamp};
use vaka_shared::{EntityId, EntityKind, MemberId, Op, OpBody};

/// What the device holds of one entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityRow {
    pub kind: EntityKind,
    pub author: MemberId,
    pub state: EntityState,
}

/// The entity with this id, if the device knows it.
pub(crate) fn load(conn: &Connection, id: EntityId) -> Result<Option<EntityRow>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT kind, author, state FROM entities WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(kind, author, state)| {
        Ok(EntityRow {
            kind: EntityKind::from_wire(&kind).ok_or_else(|| DeviceError::damaged("kind", kind))?,
            author: parse("member id", &author)?,
            state: serde_json::from_str(&state)?,
        })
    })
    .transpose()
}

/// The entry a comment belongs to, the patrol of a track segment, the message of a receipt.
fn parent_of(body: &OpBody) -> Option<EntityId> {
    match body {
        OpBody::Comment(f) => f.entry.map(|e| e.id),
        OpBody::TrackSegment(f) => f.patrol_id,
        OpBody::MessageReceipt(f) => f.message_id,
        _ => None,
    }
}

/// Applies one op to its entity (creating the row when it is the first op seen), with the
/// server sequence when the op came from the server.
pub(crate) fn apply_op(
    conn: &Connection,
    op: &Op,
    author: MemberId,
    seq: Option<u64>,
) -> Result<()> {
    let mut state = load(conn, op.entity_id)?
        .map(|e| e.state)
        .unwrap_or_default();
    let stamp = WriteStamp {
        hlc: op.hlc,
        seq,
        base_seq: op.base_seq,
    };
    state.apply(stamp, &op.body.field_map());
    let ms = i64_of(op.hlc.ms);
    conn.prepare_cached(
        "INSERT INTO entities (id, kind, author, parent_id, state, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (id) DO UPDATE SET
             state = excluded.state,
             parent_id = coalesce(parent_id, excluded.parent_id),
             created_ms = min(created_ms, excluded.created_ms),
             updated_ms = max(updated_ms, excluded.updated_ms)",
    )?
    .execute(params![
        op.entity_id.to_string(),
        op.kind().as_str(),
        author.to_string(),
        parent_of(&op.body).map(|p| p.to_string()),
        serde_json::to_string(&state)?,
        ms,
    ])?;
    Ok(())
}

/// Recomputes an entity's state from every op of it that was not rejected, so that it holds
/// exactly what the server's copy holds once the server has seen the same ops.
pub(crate) fn rebuild(conn: &Connection, id: EntityId) -> Result<()> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS}, status FROM ops WHERE entity_id = ?1"
    ))?;
    let mut rows = statement.query([id.to_string()])?;
    let mut state = EntityState::default();
    let (mut first, mut last) = (u64::MAX, 0);
    while let Some(row) = rows.next()? {
        let (op, seq) = op_from_row(row)?;
        first = first.min(op.hlc.ms);
        last = last.max(op.hlc.ms);
        let status: String = row.get(9)?;
        if status != "rejected" {
            let stamp = WriteStamp {
                hlc: op.hlc,
                seq,
                base_seq: op.base_seq,
            };
            state.apply(stamp, &op.body.field_map());
        }
    }
    if first > last {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE entities SET state = ?2, created_ms = ?3, updated_ms = ?4 WHERE id = ?1",
    )?
    .execute(params![
        id.to_string(),
        serde_json::to_string(&state)?,
        i64_of(first),
        i64_of(last),
    ])?;
    Ok(())
}

/// Stores an entity's state as it is (after a redaction changed it in place).
pub(crate) fn store_state(conn: &Connection, id: EntityId, state: &EntityState) -> Result<()> {
    conn.prepare_cached("UPDATE entities SET state = ?2 WHERE id = ?1")?
        .execute(params![id.to_string(), serde_json::to_string(state)?])?;
    Ok(())
}
