//! Applying the server's answer to one sync round, in one local transaction: acknowledgements,
//! rejections (with the entity rebuilt), re-stamping after `clock_ahead`, the pulled ops and the
//! new cursor.

use super::plan;
use crate::device::clock::{WallClock, corrected_ms, stamp_ms};
use crate::device::entities;
use crate::device::error::Result;
use crate::device::store::{self, Identity, OpStatus, i64_of, parse, reject_code_text, u64_of};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;
use vaka_shared::sync::{PushResult, PushStop, StopCode, SyncResponse};
use vaka_shared::{EntityId, Hlc, HlcClock};

/// What one round did and where the device stands after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RoundOutcome {
    /// Own ops newly acknowledged (accepted or rejected).
    pub acked: u64,
    /// Own ops the server refused.
    pub rejected: usize,
    /// Ops pulled.
    pub pulled: usize,
    /// Own ops given new stamps after `clock_ahead`.
    pub restamped: usize,
    /// Whether more ops wait to be pulled.
    pub more_to_pull: bool,
    /// Why the server stopped the push, if it did.
    pub stop: Option<PushStop>,
    /// The first `device_seq` the next push starts at.
    pub push_from: u64,
    /// The `device_seq` the next own op gets.
    pub next_device_seq: u64,
    /// The stored cursor.
    pub cursor: u64,
}

/// Applies `response` (to a request sent at local `sent_ms`, answered at `received_ms`).
pub(crate) fn apply_response(
    conn: &Connection,
    wall: &WallClock,
    response: &SyncResponse,
    sent_ms: i64,
    received_ms: i64,
) -> Result<RoundOutcome> {
    let meta = store::load_meta(conn)?;
    let me = meta.enrolled()?.clone();
    let offset = plan::clock_offset(response.server_time_ms, sent_ms, received_ms);
    conn.execute(
        "UPDATE meta SET clock_offset_ms = ?1 WHERE id = 1",
        [offset],
    )?;

    let mut touched = BTreeSet::new();
    let mut outcome = apply_push(conn, &me, &response.push, &mut touched)?;
    outcome.next_device_seq = meta
        .next_device_seq
        .max(response.push.acked_through.saturating_add(1));
    outcome.push_from = plan::resume_from(&response.push);
    conn.execute(
        "UPDATE meta SET push_from = ?1, next_device_seq = ?2 WHERE id = 1",
        params![i64_of(outcome.push_from), i64_of(outcome.next_device_seq)],
    )?;
    if let Some(stop) = &response.push.stopped {
        outcome.stop = Some(stop.clone());
        if stop.code == StopCode::ClockAhead {
            let now = stamp_ms(corrected_ms(wall, offset));
            outcome.restamped = restamp_from(conn, &me, stop.at_seq, now, &mut touched)?;
        }
    }
    for id in touched {
        entities::rebuild(conn, id)?;
    }

    outcome.cursor = meta.cursor;
    if let Some(page) = &response.pull {
        let last = store::load_meta(conn)?.hlc_last;
        let mut clock = match last {
            Some(last) => HlcClock::resume(me.device_id, last),
            None => HlcClock::new(me.device_id),
        };
        for server_op in &page.ops {
            let op = &server_op.op;
            match store::op_status(conn, op.op_id)? {
                None => store::insert_op(
                    conn,
                    op,
                    server_op.author,
                    OpStatus::Remote,
                    Some(server_op.seq),
                )?,
                Some(OpStatus::Rejected) => continue,
                Some(_) => {
                    // An own op coming back: the server holds it, and this is its sequence.
                    conn.prepare_cached(
                        "UPDATE ops SET server_seq = ?2,
                             status = CASE status WHEN 'pending' THEN 'acked' ELSE status END
                         WHERE op_id = ?1",
                    )?
                    .execute(params![op.op_id.to_string(), i64_of(server_op.seq)])?;
                }
            }
            entities::apply_op(conn, op, server_op.author, Some(server_op.seq))?;
            clock.observe(op.hlc);
        }
        store::store_hlc_last(conn, clock.last())?;
        conn.execute(
            "UPDATE meta SET cursor = ?1 WHERE id = 1",
            [i64_of(page.cursor)],
        )?;
        outcome.pulled = page.ops.len();
        outcome.more_to_pull = page.more;
        outcome.cursor = page.cursor;
    }
    Ok(outcome)
}

/// Marks own ops acknowledged or rejected; collects the entities of rejected ops.
fn apply_push(
    conn: &Connection,
    me: &Identity,
    push: &PushResult,
    touched: &mut BTreeSet<EntityId>,
) -> Result<RoundOutcome> {
    let device = me.device_id.to_string();
    let through = i64_of(push.acked_through);
    // The server holds nothing above `acked_through`: such ops wait again.
    conn.execute(
        "UPDATE ops SET status = 'pending'
         WHERE device_id = ?1 AND status = 'acked' AND device_seq > ?2",
        params![device, through],
    )?;
    let mut rejected = 0;
    for op in &push.rejected {
        if op.device_seq > push.acked_through {
            continue;
        }
        let entity: Option<String> = conn
            .prepare_cached(
                "UPDATE ops SET status = 'rejected', reject_code = ?3, reject_message = ?4,
                     reject_field = ?5
                 WHERE device_id = ?1 AND device_seq = ?2
                 RETURNING entity_id",
            )?
            .query_row(
                params![
                    device,
                    i64_of(op.device_seq),
                    reject_code_text(op.code)?,
                    op.message,
                    op.field,
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(entity) = entity {
            touched.insert(parse("entity id", &entity)?);
            rejected += 1;
        }
    }
    let acked = conn.execute(
        "UPDATE ops SET status = 'acked'
         WHERE device_id = ?1 AND status = 'pending' AND device_seq <= ?2",
        params![device, through],
    )?;
    Ok(RoundOutcome {
        acked: u64::try_from(acked).unwrap_or(0) + rejected as u64,
        rejected,
        ..RoundOutcome::default()
    })
}

/// Gives every own pending op from `at_seq` on a new stamp from a clock resumed at the highest
/// stamp of all other ops, keeping their order; collects their entities for rebuilding.
fn restamp_from(
    conn: &Connection,
    me: &Identity,
    at_seq: u64,
    now_ms: u64,
    touched: &mut BTreeSet<EntityId>,
) -> Result<usize> {
    let floor: Option<String> = conn.query_row(
        "SELECT max(hlc) FROM ops WHERE status != 'pending'",
        [],
        |r| r.get(0),
    )?;
    let floor = floor.map(|f| parse::<Hlc>("clock stamp", &f)).transpose()?;
    let device = me.device_id.to_string();
    let waiting = conn
        .prepare(
            "SELECT device_seq, entity_id FROM ops
             WHERE device_id = ?1 AND status = 'pending' AND device_seq >= ?2
             ORDER BY device_seq",
        )?
        .query_map(params![device, i64_of(at_seq)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (stamps, last) = plan::restamp(me.device_id, floor, waiting.len(), now_ms);
    let mut update =
        conn.prepare_cached("UPDATE ops SET hlc = ?3 WHERE device_id = ?1 AND device_seq = ?2")?;
    for ((seq, entity), stamp) in waiting.iter().zip(&stamps) {
        update.execute(params![device, seq, stamp.to_string()])?;
        touched.insert(parse("entity id", entity)?);
    }
    store::store_hlc_last(conn, last)?;
    tracing::info!(
        count = waiting.len(),
        from = u64_of(waiting.first().map_or(0, |w| w.0)),
        "re-stamped ops the server found ahead of its clock"
    );
    Ok(waiting.len())
}
