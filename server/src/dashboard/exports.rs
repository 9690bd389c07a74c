//! The situation report as files: PDF (headings, figures, tables and the same charts as the
//! page), CSV (one row per entry, columns in [`CSV_COLUMNS`]) and GeoJSON (the areas with their
//! figures and the entries with a location).

use super::auth::Signed;
use super::pdf::Document;
use super::report::record_report_view;
use super::report::{area_name, change_text, charts, load, query_or_refuse};
use super::{PageResult, Pairs, WithLang, category_label, fmt_time, i18n};
use crate::AppState;
use crate::store::audit::ReportFormat;
use crate::store::entries::{self, EntryRow};
use crate::store::reports::{Report, ReportQuery};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use vaka_shared::Timestamp;
use vaka_shared::model::{Lang, Severity};

/// The CSV columns, in order (documented in the README).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "occurred_at",
    "ended_at",
    "received_at",
    "area",
    "category",
    "severity",
    "review_status",
    "group",
    "lat",
    "lon",
    "place",
    "participants",
    "people_involved",
    "minors_involved",
    "police_line",
    "police_contacted_at",
    "police_attended_at",
    "police_response_min",
    "police_event_number",
    "forwarded_to",
    "tags",
    "description",
];

fn rfc3339(ms: Option<i64>) -> String {
    ms.and_then(Timestamp::from_unix_ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn file_name(q: &ReportQuery, ext: &str) -> String {
    format!("lagesbild-{}-{}.{ext}", q.from, q.to)
}

async fn rows(
    app: &AppState,
    signed: &Signed,
    q: &ReportQuery,
) -> Result<Vec<EntryRow>, super::LangError> {
    let org = signed.org();
    let (start, end) = q.range_ms();
    let areas = q.areas.clone();
    let all = app
        .store
        .read(move |conn| entries::in_period(conn, &org, start, end))
        .await
        .lang(signed.lang)?;
    Ok(all
        .into_iter()
        .filter(|r| areas.is_empty() || r.area_id.as_ref().is_some_and(|a| areas.contains(a)))
        .collect())
}

/// One CSV field, quoted when needed.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The CSV text of `rows`.
pub fn csv_text(rows: &[EntryRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let response = match (r.police_contacted_ms, r.police_attended_ms) {
            (Some(c), Some(a)) if a >= c => format!("{:.0}", (a - c) as f64 / 60_000.0),
            _ => String::new(),
        };
        let fields = [
            r.id.clone(),
            r.kind.clone(),
            rfc3339(r.occurred_at_ms),
            rfc3339(r.ended_at_ms),
            rfc3339(Some(r.received_at_ms)),
            r.area_name.clone().unwrap_or_default(),
            r.category.clone().unwrap_or_default(),
            r.severity.map(|s| s.to_string()).unwrap_or_default(),
            r.review_status.clone(),
            r.author_group.clone().unwrap_or_default(),
            r.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
            r.lon.map(|v| format!("{v:.6}")).unwrap_or_default(),
            r.place.clone().unwrap_or_default(),
            r.participants.map(|v| v.to_string()).unwrap_or_default(),
            r.people_involved.map(|v| v.to_string()).unwrap_or_default(),
            r.minors_involved.map(|v| v.to_string()).unwrap_or_default(),
            r.police_line.clone().unwrap_or_default(),
            rfc3339(r.police_contacted_ms),
            rfc3339(r.police_attended_ms),
            response,
            r.police_event_number.clone().unwrap_or_default(),
            r.forwarded_to.join(";"),
            r.tags.join(";"),
            r.description.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// `GET /report.csv`.
pub async fn csv(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = query_or_refuse(
        &Pairs::parse(query.unwrap_or_default().as_bytes()),
        signed.lang,
    )?;
    let rows = rows(&app, &signed, &q).await?;
    record_report_view(&app, &signed, &q, ReportFormat::Csv).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&q, "csv")),
            ),
        ],
        csv_text(&rows),
    )
        .into_response())
}

/// The GeoJSON of a report: areas with their figures, entries with a location.
pub fn geojson_value(report: &Report, rows: &[EntryRow]) -> Value {
    let mut features = Vec::new();
    for shape in &report.shapes {
        let Some(figures) = report.by_area.get(&shape.id) else {
            continue;
        };
        let rings: Vec<Vec<[f64; 2]>> = shape
            .rings
            .iter()
            .map(|r| r.iter().map(|(lon, lat)| [*lon, *lat]).collect())
            .collect();
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "MultiPolygon", "coordinates": rings.iter().map(|r| vec![r.clone()]).collect::<Vec<_>>()},
            "properties": {
                "feature": "area",
                "id": shape.id,
                "name": shape.name,
                "incidents": figures.incidents.now,
                "incidents_previous": figures.incidents.before,
                "observations": figures.observations.now,
                "patrols": figures.patrols,
                "presence_hours": (figures.presence_hours * 10.0).round() / 10.0,
            }
        }));
    }
    for r in rows {
        let (Some(lat), Some(lon)) = (r.lat, r.lon) else {
            continue;
        };
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "feature": r.kind,
                "id": r.id,
                "occurred_at": rfc3339(r.occurred_at_ms),
                "area": r.area_name,
                "category": r.category,
                "severity": r.severity,
                "review_status": r.review_status,
                "police_contacted": r.police_contacted_ms.is_some(),
                "police_attended": r.police_attended_ms.is_some(),
            }
        }));
    }
    json!({
        "type": "FeatureCollection",
        "properties": {
            "from": report.query.from.to_string(),
            "to": report.query.to.to_string(),
            "incidents": report.incidents.now,
            "observations": report.observations.now,
            "patrols": report.patrols.now,
            "incidents_without_area": report.by_area.get("").map_or(0, |a| a.incidents.now),
        },
        "features": features,
    })
}

