//! `entries`: a queryable projection of patrols, incidents and observations with typed columns,
//! kept up to date by the push path (one call after an entity's state is written), and the
//! dashboard's queries on it: the inbox, one entry with its history, conflicts and comments.

use super::choices::{self, Choices};
use super::redaction::{self, RedactionRow};
use super::reports::{self, AreaShape};
use super::{Store, StoreError, on_backend, postgres};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::{Map, Value};
use vaka_shared::model::ReviewStatus;
use vaka_shared::op::EntityKind;
use vaka_shared::{AreaId, EntityId, MemberId, OrgId};

/// The projection of one entity's stored state into the `entries` row. Also used (without the
/// final `WHERE`) by migration 0002 to fill the table from entities stored before it.
const PROJECT_SQL: &str = "
INSERT OR REPLACE INTO entries
SELECT e.id, e.org_id, e.kind, e.author, m.member_group, e.created_seq, e.updated_seq,
       COALESCE((SELECT o.received_at_ms FROM ops o WHERE o.seq = e.created_seq), ?2),
       CAST(round(unixepoch(json_extract(e.state, CASE e.kind WHEN 'incident' THEN '$.occurred_at.v'
            WHEN 'observation' THEN '$.observed_at.v' ELSE '$.started_at.v' END), 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(json_extract(e.state, '$.ended_at.v'), 'subsec') * 1000) AS INTEGER),
       json_extract(e.state, '$.area_id.v'),
       CASE e.kind WHEN 'patrol' THEN json_extract(e.state, '$.kind.v') ELSE json_extract(e.state, '$.category.v') END,
       json_extract(e.state, '$.severity.v'),
       COALESCE(json_extract(e.state, '$.review_status.v'), 'new'),
       json_extract(e.state, '$.assignee.v'),
       json_extract(e.state, '$.duplicate_of.v'),
       json_extract(e.state, '$.tags.v'),
       json_extract(e.state, '$.forwarded_to.v'),
       json_extract(e.state, '$.location.v.lat'),
       json_extract(e.state, '$.location.v.lon'),
       json_extract(e.state, '$.place.v'),
       COALESCE(json_extract(e.state, '$.description.v'), json_extract(e.state, '$.note.v')),
       json_extract(e.state, '$.participant_count.v'),
       json_extract(e.state, '$.people_involved.v'),
       json_extract(e.state, '$.minors_involved.v'),
       json_extract(e.state, '$.police_line.v'),
       CAST(round(unixepoch(json_extract(e.state, '$.police_contacted_at.v'), 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(json_extract(e.state, '$.police_attended_at.v'), 'subsec') * 1000) AS INTEGER),
       json_extract(e.state, '$.police_event_number.v'),
       COALESCE(json_extract(e.state, '$.retracted.v'), 0),
       COALESCE(json_array_length(json_extract(e.state, '$.attachments.v')), 0)
FROM entities e LEFT JOIN members m ON m.id = e.author
WHERE e.id = ?1 AND e.kind IN ('patrol', 'incident', 'observation')";

/// Brings the `entries` row of `entity` up to date with its stored state. Entities that are not
/// entries (comments, track segments) are left alone. Runs inside the push transaction.
pub fn project(conn: &Connection, entity: EntityId, now_ms: i64) -> Result<(), StoreError> {
    conn.prepare_cached(PROJECT_SQL)?
        .execute(params![entity.to_string(), now_ms])?;
    Ok(())
}

/// The columns every entry query selects, in [`EntryRow::from_row`] order.
pub const ENTRY_COLUMNS: &str =
    "x.id, x.kind, x.author, COALESCE(m.display_name, ''), x.author_group,
    x.created_seq, x.received_at_ms, x.occurred_at_ms, x.ended_at_ms, x.area_id, a.name, x.category,
    x.severity, x.review_status, x.assignee, x.duplicate_of, x.tags, x.forwarded_to, x.lat, x.lon,
    x.place, x.description, x.participants, x.people_involved, x.minors_involved, x.police_line,
    x.police_contacted_ms, x.police_attended_ms, x.police_event_number, x.retracted, x.attachments";

/// The joins [`ENTRY_COLUMNS`] needs.
pub const ENTRY_JOINS: &str =
    "entries x LEFT JOIN members m ON m.id = x.author LEFT JOIN areas a ON a.id = x.area_id";

/// One entry as the dashboard shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    /// Its id.
    pub id: EntityId,
    /// A patrol, an incident or an observation.
    pub kind: EntityKind,
    /// The member who logged it.
    pub author: MemberId,
    /// Their display name.
    pub author_name: String,
    /// Their group.
    pub author_group: Option<String>,
    /// The server sequence it was created at.
    pub created_seq: i64,
    /// When it reached the server.
    pub received_at_ms: i64,
    /// When it happened (a patrol: when it started).
    pub occurred_at_ms: Option<i64>,
    /// When a patrol ended.
    pub ended_at_ms: Option<i64>,
    /// The area's id.
    pub area_id: Option<AreaId>,
    /// The area's name.
    pub area_name: Option<String>,
    /// Category code (a patrol: its kind).
    pub category: Option<String>,
    /// Severity 1–4 (incidents).
    pub severity: Option<i64>,
    /// Review status.
    pub review_status: ReviewStatus,
    /// Assigned coordinator.
    pub assignee: Option<String>,
    /// The entry this one duplicates.
    pub duplicate_of: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Agencies forwarded to.
    pub forwarded_to: Vec<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Place in words.
    pub place: Option<String>,
    /// Description (a patrol: its note).
    pub description: Option<String>,
    /// Walkers on a patrol.
    pub participants: Option<i64>,
    /// People involved.
    pub people_involved: Option<i64>,
    /// Minors among them.
    pub minors_involved: Option<i64>,
    /// Police number called.
    pub police_line: Option<String>,
    /// When the police were contacted.
    pub police_contacted_ms: Option<i64>,
    /// When the police came.
    pub police_attended_ms: Option<i64>,
    /// Police event number.
    pub police_event_number: Option<String>,
    /// Withdrawn by its author.
    pub retracted: bool,
    /// Number of photos.
    pub attachments: i64,
}

/// A JSON list of strings stored as text (tags, agencies); empty when there is none.
pub(crate) fn json_list(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

impl EntryRow {
    /// Reads a row selected with [`ENTRY_COLUMNS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: super::row::parsed(r, 0)?,
            kind: super::row::wire(r, 1, EntityKind::from_wire)?,
            author: super::row::parsed(r, 2)?,
            author_name: r.get(3)?,
            author_group: r.get(4)?,
            created_seq: r.get(5)?,
            received_at_ms: r.get(6)?,
            occurred_at_ms: r.get(7)?,
            ended_at_ms: r.get(8)?,
            area_id: super::row::parsed_opt(r, 9)?,
            area_name: r.get(10)?,
            category: r.get(11)?,
            severity: r.get(12)?,
            review_status: super::row::wire(r, 13, ReviewStatus::from_wire)?,
            assignee: r.get(14)?,
            duplicate_of: r.get(15)?,
            tags: json_list(r.get(16)?),
            forwarded_to: json_list(r.get(17)?),
            lat: r.get(18)?,
            lon: r.get(19)?,
            place: r.get(20)?,
            description: r.get(21)?,
            participants: r.get(22)?,
            people_involved: r.get(23)?,
            minors_involved: r.get(24)?,
            police_line: r.get(25)?,
            police_contacted_ms: r.get(26)?,
            police_attended_ms: r.get(27)?,
            police_event_number: r.get(28)?,
            retracted: r.get::<_, i64>(29)? != 0,
            attachments: r.get(30)?,
        })
    }
}

