//! Privacy on the dashboard: the retention period (admins), holding an entry past it
//! ("spara längre"), redacting a text, phones marked lost or retired, and members who leave.

use super::auth::{CSRF_FIELD, Signed};
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, fmt_time, i18n};
use crate::store::accounts::DeviceMark;
use crate::store::audit::AuditAction;
use crate::store::entries::EntryRow;
use crate::store::redaction::{self, RedactionRefused, RedactionRow};
use crate::store::retention::{self, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
use crate::store::server_device::AlongWith;
use crate::store::sharing::SharingOverview;
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;
use vaka_shared::model::{IncidentFields, Lang, ObservationFields, Role};
use vaka_shared::op::{EntityKind, OpBody};
use vaka_shared::pii;
use vaka_shared::validate::limits;
use vaka_shared::{DeviceId, EntityId, MemberId, OrgId};

fn see_other(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

/// Only admins change the retention period and remove members; to others the page is unknown.
fn admin_only(signed: &Signed) -> Result<(), LangError> {
    if signed.user.role == Role::Admin {
        Ok(())
    } else {
        Err(LangError(signed.lang, PageError::NotFound))
    }
}

fn entity_id(text: &str, lang: Lang) -> Result<EntityId, LangError> {
    text.parse()
        .map_err(|_| LangError(lang, PageError::NotFound))
}

/// The settings a confirmation box must carry: a form is done only when it is ticked.
fn confirmed(form: &Pairs) -> bool {
    form.get("confirm") == Some("yes")
}

/// A confirmation box beside a button that cannot be undone.
pub fn confirm_box(lang: Lang) -> Markup {
    let t = i18n::texts(lang);
    html! {
        label.confirm { input type="checkbox" name="confirm" value="yes" required; " " (t.confirm_sure) }
    }
}

// ----- Retention period -----

/// `GET /settings`: the organisation's retention period and the last purge (admins).
pub async fn settings_page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let org = signed.user.org_id;
    let now = now_ms();
    let retention = app.store.retention_overview(org, now).await.lang(lang)?;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let sharing = app.store.sharing_overview(org).await.lang(lang)?;
    let body = html! {
        (settings_body(
            &signed,
            &retention.days.to_string(),
            None,
            retention.last_purge,
            &retention.due,
            q.get("saved").is_some(),
        ))
        (sharing_section(&signed, &sharing))
    };
    Ok(layout::page(lang, Some(&signed), i18n::texts(lang).settings, body).into_response())
}

/// The settings page's card for sharing aggregates with municipal organisations.
fn sharing_section(signed: &Signed, sharing: &SharingOverview) -> Markup {
    let SharingOverview {
        municipalities,
        ours,
        theirs,
    } = sharing;
    let lang = signed.lang;
    let t = i18n::texts(lang);
    html! {
        section.card id="sharing" {
            h2 { (t.sharing) }
            p.muted { (t.sharing_text) }
            @if municipalities.is_empty() { p.muted { (t.sharing_none) } }
            @for m in municipalities {
                @let shared = ours.iter().any(|o| o.id == m.id);
                form method="post" action={ "/settings/" (if shared { "withdraw" } else { "share" }) } {
                    input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                    input type="hidden" name="org" value=(m.id.to_string());
                    @if shared {
                        p { span.badge { (t.shared_with) } " " (m.name) }
                        button.secondary type="submit" { (t.withdraw_share) }
                    } @else {
                        p { (m.name) }
                        (confirm_box(lang))
                        button type="submit" { (t.share_with) " " (m.name) }
                    }
                }
            }
            @if !theirs.is_empty() {
                h3 { (t.shared_from) }
                ul { @for o in theirs { li { (o.name) } } }
                p { a href="/report?scope=combined" { (t.combined_report) } }
            }
        }
    }
}

/// `POST /settings/share` and `/settings/withdraw`: the organisation starts or stops sharing its
/// aggregates with a municipal organisation.
async fn change_share(app: AppState, signed: Signed, body: Bytes, share: bool) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let to: OrgId = form
        .get("org")
        .and_then(|o| o.parse().ok())
        .ok_or(LangError(lang, PageError::NotFound))?;
    if share && !confirmed(&form) {
        return Err(LangError(
            lang,
            PageError::Refused(i18n::texts(lang).confirm_needed.to_owned()),
        ));
    }
    let from = signed.user.org_id;
    let by = signed.user.member_id;
    let now = now_ms();
    let done = app
        .store
        .set_sharing_by(from, to, by, share, now)
        .await
        .lang(lang)?;
    if !done {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(from = %from, to = %to, share, "aggregate sharing changed");
    Ok(see_other("/settings?saved=1".into()))
}

/// `POST /settings/share`.
pub async fn share(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    change_share(app, signed, body, true).await
}

/// `POST /settings/withdraw`.
pub async fn withdraw(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    change_share(app, signed, body, false).await
}

fn settings_body(
    signed: &Signed,
    typed: &str,
    problem: Option<&str>,
    last: Option<(i64, i64, u64)>,
    due: &retention::PurgeSummary,
    saved: bool,
) -> Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    html! {
        h1 { (t.settings) }
        @if saved { p.ok role="status" { (t.saved) } }
        section.card id="retention" {
            h2 { (t.retention) }
            p.muted { (t.retention_text) }
            form method="post" action="/settings/retention" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label for="retention_days" { (t.retention_days) }
                input id="retention_days" name="retention_days" type="number" inputmode="numeric"
                    min=(MIN_RETENTION_DAYS) max=(MAX_RETENTION_DAYS) value=(typed)
                    aria-invalid=[problem.map(|_| "true")] aria-describedby="retention_error";
                @if let Some(p) = problem { p.error id="retention_error" role="alert" { (p) } }
                (confirm_box(lang))
                button type="submit" { (t.save) }
            }
            p { (t.retention_due.replacen("{}", &due.entries().to_string(), 1).replacen("{}", &due.held.to_string(), 1)) }
            p.muted {
                @match last {
                    Some((at, cutoff, total)) => {
                        (t.retention_last.replacen("{}", &fmt_time(at), 1)
                            .replacen("{}", &fmt_time(cutoff), 1)
                            .replacen("{}", &total.to_string(), 1))
                    }
                    None => (t.retention_never),
                }
            }
        }
    }
}

