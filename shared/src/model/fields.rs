//! The fields of each synced entity.
//!
//! One struct per entity kind serves both as the `fields` of an op (a field that is absent is not
//! touched) and as the current state of an entity (a field that was never written is absent).
//! A nullable field is an `Option<Option<T>>`: absent, `null` (cleared) or a value.

use super::{
    Agency, CategoryCode, ObservationCategory, PatrolKind, PoliceLine, ReviewStatus, Severity,
};
use crate::ids::{AreaId, EntityId, MemberId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_with::rust::double_option;

/// A position from the phone's location service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Location {
    /// Latitude in degrees (WGS 84), -90 to 90.
    pub lat: f64,
    /// Longitude in degrees (WGS 84), -180 to 180.
    pub lon: f64,
    /// Accuracy radius in metres, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub accuracy_m: Option<f32>,
}

/// A photo (or later audio) attached to an entry; the blob travels separately, by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct AttachmentRef {
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    #[cfg_attr(feature = "openapi", schema(maximum = 9007199254740991.0))]
    #[serde(deserialize_with = "crate::int::read")]
    pub size: u64,
    /// Media type, e.g. `image/jpeg`.
    #[serde(rename = "type")]
    pub content_type: String,
}

/// One GPS point of a patrol's track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct TrackPoint {
    /// When the point was taken.
    pub at: Timestamp,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Accuracy radius in metres, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub accuracy_m: Option<f32>,
}

/// The entry a comment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct EntryRef {
    /// `patrol`, `incident` or `observation`.
    pub kind: crate::op::EntityKind,
    /// The entry's id.
    pub id: EntityId,
}

/// A walk: who, where, which kind, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatrolFields {
    /// Which kind of walk. Required when the patrol is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PatrolKind>,
    /// When the walk started. Required when the patrol is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When the walk ended; `null` while it goes on.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Timestamp>))]
    pub ended_at: Option<Option<Timestamp>>,
    /// The area walked, if one was chosen.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AreaId>))]
    pub area_id: Option<Option<AreaId>>,
    /// How many walked (1–50). Required when the patrol is created.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub participant_count: Option<u16>,
    /// The members who walked, where they use the app (at most 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<MemberId>>,
    /// Youths met (0–10000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(format = Int64, maximum = 4294967295.0))]
    pub youths_met: Option<u32>,
    /// Adults met (0–10000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(format = Int64, maximum = 4294967295.0))]
    pub adults_met: Option<u32>,
    /// Conversations held (0–10000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(format = Int64, maximum = 4294967295.0))]
    pub conversations: Option<u32>,
    /// A short free-text summary (at most 4000 characters). Describe events, not people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The group confirmed that everyone got home safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_home_safe: Option<bool>,
    /// Withdrawn by its author (entered by mistake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<bool>,
}

/// A create-once batch of GPS points of a patrol.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrackSegmentFields {
    /// The patrol the points belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patrol_id: Option<EntityId>,
    /// The points, in time order (1–1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<TrackPoint>>,
}

/// Something that happened. Entry fields are written by field users; review fields
/// ([`IncidentFields::REVIEW_FIELDS`]) only by coordinators and admins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentFields {
    /// When it happened. Required when the incident is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// Where, from the phone's location.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Location>))]
    pub location: Option<Option<Location>>,
    /// Where, in words (at most 200 characters).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub place: Option<Option<String>>,
    /// The area it happened in.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AreaId>))]
    pub area_id: Option<Option<AreaId>>,
    /// The category. Required when the incident is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CategoryCode>,
    /// A finer category in the organisation's own words (at most 60 characters).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub subcategory: Option<Option<String>>,
    /// How serious, 1–4. Required when the incident is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What happened (at most 4000 characters). Describe events, not people: no names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How many people were involved (0–500).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub people_involved: Option<u16>,
    /// How many of them appeared to be minors (at most `people_involved`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub minors_involved: Option<u16>,
    /// Which police number was called, if any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PoliceLine>))]
    pub police_line: Option<Option<PoliceLine>>,
    /// When the police were contacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Timestamp>))]
    pub police_contacted_at: Option<Option<Timestamp>>,
    /// When the police came, if they did.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Timestamp>))]
    pub police_attended_at: Option<Option<Timestamp>>,
    /// The police event number, if one was given (at most 40 characters).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub police_event_number: Option<Option<String>>,
    /// Other agencies informed from the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agencies_informed: Option<Vec<Agency>>,
    /// The patrol it happened on.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EntityId>))]
    pub patrol_id: Option<Option<EntityId>>,
    /// Photos (at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentRef>>,
    /// Withdrawn by its author (entered by mistake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<bool>,

    /// Review: where the coordinator stands with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_status: Option<ReviewStatus>,
    /// Review: the entry this one duplicates.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EntityId>))]
    pub duplicate_of: Option<Option<EntityId>>,
    /// Review: the coordinator who follows it up.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<MemberId>))]
    pub assignee: Option<Option<MemberId>>,
    /// Review: free tags (at most 20, each at most 40 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Review: agencies the coordinator forwarded it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<Vec<Agency>>,
    /// Review: kept past the retention period ("spara längre"), with the reason (1 to 200
    /// characters, e.g. an open police matter); `null` releases it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub retention_hold: Option<Option<String>>,
}

