//! The inbox: the newest events first (or sorted by a column's heading), filtered by period, area, kind, category, severity, review
//! status, group and author, with counts; each row shows when it happened and when it reached
//! the server.

use super::auth::Signed;
use super::layout;
use super::{
    PageResult, Pairs, WithLang, category_label, fmt_time, i18n, kind_label, period_fields,
};
use crate::AppState;
use crate::store::entries::{self, InboxFilter, InboxPage, InboxSort, InboxView};
use crate::store::reports::{local, local_midnight_ms};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{Markup, html};
use time::{Date, Duration};
use vaka_shared::model::{
    DEFAULT_CATEGORIES, Lang, ObservationCategory, PatrolKind, ReviewStatus, Severity,
};
use vaka_shared::op::EntityKind;

/// Entries per page.
pub const PAGE_SIZE: i64 = 50;
/// The last page number asked for that is taken as it is; its offset and its neighbours' numbers
/// stay far inside `i64`.
const MAX_PAGE: i64 = 1_000_000_000;

pub use crate::store::choices::Choices;

/// Today in Swedish local time.
pub fn today() -> Date {
    local(crate::now_ms()).date()
}

/// The filter a query string asks for; without any query, the last four weeks. A message for
/// the user when its period is not one (see [`period_fields`]).
pub fn filter_of(
    q: &Pairs,
    lang: Lang,
) -> Result<(InboxFilter, Option<Date>, Option<Date>), String> {
    let (from, to) = if q.0.is_empty() {
        (Some(today() - Duration::days(27)), Some(today()))
    } else {
        period_fields(q, lang)?
    };
    let filter = InboxFilter {
        from_ms: from.map(local_midnight_ms),
        to_ms: to.map(|d| d.next_day().map_or(i64::MAX, local_midnight_ms)),
        // A value no form offers (a hand-made address) filters nothing, as before for a kind.
        area: q.get("area").and_then(|a| a.parse().ok()),
        kind: q.get("kind").and_then(EntityKind::from_wire).filter(|k| {
            matches!(
                k,
                EntityKind::Patrol | EntityKind::Incident | EntityKind::Observation
            )
        }),
        category: q.get("category").map(str::to_owned),
        severity: q.get("severity").and_then(|s| s.parse().ok()),
        status: q.get("status").and_then(ReviewStatus::from_wire),
        group: q.get("group").map(str::to_owned),
        author: q.get("author").and_then(|a| a.parse().ok()),
        conflicts_only: q.get("conflicts") == Some("1"),
        sort: q
            .get("sort")
            .and_then(InboxSort::from_wire)
            .unwrap_or_default(),
        ascending: q.get("dir") == Some("asc"),
    };
    Ok((filter, from, to))
}

/// `GET /inbox`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let mut q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let (filter, from, to) = match filter_of(&q, lang) {
        Ok(found) => found,
        Err(message) => {
            // The form again as the user filled it in, with what is wrong.
            let choices = app.store.choices(signed.user.org_id).await.lang(lang)?;
            let body = html! {
                h1 { (t.inbox) }
                p.error role="alert" { strong { (t.bad_request) } ": " (message) }
                (filters(lang, &q, q.get("from"), q.get("to"), &choices))
            };
            let page = layout::page(lang, Some(&signed), t.inbox, body);
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    if q.0.is_empty() {
        // Links from the default view keep its period.
        for (name, date) in [("from", from), ("to", to)] {
            q.0.push((
                name.to_owned(),
                date.map(|d| d.to_string()).unwrap_or_default(),
            ));
        }
    }
    let page_no: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE);
    let InboxView {
        page: result,
        choices,
        open_conflicts: conflicts,
    } = app
        .store
        .inbox_view(
            signed.user.org_id,
            filter.clone(),
            (page_no - 1) * PAGE_SIZE,
            PAGE_SIZE,
        )
        .await
        .lang(lang)?;
    let (from, to) = (from.map(|d| d.to_string()), to.map(|d| d.to_string()));
    let body = html! {
        h1 { (t.inbox) }
        (filters(lang, &q, from.as_deref(), to.as_deref(), &choices))
        (counts(lang, &q, &result, conflicts))
        (table(lang, &q, &filter, &result))
        (pager(lang, &q, page_no, result.total))
    };
    Ok(layout::page(lang, Some(&signed), t.inbox, body).into_response())
}