/// What the inbox is filtered by. Every value is bound as a parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxFilter {
    /// Happened at or after (ms).
    pub from_ms: Option<i64>,
    /// Happened before (ms).
    pub to_ms: Option<i64>,
    /// Area id.
    pub area: Option<AreaId>,
    /// A patrol, an incident or an observation.
    pub kind: Option<EntityKind>,
    /// Category code.
    pub category: Option<String>,
    /// Severity 1–4.
    pub severity: Option<i64>,
    /// Review status.
    pub status: Option<ReviewStatus>,
    /// Author's group.
    pub group: Option<String>,
    /// Author's member id.
    pub author: Option<MemberId>,
    /// Only entries with unsettled conflicts.
    pub conflicts_only: bool,
    /// The column the page is sorted by.
    pub sort: InboxSort,
    /// Oldest, lowest or first in the alphabet first, instead of the other way round.
    pub ascending: bool,
}

/// What the inbox can be sorted by; ties fall back to the newest event first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxSort {
    /// When it happened (the default: newest first).
    #[default]
    Occurred,
    /// When it reached the server.
    Received,
    /// Patrol, incident, observation.
    Kind,
    /// Severity of an incident.
    Severity,
    /// The area's name.
    Area,
    /// Review status, in the order of the work: new, needs info, reviewed, forwarded, closed.
    Status,
}