/// `GET /report.geojson`.
pub async fn geojson(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = query_or_refuse(
        &Pairs::parse(query.unwrap_or_default().as_bytes()),
        signed.lang,
    )?;
    let report = load(&app, &signed, q.clone()).await?;
    let rows = rows(&app, &signed, &q).await?;
    record_report_view(&app, &signed, &q, ReportFormat::Geojson).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/geo+json".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&q, "geojson")),
            ),
        ],
        geojson_value(&report, &rows).to_string(),
    )
        .into_response())
}

/// The report as a PDF document.
pub fn pdf_bytes(report: &Report, org_name: &str, lang: Lang) -> Vec<u8> {
    let t = i18n::texts(lang);
    let q = &report.query;
    let previous = q.previous();
    let mut doc = Document::new(&format!("{} {} – {}", t.report, q.from, q.to));
    doc.heading(t.report, 22.0);
    doc.paragraph(
        &format!(
            "{org_name}\n{} {} – {} ({} {} – {})",
            t.report_for, q.from, q.to, t.compared_with, previous.from, previous.to
        ),
        11.0,
    );
    if let Some(note) = super::report::purge_note(report, lang) {
        doc.paragraph(&note, 10.0);
    }
    doc.heading(t.summary, 14.0);
    doc.paragraph(
        if report.summary.is_empty() {
            "–"
        } else {
            &report.summary
        },
        10.0,
    );
    doc.heading(t.key_figures, 14.0);
    let kpi = |label: &str, c: crate::store::reports::Change| {
        vec![
            label.to_owned(),
            c.now.to_string(),
            c.before.to_string(),
            change_text(c),
        ]
    };
    doc.table(
        &["", t.this_period, t.previous_period, t.change],
        &[
            kpi(t.incidents, report.incidents),
            kpi(t.observations, report.observations),
            kpi(t.patrols, report.patrols),
            kpi(t.presence_hours, report.presence_hours),
        ],
        &[0.4, 0.2, 0.2, 0.2],
        &[false, true, true, true],
    );
    doc.heading(t.by_area, 14.0);
    let area_rows: Vec<Vec<String>> = report
        .by_area
        .values()
        .map(|a| {
            vec![
                area_name(&a.name, lang),
                a.incidents.now.to_string(),
                change_text(a.incidents),
                a.observations.now.to_string(),
                a.patrols.to_string(),
                format!("{:.1}", a.presence_hours),
            ]
        })
        .collect();
    doc.table(
        &[
            t.area,
            t.incidents,
            t.change,
            t.observations,
            t.patrols,
            t.presence_hours,
        ],
        &area_rows,
        &[0.3, 0.12, 0.12, 0.14, 0.12, 0.2],
        &[false, true, true, true, true, true],
    );
    for (title, drawing) in charts(report, lang) {
        doc.heading(title, 13.0);
        if title == t.map {
            doc.paragraph(t.map_legend, 8.0);
        }
        doc.drawing(&drawing, 499.0);
    }
    doc.heading(t.police_figures, 14.0);
    let opt = |m: Option<f64>| m.map(|m| format!("{m:.0}")).unwrap_or_else(|| "–".into());
    doc.table(
        &["", t.this_period, t.previous_period],
        &[
            vec![
                t.police_contacted_n.into(),
                report.police.contacted.now.to_string(),
                report.police.contacted.before.to_string(),
            ],
            vec![
                t.police_attended_n.into(),
                report.police.attended.now.to_string(),
                report.police.attended.before.to_string(),
            ],
            vec![
                t.calls_112.into(),
                report.police.emergency_calls.to_string(),
                String::new(),
            ],
            vec![
                t.calls_11414.into(),
                report.police.non_emergency_calls.to_string(),
                String::new(),
            ],
            vec![
                t.median_response.into(),
                opt(report.police.median_response_min),
                String::new(),
            ],
            vec![
                t.max_response.into(),
                opt(report.police.max_response_min),
                String::new(),
            ],
        ],
        &[0.5, 0.25, 0.25],
        &[false, true, true],
    );
    doc.heading(t.notable, 14.0);
    for n in &report.notable {
        doc.paragraph(
            &format!(
                "{} · {} · {} {} · {}{}\n{}",
                fmt_time(n.occurred_at_ms),
                category_label("incident", &n.category, lang),
                n.severity,
                Severity(n.severity as u8).label(lang),
                n.area.clone().unwrap_or_default(),
                if n.police_attended {
                    format!(" · {}", t.police_attended)
                } else if n.police_contacted {
                    format!(" · {}", t.police_contacted)
                } else {
                    String::new()
                },
                n.summary
            ),
            9.0,
        );
    }
    doc.paragraph(t.privacy_note, 8.0);
    doc.finish()
}

/// `GET /report.pdf`.
pub async fn pdf(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = query_or_refuse(
        &Pairs::parse(query.unwrap_or_default().as_bytes()),
        signed.lang,
    )?;
    let report = load(&app, &signed, q.clone()).await?;
    let bytes = pdf_bytes(&report, &signed.user.org_name, signed.lang);
    record_report_view(&app, &signed, &q, ReportFormat::Pdf).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&q, "pdf")),
            ),
        ],
        bytes,
    )
        .into_response())
}
