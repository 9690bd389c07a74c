//! Validation of every field an op writes: ranges, lengths, enums, coordinates and times.
//! Errors name the field and say what is wrong with it.

use crate::model::{
    AttachmentRef, Audience, CommentFields, IncidentFields, Location, MessageFields,
    MessageReceiptFields, ObservationFields, PatrolFields, Severity, TrackSegmentFields,
};
use crate::op::OpBody;
use crate::time::Timestamp;

/// The limits that validation enforces, in one place.
pub mod limits {
    /// Longest free text (descriptions, notes), in characters.
    pub const TEXT: usize = 4000;
    /// Longest comment, in characters.
    pub const COMMENT: usize = 2000;
    /// Longest place text, in characters.
    pub const PLACE: usize = 200;
    /// Longest subcategory, in characters.
    pub const SUBCATEGORY: usize = 60;
    /// Longest police event number, in characters.
    pub const EVENT_NUMBER: usize = 40;
    /// Longest tag, in characters.
    pub const TAG: usize = 40;
    /// Longest reason for keeping an entry past retention, in characters.
    pub const HOLD_REASON: usize = 200;
    /// Most tags on an entry.
    pub const TAGS: usize = 20;
    /// Most photos on an entry.
    pub const ATTACHMENTS: usize = 10;
    /// Largest photo, in bytes.
    pub const ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
    /// Most walkers on a patrol.
    pub const PARTICIPANTS: u16 = 50;
    /// Most people involved in one incident.
    pub const PEOPLE: u16 = 500;
    /// Highest count of youths, adults or conversations on one patrol.
    pub const PATROL_COUNT: u32 = 10_000;
    /// Most points in one track segment.
    pub const TRACK_POINTS: usize = 1000;
    /// Earliest time accepted for anything (2000-01-01T00:00:00Z), in Unix milliseconds.
    pub const EARLIEST_MS: i64 = 946_684_800_000;
    /// How far past the server's clock a time may lie (a phone clock a little ahead), in ms.
    pub const FUTURE_SLACK_MS: i64 = 24 * 60 * 60 * 1000;
    /// Longest message to the walkers, in characters.
    pub const MESSAGE: usize = 280;
    /// Longest group name a message may be sent to, in characters (as a member's group).
    pub const GROUP: usize = 60;
    /// How long a message may be shown at most, in days after it was sent.
    pub const MESSAGE_DAYS: i64 = 14;
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A field every new entity of the kind needs is missing.
    #[error("is required when it is created")]
    Required,
    /// A text is longer than allowed.
    #[error("is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A text or list must not be empty.
    #[error("must not be empty")]
    Empty,
    /// A number lies outside its range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Lowest allowed.
        min: i64,
        /// Highest allowed.
        max: i64,
    },
    /// A list has too many items.
    #[error("has more than {max} items")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// A value does not have the expected form.
    #[error("is not a valid {0}")]
    Malformed(&'static str),
    /// A time lies too far in the future.
    #[error("lies in the future")]
    InFuture,
    /// A time lies before the year 2000.
    #[error("lies before the year 2000")]
    TooEarly,
    /// A value contradicts another field of the same op.
    #[error("must not be {0}")]
    Contradicts(&'static str),
    /// A time lies too long after another.
    #[error("lies more than {days} days after {after}")]
    TooFarAfter {
        /// What it is measured from (`sent_at`, `now`).
        after: &'static str,
        /// How many days it may lie after it.
        days: i64,
    },
    /// A field that is written when the entity is created and never changed.
    #[error("cannot be changed once it is written")]
    Unchangeable,
    /// A text holds the character U+0000, which no text of a field log needs and a database
    /// (PostgreSQL's text and JSON) cannot keep.
    #[error("must not contain the character U+0000")]
    NulCharacter,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` {problem}")]
pub struct FieldError {
    /// The field's wire name (`points[3].lat` for nested values).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

type Check = Result<(), FieldError>;

fn fail(field: impl Into<String>, problem: Problem) -> Check {
    Err(FieldError {
        field: field.into(),
        problem,
    })
}

fn required<T>(field: &str, value: &Option<T>, creating: bool) -> Check {
    if creating && value.is_none() {
        return fail(field, Problem::Required);
    }
    Ok(())
}

fn text(field: &str, value: Option<&str>, max: usize, may_be_empty: bool) -> Check {
    let Some(value) = value else { return Ok(()) };
    if !may_be_empty && value.trim().is_empty() {
        return fail(field, Problem::Empty);
    }
    if value.chars().count() > max {
        return fail(field, Problem::TooLong { max });
    }
    Ok(())
}

fn range(field: &str, value: Option<i64>, min: i64, max: i64) -> Check {
    match value {
        Some(v) if v < min || v > max => fail(field, Problem::OutOfRange { min, max }),
        _ => Ok(()),
    }
}

fn count<T>(field: &str, value: Option<&[T]>, max: usize) -> Check {
    match value {
        Some(items) if items.len() > max => fail(field, Problem::TooMany { max }),
        _ => Ok(()),
    }
}

fn time(field: &str, value: Option<Timestamp>, now: Timestamp) -> Check {
    let Some(value) = value else { return Ok(()) };
    if value.unix_ms() < limits::EARLIEST_MS {
        return fail(field, Problem::TooEarly);
    }
    if value.unix_ms() > now.unix_ms() + limits::FUTURE_SLACK_MS {
        return fail(field, Problem::InFuture);
    }
    Ok(())
}

fn coordinates(field: &str, lat: f64, lon: f64, accuracy: Option<f32>) -> Check {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return fail(
            format!("{field}.lat"),
            Problem::OutOfRange { min: -90, max: 90 },
        );
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return fail(
            format!("{field}.lon"),
            Problem::OutOfRange {
                min: -180,
                max: 180,
            },
        );
    }
    if let Some(acc) = accuracy
        && (!acc.is_finite() || !(0.0..=100_000.0).contains(&acc))
    {
        return fail(
            format!("{field}.accuracy_m"),
            Problem::OutOfRange {
                min: 0,
                max: 100_000,
            },
        );
    }
    Ok(())
}

fn location(field: &str, value: Option<&Location>) -> Check {
    match value {
        Some(l) => coordinates(field, l.lat, l.lon, l.accuracy_m),
        None => Ok(()),
    }
}

fn attachments(value: Option<&[AttachmentRef]>) -> Check {
    let Some(items) = value else { return Ok(()) };
    count("attachments", Some(items), limits::ATTACHMENTS)?;
    for (i, a) in items.iter().enumerate() {
        let well_formed = a.sha256.len() == 64
            && a.sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return fail(
                format!("attachments[{i}].sha256"),
                Problem::Malformed("lowercase hex SHA-256"),
            );
        }
        if a.size == 0 || a.size > limits::ATTACHMENT_BYTES {
            return fail(
                format!("attachments[{i}].size"),
                Problem::OutOfRange {
                    min: 1,
                    max: limits::ATTACHMENT_BYTES as i64,
                },
            );
        }
        if !matches!(
            a.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/webp"
        ) {
            return fail(
                format!("attachments[{i}].type"),
                Problem::Malformed("image type (jpeg, png, webp)"),
            );
        }
    }
    Ok(())
}

fn review(tags: Option<&[String]>, hold: Option<&str>) -> Check {
    count("tags", tags, limits::TAGS)?;
    for tag in tags.unwrap_or_default() {
        text("tags", Some(tag), limits::TAG, false)?;
    }
    text("retention_hold", hold, limits::HOLD_REASON, false)
}

fn order(
    later_field: &str,
    earlier: Option<Timestamp>,
    later: Option<Timestamp>,
    what: &'static str,
) -> Check {
    match (earlier, later) {
        (Some(e), Some(l)) if l < e => fail(later_field, Problem::Contradicts(what)),
        _ => Ok(()),
    }
}

fn patrol(f: &PatrolFields, now: Timestamp, creating: bool) -> Check {
    required("kind", &f.kind, creating)?;
    required("started_at", &f.started_at, creating)?;
    required("participant_count", &f.participant_count, creating)?;
    time("started_at", f.started_at, now)?;
    time("ended_at", f.ended_at.flatten(), now)?;
    order(
        "ended_at",
        f.started_at,
        f.ended_at.flatten(),
        "before started_at",
    )?;
    range(
        "participant_count",
        f.participant_count.map(i64::from),
        1,
        i64::from(limits::PARTICIPANTS),
    )?;
    count(
        "participants",
        f.participants.as_deref(),
        usize::from(limits::PARTICIPANTS),
    )?;
    for (name, value) in [
        ("youths_met", f.youths_met),
        ("adults_met", f.adults_met),
        ("conversations", f.conversations),
    ] {
        range(
            name,
            value.map(i64::from),
            0,
            i64::from(limits::PATROL_COUNT),
        )?;
    }
    text("note", f.note.as_deref(), limits::TEXT, true)
}

fn track_segment(f: &TrackSegmentFields, now: Timestamp, creating: bool) -> Check {
    required("patrol_id", &f.patrol_id, creating)?;
    required("points", &f.points, creating)?;
    if let Some(points) = &f.points {
        if points.is_empty() {
            return fail("points", Problem::Empty);
        }
        count("points", Some(points), limits::TRACK_POINTS)?;
        for (i, p) in points.iter().enumerate() {
            coordinates(&format!("points[{i}]"), p.lat, p.lon, p.accuracy_m)?;
            time(&format!("points[{i}].at"), Some(p.at), now)?;
        }
    }
    Ok(())
}

fn incident(f: &IncidentFields, now: Timestamp, creating: bool) -> Check {
    required("occurred_at", &f.occurred_at, creating)?;
    required("category", &f.category, creating)?;
    required("severity", &f.severity, creating)?;
    time("occurred_at", f.occurred_at, now)?;
    location("location", f.location.flatten().as_ref())?;
    text(
        "place",
        f.place.as_ref().and_then(|p| p.as_deref()),
        limits::PLACE,
        true,
    )?;
    if let Some(category) = &f.category
        && !category.is_well_formed()
    {
        return fail(
            "category",
            Problem::Malformed("category code (a–z, 0–9, _; at most 40)"),
        );
    }
    text(
        "subcategory",
        f.subcategory.as_ref().and_then(|s| s.as_deref()),
        limits::SUBCATEGORY,
        true,
    )?;
    range(
        "severity",
        f.severity.map(|s| i64::from(s.0)),
        i64::from(Severity::MIN),
        i64::from(Severity::MAX),
    )?;
    text("description", f.description.as_deref(), limits::TEXT, true)?;
    range(
        "people_involved",
        f.people_involved.map(i64::from),
        0,
        i64::from(limits::PEOPLE),
    )?;
    range(
        "minors_involved",
        f.minors_involved.map(i64::from),
        0,
        i64::from(limits::PEOPLE),
    )?;
    if let (Some(people), Some(minors)) = (f.people_involved, f.minors_involved)
        && minors > people
    {
        return fail(
            "minors_involved",
            Problem::Contradicts("more than people_involved"),
        );
    }
    time("police_contacted_at", f.police_contacted_at.flatten(), now)?;
    time("police_attended_at", f.police_attended_at.flatten(), now)?;
    text(
        "police_event_number",
        f.police_event_number.as_ref().and_then(|s| s.as_deref()),
        limits::EVENT_NUMBER,
        false,
    )?;
    attachments(f.attachments.as_deref())?;
    review(
        f.tags.as_deref(),
        f.retention_hold.as_ref().and_then(|h| h.as_deref()),
    )
}

fn observation(f: &ObservationFields, now: Timestamp, creating: bool) -> Check {
    required("observed_at", &f.observed_at, creating)?;
    required("category", &f.category, creating)?;
    time("observed_at", f.observed_at, now)?;
    location("location", f.location.flatten().as_ref())?;
    text(
        "place",
        f.place.as_ref().and_then(|p| p.as_deref()),
        limits::PLACE,
        true,
    )?;
    text("description", f.description.as_deref(), limits::TEXT, true)?;
    attachments(f.attachments.as_deref())?;
    review(
        f.tags.as_deref(),
        f.retention_hold.as_ref().and_then(|h| h.as_deref()),
    )
}

fn comment(f: &CommentFields, now: Timestamp, creating: bool) -> Check {
    required("entry", &f.entry, creating)?;
    required("body", &f.body, creating)?;
    if let Some(entry) = &f.entry
        && !entry.kind.is_entry()
    {
        return fail(
            "entry.kind",
            Problem::Malformed("entry kind (patrol, incident, observation)"),
        );
    }
    text("body", f.body.as_deref(), limits::COMMENT, false)?;
    time("written_at", f.written_at, now)
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn unchangeable<T>(field: &str, value: &Option<T>, creating: bool) -> Check {
    if !creating && value.is_some() {
        return fail(field, Problem::Unchangeable);
    }
    Ok(())
}

fn message(f: &MessageFields, now: Timestamp, creating: bool) -> Check {
    required("text", &f.text, creating)?;
    required("audience", &f.audience, creating)?;
    required("sent_at", &f.sent_at, creating)?;
    required("ends_at", &f.ends_at, creating)?;
    unchangeable("audience", &f.audience, creating)?;
    text("text", f.text.as_deref(), limits::MESSAGE, false)?;
    match &f.audience {
        Some(Audience::Org(false)) => {
            return fail(
                "audience.org",
                Problem::Malformed("audience (`true` for the whole organisation)"),
            );
        }
        Some(Audience::Group(group)) => text("audience.group", Some(group), limits::GROUP, false)?,
        Some(Audience::Org(true) | Audience::Area(_)) | None => {}
    }
    time("sent_at", f.sent_at, now)?;
    if let Some(ends) = f.ends_at {
        if ends.unix_ms() < limits::EARLIEST_MS {
            return fail("ends_at", Problem::TooEarly);
        }
        let days = limits::MESSAGE_DAYS;
        if let Some(sent) = f.sent_at {
            if ends <= sent {
                return fail("ends_at", Problem::Contradicts("at or before sent_at"));
            }
            if ends.unix_ms() - sent.unix_ms() > days * DAY_MS {
                return fail(
                    "ends_at",
                    Problem::TooFarAfter {
                        after: "sent_at",
                        days,
                    },
                );
            }
        }
        if ends.unix_ms() > now.unix_ms() + days * DAY_MS + limits::FUTURE_SLACK_MS {
            return fail("ends_at", Problem::TooFarAfter { after: "now", days });
        }
    }
    Ok(())
}

fn message_receipt(f: &MessageReceiptFields, now: Timestamp, creating: bool) -> Check {
    required("message_id", &f.message_id, creating)?;
    required("received_at", &f.received_at, creating)?;
    unchangeable("message_id", &f.message_id, creating)?;
    time("received_at", f.received_at, now)?;
    time("read_at", f.read_at, now)
}

/// Checks every field an op writes. `creating` says whether the op creates the entity (then the
/// kind's required fields must be present); `now` is the checking side's clock.
pub fn validate(body: &OpBody, now: Timestamp, creating: bool) -> Result<(), FieldError> {
    match body {
        OpBody::Patrol(f) => patrol(f, now, creating),
        OpBody::TrackSegment(f) => track_segment(f, now, creating),
        OpBody::Incident(f) => incident(f, now, creating),
        OpBody::Observation(f) => observation(f, now, creating),
        OpBody::Comment(f) => comment(f, now, creating),
        OpBody::Message(f) => message(f, now, creating),
        OpBody::MessageReceipt(f) => message_receipt(f, now, creating),
    }?;
    // Every text the op carries, however deep (a tag, a place, a comment). JSON writes U+0000
    // as `\u0000`: only when its text holds that (rare: a text with a backslash before `u0000`
    // holds it too) is the op walked to find the field.
    match serde_json::to_string(body) {
        Ok(text) if !text.contains("\\u0000") => Ok(()),
        _ => match serde_json::to_value(body) {
            Ok(value) => no_nul("", value.get("fields").unwrap_or(&value)),
            Err(_) => fail("fields", Problem::Malformed("op")),
        },
    }
}

/// Fails on the first string under `value` (at `path`) that holds U+0000.
fn no_nul(path: &str, value: &serde_json::Value) -> Check {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => fail(path, Problem::NulCharacter),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| no_nul(&format!("{path}[{i}]"), item)),
        Value::Object(fields) => fields.iter().try_for_each(|(name, item)| {
            let path = match path {
                "" => name.clone(),
                _ => format!("{path}.{name}"),
            };
            no_nul(&path, item)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CategoryCode;
    use rstest::rstest;
    use serde_json::json;

    fn now() -> Timestamp {
        Timestamp::from_unix_ms(1_796_000_000_000).expect("in range")
    }

    fn incident_with(extra: serde_json::Value) -> OpBody {
        let mut base = json!({
            "occurred_at": "2026-11-20T21:30:00Z",
            "category": "disturbance",
            "severity": 2,
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        OpBody::Incident(serde_json::from_value(base).expect("incident fields"))
    }

    #[test]
    fn a_complete_incident_is_valid() {
        let body = incident_with(json!({
            "location": {"lat": 59.33, "lon": 18.06, "accuracy_m": 12.0},
            "description": "Grupp ungdomar vid busshållplatsen, lugnt efter samtal.",
            "people_involved": 6, "minors_involved": 4,
            "police_line": "11414", "police_event_number": "5000-K123456-26",
        }));
        assert_eq!(validate(&body, now(), true), Ok(()));
    }

    #[rstest]
    #[case::severity_too_high(json!({"severity": 5}), "severity", Problem::OutOfRange { min: 1, max: 4 })]
    #[case::severity_zero(json!({"severity": 0}), "severity", Problem::OutOfRange { min: 1, max: 4 })]
    #[case::latitude(json!({"location": {"lat": 91.0, "lon": 18.0}}), "location.lat", Problem::OutOfRange { min: -90, max: 90 })]
    #[case::longitude(json!({"location": {"lat": 59.0, "lon": -181.0}}), "location.lon", Problem::OutOfRange { min: -180, max: 180 })]
    #[case::long_place(json!({"place": "x".repeat(201)}), "place", Problem::TooLong { max: 200 })]
    #[case::long_description(json!({"description": "å".repeat(4001)}), "description", Problem::TooLong { max: 4000 })]
    #[case::minors_above_people(json!({"people_involved": 2, "minors_involved": 3}), "minors_involved", Problem::Contradicts("more than people_involved"))]
    #[case::future(json!({"occurred_at": "2027-12-01T00:00:00Z"}), "occurred_at", Problem::InFuture)]
    #[case::ancient(json!({"occurred_at": "1999-12-31T23:59:59Z"}), "occurred_at", Problem::TooEarly)]
    #[case::bad_category(json!({"category": "Våld"}), "category", Problem::Malformed("category code (a–z, 0–9, _; at most 40)"))]
    #[case::bad_hash(json!({"attachments": [{"sha256": "abc", "size": 10, "type": "image/jpeg"}]}), "attachments[0].sha256", Problem::Malformed("lowercase hex SHA-256"))]
    #[case::too_many_tags(json!({"tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}), "tags", Problem::TooMany { max: 20 })]
    #[case::empty_event_number(json!({"police_event_number": " "}), "police_event_number", Problem::Empty)]
    fn bad_incident_fields_are_named(
        #[case] extra: serde_json::Value,
        #[case] field: &str,
        #[case] problem: Problem,
    ) {
        let err = validate(&incident_with(extra), now(), true).expect_err("must be refused");
        assert_eq!(
            err,
            FieldError {
                field: field.to_owned(),
                problem
            }
        );
    }

    #[test]
    fn a_new_incident_needs_its_required_fields_but_an_edit_does_not() {
        let edit = OpBody::Incident(IncidentFields {
            severity: Some(Severity(3)),
            ..Default::default()
        });
        assert_eq!(validate(&edit, now(), false), Ok(()));
        let err = validate(&edit, now(), true).expect_err("create without required fields");
        assert_eq!(err.field, "occurred_at");
        assert_eq!(err.problem, Problem::Required);
        assert_eq!(
            err.to_string(),
            "field `occurred_at` is required when it is created"
        );
    }

    #[test]
    fn a_patrol_cannot_end_before_it_started() {
        let body: PatrolFields = serde_json::from_value(json!({
            "kind": "night_walk", "started_at": "2026-11-20T21:00:00Z",
            "ended_at": "2026-11-20T20:00:00Z", "participant_count": 3,
        }))
        .expect("patrol fields");
        let err = validate(&OpBody::Patrol(body), now(), true).expect_err("must be refused");
        assert_eq!(err.field, "ended_at");
    }

    #[test]
    fn a_text_holding_u0000_is_refused_wherever_it_is() {
        let with_nul = incident_with(json!({"description": "Glas\u{0}krossat"}));
        let err = validate(&with_nul, now(), true).expect_err("must be refused");
        assert_eq!(
            (err.field.as_str(), err.problem),
            ("description", Problem::NulCharacter)
        );
        let tagged = incident_with(json!({"tags": ["ok", "x\u{0}"]}));
        let err = validate(&tagged, now(), true).expect_err("must be refused");
        assert_eq!(err.field, "tags[1]");
        let written_out = incident_with(json!({"description": "a backslash: \\u0000"}));
        assert!(
            validate(&written_out, now(), true).is_ok(),
            "the six characters are text"
        );
    }

    #[test]
    fn an_empty_comment_is_refused() {
        let body: CommentFields = serde_json::from_value(json!({
            "entry": {"kind": "incident", "id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"}, "body": "  ",
        }))
        .expect("comment fields");
        let err = validate(&OpBody::Comment(body), now(), true).expect_err("must be refused");
        assert_eq!((err.field.as_str(), err.problem), ("body", Problem::Empty));
    }

    #[test]
    fn category_codes_of_the_organisation_are_accepted() {
        let body = incident_with(json!({"category": "fireworks_2"}));
        assert_eq!(validate(&body, now(), true), Ok(()));
        assert!(
            CategoryCode::from("fireworks_2")
                .default_category()
                .is_none()
        );
    }

    fn message_with(extra: serde_json::Value) -> OpBody {
        let mut base = json!({
            "text": "Polisinsats vid stationen ikväll – undvik gångtunneln",
            "audience": {"area": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"},
            "sent_at": "2026-11-30T18:00:00Z",
            "ends_at": "2026-12-01T02:00:00Z",
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        OpBody::Message(serde_json::from_value(base).expect("message fields"))
    }

    #[rstest]
    #[case::to_an_area(json!({}), true, Ok(()))]
    #[case::to_everyone(json!({"audience": {"org": true}}), true, Ok(()))]
    #[case::to_a_group(json!({"audience": {"group": "Nattvandrarna"}}), true, Ok(()))]
    #[case::longest_text(json!({"text": "å".repeat(280)}), true, Ok(()))]
    #[case::text_too_long(json!({"text": "å".repeat(281)}), true, Err(("text", Problem::TooLong { max: 280 })))]
    #[case::blank_text(json!({"text": "  "}), true, Err(("text", Problem::Empty)))]
    #[case::org_false(json!({"audience": {"org": false}}), true, Err(("audience.org", Problem::Malformed("audience (`true` for the whole organisation)"))))]
    #[case::blank_group(json!({"audience": {"group": ""}}), true, Err(("audience.group", Problem::Empty)))]
    #[case::long_group(json!({"audience": {"group": "g".repeat(61)}}), true, Err(("audience.group", Problem::TooLong { max: 60 })))]
    #[case::ends_before_sent(json!({"ends_at": "2026-11-30T17:00:00Z"}), true, Err(("ends_at", Problem::Contradicts("at or before sent_at"))))]
    #[case::ends_when_sent(json!({"ends_at": "2026-11-30T18:00:00Z"}), true, Err(("ends_at", Problem::Contradicts("at or before sent_at"))))]
    #[case::fourteen_days(json!({"ends_at": "2026-12-14T18:00:00Z"}), true, Ok(()))]
    #[case::fifteen_days(json!({"ends_at": "2026-12-15T18:00:00Z"}), true, Err(("ends_at", Problem::TooFarAfter { after: "sent_at", days: 14 })))]
    #[case::sent_in_future(json!({"sent_at": "2026-12-02T18:00:00Z", "ends_at": "2026-12-03T18:00:00Z"}), true, Err(("sent_at", Problem::InFuture)))]
    #[case::nul(json!({"text": "undvik\u{0}tunneln"}), true, Err(("text", Problem::NulCharacter)))]
    #[case::nul_in_group(json!({"audience": {"group": "a\u{0}"}}), true, Err(("audience.group", Problem::NulCharacter)))]
    fn messages_are_checked(
        #[case] extra: serde_json::Value,
        #[case] creating: bool,
        #[case] expected: Result<(), (&str, Problem)>,
    ) {
        let got = validate(&message_with(extra), now(), creating);
        let expected = expected.map_err(|(field, problem)| FieldError {
            field: field.to_owned(),
            problem,
        });
        assert_eq!(got, expected);
    }

    #[rstest]
    #[case::ended_early(json!({"ends_at": "2026-11-30T20:00:00Z"}), Ok(()))]
    #[case::far_ahead(json!({"ends_at": "2026-12-16T18:00:00Z"}), Err(("ends_at", Problem::TooFarAfter { after: "now", days: 14 })))]
    #[case::audience_changed(json!({"audience": {"org": true}}), Err(("audience", Problem::Unchangeable)))]
    #[case::text_corrected(json!({"text": "Undvik gångtunneln"}), Ok(()))]
    fn a_message_edit_may_end_it_but_not_move_it(
        #[case] fields: serde_json::Value,
        #[case] expected: Result<(), (&str, Problem)>,
    ) {
        let body = OpBody::Message(serde_json::from_value(fields).expect("message fields"));
        let expected = expected.map_err(|(field, problem)| FieldError {
            field: field.to_owned(),
            problem,
        });
        assert_eq!(validate(&body, now(), false), expected);
    }

    #[rstest]
    #[case::received(json!({"message_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f", "received_at": "2026-11-30T18:05:00Z"}), true, Ok(()))]
    #[case::without_message(json!({"received_at": "2026-11-30T18:05:00Z"}), true, Err(("message_id", Problem::Required)))]
    #[case::without_time(json!({"message_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"}), true, Err(("received_at", Problem::Required)))]
    #[case::read(json!({"read_at": "2026-11-30T18:07:00Z"}), false, Ok(()))]
    #[case::read_in_future(json!({"read_at": "2027-11-30T18:07:00Z"}), false, Err(("read_at", Problem::InFuture)))]
    #[case::moved(json!({"message_id": "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"}), false, Err(("message_id", Problem::Unchangeable)))]
    fn receipts_are_checked(
        #[case] fields: serde_json::Value,
        #[case] creating: bool,
        #[case] expected: Result<(), (&str, Problem)>,
    ) {
        let body = OpBody::MessageReceipt(serde_json::from_value(fields).expect("receipt fields"));
        let expected = expected.map_err(|(field, problem)| FieldError {
            field: field.to_owned(),
            problem,
        });
        assert_eq!(validate(&body, now(), creating), expected);
    }
}
