//! Reading the local store: entries with their sync status, comments, single entities, the
//! outbox and the sync state, and a snapshot of all state for convergence checks.

use super::Device;
use super::blobs::PhotoStatus;
use super::error::{DeviceError, Result};
use super::store::Identity;
use super::store::{self, OP_COLUMNS, op_from_row, parse, reject_code_of, u64_of};
use rusqlite::{Connection, Row};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::collections::HashMap;
use vaka_shared::AreaId;
use vaka_shared::merge::EntityState;
use vaka_shared::model::AttachmentRef;
use vaka_shared::model::{IncidentFields, ObservationFields, PatrolFields};
use vaka_shared::sync::RejectCode;
use vaka_shared::{EntityId, EntityKind, MemberId, Op, Timestamp};

/// Every entity with any field written: id to kind and current values.
pub type StateSnapshot = BTreeMap<EntityId, (EntityKind, Map<String, Value>)>;

/// Where an entity stands with the server, as this device sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStatus {
    /// Some change made on this phone has not reached the server yet.
    OnPhone,
    /// Everything this phone wrote is on the server.
    OnServer,
    /// The server refused a change made on this phone; the user should look at it.
    NeedsAttention {
        /// Why, as a stable code.
        code: RejectCode,
        /// Why, in words.
        message: String,
        /// The field at fault, if one is.
        field: Option<String>,
    },
}

/// The typed fields of an entry.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryFields {
    /// A patrol.
    Patrol(PatrolFields),
    /// An incident.
    Incident(IncidentFields),
    /// An observation.
    Observation(ObservationFields),
}

/// A patrol, incident or observation as the device holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its id.
    pub id: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// The member who logged it.
    pub author: MemberId,
    /// Whether the member of this device logged it.
    pub mine: bool,
    /// Its current fields.
    pub fields: EntryFields,
    /// Clock time of its first write.
    pub created_at: Timestamp,
    /// Clock time of its latest write.
    pub updated_at: Timestamp,
    /// Where it stands with the server.
    pub status: SyncStatus,
}

/// A comment on an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Its id.
    pub id: EntityId,
    /// The member who wrote it.
    pub author: MemberId,
    /// Whether the member of this device wrote it.
    pub mine: bool,
    /// The text.
    pub body: String,
    /// When it was written.
    pub written_at: Option<Timestamp>,
    /// Where it stands with the server.
    pub status: SyncStatus,
}

/// Any entity, with its fields as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityView {
    /// Its id.
    pub id: EntityId,
    /// Its kind.
    pub kind: EntityKind,
    /// The member whose device created it.
    pub author: MemberId,
    /// Field name to current value.
    pub values: Map<String, Value>,
    /// Where it stands with the server.
    pub status: SyncStatus,
}

/// An own op the server refused, kept with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedOwnOp {
    /// The op as it was sent.
    pub op: Op,
    /// Why, as a stable code.
    pub code: RejectCode,
    /// Why, in words.
    pub message: String,
    /// The field at fault, if one is.
    pub field: Option<String>,
}

/// How syncing goes, for the indicator that never lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// Whether the device is enrolled.
    pub enrolled: bool,
    /// When the last sync that ran to the end finished (device clock).
    pub last_sync_ok_at: Option<Timestamp>,
    /// Own ops not yet on the server.
    pub pending: u64,
    /// Entities with an own op the server refused.
    pub needs_attention: u64,
    /// The error of the last sync attempt, if it failed.
    pub last_error: Option<String>,
    /// The highest server sequence applied.
    pub cursor: u64,
    /// Whether a coordinator retired this phone (it hands over what it has, then wipes).
    pub retiring: bool,
    /// Why the phone last wiped itself, until it is enrolled again.
    pub wiped: Option<super::wipe::WipeReason>,
}

/// Columns every entity read selects, in order, from `entities e`.
const ENTITY_COLUMNS: &str = "e.id, e.kind, e.author, e.state, e.created_ms, e.updated_ms,
    EXISTS (SELECT 1 FROM ops o WHERE o.entity_id = e.id AND o.status = 'pending'),
    (SELECT o.reject_code FROM ops o WHERE o.entity_id = e.id AND o.status = 'rejected'
        ORDER BY o.device_seq DESC LIMIT 1),
    (SELECT o.reject_message FROM ops o WHERE o.entity_id = e.id AND o.status = 'rejected'
        ORDER BY o.device_seq DESC LIMIT 1),
    (SELECT o.reject_field FROM ops o WHERE o.entity_id = e.id AND o.status = 'rejected'
        ORDER BY o.device_seq DESC LIMIT 1)";

/// One row read with [`ENTITY_COLUMNS`].
struct EntityRead {
    id: EntityId,
    kind: EntityKind,
    author: MemberId,
    state: EntityState,
    created_ms: i64,
    updated_ms: i64,
    status: SyncStatus,
}

