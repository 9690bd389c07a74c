//! People and devices: members with their roles and groups, one-time enrolment codes shown as
//! text and as a QR code drawn on the server, each member's devices with their last sync, and
//! revoking a device.

use super::auth::{CSRF_FIELD, Signed};
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, fmt_time, i18n};
use crate::store::StoreError;
use crate::store::accounts;
use crate::store::audit::{self, Actor, AuditAction};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use maud::{PreEscaped, html};
use rusqlite::Connection;
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId};

/// A member and their devices.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    name: String,
    role: String,
    group: Option<String>,
    removed: bool,
    devices: Vec<Device>,
}

/// What a coordinator can do with a phone in use: `(path, button, what it does)`.
fn device_actions(
    lang: vaka_shared::model::Lang,
    retiring: bool,
) -> Vec<(&'static str, &'static str, &'static str)> {
    let t = i18n::texts(lang);
    let mut actions = vec![("lost", t.mark_lost, t.lost_text)];
    if !retiring {
        actions.push(("retire", t.mark_retired, t.retire_text));
    }
    actions.push(("revoke", t.revoke, t.revoke_text));
    actions
}

#[derive(Debug, Clone)]
struct Device {
    id: String,
    name: String,
    last_sync_ms: Option<i64>,
    revoked: bool,
    lost: bool,
    retired: bool,
    wiped: bool,
    /// The highest number of its changes the server holds.
    last_seq: i64,
    /// Photos its entries refer to that never arrived.
    photos_missing: i64,
}

