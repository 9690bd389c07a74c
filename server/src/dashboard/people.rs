//! People and devices: members with their roles and groups, added and changed here (a member
//! who leaves is removed in `privacy`: their sign-in and phones stop, their entries stay under
//! a neutral label; there is no reversible "inactive" state, a returning member is added
//! again), one-time enrolment codes shown as text and as a QR code of the enrolment link
//! (`vaka_shared::enroll_link`: the server's public address and the code), each member's devices
//! with their last sync, and revoking a device after a ticked confirmation.

use super::auth::{CSRF_FIELD, Signed};
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, fmt_time, i18n};
use crate::store::admin::MemberToAdd;
use crate::store::audit::Actor;
use crate::store::people::{MemberChange, Person};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use maud::{PreEscaped, html};
use vaka_shared::model::Role;
use vaka_shared::{AreaId, DeviceId, MemberId};

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

/// What the add-member form (or a member's change form) was filled in with, and what is wrong
/// with it, field by field.
#[derive(Debug, Clone, Default)]
pub struct MemberForm {
    /// Display name.
    pub name: String,
    /// Role (wire name).
    pub role: String,
    /// Group.
    pub group: String,
    /// Sign-in name.
    pub login: String,
    /// Area (its id, or empty for none).
    pub area: String,
    /// (field, message) for each field that is wrong.
    pub errors: Vec<(&'static str, String)>,
}

impl MemberForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// A form field with its label, the message beside it when it is wrong, and `aria-invalid`.
fn field(id: &str, label: &str, error: Option<&str>, input: maud::Markup) -> maud::Markup {
    html! {
        label.stack for=(id) { (label) }
        (input)
        @if let Some(e) = error { p.field-error id={ (id) "-error" } { (e) } }
    }
}

/// The roles `signed` may give: admins any, coordinators volunteers only.
fn grantable(signed: &Signed) -> Vec<Role> {
    if signed.user.role == Role::Admin {
        Role::ALL.to_vec()
    } else {
        vec![Role::Volunteer]
    }
}

fn role_select(
    id: &str,
    name: &str,
    current: &str,
    roles: &[Role],
    lang: vaka_shared::model::Lang,
    invalid: bool,
) -> maud::Markup {
    html! {
        select id=(id) name=(name) aria-invalid=[invalid.then_some("true")] aria-describedby=[invalid.then(|| format!("{id}-error"))] {
            @for r in roles { option value=(r.as_str()) selected[current == r.as_str()] { (r.label(lang)) } }
        }
    }
}

fn text_input(
    id: &str,
    name: &str,
    value: &str,
    max: usize,
    invalid: bool,
    kind: &str,
) -> maud::Markup {
    html! {
        input id=(id) name=(name) type=(kind) value=(value) maxlength=(max)
            aria-invalid=[invalid.then_some("true")] aria-describedby=[invalid.then(|| format!("{id}-error"))];
    }
}

/// The form that adds a member.
fn add_form(signed: &Signed, f: &MemberForm, groups: &[String]) -> maud::Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let roles = grantable(signed);
    let role = if f.role.is_empty() {
        "volunteer"
    } else {
        f.role.as_str()
    };
    html! {
        section.card id="add-member" {
            h2 { (t.add_member) }
            form method="post" action="/people" novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                div.form-grid {
                    div { (field("new-name", t.name, f.error("name"), text_input("new-name", "name", &f.name, MAX_NAME, f.error("name").is_some(), "text"))) }
                    div { (field("new-role", t.role, f.error("role"), role_select("new-role", "role", role, &roles, lang, f.error("role").is_some()))) }
                    div { (field("new-group", t.group, f.error("group"), html! {
                        input id="new-group" name="group" list="groups" value=(f.group) maxlength=(MAX_GROUP)
                            aria-invalid=[f.error("group").map(|_| "true")];
                        datalist id="groups" { @for g in groups { option value=(g) {} } }
                    })) }
                    div { (field("new-login", t.login_name, f.error("login"), text_input("new-login", "login", &f.login, 40, f.error("login").is_some(), "text"))) }
                    div { (field("new-password", t.password, f.error("password"), text_input("new-password", "password", "", 200, f.error("password").is_some(), "password"))) }
                }
                p.muted { (t.add_member_hint) }
                button type="submit" { (t.add_member) }
            }
        }
    }
}

