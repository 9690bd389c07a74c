//! Forgetting on the phone: a retention purge from the server, a redaction from the server, and
//! the phone's own purge of entries older than the organisation's retention period. One rule
//! holds for every purge: an entry the phone still has own ops of that the server has not
//! acknowledged (of the entry or of its comments and track) stays, so nothing unsent is lost.
//! Everything here takes a connection inside the caller's transaction.

use super::entities;
use super::error::Result;
use super::store::parse;
use rusqlite::{Connection, params};
use serde_json::{Map, Value};
use vaka_shared::merge::redact_fields;
use vaka_shared::{EntityId, Hlc, Timestamp};

/// Milliseconds in a day.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What became of one entry a purge named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purged {
    /// It and everything of it are gone.
    Removed,
    /// The phone has own ops of it the server does not hold yet; it stays.
    KeptUnsent,
    /// The phone did not hold it.
    Unknown,
}

/// Removes an entry with every trace of it on the phone: the entity, all its ops, its comments
/// and track segments with their ops, and the photos no remaining entity refers to. Keeps it
/// when the phone has a pending own op of it or of its children.
pub(crate) fn purge_entry(conn: &Connection, entry: EntityId) -> Result<Purged> {
    let id = entry.to_string();
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM entities WHERE id = ?1)")?
        .query_row([&id], |r| r.get(0))?;
    if !known {
        return Ok(Purged::Unknown);
    }
    if has_unsent(conn, &id)? {
        return Ok(Purged::KeptUnsent);
    }
    // The states about to go: the photos they name are candidates for removal.
    let states: Vec<String> = conn
        .prepare_cached("SELECT state FROM entities WHERE id = ?1 OR parent_id = ?1")?
        .query_map([&id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached(
        "DELETE FROM ops WHERE entity_id = ?1
            OR entity_id IN (SELECT id FROM entities WHERE parent_id = ?1)",
    )?
    .execute([&id])?;
    conn.prepare_cached("DELETE FROM entities WHERE id = ?1 OR parent_id = ?1")?
        .execute([&id])?;
    remove_orphaned_photos(conn, &states)?;
    Ok(Purged::Removed)
}

/// Whether the phone has an own op not yet acknowledged of the entry or of its children.
fn has_unsent(conn: &Connection, entry: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM ops WHERE status = 'pending' AND (entity_id = ?1
                OR entity_id IN (SELECT id FROM entities WHERE parent_id = ?1)))",
        )?
        .query_row([entry], |r| r.get(0))?)
}

/// Deletes the stored photos that one of `states` named and nothing left on the phone names
/// (no entity's state, no op). A photo no entry named yet (taken for a form not saved) stays.
fn remove_orphaned_photos(conn: &Connection, states: &[String]) -> Result<()> {
    let stored: Vec<String> = conn
        .prepare_cached("SELECT sha256 FROM blobs")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut still_named = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM entities WHERE instr(state, ?1) > 0)
             OR EXISTS (SELECT 1 FROM ops WHERE instr(fields, ?1) > 0)",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM blobs WHERE sha256 = ?1")?;
    for sha256 in stored {
        let named_by_purged = states.iter().any(|state| state.contains(&sha256));
        if named_by_purged && !still_named.query_row([&sha256], |r| r.get::<_, bool>(0))? {
            delete.execute([&sha256])?;
        }
    }
    Ok(())
}

/// Redacts `field` of an entity: in every op of it stamped at or below `through` (own pending
/// ones too, so what is still to be sent goes out redacted) and in its state, the value becomes
/// `value`. Says whether the phone held anything it changed.
pub(crate) fn redact(
    conn: &Connection,
    entity_id: EntityId,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<bool> {
    let id = entity_id.to_string();
    let ops: Vec<(String, String, String)> = conn
        .prepare_cached("SELECT op_id, hlc, fields FROM ops WHERE entity_id = ?1")?
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = false;
    let mut update = conn.prepare_cached("UPDATE ops SET fields = ?2 WHERE op_id = ?1")?;
    for (op_id, hlc, fields) in ops {
        let hlc: Hlc = parse("clock stamp", &hlc)?;
        let mut written: Map<String, Value> = serde_json::from_str(&fields)?;
        if redact_fields(&mut written, hlc, field, through, value) {
            update.execute(params![op_id, serde_json::to_string(&written)?])?;
            changed = true;
        }
    }
    if let Some(mut row) = entities::load(conn, entity_id)?
        && row.state.redact(field, through, value)
    {
        entities::store_state(conn, entity_id, &row.state)?;
        changed = true;
    }
    Ok(changed)
}

/// The field an entry's retention counts from: when the incident occurred, the observation was
/// made or the patrol started. An entry without it is not purged (as on the server).
fn time_field(kind: &str) -> &'static str {
    match kind {
        "incident" => "occurred_at",
        "observation" => "observed_at",
        "message" => "sent_at",
        _ => "started_at",
    }
}