fn people(conn: &Connection, org: &str) -> Result<Vec<Person>, StoreError> {
    let mut people: Vec<Person> = conn
        .prepare_cached(
            "SELECT id, display_name, role, member_group, removed_at_ms IS NOT NULL FROM members
             WHERE org_id = ?1 ORDER BY removed_at_ms IS NOT NULL, role DESC, display_name",
        )?
        .query_map([org], |r| {
            Ok(Person {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                group: r.get(3)?,
                removed: r.get(4)?,
                devices: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let devices: Vec<(String, Device)> = conn
        .prepare_cached(
            "SELECT d.member_id, d.id, d.name, d.last_sync_at_ms, d.revoked_at_ms IS NOT NULL,
                    d.lost_at_ms IS NOT NULL, d.retired_at_ms IS NOT NULL, d.wiped_at_ms IS NOT NULL,
                    d.last_seq,
                    CASE WHEN d.lost_at_ms IS NULL THEN 0 ELSE (
                        SELECT COUNT(DISTINCT json_extract(a.value, '$.sha256'))
                        FROM entities e, json_each(e.state, '$.attachments.v') a
                        WHERE e.org_id = d.org_id
                          AND e.id IN (SELECT entity_id FROM ops WHERE device_id = d.id)
                          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.org_id = d.org_id
                                          AND b.sha256 = json_extract(a.value, '$.sha256')
                                          AND b.completed_at_ms IS NOT NULL)) END
             FROM devices d
             WHERE d.org_id = ?1 AND d.id NOT IN (SELECT device_id FROM dashboard_devices)
             ORDER BY d.created_at_ms",
        )?
        .query_map([org], |r| {
            Ok((
                r.get(0)?,
                Device {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    last_sync_ms: r.get(3)?,
                    revoked: r.get(4)?,
                    lost: r.get(5)?,
                    retired: r.get(6)?,
                    wiped: r.get(7)?,
                    last_seq: r.get(8)?,
                    photos_missing: r.get(9)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (member, device) in devices {
        if let Some(p) = people.iter_mut().find(|p| p.id == member) {
            p.devices.push(device);
        }
    }
    Ok(people)
}

/// `GET /people`.
pub async fn page(State(app): State<AppState>, signed: Signed) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let org = signed.org();
    let people = app
        .store
        .read(move |conn| people(conn, &org))
        .await
        .lang(lang)?;
    let body = html! {
        h1 { (t.people) }
        table id="people" {
            thead { tr { th { (t.name) } th { (t.role) } th { (t.group) } th { (t.devices) } th {} } }
            tbody { @for p in &people { tr {
                td { (p.name) }
                td { (Role::from_wire(&p.role).map(|r| r.label(lang)).unwrap_or(&p.role)) }
                td { (p.group.clone().unwrap_or_default()) }
                td {
                    @for d in &p.devices {
                        div.device {
                            (d.name) " · " span.muted { (t.last_sync) ": " (d.last_sync_ms.map(fmt_time).unwrap_or_else(|| t.never.to_owned())) }
                            " · "
                            @if d.lost {
                                span.badge.lost { (t.device_lost) }
                                p.muted.lost-known { (t.lost_known
                                    .replacen("{}", &d.last_sync_ms.map(fmt_time).unwrap_or_else(|| t.never.to_owned()), 1)
                                    .replacen("{}", &d.last_seq.to_string(), 1)
                                    .replacen("{}", &d.photos_missing.to_string(), 1)) }
                            } @else if d.wiped {
                                span.badge { (t.device_wiped) }
                            } @else if d.revoked {
                                span.badge { (t.revoked) }
                            } @else {
                                @if d.retired { span.badge { (t.device_retired) } } @else { span.badge { (t.active) } }
                                details.device-actions {
                                    summary { (t.revoke) " / " (t.mark_lost) " / " (t.mark_retired) }
                                    @for (action, label, text) in device_actions(lang, d.retired) {
                                        form method="post" action={ "/devices/" (d.id) "/" (action) } {
                                            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                                            p.muted { (text) }
                                            (super::privacy::confirm_box(lang))
                                            button.secondary type="submit" { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                td {
                    @if !p.removed {
                        form.inline method="post" action={ "/people/" (p.id) "/code" } {
                            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                            button.secondary type="submit" { (t.new_code) }
                        }
                        @if signed.user.role == Role::Admin && p.id != signed.user.member_id.to_string() {
                            details.member-actions {
                                summary { (t.remove_member) }
                                form method="post" action={ "/people/" (p.id) "/remove" } {
                                    input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                                    p.muted { (t.remove_member_text) }
                                    (super::privacy::confirm_box(lang))
                                    button.secondary type="submit" { (t.remove_member) }
                                }
                            }
                        }
                    }
                }
            } } }
        }
    };
    Ok(layout::page(lang, Some(&signed), t.people, body).into_response())
}

/// The QR code of `text` as an SVG element.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// `POST /people/{member}/code`: a new one-time enrolment code, shown once as text and QR.
pub async fn enrolment_code(
    State(app): State<AppState>,
    signed: Signed,
    PathText(member): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    signed.check_csrf(&Pairs::parse(&body))?;
    let member: MemberId = member
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let org = signed.org();
    let (org_id, by) = (signed.user.org_id, Actor::Member(signed.user.member_id));
    let ttl = i64::try_from(app.config.enrollment_code_ttl.as_millis()).unwrap_or(i64::MAX / 4);
    let now = now_ms();
    let created = app
        .store
        .write(move |conn| {
            let name: Option<String> = conn
                .query_row(
                    "SELECT display_name FROM members WHERE id = ?1 AND org_id = ?2",
                    [member.to_string(), org],
                    |r| r.get(0),
                )
                .ok();
            let Some(name) = name else { return Ok(None) };
            let code = accounts::create_enrollment_code(conn, member, now, ttl)?;
            if code.is_some() {
                let created = AuditAction::EnrolmentCodeCreated { member };
                audit::record(conn, Some(org_id), by, &created, now)?;
            }
            Ok(code.map(|c| (name, c)))
        })
        .await
        .lang(lang)?;
    let Some((name, code)) = created else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let qr = qr_svg(&format!("vaka:enroll?code={code}")).unwrap_or_default();
    let body = html! {
        p { a href="/people" { "← " (t.people) } }
        h1 { (t.code_for) " " (name) }
        p { code.code id="enrolment-code" { (code) } }
        div.qr { (PreEscaped(qr)) }
        p.muted { (t.code_text) }
    };
    Ok(layout::page(lang, Some(&signed), t.new_code, body).into_response())
}

/// `POST /devices/{id}/revoke`: locks a lost phone out.
pub async fn revoke(
    State(app): State<AppState>,
    signed: Signed,
    PathText(device): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    signed.check_csrf(&Pairs::parse(&body))?;
    let device: DeviceId = device
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let (org, by) = (signed.user.org_id, Actor::Member(signed.user.member_id));
    let now = now_ms();
    let revoked = app
        .store
        .write(move |conn| {
            let revoked = accounts::revoke_device(conn, device, Some(org), now)?;
            if revoked {
                let action = AuditAction::DeviceRevoked { device };
                audit::record(conn, Some(org), by, &action, now)?;
            }
            Ok(revoked)
        })
        .await
        .lang(lang)?;
    if !revoked {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(%device, "device revoked from the dashboard");
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/people")]).into_response())
}
