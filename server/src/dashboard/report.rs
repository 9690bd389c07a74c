//! The situation report page (lägesbild) for any period and set of areas, by default the last
//! two weeks, with the coordinator's summary and links to the PDF, CSV and GeoJSON exports. The
//! charts are built here once and drawn as SVG on the page and into the PDF.

use super::aggregates;
use super::auth::{CSRF_FIELD, Signed};
use super::charts::{self, Drawing};
use super::inbox::today;
use super::layout;
use super::pdf::Tone;
use super::{
    LangError, PageResult, Pairs, WithLang, category_label, fmt_time, i18n, period_fields,
};
use crate::store::audit::{Actor, AuditAction, ReportFormat};
use crate::store::reports::{AreaShape, Change, Report, ReportQuery};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use time::Duration;
use vaka_shared::model::{Lang, Severity};

/// The most days a report covers.
pub const MAX_DAYS: i64 = 366;

/// The report a query string asks for: `from`, `to` (local dates; by default the two weeks up to
/// today) and any number of `area`. A message for the user when the period is not one or is
/// longer than [`MAX_DAYS`].
pub fn query_of(q: &Pairs, lang: Lang) -> Result<ReportQuery, String> {
    let t = i18n::texts(lang);
    let (from, to) = period_fields(q, lang)?;
    let to = to.unwrap_or_else(today);
    let from = from.unwrap_or(to - Duration::days(13));
    if from > to {
        return Err(t.reversed_period.to_owned());
    }
    if (to - from).whole_days() >= MAX_DAYS {
        return Err(t.period_too_long.to_owned());
    }
    Ok(ReportQuery {
        from,
        to,
        // An id no form offers (a hand-made address) is left out, as the inbox does.
        areas: q
            .all("area")
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect(),
    })
}

/// [`query_of`], with a message as an error of the request.
pub fn query_or_refuse(q: &Pairs, lang: Lang) -> Result<ReportQuery, LangError> {
    query_of(q, lang).map_err(|message| LangError(lang, super::PageError::Refused(message)))
}

/// The query string of a report query.
pub fn query_string(q: &ReportQuery) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    out.append_pair("from", &q.from.to_string());
    out.append_pair("to", &q.to.to_string());
    for area in &q.areas {
        out.append_pair("area", &area.to_string());
    }
    out.finish()
}

/// Records in the audit log that the signed-in member looked at the report of `q` as `format`
/// (the page or a download); call it before handing the report out.
pub async fn record_report_view(
    app: &AppState,
    signed: &Signed,
    q: &ReportQuery,
    format: ReportFormat,
) -> Result<(), LangError> {
    let viewed = AuditAction::ReportViewed {
        from: q.from.to_string(),
        to: q.to.to_string(),
        areas: q.areas.iter().map(ToString::to_string).collect(),
        format,
    };
    let (org, member) = (signed.user.org_id, Actor::Member(signed.user.member_id));
    app.store
        .record_view(Some(org), member, viewed, now_ms())
        .await
        .lang(signed.lang)?;
    Ok(())
}

/// Loads the report of the signed-in member's organisation.
pub async fn load(
    app: &AppState,
    signed: &Signed,
    query: ReportQuery,
) -> Result<Report, LangError> {
    app.store
        .report(signed.user.org_id, query)
        .await
        .lang(signed.lang)
}

/// The words saying that entries before the newest purge's cut-off were removed by retention,
/// when the report reaches back before it.
pub fn purge_note(report: &Report, lang: Lang) -> Option<String> {
    let (cutoff, days) = report.purged_before?;
    let day = time::OffsetDateTime::from_unix_timestamp(cutoff.div_euclid(1000))
        .ok()?
        .to_offset(time::UtcOffset::UTC)
        .date();
    Some(
        i18n::texts(lang)
            .retention_report_note
            .replacen("{}", &day.to_string(), 1)
            .replacen("{}", &days.to_string(), 1),
    )
}

/// `+3`, `−2` (a true minus sign) or `±0`.
pub fn change_text(c: Change) -> String {
    match c.now - c.before {
        0 => "±0".to_owned(),
        d if d > 0 => format!("+{d}"),
        d => format!("−{}", -d),
    }
}