/// The form that changes a member's role and group.
fn edit_form(
    signed: &Signed,
    p: &Person,
    f: Option<&MemberForm>,
    areas: &[(String, String)],
) -> maud::Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let empty = MemberForm::default();
    let f = f.unwrap_or(&empty);
    let role = if f.role.is_empty() {
        p.role.as_str()
    } else {
        f.role.as_str()
    };
    let group = if f.errors.is_empty() {
        p.group.clone().unwrap_or_default()
    } else {
        f.group.clone()
    };
    let area = if f.errors.is_empty() {
        p.area.map(|a| a.to_string()).unwrap_or_default()
    } else {
        f.area.clone()
    };
    let id = |name: &str| format!("{name}-{}", p.id);
    let may_change_role = signed.user.role == Role::Admin && p.id != signed.user.member_id;
    html! {
        details.member-actions open[!f.errors.is_empty()] {
            summary { (t.change_member) }
            form method="post" action={ "/people/" (p.id) "/update" } novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                @if may_change_role {
                    (field(&id("role"), t.role, f.error("role"), role_select(&id("role"), "role", role, Role::ALL, lang, f.error("role").is_some())))
                }
                (field(&id("group"), t.group, f.error("group"), text_input(&id("group"), "group", &group, MAX_GROUP, f.error("group").is_some(), "text")))
                (field(&id("area"), t.area, f.error("area"), html! {
                    select id=(id("area")) name="area" aria-invalid=[f.error("area").map(|_| "true")]
                        aria-describedby=[f.error("area").map(|_| format!("{}-error", id("area")))] {
                        option value="" selected[area.is_empty()] { (t.member_no_area) }
                        @for (a, name) in areas { option value=(a) selected[area == *a] { (name) } }
                    }
                }))
                @if may_change_role && !p.signs_in {
                    p.muted { (t.sign_in_needed_hint) }
                    (field(&id("login"), t.login_name, f.error("login"), text_input(&id("login"), "login", &f.login, 40, f.error("login").is_some(), "text")))
                    (field(&id("password"), t.password, f.error("password"), text_input(&id("password"), "password", "", 200, f.error("password").is_some(), "password")))
                }
                p { button.secondary type="submit" { (t.save) } }
            }
        }
    }
}

