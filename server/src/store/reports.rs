//! The situation report (lägesbild): counts by category, area, weekday and hour; change against
//! the previous period of the same length; points for the map; adult presence hours by area and
//! by evening; police contacted / attended and response times; the most serious entries; and the
//! coordinator's summary. Computed from the `entries` projection in one pass per period.
//!
//! Weekdays, hours and evenings are in Swedish local time (CET/CEST, EU summer-time rules).
//! Retracted entries and entries marked as duplicates are left out.

use super::sharing::OrgName;
use super::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use time::{Date, Duration, Month, OffsetDateTime, Weekday};
use vaka_shared::{AreaId, EntityId, OrgId};

/// Swedish local time's offset from UTC at `utc_ms`, in ms: +2 h from the last Sunday of March
/// 01:00 UTC to the last Sunday of October 01:00 UTC, +1 h otherwise.
pub fn stockholm_offset_ms(utc_ms: i64) -> i64 {
    const HOUR: i64 = 3_600_000;
    let Ok(at) = OffsetDateTime::from_unix_timestamp(utc_ms.div_euclid(1000)) else {
        return HOUR;
    };
    let year = at.year();
    let last_sunday = |month: Month| -> Option<i64> {
        let last = Date::from_calendar_date(year, month, 31).ok()?;
        let back = i64::from(last.weekday().number_days_from_sunday());
        let day = last - Duration::days(back);
        Some(day.midnight().assume_utc().unix_timestamp() * 1000 + HOUR)
    };
    match (last_sunday(Month::March), last_sunday(Month::October)) {
        (Some(start), Some(end)) if utc_ms >= start && utc_ms < end => 2 * HOUR,
        _ => HOUR,
    }
}

/// The Swedish local date-time of `utc_ms`.
pub fn local(utc_ms: i64) -> OffsetDateTime {
    let offset = stockholm_offset_ms(utc_ms);
    OffsetDateTime::from_unix_timestamp((utc_ms + offset).div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The UTC ms of local midnight starting `date` (Swedish time).
pub fn local_midnight_ms(date: Date) -> i64 {
    let naive = date.midnight().assume_utc().unix_timestamp() * 1000;
    naive - stockholm_offset_ms(naive - 3_600_000)
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// First local day of the period.
    pub from: Date,
    /// Last local day of the period (inclusive).
    pub to: Date,
    /// Area ids to include; empty means every area (and entries without an area).
    pub areas: Vec<AreaId>,
}

impl ReportQuery {
    /// The period as UTC ms, `[start, end)`; a period ending on the calendar's last day runs to
    /// the end of time.
    pub fn range_ms(&self) -> (i64, i64) {
        (
            local_midnight_ms(self.from),
            self.to.next_day().map_or(i64::MAX, local_midnight_ms),
        )
    }

    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// The previous period of the same length, cut at the calendar's first day.
    pub fn previous(&self) -> Self {
        let days = Duration::days(self.days());
        let back = |day: Date| day.checked_sub(days).unwrap_or(Date::MIN);
        Self {
            from: back(self.from),
            to: back(self.to),
            areas: self.areas.clone(),
        }
    }
}

/// A count now and in the previous period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    /// This period.
    pub now: i64,
    /// The previous period of the same length.
    pub before: i64,
}

/// A point on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// `incident` or `observation`.
    pub kind: String,
    /// Severity of an incident.
    pub severity: Option<i64>,
}

/// A notable (serious) entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Notable {
    /// Its id.
    pub id: EntityId,
    /// When it happened.
    pub occurred_at_ms: i64,
    /// Category code.
    pub category: String,
    /// Severity.
    pub severity: i64,
    /// Area name.
    pub area: Option<String>,
    /// First words of the description.
    pub summary: String,
    /// Whether police were contacted.
    pub police_contacted: bool,
    /// Whether police came.
    pub police_attended: bool,
}

/// Per-area figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaFigures {
    /// Area name (empty: no area).
    pub name: String,
    /// Incidents.
    pub incidents: Change,
    /// Observations.
    pub observations: Change,
    /// Hours of adult presence (patrol hours × walkers).
    pub presence_hours: f64,
    /// Patrols.
    pub patrols: i64,
}

/// An area's outline for the map.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaShape {
    /// Area id.
    pub id: AreaId,
    /// Name.
    pub name: String,
    /// Outer rings as (lon, lat).
    pub rings: Vec<Vec<(f64, f64)>>,
}