/// The fewest entries (incidents, observations and patrols) the previous period must hold for
/// changes against it to mean something.
pub const MIN_TO_COMPARE: i64 = 5;

/// Whether the previous period holds enough entries to compare with ([`MIN_TO_COMPARE`]).
pub fn comparable(r: &Report) -> bool {
    r.incidents.before + r.observations.before + r.patrols.before >= MIN_TO_COMPARE
}

/// The note that the previous period has too little data, when it has.
pub fn comparison_note(r: &Report, lang: Lang) -> Option<String> {
    if comparable(r) {
        return None;
    }
    let previous = r.query.previous();
    let n = r.incidents.before + r.observations.before + r.patrols.before;
    Some(
        i18n::texts(lang)
            .too_little_to_compare
            .replacen("{}", &previous.from.to_string(), 1)
            .replacen("{}", &previous.to.to_string(), 1)
            .replacen("{}", &n.to_string(), 1),
    )
}

/// Which way a figure should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// More is better (adult presence, patrols, police who came).
    More,
    /// Fewer is better (incidents).
    Fewer,
    /// Neither: a count that says what was seen, not how things are (observations, calls).
    Neither,
}

/// What a change means: better, worse or neither; muted when there is nothing to compare with.
pub fn tone(c: Change, better: Better, comparable: bool) -> Tone {
    if !comparable {
        return Tone::Muted;
    }
    match (better, c.now.cmp(&c.before)) {
        (Better::More, std::cmp::Ordering::Greater) | (Better::Fewer, std::cmp::Ordering::Less) => {
            Tone::Good
        }
        (Better::More, std::cmp::Ordering::Less) | (Better::Fewer, std::cmp::Ordering::Greater) => {
            Tone::Bad
        }
        _ => Tone::Plain,
    }
}

/// The change as shown: [`change_text`], or "–" when the previous period has too little data.
pub fn shown_change(c: Change, comparable: bool) -> String {
    if comparable {
        change_text(c)
    } else {
        "–".to_owned()
    }
}

/// The CSS class of a tone.
fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "better",
        Tone::Bad => "worse",
        Tone::Muted => "muted",
        Tone::Plain => "",
    }
}

/// `v` with `decimals` decimals, in Swedish (`1 234,5`, a no-break space between thousands) or
/// English (`1,234.5`) notation; the minus is a true minus sign.
pub fn number(v: f64, decimals: usize, lang: Lang) -> String {
    let (group, point) = match lang {
        Lang::Sv => ('\u{a0}', ','),
        Lang::En => (',', '.'),
    };
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('−');
    }
    let digits: Vec<char> = whole.chars().collect();
    for (i, d) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(group);
        }
        out.push(*d);
    }
    if !fraction.is_empty() {
        out.push(point);
        out.push_str(fraction);
    }
    out
}

/// The area's name, or "no area".
pub fn area_name(name: &str, lang: Lang) -> String {
    if name.is_empty() {
        i18n::texts(lang).no_area.to_owned()
    } else {
        name.to_owned()
    }
}

