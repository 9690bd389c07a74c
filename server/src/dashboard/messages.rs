//! Messages to the walkers' phones: a coordinator writes a short message to the whole
//! organisation, an area or a group, with an end time; phones pull it at their next sync and
//! show it until it ends. The page lists active and ended messages with how many phones received
//! and read each, and ends one early. A message is an op from the coordinator's server-side
//! device (`Store::write_as_member`), recorded in the audit log by id only, never its text.

use super::auth::{CSRF_FIELD, Signed};
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, fmt_time, i18n};
use crate::store::audit::AuditAction;
use crate::store::messages::MessageListing;
use crate::store::reports::stockholm_offset_ms;
use crate::store::server_device::AlongWith;
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use time::PrimitiveDateTime;
use time::macros::format_description;
use vaka_shared::model::{Audience, Lang, MessageFields};
use vaka_shared::validate::limits;
use vaka_shared::{EntityId, OpBody, Timestamp};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What the form holds, and what is wrong with it.
#[derive(Debug, Default)]
struct MessageForm {
    text: String,
    audience: String,
    ends: String,
    text_error: Option<&'static str>,
    audience_error: Option<&'static str>,
    ends_error: Option<&'static str>,
}

impl MessageForm {
    fn refused(&self) -> bool {
        self.text_error.is_some() || self.audience_error.is_some() || self.ends_error.is_some()
    }
}

/// `GET /messages`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let t = i18n::texts(signed.lang);
    let done = match q.get("done") {
        Some("sent") => Some(t.message_sent),
        Some("ended") => Some(t.message_ended),
        _ => None,
    };
    let form = MessageForm {
        // Eight hours from now by default: a night's walk.
        ends: local_input(now_ms() + 8 * 3_600_000),
        ..MessageForm::default()
    };
    render(&app, &signed, done, &form, StatusCode::OK).await
}

async fn render(
    app: &AppState,
    signed: &Signed,
    done: Option<&str>,
    form: &MessageForm,
    status: StatusCode,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let org = signed.user.org_id;
    let choices = app.store.choices(org).await.lang(lang)?;
    let messages = app.store.messages(org).await.lang(lang)?;
    let now = now_ms();
    let (active, ended): (Vec<_>, Vec<_>) = messages.iter().partition(|m| m.active_at(now));
    let area_name = |id: &str| {
        choices
            .areas
            .iter()
            .find(|(a, _)| a == id)
            .map_or(t.message_unknown_area, |(_, name)| name.as_str())
    };
    let audience_label = |m: &MessageListing| -> String {
        match &m.audience {
            Some(Audience::Org(_)) | None => t.message_to_org.to_owned(),
            Some(Audience::Area(a)) => format!("{}: {}", t.area, area_name(&a.to_string())),
            Some(Audience::Group(g)) => format!("{}: {g}", t.group),
        }
    };
    let row = |m: &MessageListing, active: bool| {
        html! {
            tr data-message=(m.id) {
                td data-label=(t.message_text) { (m.text) }
                td data-label=(t.message_audience) { (audience_label(m)) }
                td data-label=(t.message_sent_at) { (m.sent_at.map(|s| fmt_time(s.unix_ms())).unwrap_or_default()) }
                td data-label=(t.message_ends) { (m.ends_at.map(|s| fmt_time(s.unix_ms())).unwrap_or_default()) }
                td.num data-label=(t.message_received) data-received=(m.received) { (m.received) }
                td.num data-label=(t.message_read) data-read=(m.read) { (m.read) }
                td {
                    @if active {
                        form method="post" action={ "/messages/" (m.id) "/end" } {
                            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                            button.secondary type="submit" { (t.message_end_now) }
                        }
                    }
                }
            }
        }
    };
    let table = |list: &[&MessageListing], active: bool, id: &str| {
        html! {
            table.stack id=(id) {
                thead { tr {
                    th { (t.message_text) } th { (t.message_audience) } th { (t.message_sent_at) }
                    th { (t.message_ends) } th.num { (t.message_received) } th.num { (t.message_read) } th {}
                } }
                tbody { @for m in list { (row(m, active)) } }
            }
        }
    };
    let body = html! {
        h1 { (t.messages) }
        @if let Some(done) = done { p.ok role="status" { (done) } }
        @if form.refused() { p.error role="alert" { strong { (t.bad_request) } ": " (t.form_has_errors) } }
        p.muted { (t.messages_intro) }
        (send_form(lang, signed, form, &choices.areas, &choices.groups))
        section.card {
            h2 { (t.messages_active) }
            @if active.is_empty() { p.muted { (t.messages_none_active) } } @else { (table(&active, true, "messages-active")) }
        }
        @if !ended.is_empty() {
            section.card {
                h2 { (t.messages_ended) }
                (table(&ended, false, "messages-ended"))
            }
        }
    };
    Ok((status, layout::page(lang, Some(signed), t.messages, body)).into_response())
}