/// The review fields shared by incidents and observations; only coordinators and admins write
/// them.
pub const REVIEW_FIELDS: &[&str] = &[
    "review_status",
    "duplicate_of",
    "assignee",
    "tags",
    "forwarded_to",
    "retention_hold",
];

impl IncidentFields {
    /// Fields only coordinators and admins may write.
    pub const REVIEW_FIELDS: &'static [&'static str] = REVIEW_FIELDS;
}

/// Something about the place itself: a broken light, needles, an unsafe underpass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ObservationFields {
    /// When it was seen. Required when the observation is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Timestamp>,
    /// What it is about. Required when the observation is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<ObservationCategory>,
    /// Where, from the phone's location.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Location>))]
    pub location: Option<Option<Location>>,
    /// Where, in words (at most 200 characters).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub place: Option<Option<String>>,
    /// The area it is in.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AreaId>))]
    pub area_id: Option<Option<AreaId>>,
    /// What was seen (at most 4000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The patrol it was seen on.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EntityId>))]
    pub patrol_id: Option<Option<EntityId>>,
    /// Photos (at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentRef>>,
    /// Withdrawn by its author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<bool>,

    /// Review: where the coordinator stands with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_status: Option<ReviewStatus>,
    /// Review: the entry this one duplicates.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EntityId>))]
    pub duplicate_of: Option<Option<EntityId>>,
    /// Review: the coordinator who follows it up.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<MemberId>))]
    pub assignee: Option<Option<MemberId>>,
    /// Review: free tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Review: agencies the coordinator forwarded it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<Vec<Agency>>,
    /// Review: kept past the retention period ("spara längre"), with the reason (1 to 200
    /// characters, e.g. an open police matter); `null` releases it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub retention_hold: Option<Option<String>>,
}

/// A create-once comment on an entry; coordinators ask, field users answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommentFields {
    /// The entry commented on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntryRef>,
    /// The text (1–2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// When it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<Timestamp>,
}

crate::object::objects_only!(ser_de: Location, AttachmentRef, TrackPoint, EntryRef);

/// Who a coordinator's message is for. On the wire one key: `{"org": true}` (everyone in the
/// organisation), `{"area": "<area id>"}` (members whose area it is) or `{"group": "<name>"}`
/// (members of that group).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Everyone in the organisation; the value must be `true`.
    Org(bool),
    /// The members whose area this is.
    Area(AreaId),
    /// The members of this group (1–60 characters, as a member's group is written).
    Group(String),
}

// By hand: exactly one of the three keys, nothing beside it (the derive allows other keys).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Audience {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        use utoipa::openapi::{KnownFormat, SchemaFormat};
        let one = |key: &str, value: ObjectBuilder| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(key, value)
                .required(key)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .description(Some(
                "Who a message is for: `{\"org\": true}` (the whole organisation; `false` rejects \
                 the op), `{\"area\": \"<area id>\"}` or `{\"group\": \"<name>\"}`.",
            ))
            .item(one("org", ObjectBuilder::new().schema_type(Type::Boolean)))
            .item(one(
                "area",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            ))
            .item(one("group", ObjectBuilder::new().schema_type(Type::String)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Audience {}

/// A short message from the desk to the walkers' phones, shown until it ends. Written only by
/// coordinators and admins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageFields {
    /// The text (1–280 characters). Required when the message is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Who it is for. Required when the message is created, and never changed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// When it was sent. Required when the message is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    /// When it stops being shown (after `sent_at`, at most 14 days after it). Required when the
    /// message is created; a coordinator ends a message early by writing the time it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
}

/// A phone's note that it received a message and, later, that its walker read it. One per phone
/// and message, written only by the phone's member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageReceiptFields {
    /// The message. Required when the receipt is created, and never changed after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<EntityId>,
    /// When the phone received it. Required when the receipt is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<Timestamp>,
    /// When the walker marked it read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<Timestamp>,
}