/// The charts of a report, in page order: (title, drawing).
pub fn charts(r: &Report, lang: Lang) -> Vec<(&'static str, Drawing)> {
    let t = i18n::texts(lang);
    let mut categories: Vec<_> = r.by_category.iter().collect();
    categories.sort_by_key(|(_, c)| std::cmp::Reverse(c.now));
    let category_rows: Vec<_> = categories
        .iter()
        .map(|(code, c)| {
            (
                category_label("incident", code, lang),
                c.now as f64,
                Some(c.before as f64),
            )
        })
        .collect();
    let observation_rows: Vec<_> = r
        .by_observation_category
        .iter()
        .map(|(code, c)| {
            (
                category_label("observation", code, lang),
                c.now as f64,
                Some(c.before as f64),
            )
        })
        .collect();
    let weekdays: Vec<String> = t.weekday_names.split(',').map(str::to_owned).collect();
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let presence_rows: Vec<_> = r
        .by_area
        .values()
        .map(|a| (area_name(&a.name, lang), a.presence_hours, None))
        .collect();
    let evening_labels: Vec<String> = r
        .by_evening
        .iter()
        .map(|(d, _)| format!("{}/{}", d.day(), u8::from(d.month())))
        .collect();
    let evening_values: Vec<f64> = r.by_evening.iter().map(|(_, h)| *h).collect();
    let wanted: Vec<_> = r
        .shapes
        .iter()
        .filter(|s| r.query.areas.is_empty() || r.query.areas.contains(&s.id))
        .cloned()
        .collect();
    let legend = (t.this_period, t.previous_period);
    vec![
        (
            t.by_category,
            charts::bars(&category_rows, 640.0, lang, legend),
        ),
        (
            t.by_observation_category,
            charts::bars(&observation_rows, 640.0, lang, legend),
        ),
        (
            t.by_weekday,
            charts::columns(
                &weekdays,
                &r.by_weekday.map(|v| v as f64),
                640.0,
                170.0,
                lang,
            ),
        ),
        (
            t.by_hour,
            charts::columns(&hours, &r.by_hour.map(|v| v as f64), 640.0, 170.0, lang),
        ),
        (t.map, charts::map(&wanted, &r.points, 640.0, 420.0)),
        (
            t.presence_by_area,
            charts::bars(&presence_rows, 640.0, lang, legend),
        ),
        (
            t.presence_by_evening,
            charts::columns(&evening_labels, &evening_values, 640.0, 170.0, lang),
        ),
    ]
}

fn kpi(label: &str, c: Change, better: Better, comparable: bool, lang: Lang) -> Markup {
    let t = i18n::texts(lang);
    html! {
        div.kpi {
            span.muted { (label) }
            b data-kpi=(label) { (c.now) }
            span.change class=(tone_class(tone(c, better, comparable))) { (shown_change(c, comparable)) }
            span.muted { " (" (t.previous_period) ": " (c.before) ")" }
        }
    }
}

/// The report's figures and charts as HTML.
fn body(r: &Report, lang: Lang) -> Markup {
    let t = i18n::texts(lang);
    let charts = charts(r, lang);
    let previous = r.query.previous();
    let cmp = comparable(r);
    let minutes = |m: Option<f64>| m.map_or_else(|| "–".to_owned(), |m| number(m, 0, lang));
    let police = [
        (t.police_contacted_n, r.police.contacted, Better::Neither),
        (t.police_attended_n, r.police.attended, Better::More),
    ];
    html! {
        h2 { (t.key_figures) }
        @if let Some(note) = comparison_note(r, lang) { p.note id="no-comparison" role="note" { (note) } }
        div.kpis {
            (kpi(t.incidents, r.incidents, Better::Fewer, cmp, lang))
            (kpi(t.observations, r.observations, Better::Neither, cmp, lang))
            (kpi(t.patrols, r.patrols, Better::More, cmp, lang))
            (kpi(t.presence_hours, r.presence_hours, Better::More, cmp, lang))
        }
        p.muted { (t.compared_with) " " (previous.from) " – " (previous.to) ". " (t.change_colours) }
        h2 { (t.by_area) }
        div.scroll { table id="by-area" {
            thead { tr { th { (t.area) } th.num { (t.incidents) } th.num { (t.change) } th.num { (t.observations) } th.num { (t.patrols) } th.num { (t.presence_hours) } } }
            tbody { @for a in r.by_area.values() { tr {
                td { (area_name(&a.name, lang)) } td.num { (a.incidents.now) }
                td.num class=(tone_class(tone(a.incidents, Better::Fewer, cmp))) { (shown_change(a.incidents, cmp)) }
                td.num { (a.observations.now) } td.num { (a.patrols) } td.num { (number(a.presence_hours, 1, lang)) }
            } } }
        } }
        @for (title, drawing) in &charts {
            h2 { (title) }
            @if *title == t.map { p.muted { (t.map_legend) } }
            figure { (PreEscaped(drawing.svg(title))) }
        }
        h2 { (t.police_figures) }
        div.scroll { table id="police" {
            thead { tr { th { (t.figure) } th.num { (t.this_period) } th.num { (t.previous_period) } th.num { (t.change) } } }
            tbody {
                @for (label, c, better) in police {
                    tr { td { (label) } td.num { (c.now) } td.num { (c.before) }
                         td.num class=(tone_class(tone(c, better, cmp))) { (shown_change(c, cmp)) } }
                }
                tr { td { (t.calls_112) } td.num { (r.police.emergency_calls) } td.num { "–" } td.num { "–" } }
                tr { td { (t.calls_11414) } td.num { (r.police.non_emergency_calls) } td.num { "–" } td.num { "–" } }
                tr { td { (t.median_response) } td.num { (minutes(r.police.median_response_min)) } td.num { "–" } td.num { "–" } }
                tr { td { (t.max_response) } td.num { (minutes(r.police.max_response_min)) } td.num { "–" } td.num { "–" } }
            }
        } }
        h2 { (t.notable) }
        div.scroll { table id="notable" {
            thead { tr { th { (t.occurred) } th { (t.category) } th { (t.severity) } th { (t.area) } th { (t.description) } th { (t.police) } } }
            tbody { @for n in &r.notable { tr {
                td.when { a href={ "/entries/" (n.id) } { (fmt_time(n.occurred_at_ms)) } }
                td { (category_label("incident", &n.category, lang)) }
                td { span class={ "sev sev-" (n.severity) } { (Severity(n.severity as u8).label(lang)) } }
                td { (n.area.clone().unwrap_or_default()) }
                td { (n.summary) }
                td { (if n.police_attended { t.police_attended } else if n.police_contacted { t.police_contacted } else { "–" }) }
            } } }
        } }
    }
}