fn selected_option(value: &str, label: &str, current: Option<&str>) -> Markup {
    html! { option value=(value) selected[current == Some(value)] { (label) } }
}

/// The filter form; `from` and `to` as the user wrote them.
fn filters(lang: Lang, q: &Pairs, from: Option<&str>, to: Option<&str>, c: &Choices) -> Markup {
    let t = i18n::texts(lang);
    html! {
        details.filter-box open {
        summary { (t.filter) }
        form.filters method="get" action="/inbox" {
            label { (t.period_from) input type="date" name="from" value=[from]; }
            label { (t.period_to) input type="date" name="to" value=[to]; }
            label { (t.area) select name="area" {
                option value="" { (t.all) }
                @for (id, name) in &c.areas { (selected_option(id, name, q.get("area"))) }
            } }
            label { (t.kind) select name="kind" {
                option value="" { (t.all) }
                @for k in ["incident", "observation", "patrol"] { (selected_option(k, kind_label(k, lang), q.get("kind"))) }
            } }
            label { (t.category) select name="category" {
                option value="" { (t.all) }
                optgroup label=(t.kind_incident) {
                    @for cat in DEFAULT_CATEGORIES { (selected_option(cat.code, cat.label(lang), q.get("category"))) }
                }
                optgroup label=(t.kind_observation) {
                    @for cat in ObservationCategory::ALL { (selected_option(cat.as_str(), cat.label(lang), q.get("category"))) }
                }
                optgroup label=(t.kind_patrol) {
                    @for k in PatrolKind::ALL { (selected_option(k.as_str(), k.label(lang), q.get("category"))) }
                }
            } }
            label { (t.severity) select name="severity" {
                option value="" { (t.all) }
                @for s in 1..=4u8 { (selected_option(&s.to_string(), &format!("{s} · {}", Severity(s).label(lang)), q.get("severity"))) }
            } }
            label { (t.status) select name="status" {
                option value="" { (t.all) }
                @for s in ReviewStatus::ALL { (selected_option(s.as_str(), s.label(lang), q.get("status"))) }
            } }
            label { (t.group) select name="group" {
                option value="" { (t.all) }
                @for g in &c.groups { (selected_option(g, g, q.get("group"))) }
            } }
            label { (t.author) select name="author" {
                option value="" { (t.all) }
                @for (id, name, _) in &c.members { (selected_option(id, name, q.get("author"))) }
            } }
            @if let Some(sort) = q.get("sort") { input type="hidden" name="sort" value=(sort); }
            @if let Some(dir) = q.get("dir") { input type="hidden" name="dir" value=(dir); }
            button type="submit" { (t.filter) }
            a href="/inbox?from=" { (t.clear) }
        }
        }
        // On a phone's narrow screen the filters start folded, so the entries come first.
        script { (maud::PreEscaped("if (matchMedia('(max-width: 720px)').matches) for (const d of document.querySelectorAll('details.filter-box')) d.open = false;")) }
    }
}

/// The query string with `name` set to `value` (and the page reset).
fn with(q: &Pairs, name: &str, value: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.0 {
        if k != name && k != "page" {
            out.append_pair(k, v);
        }
    }
    out.append_pair(name, value);
    out.finish()
}

fn counts(lang: Lang, q: &Pairs, r: &InboxPage, conflicts: i64) -> Markup {
    let t = i18n::texts(lang);
    html! {
        p.counts {
            strong data-testid="total" { (r.total) @if r.capped { "+" } } " " (if r.total == 1 && !r.capped { t.matching_one } else { t.matching }) " · "
            @for status in ReviewStatus::ALL {
                @let n = r.by_status.iter().find(|(s, _)| s == status.as_str()).map(|(_, n)| *n).unwrap_or(0);
                a href={ "/inbox?" (with(q, "status", status.as_str())) } {
                    span class={ "badge status-" (status.as_str()) } { (status.label(lang)) ": " (n) @if n >= entries::COUNT_CAP { "+" } }
                }
            }
            @if conflicts > 0 { a.error href="/inbox?from=&conflicts=1" { (conflicts) " " (if conflicts == 1 { t.open_conflict_one } else { t.open_conflicts }) } }
        }
    }
}

