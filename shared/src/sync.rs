//! The wire types of the sync protocol (`docs/protocol.md` shows each as JSON) and the stable
//! error codes of the API.

use crate::ids::{AreaId, DeviceId, EntityId, MemberId, OpId, OrgId};
use crate::model::Role;
use crate::op::Op;
use serde::{Deserialize, Serialize};

/// The bounds every side of the protocol keeps to.
pub mod limits {
    /// Most ops in one push.
    pub const MAX_PUSH_OPS: usize = 500;
    /// Most ops in one pull page.
    pub const MAX_PULL_PAGE: u32 = 1000;
    /// Pull page size when the device names none.
    pub const DEFAULT_PULL_PAGE: u32 = 500;
    /// Largest request body after decompression, in bytes.
    pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
    /// How far an op's clock may run ahead of the server's, in milliseconds.
    pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;
    /// Longest device name, in characters, after trimming.
    pub const MAX_DEVICE_NAME_CHARS: usize = 80;
}

/// `POST /api/v1/enroll`: a one-time code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct EnrollRequest {
    /// The one-time code a coordinator gave (case and dashes do not matter).
    pub code: String,
    /// A name for the device, e.g. "Annas telefon": 1 to 80 characters once trimmed (the
    /// schema asks for no white space at either end, so trimming changes nothing).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 80, pattern = r"^\S(.*\S)?$")
    )]
    pub device_name: String,
}

impl EnrollRequest {
    /// The device name as the server stores it: trimmed, then 1 to
    /// [`limits::MAX_DEVICE_NAME_CHARS`] characters.
    pub fn trimmed_device_name(&self) -> Result<&str, DeviceNameError> {
        let name = self.device_name.trim();
        if name.is_empty() || name.chars().count() > limits::MAX_DEVICE_NAME_CHARS {
            return Err(DeviceNameError);
        }
        Ok(name)
    }
}

/// An enrolment's `device_name` is empty after trimming, or too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "device_name must be 1 to {} characters",
    limits::MAX_DEVICE_NAME_CHARS
)]
pub struct DeviceNameError;

crate::object::objects_only!(ser_de: EnrollRequest, SyncRequest, PullRequest);

/// The answer to an enrolment: who the device belongs to and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    /// The device's id; its ops carry it.
    pub device_id: DeviceId,
    /// The bearer token. Shown once; the server keeps only its hash.
    pub token: String,
    /// The organisation.
    pub org_id: OrgId,
    /// The organisation's name.
    pub org_name: String,
    /// The member the device belongs to.
    pub member_id: MemberId,
    /// The member's display name.
    pub member_name: String,
    /// The member's role.
    pub role: Role,
    /// The server's clock, Unix milliseconds.
    pub server_time_ms: i64,
}

/// `GET /api/v1/areas`: the organisation's named areas, so walkers can pick the one they are in
/// and the phone can tell it from a position fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreasResponse {
    /// The areas, by name.
    pub areas: Vec<AreaInfo>,
}

/// One named area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaInfo {
    /// Its id; entries name it in `area_id`.
    pub id: AreaId,
    /// Its name, e.g. "Centrum".
    pub name: String,
    /// Its outlines: outer rings of `[longitude, latitude]` points, as in GeoJSON (a multipolygon
    /// has several).
    pub rings: Vec<Vec<[f64; 2]>>,
}

/// `POST /api/v1/sync`: push ops and pull others in one round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct SyncRequest {
    /// The device's ops, in `device_seq` order, starting at the first one not yet acknowledged
    /// (at most [`limits::MAX_PUSH_OPS`]).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub push: Vec<Op>,
    /// What to pull; absent to push only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullRequest>,
}

/// Which ops to pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct PullRequest {
    /// The highest server sequence the device has applied (0 at first).
    #[serde(deserialize_with = "crate::int::read")]
    #[cfg_attr(feature = "openapi", schema(maximum = 9007199254740991.0))]
    pub cursor: u64,
    /// Page size (1 to [`limits::MAX_PULL_PAGE`]; default [`limits::DEFAULT_PULL_PAGE`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::int::read_option"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub limit: Option<u32>,
}

/// The answer to a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// The server's clock, Unix milliseconds, for the device's clock offset.
    pub server_time_ms: i64,
    /// What became of the pushed ops.
    pub push: PushResult,
    /// The pulled page, if a pull was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullPage>,
    /// The organisation's retention period in days: a device removes by itself the entries whose
    /// time is older than this (never one it has ops of that are not acknowledged yet, and never
    /// a held one), so a phone that stays offline past the period forgets as the server does.
    #[cfg_attr(feature = "openapi", schema(minimum = 30, maximum = 1826))]
    pub retention_days: u32,
    /// Set when a coordinator retired this device: it hands over what it has not sent, then
    /// wipes its store and says so with `POST /api/v1/device/retired`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retire: bool,
}

/// What became of the pushed ops. Everything up to `acked_through` is stored durably (accepted or
/// recorded as rejected) and leaves the device's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    /// The highest `device_seq` of this device the server holds.
    pub acked_through: u64,
    /// Ops that were recorded but refused, with the reason.
    pub rejected: Vec<RejectedOp>,
    /// Set when the server stopped before the end of the batch; the device resumes at `at_seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<PushStop>,
}

