//! Applying the server's answer to one sync round: acknowledgements, rejections (with the entity
//! rebuilt), re-stamping after `clock_ahead`, the organisation's retention period and whether
//! the phone is to retire ([`apply_answer`]), then the pulled ops and removals (retention purges
//! and redactions) in server-sequence order, in parts of at most [`PULL_PART`] items and about
//! [`PULL_PART_TIME`], each part one
//! local transaction that stores the cursor of its last item ([`apply_page_part`]).

use super::plan;
use crate::clock::{WallClock, corrected_ms, stamp_ms};
use crate::entities;
use crate::error::Result;
use crate::removal::{self, Purged};
use crate::store::{self, Identity, OpStatus, i64_of, parse, reject_code_text, u64_of};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;
use vaka_shared::sync::{
    PullPage, PushResult, PushStop, Removal, RemovalKind, ServerOp, StopCode, SyncResponse,
};
use vaka_shared::{EntityId, EntityKind, Hlc, HlcClock};

/// What one round did and where the device stands after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RoundOutcome {
    /// Own ops newly acknowledged (accepted or rejected).
    pub acked: u64,
    /// Own ops the server refused.
    pub rejected: usize,
    /// Ops pulled.
    pub pulled: usize,
    /// Removals pulled (purges and redactions).
    pub removals: usize,
    /// Entries a purge removed from the phone.
    pub purged: usize,
    /// Entries a purge named that stay, as the phone has ops of them not sent yet.
    pub kept_unsent: usize,
    /// Redactions that changed something the phone held.
    pub redacted: usize,
    /// Whether the server asked this phone to retire.
    pub retire: bool,
    /// Messages pulled that this phone noted the receipt of.
    pub messages_received: usize,
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

/// Pulled ops and removals applied in one local transaction at most. A sync that pulls a
/// thousand ops commits them in parts, so a walker's save made meanwhile waits for one part,
/// not for the whole page.
pub(crate) const PULL_PART: usize = 100;

/// How long a part may go on applying before it commits, whatever its count: on a slow or
/// busy phone a hundred ops take far longer than on an idle one, and a save waits for the
/// part under way. The part's commit (one `fsync`) comes on top.
pub(crate) const PULL_PART_TIME: std::time::Duration = std::time::Duration::from_millis(10);

/// Applies all of `response` (to a request sent at local `sent_ms`, answered at
/// `received_ms`) in the caller's transaction: the answer and the whole page.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn apply_response(
    conn: &Connection,
    wall: &WallClock,
    response: &SyncResponse,
    sent_ms: i64,
    received_ms: i64,
) -> Result<RoundOutcome> {
    let mut outcome = apply_answer(conn, wall, response, sent_ms, received_ms)?;
    if let Some(page) = &response.pull {
        apply_page_part(conn, wall, page, 0, usize::MAX, None, &mut outcome)?;
    }
    Ok(outcome)
}

/// Applies everything of `response` but its pulled page (to a request sent at local
/// `sent_ms`, answered at `received_ms`); [`apply_page_part`] applies the page.
pub(crate) fn apply_answer(
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
    outcome.retire = response.retire;
    conn.execute(
        "UPDATE meta SET retention_days = ?1, retiring = ?2 WHERE id = 1",
        params![response.retention_days, response.retire],
    )?;
    Ok(outcome)
}

/// How many items (ops and removals) a pulled page holds.
pub(crate) fn page_len(page: &PullPage) -> usize {
    page.ops.len() + page.removals.len()
}

