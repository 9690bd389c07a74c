//! The situation report as aggregates only, for whoever sees past an organisation's boundary: a
//! liaison (always), and a municipality's coordinators and admins when they ask for the combined
//! report (`scope=combined`) over their own entries and every association that shares with them.
//! Counts, changes, presence hours, police figures and a coarse grid map; never an entry, a text
//! or an exact point. Small counts are suppressed by [`suppress`] (docs/DATA-PROTECTION.md).

use super::auth::Signed;
use super::layout;
use super::{LangError, Pairs, WithLang, category_label, i18n};
use crate::AppState;
use crate::store::audit::{Actor, AuditAction, ReportFormat};
use crate::store::reports::{self, Change, Report, ReportQuery, SharedReports};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use std::collections::BTreeMap;
use vaka_shared::OrgId;
use vaka_shared::model::{Lang, Role};

/// The smallest count shown as it is; 1 and 2 show as "<3".
pub const MIN_SHOWN: i64 = 3;

/// Grid cell size in degrees of latitude (about 1.1 km).
pub const GRID_LAT: f64 = 0.01;
/// Grid cell size in degrees of longitude (about 1.1 km at 59° N).
pub const GRID_LON: f64 = 0.02;

/// A count as it is published beyond its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Shown as it is (0, or 3 and more).
    Exact(i64),
    /// 1 or 2: shown as "<3".
    Under3,
    /// 3 or more, hidden so that a published total does not give away a small count.
    Hidden,
}

impl Shown {
    /// The text of the cell.
    pub fn text(self, lang: Lang) -> String {
        match self {
            Self::Exact(n) => n.to_string(),
            Self::Under3 => "<3".to_owned(),
            Self::Hidden => i18n::texts(lang).suppressed.to_owned(),
        }
    }

    /// The number, when it is shown.
    pub fn exact(self) -> Option<i64> {
        match self {
            Self::Exact(n) => Some(n),
            _ => None,
        }
    }
}

/// Whether the hidden cells of a table (`primary`: 1 or 2; `secondary`: 3 or more) could each take
/// at least two values, given that the reader knows their sum.
fn ambiguous(sum: i64, primary: i64, secondary: i64) -> bool {
    // The sums the cells other than one can make: `p` primaries make p..=2p; with `q > 0`
    // secondaries anything from p + 3q up.
    let reachable = |rest: i64, p: i64, q: i64| {
        if q == 0 {
            (p..=2 * p).contains(&rest)
        } else {
            rest >= p + 3 * q
        }
    };
    let values_of = |is_primary: bool| -> usize {
        let (p, q) = if is_primary {
            (primary - 1, secondary)
        } else {
            (primary, secondary - 1)
        };
        let candidates: Vec<i64> = if is_primary {
            vec![1, 2]
        } else {
            (MIN_SHOWN..=sum).collect()
        };
        candidates
            .into_iter()
            .filter(|v| reachable(sum - v, p, q))
            .take(2)
            .count()
    };
    (primary == 0 || values_of(true) >= 2) && (secondary == 0 || values_of(false) >= 2)
}

/// Suppresses one table of counts whose total is published elsewhere (a key figure). Cells of 1
/// or 2 show as "<3". Then, while the hidden cells could be worked out from the total (one hidden
/// cell alone, or a sum that only one split gives), the smallest cell still shown (of 3 or more)
/// is hidden too. When that is not enough, `None`: the table is not published at all.
#[cfg(test)]
pub fn suppress(cells: &[i64]) -> Option<Vec<Shown>> {
    suppress_with(cells, &[])
}

/// [`suppress`], with the cells `forced` (by index) hidden from the start: a combined count
/// whose part from other organisations is 1 or 2, for a viewer who knows their own part.
pub fn suppress_with(cells: &[i64], forced: &[bool]) -> Option<Vec<Shown>> {
    let mut shown: Vec<Shown> = cells
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            if (1..MIN_SHOWN).contains(&n) {
                Shown::Under3
            } else if forced.get(i).copied().unwrap_or(false) && n >= MIN_SHOWN {
                Shown::Hidden
            } else {
                Shown::Exact(n)
            }
        })
        .collect();
    loop {
        let primary = shown.iter().filter(|s| **s == Shown::Under3).count() as i64;
        let secondary = shown.iter().filter(|s| **s == Shown::Hidden).count() as i64;
        if primary + secondary == 0 {
            return Some(shown);
        }
        let sum: i64 = cells
            .iter()
            .zip(&shown)
            .filter(|(_, s)| !matches!(s, Shown::Exact(_)))
            .map(|(n, _)| *n)
            .sum();
        if ambiguous(sum, primary, secondary) {
            return Some(shown);
        }
        let next = cells
            .iter()
            .zip(&shown)
            .enumerate()
            .filter(|(_, (n, s))| **n >= MIN_SHOWN && matches!(s, Shown::Exact(_)))
            .min_by_key(|(_, (n, _))| **n)
            .map(|(i, _)| i);
        match next {
            Some(i) => shown[i] = Shown::Hidden,
            None => return None,
        }
    }
}

