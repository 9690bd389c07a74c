//! People and devices: members with their roles and groups, one-time enrolment codes shown as
//! text and as a QR code drawn on the server, each member's devices with their last sync, and
//! revoking a device.

use super::auth::{CSRF_FIELD, Signed};
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, fmt_time, i18n};
use crate::store::StoreError;
use crate::store::accounts;
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
    devices: Vec<Device>,
}

#[derive(Debug, Clone)]
struct Device {
    id: String,
    name: String,
    last_sync_ms: Option<i64>,
    revoked: bool,
}

fn people(conn: &Connection, org: &str) -> Result<Vec<Person>, StoreError> {
    let mut people: Vec<Person> = conn
        .prepare_cached(
            "SELECT id, display_name, role, member_group FROM members WHERE org_id = ?1
             ORDER BY role DESC, display_name",
        )?
        .query_map([org], |r| {
            Ok(Person {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                group: r.get(3)?,
                devices: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let devices: Vec<(String, Device)> = conn
        .prepare_cached(
            "SELECT member_id, id, name, last_sync_at_ms, revoked_at_ms IS NOT NULL FROM devices
             WHERE org_id = ?1 AND id NOT IN (SELECT device_id FROM dashboard_devices)
             ORDER BY created_at_ms",
        )?
        .query_map([org], |r| {
            Ok((
                r.get(0)?,
                Device {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    last_sync_ms: r.get(3)?,
                    revoked: r.get(4)?,
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
                            @if d.revoked { span.badge { (t.revoked) } } @else {
                                span.badge { (t.active) } " "
                                form.inline method="post" action={ "/devices/" (d.id) "/revoke" } {
                                    input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                                    button.secondary type="submit" { (t.revoke) }
                                }
                            }
                        }
                    }
                }
                td {
                    form.inline method="post" action={ "/people/" (p.id) "/code" } {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                        button.secondary type="submit" { (t.new_code) }
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
            Ok(accounts::create_enrollment_code(conn, member, now, ttl)?.map(|c| (name, c)))
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
    let org = signed.user.org_id;
    let now = now_ms();
    let revoked = app
        .store
        .write(move |conn| accounts::revoke_device(conn, device, Some(org), now))
        .await
        .lang(lang)?;
    if !revoked {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(%device, "device revoked from the dashboard");
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/people")]).into_response())
}