/// One item of a pulled page.
enum Pulled<'a> {
    Op(&'a ServerOp),
    Removal(&'a Removal),
}

/// The ops and removals of a page merged in server-sequence order, each with its sequence.
fn in_sequence(page: &PullPage) -> Vec<(u64, Pulled<'_>)> {
    let mut items: Vec<(u64, Pulled<'_>)> = page
        .ops
        .iter()
        .map(|op| (op.seq, Pulled::Op(op)))
        .chain(page.removals.iter().map(|r| (r.seq, Pulled::Removal(r))))
        .collect();
    items.sort_by_key(|(seq, _)| *seq);
    items
}

/// Applies the items `from..from + count` of a pulled page (ops and removals in sequence order),
/// fewer when the time `until` comes first (after at least one item), and stores the cursor
/// with them: the page's cursor once the part reaches the page's end,
/// else the sequence of the part's last item, from where a pull goes on if the phone stops
/// between parts. Returns where the next part starts.
pub(crate) fn apply_page_part(
    conn: &Connection,
    wall: &WallClock,
    page: &PullPage,
    from: usize,
    count: usize,
    until: Option<std::time::Instant>,
    outcome: &mut RoundOutcome,
) -> Result<usize> {
    let meta = store::load_meta(conn)?;
    let me = meta.enrolled()?;
    let mut clock = match meta.hlc_last {
        Some(last) => HlcClock::resume(me.device_id, last),
        None => HlcClock::new(me.device_id),
    };
    let items = in_sequence(page);
    let last = from.saturating_add(count).min(items.len());
    let mut end = from;
    let mut cursor = page.cursor;
    for (seq, item) in items.get(from..last).unwrap_or_default() {
        match item {
            Pulled::Op(server_op) => {
                if apply_pulled_op(conn, server_op)? {
                    clock.observe(server_op.op.hlc);
                }
                outcome.pulled += 1;
            }
            Pulled::Removal(removal) => {
                apply_removal(conn, &removal.what, outcome)?;
                outcome.removals += 1;
            }
        }
        cursor = *seq;
        end += 1;
        if until.is_some_and(|until| std::time::Instant::now() >= until) {
            break;
        }
    }
    if end == items.len() {
        cursor = page.cursor;
        outcome.more_to_pull = page.more;
    }
    store::store_hlc_last(conn, clock.last())?;
    // The receipts of the messages this part brought, in the same transaction: they go out
    // with the next round.
    let messages: Vec<EntityId> = items
        .get(from..end)
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, item)| match item {
            Pulled::Op(o)
                if o.op.kind() == EntityKind::Message && o.op.device_id != me.device_id =>
            {
                Some(o.op.entity_id)
            }
            _ => None,
        })
        .collect();
    if !messages.is_empty() {
        outcome.messages_received += crate::messages::receive(conn, wall, &messages)?;
        outcome.next_device_seq = store::load_meta(conn)?.next_device_seq;
    }
    conn.execute("UPDATE meta SET cursor = ?1 WHERE id = 1", [i64_of(cursor)])?;
    outcome.cursor = cursor;
    Ok(end)
}