fn send_form(
    lang: Lang,
    signed: &Signed,
    f: &MessageForm,
    areas: &[(String, String)],
    groups: &[String],
) -> Markup {
    let t = i18n::texts(lang);
    let invalid = |e: Option<&str>| e.map(|_| "true");
    html! {
        section.card {
            h2 { (t.message_new) }
            form method="post" action="/messages" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label.stack for="message-text" { (t.message_text) }
                textarea id="message-text" name="text" rows="3" maxlength=(limits::MESSAGE) style="width:100%"
                    aria-invalid=[invalid(f.text_error)]
                    aria-describedby=[f.text_error.map(|_| "message-text-error")] { (f.text) }
                @if let Some(e) = f.text_error { p.field-error id="message-text-error" { (e) } }
                p.muted { (t.message_text_hint) }
                label.stack for="message-audience" { (t.message_audience) }
                select id="message-audience" name="audience" aria-invalid=[invalid(f.audience_error)]
                    aria-describedby=[f.audience_error.map(|_| "message-audience-error")] {
                    option value="org" selected[f.audience == "org" || f.audience.is_empty()] { (t.message_to_org) }
                    @for (id, name) in areas {
                        @let value = format!("area:{id}");
                        option value=(value) selected[f.audience == value] { (t.area) ": " (name) }
                    }
                    @for g in groups {
                        @let value = format!("group:{g}");
                        option value=(value) selected[f.audience == value] { (t.group) ": " (g) }
                    }
                }
                @if let Some(e) = f.audience_error { p.field-error id="message-audience-error" { (e) } }
                label.stack for="message-ends" { (t.message_ends) }
                input id="message-ends" name="ends" type="datetime-local" value=(f.ends)
                    aria-invalid=[invalid(f.ends_error)]
                    aria-describedby=[f.ends_error.map(|_| "message-ends-error")];
                @if let Some(e) = f.ends_error { p.field-error id="message-ends-error" { (e) } }
                p.muted { (t.message_ends_hint) }
                button type="submit" { (t.message_send) }
            }
        }
    }
}

/// `2026-11-21T19:05`, Swedish local time, as a `datetime-local` input holds it.
fn local_input(ms: i64) -> String {
    fmt_time(ms).replacen(' ', "T", 1)
}

/// A `datetime-local` value (Swedish local time) as UTC milliseconds.
fn parse_local(text: &str) -> Option<i64> {
    let text = text.trim();
    let parsed = PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    )
    .or_else(|_| {
        PrimitiveDateTime::parse(
            text,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
    })
    .ok()?;
    let naive = parsed.assume_utc().unix_timestamp().checked_mul(1000)?;
    Some(naive - stockholm_offset_ms(naive - 3_600_000))
}