/// The people page, with the add form and (when a change was refused) one member's change
/// form as they were filled in.
fn render(
    signed: &Signed,
    people: &[Person],
    areas: &[(String, String)],
    add: &MemberForm,
    edit: Option<(&MemberId, &MemberForm)>,
    notice: Option<&str>,
) -> maud::Markup {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let groups: Vec<String> = {
        let mut g: Vec<String> = people.iter().filter_map(|p| p.group.clone()).collect();
        g.sort();
        g.dedup();
        g
    };
    let refused = !add.errors.is_empty() || edit.is_some_and(|(_, f)| !f.errors.is_empty());
    let body = html! {
        h1 { (t.people) }
        @if refused { p.error role="alert" { strong { (t.bad_request) } ": " (t.form_has_errors) } }
        @if let Some(n) = notice { p.ok role="status" { (n) } }
        table.stack id="people" {
            thead { tr { th { (t.name) } th { (t.role) } th { (t.group) } th { (t.devices) } th { (t.actions) } } }
            tbody { @for p in people { tr {
                td data-label=(t.name) { (p.name) }
                td data-label=(t.role) { (p.role.label(lang)) }
                td data-label=(t.group) { (p.group.clone().unwrap_or_default()) }
                td data-label=(t.devices) {
                    @for d in &p.devices {
                        div.device {
                            (d.name) " · " span.muted { (t.last_sync) ": " span.when { (d.last_sync_ms.map(fmt_time).unwrap_or_else(|| t.never.to_owned())) } }
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
                                            button.secondary type="submit" data-action=(action) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                td data-label=(t.actions) {
                    @if !p.removed {
                        form.inline method="post" action={ "/people/" (p.id) "/code" } {
                            input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                            button.secondary type="submit" { (t.new_code) }
                        }
                        (edit_form(signed, p, edit.filter(|(id, _)| **id == p.id).map(|(_, f)| f), areas))
                        @if signed.user.role == Role::Admin && p.id != signed.user.member_id {
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
        (add_form(signed, add, &groups))
    };
    layout::page(lang, Some(signed), t.people, body)
}

/// `GET /people`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let people = app.store.people(signed.user.org_id).await.lang(lang)?;
    let areas = app
        .store
        .choices(signed.user.org_id)
        .await
        .lang(lang)?
        .areas;
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let notice = q.get("saved").map(|_| t.member_saved);
    Ok(render(
        &signed,
        &people,
        &areas,
        &MemberForm::default(),
        None,
        notice,
    )
    .into_response())
}

/// Longest display name.
const MAX_NAME: usize = 80;
/// Longest group name.
const MAX_GROUP: usize = 60;

/// Whether `login` is a sign-in name: 3 to 40 lowercase letters, digits, `.`, `_` or `-`.
fn valid_login(login: &str) -> bool {
    (3..=40).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Checks the sign-in name and password a role that signs in needs; pushes what is wrong.
fn check_sign_in(form: &Pairs, f: &mut MemberForm, taken: bool, lang: vaka_shared::model::Lang) {
    let t = i18n::texts(lang);
    if !valid_login(&f.login) {
        f.errors.push(("login", t.login_invalid.to_owned()));
    } else if taken {
        f.errors.push(("login", t.login_taken.to_owned()));
    }
    if form.get("password").is_none_or(|p| p.chars().count() < 10) {
        f.errors.push(("password", t.password_too_short.to_owned()));
    }
}

/// The argon2id hash of the form's password, off the async executor.
async fn hash(form: &Pairs, lang: vaka_shared::model::Lang) -> Result<String, LangError> {
    let password = form.get("password").unwrap_or_default().to_owned();
    tokio::task::spawn_blocking(move || crate::passwords::hash_password(&password))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            LangError(
                lang,
                PageError::Refused(i18n::texts(lang).server_error.to_owned()),
            )
        })
}

/// `POST /people`: adds a member (coordinators add volunteers, admins any role; a role that
/// signs in needs a sign-in name and a password of at least ten characters).
pub async fn add_member(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let mut f = MemberForm {
        name: form.get("name").unwrap_or_default().to_owned(),
        role: form.get("role").unwrap_or("volunteer").to_owned(),
        group: form.get("group").unwrap_or_default().to_owned(),
        login: form.get("login").unwrap_or_default().to_owned(),
        area: String::new(),
        errors: Vec::new(),
    };
    if f.name.is_empty() {
        f.errors.push(("name", t.name_needed.to_owned()));
    } else if f.name.chars().count() > MAX_NAME {
        f.errors.push(("name", t.name_too_long.to_owned()));
    }
    if f.group.chars().count() > MAX_GROUP {
        f.errors.push(("group", t.group_too_long.to_owned()));
    }
    let role = Role::from_wire(&f.role).filter(|r| grantable(&signed).contains(r));
    if role.is_none() {
        f.errors.push(("role", t.role_not_allowed.to_owned()));
    }
    let signs_in = role.is_some_and(|r| r != Role::Volunteer);
    let (people_now, taken) = app
        .store
        .people_and_login_taken(signed.user.org_id, f.login.clone())
        .await
        .lang(lang)?;
    let areas = app
        .store
        .choices(signed.user.org_id)
        .await
        .lang(lang)?
        .areas;
    if signs_in {
        check_sign_in(&form, &mut f, taken, lang);
    }
    let Some(role) = role.filter(|_| f.errors.is_empty()) else {
        let page = render(&signed, &people_now, &areas, &f, None, None);
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let password_hash = if signs_in {
        Some(hash(&form, lang).await?)
    } else {
        None
    };
    let member = MemberToAdd {
        org: signed.user.org_id,
        name: f.name.clone(),
        role,
        group: (!f.group.is_empty()).then(|| f.group.clone()),
        login: signs_in.then(|| f.login.clone()),
        password_hash,
    };
    let created = app
        .store
        .add_member_by(signed.user.member_id, member, now_ms())
        .await
        .lang(lang)?;
    if created.is_none() {
        f.errors.push(("login", t.login_taken.to_owned()));
        let page = render(&signed, &people_now, &areas, &f, None, None);
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/people?saved=1")]).into_response())
}

/// `POST /people/{member}/update`: a member's group (coordinators and admins) and role (admins,
/// never their own); a member who gets a role that signs in and has no sign-in yet gets one.
pub async fn update_member(
    State(app): State<AppState>,
    signed: Signed,
    PathText(member): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let member: MemberId = member
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let login = form.get("login").unwrap_or_default().to_owned();
    let (people_now, taken) = app
        .store
        .people_and_login_taken(signed.user.org_id, login)
        .await
        .lang(lang)?;
    let areas = app
        .store
        .choices(signed.user.org_id)
        .await
        .lang(lang)?
        .areas;
    let Some(person) = people_now
        .iter()
        .find(|p| p.id == member && !p.removed)
        .cloned()
    else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let mut f = MemberForm {
        name: person.name.clone(),
        role: form.get("role").unwrap_or(person.role.as_str()).to_owned(),
        group: form.get("group").unwrap_or_default().to_owned(),
        login: form.get("login").unwrap_or_default().to_owned(),
        area: form.get("area").unwrap_or_default().to_owned(),
        errors: Vec::new(),
    };
    let area: Option<AreaId> = match f.area.as_str() {
        "" => None,
        typed => match areas
            .iter()
            .find(|(a, _)| a == typed)
            .map(|(a, _)| a.parse())
        {
            Some(Ok(area)) => Some(area),
            _ => {
                f.errors.push(("area", t.member_area_unknown.to_owned()));
                None
            }
        },
    };
    let may_change_role = signed.user.role == Role::Admin && member != signed.user.member_id;
    let role = match Role::from_wire(&f.role) {
        Some(r) if r == person.role || may_change_role => Some(r),
        _ => None,
    };
    if role.is_none() {
        f.errors.push(("role", t.role_not_allowed.to_owned()));
    }
    if f.group.chars().count() > MAX_GROUP {
        f.errors.push(("group", t.group_too_long.to_owned()));
    }
    let needs_sign_in = role.is_some_and(|r| r != Role::Volunteer) && !person.signs_in;
    if needs_sign_in {
        check_sign_in(&form, &mut f, taken, lang);
    }
    let Some(role) = role.filter(|_| f.errors.is_empty()) else {
        let page = render(
            &signed,
            &people_now,
            &areas,
            &MemberForm::default(),
            Some((&person.id, &f)),
            None,
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let password_hash = if needs_sign_in {
        Some(hash(&form, lang).await?)
    } else {
        None
    };
    let login = needs_sign_in.then(|| f.login.clone());
    let group = (!f.group.is_empty()).then(|| f.group.clone());
    let change = MemberChange {
        member,
        before: (person.role, person.group.clone()),
        after: (role, group),
        sign_in: login.zip(password_hash),
    };
    let (org, by) = (signed.user.org_id, signed.user.member_id);
    app.store
        .change_member(org, by, change, now_ms())
        .await
        .lang(lang)?;
    if person.area != area {
        let set = app
            .store
            .set_member_area(org, Actor::Member(by), member, area, now_ms())
            .await
            .lang(lang)?;
        if set.is_err() {
            // Archived or removed since the page was shown.
            return Err(LangError(lang, PageError::NotFound));
        }
    }
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/people?saved=1")]).into_response())
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
    let (org, by) = (signed.user.org_id, signed.user.member_id);
    let ttl = i64::try_from(app.config.enrollment_code_ttl.as_millis()).unwrap_or(i64::MAX / 4);
    let created = app
        .store
        .enrolment_code_by(org, by, member, ttl, now_ms())
        .await
        .lang(lang)?;
    let Some((name, code)) = created else {
        return Err(LangError(lang, PageError::NotFound));
    };
    let link = vaka_shared::enroll_link::EnrollLink {
        server: app.config.public_url(),
        code: code.clone(),
    };
    let qr = qr_svg(&link.to_string()).unwrap_or_default();
    let body = html! {
        p { a href="/people" { "← " (t.people) } }
        h1 { (t.code_for) " " (name) }
        p { code.code id="enrolment-code" { (code) } }
        div.qr role="img" aria-label=(t.qr_label) data-link=(link.to_string()) { (PreEscaped(qr)) }
        p.muted { (t.code_text) }
        p { (t.server_address) ": " code id="server-address" { (link.server) } }
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
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    if form.get("confirm") != Some("yes") {
        return Err(LangError(
            lang,
            PageError::Refused(i18n::texts(lang).confirm_needed.to_owned()),
        ));
    }
    let device: DeviceId = device
        .parse()
        .map_err(|_| LangError(lang, PageError::NotFound))?;
    let (org, by) = (signed.user.org_id, signed.user.member_id);
    let revoked = app
        .store
        .revoke_device_by(org, by, device, now_ms())
        .await
        .lang(lang)?;
    if !revoked {
        return Err(LangError(lang, PageError::NotFound));
    }
    tracing::info!(%device, "device revoked from the dashboard");
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/people")]).into_response())
}