/// `POST /settings/retention`: a new retention period; entries past it are purged at once.
pub async fn set_retention(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let typed = form
        .get("retention_days")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let org = signed.user.org_id;
    let days: Option<u32> = typed.parse().ok();
    let problem = match days {
        Some(d) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => None,
        _ => Some(t.retention_bounds),
    }
    .or_else(|| (!confirmed(&form)).then_some(t.confirm_needed));
    if let Some(problem) = problem {
        let now = now_ms();
        let retention = app.store.retention_overview(org, now).await.lang(lang)?;
        let page = layout::page(
            lang,
            Some(&signed),
            t.settings,
            settings_body(
                &signed,
                &typed,
                Some(problem),
                retention.last_purge,
                &retention.due,
                false,
            ),
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let days = days.unwrap_or(retention::DEFAULT_RETENTION_DAYS);
    app.store
        .set_retention_days_by(org, signed.user.member_id, days, now_ms())
        .await
        .lang(lang)?
        .map_err(|e| LangError(lang, PageError::Refused(e.to_string())))?;
    tracing::info!(org = %org, days, "retention period changed");
    app.store.purge_all(now_ms()).await.lang(lang)?;
    Ok(see_other("/settings?saved=1".into()))
}

// ----- Holding an entry -----

/// The entry page's retention card: held (with the reason, and a release button) or not (a form
/// to hold it).
pub fn hold_section(lang: Lang, signed: &Signed, row: &EntryRow, hold: Option<&str>) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card id="hold" {
            h2 { (t.hold) }
            @match hold {
                Some(reason) => {
                    p { span.badge { (t.held) } " " (reason) }
                    form method="post" action={ "/entries/" (row.id) "/hold" } {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                        input type="hidden" name="release" value="1";
                        button.secondary type="submit" { (t.release) }
                    }
                }
                None => {
                    p.muted { (t.hold_text) }
                    (hold_form(lang, signed, row, "", None))
                }
            }
        }
    }
}

fn hold_form(
    lang: Lang,
    signed: &Signed,
    row: &EntryRow,
    typed: &str,
    problem: Option<&str>,
) -> Markup {
    let t = i18n::texts(lang);
    html! {
        form method="post" action={ "/entries/" (row.id) "/hold" } {
            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
            label for="hold_reason" { (t.hold_reason) }
            input id="hold_reason" name="reason" type="text" maxlength=(limits::HOLD_REASON) value=(typed)
                aria-invalid=[problem.map(|_| "true")];
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            button type="submit" { (t.hold) }
        }
    }
}

