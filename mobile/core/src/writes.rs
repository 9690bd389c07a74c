//! Logging: every write validates, checks the member's permission, appends the op to the outbox
//! and applies it to the entity, all in one SQLite transaction.

use super::Device;
use super::clock::{corrected_ms, stamp_ms, timestamp};
use super::entities;
use super::error::{DeviceError, Result};
use super::store::{self, OpStatus, i64_of};
use rusqlite::Connection;
use vaka_shared::model::{
    CommentFields, EntryRef, IncidentFields, ObservationFields, PatrolFields, TrackPoint,
    TrackSegmentFields,
};
use vaka_shared::policy::{Existing, check_write};
use vaka_shared::validate::validate;
use vaka_shared::{EntityId, EntityKind, HlcClock, Op, OpBody, OpId, Timestamp};

/// The close-out of a patrol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatrolSummary {
    /// Youths met.
    pub youths_met: Option<u32>,
    /// Adults met.
    pub adults_met: Option<u32>,
    /// Conversations held.
    pub conversations: Option<u32>,
    /// Everyone got home safe.
    pub all_home_safe: Option<bool>,
    /// A short summary.
    pub note: Option<String>,
}

/// Whether a write creates its entity or changes one the device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The op creates its entity.
    Create,
    /// The op changes an entity the device holds.
    Edit,
}

impl Device {
    /// Starts a patrol. `started_at` defaults to now.
    pub fn create_patrol(&self, mut fields: PatrolFields) -> Result<EntityId> {
        let id = EntityId::new();
        self.write(id, Mode::Create, |_, now| {
            fields.started_at.get_or_insert(now);
            Ok(OpBody::Patrol(fields))
        })?;
        Ok(id)
    }

    /// Ends a patrol now, with its summary.
    pub fn end_patrol(&self, patrol_id: EntityId, summary: PatrolSummary) -> Result<()> {
        self.write(patrol_id, Mode::Edit, |tx, now| {
            expect_kind(tx, patrol_id, EntityKind::Patrol)?;
            Ok(OpBody::Patrol(PatrolFields {
                ended_at: Some(Some(now)),
                youths_met: summary.youths_met,
                adults_met: summary.adults_met,
                conversations: summary.conversations,
                all_home_safe: summary.all_home_safe,
                note: summary.note,
                ..Default::default()
            }))
        })?;
        Ok(())
    }

    /// Logs an incident. `occurred_at` defaults to now.
    pub fn create_incident(&self, mut fields: IncidentFields) -> Result<EntityId> {
        let id = EntityId::new();
        self.write(id, Mode::Create, |_, now| {
            fields.occurred_at.get_or_insert(now);
            Ok(OpBody::Incident(fields))
        })?;
        Ok(id)
    }

    /// Logs an observation about a place. `observed_at` defaults to now.
    pub fn create_observation(&self, mut fields: ObservationFields) -> Result<EntityId> {
        let id = EntityId::new();
        self.write(id, Mode::Create, |_, now| {
            fields.observed_at.get_or_insert(now);
            Ok(OpBody::Observation(fields))
        })?;
        Ok(id)
    }

    /// Stores a batch of GPS points of a patrol.
    pub fn add_track_segment(
        &self,
        patrol_id: EntityId,
        points: Vec<TrackPoint>,
    ) -> Result<EntityId> {
        let id = EntityId::new();
        self.write(id, Mode::Create, |tx, _| {
            expect_kind(tx, patrol_id, EntityKind::Patrol)?;
            Ok(OpBody::TrackSegment(TrackSegmentFields {
                patrol_id: Some(patrol_id),
                points: Some(points),
            }))
        })?;
        Ok(id)
    }

    /// Writes a comment on an entry (patrol, incident or observation).
    pub fn add_comment(&self, entry_id: EntityId, text: &str) -> Result<EntityId> {
        let id = EntityId::new();
        self.write(id, Mode::Create, |tx, now| {
            let kind = entry_kind(tx, entry_id)?;
            Ok(OpBody::Comment(CommentFields {
                entry: Some(EntryRef { kind, id: entry_id }),
                body: Some(text.to_owned()),
                written_at: Some(now),
            }))
        })?;
        Ok(id)
    }

    /// Changes fields of an entity the device knows. Absent fields are left as they are.
    pub fn edit(&self, entity_id: EntityId, body: OpBody) -> Result<()> {
        self.write(entity_id, Mode::Edit, |_, _| Ok(body))?;
        Ok(())
    }

