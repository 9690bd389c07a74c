//! The op: one device's change to one entity, the unit of sync.

use crate::hlc::Hlc;
use crate::ids::{DeviceId, EntityId, OpId};
use crate::model::{
    CommentFields, IncidentFields, ObservationFields, PatrolFields, TrackSegmentFields,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kinds of synced entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A walk.
    Patrol,
    /// A create-once batch of GPS points of a patrol.
    TrackSegment,
    /// Something that happened.
    Incident,
    /// Something about a place.
    Observation,
    /// A create-once comment on an entry.
    Comment,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: &'static [Self] = &[
        Self::Patrol,
        Self::TrackSegment,
        Self::Incident,
        Self::Observation,
        Self::Comment,
    ];

    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patrol => "patrol",
            Self::TrackSegment => "track_segment",
            Self::Incident => "incident",
            Self::Observation => "observation",
            Self::Comment => "comment",
        }
    }

    /// The kind with this wire name.
    pub fn from_wire(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == text)
    }

    /// Entities of this kind are written once and never edited.
    pub fn is_create_once(self) -> bool {
        matches!(self, Self::TrackSegment | Self::Comment)
    }

    /// Entities of this kind carry review fields.
    pub fn has_review_fields(self) -> bool {
        matches!(self, Self::Incident | Self::Observation)
    }

    /// Whether a comment may be written on an entity of this kind.
    pub fn is_entry(self) -> bool {
        matches!(self, Self::Patrol | Self::Incident | Self::Observation)
    }
}

/// The entity kind and the typed fields an op writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "entity", content = "fields", rename_all = "snake_case")]
pub enum OpBody {
    /// Fields of a patrol.
    Patrol(PatrolFields),
    /// Fields of a track segment.
    TrackSegment(TrackSegmentFields),
    /// Fields of an incident.
    Incident(IncidentFields),
    /// Fields of an observation.
    Observation(ObservationFields),
    /// Fields of a comment.
    Comment(CommentFields),
}

impl OpBody {
    /// The kind of entity written.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Patrol(_) => EntityKind::Patrol,
            Self::TrackSegment(_) => EntityKind::TrackSegment,
            Self::Incident(_) => EntityKind::Incident,
            Self::Observation(_) => EntityKind::Observation,
            Self::Comment(_) => EntityKind::Comment,
        }
    }

    /// The written fields as a JSON object of field name to value; absent fields are left out.
    pub fn field_map(&self) -> Map<String, Value> {
        let value = match self {
            Self::Patrol(f) => serde_json::to_value(f),
            Self::TrackSegment(f) => serde_json::to_value(f),
            Self::Incident(f) => serde_json::to_value(f),
            Self::Observation(f) => serde_json::to_value(f),
            Self::Comment(f) => serde_json::to_value(f),
        };
        match value {
            Ok(Value::Object(map)) => map,
            // Field structs always serialise to objects.
            _ => Map::new(),
        }
    }

    /// Rebuilds a typed body from a kind and a field map (the inverse of [`Self::field_map`]).
    pub fn from_field_map(kind: EntityKind, map: Map<String, Value>) -> serde_json::Result<Self> {
        let value = Value::Object(map);
        Ok(match kind {
            EntityKind::Patrol => Self::Patrol(serde_json::from_value(value)?),
            EntityKind::TrackSegment => Self::TrackSegment(serde_json::from_value(value)?),
            EntityKind::Incident => Self::Incident(serde_json::from_value(value)?),
            EntityKind::Observation => Self::Observation(serde_json::from_value(value)?),
            EntityKind::Comment => Self::Comment(serde_json::from_value(value)?),
        })
    }
}

/// One change made on one device: `{op_id, device_id, device_seq, hlc, base_seq, entity_id,
/// entity, fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Op {
    /// Unique id of the op.
    pub op_id: OpId,
    /// The device that made it.
    pub device_id: DeviceId,
    /// The device's own numbering of its ops: 1, 2, 3 … without gaps.
    pub device_seq: u64,
    /// The clock stamp that orders it against every other op.
    pub hlc: Hlc,
    /// The server sequence the device had pulled when it made the op.
    pub base_seq: u64,
    /// The entity written.
    pub entity_id: EntityId,
    /// The entity kind (`entity`) and the fields written (`fields`).
    #[serde(flatten)]
    pub body: OpBody,
}

impl Op {
    /// The kind of entity written.
    pub fn kind(&self) -> EntityKind {
        self.body.kind()
    }
}
