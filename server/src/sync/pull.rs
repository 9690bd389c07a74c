//! Handing out a page of ops in server sequence order, confined to the caller's scope.
//!
//! Ops are served straight from their stored JSON (no re-parsing), in exactly the shape of
//! [`vaka_shared::sync::ServerOp`].

use crate::store::StoreError;
use crate::store::accounts::DeviceCaller;
use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::value::RawValue;
use vaka_shared::sync::{Removal, RemovalKind};

/// A stored op as it goes on the wire; serialises like [`vaka_shared::sync::ServerOp`].
#[derive(Debug, Serialize)]
pub struct RawServerOp {
    seq: u64,
    author: String,
    op_id: String,
    device_id: String,
    device_seq: u64,
    hlc: String,
    base_seq: u64,
    entity_id: String,
    entity: String,
    fields: Box<RawValue>,
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

/// Up to `limit` ops after `cursor` that `caller` may see: all of the organisation's for
/// coordinators and admins (and volunteers where the organisation shares entries), otherwise
/// those belonging with the volunteer's own entries.
pub fn pull(
    conn: &Connection,
    caller: &DeviceCaller,
    cursor: u64,
    limit: u32,
) -> Result<RawPullPage, StoreError> {
    let sees_all = caller.role.reviews() || caller.volunteers_see_all;
    let sql = if sees_all {
        "SELECT seq, author, op_id, device_id, device_seq, hlc, base_seq, entity_id, entity_kind, fields
         FROM ops WHERE org_id = ?1 AND seq > ?2 AND ?3 IS NULL ORDER BY seq LIMIT ?4"
    } else {
        "SELECT seq, author, op_id, device_id, device_seq, hlc, base_seq, entity_id, entity_kind, fields
         FROM ops WHERE org_id = ?1 AND seq > ?2 AND scope_member = ?3 ORDER BY seq LIMIT ?4"
    };
    let scope = (!sees_all).then(|| caller.member_id.to_string());
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        params![
            caller.org_id.to_string(),
            cursor,
            scope,
            i64::from(limit) + 1
        ],
        |r| {
            let fields = RawValue::from_string(r.get(9)?).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    9,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok(RawServerOp {
                seq: r.get(0)?,
                author: r.get(1)?,
                op_id: r.get(2)?,
                device_id: r.get(3)?,
                device_seq: r.get(4)?,
                hlc: r.get(5)?,
                base_seq: r.get(6)?,
                entity_id: r.get(7)?,
                entity: r.get(8)?,
                fields,
            })
        },
    )?;
    let mut ops = rows.collect::<Result<Vec<_>, _>>()?;
    let mut removals = removals_after(conn, caller, sees_all, cursor, limit)?;
    // Ops and removals share one sequence: the page holds the first `limit` of both together.
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
    Ok(RawPullPage {
        ops,
        cursor,
        more,
        removals,
    })
}

/// Up to `limit + 1` removals after `cursor` in `caller`'s scope, by sequence.
fn removals_after(
    conn: &Connection,
    caller: &DeviceCaller,
    sees_all: bool,
    cursor: u64,
    limit: u32,
) -> Result<Vec<Removal>, StoreError> {
    let sql = if sees_all {
        "SELECT seq, record FROM removals WHERE org_id = ?1 AND seq > ?2 AND ?3 IS NULL
         ORDER BY seq LIMIT ?4"
    } else {
        "SELECT seq, record FROM removals WHERE org_id = ?1 AND seq > ?2 AND scope_member = ?3
         ORDER BY seq LIMIT ?4"
    };
    let scope = (!sees_all).then(|| caller.member_id.to_string());
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(
            params![
                caller.org_id.to_string(),
                cursor,
                scope,
                i64::from(limit) + 1
            ],
            |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(seq, record)| {
            let what: RemovalKind = serde_json::from_str(&record)?;
            Ok(Removal { seq, what })
        })
        .collect()
}
