//! Logging: every write validates, checks the member's permission, appends the op to the outbox
//! and applies it to the entity, all in one SQLite transaction.

use super::Device;
use super::clock::{corrected_ms, stamp_ms, timestamp};
use super::entities;
use super::error::{DeviceError, Result};
use super::store::{self, OpStatus, i64_of};
use rusqlite::Transaction;
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
enum Mode {
    Create,
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
                kind @ (EntityKind::TrackSegment | EntityKind::Comment) => {
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
        build: impl FnOnce(&Transaction<'_>, Timestamp) -> Result<OpBody>,
    ) -> Result<Op> {
        self.write_tx(|tx| {
            let meta = store::load_meta(tx)?;
            let me = meta.enrolled()?;
            let now_ms = corrected_ms(&self.inner.wall, meta.clock_offset_ms);
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
        })
    }
}

/// The kind of a known entity that comments may be written on.
fn entry_kind(tx: &Transaction<'_>, id: EntityId) -> Result<EntityKind> {
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
fn expect_kind(tx: &Transaction<'_>, id: EntityId, kind: EntityKind) -> Result<()> {
    let entity = entities::load(tx, id)?.ok_or(DeviceError::UnknownEntity(id))?;
    if entity.kind != kind {
        return Err(DeviceError::WrongKind {
            id,
            kind: entity.kind,
        });
    }
    Ok(())
}
