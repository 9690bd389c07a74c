//! The situation report as files: PDF (headings, figures, tables and the same charts as the
//! page), CSV (one row per entry, columns in [`CSV_COLUMNS`]) and GeoJSON (the areas with their
//! figures and the entries with a location).

use super::aggregates::{self, Aggregate};
use super::auth::Signed;
use super::pdf::{Cell, Document, Meta, PdfError, Tone};
use super::report::record_report_view;
use super::report::{
    Better, area_name, charts, comparable, comparison_note, load, number, query_or_refuse,
    shown_change, tone,
};
use super::{PageResult, Pairs, WithLang, category_label, fmt_time, i18n};
use crate::AppState;
use crate::store::audit::ReportFormat;
use crate::store::entries::EntryRow;
use crate::store::reports::{Change, Report, ReportQuery};
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
    let (start, end) = q.range_ms();
    let areas = q.areas.clone();
    let all = app
        .store
        .entries_in_period(signed.user.org_id, start, end)
        .await
        .lang(signed.lang)?;
    Ok(all
        .into_iter()
        .filter(|r| areas.is_empty() || r.area_id.is_some_and(|a| areas.contains(&a)))
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
            r.id.to_string(),
            r.kind.as_str().to_owned(),
            rfc3339(r.occurred_at_ms),
            rfc3339(r.ended_at_ms),
            rfc3339(Some(r.received_at_ms)),
            r.area_name.clone().unwrap_or_default(),
            r.category.clone().unwrap_or_default(),
            r.severity.map(|s| s.to_string()).unwrap_or_default(),
            r.review_status.as_str().to_owned(),
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
    let raw = Pairs::parse(query.unwrap_or_default().as_bytes());
    let q = query_or_refuse(&raw, signed.lang)?;
    if aggregates::wants_aggregates(&signed, &raw) {
        let a = aggregates::load_for(&app, &signed, q).await?;
        aggregates::record(&app, &signed, &a, ReportFormat::Csv).await?;
        return Ok(aggregates::csv(&a, signed.lang));
    }
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
        let Some(figures) = report.by_area.get(&shape.id.to_string()) else {
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
    let raw = Pairs::parse(query.unwrap_or_default().as_bytes());
    let q = query_or_refuse(&raw, signed.lang)?;
    if aggregates::wants_aggregates(&signed, &raw) {
        let a = aggregates::load_for(&app, &signed, q).await?;
        aggregates::record(&app, &signed, &a, ReportFormat::Geojson).await?;
        return Ok(aggregates::geojson(&a, signed.lang));
    }
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

/// Who produced a PDF and when: for its footer and properties.
#[derive(Debug, Clone)]
pub struct Producer<'a> {
    /// The organisation.
    pub org: &'a str,
    /// The coordinator who produced it.
    pub by: &'a str,
    /// When, as Unix ms.
    pub at_ms: i64,
}

/// The report as a PDF document, in `lang`, every page naming the organisation, the
/// coordinator who produced it and when.
pub fn pdf_bytes(
    report: &Report,
    producer: &Producer<'_>,
    lang: Lang,
) -> Result<Vec<u8>, PdfError> {
    let t = i18n::texts(lang);
    let q = &report.query;
    let previous = q.previous();
    let produced = crate::store::reports::local(producer.at_ms);
    let title = format!("{} {} – {}", t.report, q.from, q.to);
    let mut doc = Document::new(Meta {
        title: title.clone(),
        author: producer.by.to_owned(),
        subject: producer.org.to_owned(),
        footer: t
            .produced_by
            .replacen("{}", &fmt_time(producer.at_ms), 1)
            .replacen("{}", producer.by, 1),
        page_of: t.page_of.to_owned(),
        lang: t.lang_code.to_owned(),
        produced: (
            u16::try_from(produced.year()).unwrap_or(2000),
            u8::from(produced.month()),
            produced.day(),
            produced.hour(),
            produced.minute(),
        ),
    })?;
    let cmp = comparable(report);
    doc.heading(t.report, 22.0);
    doc.paragraph(
        &format!(
            "{}\n{} {} – {} ({} {} – {})\n{}",
            producer.org,
            t.report_for,
            q.from,
            q.to,
            t.compared_with,
            previous.from,
            previous.to,
            t.produced_by
                .replacen("{}", &fmt_time(producer.at_ms), 1)
                .replacen("{}", producer.by, 1),
        ),
        11.0,
    );
    if let Some(note) = super::report::purge_note(report, lang) {
        doc.note(&note);
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
    if let Some(note) = comparison_note(report, lang) {
        doc.note(&note);
    }
    let kpi = |label: &str, c: Change, better: Better| {
        vec![
            Cell::from(label),
            Cell::from(c.now.to_string()),
            Cell::from(c.before.to_string()),
            Cell::toned(shown_change(c, cmp), tone(c, better, cmp)),
        ]
    };
    doc.table(
        &[t.figure, t.this_period, t.previous_period, t.change],
        &[
            kpi(t.incidents, report.incidents, Better::Fewer),
            kpi(t.observations, report.observations, Better::Neither),
            kpi(t.patrols, report.patrols, Better::More),
            kpi(t.presence_hours, report.presence_hours, Better::More),
        ],
        &[0.36, 0.18, 0.26, 0.2],
        &[false, true, true, true],
    );
    doc.toned_paragraph(t.change_colours, 8.0, Tone::Muted);
    doc.heading(t.by_area, 14.0);
    let area_rows: Vec<Vec<Cell>> = report
        .by_area
        .values()
        .map(|a| {
            vec![
                Cell::from(area_name(&a.name, lang)),
                Cell::from(a.incidents.now.to_string()),
                Cell::toned(
                    shown_change(a.incidents, cmp),
                    tone(a.incidents, Better::Fewer, cmp),
                ),
                Cell::from(a.observations.now.to_string()),
                Cell::from(a.patrols.to_string()),
                Cell::from(number(a.presence_hours, 1, lang)),
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
        &[0.26, 0.12, 0.13, 0.14, 0.11, 0.24],
        &[false, true, true, true, true, true],
    );
    for (title, drawing) in charts(report, lang) {
        let legend = (title == t.map).then_some(t.map_legend);
        doc.figure(title, legend, &drawing, 499.0);
    }
    doc.heading(t.police_figures, 14.0);
    let minutes = |m: Option<f64>| m.map_or_else(|| "–".to_owned(), |m| number(m, 0, lang));
    let dash = || Cell::from("–");
    let police = |label: &str, c: Change, better: Better| {
        vec![
            Cell::from(label),
            Cell::from(c.now.to_string()),
            Cell::from(c.before.to_string()),
            Cell::toned(shown_change(c, cmp), tone(c, better, cmp)),
        ]
    };
    doc.table(
        &[t.figure, t.this_period, t.previous_period, t.change],
        &[
            police(
                t.police_contacted_n,
                report.police.contacted,
                Better::Neither,
            ),
            police(t.police_attended_n, report.police.attended, Better::More),
            vec![
                t.calls_112.into(),
                report.police.emergency_calls.to_string().into(),
                dash(),
                dash(),
            ],
            vec![
                t.calls_11414.into(),
                report.police.non_emergency_calls.to_string().into(),
                dash(),
                dash(),
            ],
            vec![
                t.median_response.into(),
                minutes(report.police.median_response_min).into(),
                dash(),
                dash(),
            ],
            vec![
                t.max_response.into(),
                minutes(report.police.max_response_min).into(),
                dash(),
                dash(),
            ],
        ],
        &[0.4, 0.17, 0.26, 0.17],
        &[false, true, true, true],
    );
    doc.heading(t.notable, 14.0);
    for n in &report.notable {
        doc.paragraph(
            &format!(
                "{} · {} · {} · {}{}\n{}",
                fmt_time(n.occurred_at_ms),
                category_label("incident", &n.category, lang),
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
    let raw = Pairs::parse(query.unwrap_or_default().as_bytes());
    let q = query_or_refuse(&raw, signed.lang)?;
    let producer = Producer {
        org: &signed.user.org_name,
        by: &signed.user.name,
        at_ms: crate::now_ms(),
    };
    if aggregates::wants_aggregates(&signed, &raw) {
        let a = aggregates::load_for(&app, &signed, q).await?;
        let bytes = aggregate_pdf(&a, &producer, signed.lang).map_err(|e| {
            tracing::error!(error = %e, "aggregate PDF failed");
            super::LangError(
                signed.lang,
                super::PageError::Refused(i18n::texts(signed.lang).pdf_failed.to_owned()),
            )
        })?;
        aggregates::record(&app, &signed, &a, ReportFormat::Pdf).await?;
        return Ok((
            [
                (CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"lagesbild-sammanstallning-{}-{}.pdf\"",
                        a.query.from, a.query.to
                    ),
                ),
            ],
            bytes,
        )
            .into_response());
    }
    let report = load(&app, &signed, q.clone()).await?;
    let bytes = pdf_bytes(&report, &producer, signed.lang).map_err(|e| {
        tracing::error!(error = %e, "report PDF failed");
        super::LangError(
            signed.lang,
            super::PageError::Refused(i18n::texts(signed.lang).pdf_failed.to_owned()),
        )
    })?;
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

/// The aggregate report as a PDF: the same tables as its page, counts as published, every page
/// naming who produced it and when.
pub fn aggregate_pdf(
    a: &Aggregate,
    producer: &Producer<'_>,
    lang: Lang,
) -> Result<Vec<u8>, PdfError> {
    let t = i18n::texts(lang);
    let q = &a.query;
    let produced = crate::store::reports::local(producer.at_ms);
    let mut doc = Document::new(Meta {
        title: format!("{} ({}) {} – {}", t.report, t.aggregates_only, q.from, q.to),
        author: producer.by.to_owned(),
        subject: producer.org.to_owned(),
        footer: t
            .produced_by
            .replacen("{}", &fmt_time(producer.at_ms), 1)
            .replacen("{}", producer.by, 1),
        page_of: t.page_of.to_owned(),
        lang: t.lang_code.to_owned(),
        produced: (
            u16::try_from(produced.year()).unwrap_or(2000),
            u8::from(produced.month()),
            produced.day(),
            produced.hour(),
            produced.minute(),
        ),
    })?;
    doc.heading(&format!("{}: {}", t.report, t.aggregates_only), 20.0);
    doc.paragraph(
        &format!(
            "{}\n{} {} – {}\n{} {}.",
            producer.org,
            t.report_for,
            q.from,
            q.to,
            t.combined_of,
            a.org_names().join(", ")
        ),
        11.0,
    );
    doc.note(t.aggregate_note);
    if let Some(note) = super::report::purge_note(&a.combined, lang) {
        doc.note(&note);
    }
    doc.heading(t.key_figures, 14.0);
    let rows: Vec<Vec<Cell>> = aggregates::key_figures(a, lang)
        .into_iter()
        .map(|(label, now, before, change)| {
            vec![
                Cell::from(label),
                Cell::from(now),
                Cell::from(before),
                Cell::from(change),
            ]
        })
        .collect();
    doc.table(
        &[t.figure, t.this_period, t.previous_period, t.change],
        &rows,
        &[0.46, 0.16, 0.22, 0.16],
        &[false, true, true, true],
    );
    for (title, rows) in aggregates::tables(a, lang) {
        doc.heading(title, 14.0);
        match rows {
            None => doc.paragraph(t.table_withheld, 10.0),
            Some(rows) if title == t.by_weekday_now => {
                let rows: Vec<Vec<Cell>> = rows
                    .into_iter()
                    .map(|(label, now, _, _)| vec![Cell::from(label), Cell::from(now.text(lang))])
                    .collect();
                doc.table(
                    &[t.figure, t.this_period],
                    &rows,
                    &[0.7, 0.3],
                    &[false, true],
                );
            }
            Some(rows) => {
                let rows: Vec<Vec<Cell>> = rows
                    .into_iter()
                    .map(|(label, now, before, change)| {
                        vec![
                            Cell::from(label),
                            Cell::from(now.text(lang)),
                            Cell::from(before.text(lang)),
                            Cell::from(change),
                        ]
                    })
                    .collect();
                doc.table(
                    &[t.figure, t.this_period, t.previous_period, t.change],
                    &rows,
                    &[0.46, 0.16, 0.22, 0.16],
                    &[false, true, true, true],
                );
            }
        }
    }
    doc.heading(t.grid_map, 14.0);
    doc.paragraph(t.grid_text, 10.0);
    match aggregates::grid_shown(a) {
        None => doc.paragraph(t.table_withheld, 10.0),
        Some((cells, shown)) => {
            let rows: Vec<Vec<Cell>> = cells
                .iter()
                .zip(shown)
                .map(|(c, s)| {
                    vec![
                        Cell::from(format!(
                            "{:.2}–{:.2} N, {:.2}–{:.2} E",
                            c.lat,
                            c.lat + aggregates::GRID_LAT,
                            c.lon,
                            c.lon + aggregates::GRID_LON
                        )),
                        Cell::from(s.text(lang)),
                    ]
                })
                .collect();
            doc.table(&[t.area, t.this_period], &rows, &[0.7, 0.3], &[false, true]);
        }
    }
    doc.paragraph(t.suppression_rule, 8.0);
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::shown_text;
    use crate::store::reports::{AreaFigures, PoliceFigures};
    use std::collections::BTreeMap;

    fn report(before: i64) -> Report {
        let mut by_area = BTreeMap::new();
        by_area.insert(
            "a".to_owned(),
            AreaFigures {
                name: "Stationsområdet".into(),
                incidents: Change { now: 2, before: 6 },
                presence_hours: 62.4,
                ..Default::default()
            },
        );
        Report {
            query: ReportQuery {
                from: time::macros::date!(2026 - 11 - 08),
                to: time::macros::date!(2026 - 11 - 21),
                areas: Vec::new(),
            },
            incidents: Change { now: 2, before },
            observations: Change::default(),
            patrols: Change::default(),
            presence_hours: Change {
                now: 62,
                before: 40,
            },
            by_category: BTreeMap::new(),
            by_observation_category: BTreeMap::new(),
            by_area,
            by_weekday: [0; 7],
            by_hour: [0; 24],
            by_evening: Vec::new(),
            police: PoliceFigures {
                median_response_min: Some(12.5),
                ..Default::default()
            },
            points: Vec::new(),
            shapes: Vec::new(),
            notable: Vec::new(),
            summary: "Lugnt – ≤ 3 händelser per kväll.".into(),
            purged_before: None,
        }
    }

    fn producer() -> Producer<'static> {
        Producer {
            org: "Nattvandrarna Exempelstad",
            by: "Sara Lind",
            at_ms: 1_795_000_000_000,
        }
    }

    #[test]
    fn the_pdf_prints_a_decrease_with_a_minus_sign_and_swedish_decimals() {
        let pdf = pdf_bytes(&report(6), &producer(), Lang::Sv).expect("pdf");
        let text = shown_text(&pdf);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"−4"), "a decrease of four: {text}");
        assert!(lines.contains(&"62,4"), "a decimal comma: {text}");
        assert!(lines.contains(&"Lugnt – ≤ 3 händelser per kväll."));
        assert!(!text.contains('?'), "no character is lost: {text}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Framtagen ") && l.ends_with(" av Sara Lind")),
            "who produced it, on the page"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("Sida 1 av ")),
            "page numbers"
        );
        assert!(!text.contains("för lite för att jämföra"));
    }

    #[test]
    fn the_pdf_says_when_the_previous_period_is_too_thin_to_compare() {
        let pdf = pdf_bytes(&report(0), &producer(), Lang::Sv).expect("pdf");
        let text = shown_text(&pdf);
        assert!(text.contains("för lite för att"), "{text}");
        assert!(
            !text.lines().any(|l| l == "+2"),
            "no change against nothing: {text}"
        );
    }
}