fn read_entity(row: &Row<'_>) -> Result<EntityRead> {
    let kind: String = row.get(1)?;
    let state: String = row.get(3)?;
    let pending: bool = row.get(6)?;
    let code: Option<String> = row.get(7)?;
    let status = match code {
        Some(code) => SyncStatus::NeedsAttention {
            code: reject_code_of(&code)?,
            message: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
            field: row.get(9)?,
        },
        None if pending => SyncStatus::OnPhone,
        None => SyncStatus::OnServer,
    };
    Ok(EntityRead {
        id: parse("entity id", &row.get::<_, String>(0)?)?,
        kind: EntityKind::from_wire(&kind).ok_or_else(|| DeviceError::damaged("kind", kind))?,
        author: parse("member id", &row.get::<_, String>(2)?)?,
        state: serde_json::from_str(&state)?,
        created_ms: row.get(4)?,
        updated_ms: row.get(5)?,
        status,
    })
}

fn typed_fields(kind: EntityKind, values: Map<String, Value>) -> Result<Option<EntryFields>> {
    let value = Value::Object(values);
    Ok(match kind {
        EntityKind::Patrol => Some(EntryFields::Patrol(serde_json::from_value(value)?)),
        EntityKind::Incident => Some(EntryFields::Incident(serde_json::from_value(value)?)),
        EntityKind::Observation => Some(EntryFields::Observation(serde_json::from_value(value)?)),
        EntityKind::TrackSegment
        | EntityKind::Comment
        | EntityKind::Message
        | EntityKind::MessageReceipt => None,
    })
}

fn to_entry(read: EntityRead, me: Option<MemberId>) -> Result<Option<Entry>> {
    let Some(fields) = typed_fields(read.kind, read.state.values())? else {
        return Ok(None);
    };
    Ok(Some(Entry {
        id: read.id,
        kind: read.kind,
        author: read.author,
        mine: me == Some(read.author),
        fields,
        created_at: super::clock::timestamp(read.created_ms),
        updated_at: super::clock::timestamp(read.updated_ms),
        status: read.status,
    }))
}

fn me(conn: &Connection) -> Result<Option<MemberId>> {
    Ok(store::load_meta(conn)?.identity.map(|i| i.member_id))
}

impl Device {
    /// Every patrol, incident and observation the device holds, newest first.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.recent_entries(usize::MAX)
    }

    /// The `limit` newest patrols, incidents and observations.
    pub fn recent_entries(&self, limit: usize) -> Result<Vec<Entry>> {
        let conn = self.reader();
        let me = me(&conn)?;
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {ENTITY_COLUMNS} FROM entities e
             WHERE e.kind IN ('patrol', 'incident', 'observation')
             ORDER BY e.created_ms DESC, e.id DESC LIMIT ?1"
        ))?;
        let mut rows = statement.query([i64::try_from(limit).unwrap_or(i64::MAX)])?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            entries.extend(to_entry(read_entity(row)?, me)?);
        }
        Ok(entries)
    }

    /// One entry, if the device holds it and it is a patrol, incident or observation.
    pub fn entry(&self, id: EntityId) -> Result<Option<Entry>> {
        let conn = self.reader();
        let me = me(&conn)?;
        let read = one_entity(&conn, id)?;
        Ok(match read {
            Some(read) => to_entry(read, me)?,
            None => None,
        })
    }

    /// The comments on an entry, oldest first.
    pub fn comments_for(&self, entry_id: EntityId) -> Result<Vec<Comment>> {
        let conn = self.reader();
        let me = me(&conn)?;
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {ENTITY_COLUMNS} FROM entities e
             WHERE e.parent_id = ?1 AND e.kind = 'comment'
             ORDER BY e.created_ms, e.id"
        ))?;
        let mut rows = statement.query([entry_id.to_string()])?;
        let mut comments = Vec::new();
        while let Some(row) = rows.next()? {
            comments.push(to_comment(read_entity(row)?, me)?);
        }
        Ok(comments)
    }

    /// Any entity the device holds.
    pub fn entity(&self, id: EntityId) -> Result<Option<EntityView>> {
        let conn = self.reader();
        Ok(one_entity(&conn, id)?.map(|read| EntityView {
            id: read.id,
            kind: read.kind,
            author: read.author,
            values: read.state.values(),
            status: read.status,
        }))
    }

    /// How many own ops wait for the server.
    pub fn outbox_len(&self) -> Result<u64> {
        let conn = self.reader();
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM ops WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(u64_of(n))
    }

    /// Own ops the server refused, oldest first, with the reasons.
    pub fn rejected_ops(&self) -> Result<Vec<RejectedOwnOp>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {OP_COLUMNS}, reject_code, reject_message, reject_field
             FROM ops WHERE status = 'rejected' ORDER BY device_seq"
        ))?;
        let mut rows = statement.query([])?;
        let mut rejected = Vec::new();
        while let Some(row) = rows.next()? {
            let (op, _) = op_from_row(row)?;
            rejected.push(RejectedOwnOp {
                op,
                code: reject_code_of(&row.get::<_, String>(9)?)?,
                message: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
                field: row.get(11)?,
            });
        }
        Ok(rejected)
    }

    /// How syncing goes.
    pub fn sync_state(&self) -> Result<SyncState> {
        let conn = self.reader();
        let meta = store::load_meta(&conn)?;
        sync_state_of(&conn, &meta)
    }

    /// Every entity that has any field written, with its kind and current values: what must be
    /// equal on every replica that has seen the same ops.
    pub fn state_snapshot(&self) -> Result<StateSnapshot> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached("SELECT id, kind, state FROM entities")?;
        let mut rows = statement.query([])?;
        let mut snapshot = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let kind: String = row.get(1)?;
            let kind =
                EntityKind::from_wire(&kind).ok_or_else(|| DeviceError::damaged("kind", kind))?;
            let state: EntityState = serde_json::from_str(&row.get::<_, String>(2)?)?;
            if !state.fields.is_empty() {
                let id = parse("entity id", &row.get::<_, String>(0)?)?;
                snapshot.insert(id, (kind, state.values()));
            }
        }
        Ok(snapshot)
    }
}