/// A published total: small totals show as "<3" (then nothing that sums to it can give a count
/// away either, since no cell is shown exactly below 3).
pub fn total(n: i64) -> Shown {
    if (1..MIN_SHOWN).contains(&n) {
        Shown::Under3
    } else {
        Shown::Exact(n)
    }
}

/// A change between two published counts, shown only when both are exact.
pub fn change(now: Shown, before: Shown) -> String {
    match (now.exact(), before.exact()) {
        (Some(a), Some(b)) => match a - b {
            0 => "±0".to_owned(),
            d if d > 0 => format!("+{d}"),
            d => format!("−{}", -d),
        },
        _ => "–".to_owned(),
    }
}

/// One grid cell of the coarse map: its south-west corner and the incidents and observations in
/// it this period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridCell {
    /// Southern edge, degrees.
    pub lat: f64,
    /// Western edge, degrees.
    pub lon: f64,
    /// Entries with a location in it.
    pub count: i64,
}

/// The points of a report counted into grid cells of [`GRID_LAT`] × [`GRID_LON`] degrees.
pub fn grid(report: &Report) -> Vec<GridCell> {
    let mut cells: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for p in &report.points {
        let key = (
            (p.lat / GRID_LAT).floor() as i64,
            (p.lon / GRID_LON).floor() as i64,
        );
        *cells.entry(key).or_default() += 1;
    }
    cells
        .into_iter()
        .map(|((la, lo), count)| GridCell {
            lat: la as f64 * GRID_LAT,
            lon: lo as f64 * GRID_LON,
            count,
        })
        .collect()
}

/// The grid cells of the combined report with their counts as published (for a viewer who knows
/// their own part, a cell whose other part is 1 or 2 is hidden from the start); `None` when the
/// grid cannot be published.
pub fn grid_shown(a: &Aggregate) -> Option<(Vec<GridCell>, Vec<Shown>)> {
    let cells = grid(&a.combined);
    let forced: Vec<bool> = if a.viewer_knows_own {
        let own = grid(&a.parts[0].1);
        cells
            .iter()
            .map(|c| {
                let mine = own
                    .iter()
                    .find(|o| (o.lat - c.lat).abs() < 1e-9 && (o.lon - c.lon).abs() < 1e-9)
                    .map_or(0, |o| o.count);
                others_small(c.count, mine)
            })
            .collect()
    } else {
        Vec::new()
    };
    let shown = suppress_with(&cells.iter().map(|c| c.count).collect::<Vec<_>>(), &forced)?;
    Some((cells, shown))
}

/// The aggregate report: each organisation's part and their sum.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The period.
    pub query: ReportQuery,
    /// Each organisation's own report (the viewer's first), with its name.
    pub parts: Vec<(String, Report)>,
    /// The organisations of `parts`, in the same order.
    pub part_orgs: Vec<OrgId>,
    /// Their sum.
    pub combined: Report,
    /// Whether the viewer knows their own organisation's exact figures (coordinators and admins
    /// do; a liaison does not), so that a combined count minus their own could give another
    /// organisation's small count away.
    pub viewer_knows_own: bool,
}

impl Aggregate {
    /// The organisations in it, with their ids (for the audit log of each side).
    pub fn org_names(&self) -> Vec<&str> {
        self.parts.iter().map(|(name, _)| name.as_str()).collect()
    }
}

/// Who sees the aggregate view of the report instead of the full one: a liaison always, a
/// coordinator or admin when `scope=combined` is asked for.
pub fn wants_aggregates(signed: &Signed, q: &Pairs) -> bool {
    signed.user.role == Role::Liaison || q.get("scope") == Some("combined")
}