/// The police figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoliceFigures {
    /// Incidents where police were contacted.
    pub contacted: Change,
    /// Of those, where police came.
    pub attended: Change,
    /// Calls to 112.
    pub emergency_calls: i64,
    /// Calls to 114 14.
    pub non_emergency_calls: i64,
    /// Median minutes from contact to arrival.
    pub median_response_min: Option<f64>,
    /// Longest minutes from contact to arrival.
    pub max_response_min: Option<f64>,
    /// Every response time, in minutes, so that reports can be combined (never shown as such).
    pub responses_min: Vec<f64>,
}

/// A whole situation report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What it covers.
    pub query: ReportQuery,
    /// Incidents.
    pub incidents: Change,
    /// Observations.
    pub observations: Change,
    /// Patrols.
    pub patrols: Change,
    /// Hours of adult presence.
    pub presence_hours: Change,
    /// Incidents by category code.
    pub by_category: BTreeMap<String, Change>,
    /// Observations by category code.
    pub by_observation_category: BTreeMap<String, Change>,
    /// By area id ("" for none).
    pub by_area: BTreeMap<String, AreaFigures>,
    /// Incidents by local weekday, Monday first.
    pub by_weekday: [i64; 7],
    /// Incidents by local hour of day.
    pub by_hour: [i64; 24],
    /// Presence hours by evening (local date the patrol started, before 06:00 counts to the day
    /// before).
    pub by_evening: Vec<(Date, f64)>,
    /// Police.
    pub police: PoliceFigures,
    /// Incidents and observations with a location.
    pub points: Vec<MapPoint>,
    /// The areas' outlines.
    pub shapes: Vec<AreaShape>,
    /// The most serious incidents, most serious and latest first.
    pub notable: Vec<Notable>,
    /// The coordinator's summary.
    pub summary: String,
    /// When the period or the one it is compared with reaches back before the newest purge's
    /// cut-off: that cut-off (Unix ms) and the retention period in days. Entries before it were
    /// removed by retention, so those figures are incomplete.
    pub purged_before: Option<(i64, u32)>,
}

/// One entry as the report counts it, as both backends read it from `entries`.
pub(super) struct Row {
    pub(super) id: EntityId,
    pub(super) kind: String,
    pub(super) occurred: i64,
    pub(super) ended: Option<i64>,
    pub(super) area: Option<String>,
    pub(super) category: Option<String>,
    pub(super) severity: Option<i64>,
    pub(super) participants: Option<i64>,
    pub(super) contacted: Option<i64>,
    pub(super) attended: Option<i64>,
    pub(super) line: Option<String>,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) description: Option<String>,
}