/// What the app's screens show, read in one read transaction by a few queries whatever the
/// number of entries: the identity and sync state, the newest entries with their comments and
/// the state of their photos, the photos waiting, the areas' names, the messages shown now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Screen {
    /// Who the device is, once enrolled.
    pub identity: Option<Identity>,
    /// How syncing goes.
    pub sync: Option<SyncState>,
    /// The newest entries, newest first.
    pub entries: Vec<ScreenEntry>,
    /// Photos not yet whole on the server.
    pub photos_waiting: usize,
    /// The areas' ids and names, by name.
    pub areas: Vec<(AreaId, String)>,
    /// The coordinators' messages shown now (not ended), newest first.
    pub messages: Vec<super::Message>,
}

/// An entry as the screens show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenEntry {
    /// The entry.
    pub entry: Entry,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its photos and where each stands.
    pub photos: Vec<(AttachmentRef, PhotoStatus)>,
}

impl Device {
    /// Everything the screens show, with the newest `limit` entries ([`Screen`]).
    pub fn screen(&self, limit: usize) -> Result<Screen> {
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let meta = store::load_meta(&tx)?;
        let me = meta.identity.as_ref().map(|i| i.member_id);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut entries = Vec::new();
        {
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {ENTITY_COLUMNS} FROM entities e
                 WHERE e.kind IN ('patrol', 'incident', 'observation')
                 ORDER BY e.created_ms DESC, e.id DESC LIMIT ?1"
            ))?;
            let mut rows = statement.query([limit])?;
            while let Some(row) = rows.next()? {
                entries.extend(to_entry(read_entity(row)?, me)?);
            }
        }
        let mut comments: HashMap<EntityId, Vec<Comment>> = HashMap::new();
        {
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {ENTITY_COLUMNS}, e.parent_id FROM entities e
                 WHERE e.kind = 'comment' AND e.parent_id IN (
                     SELECT id FROM entities
                     WHERE kind IN ('patrol', 'incident', 'observation')
                     ORDER BY created_ms DESC, id DESC LIMIT ?1)
                 ORDER BY e.created_ms, e.id"
            ))?;
            let mut rows = statement.query([limit])?;
            while let Some(row) = rows.next()? {
                let parent: EntityId = parse("entity id", &row.get::<_, String>(10)?)?;
                let comment = to_comment(read_entity(row)?, me)?;
                comments.entry(parent).or_default().push(comment);
            }
        }
        let mut photos: HashMap<String, PhotoStatus> = HashMap::new();
        let mut photos_waiting = 0;
        {
            let mut statement = tx.prepare_cached(
                "SELECT sha256, size, uploaded, done_at_ms IS NOT NULL FROM blobs",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let status = if row.get::<_, bool>(3)? {
                    PhotoStatus::OnServer
                } else {
                    photos_waiting += 1;
                    PhotoStatus::OnPhone {
                        uploaded: u64_of(row.get(2)?),
                        size: u64_of(row.get(1)?),
                    }
                };
                photos.insert(row.get(0)?, status);
            }
        }
        let mut areas = Vec::new();
        {
            let mut statement = tx.prepare_cached("SELECT id, name FROM areas ORDER BY name")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                areas.push((parse("area id", &row.get::<_, String>(0)?)?, row.get(1)?));
            }
        }
        let now = super::clock::timestamp(super::clock::corrected_ms(
            &self.inner.wall,
            meta.clock_offset_ms,
        ));
        let messages = super::messages::active(&tx, me, now)?;
        let sync = sync_state_of(&tx, &meta)?;
        let entries = entries
            .into_iter()
            .map(|entry| {
                let attachments = match &entry.fields {
                    EntryFields::Incident(f) => f.attachments.clone().unwrap_or_default(),
                    EntryFields::Observation(f) => f.attachments.clone().unwrap_or_default(),
                    EntryFields::Patrol(_) => Vec::new(),
                };
                let photos = attachments
                    .into_iter()
                    .map(|a| {
                        let status = photos
                            .get(&a.sha256)
                            .copied()
                            .unwrap_or(PhotoStatus::Elsewhere);
                        (a, status)
                    })
                    .collect();
                ScreenEntry {
                    comments: comments.remove(&entry.id).unwrap_or_default(),
                    entry,
                    photos,
                }
            })
            .collect();
        Ok(Screen {
            identity: meta.identity,
            sync: Some(sync),
            entries,
            photos_waiting,
            areas,
            messages,
        })
    }
}

