//! The fields of an op in words, for the entry's history and conflicts: each field by its label,
//! each value as a coordinator reads it — area and member names, categories and kinds by their
//! labels, Swedish local time, a place instead of coordinates — never an id or JSON.

use super::{category_label, fmt_time, i18n};
use crate::store::reports::AreaShape;
use maud::{Markup, html};
use serde_json::Value;
use vaka_shared::model::{Agency, Lang, PatrolKind, ReviewStatus, Severity};

/// The names the values of an entry's fields refer to.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The organisation's areas (also those no longer offered for new entries).
    pub areas: &'a [AreaShape],
    /// (id, name, role) of the organisation's members.
    pub members: &'a [(String, String, String)],
}

/// The fields in the order a coordinator reads them: what and when, where, what happened, the
/// police, then the review. Fields not named here come last.
const FIELD_ORDER: [&str; 39] = [
    "kind",
    "category",
    "subcategory",
    "severity",
    "occurred_at",
    "observed_at",
    "started_at",
    "ended_at",
    "area_id",
    "location",
    "place",
    "description",
    "note",
    "body",
    "written_at",
    "entry",
    "people_involved",
    "minors_involved",
    "participant_count",
    "participants",
    "youths_met",
    "adults_met",
    "conversations",
    "all_home_safe",
    "police_line",
    "police_contacted_at",
    "police_attended_at",
    "police_event_number",
    "agencies_informed",
    "patrol_id",
    "attachments",
    "points",
    "retracted",
    "review_status",
    "assignee",
    "tags",
    "forwarded_to",
    "duplicate_of",
    "retention_hold",
];

/// Where field `field` comes in [`FIELD_ORDER`].
pub fn field_rank(field: &str) -> usize {
    FIELD_ORDER
        .iter()
        .position(|f| *f == field)
        .unwrap_or(FIELD_ORDER.len())
}

/// The label of field `field` of an entry of `kind`.
pub fn field_label(lang: Lang, kind: &str, field: &str) -> &'static str {
    let t = i18n::texts(lang);
    match field {
        "occurred_at" => t.occurred,
        "observed_at" => t.f_observed,
        "started_at" => t.f_started,
        "ended_at" => t.ended,
        "location" => t.f_location,
        "place" => t.place,
        "area_id" => t.area,
        "category" => t.category,
        "kind" if kind == "patrol" => t.f_patrol_kind,
        "subcategory" => t.subcategory,
        "severity" => t.severity,
        "description" => t.description,
        "people_involved" => t.f_people,
        "minors_involved" => t.f_minors,
        "police_line" => t.police_line,
        "police_contacted_at" => t.police_contacted,
        "police_attended_at" => t.police_attended,
        "police_event_number" => t.police_event,
        "agencies_informed" => t.f_agencies,
        "patrol_id" => t.f_patrol,
        "attachments" => t.photos,
        "retracted" => t.retracted,
        "review_status" => t.status,
        "duplicate_of" => t.f_duplicate,
        "assignee" => t.assignee,
        "tags" => t.f_tags,
        "forwarded_to" => t.forwarded_to,
        "retention_hold" => t.hold,
        "participant_count" => t.participants,
        "participants" => t.f_participants,
        "youths_met" => t.f_youths,
        "adults_met" => t.f_adults,
        "conversations" => t.f_conversations,
        "note" => t.note,
        "all_home_safe" => t.f_all_home_safe,
        "body" => t.comment,
        "written_at" => t.f_written,
        "entry" => t.f_about,
        "points" => t.f_track,
        _ => t.f_other,
    }
}

