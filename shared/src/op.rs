//! The op: one device's change to one entity, the unit of sync.

use crate::hlc::Hlc;
use crate::ids::{DeviceId, EntityId, OpId};
use crate::model::{
    CommentFields, IncidentFields, MessageFields, MessageReceiptFields, ObservationFields,
    PatrolFields, TrackSegmentFields,
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
    /// A coordinator's message to the organisation, an area or a group, shown until it ends.
    Message,
    /// A phone's receipt of a message: when it arrived and when it was read.
    MessageReceipt,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: &'static [Self] = &[
        Self::Patrol,
        Self::TrackSegment,
        Self::Incident,
        Self::Observation,
        Self::Comment,
        Self::Message,
        Self::MessageReceipt,
    ];

    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patrol => "patrol",
            Self::TrackSegment => "track_segment",
            Self::Incident => "incident",
            Self::Observation => "observation",
            Self::Comment => "comment",
            Self::Message => "message",
            Self::MessageReceipt => "message_receipt",
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
    /// Fields of a message.
    Message(MessageFields),
    /// Fields of a message receipt.
    MessageReceipt(MessageReceiptFields),
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
            Self::Message(_) => EntityKind::Message,
            Self::MessageReceipt(_) => EntityKind::MessageReceipt,
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
            Self::Message(f) => serde_json::to_value(f),
            Self::MessageReceipt(f) => serde_json::to_value(f),
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
            EntityKind::Message => Self::Message(serde_json::from_value(value)?),
            EntityKind::MessageReceipt => Self::MessageReceipt(serde_json::from_value(value)?),
        })
    }
}

/// The largest `device_seq`, `base_seq` or sequence the protocol carries.
pub const MAX_SEQ: u64 = crate::int::MAX_INT;

/// One change made on one device: `{op_id, device_id, device_seq, hlc, base_seq, entity_id,
/// entity, fields}`. Read strictly: an unknown key, at the top or in `fields`, is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireOp")]
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

/// An op as it is read from the wire, before its fields are typed by its kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
struct WireOp {
    op_id: OpId,
    device_id: DeviceId,
    #[serde(deserialize_with = "crate::int::read")]
    device_seq: u64,
    hlc: Hlc,
    #[serde(deserialize_with = "crate::int::read")]
    base_seq: u64,
    entity_id: EntityId,
    entity: EntityKind,
    fields: Map<String, Value>,
}

crate::object::objects_only!(de: WireOp);

/// The fields of a wire op do not fit its entity kind.
#[derive(Debug, thiserror::Error)]
#[error("fields: {0}")]
pub struct OpError(#[from] serde_json::Error);

impl TryFrom<WireOp> for Op {
    type Error = OpError;

    fn try_from(wire: WireOp) -> Result<Self, Self::Error> {
        Ok(Self {
            op_id: wire.op_id,
            device_id: wire.device_id,
            device_seq: wire.device_seq,
            hlc: wire.hlc,
            base_seq: wire.base_seq,
            entity_id: wire.entity_id,
            body: OpBody::from_field_map(wire.entity, wire.fields)?,
        })
    }
}

/// The OpenAPI schemas of an op (and of an op as the server hands it out, with `extra`
/// properties): one object per entity kind, every key listed, no other keys allowed.
#[cfg(feature = "openapi")]
pub fn op_schema(
    description: &str,
    extra: &[(
        &str,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )],
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
    use utoipa::openapi::{Ref, RefOr};
    let seq = |what: &str| -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(0))
            .maximum(Some(MAX_SEQ as f64))
            .description(Some(what))
            .into()
    };
    let mut one_of = OneOfBuilder::new().description(Some(description));
    for (kind, fields) in [
        ("patrol", "PatrolFields"),
        ("track_segment", "TrackSegmentFields"),
        ("incident", "IncidentFields"),
        ("observation", "ObservationFields"),
        ("comment", "CommentFields"),
        ("message", "MessageFields"),
        ("message_receipt", "MessageReceiptFields"),
    ] {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .title(Some(kind))
            .property("op_id", Ref::from_schema_name("OpId"))
            .property("device_id", Ref::from_schema_name("DeviceId"))
            .property(
                "device_seq",
                seq("The device's own numbering of its ops: 1, 2, 3 … without gaps."),
            )
            .property("hlc", Ref::from_schema_name("Hlc"))
            .property(
                "base_seq",
                seq("The server sequence the device had pulled when it made the op."),
            )
            .property("entity_id", Ref::from_schema_name("EntityId"))
            .property(
                "entity",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([kind])),
            )
            .property("fields", Ref::from_schema_name(fields))
            .required("op_id")
            .required("device_id")
            .required("device_seq")
            .required("hlc")
            .required("base_seq")
            .required("entity_id")
            .required("entity")
            .required("fields")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (name, schema) in extra {
            object = object.property(*name, schema.clone()).required(*name);
        }
        one_of = one_of.item(object);
    }
    one_of.into()
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Op {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        op_schema(
            "One change made on one device; `fields` are those of the `entity` kind.",
            &[],
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Op {}

#[cfg(test)]
mod strict_tests {
    use super::*;

    fn op_json(change: impl FnOnce(&mut Value)) -> Value {
        let mut op = serde_json::json!({
            "op_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01",
            "device_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
            "device_seq": 1,
            "hlc": "1763762045120-0000-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
            "base_seq": 0,
            "entity_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e02",
            "entity": "incident",
            "fields": {"severity": 2}
        });
        change(&mut op);
        op
    }

    #[test]
    fn an_op_is_read_strictly() {
        assert!(serde_json::from_value::<Op>(op_json(|_| {})).is_ok());
        let refused = [
            op_json(|op| op["author"] = "x".into()),
            op_json(|op| {
                op["hlc"] = "1763762045120-0000-019a8f6e1c2b7d3e8f405a6b7c8d9e0f".into();
            }),
            op_json(|op| op["device_seq"] = serde_json::json!(9_007_199_254_740_992_u64)),
            op_json(|op| op["fields"]["severity"] = serde_json::json!(2.5)),
            op_json(|op| op["fields"]["name"] = "Kalle".into()),
        ];
        for op in refused {
            assert!(serde_json::from_value::<Op>(op.clone()).is_err(), "{op}");
        }
        let two = serde_json::from_value::<Op>(op_json(|op| {
            op["device_seq"] = serde_json::json!(2.0);
        }))
        .expect("2.0 is the integer 2");
        assert_eq!(two.device_seq, 2);
    }
}