/// The entries of `org` in `query`'s period (every area; [`assemble`] picks the wanted ones),
/// by time and then id, so that both backends add them up in the same order. With `full` the
/// first 240 characters of each description come too.
fn rows(
    conn: &Connection,
    org: OrgId,
    query: &ReportQuery,
    full: bool,
) -> Result<Vec<Row>, StoreError> {
    let (start, end) = query.range_ms();
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, occurred_at_ms, ended_at_ms, area_id, category, severity, participants,
                police_contacted_ms, police_attended_ms, police_line, lat, lon,
                CASE WHEN ?4 THEN substr(description, 1, 240) END
         FROM entries
         WHERE org_id = ?1 AND occurred_at_ms >= ?2 AND occurred_at_ms < ?3
           AND retracted = 0 AND review_status <> 'duplicate'
         ORDER BY occurred_at_ms, id",
    )?;
    Ok(stmt
        .query_map(params![org.to_string(), start, end, full], |r| {
            Ok(Row {
                id: super::row::parsed(r, 0)?,
                kind: r.get(1)?,
                occurred: r.get(2)?,
                ended: r.get(3)?,
                area: r.get(4)?,
                category: r.get(5)?,
                severity: r.get(6)?,
                participants: r.get(7)?,
                contacted: r.get(8)?,
                attended: r.get(9)?,
                line: r.get(10)?,
                lat: r.get(11)?,
                lon: r.get(12)?,
                description: r.get(13)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Hours of adult presence of a patrol: its length × walkers (a patrol still going counts none).
fn presence_hours(row: &Row) -> f64 {
    match row.ended {
        Some(end) if end > row.occurred => {
            (end - row.occurred) as f64 / 3_600_000.0 * row.participants.unwrap_or(1) as f64
        }
        _ => 0.0,
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Parses a GeoJSON Polygon/MultiPolygon (or a Feature of one) into outer rings of (lon, lat).
pub fn rings_of(geojson: &str) -> Vec<Vec<(f64, f64)>> {
    fn ring(value: &serde_json::Value) -> Option<Vec<(f64, f64)>> {
        value
            .as_array()?
            .iter()
            .map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
            .collect()
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(geojson) else {
        return Vec::new();
    };
    let geometry = value.get("geometry").unwrap_or(&value);
    let coordinates = geometry.get("coordinates");
    match (geometry.get("type").and_then(|t| t.as_str()), coordinates) {
        (Some("Polygon"), Some(c)) => c.get(0).and_then(ring).into_iter().collect(),
        (Some("MultiPolygon"), Some(c)) => c
            .as_array()
            .map(|polys| {
                polys
                    .iter()
                    .filter_map(|p| p.get(0).and_then(ring))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Adds a named area (a GeoJSON geometry) to `org`; returns its id.
pub fn add_area(
    conn: &Connection,
    org: &str,
    name: &str,
    geojson: &str,
    now_ms: i64,
) -> Result<AreaId, StoreError> {
    let id = AreaId::new();
    conn.prepare_cached(
        "INSERT INTO areas (id, org_id, name, geojson, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id.to_string(), org, name, geojson, now_ms])?;
    Ok(id)
}

/// The areas of `org`, with their outlines.
pub fn area_shapes(conn: &Connection, org: &str) -> Result<Vec<AreaShape>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT id, name, geojson FROM areas WHERE org_id = ?1 ORDER BY name, id")?
        .query_map([org], |r| {
            Ok((
                super::row::parsed::<AreaId>(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, name, geojson)| AreaShape {
            id,
            name,
            rings: rings_of(&geojson),
        })
        .collect())
}

/// The saved summary of `org` for a period.
pub fn summary(conn: &Connection, org: &str, query: &ReportQuery) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT summary FROM report_summaries WHERE org_id = ?1 AND period_from = ?2 AND period_to = ?3",
        )?
        .query_row(
            params![org, query.from.to_string(), query.to.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

/// Saves the summary of `org` for a period.
pub fn save_summary(
    conn: &Connection,
    org: &str,
    query: &ReportQuery,
    text: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO report_summaries (org_id, period_from, period_to, summary, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (org_id, period_from, period_to) DO UPDATE SET summary = ?4, updated_at_ms = ?5",
        params![
            org,
            query.from.to_string(),
            query.to.to_string(),
            text,
            now_ms
        ],
    )?;
    Ok(())
}

/// What a report is made of, as a backend reads it: the areas, the saved summary, the newest
/// purge's cut-off with the retention period, and the entries of the period and of the one
/// before.
pub(super) struct Sources {
    pub(super) shapes: Vec<AreaShape>,
    pub(super) summary: String,
    pub(super) last_purge: Option<(i64, u32)>,
    pub(super) current: Vec<Row>,
    pub(super) previous: Vec<Row>,
}

/// Computes the report of `org` for `query`.
pub fn report(conn: &Connection, org: OrgId, query: &ReportQuery) -> Result<Report, StoreError> {
    let org_text = org.to_string();
    let last_purge = match crate::store::retention::last_purge(conn, org)? {
        Some((_, cutoff, _)) => Some((cutoff, crate::store::retention::retention_days(conn, org)?)),
        None => None,
    };
    let sources = Sources {
        shapes: area_shapes(conn, &org_text)?,
        summary: summary(conn, &org_text, query)?,
        last_purge,
        current: rows(conn, org, query, true)?,
        previous: rows(conn, org, &query.previous(), false)?,
    };
    Ok(assemble(query, sources))
}

/// The report of `query` from what a backend read: the same figures whichever backend read
/// them. Weekdays, hours and evenings are counted in Swedish local time.
pub(super) fn assemble(query: &ReportQuery, sources: Sources) -> Report {
    let Sources {
        shapes,
        summary,
        last_purge,
        current,
        previous,
    } = sources;
    let area_names: BTreeMap<String, &str> = shapes
        .iter()
        .map(|s| (s.id.to_string(), s.name.as_str()))
        .collect();
    let mut report = Report {
        query: query.clone(),
        incidents: Change::default(),
        observations: Change::default(),
        patrols: Change::default(),
        presence_hours: Change::default(),
        by_category: BTreeMap::new(),
        by_observation_category: BTreeMap::new(),
        by_area: BTreeMap::new(),
        by_weekday: [0; 7],
        by_hour: [0; 24],
        by_evening: Vec::new(),
        police: PoliceFigures::default(),
        points: Vec::new(),
        shapes: shapes.clone(),
        notable: Vec::new(),
        summary,
        purged_before: None,
    };
    if let Some((cutoff, days)) = last_purge
        && query.previous().range_ms().0 < cutoff
    {
        report.purged_before = Some((cutoff, days));
    }
    // Every selected area has a row, even without entries.
    for shape in &shapes {
        if query.areas.is_empty() || query.areas.contains(&shape.id) {
            report.by_area.insert(
                shape.id.to_string(),
                AreaFigures {
                    name: shape.name.clone(),
                    ..AreaFigures::default()
                },
            );
        }
    }
    let mut presence_now = 0.0;
    let mut presence_before = 0.0;
    let mut evenings: BTreeMap<Date, f64> = BTreeMap::new();
    let mut responses = Vec::new();
    let wanted = |row: &&Row| {
        query.areas.is_empty()
            || row
                .area
                .as_ref()
                .is_some_and(|a| query.areas.iter().any(|q| q.to_string() == *a))
    };
    for (current, rows) in [(true, &current), (false, &previous)] {
        let bump = |c: &mut Change| {
            if current { c.now += 1 } else { c.before += 1 }
        };
        for row in rows.iter().filter(wanted) {
            let area_key = row.area.clone().unwrap_or_default();
            let area = report
                .by_area
                .entry(area_key.clone())
                .or_insert_with(|| AreaFigures {
                    name: area_names
                        .get(area_key.as_str())
                        .map(|n| (*n).to_owned())
                        .unwrap_or_default(),
                    ..AreaFigures::default()
                });
            match row.kind.as_str() {
                "incident" => {
                    bump(&mut report.incidents);
                    bump(&mut area.incidents);
                    bump(
                        report
                            .by_category
                            .entry(row.category.clone().unwrap_or_default())
                            .or_default(),
                    );
                    if row.contacted.is_some() {
                        bump(&mut report.police.contacted);
                        if row.attended.is_some() {
                            bump(&mut report.police.attended);
                        }
                    }
                    if current {
                        let at = local(row.occurred);
                        report.by_weekday[usize::from(at.weekday().number_days_from_monday())] += 1;
                        report.by_hour[usize::from(at.hour())] += 1;
                        match row.line.as_deref() {
                            Some("112") => report.police.emergency_calls += 1,
                            Some("11414") => report.police.non_emergency_calls += 1,
                            _ => {}
                        }
                        if let (Some(c), Some(a)) = (row.contacted, row.attended)
                            && a >= c
                        {
                            responses.push((a - c) as f64 / 60_000.0);
                        }
                        if row.severity.unwrap_or(0) >= 3 {
                            report.notable.push(Notable {
                                id: row.id,
                                occurred_at_ms: row.occurred,
                                category: row.category.clone().unwrap_or_default(),
                                severity: row.severity.unwrap_or(0),
                                area: area_names.get(area_key.as_str()).map(|n| (*n).to_owned()),
                                summary: row.description.clone().unwrap_or_default(),
                                police_contacted: row.contacted.is_some(),
                                police_attended: row.attended.is_some(),
                            });
                        }
                    }
                }
                "observation" => {
                    bump(&mut report.observations);
                    bump(&mut area.observations);
                    bump(
                        report
                            .by_observation_category
                            .entry(row.category.clone().unwrap_or_default())
                            .or_default(),
                    );
                }
                _ => {
                    bump(&mut report.patrols);
                    let hours = presence_hours(row);
                    if current {
                        area.patrols += 1;
                        area.presence_hours += hours;
                        presence_now += hours;
                        let mut evening = local(row.occurred);
                        if evening.hour() < 6 {
                            evening -= Duration::days(1);
                        }
                        *evenings.entry(evening.date()).or_default() += hours;
                    } else {
                        presence_before += hours;
                    }
                }
            }
            if current
                && row.kind != "patrol"
                && let (Some(lat), Some(lon)) = (row.lat, row.lon)
            {
                report.points.push(MapPoint {
                    lat,
                    lon,
                    kind: row.kind.clone(),
                    severity: row.severity,
                });
            }
        }
    }
    report.presence_hours = Change {
        now: presence_now.round() as i64,
        before: presence_before.round() as i64,
    };
    // Every evening of the period, also those without a patrol.
    let mut day = query.from;
    while day <= query.to {
        report
            .by_evening
            .push((day, evenings.get(&day).copied().unwrap_or(0.0)));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    report.police.median_response_min = median(&mut responses);
    report.police.max_response_min = responses.iter().copied().reduce(f64::max);
    report.police.responses_min = responses;
    report
        .notable
        .sort_by_key(|n| std::cmp::Reverse((n.severity, n.occurred_at_ms)));
    report.notable.truncate(10);
    report
}

/// Monday first, for labels.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Combines the reports of several organisations for the same period into one: counts, presence
/// hours and police figures added up (the response times' median taken over all of them), areas
/// and points side by side. Notable entries and summaries are left out: a combined report holds
/// aggregates only.
pub fn combine(query: &ReportQuery, parts: &[Report]) -> Report {
    let add = |a: &mut Change, b: Change| {
        a.now += b.now;
        a.before += b.before;
    };
    let mut total = Report {
        query: query.clone(),
        incidents: Change::default(),
        observations: Change::default(),
        patrols: Change::default(),
        presence_hours: Change::default(),
        by_category: BTreeMap::new(),
        by_observation_category: BTreeMap::new(),
        by_area: BTreeMap::new(),
        by_weekday: [0; 7],
        by_hour: [0; 24],
        by_evening: Vec::new(),
        police: PoliceFigures::default(),
        points: Vec::new(),
        shapes: Vec::new(),
        notable: Vec::new(),
        summary: String::new(),
        purged_before: None,
    };
    let mut evenings: BTreeMap<Date, f64> = BTreeMap::new();
    for part in parts {
        add(&mut total.incidents, part.incidents);
        add(&mut total.observations, part.observations);
        add(&mut total.patrols, part.patrols);
        add(&mut total.presence_hours, part.presence_hours);
        for (code, c) in &part.by_category {
            add(total.by_category.entry(code.clone()).or_default(), *c);
        }
        for (code, c) in &part.by_observation_category {
            add(
                total
                    .by_observation_category
                    .entry(code.clone())
                    .or_default(),
                *c,
            );
        }
        for (id, figures) in &part.by_area {
            total.by_area.insert(id.clone(), figures.clone());
        }
        for (i, n) in part.by_weekday.iter().enumerate() {
            total.by_weekday[i] += n;
        }
        for (i, n) in part.by_hour.iter().enumerate() {
            total.by_hour[i] += n;
        }
        for (day, hours) in &part.by_evening {
            *evenings.entry(*day).or_default() += hours;
        }
        add(&mut total.police.contacted, part.police.contacted);
        add(&mut total.police.attended, part.police.attended);
        total.police.emergency_calls += part.police.emergency_calls;
        total.police.non_emergency_calls += part.police.non_emergency_calls;
        total
            .police
            .responses_min
            .extend(&part.police.responses_min);
        total.points.extend(part.points.iter().cloned());
        total.shapes.extend(part.shapes.iter().cloned());
        total.purged_before = match (total.purged_before, part.purged_before) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
    }
    total.by_evening = evenings.into_iter().collect();
    let mut responses = total.police.responses_min.clone();
    total.police.median_response_min = median(&mut responses);
    total.police.max_response_min = responses.iter().copied().reduce(f64::max);
    total
}

/// An organisation's report beside those of every organisation sharing its aggregates with it
/// (by name), read together.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedReports {
    /// The organisation's own report.
    pub own: Report,
    /// The report of each organisation sharing with it, by name.
    pub sharing: Vec<(OrgName, Report)>,
}

/// The report of `org` for `query` and those of every organisation sharing with it.
pub fn shared_reports(
    conn: &Connection,
    org: OrgId,
    query: &ReportQuery,
) -> Result<SharedReports, StoreError> {
    let own = report(conn, org, query)?;
    let sharing = super::sharing::sharing_with(conn, org)?
        .into_iter()
        .map(|other| {
            let part = report(conn, other.id, query)?;
            Ok((other, part))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(SharedReports { own, sharing })
}

/// An area to add: its name and its GeoJSON geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArea {
    /// Its name.
    pub name: String,
    /// Its GeoJSON geometry (Polygon or MultiPolygon) in degrees.
    pub geojson: String,
}

/// The situation report and the areas it is drawn over, on either backend.
impl Store {
    /// The situation report of `org` for `query`.
    pub async fn report(&self, org: OrgId, query: ReportQuery) -> Result<Report, StoreError> {
        on_backend!(self,
            s => s.read(move |c| report(c, org, &query)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::reports::report(db, org, &query).await
            })).await,
        )
    }

    /// The report of `org` for `query` and those of every organisation sharing its aggregates
    /// with it, in one read.
    pub async fn shared_reports(
        &self,
        org: OrgId,
        query: ReportQuery,
    ) -> Result<SharedReports, StoreError> {
        on_backend!(self,
            s => s.read(move |c| shared_reports(c, org, &query)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::reports::shared_reports(db, org, &query).await
            })).await,
        )
    }

    /// The areas of `org` with their outlines, by name (archived ones too).
    pub async fn area_shapes(&self, org: OrgId) -> Result<Vec<AreaShape>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| area_shapes(c, &org.to_string())).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::reports::area_shapes(db, org).await
            })).await,
        )
    }

    /// Adds `areas` to `org` in one write; their ids, in the same order.
    pub async fn add_areas(
        &self,
        org: OrgId,
        areas: Vec<NewArea>,
        now_ms: i64,
    ) -> Result<Vec<AreaId>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| {
                let org = org.to_string();
                areas
                    .iter()
                    .map(|a| add_area(c, &org, &a.name, &a.geojson, now_ms))
                    .collect()
            }).await,
            p => p.write(move |tx| Box::pin(async move {
                let mut ids = Vec::with_capacity(areas.len());
                for a in &areas {
                    ids.push(postgres::reports::add_area(tx, org, &a.name, &a.geojson, now_ms).await?);
                }
                Ok(ids)
            })).await,
        )
    }

    /// Saves the coordinator's summary of `org` for `query`'s period.
    pub async fn save_summary(
        &self,
        org: OrgId,
        query: ReportQuery,
        text: String,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_backend!(self,
            s => s.write(move |c| save_summary(c, &org.to_string(), &query, &text, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::reports::save_summary(tx, org, &query, &text, now_ms).await
            })).await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn swedish_time_follows_the_eu_summer_time_rules() {
        let winter = datetime!(2026-01-15 12:00 UTC).unix_timestamp() * 1000;
        let summer = datetime!(2026-07-15 12:00 UTC).unix_timestamp() * 1000;
        let before_switch = datetime!(2026-03-29 00:59 UTC).unix_timestamp() * 1000;
        let after_switch = datetime!(2026-03-29 01:00 UTC).unix_timestamp() * 1000;
        assert_eq!(stockholm_offset_ms(winter), 3_600_000);
        assert_eq!(stockholm_offset_ms(summer), 7_200_000);
        assert_eq!(stockholm_offset_ms(before_switch), 3_600_000);
        assert_eq!(stockholm_offset_ms(after_switch), 7_200_000);
        assert_eq!(local(winter).hour(), 13);
    }

    #[test]
    fn a_period_runs_from_local_midnight_to_local_midnight() {
        let q = ReportQuery {
            from: date!(2026 - 11 - 08),
            to: date!(2026 - 11 - 21),
            areas: vec![],
        };
        let (start, end) = q.range_ms();
        assert_eq!(
            start,
            datetime!(2026-11-07 23:00 UTC).unix_timestamp() * 1000
        );
        assert_eq!(end, datetime!(2026-11-21 23:00 UTC).unix_timestamp() * 1000);
        assert_eq!(q.days(), 14);
        assert_eq!(q.previous().from, date!(2026 - 10 - 25));
    }

    #[test]
    fn periods_at_the_ends_of_the_calendar_do_not_overflow() {
        let q = ReportQuery {
            from: Date::MIN,
            to: Date::MAX,
            areas: vec![],
        };
        let (start, end) = q.range_ms();
        assert!(start < end);
        assert_eq!(end, i64::MAX);
        assert_eq!(q.previous().from, Date::MIN);
    }

    #[test]
    fn polygons_and_features_give_their_outer_rings() {
        let polygon = r#"{"type":"Polygon","coordinates":[[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.6]]]}"#;
        assert_eq!(rings_of(polygon)[0].len(), 4);
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{polygon}}}"#);
        assert_eq!(rings_of(&feature).len(), 1);
        assert!(rings_of("not json").is_empty());
    }
}