/// Unix ms of an RFC 3339 text.
fn rfc3339_ms(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Whether (lon, lat) lies inside `ring` of (lon, lat) (even-odd rule).
fn inside(ring: &[(f64, f64)], lon: f64, lat: f64) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for i in 0..ring.len() {
        let ((xi, yi), (xj, yj)) = (ring[i], ring[j]);
        if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// A location as a place: the area it lies in, or rounded coordinates, with its accuracy.
pub fn place_of(lang: Lang, names: Names<'_>, location: &Value) -> String {
    let t = i18n::texts(lang);
    let (Some(lat), Some(lon)) = (
        location.get("lat").and_then(Value::as_f64),
        location.get("lon").and_then(Value::as_f64),
    ) else {
        return "–".to_owned();
    };
    let area = names
        .areas
        .iter()
        .find(|a| a.rings.iter().any(|r| inside(r, lon, lat)));
    let mut text = match area {
        Some(a) => format!("{} {}", t.f_in_area, a.name),
        None => {
            format!("{lat:.4} N, {lon:.4} E").replace('.', if lang == Lang::Sv { "," } else { "." })
        }
    };
    if let Some(m) = location.get("accuracy_m").and_then(Value::as_f64) {
        text.push_str(&format!(" (±{} m)", m.round() as i64));
    }
    text
}

/// The name of a member id, or words saying it is not known.
fn member_name(lang: Lang, names: Names<'_>, id: &str) -> String {
    names
        .members
        .iter()
        .find(|(m, _, _)| m == id)
        .map(|(_, name, _)| name.clone())
        .unwrap_or_else(|| i18n::texts(lang).f_unknown_member.to_owned())
}

/// The labels of a list of agencies.
fn agencies(lang: Lang, value: &Value) -> String {
    let list: Vec<&str> = value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|w| Agency::from_wire(w).map(|a| a.label(lang)).unwrap_or(w))
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "–".to_owned()
    } else {
        list.join(", ")
    }
}