/// `POST /messages`: sends a message, or shows the form again with what is wrong beside each
/// field and what was typed.
pub async fn send(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let pairs = Pairs::parse(&body);
    signed.check_csrf(&pairs)?;
    let org = signed.user.org_id;
    let mut form = MessageForm {
        text: pairs.get("text").unwrap_or_default().to_owned(),
        audience: pairs.get("audience").unwrap_or_default().to_owned(),
        ends: pairs.get("ends").unwrap_or_default().to_owned(),
        ..MessageForm::default()
    };
    let text = form.text.trim().to_owned();
    if text.is_empty() {
        form.text_error = Some(t.message_text_needed);
    } else if text.chars().count() > limits::MESSAGE {
        form.text_error = Some(t.message_text_long);
    }
    let choices = app.store.choices(org).await.lang(lang)?;
    let audience = match form.audience.split_once(':') {
        None if form.audience == "org" => Some(Audience::Org(true)),
        Some(("area", id)) if choices.areas.iter().any(|(a, _)| a == id) => {
            id.parse().ok().map(Audience::Area)
        }
        Some(("group", g)) if choices.groups.iter().any(|x| x == g) => {
            Some(Audience::Group(g.to_owned()))
        }
        _ => None,
    };
    if audience.is_none() {
        form.audience_error = Some(t.message_audience_unknown);
    }
    let now = now_ms();
    let ends = parse_local(&form.ends);
    match ends {
        None => form.ends_error = Some(t.message_ends_needed),
        Some(e) if e <= now => form.ends_error = Some(t.message_ends_past),
        Some(e) if e - now > limits::MESSAGE_DAYS * DAY_MS => {
            form.ends_error = Some(t.message_ends_far)
        }
        Some(_) => {}
    }
    let (Some(audience), Some(ends), false) = (audience, ends, form.refused()) else {
        return render(&app, &signed, None, &form, StatusCode::BAD_REQUEST).await;
    };
    let id = EntityId::new();
    let kind = match &audience {
        Audience::Org(_) => "org",
        Audience::Area(_) => "area",
        Audience::Group(_) => "group",
    };
    let body = OpBody::Message(MessageFields {
        text: Some(text),
        audience: Some(audience),
        sent_at: Timestamp::from_unix_ms(now),
        ends_at: Timestamp::from_unix_ms(ends),
    });
    let audit = AuditAction::MessageSent {
        message: id,
        audience: kind.to_owned(),
    };
    write(&app, &signed, id, body, audit, "sent").await
}

/// `POST /messages/{id}/end`: ends an active message now.
pub async fn end(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    signed.check_csrf(&Pairs::parse(&body))?;
    let now = now_ms();
    let messages = app.store.messages(signed.user.org_id).await.lang(lang)?;
    let Some(message) = messages
        .iter()
        .find(|m| m.id.to_string() == id && m.active_at(now))
    else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let body = OpBody::Message(MessageFields {
        ends_at: Timestamp::from_unix_ms(now),
        ..MessageFields::default()
    });
    let audit = AuditAction::MessageEnded {
        message: message.id,
    };
    write(&app, &signed, message.id, body, audit, "ended").await
}

async fn write(
    app: &AppState,
    signed: &Signed,
    id: EntityId,
    body: OpBody,
    audit: AuditAction,
    done: &str,
) -> PageResult {
    let lang = signed.lang;
    let along = AlongWith {
        settles: None,
        audit: Some((signed.user.org_id, audit)),
    };
    let written = app
        .store
        .write_as_member(signed.user.member_id, id, body, along, now_ms())
        .await
        .lang(lang)?;
    match written {
        Ok(_) => Ok(see_messages(done)),
        Err(message) => {
            tracing::warn!(%message, "a message was refused");
            let t = i18n::texts(lang);
            Err(LangError(
                lang,
                PageError::Refused(format!("{} {}", t.write_refused, t.write_refused_why)),
            ))
        }
    }
}

fn see_messages(done: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/messages?done={done}"))],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_time_is_read_as_swedish_local_time() {
        // 2026-12-01 02:00 in Stockholm (winter time, UTC+1) is 01:00 UTC.
        let ms = parse_local("2026-12-01T02:00").expect("a time");
        assert_eq!(
            Timestamp::from_unix_ms(ms)
                .map(|t| t.to_string())
                .as_deref(),
            Some("2026-12-01T01:00:00Z")
        );
        assert_eq!(local_input(ms), "2026-12-01T02:00");
        assert_eq!(parse_local("imorgon"), None);
    }
}