impl InboxSort {
    /// Every sort, in the order of the inbox's columns.
    pub const ALL: [Self; 6] = [
        Self::Occurred,
        Self::Received,
        Self::Kind,
        Self::Severity,
        Self::Area,
        Self::Status,
    ];

    /// The name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Occurred => "occurred",
            Self::Received => "received",
            Self::Kind => "kind",
            Self::Severity => "severity",
            Self::Area => "area",
            Self::Status => "status",
        }
    }

    /// The sort a query string names.
    pub fn from_wire(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The `ORDER BY` terms (fixed text only).
    fn order_by(self, ascending: bool) -> String {
        let dir = if ascending { "ASC" } else { "DESC" };
        let key = match self {
            Self::Occurred => return format!("x.occurred_at_ms {dir}, x.created_seq {dir}"),
            Self::Received => return format!("x.created_seq {dir}"),
            Self::Kind => "x.kind",
            Self::Severity => "x.severity",
            Self::Area => "(SELECT a.name FROM areas a WHERE a.id = x.area_id)",
            Self::Status => {
                "CASE x.review_status WHEN 'new' THEN 0 WHEN 'needs_info' THEN 1 \
                 WHEN 'reviewed' THEN 2 WHEN 'forwarded' THEN 3 WHEN 'closed' THEN 4 ELSE 5 END"
            }
        };
        format!("{key} {dir} NULLS LAST, x.occurred_at_ms DESC, x.created_seq DESC")
    }
}

impl InboxFilter {
    /// The `WHERE` clause (built from fixed fragments only) and its parameters; the status
    /// filter is left out when `with_status` is false (for the per-status counts).
    fn clause(&self, org: &str, with_status: bool) -> (String, Vec<SqlValue>) {
        let mut sql = String::from("x.org_id = ?");
        let mut params = vec![SqlValue::Text(org.to_owned())];
        let mut add = |fragment: &str, value: SqlValue| {
            sql.push_str(" AND ");
            sql.push_str(fragment);
            params.push(value);
        };
        if let Some(v) = self.from_ms {
            add("x.occurred_at_ms >= ?", SqlValue::Integer(v));
        }
        if let Some(v) = self.to_ms {
            add("x.occurred_at_ms < ?", SqlValue::Integer(v));
        }
        if let Some(v) = &self.area {
            add("x.area_id = ?", SqlValue::Text(v.to_string()));
        }
        if let Some(v) = &self.kind {
            add("x.kind = ?", SqlValue::Text(v.as_str().to_owned()));
        }
        if let Some(v) = &self.category {
            add("x.category = ?", SqlValue::Text(v.clone()));
        }
        if let Some(v) = self.severity {
            add("x.severity = ?", SqlValue::Integer(v));
        }
        if with_status && let Some(v) = &self.status {
            add("x.review_status = ?", SqlValue::Text(v.as_str().to_owned()));
        }
        if let Some(v) = &self.group {
            add("x.author_group = ?", SqlValue::Text(v.clone()));
        }
        if let Some(v) = &self.author {
            add("x.author = ?", SqlValue::Text(v.to_string()));
        }
        if self.conflicts_only {
            add(
                "x.id IN (SELECT entity_id FROM conflicts WHERE org_id = ? AND resolved_seq IS NULL)",
                SqlValue::Text(org.to_owned()),
            );
        }
        (sql, params)
    }
}

/// Counts stop at this many entries (shown as "1000+"), so that a page costs the same however
/// many entries the filter matches.
pub const COUNT_CAP: i64 = 1_000;

/// One page of the inbox and the counts of the whole filtered set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxPage {
    /// The entries of the page, in the filter's order.
    pub entries: Vec<EntryRow>,
    /// Entries matching every filter (at most the sum of the capped counts).
    pub total: i64,
    /// Entries matching every filter but the status, per review status, each at most
    /// [`COUNT_CAP`].
    pub by_status: Vec<(String, i64)>,
    /// Whether a count reached [`COUNT_CAP`] (the real number is higher).
    pub capped: bool,
}