/// The aggregate report of `org` (called `org_name`) for `query` from its own report and those
/// of the organisations sharing with it (read over all areas): notable entries and summaries
/// left out, and their sum.
pub fn aggregate(
    org: OrgId,
    org_name: &str,
    query: ReportQuery,
    shared: SharedReports,
    viewer_knows_own: bool,
) -> Aggregate {
    let mut parts = vec![(org_name.to_owned(), shared.own)];
    let mut part_orgs = vec![org];
    for (other, part) in shared.sharing {
        parts.push((other.name, part));
        part_orgs.push(other.id);
    }
    for (_, part) in &mut parts {
        part.notable.clear();
        part.summary.clear();
    }
    let combined = reports::combine(
        &query,
        &parts.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    );
    Aggregate {
        query,
        parts,
        part_orgs,
        combined,
        viewer_knows_own,
    }
}

/// Loads the signed-in member's aggregate report: their organisation's own report and that of
/// every organisation sharing with it, over all areas.
pub async fn load_for(
    app: &AppState,
    signed: &Signed,
    query: ReportQuery,
) -> Result<Aggregate, LangError> {
    let org = signed.user.org_id;
    let query = ReportQuery {
        areas: Vec::new(),
        ..query
    };
    let shared = app
        .store
        .shared_reports(org, query.clone())
        .await
        .lang(signed.lang)?;
    let knows_own = signed.user.role != Role::Liaison;
    Ok(aggregate(
        org,
        &signed.user.org_name,
        query,
        shared,
        knows_own,
    ))
}

/// Records the view in the audit log of the viewer's organisation and of every organisation
/// whose aggregates it holds: who saw which period in which form.
pub async fn record(
    app: &AppState,
    signed: &Signed,
    a: &Aggregate,
    format: ReportFormat,
) -> Result<(), LangError> {
    let viewer = signed.user.org_id;
    let actor = Actor::Member(signed.user.member_id);
    for report_org in &a.part_orgs {
        let sides: &[OrgId] = if *report_org == viewer {
            &[viewer]
        } else {
            &[viewer, *report_org]
        };
        for side in sides {
            let action = AuditAction::SharedAggregatesViewed {
                report_org: *report_org,
                viewer_org: viewer,
                from: a.query.from.to_string(),
                to: a.query.to.to_string(),
                format,
            };
            app.store
                .record_view(Some(*side), actor, action, crate::now_ms())
                .await
                .lang(signed.lang)?;
        }
    }
    Ok(())
}

/// One published row: label, this period, previous period, change.
pub type Row = (String, Shown, Shown, String);

/// A table's rows as published: label, this period, previous period, change. `None`: the table
/// cannot be published without giving a small count away.
pub fn table(rows: &[(String, Change)]) -> Option<Vec<Row>> {
    table_knowing(rows, None)
}

/// Whether the part of a combined count that comes from other organisations than the viewer's
/// (whose own count is `own`) is 1 or 2: the viewer could subtract, so the count is hidden.
fn others_small(combined: i64, own: i64) -> bool {
    (1..MIN_SHOWN).contains(&(combined - own))
}

/// [`table`] for a viewer who knows their own organisation's part of each row (`own`, in row
/// order): a row whose other part is 1 or 2 is hidden from the start.
pub fn table_knowing(rows: &[(String, Change)], own: Option<&[Change]>) -> Option<Vec<Row>> {
    let forced = |pick: fn(&Change) -> i64| -> Vec<bool> {
        match own {
            None => Vec::new(),
            Some(own) => rows
                .iter()
                .zip(own)
                .map(|((_, c), o)| others_small(pick(c), pick(o)))
                .collect(),
        }
    };
    let now = suppress_with(
        &rows.iter().map(|(_, c)| c.now).collect::<Vec<_>>(),
        &forced(|c| c.now),
    )?;
    let before = suppress_with(
        &rows.iter().map(|(_, c)| c.before).collect::<Vec<_>>(),
        &forced(|c| c.before),
    )?;
    Some(
        rows.iter()
            .zip(now.iter().zip(&before))
            .map(|((label, _), (n, b))| (label.clone(), *n, *b, change(*n, *b)))
            .collect(),
    )
}

