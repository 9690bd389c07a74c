//! One entry: every field, the map point, photos, the history from the op log, conflicts side by
//! side with an action to settle them, the review form and the comment thread. Every change made
//! here is an op written through the push path (see `ops`), so phones pull it.

use super::auth::{CSRF_FIELD, Signed};
use super::charts;
use super::layout;
use super::privacy;
use super::words::{self, Names, field_label, value_words};
use super::{
    LangError, PageError, PageResult, Pairs, PathText, WithLang, category_label, fmt_time, i18n,
    kind_label, quoted,
};
use crate::store::audit::{Actor, AuditAction};
use crate::store::entries::{
    CommentRow, ConflictRow, ConflictToSettle, EntryPage, EntryRow, HistoryItem, ReviewTargets,
};
use crate::store::redaction::RedactionRow;
use crate::store::server_device::AlongWith;
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde_json::{Map, Value};
use vaka_shared::blob::is_sha256_hex;
use vaka_shared::model::{
    Agency, CommentFields, EntryRef, IncidentFields, Lang, ObservationFields, ReviewStatus,
};
use vaka_shared::op::{EntityKind, OpBody};
use vaka_shared::validate::limits;
use vaka_shared::{EntityId, MemberId, Timestamp};

fn see_other(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

/// The id in a path, or 404.
fn entity_id(text: &str, lang: Lang) -> Result<EntityId, LangError> {
    text.parse()
        .map_err(|_| LangError(lang, PageError::NotFound))
}

/// A refused form of the entry page, shown on the page again as it was filled in.
#[derive(Debug, Default)]
struct Refused {
    /// The comment typed, and what is wrong with it.
    comment: Option<(String, &'static str)>,
    /// The review form as filled in, the field that is wrong, and what is wrong with it.
    review: Option<(EntryRow, &'static str, String)>,
}

/// `GET /entries/{id}`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let saved = q.get("saved").is_some();
    show(
        &app,
        &signed,
        &id,
        saved,
        Refused::default(),
        StatusCode::OK,
    )
    .await
}

/// The entry page, with `refused` in its forms.
async fn show(
    app: &AppState,
    signed: &Signed,
    id: &str,
    saved: bool,
    refused: Refused,
    status: StatusCode,
) -> PageResult {
    let lang = signed.lang;
    let id = entity_id(id, lang)?;
    let loaded = app
        .store
        .entry_page(signed.user.org_id, id)
        .await
        .lang(lang)?;
    let Some(EntryPage {
        entry: row,
        candidates,
        values,
        history,
        conflicts,
        comments,
        choices,
        shapes,
        redactions,
    }) = loaded
    else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let viewed = AuditAction::EntryViewed { entry: row.id };
    record_view(app, signed, viewed).await?;
    let hashes = photo_hashes(&values);
    let redactable = privacy::redactable_texts(row.kind.as_str(), &values);
    let photo_states = app
        .store
        .photos_complete(signed.user.org_id, hashes)
        .await
        .lang(lang)?;
    let t = i18n::texts(lang);
    let title = format!(
        "{}: {}",
        kind_label(row.kind.as_str(), lang),
        row.category
            .as_deref()
            .map(|c| category_label(row.kind.as_str(), c, lang))
            .unwrap_or_default()
    );
    let area_shape: Vec<_> = shapes
        .iter()
        .filter(|s| Some(&s.id) == row.area_id.as_ref())
        .cloned()
        .collect();
    let names = Names {
        areas: &shapes,
        members: &choices.members,
    };
    let body = html! {
        p { a href="/inbox" { "← " (t.inbox) } }
        h1 { (title) }
        @if saved { p.ok role="status" { (t.saved) } }
        @if refused.comment.is_some() || refused.review.is_some() {
            p.error role="alert" { strong { (t.bad_request) } ": " (t.form_has_errors) }
        }
        @if let Some(warning) = privacy::pii_warning(lang, &redactable) { (warning) }
        div.grid {
            div.card { h2 { (t.fields) } (fields(lang, &row, &candidates)) }
            div.card {
                h2 { (t.map_point) }
                @match (row.lat, row.lon) {
                    (Some(lat), Some(lon)) => {
                        (PreEscaped(charts::map(&area_shape, &[crate::store::reports::MapPoint {
                            lat, lon, kind: row.kind.as_str().to_owned(), severity: row.severity }], 360.0, 260.0).svg(t.map_point)))
                        p.muted { (format!("{lat:.5}, {lon:.5}")) }
                    }
                    _ => p.muted { (t.no_location) }
                }
                h2 { (t.photos) }
                (photos(lang, &photo_states))
            }
        }
        @if row.kind != EntityKind::Patrol {
            @let (filled, wrong) = match &refused.review {
                Some((filled, field, message)) => (filled, Some((*field, message.as_str()))),
                None => (&row, None),
            };
            (review_form(lang, signed, filled, &choices.members, &candidates, wrong))
            (privacy::hold_section(lang, signed, &row, values.get("retention_hold").and_then(Value::as_str)))
        }
        (privacy::redaction_section(lang, signed, &row, &redactable, &redactions))
        (conflicts_section(lang, signed, row.kind.as_str(), names, &conflicts))
        (comments_section(lang, signed, &row, &comments, refused.comment.as_ref()))
        (history_section(lang, row.kind.as_str(), names, &history, &redactions))
    };
    Ok((status, layout::page(lang, Some(signed), &title, body)).into_response())
}

/// Unix ms of an RFC 3339 text.
fn rfc3339_ms(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn yes_no(lang: Lang, value: bool) -> &'static str {
    let t = i18n::texts(lang);
    if value { t.yes } else { t.no }
}

fn fields(lang: Lang, e: &EntryRow, candidates: &[EntryRow]) -> Markup {
    let t = i18n::texts(lang);
    html! {
        dl.fields {
            dt { (t.kind) } dd { (kind_label(e.kind.as_str(), lang)) }
            dt { (t.occurred) } dd { (e.occurred_at_ms.map(fmt_time).unwrap_or_default()) }
            @if let Some(end) = e.ended_at_ms { dt { (t.ended) } dd { (fmt_time(end)) } }
            dt { (t.received) } dd { (fmt_time(e.received_at_ms)) }
            dt { (t.category) } dd { (e.category.as_deref().map(|c| category_label(e.kind.as_str(), c, lang)).unwrap_or_default()) }
            @if let Some(s) = e.severity { dt { (t.severity) } dd { span class={ "sev sev-" (s) } { (s) " · " (vaka_shared::model::Severity(s as u8).label(lang)) } } }
            dt { (t.area) } dd { (e.area_name.clone().unwrap_or_else(|| t.no_area.to_owned())) }
            @if let Some(p) = &e.place { dt { (t.place) } dd { (p) } }
            dt { (t.description) } dd { (e.description.clone().unwrap_or_default()) }
            @if let Some(n) = e.participants { dt { (t.participants) } dd { (n) } }
            @if let Some(n) = e.people_involved { dt { (t.people_involved) } dd { (n) " (" (e.minors_involved.unwrap_or(0)) ")" } }
            @if e.kind == EntityKind::Incident {
                dt { (t.police_line) } dd { (e.police_line.as_deref().map(|l| if l == "112" { "112" } else { "114 14" }).unwrap_or("–")) }
                dt { (t.police_contacted) } dd { (e.police_contacted_ms.map(fmt_time).unwrap_or_else(|| t.no.to_owned())) }
                dt { (t.police_attended) } dd { (e.police_attended_ms.map(fmt_time).unwrap_or_else(|| t.no.to_owned())) }
                @if let Some(n) = &e.police_event_number { dt { (t.police_event) } dd { (n) } }
            }
            dt { (t.author) } dd { (e.author_name) @if let Some(g) = &e.author_group { " · " (g) } }
            dt { (t.status) } dd { span class={ "badge status-" (e.review_status.as_str()) } { (e.review_status.label(lang)) } }
            @if !e.tags.is_empty() { dt { (t.f_tags) } dd { (e.tags.join(", ")) } }
            @if !e.forwarded_to.is_empty() { dt { (t.forwarded_to) } dd { (e.forwarded_to.iter().filter_map(|a| Agency::from_wire(a)).map(|a| a.label(lang)).collect::<Vec<_>>().join(", ")) } }
            @if let Some(d) = &e.duplicate_of {
                dt { (t.f_duplicate) }
                dd { a href={ "/entries/" (d) } {
                    (candidates.iter().find(|c| c.id.to_string() == *d).map(|c| candidate_label(lang, c)).unwrap_or_else(|| t.f_that_entry.to_owned()))
                } }
            }
            @if e.retracted { dt { (t.retracted) } dd { (yes_no(lang, true)) } }
        }
    }
}

/// The SHA-256 of each photo of an entry.
fn photo_hashes(values: &Map<String, Value>) -> Vec<String> {
    values
        .get("attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("sha256").and_then(Value::as_str))
                .filter(|s| is_sha256_hex(s))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn photos(lang: Lang, photos: &[(String, bool)]) -> Markup {
    let t = i18n::texts(lang);
    html! {
        @if photos.is_empty() { p.muted { "–" } }
        @for (sha, complete) in photos {
            @if *complete {
                a href={ "/photos/" (sha) } { img.photo src={ "/photos/" (sha) } alt=(t.photos) width="240"; }
            } @else {
                p { code { (&sha[..12]) } " · " span.muted { (t.photo_pending) } }
            }
        }
    }
}

/// `GET /photos/{sha256}`: a complete photo of the signed-in member's organisation.
pub async fn photo(
    State(app): State<AppState>,
    signed: Signed,
    PathText(sha): PathText,
) -> PageResult {
    let lang = signed.lang;
    if !is_sha256_hex(&sha) {
        return Err(LangError(lang, PageError::NotFound));
    }
    let org = signed.user.org_id;
    let found = app.store.blob_content(org, sha.clone()).await.lang(lang)?;
    let Some((content_type, bytes)) = found else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let downloaded = AuditAction::PhotoDownloaded {
        sha256: sha.clone(),
    };
    record_view(&app, &signed, downloaded).await?;
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// A likely duplicate in words: when, what, where, by whom, and the start of its text.
fn candidate_label(lang: Lang, c: &EntryRow) -> String {
    let mut parts = vec![c.occurred_at_ms.map(fmt_time).unwrap_or_default()];
    if let Some(cat) = &c.category {
        parts.push(category_label(c.kind.as_str(), cat, lang));
    }
    if let Some(place) = c.area_name.as_ref().or(c.place.as_ref()) {
        parts.push(place.clone());
    }
    parts.push(c.author_name.clone());
    if let Some(d) = &c.description {
        parts.push(super::inbox::short(d, 50));
    }
    parts.join(" · ")
}

/// The review form holding `e`'s review fields; `wrong` is the field that is wrong and why.
fn review_form(
    lang: Lang,
    signed: &Signed,
    e: &EntryRow,
    members: &[(String, String, String)],
    candidates: &[EntryRow],
    wrong: Option<(&str, &str)>,
) -> Markup {
    let t = i18n::texts(lang);
    let error = |field: &str| wrong.filter(|(f, _)| *f == field).map(|(_, m)| m);
    html! {
        section.card {
            h2 { (t.review) }
            form id="review" method="post" action={ "/entries/" (e.id) "/review" } {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                div.filters {
                    label { (t.status) select name="review_status" {
                        @for s in ReviewStatus::ALL { option value=(s.as_str()) selected[e.review_status == *s] { (s.label(lang)) } }
                    } }
                    label { (t.assignee) select name="assignee" {
                        option value="" { (t.nobody) }
                        @for (id, name, role) in members {
                            @if role != "volunteer" { option value=(id) selected[e.assignee.as_deref() == Some(id.as_str())] { (name) } }
                        }
                    } }
                    div {
                        label.stack for="tags" { (t.tags) }
                        input id="tags" name="tags" value=(e.tags.join(", "))
                            aria-invalid=[error("tags").map(|_| "true")]
                            aria-describedby=[error("tags").map(|_| "tags-error")];
                        @if let Some(m) = error("tags") { p.field-error id="tags-error" { (m) } }
                    }
                }
                div {
                    label.stack for="duplicate_of" { (t.f_duplicate) }
                    select id="duplicate_of" name="duplicate_of"
                        aria-invalid=[error("duplicate_of").map(|_| "true")]
                        aria-describedby=[error("duplicate_of").map(|_| "duplicate_of-error")] {
                        option value="" { (t.not_a_duplicate) }
                        @for c in candidates {
                            option value=(c.id) selected[e.duplicate_of.as_deref() == Some(c.id.to_string().as_str())] { (candidate_label(lang, c)) }
                        }
                    }
                    @if let Some(m) = error("duplicate_of") { p.field-error id="duplicate_of-error" { (m) } }
                    p.muted { @if candidates.is_empty() { (t.no_duplicate_candidates) } @else { (t.duplicate_hint) } }
                }
                fieldset {
                    legend { (t.forwarded_to) }
                    @for a in [Agency::Police, Agency::SocialServices, Agency::TechnicalOffice, Agency::RescueService, Agency::School, Agency::PropertyOwner, Agency::Other] {
                        label { input type="checkbox" name="forwarded_to" value=(a.as_str()) checked[e.forwarded_to.iter().any(|f| f == a.as_str())]; " " (a.label(lang)) " " }
                    }
                }
                p { button type="submit" { (t.save) } }
            }
        }
    }
}

/// A stored JSON value of `field` in words.
fn stored_words(lang: Lang, names: Names<'_>, kind: &str, field: &str, json: &str) -> Markup {
    let value = serde_json::from_str::<Value>(json).unwrap_or(Value::Null);
    value_words(lang, names, kind, field, &value, usize::MAX)
}

fn conflicts_section(
    lang: Lang,
    signed: &Signed,
    kind: &str,
    names: Names<'_>,
    conflicts: &[ConflictRow],
) -> Markup {
    let t = i18n::texts(lang);
    html! {
        @if !conflicts.is_empty() {
            section.card id="conflicts" {
                h2 { (t.conflicts) }
                p.muted { (t.conflicts_text) }
                @for c in conflicts {
                    @let settled = c.resolved_seq.is_some();
                    // Which side the coordinator kept: the one whose value the settling op wrote.
                    @let loser_kept = settled && c.settled_value.as_deref().is_some_and(|v| {
                        serde_json::from_str::<Value>(v).ok() == serde_json::from_str::<Value>(&c.loser_value).ok()
                    });
                    h3 { (field_label(lang, kind, &c.field)) @if settled { " " span.badge { (t.settled) } } }
                    @if settled {
                        p.settled { (t.conflict_settled_by
                            .replacen("{}", c.settled_by.as_deref().unwrap_or("–"), 1)
                            .replacen("{}", &c.settled_at_ms.map(fmt_time).unwrap_or_default(), 1)
                            .replacen("{}", if loser_kept { &c.loser_author } else { &c.winner_author }, 1)) }
                    }
                    div.conflict {
                        @for (choice, value, author) in [("winner", &c.winner_value, &c.winner_author), ("loser", &c.loser_value, &c.loser_author)] {
                            @let label = match (settled, choice == "loser", loser_kept) {
                                (false, false, _) => t.kept_value,
                                (false, true, _) => t.lost_value,
                                (true, is_loser, kept) if is_loser == kept => t.conflict_kept,
                                (true, _, _) => t.conflict_set_aside,
                            };
                            div data-side=(choice) {
                                strong { (label) } " · " span.muted { (author) }
                                p { (stored_words(lang, names, kind, &c.field, value)) }
                                @if !settled {
                                    form method="post" action={ "/conflicts/" (c.id) "/settle" } {
                                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                                        input type="hidden" name="choice" value=(choice);
                                        button.secondary type="submit" data-choice=(choice) { (t.keep_this) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn comments_section(
    lang: Lang,
    signed: &Signed,
    e: &EntryRow,
    comments: &[CommentRow],
    refused: Option<&(String, &'static str)>,
) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card id="comments" {
            h2 { (t.comments) }
            @if comments.is_empty() { p.muted { (t.no_comments) } }
            @for c in comments {
                div.comment {
                    strong { (c.author_name) } " "
                    span.muted { (c.written_at.as_deref().and_then(rfc3339_ms).map(fmt_time).unwrap_or_default()) }
                    p { (c.body) }
                }
            }
            (comment_form(lang, signed, &e.id.to_string(), refused.map_or("", |r| r.0.as_str()), refused.map(|r| r.1)))
        }
    }
}

/// The form for a new comment on entry `id`, holding `text`, with `error` beside it.
fn comment_form(lang: Lang, signed: &Signed, id: &str, text: &str, error: Option<&str>) -> Markup {
    let t = i18n::texts(lang);
    html! {
        form method="post" action={ "/entries/" (id) "/comments" } {
            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
            label.stack for="comment-body" { (t.write_comment) }
            textarea id="comment-body" name="body" rows="3" maxlength=(limits::COMMENT) required
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| "comment-body-error")] { (text) }
            @if let Some(e) = error { p.field-error id="comment-body-error" { (e) } }
            p.muted { (t.comment_hint) }
            button type="submit" { (t.send) }
        }
    }
}

/// The fields of an op in the order a coordinator reads them.
fn in_reading_order(fields: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut sorted: Vec<_> = fields.iter().collect();
    sorted.sort_by_key(|(name, _)| words::field_rank(name));
    sorted
}

fn history_section(
    lang: Lang,
    kind: &str,
    names: Names<'_>,
    history: &[HistoryItem],
    redactions: &[RedactionRow],
) -> Markup {
    let t = i18n::texts(lang);
    // A write of a field at or below a redaction of it holds the redaction's text now.
    let redacted = |field: &str, hlc: &str| {
        let Ok(hlc) = hlc.parse::<vaka_shared::Hlc>() else {
            return false;
        };
        redactions.iter().any(|r| {
            r.field == field
                && r.through
                    .parse::<vaka_shared::Hlc>()
                    .is_ok_and(|t| hlc <= t)
        })
    };
    html! {
        section.card id="history" {
            h2 { (t.history) }
            p.muted { (t.history_text) }
            table {
                thead { tr { th { (t.received) } th { (t.changed_by) } th { (t.device) } th { (t.fields) } } }
                tbody {
                    @for h in history {
                        tr {
                            td { (fmt_time(h.received_at_ms)) }
                            td { (h.author_name) }
                            td.muted { (h.device_name) }
                            td { @for (name, value) in in_reading_order(&h.fields) {
                                span.field { (field_label(lang, kind, name)) } ": " (value_words(lang, names, kind, name, value, 80))
                                @if redacted(name, &h.hlc) { " " span.badge { (t.redacted_mark) } }
                                br;
                            } }
                        }
                    }
                    @for r in redactions {
                        tr.redaction {
                            td { (fmt_time(r.at_ms)) }
                            td { (r.by_name) }
                            td.muted { "–" }
                            td { (t.redacted_by.replacen("{}", privacy::field_label(lang, &r.field), 1)
                                .replacen("{}", &r.by_name, 1)
                                .replacen("{}", &fmt_time(r.at_ms), 1)) }
                        }
                    }
                }
            }
        }
    }
}

/// Records a read by the signed-in member in the audit log (see `audit::record_view`); nothing
/// is shown when that fails.
pub async fn record_view(
    app: &AppState,
    signed: &Signed,
    action: AuditAction,
) -> Result<(), LangError> {
    let (org, member) = (signed.user.org_id, Actor::Member(signed.user.member_id));
    app.store
        .record_view(Some(org), member, action, now_ms())
        .await
        .lang(signed.lang)?;
    Ok(())
}

/// Writes `body` as the signed-in coordinator and goes back to the entry; `settle` names the
/// conflict it settles and its audit record.
async fn write_and_return(
    app: &AppState,
    signed: &Signed,
    entity: EntityId,
    back_to: EntityId,
    body: OpBody,
    settle: Option<(i64, AuditAction)>,
) -> PageResult {
    let org = signed.user.org_id;
    let member: MemberId = signed.user.member_id;
    let now = now_ms();
    let (settles, audit) = match settle {
        Some((conflict, settled)) => (Some(conflict), Some((org, settled))),
        None => (None, None),
    };
    let result = app
        .store
        .write_as_member(member, entity, body, AlongWith { settles, audit }, now)
        .await
        .lang(signed.lang)?;
    match result {
        Ok(_) => Ok(see_other(format!("/entries/{back_to}?saved=1"))),
        Err(message) => {
            // The forms check what they send, so this is a rule the dashboard does not know
            // of; the reason (in English, for the log) is not for the coordinator.
            tracing::warn!(%message, "a dashboard write was refused");
            let t = i18n::texts(signed.lang);
            Err(LangError(
                signed.lang,
                PageError::Refused(format!("{} {}", t.write_refused, t.write_refused_why)),
            ))
        }
    }
}

/// `POST /entries/{id}/review`: the review fields that changed, as one op.
pub async fn review(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let entity = entity_id(&id, lang)?;
    let t = i18n::texts(lang);
    // `Err` when the text is not an id: said to the user with the form again.
    let duplicate: Result<Option<EntityId>, ()> = match form.get("duplicate_of") {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| ()),
    };
    // A member that cannot be one is as unknown as one of another organisation.
    let assignee: Option<MemberId> = match form.get("assignee") {
        None => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| LangError(lang, PageError::NotFound))?,
        ),
    };
    let ReviewTargets {
        entry: row,
        duplicate_found,
        members,
    } = app
        .store
        .review_targets(signed.user.org_id, entity, duplicate.ok().flatten())
        .await
        .lang(lang)?;
    let Some(row) = row.filter(|r| r.kind != EntityKind::Patrol) else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let assignee_ok = assignee.is_none_or(|a| {
        members
            .iter()
            .any(|(id, _, role)| *id == a.to_string() && role != "volunteer")
    });
    if !duplicate_found || !assignee_ok {
        return Err(LangError(lang, PageError::NotFound));
    }
    let status = form
        .get("review_status")
        .and_then(ReviewStatus::from_wire)
        .filter(|s| *s != row.review_status);
    let tags: Vec<String> = form
        .get("tags")
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let forwarded: Vec<Agency> = form
        .all("forwarded_to")
        .iter()
        .filter_map(|a| Agency::from_wire(a))
        .collect();
    let forwarded_wire: Vec<String> = forwarded.iter().map(|a| a.as_str().to_owned()).collect();
    let problem = match &duplicate {
        Err(()) => Some((
            "duplicate_of",
            format!(
                "{} {}",
                t.bad_duplicate,
                quoted(form.get("duplicate_of").unwrap_or_default(), 60)
            ),
        )),
        Ok(Some(d)) if *d == entity => Some(("duplicate_of", t.duplicate_itself.to_owned())),
        Ok(_) if tags.len() > limits::TAGS => Some(("tags", t.bad_tags.to_owned())),
        Ok(_) if tags.iter().any(|tag| tag.chars().count() > limits::TAG) => {
            Some(("tags", t.bad_tags.to_owned()))
        }
        Ok(_) => None,
    };
    if let Some((field, problem)) = problem {
        // The entry page again with the review form as it was filled in, and what is wrong
        // beside the field.
        let mut filled = row.clone();
        if let Some(s) = form.get("review_status").and_then(ReviewStatus::from_wire) {
            filled.review_status = s;
        }
        filled.assignee = assignee.map(|a| a.to_string());
        filled.tags = tags;
        filled.duplicate_of = form.get("duplicate_of").map(str::to_owned);
        filled.forwarded_to = forwarded_wire;
        let refused = Refused {
            review: Some((filled, field, problem)),
            ..Default::default()
        };
        let id = entity.to_string();
        return show(&app, &signed, &id, false, refused, StatusCode::BAD_REQUEST).await;
    }
    // (An unreadable id was refused above.)
    let duplicate = duplicate.ok().flatten();
    let tags = (tags != row.tags).then_some(tags);
    let forwarded = (forwarded_wire != row.forwarded_to).then_some(forwarded);
    let duplicate = (duplicate.map(|d| d.to_string()) != row.duplicate_of).then_some(duplicate);
    let assignee = (assignee.map(|a| a.to_string()) != row.assignee).then_some(assignee);
    if status.is_none()
        && tags.is_none()
        && forwarded.is_none()
        && duplicate.is_none()
        && assignee.is_none()
    {
        return Ok(see_other(format!("/entries/{entity}")));
    }
    let body = if row.kind == EntityKind::Incident {
        OpBody::Incident(IncidentFields {
            review_status: status,
            tags,
            forwarded_to: forwarded,
            duplicate_of: duplicate,
            assignee,
            ..Default::default()
        })
    } else {
        OpBody::Observation(ObservationFields {
            review_status: status,
            tags,
            forwarded_to: forwarded,
            duplicate_of: duplicate,
            assignee,
            ..Default::default()
        })
    };
    write_and_return(&app, &signed, entity, entity, body, None).await
}

/// `POST /entries/{id}/comments`: a comment, written as a create-once op.
pub async fn comment(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let entity = entity_id(&id, lang)?;
    let row = app
        .store
        .entry(signed.user.org_id, entity)
        .await
        .lang(lang)?
        .ok_or(LangError(lang, PageError::NotFound))?;
    let text = form.get("body").unwrap_or_default().to_owned();
    let t = i18n::texts(lang);
    let problem = if text.is_empty() {
        Some(t.comment_empty)
    } else if text.chars().count() > limits::COMMENT {
        Some(t.comment_too_long)
    } else {
        None
    };
    if let Some(problem) = problem {
        // The entry page again with the text written, and what is wrong with it beside it.
        let refused = Refused {
            comment: Some((text, problem)),
            ..Default::default()
        };
        let id = entity.to_string();
        return show(&app, &signed, &id, false, refused, StatusCode::BAD_REQUEST).await;
    }
    let kind = row.kind;
    let body = OpBody::Comment(CommentFields {
        entry: Some(EntryRef { kind, id: entity }),
        body: Some(text),
        written_at: Some(Timestamp::now_utc()),
    });
    write_and_return(&app, &signed, EntityId::new(), entity, body, None).await
}

/// `POST /conflicts/{id}/settle`: writes the chosen value of the field again, as an op made with
/// knowledge of both writes, and marks the conflict settled by it.
pub async fn settle(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let id: i64 = id
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let found = app
        .store
        .conflict_to_settle(signed.user.org_id, id)
        .await
        .lang(lang)?;
    let Some(ConflictToSettle {
        entity,
        conflict,
        kind: Some(kind),
    }) = found
    else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let entity: EntityId = entity;
    if conflict.resolved_seq.is_some() {
        return Ok(see_other(format!("/entries/{entity}")));
    }
    let (choice, chosen) = match form.get("choice") {
        Some("loser") => ("loser", &conflict.loser_value),
        _ => ("winner", &conflict.winner_value),
    };
    let settled = AuditAction::ConflictSettled {
        conflict: id,
        entry: entity,
        field: conflict.field.clone(),
        choice: choice.to_owned(),
    };
    let value: Value = serde_json::from_str(chosen).map_err(|_| {
        LangError(
            lang,
            PageError::Refused(i18n::texts(lang).server_error.to_owned()),
        )
    })?;
    let mut map = Map::new();
    map.insert(conflict.field.clone(), value);
    let body = OpBody::from_field_map(kind, map).map_err(|e| {
        tracing::warn!(error = %e, "a conflict's value cannot be written again");
        LangError(
            lang,
            PageError::Refused(i18n::texts(lang).server_error.to_owned()),
        )
    })?;
    write_and_return(&app, &signed, entity, entity, body, Some((id, settled))).await
}