/// `POST /entries/{id}/hold`: holds an incident or observation past retention, or releases it.
pub async fn hold(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let entity = entity_id(&id, lang)?;
    let row = app
        .store
        .entry(signed.user.org_id, entity)
        .await
        .lang(lang)?
        .filter(|r| r.kind != EntityKind::Patrol)
        .ok_or(LangError(lang, PageError::NotFound))?;
    let hold = if form.get("release").is_some() {
        None
    } else {
        let reason = form.get("reason").unwrap_or_default().trim().to_owned();
        let problem = if reason.is_empty() {
            Some(t.hold_reason_needed)
        } else if reason.chars().count() > limits::HOLD_REASON {
            Some(t.hold_reason_long)
        } else {
            None
        };
        if let Some(problem) = problem {
            let body = html! {
                p { a href={ "/entries/" (row.id) } { "← " (t.entry) } }
                h1 { (t.hold) }
                (hold_form(lang, &signed, &row, form.get("reason").unwrap_or_default(), Some(problem)))
            };
            let page = layout::page(lang, Some(&signed), t.hold, body);
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
        Some(reason)
    };
    let held = match hold {
        Some(_) => AuditAction::HoldSet { entry: entity },
        None => AuditAction::HoldReleased { entry: entity },
    };
    let body = if row.kind == EntityKind::Incident {
        OpBody::Incident(IncidentFields {
            retention_hold: Some(hold),
            ..Default::default()
        })
    } else {
        OpBody::Observation(ObservationFields {
            retention_hold: Some(hold),
            ..Default::default()
        })
    };
    let (org, member) = (signed.user.org_id, signed.user.member_id);
    let now = now_ms();
    let along = AlongWith {
        settles: None,
        audit: Some((org, held)),
    };
    let written = app
        .store
        .write_as_member(member, entity, body, along, now)
        .await
        .lang(lang)?;
    match written {
        Ok(_) => Ok(see_other(format!("/entries/{entity}?saved=1"))),
        Err(message) => {
            // The form checks the reason first; the push rule's English reason is for the log.
            tracing::warn!(%message, "a hold was refused");
            Err(LangError(
                lang,
                PageError::Refused(format!("{} {}", t.write_refused, t.write_refused_why)),
            ))
        }
    }
}

// ----- The free-text guard -----

/// Whether an entry's description or place looks as if it holds a personal identifier.
pub fn may_identify(row: &EntryRow) -> bool {
    [row.description.as_deref(), row.place.as_deref()]
        .into_iter()
        .flatten()
        .any(pii::holds_identifier)
}

/// The entry page's warning when one of its texts looks as if it holds personal identifiers:
/// which kinds, and the way to the redaction form.
pub fn pii_warning(lang: Lang, texts: &[(&'static str, String)]) -> Option<Markup> {
    let t = i18n::texts(lang);
    let mut kinds: Vec<(&'static str, pii::IdentifierKind)> = texts
        .iter()
        .flat_map(|(field, text)| pii::find(text).into_iter().map(|f| (*field, f.kind)))
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        return None;
    }
    Some(html! {
        div.pii-warning role="alert" id="pii" {
            strong { (t.pii_warning) } " "
            (kinds.iter().map(|(field, kind)| format!("{} ({})", kind.label(lang), field_label(lang, field))).collect::<Vec<_>>().join(", "))
            ". " (t.pii_advice) " " a href="#redact" { (t.redact) }
        }
    })
}

// ----- Redaction -----

/// The text fields of an entry a coordinator can redact, with their current text.
pub fn redactable_texts(
    kind: &str,
    values: &serde_json::Map<String, Value>,
) -> Vec<(&'static str, String)> {
    let Some(kind) = EntityKind::from_wire(kind) else {
        return Vec::new();
    };
    redaction::REDACTABLE
        .iter()
        .filter(|(k, _)| *k == kind)
        .filter_map(|(_, field)| {
            values
                .get(*field)
                .and_then(Value::as_str)
                .filter(|text| !text.trim().is_empty())
                .map(|text| (*field, text.to_owned()))
        })
        .collect()
}

/// A field's name as the dashboard shows it.
pub fn field_label(lang: Lang, field: &str) -> &'static str {
    let t = i18n::texts(lang);
    match field {
        "description" => t.description,
        "place" => t.place,
        "subcategory" => t.subcategory,
        "police_event_number" => t.police_event,
        "note" => t.note,
        "body" => t.comment,
        _ => t.fields,
    }
}

/// The entry page's redaction card: each text with a form to replace it, and the redactions
/// made (who and when, never what).
pub fn redaction_section(
    lang: Lang,
    signed: &Signed,
    row: &EntryRow,
    texts: &[(&'static str, String)],
    done: &[RedactionRow],
) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card id="redact" {
            h2 { (t.redact) }
            p.muted { (t.redact_text) }
            @for (field, text) in texts {
                details {
                    summary { (t.redact) ": " (field_label(lang, field)) }
                    (redact_form(lang, signed, row, field, text, None))
                }
            }
            @if !done.is_empty() {
                ul.redactions { @for r in done {
                    li { (t.redacted_by.replacen("{}", field_label(lang, &r.field), 1)
                        .replacen("{}", &r.by_name, 1)
                        .replacen("{}", &fmt_time(r.at_ms), 1)) }
                } }
            }
        }
    }
}

fn redact_form(
    lang: Lang,
    signed: &Signed,
    row: &EntryRow,
    field: &str,
    text: &str,
    problem: Option<&str>,
) -> Markup {
    let t = i18n::texts(lang);
    let id = format!("redact-{field}");
    html! {
        form method="post" action={ "/entries/" (row.id) "/redact" } {
            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
            input type="hidden" name="field" value=(field);
            label for=(id) { (t.redact_new_text) }
            textarea id=(id) name="value" rows="4" aria-invalid=[problem.map(|_| "true")] { (text) }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            (confirm_box(lang))
            button type="submit" { (t.redact) }
        }
    }
}

/// `POST /entries/{id}/redact`: replaces a text of the entry everywhere it was ever held.
pub async fn redact(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let entity = entity_id(&id, lang)?;
    let row = app
        .store
        .entry(signed.user.org_id, entity)
        .await
        .lang(lang)?
        .ok_or(LangError(lang, PageError::NotFound))?;
    let field = form.get("field").unwrap_or_default().to_owned();
    let kind = row.kind;
    if !redaction::is_redactable(kind, &field) {
        return Err(LangError(lang, PageError::NotFound));
    }
    let text = form.get("value").unwrap_or_default().to_owned();
    let value = if text.trim().is_empty() && field != "description" && field != "note" {
        Value::Null
    } else {
        Value::String(text.clone())
    };
    let refused = if confirmed(&form) {
        let (org, member) = (signed.user.org_id, signed.user.member_id);
        app.store
            .redact_by(org, member, entity, field.clone(), value, now_ms())
            .await
            .lang(lang)?
            .err()
    } else {
        Some(RedactionRefused::Invalid(t.confirm_needed.to_owned()))
    };
    match refused {
        None => {
            tracing::info!(entity = %entity, field = %field, "text redacted");
            app.store.checkpoint().await.lang(lang)?;
            Ok(see_other(format!("/entries/{entity}?saved=1")))
        }
        Some(RedactionRefused::NotFound | RedactionRefused::NotRedactable) => {
            Err(LangError(lang, PageError::NotFound))
        }
        Some(problem) => {
            let message = match problem {
                RedactionRefused::Unchanged => t.redact_unchanged.to_owned(),
                other => other.to_string(),
            };
            let body = html! {
                p { a href={ "/entries/" (row.id) } { "← " (t.entry) } }
                h1 { (t.redact) ": " (field_label(lang, &field)) }
                (redact_form(lang, &signed, &row, &field, &text, Some(&message)))
            };
            let page = layout::page(lang, Some(&signed), t.redact, body);
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}

// ----- Lost and retired phones, members who leave -----

/// `POST /devices/{id}/lost` and `/devices/{id}/retire`.
async fn mark(
    app: AppState,
    signed: Signed,
    device: String,
    body: Bytes,
    mark: DeviceMark,
) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let device: DeviceId = device
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    if !confirmed(&form) {
        return Err(LangError(
            lang,
            PageError::Refused(i18n::texts(lang).confirm_needed.to_owned()),
        ));
    }
    let (org, by) = (signed.user.org_id, signed.user.member_id);
    let marked = app
        .store
        .mark_device_by(org, by, device, mark, now_ms())
        .await
        .lang(lang)?;
    if !marked {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(%device, ?mark, "device marked from the dashboard");
    Ok(see_other("/people".into()))
}

/// `POST /devices/{id}/lost`: the phone wipes itself at its next contact.
pub async fn lost(
    State(app): State<AppState>,
    signed: Signed,
    PathText(device): PathText,
    body: Bytes,
) -> PageResult {
    mark(app, signed, device, body, DeviceMark::Lost).await
}

/// `POST /devices/{id}/retire`: the phone hands over what it has not sent, then wipes itself.
pub async fn retire(
    State(app): State<AppState>,
    signed: Signed,
    PathText(device): PathText,
    body: Bytes,
) -> PageResult {
    mark(app, signed, device, body, DeviceMark::Retired).await
}

/// `POST /people/{member}/remove`: the member left; their entries stay under a neutral label.
pub async fn remove_member(
    State(app): State<AppState>,
    signed: Signed,
    PathText(member): PathText,
    body: Bytes,
) -> PageResult {
    admin_only(&signed)?;
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let member: MemberId = member
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    if member == signed.user.member_id {
        return Err(LangError(
            lang,
            PageError::Refused(i18n::texts(lang).remove_self.to_owned()),
        ));
    }
    if !confirmed(&form) {
        return Err(LangError(
            lang,
            PageError::Refused(i18n::texts(lang).confirm_needed.to_owned()),
        ));
    }
    let (org, by) = (signed.user.org_id, signed.user.member_id);
    let removed = app
        .store
        .remove_member_by(org, by, member, now_ms())
        .await
        .lang(lang)?;
    if removed.is_none() {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(%member, "member removed from the dashboard");
    Ok(see_other("/people".into()))
}