/// The aggregate tables of a report, in page order: (title, rows).
pub fn tables(a: &Aggregate, lang: Lang) -> Vec<(&'static str, Option<Vec<Row>>)> {
    let t = i18n::texts(lang);
    let r = &a.combined;
    let parts: Vec<(String, Change)> = a
        .parts
        .iter()
        .map(|(name, p)| (name.clone(), p.incidents))
        .collect();
    // A coordinator or admin knows their own organisation's figures (a liaison does not).
    let own = a.viewer_knows_own.then(|| &a.parts[0].1);
    let categories: Vec<(String, Change)> = r
        .by_category
        .iter()
        .map(|(code, c)| (category_label("incident", code, lang), *c))
        .collect();
    let own_categories: Option<Vec<Change>> = own.map(|o| {
        r.by_category
            .keys()
            .map(|k| o.by_category.get(k).copied().unwrap_or_default())
            .collect()
    });
    let observations: Vec<(String, Change)> = r
        .by_observation_category
        .iter()
        .map(|(code, c)| (category_label("observation", code, lang), *c))
        .collect();
    let own_observations: Option<Vec<Change>> = own.map(|o| {
        r.by_observation_category
            .keys()
            .map(|k| {
                o.by_observation_category
                    .get(k)
                    .copied()
                    .unwrap_or_default()
            })
            .collect()
    });
    // Each organisation's areas are a table of their own: its total is published in the parts
    // table, so each block is suppressed against it (a block that cannot be shown is hidden).
    let mut areas = Vec::new();
    for (org, p) in &a.parts {
        let rows: Vec<(String, Change)> = p
            .by_area
            .values()
            .map(|f| {
                let name = if f.name.is_empty() {
                    t.no_area.to_owned()
                } else {
                    f.name.clone()
                };
                (format!("{name} ({org})"), f.incidents)
            })
            .collect();
        match table(&rows) {
            Some(block) => areas.extend(block),
            None => areas.extend(
                rows.into_iter()
                    .map(|(label, _)| (label, Shown::Hidden, Shown::Hidden, "–".to_owned())),
            ),
        }
    }
    let weekdays: Vec<(String, Change)> = t
        .weekdays
        .split(',')
        .zip(r.by_weekday)
        .map(|(day, n)| (day.to_owned(), Change { now: n, before: 0 }))
        .collect();
    let own_weekdays: Option<Vec<Change>> = own.map(|o| {
        o.by_weekday
            .iter()
            .map(|n| Change { now: *n, before: 0 })
            .collect()
    });
    let not_attended = |p: &reports::PoliceFigures| Change {
        now: p.contacted.now - p.attended.now,
        before: p.contacted.before - p.attended.before,
    };
    let own_police: Option<Vec<Change>> =
        own.map(|o| vec![o.police.attended, not_attended(&o.police)]);
    let attended = r.police.attended;
    let police: Vec<(String, Change)> = vec![
        (t.police_attended.to_owned(), attended),
        (
            t.police_not_attended.to_owned(),
            Change {
                now: r.police.contacted.now - attended.now,
                before: r.police.contacted.before - attended.before,
            },
        ),
    ];
    vec![
        (t.parts, table(&parts)),
        (
            t.by_category,
            table_knowing(&categories, own_categories.as_deref()),
        ),
        (
            t.observation_categories,
            table_knowing(&observations, own_observations.as_deref()),
        ),
        (t.by_area, Some(areas)),
        (
            t.by_weekday_now,
            table_knowing(&weekdays, own_weekdays.as_deref()).map(|rows| {
                rows.into_iter()
                    .map(|(l, n, _, _)| (l, n, Shown::Exact(0), String::new()))
                    .collect()
            }),
        ),
        (
            t.police_figures,
            table_knowing(&police, own_police.as_deref()),
        ),
    ]
}

/// The key figures as published, as text: label, this period, previous period, change.
pub fn key_figures(a: &Aggregate, lang: Lang) -> Vec<(String, String, String, String)> {
    let t = i18n::texts(lang);
    let (p_now, p_before) = presence(a);
    let mut rows: Vec<(String, String, String, String)> = kpis(a, lang)
        .into_iter()
        .map(|(label, now, before, change)| {
            (label.to_owned(), now.text(lang), before.text(lang), change)
        })
        .collect();
    rows.push((
        t.presence_hours.to_owned(),
        format!("{p_now:.0}"),
        format!("{p_before:.0}"),
        "–".to_owned(),
    ));
    rows.push((
        t.median_response.to_owned(),
        median_response(a).map_or_else(|| "–".to_owned(), |m| format!("{m:.0}")),
        String::new(),
        String::new(),
    ));
    rows
}