/// A page of `org`'s inbox in the filter's order (by default the newest event first), `limit`
/// entries after skipping `offset`.
pub fn inbox(
    conn: &Connection,
    org: &str,
    filter: &InboxFilter,
    offset: i64,
    limit: i64,
) -> Result<InboxPage, StoreError> {
    // Per status, from the covering index only, each count stopping at the cap.
    let (clause, values) = filter.clause(org, false);
    let mut count = conn.prepare_cached(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM entries x INDEXED BY entries_org_status_cover
         WHERE {clause} AND x.review_status = ? LIMIT ?)"
    ))?;
    let mut by_status = Vec::new();
    let mut capped = false;
    for status in vaka_shared::model::ReviewStatus::ALL {
        let mut v = values.clone();
        v.push(SqlValue::Text(status.as_str().to_owned()));
        v.push(SqlValue::Integer(COUNT_CAP));
        let n: i64 = count.query_row(params_from_iter(v.iter()), |r| r.get(0))?;
        capped |= n >= COUNT_CAP;
        by_status.push((status.as_str().to_owned(), n));
    }
    let total = total_of(filter, &by_status);
    // First the page's rows from the indexes alone, then only those rows in full.
    let (clause, mut values) = filter.clause(org, true);
    values.push(SqlValue::Integer(limit));
    values.push(SqlValue::Integer(offset));
    let rowids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT x.rowid FROM entries x WHERE {clause}
             ORDER BY {} LIMIT ? OFFSET ?",
            filter.sort.order_by(filter.ascending)
        ))?
        .query_map(params_from_iter(values.iter()), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let entries = conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS}
             WHERE x.rowid IN (SELECT value FROM json_each(?1))
             ORDER BY (SELECT j.key FROM json_each(?1) j WHERE j.value = x.rowid)"
        ))?
        .query_map([serde_json::to_string(&rowids)?], EntryRow::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InboxPage {
        entries,
        total,
        by_status,
        capped,
    })
}

/// The entries matching every filter, from the per-status counts.
pub(crate) fn total_of(filter: &InboxFilter, by_status: &[(String, i64)]) -> i64 {
    match &filter.status {
        Some(s) => by_status
            .iter()
            .find(|(status, _)| status == s.as_str())
            .map_or(0, |(_, n)| *n),
        None => by_status.iter().map(|(_, n)| n).sum(),
    }
}

/// One entry of `org`; `None` when there is none (or it belongs to another organisation).
pub fn entry(conn: &Connection, org: &str, id: &str) -> Result<Option<EntryRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS} WHERE x.id = ?1 AND x.org_id = ?2"
        ))?
        .query_row(params![id, org], EntryRow::from_row)
        .optional()?)
}

/// How far apart in time two reports of one event may be to be offered as duplicates.
pub const DUPLICATE_WINDOW_MS: i64 = 6 * 3_600_000;
/// How far apart in place (metres) two reports of one event may be, when both have a position.
pub const DUPLICATE_RADIUS_M: f64 = 1_000.0;
/// How many candidates are offered.
pub const DUPLICATE_CANDIDATES: usize = 8;

/// Metres between two points (haversine on a sphere of the Earth's mean radius).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1, lat2, lon2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// The likely duplicates of `of`: entries of the same kind in the same organisation, not
/// itself, not retracted, that happened within [`DUPLICATE_WINDOW_MS`] of it and, when both
/// have a position, within [`DUPLICATE_RADIUS_M`] (without positions: in the same area, or
/// either has none); the nearest in time and place first, at most [`DUPLICATE_CANDIDATES`].
pub fn duplicate_candidates(
    conn: &Connection,
    org: &str,
    of: &EntryRow,
) -> Result<Vec<EntryRow>, StoreError> {
    let Some(at) = of.occurred_at_ms else {
        return Ok(Vec::new());
    };
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS}
             WHERE x.org_id = ?1 AND x.kind = ?2 AND x.id <> ?3 AND x.retracted = 0
               AND x.occurred_at_ms BETWEEN ?4 AND ?5
             ORDER BY abs(x.occurred_at_ms - ?6), x.created_seq LIMIT {DUPLICATE_ROWS}"
        ))?
        .query_map(
            params![
                org,
                of.kind.as_str(),
                of.id.to_string(),
                at.saturating_sub(DUPLICATE_WINDOW_MS),
                at.saturating_add(DUPLICATE_WINDOW_MS),
                at
            ],
            EntryRow::from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(nearest(of, at, rows))
}

/// How many entries nearest in time [`duplicate_candidates`] reads before it weighs the place.
pub(crate) const DUPLICATE_ROWS: i64 = 200;