fn to_comment(read: EntityRead, me: Option<MemberId>) -> Result<Comment> {
    let fields: vaka_shared::model::CommentFields =
        serde_json::from_value(Value::Object(read.state.values()))?;
    Ok(Comment {
        id: read.id,
        author: read.author,
        mine: me == Some(read.author),
        body: fields.body.unwrap_or_default(),
        written_at: fields.written_at,
        status: read.status,
    })
}

fn sync_state_of(conn: &Connection, meta: &store::Meta) -> Result<SyncState> {
    let (pending, attention): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM ops WHERE status = 'pending'),
                (SELECT count(DISTINCT entity_id) FROM ops WHERE status = 'rejected')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(SyncState {
        enrolled: meta.identity.is_some(),
        last_sync_ok_at: meta.last_sync_ok_at_ms.map(super::clock::timestamp),
        pending: u64_of(pending),
        needs_attention: u64_of(attention),
        last_error: meta.last_sync_error.clone(),
        cursor: meta.cursor,
        retiring: meta.retiring,
        wiped: meta.wiped,
    })
}

fn one_entity(conn: &Connection, id: EntityId) -> Result<Option<EntityRead>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {ENTITY_COLUMNS} FROM entities e WHERE e.id = ?1"
    ))?;
    let mut rows = statement.query([id.to_string()])?;
    match rows.next()? {
        Some(row) => Ok(Some(read_entity(row)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use crate::photos::tests::jpeg_with_exif;
    use crate::test_support::{enrolled, incident};
    use crate::{EntryFields, PhotoStatus};
    use vaka_shared::model::{IncidentFields, Role};

    #[test]
    fn the_screen_read_holds_what_the_reads_one_by_one_give() {
        let (_dir, device, identity) = enrolled(Role::Volunteer);
        let oldest = device.create_incident(incident(1)).expect("logs");
        device.add_comment(oldest, "oldest").expect("comments");
        let photo = device.store_photo(&jpeg_with_exif(64, 48)).expect("stores");
        let with_photo = device
            .create_incident(IncidentFields {
                attachments: Some(vec![photo.clone()]),
                ..incident(2)
            })
            .expect("logs");
        device.add_comment(with_photo, "first").expect("comments");
        device.add_comment(with_photo, "second").expect("comments");
        let newest = device.create_incident(incident(3)).expect("logs");

        let screen = device.screen(2).expect("reads");
        assert_eq!(screen.identity, Some(identity));
        assert_eq!(screen.sync, Some(device.sync_state().expect("sync state")));
        assert_eq!(screen.photos_waiting, 1);
        let ids: Vec<_> = screen.entries.iter().map(|e| e.entry.id).collect();
        assert_eq!(ids, [newest, with_photo], "the newest two, newest first");
        for card in &screen.entries {
            assert_eq!(
                Some(&card.entry),
                device.entry(card.entry.id).expect("reads").as_ref()
            );
            assert_eq!(
                card.comments,
                device.comments_for(card.entry.id).expect("reads")
            );
        }
        let bodies: Vec<_> = screen.entries[1]
            .comments
            .iter()
            .map(|c| c.body.as_str())
            .collect();
        assert_eq!(bodies, ["first", "second"]);
        assert!(matches!(
            screen.entries[1].entry.fields,
            EntryFields::Incident(_)
        ));
        assert_eq!(
            screen.entries[1].photos,
            [(
                photo.clone(),
                PhotoStatus::OnPhone {
                    uploaded: 0,
                    size: photo.size
                }
            )]
        );
        assert_eq!(
            device.photo_status(&photo.sha256).expect("reads"),
            screen.entries[1].photos[0].1
        );
        assert!(screen.entries[0].photos.is_empty() && screen.entries[0].comments.is_empty());
    }
}