fn kpis(a: &Aggregate, lang: Lang) -> Vec<(&'static str, Shown, Shown, String)> {
    let t = i18n::texts(lang);
    let r = &a.combined;
    let own = a.viewer_knows_own.then(|| &a.parts[0].1);
    let count = |label: &'static str, c: Change, own: Option<Change>| {
        let one = |n: i64, o: Option<i64>| match o {
            Some(o) if others_small(n, o) && n >= MIN_SHOWN => Shown::Hidden,
            _ => total(n),
        };
        let (n, b) = (
            one(c.now, own.map(|o| o.now)),
            one(c.before, own.map(|o| o.before)),
        );
        (label, n, b, change(n, b))
    };
    vec![
        count(t.incidents, r.incidents, own.map(|o| o.incidents)),
        count(t.observations, r.observations, own.map(|o| o.observations)),
        count(t.patrols, r.patrols, own.map(|o| o.patrols)),
        count(
            t.police_contacted_count,
            r.police.contacted,
            own.map(|o| o.police.contacted),
        ),
    ]
}

/// The presence hours (not counts of people, so never suppressed): this period and before.
fn presence(a: &Aggregate) -> (f64, f64) {
    let r = &a.combined;
    (r.presence_hours.now as f64, r.presence_hours.before as f64)
}

/// The median response time, shown only over at least [`MIN_SHOWN`] arrivals.
fn median_response(a: &Aggregate) -> Option<f64> {
    let p = &a.combined.police;
    (p.responses_min.len() as i64 >= MIN_SHOWN)
        .then_some(p.median_response_min)
        .flatten()
}

/// The grid map as an SVG: one square per cell with its count as published.
fn grid_svg(a: &Aggregate, lang: Lang) -> Option<String> {
    let (cells, shown) = grid_shown(a)?;
    if cells.is_empty() {
        return None;
    }
    let (min_lat, max_lat) = cells.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
        (lo.min(c.lat), hi.max(c.lat))
    });
    let (min_lon, max_lon) = cells.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
        (lo.min(c.lon), hi.max(c.lon))
    });
    let cols = ((max_lon - min_lon) / GRID_LON).round() as i64 + 1;
    let rows = ((max_lat - min_lat) / GRID_LAT).round() as i64 + 1;
    let size = 48.0;
    let width = cols as f64 * size;
    let height = rows as f64 * size;
    let t = i18n::texts(lang);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        t.grid_map, t.grid_map
    );
    for (cell, shown) in cells.iter().zip(&shown) {
        let x = ((cell.lon - min_lon) / GRID_LON).round() * size;
        let y = height - (((cell.lat - min_lat) / GRID_LAT).round() + 1.0) * size;
        let shade = match shown {
            Shown::Exact(n) if *n >= 10 => "#c0392b",
            Shown::Exact(n) if *n >= 5 => "#e67e22",
            _ => "#f5c77e",
        };
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{size}\" height=\"{size}\" fill=\"{shade}\" stroke=\"#fff\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#111\">{}</text>",
            x + size / 2.0,
            y + size / 2.0 + 5.0,
            escape(&shown.text(lang))
        ));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Text for an SVG element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn shown_table(lang: Lang, title: &str, rows: &Option<Vec<Row>>, with_before: bool) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card.aggregate {
            h2 { (title) }
            @match rows {
                None => p.muted { (t.table_withheld) }
                Some(rows) => table {
                    thead { tr { th { (t.figure) } th { (t.this_period) } @if with_before { th { (t.previous_period) } th { (t.change) } } } }
                    tbody { @for (label, now, before, change) in rows { tr {
                        td { (label) } td.num { (now.text(lang)) }
                        @if with_before { td.num { (before.text(lang)) } td.num { (change) } }
                    } } }
                }
            }
        }
    }
}

/// The period form of the aggregate report (no areas: a combined report covers every area of
/// every organisation in it).
pub fn period_form(lang: Lang, query: &ReportQuery, combined: bool) -> Markup {
    let t = i18n::texts(lang);
    html! {
        form.filters method="get" action="/report" {
            label for="from" { (t.period_from) }
            input id="from" name="from" type="date" value=(query.from.to_string());
            label for="to" { (t.period_to) }
            input id="to" name="to" type="date" value=(query.to.to_string());
            @if combined { input type="hidden" name="scope" value="combined"; }
            button type="submit" { (t.make_report) }
        }
    }
}