/// Of `rows` (entries near `of` in time, which happened at `at`), those near enough in place,
/// nearest first, at most [`DUPLICATE_CANDIDATES`].
pub(crate) fn nearest(of: &EntryRow, at: i64, rows: Vec<EntryRow>) -> Vec<EntryRow> {
    let here = of.lat.zip(of.lon);
    let mut near: Vec<(f64, EntryRow)> = rows
        .into_iter()
        .filter_map(|r| {
            let minutes = (r.occurred_at_ms.unwrap_or(at) - at).abs() as f64 / 60_000.0;
            match (here, r.lat.zip(r.lon)) {
                (Some(a), Some(b)) => {
                    let d = distance_m(a, b);
                    // A minute counts as much as 10 m.
                    (d <= DUPLICATE_RADIUS_M).then_some((minutes * 10.0 + d, r))
                }
                _ if of.area_id.is_some() && r.area_id.is_some() && of.area_id != r.area_id => None,
                _ => Some((minutes * 10.0 + DUPLICATE_RADIUS_M, r)),
            }
        })
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    near.into_iter()
        .take(DUPLICATE_CANDIDATES)
        .map(|(_, r)| r)
        .collect()
}

/// The current field values of an entity of `org`.
pub fn state_values(
    conn: &Connection,
    org: &str,
    id: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM entities WHERE id = ?1 AND org_id = ?2")?
        .query_row(params![id, org], |r| r.get(0))
        .optional()?;
    state.as_deref().map(values_of).transpose()
}

/// The current field values of a stored state.
pub(crate) fn values_of(state: &str) -> Result<Map<String, Value>, StoreError> {
    let state: vaka_shared::merge::EntityState = serde_json::from_str(state)?;
    Ok(state.values())
}

/// One accepted op of an entry's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    /// Server sequence.
    pub seq: i64,
    /// Who wrote it.
    pub author_name: String,
    /// Which device.
    pub device_name: String,
    /// When it reached the server.
    pub received_at_ms: i64,
    /// The op's clock stamp.
    pub hlc: String,
    /// The fields it wrote.
    pub fields: Map<String, Value>,
}

/// Every accepted op of an entity, oldest first.
pub fn history(conn: &Connection, org: &str, id: &str) -> Result<Vec<HistoryItem>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT o.seq, COALESCE(m.display_name, ''), COALESCE(d.name, ''), o.received_at_ms,
                    o.hlc, o.fields
             FROM ops o LEFT JOIN members m ON m.id = o.author LEFT JOIN devices d ON d.id = o.device_id
             WHERE o.entity_id = ?1 AND o.org_id = ?2 ORDER BY o.seq",
        )?
        .query_map(params![id, org], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(seq, author_name, device_name, received_at_ms, hlc, fields)| {
                Ok(HistoryItem {
                    seq,
                    author_name,
                    device_name,
                    received_at_ms,
                    hlc,
                    fields: serde_json::from_str(&fields)?,
                })
            },
        )
        .collect()
}

/// A concurrent write kept as a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    /// Its id.
    pub id: i64,
    /// The field.
    pub field: String,
    /// The value kept (JSON).
    pub winner_value: String,
    /// Who wrote the kept value.
    pub winner_author: String,
    /// The value that lost (JSON).
    pub loser_value: String,
    /// Who wrote the losing value.
    pub loser_author: String,
    /// The sequence of the op that settled it, if settled.
    pub resolved_seq: Option<i64>,
    /// Who settled it (the settling op's author).
    pub settled_by: Option<String>,
    /// When the settling op reached the server.
    pub settled_at_ms: Option<i64>,
    /// The value the settling op wrote (JSON), to tell which side was kept.
    pub settled_value: Option<String>,
}

