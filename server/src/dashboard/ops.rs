//! Coordinators' writes from the dashboard (review fields, comments, settled conflicts) become
//! ops pushed through [`crate::sync::push`] exactly like a phone's, from a server-side device per
//! coordinator, so phones pull them like any other op.

use crate::store::StoreError;
use crate::store::sessions;
use crate::sync::{PushLimits, push};
use rusqlite::{Connection, params};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::{EntityId, Hlc, HlcClock, MemberId, OpId};

/// Writes `body` to `entity` as `member` through the push path. `Ok(Ok(seq))` is the accepted
/// op's server sequence; `Ok(Err(message))` a refusal (validation or policy) to show the user.
pub fn write(
    conn: &Connection,
    member: MemberId,
    entity: EntityId,
    body: OpBody,
    now_ms: i64,
) -> Result<Result<u64, String>, StoreError> {
    let caller = sessions::dashboard_device(conn, member, now_ms)?;
    let device = caller.device_id.to_string();
    let held: u64 = conn.query_row(
        "SELECT last_seq FROM devices WHERE id = ?1",
        [&device],
        |r| r.get(0),
    )?;
    let last_hlc: Option<String> = conn.query_row(
        "SELECT MAX(hlc) FROM ops WHERE device_id = ?1",
        [&device],
        |r| r.get(0),
    )?;
    let mut clock = match last_hlc.and_then(|h| h.parse::<Hlc>().ok()) {
        Some(last) => HlcClock::resume(caller.device_id, last),
        None => HlcClock::new(caller.device_id),
    };
    // The op is made with knowledge of every write of the entity (its `base_seq` is the newest
    // sequence), so it is stamped above all of them, whatever the phones' clocks said: the value
    // a coordinator chose is the value kept.
    let newest_of_entity: Option<String> = conn.query_row(
        "SELECT MAX(hlc) FROM ops WHERE entity_id = ?1",
        [entity.to_string()],
        |r| r.get(0),
    )?;
    if let Some(newest) = newest_of_entity.and_then(|h| h.parse::<Hlc>().ok()) {
        clock.observe(newest);
    }
    let base_seq: u64 =
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM ops", [], |r| r.get(0))?;
    let op = Op {
        op_id: OpId::new(),
        device_id: caller.device_id,
        device_seq: held + 1,
        hlc: clock.tick(now_ms.max(0) as u64),
        base_seq,
        entity_id: entity,
        body,
    };
    // The stamp is the server's own time, or just above an op the server accepted: never a
    // wrong phone clock to refuse.
    let limits = PushLimits {
        max_clock_ahead_ms: i64::MAX / 4,
    };
    let (result, _) = push(conn, &caller, std::slice::from_ref(&op), now_ms, limits)?;
    if let Some(rejected) = result.rejected.first() {
        return Ok(Err(rejected.message.clone()));
    }
    if let Some(stop) = result.stopped {
        return Ok(Err(stop.message));
    }
    let seq: u64 = conn.query_row(
        "SELECT seq FROM ops WHERE device_id = ?1 AND device_seq = ?2",
        params![device, op.device_seq],
        |r| r.get(0),
    )?;
    Ok(Ok(seq))
}