/// An op the server recorded but did not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedOp {
    /// Its number on the device.
    pub device_seq: u64,
    /// Its id.
    pub op_id: OpId,
    /// Why, as a stable code.
    pub code: RejectCode,
    /// Why, in words.
    pub message: String,
    /// The field at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why an op was refused for good. The op is kept on both sides and shown with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A field's value is not allowed (see `field`).
    InvalidField,
    /// Only coordinators and admins write review fields.
    ReviewFieldForbidden,
    /// Volunteers change only their own entries.
    NotAuthor,
    /// Comments and track segments cannot be changed.
    CreateOnce,
    /// The id belongs to another kind of entity.
    KindMismatch,
    /// The entry referred to does not exist in the organisation.
    UnknownEntry,
    /// The op names another device than the one whose token sent it.
    DeviceMismatch,
    /// The entry was removed by retention before the op arrived; the op is recorded without
    /// its fields.
    Purged,
}

/// Why the server stopped before the end of a push. Nothing from `at_seq` on was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushStop {
    /// The `device_seq` to resume from.
    pub at_seq: u64,
    /// Why.
    pub code: StopCode,
    /// Why, in words.
    pub message: String,
}

/// Reasons to stop a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopCode {
    /// Ops are missing before this one; send from `at_seq`.
    Gap,
    /// The op's clock is too far ahead of `server_time_ms`; correct the clock, re-stamp the ops
    /// from `at_seq` on and send them again.
    ClockAhead,
    /// A different op was already stored under this number; the device's log is damaged.
    OpMismatch,
}

/// A page of ops, in server sequence order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    /// The ops.
    pub ops: Vec<ServerOp>,
    /// The cursor to store once these ops are applied (the last op's `seq`, or the request's
    /// cursor when the page is empty).
    pub cursor: u64,
    /// Whether more ops wait beyond this page.
    pub more: bool,
    /// Removals (retention purges and redactions) in the same sequence as `ops`: a device
    /// applies ops and removals together in `seq` order. Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removals: Vec<Removal>,
}

/// A removal the server made, handed out in the pull stream like an op: every replica that
/// applies it forgets the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removal {
    /// Its server sequence, shared with the ops.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 9007199254740991.0))]
    pub seq: u64,
    /// What is removed.
    #[serde(flatten)]
    pub what: RemovalKind,
}

/// What a removal removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RemovalKind {
    /// Retention: every trace of these entries goes (the entity, all its ops, its comments, the
    /// track segments of a patrol, the photos only they refer to). A device keeps an entry it
    /// has ops of that are not acknowledged yet.
    Purge {
        /// The patrols, incidents and observations removed (at most 500 in one removal).
        #[cfg_attr(feature = "openapi", schema(max_items = 500))]
        entries: Vec<EntityId>,
    },
    /// Redaction: every write of `field` of `entity_id` stamped at or below `through` now holds
    /// `value` (in the op log, the entity's state and any conflict record), so the text it
    /// replaced is gone everywhere, not merely outvoted.
    Redaction {
        /// The entity (an entry or a comment).
        entity_id: EntityId,
        /// The text field, e.g. `description`.
        field: String,
        /// The newest write of the field the redaction covers.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        through: crate::hlc::Hlc,
        /// The text that replaces every covered write.
        value: serde_json::Value,
    },
}

/// An accepted op as the server hands it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerOp {
    /// The server sequence (commit order).
    pub seq: u64,
    /// The member whose device made it.
    pub author: MemberId,
    /// The op as the device sent it.
    #[serde(flatten)]
    pub op: Op,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ServerOp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{KnownFormat, Ref, SchemaFormat};
        crate::op::op_schema(
            "An accepted op as the server hands it out: the op as the device sent it, its server \
             sequence (`seq`, commit order) and the member whose device made it (`author`).",
            &[
                (
                    "seq",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1))
                        .into(),
                ),
                ("author", Ref::from_schema_name("MemberId").into()),
            ],
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ServerOp {}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable, machine-readable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