    /// Withdraws an entry logged by mistake. It stays in the log, marked retracted.
    pub fn retract(&self, entry_id: EntityId) -> Result<()> {
        self.write(entry_id, Mode::Edit, |tx, _| {
            let retracted = Some(true);
            Ok(match entry_kind(tx, entry_id)? {
                EntityKind::Patrol => OpBody::Patrol(PatrolFields {
                    retracted,
                    ..Default::default()
                }),
                EntityKind::Incident => OpBody::Incident(IncidentFields {
                    retracted,
                    ..Default::default()
                }),
                EntityKind::Observation => OpBody::Observation(ObservationFields {
                    retracted,
                    ..Default::default()
                }),
                kind @ (EntityKind::TrackSegment
                | EntityKind::Comment
                | EntityKind::Message
                | EntityKind::MessageReceipt) => {
                    return Err(DeviceError::WrongKind { id: entry_id, kind });
                }
            })
        })?;
        Ok(())
    }

    /// The one write path. `build` makes the op's body inside the transaction, given the
    /// corrected time.
    fn write(
        &self,
        entity_id: EntityId,
        mode: Mode,
        build: impl FnOnce(&Connection, Timestamp) -> Result<OpBody>,
    ) -> Result<Op> {
        self.write_tx(|tx| write_in(tx, &self.inner.wall, entity_id, mode, build))
    }
}

/// Writes one op inside the caller's transaction `tx`: builds it at the corrected time,
/// validates it, checks the member's permission, appends it to the outbox and applies it to its
/// entity. Every write of the device goes through here ([`Device::write`], and the receipts
/// of messages a pulled page brought, in that page's transaction).
pub(crate) fn write_in(
    tx: &Connection,
    wall: &super::clock::WallClock,
    entity_id: EntityId,
    mode: Mode,
    build: impl FnOnce(&Connection, Timestamp) -> Result<OpBody>,
) -> Result<Op> {
    let meta = store::load_meta(tx)?;
    let me = meta.enrolled()?;
    if meta.retiring {
        return Err(DeviceError::Retiring);
    }
    let now_ms = corrected_ms(wall, meta.clock_offset_ms);
    let now = timestamp(now_ms);
    let body = build(tx, now)?;
    let existing = entities::load(tx, entity_id)?;
    if mode == Mode::Edit && existing.is_none() {
        return Err(DeviceError::UnknownEntity(entity_id));
    }
    validate(&body, now, existing.is_none())?;
    let existing = existing.map(|e| Existing {
        kind: e.kind,
        author: e.author,
    });
    check_write(me.role, me.member_id, &body, existing)?;

    let mut clock = match meta.hlc_last {
        Some(last) => HlcClock::resume(me.device_id, last),
        None => HlcClock::new(me.device_id),
    };
    let op = Op {
        op_id: OpId::new(),
        device_id: me.device_id,
        device_seq: meta.next_device_seq,
        hlc: clock.tick(stamp_ms(now_ms)),
        base_seq: meta.cursor,
        entity_id,
        body,
    };
    store::insert_op(tx, &op, me.member_id, OpStatus::Pending, None)?;
    entities::apply_op(tx, &op, me.member_id, None)?;
    tx.execute(
        "UPDATE meta SET next_device_seq = ?1, hlc_last = ?2 WHERE id = 1",
        rusqlite::params![i64_of(op.device_seq + 1), op.hlc.to_string()],
    )?;
    Ok(op)
}

/// The kind of a known entity that comments may be written on.
fn entry_kind(tx: &Connection, id: EntityId) -> Result<EntityKind> {
    let entity = entities::load(tx, id)?.ok_or(DeviceError::UnknownEntity(id))?;
    if !entity.kind.is_entry() {
        return Err(DeviceError::WrongKind {
            id,
            kind: entity.kind,
        });
    }
    Ok(entity.kind)
}