/// The period and areas form; `from` and `to` as the user wrote them.
fn filter_form(lang: Lang, from: &str, to: &str, shapes: &[AreaShape], areas: &[String]) -> Markup {
    let t = i18n::texts(lang);
    html! {
        form.filters.no-print method="get" action="/report" {
            label { (t.period_from) input type="date" name="from" value=(from); }
            label { (t.period_to) input type="date" name="to" value=(to); }
            fieldset {
                legend { (t.areas) " (" (t.all) " = ∅)" }
                @for s in shapes {
                    label { input type="checkbox" name="area" value=(s.id) checked[areas.contains(&s.id.to_string())]; " " (s.name) }
                }
            }
            button type="submit" { (t.make_report) }
        }
    }
}

/// The summary form; the period as the user sent it, and what is wrong with the text, if
/// anything (shown beside the field).
fn summary_form(lang: Lang, signed: &Signed, q: &Pairs, text: &str, error: Option<&str>) -> Markup {
    let t = i18n::texts(lang);
    let described = if error.is_some() {
        "summary-error summary-hint"
    } else {
        "summary-hint"
    };
    html! {
        section.card {
            h2 { (t.summary) }
            form method="post" action="/report/summary" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                input type="hidden" name="from" value=(q.get("from").unwrap_or_default());
                input type="hidden" name="to" value=(q.get("to").unwrap_or_default());
                @for a in q.all("area") { input type="hidden" name="area" value=(a); }
                label.stack for="summary" { (t.summary_label) }
                textarea id="summary" name="summary" rows="5" style="width:100%" maxlength="8000"
                    aria-describedby=(described) aria-invalid=[error.map(|_| "true")] { (text) }
                @if let Some(error) = error {
                    p.error id="summary-error" { (error) }
                }
                p.muted id="summary-hint" { (t.summary_hint) }
                button type="submit" { (t.save) }
            }
        }
    }
}

/// A 400 page of the report with what is wrong and `form` as the user filled it in.
fn refused(lang: Lang, signed: &Signed, message: &str, form: Markup) -> Response {
    let t = i18n::texts(lang);
    let body = html! {
        h1 { (t.report) }
        p.error role="alert" { strong { (t.bad_request) } ": " (message) }
        (form)
    };
    (
        StatusCode::BAD_REQUEST,
        layout::page(lang, Some(signed), t.report, body),
    )
        .into_response()
}