/// Stable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON.
    MalformedJson,
    /// The JSON does not have the expected shape (unknown kind or field, wrong type).
    InvalidBody,
    /// The body is not JSON (wrong `Content-Type`) or uses an unknown encoding.
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// More ops in one push than allowed.
    TooManyOps,
    /// A query parameter or value is out of bounds.
    InvalidRequest,
    /// No token, or a token the server does not know.
    Unauthorized,
    /// The device's token was revoked.
    TokenRevoked,
    /// A coordinator marked the device lost: it must wipe its store and photos now.
    DeviceLost,
    /// The enrolment code is unknown, used or expired.
    InvalidEnrollmentCode,
    /// The caller may not do this.
    Forbidden,
    /// No such thing (in the caller's organisation).
    NotFound,
    /// The server's disk is full; nothing was stored.
    StorageFull,
    /// The server is shutting down or overloaded; try again later.
    Unavailable,
    /// The request's body did not arrive within the server's body read timeout.
    RequestTimeout,
    /// Something failed on the server; nothing was stored.
    Internal,
    /// A blob chunk did not start where the stored part ends; resume at the server's offset.
    BlobOffsetMismatch,
    /// A blob's bytes did not hash to the SHA-256 it was sent under; it was discarded.
    BlobHashMismatch,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyOps => "too_many_ops",
            Self::InvalidRequest => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::TokenRevoked => "token_revoked",
            Self::DeviceLost => "device_lost",
            Self::InvalidEnrollmentCode => "invalid_enrollment_code",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::StorageFull => "storage_full",
            Self::Unavailable => "unavailable",
            Self::RequestTimeout => "request_timeout",
            Self::Internal => "internal",
            Self::BlobOffsetMismatch => "blob_offset_mismatch",
            Self::BlobHashMismatch => "blob_hash_mismatch",
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` when the store answers.
    pub status: String,
    /// The highest server sequence.
    pub last_seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_op_reads_from_its_documented_json() {
        let request: SyncRequest = serde_json::from_value(json!({
            "push": [{
                "op_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01",
                "device_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
                "device_seq": 1,
                "hlc": "1763762045120-0000-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
                "base_seq": 0,
                "entity_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e02",
                "entity": "incident",
                "fields": {"occurred_at": "2025-11-21T21:54:05Z", "category": "alcohol", "severity": 2, "place": null}
            }],
            "pull": {"cursor": 0}
        }))
        .expect("documented shape parses");
        let op = &request.push[0];
        assert_eq!(op.kind(), crate::op::EntityKind::Incident);
        let fields = op.body.field_map();
        assert_eq!(
            fields["place"],
            serde_json::Value::Null,
            "null clears a field"
        );
        assert_eq!(fields.len(), 4);
        // And back: the same JSON.
        let again: SyncRequest =
            serde_json::from_str(&serde_json::to_string(&request).expect("serialises"))
                .expect("parses");
        assert_eq!(again, request);
    }

    #[test]
    fn a_device_name_is_trimmed_and_then_1_to_80_characters() {
        let request = |name: &str| EnrollRequest {
            code: "K7QM-2XNP-84RT".into(),
            device_name: name.into(),
        };
        assert_eq!(
            request("  Annas telefon \n").trimmed_device_name(),
            Ok("Annas telefon")
        );
        assert_eq!(
            request(&"ö".repeat(80)).trimmed_device_name().map(str::len),
            Ok(160)
        );
        for bad in [String::new(), " \t ".into(), "ö".repeat(81)] {
            let refused = request(&bad).trimmed_device_name().expect_err("refused");
            assert_eq!(
                refused.to_string(),
                "device_name must be 1 to 80 characters"
            );
        }
    }

    /// Bodies the sync request fuzz target panicked on (docs/FUZZING.md), byte for byte.
    const FUZZ_FINDINGS: [&str; 2] = [
        r#"{"push":[{"op_id":"01a1fac0-8760-75e5-9df6-f817b0992bcf","device_id":"01a1d5de-d140-7225-aca4-a1a9f5b19f71","device_seq":1,"hlc":"1795208284512-0000-01a1d5de-d140-7225-aca4-a1a9f5b19f71","base_seq":0,"entity_id":"01a1fac0-8760-7a86-953a-5154281fa6f5","entity":"incident","fields":{"occurred_at":"9999-12-31T23:59:59-01:00","category":"alcohol","severity":2}}]}"#,
        r#"{"push":[{"op_id":"01a1fac0-8760-75e5-9df6-f817b0992bcf","device_id":"01a1d5de-d140-7225-aca4-a1a9f5b19f71","device_seq":1,"hlc":"1795208284512-0000-01a1d5de-d140-7225-aca4-a1a9f5b19f71","base_seq":0,"entity_id":"01a1fac0-8760-7a86-953a-5154281fa6f5","entity":"incident","fields":{"occurred_at":"0000-01-01T00:00:00+01:00","category":"alcohol","severity":2}}]}"#,
    ];

    #[test]
    fn sync_bodies_found_by_fuzzing_are_refused_cleanly() {
        for body in FUZZ_FINDINGS {
            let err = serde_json::from_slice::<SyncRequest>(body.as_bytes())
                .expect_err("a time out of RFC 3339's range is a bad body");
            assert!(err.is_data(), "{err}");
            assert!(err.to_string().contains("0000 to 9999"), "{err}");
        }
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused_by_the_parser() {
        let op = |entity: &str, fields: serde_json::Value| {
            json!({"push": [{
                "op_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01",
                "device_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
                "device_seq": 1,
                "hlc": "1763762045120-0000-019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f",
                "base_seq": 0,
                "entity_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e02",
                "entity": entity, "fields": fields}]})
        };
        let unknown_kind = serde_json::from_value::<SyncRequest>(op("weather", json!({})));
        assert!(unknown_kind.is_err());
        let unknown_field =
            serde_json::from_value::<SyncRequest>(op("incident", json!({"name": "x"})));
        let message = unknown_field.expect_err("unknown field").to_string();
        assert!(message.contains("unknown field `name`"), "{message}");
    }
}