/// A column heading that sorts by `sort`: newest (or highest) first on the first click, the
/// other way on the next; `aria-sort` says which way the page is sorted.
fn sort_heading(q: &Pairs, f: &InboxFilter, sort: InboxSort, label: &str) -> Markup {
    let current = f.sort == sort;
    let ascending = current && !f.ascending;
    let mut pairs = Pairs(
        q.0.iter()
            .filter(|(k, _)| k != "sort" && k != "dir" && k != "page")
            .cloned()
            .collect(),
    );
    pairs.0.push(("sort".to_owned(), sort.as_str().to_owned()));
    if ascending {
        pairs.0.push(("dir".to_owned(), "asc".to_owned()));
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs.0 {
        out.append_pair(k, v);
    }
    let state = match (current, f.ascending) {
        (false, _) => "none",
        (true, true) => "ascending",
        (true, false) => "descending",
    };
    html! {
        th aria-sort=(state) {
            a.sort href={ "/inbox?" (out.finish()) } data-sort=(sort.as_str()) {
                (label)
                @if current { " " span aria-hidden="true" { (if f.ascending { "▲" } else { "▼" }) } }
            }
        }
    }
}

fn table(lang: Lang, q: &Pairs, f: &InboxFilter, r: &InboxPage) -> Markup {
    let t = i18n::texts(lang);
    html! {
        @if r.entries.is_empty() {
            p.muted { (t.no_entries) }
        } @else {
            table.stack id="inbox" {
                thead { tr {
                    (sort_heading(q, f, InboxSort::Occurred, t.occurred))
                    (sort_heading(q, f, InboxSort::Received, t.received))
                    (sort_heading(q, f, InboxSort::Kind, t.kind))
                    th { (t.category) }
                    (sort_heading(q, f, InboxSort::Severity, t.severity))
                    (sort_heading(q, f, InboxSort::Area, t.area))
                    th { (t.description) } th { (t.author) }
                    (sort_heading(q, f, InboxSort::Status, t.status))
                } }
                tbody {
                    @for e in &r.entries {
                        tr {
                            td.when data-label=(t.occurred) { a href={ "/entries/" (e.id) } { (e.occurred_at_ms.map(fmt_time).unwrap_or_default()) } }
                            td.when.muted data-label=(t.received) { (fmt_time(e.received_at_ms)) }
                            td data-label=(t.kind) { (kind_label(e.kind.as_str(), lang)) }
                            td data-label=(t.category) { (e.category.as_deref().map(|c| category_label(e.kind.as_str(), c, lang)).unwrap_or_default()) }
                            td data-label=(t.severity) { @if let Some(s) = e.severity { span class={ "sev sev-" (s) } { (Severity(s as u8).label(lang)) } } }
                            td data-label=(t.area) { (e.area_name.clone().unwrap_or_default()) }
                            td data-label=(t.description) { (e.description.as_deref().map(|d| short(d, 90)).unwrap_or_default())
                                 @if e.retracted { " " span.badge { (t.retracted) } }
                                 @if super::privacy::may_identify(e) { " " span.badge.pii title=(t.pii_advice) { (t.pii_mark) } } }
                            td data-label=(t.author) { (e.author_name) @if let Some(g) = &e.author_group { br; span.muted { (g) } } }
                            td data-label=(t.status) { span class={ "badge status-" (e.review_status.as_str()) } {
                                (e.review_status.label(lang)) } }
                        }
                    }
                }
            }
        }
    }
}

fn pager(lang: Lang, q: &Pairs, page_no: i64, total: i64) -> Markup {
    let t = i18n::texts(lang);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    html! {
        p.pager {
            @if page_no > 1 { a href={ "/inbox?" (with(q, "page", &(page_no - 1).to_string())) } { "← " (t.previous_page) } " " }
            (t.page) " " (page_no) " / " (pages)
            @if page_no < pages { " " a href={ "/inbox?" (with(q, "page", &(page_no + 1).to_string())) } { (t.next_page) " →" } }
        }
    }
}

/// The first `max` characters of `text`, with an ellipsis when cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}