/// The conflicts recorded on an entity, oldest first.
pub fn conflicts(conn: &Connection, org: &str, id: &str) -> Result<Vec<ConflictRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT c.id, c.field, c.winner_value, COALESCE(mw.display_name, ''), c.loser_value,
                    COALESCE(ml.display_name, ''), c.resolved_seq, ms.display_name,
                    os.received_at_ms, os.fields
             FROM conflicts c
             LEFT JOIN ops ow ON ow.seq = c.winner_seq LEFT JOIN members mw ON mw.id = ow.author
             LEFT JOIN ops ol ON ol.seq = c.loser_seq LEFT JOIN members ml ON ml.id = ol.author
             LEFT JOIN ops os ON os.seq = c.resolved_seq LEFT JOIN members ms ON ms.id = os.author
             WHERE c.entity_id = ?1 AND c.org_id = ?2 ORDER BY c.id",
        )?
        .query_map(params![id, org], |r| {
            Ok(ConflictRow {
                id: r.get(0)?,
                field: r.get(1)?,
                winner_value: r.get(2)?,
                winner_author: r.get(3)?,
                loser_value: r.get(4)?,
                loser_author: r.get(5)?,
                resolved_seq: r.get(6)?,
                settled_by: r.get(7)?,
                settled_at_ms: r.get(8)?,
                settled_value: settled_value(
                    &r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(9)?.as_deref(),
                ),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// The value of `field` the settling op wrote (JSON), from the op's `fields`.
pub(crate) fn settled_value(field: &str, fields: Option<&str>) -> Option<String> {
    let fields: Map<String, Value> = serde_json::from_str(fields?).ok()?;
    fields.get(field).map(Value::to_string)
}

/// One conflict of `org` (for settling it).
pub fn conflict(
    conn: &Connection,
    org: &str,
    conflict_id: i64,
) -> Result<Option<(String, ConflictRow)>, StoreError> {
    let entity: Option<String> = conn
        .query_row(
            "SELECT entity_id FROM conflicts WHERE id = ?1 AND org_id = ?2",
            params![conflict_id, org],
            |r| r.get(0),
        )
        .optional()?;
    let Some(entity) = entity else {
        return Ok(None);
    };
    Ok(conflicts(conn, org, &entity)?
        .into_iter()
        .find(|c| c.id == conflict_id)
        .map(|c| (entity, c)))
}

/// Marks a conflict settled by the op with sequence `seq`.
pub fn mark_settled(conn: &Connection, conflict_id: i64, seq: u64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE conflicts SET resolved_seq = ?2 WHERE id = ?1",
        params![conflict_id, seq],
    )?;
    Ok(())
}

/// A comment on an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRow {
    /// Who wrote it.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// When it was written (RFC 3339).
    pub written_at: Option<String>,
    /// Its server sequence.
    pub seq: i64,
}

/// The comment thread of an entry, oldest first.
pub fn comments(conn: &Connection, org: &str, id: &str) -> Result<Vec<CommentRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(m.display_name, ''), json_extract(e.state, '$.body.v'),
                    json_extract(e.state, '$.written_at.v'), e.created_seq
             FROM entities e LEFT JOIN members m ON m.id = e.author
             WHERE e.kind = 'comment' AND json_extract(e.state, '$.entry.v.id') = ?1
               AND e.org_id = ?2
             ORDER BY e.created_seq",
        )?
        .query_map(params![id, org], |r| {
            Ok(CommentRow {
                author_name: r.get(0)?,
                body: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                written_at: r.get(2)?,
                seq: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Unsettled conflicts of `org`, for the inbox's notice.
pub fn open_conflicts(conn: &Connection, org: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM conflicts WHERE org_id = ?1 AND resolved_seq IS NULL",
        )?
        .query_row([org], |r| r.get(0))?)
}

/// The entries of `org` that happened in `[start_ms, end_ms)`, oldest first, without retracted
/// ones and duplicates (the rows a situation report counts).
pub fn in_period(
    conn: &Connection,
    org: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<EntryRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS}
             WHERE x.org_id = ?1 AND x.occurred_at_ms >= ?2 AND x.occurred_at_ms < ?3
               AND x.retracted = 0 AND x.review_status <> 'duplicate'
             ORDER BY x.occurred_at_ms, x.created_seq"
        ))?
        .query_map(params![org, start_ms, end_ms], EntryRow::from_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Everything the entry page shows of one entry, read at once.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryPage {
    /// The entry.
    pub entry: EntryRow,
    /// Its likely duplicates, and first the one chosen if it is not among them.
    pub candidates: Vec<EntryRow>,
    /// Its current field values.
    pub values: Map<String, Value>,
    /// Every accepted op of it, oldest first.
    pub history: Vec<HistoryItem>,
    /// Its conflicts, oldest first.
    pub conflicts: Vec<ConflictRow>,
    /// Its comment thread, oldest first.
    pub comments: Vec<CommentRow>,
    /// The organisation's choice lists (the names of members and areas).
    pub choices: Choices,
    /// The organisation's areas' outlines.
    pub shapes: Vec<AreaShape>,
    /// Its redactions, oldest first.
    pub redactions: Vec<RedactionRow>,
}

/// The entry page of entry `id` of `org`; `None` when there is none.
pub fn entry_page(conn: &Connection, org: &str, id: &str) -> Result<Option<EntryPage>, StoreError> {
    let Some(row) = entry(conn, org, id)? else {
        return Ok(None);
    };
    let mut candidates = if row.kind == EntityKind::Patrol {
        Vec::new()
    } else {
        duplicate_candidates(conn, org, &row)?
    };
    if let Some(chosen) = &row.duplicate_of
        && !candidates.iter().any(|c| c.id.to_string() == *chosen)
        && let Some(found) = entry(conn, org, chosen)?
    {
        candidates.insert(0, found);
    }
    Ok(Some(EntryPage {
        candidates,
        values: state_values(conn, org, id)?.unwrap_or_default(),
        history: history(conn, org, id)?,
        conflicts: conflicts(conn, org, id)?,
        comments: comments(conn, org, id)?,
        choices: choices::choices(conn, org)?,
        shapes: reports::area_shapes(conn, org)?,
        redactions: redaction::redactions_of(conn, org, id)?,
        entry: row,
    }))
}

/// What a review form is checked against: the entry, whether the entry it names as the one it
/// duplicates is one of the organisation's, and the members (who may be assigned).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewTargets {
    /// The entry reviewed.
    pub entry: Option<EntryRow>,
    /// Whether the entry named as the original is there (true when none is named).
    pub duplicate_found: bool,
    /// (id, name, role) of the organisation's members.
    pub members: Vec<(String, String, String)>,
}

/// The review form's targets in `org`: entry `id` and the entry `duplicate_of` names.
pub fn review_targets(
    conn: &Connection,
    org: &str,
    id: &str,
    duplicate_of: Option<&str>,
) -> Result<ReviewTargets, StoreError> {
    Ok(ReviewTargets {
        entry: entry(conn, org, id)?,
        duplicate_found: match duplicate_of {
            Some(d) => entry(conn, org, d)?.is_some(),
            None => true,
        },
        members: choices::choices(conn, org)?.members,
    })
}

/// A conflict about to be settled, with its entity and the entry's kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictToSettle {
    /// The entity it is on.
    pub entity: EntityId,
    /// The conflict.
    pub conflict: ConflictRow,
    /// The entry's kind, `None` when the entity is not an entry.
    pub kind: Option<EntityKind>,
}