/// Whether an entry of `kind` whose fields hold `values` is older than `cutoff_ms` and held by
/// no coordinator ("spara längre").
fn expired(kind: &str, values: &Map<String, Value>, cutoff_ms: i64) -> bool {
    let at = values
        .get(time_field(kind))
        .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok());
    let held = values
        .get("retention_hold")
        .is_some_and(|hold| !hold.is_null());
    at.is_some_and(|at| at.unix_ms() < cutoff_ms) && !held
}

/// The time before which an entry is older than `retention_days` at `now_ms`.
fn cutoff_ms(now_ms: i64, retention_days: u32) -> i64 {
    now_ms.saturating_sub(i64::from(retention_days).saturating_mul(DAY_MS))
}

/// The entries whose time is before `?1`, through the index `entities_entry_time` (its
/// expression word for word).
const OLD_ENTRIES: &str = "SELECT id FROM entities
     WHERE kind IN ('patrol', 'incident', 'observation', 'message')
       AND json_extract(state, CASE kind
           WHEN 'incident' THEN '$.occurred_at.v'
           WHEN 'observation' THEN '$.observed_at.v'
           WHEN 'message' THEN '$.sent_at.v'
           ELSE '$.started_at.v' END) < ?1";

/// The entries that may be older than `retention_days` before `now_ms`: the candidates of the
/// phone's own purge, which [`expire`] checks one by one. Read through the index of the
/// entries' times (`entities_entry_time`), so only old entries are read, however many the
/// phone holds. The times are RFC 3339 text in UTC whose fraction of a second is left out when
/// it is zero, so text order is time order down to the second: the look takes every entry
/// before the second after the cutoff's, a few more than needed at most.
pub(crate) fn expired_entries(
    conn: &Connection,
    now_ms: i64,
    retention_days: u32,
) -> Result<Vec<EntityId>> {
    let cutoff = cutoff_ms(now_ms, retention_days);
    let Some(bound) = Timestamp::from_unix_ms(cutoff.saturating_add(1000)) else {
        return Ok(Vec::new());
    };
    // "YYYY-MM-DDTHH:MM:SS", without the fraction and the zone.
    let bound: String = bound.to_string().chars().take(19).collect();
    let ids: Vec<String> = conn
        .prepare_cached(OLD_ENTRIES)?
        .query_map([bound], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.iter().map(|id| parse("entity id", id)).collect()
}

/// The phone's own purge of `candidates` ([`expired_entries`]): removes each that is still
/// older than `retention_days` before `now_ms` and held by no coordinator, except those with
/// own ops not yet acknowledged. Returns how many entries went.
pub(crate) fn expire(
    conn: &Connection,
    candidates: &[EntityId],
    now_ms: i64,
    retention_days: u32,
) -> Result<usize> {
    let cutoff = cutoff_ms(now_ms, retention_days);
    let mut removed = 0;
    for &id in candidates {
        let Some(row) = entities::load(conn, id)? else {
            continue;
        };
        if !expired(row.kind.as_str(), &row.state.values(), cutoff) {
            continue;
        }
        if purge_entry(conn, id)? == Purged::Removed {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The cutoff for a test: `days` before `now_ms`.
#[cfg(test)]
pub(crate) fn days_before(now_ms: i64, days: i64) -> i64 {
    now_ms - days * DAY_MS
}

/// Folds the WAL into the main file and truncates it, so old page versions holding a removed
/// text do not linger in the `-wal` file. Runs outside any transaction.
pub(crate) fn checkpoint(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::days_before;
    use crate::photos::tests::jpeg_with_exif;
    use crate::test_support::{
        FakeServer, T0, apply, enrolled, enrolled_plain, file_holds, incident, own_ops, response,
    };
    use crate::{Device, SyncStatus};
    use serde_json::json;
    use vaka_shared::model::{
        CommentFields, EntryRef, IncidentFields, ObservationCategory, ObservationFields,
        PatrolFields, PatrolKind, Role, TrackPoint,
    };
    use vaka_shared::sync::{PullPage, PushResult, Removal, RemovalKind, ServerOp, SyncResponse};
    use vaka_shared::{DeviceId, EntityId, EntityKind, Hlc, MemberId, Op, OpBody, OpId, Timestamp};

    #[test]
    fn the_look_for_old_entries_reads_only_them_through_the_index_of_their_times() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let plan: Vec<String> = device
            .reader()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::OLD_ENTRIES))
            .expect("plans")
            .query_map(["2026-01-01T00:00:00"], |r| r.get(3))
            .expect("plans")
            .collect::<rusqlite::Result<_>>()
            .expect("plans");
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX entities_entry_time")),
            "{plan:?}"
        );
    }

    fn acked(through: u64) -> PushResult {
        PushResult {
            acked_through: through,
            rejected: vec![],
            stopped: None,
        }
    }

    /// Acknowledges every own op the device has.
    fn ack_all(device: &Device) {
        let last = own_ops(device).last().map_or(0, |(op, _)| op.device_seq);
        apply(device, &response(T0, acked(last), vec![], 0));
    }

    /// An answer (acknowledging what the device sent so far) whose page holds `ops` and
    /// `removals`, ending at `cursor`.
    fn page(
        device: &Device,
        ops: Vec<ServerOp>,
        removals: Vec<Removal>,
        cursor: u64,
    ) -> SyncResponse {
        let through = own_ops(device)
            .iter()
            .filter(|(_, status)| status != "pending")
            .map(|(op, _)| op.device_seq)
            .max()
            .unwrap_or(0);
        let mut answer = response(T0, acked(through), vec![], cursor);
        answer.pull = Some(PullPage {
            ops,
            cursor,
            more: false,
            removals,
        });
        answer
    }

    fn purge(seq: u64, entries: &[EntityId]) -> Removal {
        Removal {
            seq,
            what: RemovalKind::Purge {
                entries: entries.to_vec(),
            },
        }
    }

    /// An op of another device (a coordinator's) at clock `ms`.
    fn theirs(entity_id: EntityId, ms: u64, body: OpBody) -> Op {
        let device = DeviceId::new();
        Op {
            op_id: OpId::new(),
            device_id: device,
            device_seq: 1,
            hlc: Hlc {
                ms,
                counter: 0,
                device,
            },
            base_seq: 0,
            entity_id,
            body,
        }
    }

    fn served(op: Op, seq: u64) -> ServerOp {
        ServerOp {
            seq,
            author: MemberId::new(),
            op,
        }
    }

    fn comment_on(entry: EntityId, text: &str) -> OpBody {
        OpBody::Comment(CommentFields {
            entry: Some(EntryRef {
                kind: EntityKind::Incident,
                id: entry,
            }),
            body: Some(text.to_owned()),
            written_at: Timestamp::from_unix_ms(T0),
        })
    }

    fn count(device: &Device, sql: &str) -> i64 {
        device
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .expect("counts")
    }

    fn days_ago(days: i64) -> Option<Timestamp> {
        Timestamp::from_unix_ms(days_before(T0, days))
    }

    #[test]
    fn a_purge_removes_the_entry_its_comments_and_track_and_only_its_orphaned_photos() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let own_photo = device
            .store_photo(&jpeg_with_exif(400, 300))
            .expect("stores");
        let shared_photo = device
            .store_photo(&jpeg_with_exif(300, 200))
            .expect("stores");
        let draft_photo = device
            .store_photo(&jpeg_with_exif(200, 100))
            .expect("stores");
        let old = device
            .create_incident(IncidentFields {
                attachments: Some(vec![own_photo.clone(), shared_photo.clone()]),
                ..incident(2)
            })
            .expect("logs");
        let kept = device
            .create_incident(IncidentFields {
                attachments: Some(vec![shared_photo.clone()]),
                ..incident(3)
            })
            .expect("logs");
        let patrol = device
            .create_patrol(PatrolFields {
                kind: Some(PatrolKind::NightWalk),
                participant_count: Some(3),
                ..Default::default()
            })
            .expect("starts");
        let point = TrackPoint {
            at: Timestamp::from_unix_ms(T0).expect("time"),
            lat: 59.3,
            lon: 18.0,
            accuracy_m: None,
        };
        let segment = device
            .add_track_segment(patrol, vec![point])
            .expect("tracks");
        ack_all(&device);
        let comment = EntityId::new();
        let answer = page(
            &device,
            vec![served(
                theirs(comment, T0 as u64 + 10, comment_on(old, "Fråga")),
                1,
            )],
            vec![],
            1,
        );
        apply(&device, &answer);
        assert!(device.entity(comment).expect("reads").is_some());

        let outcome = apply(
            &device,
            &page(&device, vec![], vec![purge(2, &[old, patrol])], 2),
        );
        assert_eq!(
            (outcome.purged, outcome.kept_unsent, outcome.removals),
            (2, 0, 1)
        );
        for gone in [old, comment, patrol, segment] {
            assert!(device.entity(gone).expect("reads").is_none(), "{gone}");
        }
        let ops_left = count(&device, "SELECT count(*) FROM ops");
        assert_eq!(ops_left, 1, "only the kept incident's op stays");
        assert!(device.entry(kept).expect("reads").is_some());
        assert!(device.photo(&own_photo.sha256).expect("reads").is_none());
        assert!(device.photo(&shared_photo.sha256).expect("reads").is_some());
        assert!(
            device.photo(&draft_photo.sha256).expect("reads").is_some(),
            "a photo of a form not saved yet stays"
        );
        assert_eq!(device.sync_state().expect("state").cursor, 2);
    }

    #[test]
    fn a_purge_keeps_entries_with_changes_not_sent_of_them_or_their_comments() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let edited = device.create_incident(incident(1)).expect("logs");
        let commented = device.create_incident(incident(2)).expect("logs");
        let done = device.create_incident(incident(3)).expect("logs");
        ack_all(&device);
        device
            .edit(
                edited,
                OpBody::Incident(IncidentFields {
                    description: Some("Mer text".to_owned()),
                    ..Default::default()
                }),
            )
            .expect("edits");
        device
            .add_comment(commented, "Vi gick vidare")
            .expect("comments");
        let unknown = EntityId::new();

        let outcome = apply(
            &device,
            &page(
                &device,
                vec![],
                vec![purge(7, &[edited, commented, done, unknown])],
                7,
            ),
        );
        assert_eq!((outcome.purged, outcome.kept_unsent), (1, 2));
        assert!(device.entry(done).expect("reads").is_none());
        let entry = device.entry(edited).expect("reads").expect("kept");
        assert_eq!(entry.status, SyncStatus::OnPhone);
        assert!(device.entry(commented).expect("reads").is_some(), "kept");
        let comments = device.comments_for(commented).expect("reads");
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].status, SyncStatus::OnPhone);
        assert_eq!(
            device.outbox_len().expect("counts"),
            2,
            "nothing unsent is lost"
        );
    }

    #[test]
    fn ops_and_removals_of_a_page_apply_in_sequence_order() {
        let (_dir, device, _) = enrolled(Role::Coordinator);
        let (first, second) = (EntityId::new(), EntityId::new());
        let observation = |id| {
            theirs(
                id,
                T0 as u64,
                OpBody::Observation(ObservationFields {
                    observed_at: Timestamp::from_unix_ms(T0),
                    category: Some(ObservationCategory::Lighting),
                    ..Default::default()
                }),
            )
        };
        // `first` is logged, then purged; `second` is purged (not yet known), then logged.
        let answer = page(
            &device,
            vec![
                served(observation(first), 3),
                served(observation(second), 6),
            ],
            vec![purge(4, &[first]), purge(5, &[second])],
            6,
        );
        let outcome = apply(&device, &answer);
        assert_eq!((outcome.pulled, outcome.purged), (2, 1));
        assert!(device.entry(first).expect("reads").is_none());
        assert!(device.entry(second).expect("reads").is_some());
    }

    #[tokio::test]
    async fn a_redaction_rewrites_every_covered_write_and_leaves_no_trace_in_the_file() {
        let (dir, device, _) = enrolled_plain(Role::Volunteer);
        let name = "Kalle Anka";
        let id = device
            .create_incident(IncidentFields {
                description: Some(format!("{name} bråkade vid kiosken")),
                ..incident(2)
            })
            .expect("logs");
        ack_all(&device);
        // A second write of the same text, not sent yet: it must leave the phone redacted.
        device
            .edit(
                id,
                OpBody::Incident(IncidentFields {
                    description: Some(format!("{name} bråkade igen")),
                    ..Default::default()
                }),
            )
            .expect("edits");
        let through = own_ops(&device)[1].0.hlc;
        // A coordinator's comment naming him too, pulled earlier.
        let comment = EntityId::new();
        let comment_op = theirs(
            comment,
            T0 as u64 + 5,
            comment_on(id, &format!("Är {name} känd?")),
        );
        let comment_hlc = comment_op.hlc;
        apply(
            &device,
            &page(&device, vec![served(comment_op, 1)], vec![], 1),
        );
        assert!(file_holds(&dir.path().join("device.db"), name));

        let hidden = json!("En person bråkade");
        let removals = vec![
            Removal {
                seq: 2,
                what: RemovalKind::Redaction {
                    entity_id: id,
                    field: "description".to_owned(),
                    through,
                    value: hidden.clone(),
                },
            },
            Removal {
                seq: 3,
                what: RemovalKind::Redaction {
                    entity_id: comment,
                    field: "body".to_owned(),
                    through: comment_hlc,
                    value: json!("[borttaget]"),
                },
            },
        ];
        // Round 1: the server does not take the edit yet and hands out the redactions; round
        // 2: the edit comes again, redacted, and is taken.
        let first = page(&device, vec![], removals, 3);
        let rounds = std::sync::atomic::AtomicUsize::new(0);
        let server = FakeServer::start(move |request| {
            assert_eq!(request.path, "/api/v1/sync");
            let pushed = request.sync_request().push;
            assert_eq!(pushed.len(), 1, "the edit");
            let mut answer = first.clone();
            if rounds.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
                let text = serde_json::to_string(&pushed[0]).expect("json");
                assert!(!text.contains("Kalle"), "sent unredacted: {text}");
                answer.push = acked(2);
                answer.pull.as_mut().expect("page").removals.clear();
            }
            (200, serde_json::to_string(&answer).expect("json"))
        })
        .await;
        server.serve(&device);
        // Areas are fetched after the sync; say they are fresh so the fake needs no route.
        device.replace_areas(&[]).expect("areas");
        let report = device
            .sync_once(&reqwest::Client::new())
            .await
            .expect("syncs");
        assert_eq!((report.redacted, report.rounds, report.acked), (2, 2, 1));
        let entry = device.entry(id).expect("reads").expect("exists");
        let crate::EntryFields::Incident(fields) = entry.fields else {
            panic!("an incident");
        };
        assert_eq!(fields.description.as_deref(), Some("En person bråkade"));
        assert!(own_ops(&device).iter().all(|(op, _)| {
            !serde_json::to_string(&op.body.field_map())
                .expect("json")
                .contains(name)
        }));
        assert!(
            !file_holds(&dir.path().join("device.db"), name),
            "the old text lingers in the file"
        );
    }

    #[test]
    fn an_offline_phone_removes_old_entries_by_itself_except_held_and_unsent_ones() {
        let (dir, device, _) = enrolled(Role::Volunteer);
        let old = |days| IncidentFields {
            occurred_at: days_ago(days),
            ..incident(2)
        };
        let expired = device.create_incident(old(800)).expect("logs");
        let held = device.create_incident(old(800)).expect("logs");
        let recent = device.create_incident(old(10)).expect("logs");
        let observation = device
            .create_observation(ObservationFields {
                observed_at: days_ago(731),
                category: Some(ObservationCategory::Lighting),
                ..Default::default()
            })
            .expect("logs");
        let patrol = device
            .create_patrol(PatrolFields {
                kind: Some(PatrolKind::NightWalk),
                participant_count: Some(2),
                started_at: days_ago(900),
                ..Default::default()
            })
            .expect("starts");
        ack_all(&device);
        let unsent = device.create_incident(old(800)).expect("logs");
        // A coordinator holds one ("spara längre") for an open police matter.
        let hold = theirs(
            held,
            T0 as u64 + 1,
            OpBody::Incident(IncidentFields {
                retention_hold: Some(Some("Öppet polisärende".to_owned())),
                ..Default::default()
            }),
        );
        apply(&device, &page(&device, vec![served(hold, 1)], vec![], 1));

        assert_eq!(device.expire_old_entries().expect("expires"), 3);
        for gone in [expired, observation, patrol] {
            assert!(device.entry(gone).expect("reads").is_none(), "{gone}");
        }
        for stays in [held, recent, unsent] {
            assert!(device.entry(stays).expect("reads").is_some(), "{stays}");
        }

        // Once the server holds it, the unsent one goes too; a shorter period takes more.
        let mut answer = response(T0, acked(6), vec![], 1);
        answer.retention_days = 30;
        apply(&device, &answer);
        assert_eq!(device.expire_old_entries().expect("expires"), 1);
        assert!(device.entry(unsent).expect("reads").is_none());
        assert!(device.entry(recent).expect("reads").is_some());

        // The period counts on the phone's clock, also when the phone is only opened.
        let path = dir.path().join("device.db");
        drop(device);
        let later = crate::WallClock::manual(T0 + 25 * 24 * 60 * 60 * 1000);
        let device = Device::open_with_clock(&path, later).expect("reopens");
        assert!(
            device.entry(recent).expect("reads").is_none(),
            "40 days > 30"
        );
        assert!(device.entry(held).expect("reads").is_some(), "held");
    }
}