/// The aggregate report page.
pub fn page(signed: &Signed, a: &Aggregate, qs: &str, filter: Markup) -> Response {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let (presence_now, presence_before) = presence(a);
    let scope = if signed.user.role == Role::Liaison {
        String::new()
    } else {
        "&scope=combined".to_owned()
    };
    let body = html! {
        h1 { (t.report) ": " (t.aggregates_only) }
        (filter)
        h2 id="period" { (t.report_for) " " (a.query.from) " – " (a.query.to) }
        p.note id="aggregate-note" { (t.aggregate_note) }
        p { (t.combined_of) " " (a.org_names().join(", ")) "." }
        p.no-print { (t.download) ": "
            a id="pdf" href={ "/report.pdf?" (qs) (scope) } { "PDF" } " · "
            a id="csv" href={ "/report.csv?" (qs) (scope) } { "CSV" } " · "
            a id="geojson" href={ "/report.geojson?" (qs) (scope) } { "GeoJSON" }
        }
        @if let Some(note) = super::report::purge_note(&a.combined, lang) { p.note id="purged" role="note" { (note) } }
        section.card.aggregate id="key-figures" {
            h2 { (t.key_figures) }
            table {
                thead { tr { th { (t.figure) } th { (t.this_period) } th { (t.previous_period) } th { (t.change) } } }
                tbody {
                    @for (label, now, before, change) in kpis(a, lang) { tr {
                        td { (label) } td.num { (now.text(lang)) } td.num { (before.text(lang)) } td.num { (change) }
                    } }
                    tr { td { (t.presence_hours) } td.num { (format!("{presence_now:.0}")) } td.num { (format!("{presence_before:.0}")) } td.num { "–" } }
                    tr { td { (t.median_response) } td.num { (median_response(a).map_or_else(|| "–".to_owned(), |m| format!("{m:.0}"))) } td {} td {} }
                }
            }
        }
        @for (title, rows) in tables(a, lang) {
            (shown_table(lang, title, &rows, title != t.by_weekday_now))
        }
        section.card.aggregate id="grid" {
            h2 { (t.grid_map) }
            p.muted { (t.grid_text) }
            @match grid_svg(a, lang) {
                Some(svg) => div.grid-map { (PreEscaped(svg)) }
                None => p.muted { (t.table_withheld) }
            }
        }
        p.muted id="suppression-rule" { (t.suppression_rule) }
    };
    layout::page(lang, Some(signed), t.report, body).into_response()
}

/// The aggregate report as CSV: `table,row,this_period,previous_period,change`, with the counts as
/// published.
pub fn csv(a: &Aggregate, lang: Lang) -> Response {
    let t = i18n::texts(lang);
    let mut out = String::from("table,row,this_period,previous_period,change\n");
    let field = |text: &str| {
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    };
    for (label, now, before, change) in kpis(a, lang) {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            field(t.key_figures),
            field(label),
            now.text(lang),
            before.text(lang),
            field(&change)
        ));
    }
    let (p_now, p_before) = presence(a);
    out.push_str(&format!(
        "{},{},{p_now:.1},{p_before:.1},\n",
        field(t.key_figures),
        field(t.presence_hours)
    ));
    for (title, rows) in tables(a, lang) {
        match rows {
            None => out.push_str(&format!(
                "{},{},,,\n",
                field(title),
                field(t.table_withheld)
            )),
            Some(rows) => {
                for (label, now, before, change) in rows {
                    out.push_str(&format!(
                        "{},{},{},{},{}\n",
                        field(title),
                        field(&label),
                        now.text(lang),
                        before.text(lang),
                        field(&change)
                    ));
                }
            }
        }
    }
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"lagesbild-sammanstallning-{}-{}.csv\"",
                    a.query.from, a.query.to
                ),
            ),
        ],
        out,
    )
        .into_response()
}