/// The value `value` of field `field` of an entry of `kind`, in words, texts cut at `max`
/// characters.
pub fn value_words(
    lang: Lang,
    names: Names<'_>,
    kind: &str,
    field: &str,
    value: &Value,
    max: usize,
) -> Markup {
    let t = i18n::texts(lang);
    if value.is_null() {
        return html! { "–" };
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let words: String = match field {
        "occurred_at"
        | "observed_at"
        | "started_at"
        | "ended_at"
        | "police_contacted_at"
        | "police_attended_at"
        | "written_at" => value
            .as_str()
            .and_then(rfc3339_ms)
            .map(fmt_time)
            .unwrap_or_else(|| "–".to_owned()),
        "location" => place_of(lang, names, value),
        "area_id" => {
            let id = text(value);
            names
                .areas
                .iter()
                .find(|a| a.id.to_string() == id)
                .map(|a| a.name.clone())
                .unwrap_or_else(|| t.f_unknown_area.to_owned())
        }
        "category" => category_label(kind, &text(value), lang),
        "kind" if kind == "patrol" => PatrolKind::from_wire(&text(value))
            .map(|k| k.label(lang).to_owned())
            .unwrap_or_else(|| text(value)),
        "severity" => match value.as_u64() {
            Some(s) => format!("{s} · {}", Severity(s.min(255) as u8).label(lang)),
            None => "–".to_owned(),
        },
        "review_status" => ReviewStatus::from_wire(&text(value))
            .map(|s| s.label(lang).to_owned())
            .unwrap_or_else(|| text(value)),
        "forwarded_to" | "agencies_informed" => agencies(lang, value),
        "police_line" => match value.as_str() {
            Some("112") => "112".to_owned(),
            Some(_) => "114 14".to_owned(),
            None => "–".to_owned(),
        },
        "assignee" => member_name(lang, names, &text(value)),
        "participants" => {
            let list: Vec<String> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|id| member_name(lang, names, id))
                        .collect()
                })
                .unwrap_or_default();
            if list.is_empty() {
                "–".to_owned()
            } else {
                list.join(", ")
            }
        }
        "duplicate_of" | "patrol_id" => {
            let (id, words) = match field {
                "patrol_id" => (text(value), t.f_that_patrol),
                _ => (text(value), t.f_that_entry),
            };
            return html! { a href={ "/entries/" (id) } { (words) } };
        }
        "entry" => {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            return html! { a href={ "/entries/" (id) } { (t.f_that_entry) } };
        }
        "attachments" => {
            let n = value.as_array().map_or(0, Vec::len);
            if n == 1 {
                t.f_one_photo.to_owned()
            } else {
                t.f_photos_n.replacen("{}", &n.to_string(), 1)
            }
        }
        "points" => {
            let n = value.as_array().map_or(0, Vec::len);
            t.f_points_n.replacen("{}", &n.to_string(), 1)
        }
        "tags" => value
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "–".to_owned()),
        _ => match value {
            Value::String(s) => s.clone(),
            Value::Bool(true) => t.yes.to_owned(),
            Value::Bool(false) => t.no.to_owned(),
            Value::Number(n) => n.to_string(),
            _ => t.f_changed.to_owned(),
        },
    };
    html! { (super::inbox::short(&words, max)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> (Vec<AreaShape>, Vec<(String, String, String)>) {
        let area = AreaShape {
            id: "0190aaaa-0000-7000-8000-000000000001"
                .parse()
                .expect("an id"),
            name: "Stortorget".into(),
            rings: vec![vec![
                (16.5, 59.6),
                (16.6, 59.6),
                (16.6, 59.7),
                (16.5, 59.7),
                (16.5, 59.6),
            ]],
        };
        let member = (
            "0190bbbb-0000-7000-8000-000000000002".to_owned(),
            "Anna Samordnare".to_owned(),
            "coordinator".to_owned(),
        );
        (vec![area], vec![member])
    }

    fn words(field: &str, value: Value) -> String {
        let (areas, members) = names();
        let names = Names {
            areas: &areas,
            members: &members,
        };
        value_words(Lang::Sv, names, "incident", field, &value, 200).into_string()
    }

    #[test]
    fn values_read_as_words_not_ids_or_json() {
        assert_eq!(
            words("area_id", json!("0190aaaa-0000-7000-8000-000000000001")),
            "Stortorget"
        );
        assert_eq!(
            words("assignee", json!("0190bbbb-0000-7000-8000-000000000002")),
            "Anna Samordnare"
        );
        assert_eq!(
            words("category", json!("youth_at_risk")),
            "Unga i riskmiljö"
        );
        assert_eq!(
            words(
                "location",
                json!({"lat": 59.65, "lon": 16.55, "accuracy_m": 12.4})
            ),
            "i Stortorget (±12 m)"
        );
        assert_eq!(
            words("location", json!({"lat": 59.3275, "lon": 18.0546})),
            "59,3275 N, 18,0546 E"
        );
        // 2026-07-01 10:00 UTC is 12:00 in Stockholm (summer time).
        assert_eq!(
            words("occurred_at", json!("2026-07-01T10:00:00Z")),
            "2026-07-01 12:00"
        );
        assert_eq!(
            words("review_status", json!("needs_info")),
            "Behöver mer information"
        );
        assert_eq!(words("severity", json!(3)), "3 · Allvarlig");
        assert_eq!(words("forwarded_to", json!(["police"])), "Polisen");
        assert!(
            !words(
                "duplicate_of",
                json!("0190cccc-0000-7000-8000-000000000003")
            )
            .contains(">0190")
        );
    }

    #[test]
    fn every_field_of_every_kind_has_a_label() {
        let t = i18n::texts(Lang::Sv);
        for field in [
            "occurred_at",
            "location",
            "place",
            "area_id",
            "category",
            "subcategory",
            "severity",
            "description",
            "people_involved",
            "minors_involved",
            "police_line",
            "police_contacted_at",
            "police_attended_at",
            "police_event_number",
            "agencies_informed",
            "patrol_id",
            "attachments",
            "retracted",
            "review_status",
            "duplicate_of",
            "assignee",
            "tags",
            "forwarded_to",
            "retention_hold",
            "observed_at",
            "started_at",
            "ended_at",
            "participant_count",
            "participants",
            "youths_met",
            "adults_met",
            "conversations",
            "note",
            "all_home_safe",
            "body",
            "written_at",
            "entry",
            "points",
        ] {
            assert_ne!(
                field_label(Lang::Sv, "incident", field),
                t.f_other,
                "{field}"
            );
        }
        assert_eq!(field_label(Lang::Sv, "patrol", "kind"), t.f_patrol_kind);
        assert_eq!(field_label(Lang::En, "incident", "area_id"), "Area");
        assert_eq!(field_label(Lang::En, "incident", "location"), "Location");
        assert!(field_rank("category") < field_rank("description"));
        assert!(field_rank("description") < field_rank("review_status"));
    }
}