/// `GET /report`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let lang = signed.lang;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let query = match query_of(&q, lang) {
        Ok(query) => query,
        Err(message) => {
            let shapes = app.store.area_shapes(signed.user.org_id).await.lang(lang)?;
            let from = q.get("from").unwrap_or_default();
            let to = q.get("to").unwrap_or_default();
            let form = filter_form(lang, from, to, &shapes, &q.all("area"));
            return Ok(refused(lang, &signed, &message, form));
        }
    };
    if aggregates::wants_aggregates(&signed, &q) {
        let a = aggregates::load_for(&app, &signed, query.clone()).await?;
        aggregates::record(&app, &signed, &a, ReportFormat::Page).await?;
        let combined = signed.user.role != vaka_shared::model::Role::Liaison;
        let form = aggregates::period_form(lang, &query, combined);
        let qs = query_string(&ReportQuery {
            areas: Vec::new(),
            ..query.clone()
        });
        return Ok(aggregates::page(&signed, &a, &qs, form));
    }
    report_page(&app, &signed, &q, query, None).await
}

/// The report page for `query`; with `refused_summary` (the text as typed and what is wrong with
/// it) the summary form shows both and the page answers 400.
async fn report_page(
    app: &AppState,
    signed: &Signed,
    q: &Pairs,
    query: ReportQuery,
    refused_summary: Option<(String, String)>,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let qs = query_string(&query);
    let report = load(app, signed, query.clone()).await?;
    record_report_view(app, signed, &query, ReportFormat::Page).await?;
    let shared_with_us = !app
        .store
        .sharing_with(signed.user.org_id)
        .await
        .lang(lang)?
        .is_empty();
    // The summary is kept for the period shown.
    let period = Pairs(
        [
            ("from", query.from.to_string()),
            ("to", query.to.to_string()),
        ]
        .into_iter()
        .map(|(name, day)| (name.to_owned(), day))
        .chain(
            query
                .areas
                .iter()
                .map(|a| ("area".to_owned(), a.to_string())),
        )
        .collect(),
    );
    let html = html! {
        h1 { (t.report) }
        (filter_form(lang, &query.from.to_string(), &query.to.to_string(), &report.shapes, &query.areas.iter().map(ToString::to_string).collect::<Vec<_>>()))
        h2 id="period" { (t.report_for) " " (query.from) " – " (query.to) }
        @if shared_with_us {
            p.no-print { a id="combined" href={ "/report?from=" (query.from) "&to=" (query.to) "&scope=combined" } { (t.combined_report) } }
        }
        p.no-print { (t.download) ": "
            a id="pdf" href={ "/report.pdf?" (qs) } { "PDF" } " · "
            a id="csv" href={ "/report.csv?" (qs) } { "CSV" } " · "
            a id="geojson" href={ "/report.geojson?" (qs) } { "GeoJSON" }
            " " span.muted { "(" (t.exports_text) ")" }
        }
        @if q.get("saved").is_some() { p.ok id="summary-saved" role="status" { (t.summary_saved) } }
        @if let Some(note) = purge_note(&report, lang) { p.note id="purged" role="note" { (note) } }
        @if refused_summary.is_some() {
            p.error role="alert" { strong { (t.bad_request) } ": " (t.form_has_errors) }
        }
        @match &refused_summary {
            Some((text, error)) => (summary_form(lang, signed, &period, text, Some(error))),
            None => (summary_form(lang, signed, &period, &report.summary, None)),
        }
        (body(&report, lang))
    };
    let status = if refused_summary.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, layout::page(lang, Some(signed), t.report, html)).into_response())
}

/// `POST /report/summary`: saves the coordinator's summary for the period.
pub async fn save_summary(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let text: String = form
        .0
        .iter()
        .find(|(k, _)| k == "summary")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let query = match query_of(&form, lang) {
        Ok(query) => query,
        // The period comes from the page's hidden fields; a changed one is refused on a page of
        // its own, with the text kept.
        Err(message) => {
            let again = summary_form(lang, &signed, &form, &text, None);
            return Ok(refused(lang, &signed, &message, again));
        }
    };
    if text.chars().count() > 8000 {
        // The report again, with the text as typed and the reason beside the field.
        let refused_summary = Some((text, t.summary_too_long.to_owned()));
        return report_page(&app, &signed, &form, query, refused_summary).await;
    }
    app.store
        .save_summary(signed.user.org_id, query.clone(), text, now_ms())
        .await
        .lang(lang)?;
    Ok((
        StatusCode::SEE_OTHER,
        [(
            LOCATION,
            format!("/report?{}&saved=1", query_string(&query)),
        )],
    )
        .into_response())
}