/// The coarse grid as GeoJSON: one square polygon per cell with its count as published
/// (`count`: a number, `"<3"`, or `null` when hidden).
pub fn geojson(a: &Aggregate, lang: Lang) -> Response {
    let features: Vec<serde_json::Value> = match grid_shown(a) {
        None => Vec::new(),
        Some((cells, shown)) => cells
            .iter()
            .zip(shown)
            .map(|(c, s)| {
                let ring = vec![
                    [c.lon, c.lat],
                    [c.lon + GRID_LON, c.lat],
                    [c.lon + GRID_LON, c.lat + GRID_LAT],
                    [c.lon, c.lat + GRID_LAT],
                    [c.lon, c.lat],
                ];
                let count = match s {
                    Shown::Exact(n) => serde_json::json!(n),
                    Shown::Under3 => serde_json::json!("<3"),
                    Shown::Hidden => serde_json::Value::Null,
                };
                serde_json::json!({
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"count": count, "label": s.text(lang)},
                })
            })
            .collect(),
    };
    let body = serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "from": a.query.from.to_string(),
            "to": a.query.to.to_string(),
            "organisations": a.org_names(),
            "cell_degrees": {"lat": GRID_LAT, "lon": GRID_LON},
            "suppression": "counts of 1 or 2 are \"<3\"; further cells are hidden (null) where a total would give a small count away",
        },
    });
    (
        [
            (CONTENT_TYPE, "application/geo+json".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"lagesbild-rutnat-{}-{}.geojson\"",
                    a.query.from, a.query.to
                ),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn text(shown: &Option<Vec<Shown>>) -> String {
        match shown {
            None => "withheld".to_owned(),
            Some(cells) => cells
                .iter()
                .map(|s| match s {
                    Shown::Exact(n) => n.to_string(),
                    Shown::Under3 => "<3".to_owned(),
                    Shown::Hidden => "H".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    #[rstest]
    #[case::nothing_small(&[5, 0, 7], "5 0 7")]
    #[case::one_small_cell_takes_another_with_it(&[8, 2, 5], "8 <3 H")]
    #[case::two_small_cells_that_could_split_two_ways(&[8, 1, 2], "8 <3 <3")]
    #[case::two_twos_would_be_known_from_their_sum(&[8, 2, 2, 6], "8 <3 <3 H")]
    #[case::two_ones_too(&[9, 1, 1, 4], "9 <3 <3 H")]
    #[case::only_one_count_is_no_secret(&[2], "withheld")]
    #[case::zeros_are_shown(&[0, 0, 4], "0 0 4")]
    fn small_counts_are_suppressed_so_no_total_gives_them_away(
        #[case] cells: &[i64],
        #[case] expected: &str,
    ) {
        assert_eq!(text(&suppress(cells)), expected);
    }

    /// Whatever the table, no hidden cell can be worked out from the published cells and total:
    /// every hidden cell can take at least two values.
    #[test]
    fn no_hidden_cell_is_determined_by_the_total() {
        let mut tables = Vec::new();
        for a in 0..6 {
            for b in 0..6 {
                for c in 0..9 {
                    tables.push(vec![a, b, c]);
                }
            }
        }
        for cells in tables {
            let Some(shown) = suppress(&cells) else {
                continue;
            };
            let total: i64 = cells.iter().sum();
            let visible: i64 = cells
                .iter()
                .zip(&shown)
                .filter_map(|(n, s)| s.exact().map(|_| *n))
                .sum();
            let hidden: Vec<(i64, Shown)> = cells
                .iter()
                .copied()
                .zip(shown.iter().copied())
                .filter(|(_, s)| s.exact().is_none())
                .collect();
            // Enumerate every assignment the reader could think of.
            let options = |s: Shown| -> Vec<i64> {
                if s == Shown::Under3 {
                    vec![1, 2]
                } else {
                    (3..=total).collect()
                }
            };
            let mut possible: Vec<std::collections::BTreeSet<i64>> =
                vec![Default::default(); hidden.len()];
            fn walk(
                i: usize,
                left: i64,
                hidden: &[(i64, Shown)],
                options: &dyn Fn(Shown) -> Vec<i64>,
                chosen: &mut Vec<i64>,
                possible: &mut [std::collections::BTreeSet<i64>],
            ) {
                if i == hidden.len() {
                    if left == 0 {
                        for (j, v) in chosen.iter().enumerate() {
                            possible[j].insert(*v);
                        }
                    }
                    return;
                }
                for v in options(hidden[i].1) {
                    if v <= left {
                        chosen.push(v);
                        walk(i + 1, left - v, hidden, options, chosen, possible);
                        chosen.pop();
                    }
                }
            }
            walk(
                0,
                total - visible,
                &hidden,
                &options,
                &mut Vec::new(),
                &mut possible,
            );
            for (j, values) in possible.iter().enumerate() {
                assert!(
                    values.len() >= 2,
                    "{cells:?} → {shown:?}: hidden cell {j} can only be {values:?}"
                );
            }
        }
    }
}