/// Conflict `conflict_id` of `org` with its entity and the entry's kind.
pub fn conflict_to_settle(
    conn: &Connection,
    org: &str,
    conflict_id: i64,
) -> Result<Option<ConflictToSettle>, StoreError> {
    let Some((entity, conflict)) = conflict(conn, org, conflict_id)? else {
        return Ok(None);
    };
    let kind = entry(conn, org, &entity)?.map(|r| r.kind);
    Ok(Some(ConflictToSettle {
        entity: super::accounts::parse_id(&entity)?,
        conflict,
        kind,
    }))
}

/// The inbox page: a page of entries with its counts, the filters' choices and the number of
/// unsettled conflicts.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxView {
    /// The page of entries and the counts.
    pub page: InboxPage,
    /// The filters' choice lists.
    pub choices: Choices,
    /// Unsettled conflicts of the organisation.
    pub open_conflicts: i64,
}

/// The inbox page of `org` (see [`inbox`]).
pub fn inbox_view(
    conn: &Connection,
    org: &str,
    filter: &InboxFilter,
    offset: i64,
    limit: i64,
) -> Result<InboxView, StoreError> {
    Ok(InboxView {
        page: inbox(conn, org, filter, offset, limit)?,
        choices: choices::choices(conn, org)?,
        open_conflicts: open_conflicts(conn, org)?,
    })
}