/// Fails unless `id` is a known entity of `kind`.
fn expect_kind(tx: &Connection, id: EntityId, kind: EntityKind) -> Result<()> {
    let entity = entities::load(tx, id)?.ok_or(DeviceError::UnknownEntity(id))?;
    if entity.kind != kind {
        return Err(DeviceError::WrongKind {
            id,
            kind: entity.kind,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{T0, enrolled, incident, own_ops};
    use crate::{EntryFields, SyncStatus};
    use vaka_shared::model::{PatrolKind, ReviewStatus, Role, Severity};
    use vaka_shared::policy::Refusal;
    use vaka_shared::validate::Problem;

    #[test]
    fn a_write_stores_the_entity_and_its_op_together() {
        let (_dir, device, me) = enrolled(Role::Volunteer);
        let id = device.create_incident(incident(2)).expect("logs");

        let ops = own_ops(&device);
        let [(op, status)] = ops.as_slice() else {
            panic!("one op expected: {ops:?}");
        };
        assert_eq!(status, "pending");
        assert_eq!((op.device_seq, op.base_seq, op.entity_id), (1, 0, id));
        assert_eq!(op.device_id, me.device_id);
        assert_eq!(op.hlc.ms, T0 as u64);

        let entity = device.entity(id).expect("reads").expect("exists");
        assert_eq!(entity.author, me.member_id);
        assert_eq!(entity.values["severity"], serde_json::json!(2));
        assert_eq!(entity.status, SyncStatus::OnPhone);
        assert_eq!(device.outbox_len().expect("counts"), 1);
    }

    #[test]
    fn a_write_that_fails_validation_writes_nothing() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let error = device
            .create_incident(incident(9))
            .expect_err("severity 9 is out of range");
        let DeviceError::Invalid(field) = error else {
            panic!("validation error expected: {error:?}");
        };
        assert_eq!(field.field, "severity");
        assert_eq!(field.problem, Problem::OutOfRange { min: 1, max: 4 });
        assert!(own_ops(&device).is_empty());
        assert!(device.entries().expect("lists").is_empty());

        // The failed write used up no sequence number.
        device.create_incident(incident(1)).expect("logs");
        assert_eq!(own_ops(&device)[0].0.device_seq, 1);
    }

    #[test]
    fn logging_needs_an_enrolled_device() {
        let dir = tempfile::tempdir().expect("temp dir");
        let device = Device::open(dir.path().join("d.db")).expect("opens");
        let error = device
            .create_incident(incident(2))
            .expect_err("not enrolled");
        assert!(matches!(error, DeviceError::NotEnrolled), "{error:?}");
    }

    #[test]
    fn a_volunteer_cannot_write_review_fields() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let id = device.create_incident(incident(2)).expect("logs");
        let review = OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::Closed),
            ..Default::default()
        });
        let error = device.edit(id, review).expect_err("refused");
        assert!(
            matches!(
                error,
                DeviceError::Refused(Refusal::ReviewField("review_status"))
            ),
            "{error:?}"
        );
        assert_eq!(own_ops(&device).len(), 1);
    }

    #[test]
    fn edits_need_a_known_entity_and_comments_a_known_entry() {
        let (_dir, device, _) = enrolled(Role::Coordinator);
        let unknown = EntityId::new();
        let error = device
            .edit(unknown, OpBody::Incident(incident(2)))
            .expect_err("unknown");
        assert!(matches!(error, DeviceError::UnknownEntity(id) if id == unknown));
        let error = device.add_comment(unknown, "Hej").expect_err("unknown");
        assert!(matches!(error, DeviceError::UnknownEntity(_)), "{error:?}");
        assert!(own_ops(&device).is_empty());
    }

    #[test]
    fn a_patrol_starts_ends_and_collects_comments_and_track() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let patrol = device
            .create_patrol(PatrolFields {
                kind: Some(PatrolKind::NightWalk),
                participant_count: Some(3),
                ..Default::default()
            })
            .expect("starts");
        device
            .add_track_segment(
                patrol,
                vec![TrackPoint {
                    at: Timestamp::from_unix_ms(T0).expect("in range"),
                    lat: 59.33,
                    lon: 18.06,
                    accuracy_m: Some(8.0),
                }],
            )
            .expect("tracks");
        device
            .end_patrol(
                patrol,
                PatrolSummary {
                    youths_met: Some(12),
                    all_home_safe: Some(true),
                    ..Default::default()
                },
            )
            .expect("ends");
        device.add_comment(patrol, "Lugn kväll").expect("comments");

        let entries = device.entries().expect("lists");
        let [entry] = entries.as_slice() else {
            panic!("one entry expected: {entries:?}");
        };
        let EntryFields::Patrol(fields) = &entry.fields else {
            panic!("a patrol: {entry:?}");
        };
        assert_eq!(fields.participant_count, Some(3));
        assert_eq!(fields.youths_met, Some(12));
        assert_eq!(fields.all_home_safe, Some(true));
        assert!(fields.ended_at.flatten().is_some());
        assert!(entry.mine);

        let comments = device.comments_for(patrol).expect("comments");
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].body, "Lugn kväll");
        assert_eq!(own_ops(&device).len(), 4);

        // A comment cannot be retracted; an entry can.
        let error = device.retract(comments[0].id).expect_err("not an entry");
        assert!(matches!(error, DeviceError::WrongKind { .. }), "{error:?}");
        device.retract(patrol).expect("retracts");
    }

    #[test]
    fn edits_merge_into_the_entity_state() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let id = device.create_incident(incident(2)).expect("logs");
        device
            .edit(
                id,
                OpBody::Incident(IncidentFields {
                    severity: Some(Severity(3)),
                    ..Default::default()
                }),
            )
            .expect("edits");
        let entry = device.entry(id).expect("reads").expect("exists");
        let EntryFields::Incident(fields) = entry.fields else {
            panic!("an incident");
        };
        assert_eq!(fields.severity, Some(Severity(3)));
        assert_eq!(
            fields.description.as_deref(),
            Some("Loud quarrel at the square")
        );
        let ops = own_ops(&device);
        assert!(ops[0].0.hlc < ops[1].0.hlc, "stamps increase");
    }
}