/// Stores and applies one pulled op; says whether it was applied (an own op the server
/// refused is not).
fn apply_pulled_op(conn: &Connection, server_op: &ServerOp) -> Result<bool> {
    let op = &server_op.op;
    match store::op_status(conn, op.op_id)? {
        None => store::insert_op(
            conn,
            op,
            server_op.author,
            OpStatus::Remote,
            Some(server_op.seq),
        )?,
        Some(OpStatus::Rejected) => return Ok(false),
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
    Ok(true)
}

/// Applies one removal: a purge removes each entry it names (unless the phone has unsent ops
/// of it), a redaction rewrites the covered writes of a field.
fn apply_removal(conn: &Connection, what: &RemovalKind, outcome: &mut RoundOutcome) -> Result<()> {
    match what {
        RemovalKind::Purge { entries } => {
            for entry in entries {
                match removal::purge_entry(conn, *entry)? {
                    Purged::Removed => outcome.purged += 1,
                    Purged::KeptUnsent => outcome.kept_unsent += 1,
                    Purged::Unknown => {}
                }
            }
        }
        RemovalKind::Redaction {
            entity_id,
            field,
            through,
            value,
        } => {
            if removal::redact(conn, *entity_id, field, *through, value)? {
                outcome.redacted += 1;
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::RoundOutcome;
    use crate::test_support::{T0, apply, enrolled, enrolled_at, incident, own_ops, response};
    use crate::{Device, EntryFields, SyncStatus, WallClock};
    use vaka_shared::model::{
        IncidentFields, ObservationCategory, ObservationFields, Role, Severity,
    };
    use vaka_shared::sync::{PushResult, PushStop, RejectCode, RejectedOp, ServerOp, StopCode};
    use vaka_shared::{DeviceId, EntityId, Hlc, MemberId, Op, OpBody, OpId};

    fn acked(through: u64) -> PushResult {
        PushResult {
            acked_through: through,
            rejected: vec![],
            stopped: None,
        }
    }

    fn served(op: Op, seq: u64, author: MemberId) -> ServerOp {
        ServerOp { seq, author, op }
    }

    fn remote_observation(at_ms: u64) -> (Op, MemberId) {
        let device = DeviceId::new();
        let op = Op {
            op_id: OpId::new(),
            device_id: device,
            device_seq: 1,
            hlc: Hlc {
                ms: at_ms,
                counter: 0,
                device,
            },
            base_seq: 0,
            entity_id: EntityId::new(),
            body: OpBody::Observation(ObservationFields {
                observed_at: vaka_shared::Timestamp::from_unix_ms(T0),
                category: Some(ObservationCategory::Lighting),
                ..Default::default()
            }),
        };
        (op, MemberId::new())
    }

    /// An answer pulling `count` observations of others, at sequences 10, 12, 14, …, with the
    /// page's cursor at 30.
    fn observations_pulled(count: u64) -> vaka_shared::sync::SyncResponse {
        let pulled: Vec<ServerOp> = (0..count)
            .map(|i| {
                let (op, author) = remote_observation(T0 as u64 + i);
                served(op, 10 + 2 * i, author)
            })
            .collect();
        response(T0, acked(0), pulled, 30)
    }

    fn stored_cursor_and_push_from(device: &Device) -> (u64, u64) {
        let meta = crate::store::load_meta(&device.conn()).expect("meta");
        (meta.cursor, meta.push_from)
    }

    #[test]
    fn a_page_applied_in_parts_stores_each_parts_cursor_and_ends_as_in_one_go() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let (_other_dir, in_one_go, _) = enrolled(Role::Volunteer);
        let answer = observations_pulled(5);
        let Some(page) = answer.pull.as_ref() else {
            panic!("a page")
        };
        let part = |from: usize, outcome: RoundOutcome| {
            device
                .write_tx(|tx| {
                    let mut outcome = outcome;
                    let next = super::apply_page_part(
                        tx,
                        &device.inner.wall,
                        page,
                        from,
                        2,
                        None,
                        &mut outcome,
                    )?;
                    Ok((outcome, next))
                })
                .expect("applies a part")
        };

        let first = device
            .write_tx(|tx| super::apply_answer(tx, &device.inner.wall, &answer, T0, T0))
            .expect("applies the answer");
        let (outcome, next) = part(0, first);
        assert_eq!((next, outcome.pulled, outcome.cursor), (2, 2, 12));
        assert_eq!(
            stored_cursor_and_push_from(&device).0,
            12,
            "the part's last op"
        );
        // A save between two parts goes through and stays.
        let saved = device.create_incident(incident(2)).expect("saves");
        let (outcome, next) = part(next, outcome);
        assert_eq!((next, outcome.pulled, outcome.cursor), (4, 4, 16));
        let (outcome, next) = part(next, outcome);
        assert_eq!((next, outcome.pulled, outcome.cursor), (5, 5, 30));
        assert!(!outcome.more_to_pull);
        assert_eq!(
            stored_cursor_and_push_from(&device).0,
            30,
            "the page's cursor"
        );

        apply(&in_one_go, &answer);
        let theirs = |device: &Device| -> Vec<_> {
            device
                .entries()
                .expect("lists")
                .into_iter()
                .filter(|e| !e.mine)
                .collect()
        };
        assert_eq!(theirs(&device), theirs(&in_one_go));
        assert_eq!(theirs(&device).len(), 5);
        assert!(device.entry(saved).expect("reads").is_some());
    }

    #[test]
    fn a_part_whose_time_is_up_commits_what_it_applied_and_the_next_goes_on_from_there() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let answer = observations_pulled(3);
        let Some(page) = answer.pull.as_ref() else {
            panic!("a page")
        };
        let mut outcome = device
            .write_tx(|tx| super::apply_answer(tx, &device.inner.wall, &answer, T0, T0))
            .expect("applies the answer");
        let mut next = 0;
        let mut parts = Vec::new();
        while next < super::page_len(page) {
            // A time already past: each part still applies one item, then commits.
            let until = Some(std::time::Instant::now());
            (outcome, next) = device
                .write_tx(|tx| {
                    let mut outcome = outcome.clone();
                    let next = super::apply_page_part(
                        tx,
                        &device.inner.wall,
                        page,
                        next,
                        super::PULL_PART,
                        until,
                        &mut outcome,
                    )?;
                    Ok((outcome, next))
                })
                .expect("applies a part");
            parts.push((next, stored_cursor_and_push_from(&device).0));
        }
        assert_eq!(parts, [(1, 10), (2, 12), (3, 30)]);
        assert_eq!(outcome.pulled, 3);
        assert!(!outcome.more_to_pull);
    }

    #[test]
    fn acknowledged_and_pulled_ops_are_applied_with_the_cursor() {
        let (_dir, device, me) = enrolled(Role::Volunteer);
        let ids: Vec<EntityId> = (1..=3)
            .map(|s| device.create_incident(incident(s)).expect("logs"))
            .collect();
        let mine: Vec<Op> = own_ops(&device).into_iter().map(|(op, _)| op).collect();
        let (theirs, author) = remote_observation(T0 as u64 + 5);
        let mut pulled: Vec<ServerOp> = mine
            .iter()
            .enumerate()
            .map(|(i, op)| served(op.clone(), 10 + i as u64, me.member_id))
            .collect();
        pulled.push(served(theirs.clone(), 13, author));

        let outcome = apply(&device, &response(T0, acked(3), pulled, 13));
        assert_eq!(
            (outcome.acked, outcome.pulled, outcome.push_from),
            (3, 4, 4)
        );
        assert_eq!(stored_cursor_and_push_from(&device), (13, 4));
        assert_eq!(device.outbox_len().expect("counts"), 0);
        assert!(own_ops(&device).iter().all(|(_, status)| status == "acked"));

        let entries = device.entries().expect("lists");
        assert_eq!(entries.len(), 4);
        for id in &ids {
            let entry = entries.iter().find(|e| e.id == *id).expect("listed");
            assert_eq!(entry.status, SyncStatus::OnServer);
            assert!(entry.mine);
        }
        let other = entries
            .iter()
            .find(|e| e.id == theirs.entity_id)
            .expect("pulled entry listed");
        assert!(!other.mine);
        assert_eq!(other.author, author);
        assert!(matches!(other.fields, EntryFields::Observation(_)));

        // Applying the same page again changes nothing.
        let before = device.state_snapshot().expect("snapshot");
        let pulled_again = vec![served(theirs, 13, author)];
        apply(&device, &response(T0, acked(3), pulled_again, 13));
        assert_eq!(device.state_snapshot().expect("snapshot"), before);
    }

    #[test]
    fn a_rejected_op_needs_attention_and_the_entity_is_rebuilt_without_it() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let id = device.create_incident(incident(2)).expect("logs");
        device
            .edit(
                id,
                OpBody::Incident(IncidentFields {
                    severity: Some(Severity(4)),
                    ..Default::default()
                }),
            )
            .expect("edits");
        let rejected = own_ops(&device)[1].0.clone();
        let push = PushResult {
            acked_through: 2,
            rejected: vec![RejectedOp {
                device_seq: 2,
                op_id: rejected.op_id,
                code: RejectCode::InvalidField,
                message: "field `severity` is not allowed here".to_owned(),
                field: Some("severity".to_owned()),
            }],
            stopped: None,
        };
        let outcome = apply(&device, &response(T0, push, vec![], 0));
        assert_eq!((outcome.acked, outcome.rejected), (2, 1));

        let entry = device.entry(id).expect("reads").expect("exists");
        assert_eq!(
            entry.status,
            SyncStatus::NeedsAttention {
                code: RejectCode::InvalidField,
                message: "field `severity` is not allowed here".to_owned(),
                field: Some("severity".to_owned()),
            }
        );
        let EntryFields::Incident(fields) = entry.fields else {
            panic!("an incident");
        };
        assert_eq!(
            fields.severity,
            Some(Severity(2)),
            "the refused edit is undone"
        );
        let kept = device.rejected_ops().expect("lists");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].op, rejected, "the refused op is kept as it was");
        let state = device.sync_state().expect("state");
        assert_eq!((state.pending, state.needs_attention), (0, 1));
    }

    #[test]
    fn clock_ahead_restamps_waiting_ops_in_order_near_the_corrected_time() {
        // The phone's clock is 10 minutes ahead of the server's.
        let ahead = 10 * 60 * 1000;
        let wall = WallClock::manual(T0 + ahead);
        let (_dir, device, me) = enrolled_at(Role::Volunteer, wall.clone());
        let first = device.create_incident(incident(1)).expect("logs");
        let second = device.create_incident(incident(2)).expect("logs");
        let old: Vec<Hlc> = own_ops(&device).iter().map(|(op, _)| op.hlc).collect();
        assert!(old.iter().all(|h| h.ms == (T0 + ahead) as u64));

        let push = PushResult {
            acked_through: 0,
            rejected: vec![],
            stopped: Some(PushStop {
                at_seq: 1,
                code: StopCode::ClockAhead,
                message: "clock ahead".to_owned(),
            }),
        };
        let outcome = apply(&device, &response(T0, push, vec![], 0));
        assert_eq!((outcome.restamped, outcome.push_from), (2, 1));

        let ops = own_ops(&device);
        let new: Vec<Hlc> = ops.iter().map(|(op, _)| op.hlc).collect();
        assert!(new[0] < new[1], "order kept: {new:?}");
        assert!(
            new.iter().all(|h| h.ms.abs_diff(T0 as u64) < 1_000),
            "{new:?}"
        );
        assert!(new.iter().all(|h| h.device == me.device_id));
        assert!(ops.iter().all(|(_, status)| status == "pending"));

        // The entities carry the new stamps, and later writes stamp with the corrected time.
        for id in [first, second] {
            let state = crate::entities::load(&device.conn(), id)
                .expect("loads")
                .expect("exists")
                .state;
            assert!(state.last_write().is_some_and(|h| new.contains(&h)));
        }
        device.create_incident(incident(3)).expect("logs");
        let third = own_ops(&device)[2].0.hlc;
        assert!(
            third > new[1] && third.ms.abs_diff(T0 as u64) < 1_000,
            "{third:?}"
        );
    }

    #[test]
    fn a_gap_sends_again_from_where_the_server_is() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        for s in 1..=3 {
            device.create_incident(incident(s)).expect("logs");
        }
        apply(&device, &response(T0, acked(3), vec![], 0));
        assert_eq!(device.outbox_len().expect("counts"), 0);

        // The server lost ops 2 and 3 (restored from a backup): they wait again.
        let push = PushResult {
            acked_through: 1,
            rejected: vec![],
            stopped: Some(PushStop {
                at_seq: 2,
                code: StopCode::Gap,
                message: "send from 2".to_owned(),
            }),
        };
        let outcome = apply(&device, &response(T0, push, vec![], 0));
        assert_eq!(outcome.push_from, 2);
        assert_eq!(device.outbox_len().expect("counts"), 2);
        let prepared = device.prepare_round().expect("plans");
        let json = zstd::decode_all(prepared.body.as_slice()).expect("zstd");
        let request: vaka_shared::sync::SyncRequest =
            serde_json::from_slice(&json).expect("request");
        let seqs: Vec<u64> = request.push.iter().map(|op| op.device_seq).collect();
        assert_eq!(seqs, vec![2, 3]);
    }

    #[test]
    fn the_next_push_starts_at_the_first_unacknowledged_op() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        for s in 1..=4 {
            device.create_incident(incident(s % 4 + 1)).expect("logs");
        }
        apply(&device, &response(T0, acked(2), vec![], 0));
        let prepared = device.prepare_round().expect("plans");
        let json = zstd::decode_all(prepared.body.as_slice()).expect("zstd");
        let request: vaka_shared::sync::SyncRequest =
            serde_json::from_slice(&json).expect("request");
        let seqs: Vec<u64> = request.push.iter().map(|op| op.device_seq).collect();
        assert_eq!(seqs, vec![3, 4]);
        assert_eq!(request.pull.map(|p| p.cursor), Some(0));
    }

    #[test]
    fn entries_show_where_each_stands() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let on_server = device.create_incident(incident(1)).expect("logs");
        let refused = device.create_incident(incident(2)).expect("logs");
        let refused_op = own_ops(&device)[1].0.op_id;
        let push = PushResult {
            acked_through: 2,
            rejected: vec![RejectedOp {
                device_seq: 2,
                op_id: refused_op,
                code: RejectCode::NotAuthor,
                message: "not yours".to_owned(),
                field: None,
            }],
            stopped: None,
        };
        apply(&device, &response(T0, push, vec![], 0));
        let on_phone = device.create_incident(incident(3)).expect("logs");

        let status = |id| {
            device
                .entities_status()
                .into_iter()
                .find(|(e, _)| *e == id)
                .map(|(_, s)| s)
        };
        assert_eq!(status(on_server), Some(SyncStatus::OnServer));
        assert_eq!(status(on_phone), Some(SyncStatus::OnPhone));
        assert!(matches!(
            status(refused),
            Some(SyncStatus::NeedsAttention {
                code: RejectCode::NotAuthor,
                ..
            })
        ));
        // Newest first.
        let order: Vec<EntityId> = device
            .entries()
            .expect("lists")
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(order[0], on_phone);
    }

    impl Device {
        fn entities_status(&self) -> Vec<(EntityId, SyncStatus)> {
            self.entries()
                .expect("lists")
                .into_iter()
                .map(|e| (e.id, e.status))
                .collect()
        }
    }
}