/// The dashboard's reads of entries, on either backend.
impl Store {
    /// Entry `id` of `org`; `None` when there is none (or it belongs to another organisation).
    pub async fn entry(&self, org: OrgId, id: EntityId) -> Result<Option<EntryRow>, StoreError> {
        let (org, id) = (org.to_string(), id.to_string());
        on_backend!(self,
            s => s.read(move |c| entry(c, &org, &id)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::entry(db, &org, &id).await
            })).await,
        )
    }

    /// Everything the entry page shows of entry `id` of `org`; `None` when there is none.
    pub async fn entry_page(
        &self,
        org: OrgId,
        id: EntityId,
    ) -> Result<Option<EntryPage>, StoreError> {
        let (org, id) = (org.to_string(), id.to_string());
        on_backend!(self,
            s => s.read(move |c| entry_page(c, &org, &id)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::entry_page(db, &org, &id).await
            })).await,
        )
    }

    /// What the review form of entry `id` of `org` is checked against (see [`ReviewTargets`]).
    pub async fn review_targets(
        &self,
        org: OrgId,
        id: EntityId,
        duplicate_of: Option<EntityId>,
    ) -> Result<ReviewTargets, StoreError> {
        let (org, id) = (org.to_string(), id.to_string());
        let duplicate_of = duplicate_of.map(|d| d.to_string());
        on_backend!(self,
            s => s.read(move |c| review_targets(c, &org, &id, duplicate_of.as_deref())).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::review_targets(db, &org, &id, duplicate_of.as_deref()).await
            })).await,
        )
    }

    /// Conflict `conflict_id` of `org`, with its entity and the entry's kind, for settling it.
    pub async fn conflict_to_settle(
        &self,
        org: OrgId,
        conflict_id: i64,
    ) -> Result<Option<ConflictToSettle>, StoreError> {
        let org = org.to_string();
        on_backend!(self,
            s => s.read(move |c| conflict_to_settle(c, &org, conflict_id)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::conflict_to_settle(db, &org, conflict_id).await
            })).await,
        )
    }

    /// The inbox page of `org`: `limit` entries after `offset` in the filter's order, the
    /// counts, the filters' choices and the unsettled conflicts.
    pub async fn inbox_view(
        &self,
        org: OrgId,
        filter: InboxFilter,
        offset: i64,
        limit: i64,
    ) -> Result<InboxView, StoreError> {
        let org = org.to_string();
        on_backend!(self,
            s => s.read(move |c| inbox_view(c, &org, &filter, offset, limit)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::inbox_view(db, &org, &filter, offset, limit).await
            })).await,
        )
    }

    /// The entries of `org` that happened in `[start_ms, end_ms)` (see [`in_period`]).
    pub async fn entries_in_period(
        &self,
        org: OrgId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<EntryRow>, StoreError> {
        let org = org.to_string();
        on_backend!(self,
            s => s.read(move |c| in_period(c, &org, start_ms, end_ms)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::entries::in_period(db, &org, start_ms, end_ms).await
            })).await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use std::sync::Arc;

    #[tokio::test]
    async fn migration_0002_projects_the_entities_stored_before_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite3");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(include_str!("../../migrations/0001_init.sql"))
                .expect("version 1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            conn.execute_batch(
                r#"
                INSERT INTO orgs (id, name, created_at_ms) VALUES ('o', 'Org', 0);
                INSERT INTO members (id, org_id, display_name, role, member_group, created_at_ms)
                    VALUES ('019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01', 'o', 'Ali', 'volunteer', 'Nattvandrarna', 0);
                INSERT INTO ops (org_id, scope_member, author, op_id, device_id, device_seq, hlc,
                                 base_seq, entity_kind, entity_id, fields, received_at_ms)
                    VALUES ('o', '019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01', '019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01', 'op', 'd', 1, 'h', 0, 'incident', '019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f', '{}', 1234);
                INSERT INTO entities (id, org_id, kind, author, scope_member, state, created_seq, updated_seq)
                    VALUES ('019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f', 'o', 'incident', '019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01', '019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e01',
                    '{"occurred_at":{"v":"2026-11-21T19:00:00.5Z","h":"h","b":0,"s":1},
                      "severity":{"v":3,"h":"h","b":0,"s":1},
                      "category":{"v":"disturbance","h":"h","b":0,"s":1},
                      "location":{"v":{"lat":59.6,"lon":16.5},"h":"h","b":0,"s":1},
                      "police_contacted_at":{"v":null,"h":"h","b":0,"s":1}}', 1, 1);
                "#,
            )
            .expect("data of version 1");
        }
        let store = SqliteStore::open(&path, 1, 4, Arc::default()).expect("migrates");
        let row = store
            .read(|conn| entry(conn, "o", "019a8f6e-1c2b-7d3e-8f40-5a6b7c8d9e0f"))
            .await
            .expect("read")
            .expect("projected");
        assert_eq!(row.kind, EntityKind::Incident);
        assert_eq!(row.occurred_at_ms, Some(1_795_287_600_500));
        assert_eq!(row.received_at_ms, 1234);
        assert_eq!(row.severity, Some(3));
        assert_eq!(row.review_status, ReviewStatus::New);
        assert_eq!(row.author_group.as_deref(), Some("Nattvandrarna"));
        assert_eq!((row.lat, row.lon), (Some(59.6), Some(16.5)));
        assert_eq!(row.police_contacted_ms, None);
    }
}
