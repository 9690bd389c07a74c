//! Areas: upload GeoJSON polygons (read and checked by `area_file`: WGS 84 or SWEREF 99 TM,
//! closed rings, a name), see them on a map, rename them and remove them — an area entries point
//! at is archived, not lost. Errors are shown beside the field, with what was typed kept.

use super::area_file::{self, UploadError};
use super::auth::{CSRF_FIELD, Signed};
use super::charts;
use super::layout;
use super::{LangError, PageError, PageResult, Pairs, PathText, WithLang, i18n};
use crate::store::areas::{AreaListing, Removal};
use crate::store::reports::{AreaShape, NewArea};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use vaka_shared::model::Lang;

/// What the upload form holds, and what is wrong with it.
#[derive(Debug, Default)]
struct UploadForm<'a> {
    name: &'a str,
    geojson: &'a str,
    name_error: Option<String>,
    geojson_error: Option<String>,
}

/// A rename form that was refused: which area, what was typed, what is wrong.
struct RenameError<'a> {
    id: &'a str,
    name: &'a str,
    message: &'static str,
}

/// `GET /areas`.
pub async fn page(
    State(app): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> PageResult {
    let q = Pairs::parse(query.unwrap_or_default().as_bytes());
    let t = i18n::texts(signed.lang);
    let done = match q.get("done") {
        Some("deleted") => Some(t.area_deleted.to_owned()),
        Some("archived") => Some(t.area_archived_done.to_owned()),
        Some("renamed") => Some(t.area_renamed.to_owned()),
        Some("added") => Some(t.area_added.to_owned()),
        _ => None,
    };
    render(
        &app,
        &signed,
        done,
        &UploadForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The areas page with `form` in the upload form and `rename` in its rename form.
async fn render(
    app: &AppState,
    signed: &Signed,
    done: Option<String>,
    form: &UploadForm<'_>,
    rename: Option<RenameError<'_>>,
    status: StatusCode,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let (shapes, listed) = app.store.area_list(signed.user.org_id).await.lang(lang)?;
    let active: Vec<_> = shapes
        .iter()
        .filter(|s| {
            listed
                .iter()
                .any(|l| l.id == s.id && l.archived_at_ms.is_none())
        })
        .cloned()
        .collect();
    let refused = rename.is_some() || form.name_error.is_some() || form.geojson_error.is_some();
    let body = html! {
        h1 { (t.areas) }
        @if let Some(done) = done { p.ok role="status" { (done) } }
        @if refused { p.error role="alert" { strong { (t.bad_request) } ": " (t.form_has_errors) } }
        @if active.is_empty() { p.muted { (t.no_areas) } } @else {
            figure id="areas-map" { (PreEscaped(charts::map(&active, &[], 720.0, 460.0).svg(t.areas))) }
        }
        @if !listed.is_empty() {
            section.card id="area-list" {
                h2 { (t.areas) }
                p.muted { (t.area_archive_text) }
                @for a in &listed {
                    @let shape = shapes.iter().find(|s| s.id == a.id);
                    (area_row(lang, signed, a, shape, rename.as_ref()))
                }
            }
        }
        (upload_form(lang, signed, form))
    };
    Ok((status, layout::page(lang, Some(signed), t.areas, body)).into_response())
}

/// One area of the list: name, entries, the rename form and the remove button.
fn area_row(
    lang: Lang,
    signed: &Signed,
    a: &AreaListing,
    shape: Option<&AreaShape>,
    rename: Option<&RenameError>,
) -> Markup {
    let t = i18n::texts(lang);
    let refused = rename.filter(|r| r.id == a.id.to_string());
    let id = format!("rename-{}", a.id);
    html! {
        div.area data-area=(a.name) {
            form.filters method="post" action={ "/areas/" (a.id) "/rename" } {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                div {
                    label.stack for=(id) { (t.area_name) }
                    input id=(id) name="name" maxlength=(area_file::MAX_NAME)
                        value=(refused.map_or(a.name.as_str(), |r| r.name))
                        aria-invalid=[refused.map(|_| "true")]
                        aria-describedby=[refused.map(|_| format!("{id}-error"))];
                    @if let Some(r) = refused { p.field-error id={ (id) "-error" } { (r.message) } }
                }
                p.muted {
                    @if let Some(extent) = shape.and_then(|s| extent(lang, s)) { span.extent { (extent) } " · " }
                    (t.area_entries.replacen("{}", &a.entries.to_string(), 1))
                    @if a.archived_at_ms.is_some() { " · " span.badge { (t.area_archived) } }
                }
                button.secondary type="submit" { (t.area_rename) }
            }
            @if a.archived_at_ms.is_none() {
                form method="post" action={ "/areas/" (a.id) "/remove" } {
                    input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                    button.secondary type="submit" data-remove=(a.name) { (t.area_remove) ": " (a.name) }
                }
            }
        }
    }
}

/// Where an area lies, in words: `59,3266–59,3284 N, 18,0527–18,0565 E`.
fn extent(lang: Lang, shape: &AreaShape) -> Option<String> {
    let points = || shape.rings.iter().flatten();
    let min = |f: fn(&(f64, f64)) -> f64| points().map(f).reduce(f64::min);
    let max = |f: fn(&(f64, f64)) -> f64| points().map(f).reduce(f64::max);
    let (lon0, lon1) = (min(|p| p.0)?, max(|p| p.0)?);
    let (lat0, lat1) = (min(|p| p.1)?, max(|p| p.1)?);
    let text = format!("{lat0:.4}–{lat1:.4} N, {lon0:.4}–{lon1:.4} E");
    Some(if lang == Lang::Sv {
        text.replace('.', ",")
    } else {
        text
    })
}

/// The upload form, holding what was typed and the messages beside its fields.
fn upload_form(lang: Lang, signed: &Signed, f: &UploadForm) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card {
            h2 { (t.upload_area) }
            form method="post" action="/areas" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label.stack for="area-name" { (t.area_name) }
                input id="area-name" name="name" maxlength=(area_file::MAX_NAME) value=(f.name)
                    aria-invalid=[f.name_error.as_ref().map(|_| "true")]
                    aria-describedby=[f.name_error.as_ref().map(|_| "area-name-error")];
                @if let Some(e) = &f.name_error { p.field-error id="area-name-error" { (e) } }
                p.muted { (t.area_name_hint) }
                label.stack for="geojson" { (t.geojson) }
                textarea id="geojson" name="geojson" rows="8" style="width:100%" required
                    aria-invalid=[f.geojson_error.as_ref().map(|_| "true")]
                    aria-describedby=[f.geojson_error.as_ref().map(|_| "geojson-error")] { (f.geojson) }
                @if let Some(e) = &f.geojson_error { p.field-error id="geojson-error" { (e) } }
                p.muted { (t.geojson_crs_hint) }
                label.stack { (t.geojson_file) input id="geojson-file" type="file" accept=".geojson,.json,application/geo+json"; }
                button type="submit" { (t.upload) }
            }
            script { (PreEscaped("document.getElementById('geojson-file').addEventListener('change', async e => { const f = e.target.files[0]; if (f) document.getElementById('geojson').value = await f.text(); });")) }
        }
    }
}

/// What is wrong with an upload, in `lang`: (for the name field, for the GeoJSON field).
fn upload_message(lang: Lang, e: &UploadError) -> (Option<String>, Option<String>) {
    let t = i18n::texts(lang);
    let n = |text: &str, n: usize| text.replacen("{}", &n.to_string(), 1);
    match e {
        UploadError::NoName(i) => (Some(n(t.area_no_name, *i)), None),
        UploadError::NotJson => (None, Some(t.area_not_json.to_owned())),
        UploadError::NoPolygon => (None, Some(t.bad_geojson.to_owned())),
        UploadError::OtherCrs(name) => (None, Some(t.area_other_crs.replacen("{}", name, 1))),
        UploadError::RingNotClosed(i) => (None, Some(n(t.area_ring_open, *i))),
        UploadError::RingTooShort(i) => (None, Some(n(t.area_ring_short, *i))),
        UploadError::OutOfRange(i, x, y) => (
            None,
            Some(
                n(t.area_out_of_range, *i)
                    .replacen("{}", &x.to_string(), 1)
                    .replacen("{}", &y.to_string(), 1),
            ),
        ),
        UploadError::Projection => (None, Some(t.area_projection.to_owned())),
    }
}

fn see_areas(done: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/areas?done={done}"))],
    )
        .into_response()
}

/// `POST /areas`.
pub async fn upload(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let name = form.get("name").unwrap_or_default();
    let geojson = form.get("geojson").unwrap_or_default();
    let areas = match area_file::read(geojson, name.trim()) {
        Ok(areas) => areas,
        Err(e) => {
            // The page again as it was filled in, with what is wrong beside the field.
            let (name_error, geojson_error) = upload_message(lang, &e);
            let filled = UploadForm {
                name,
                geojson,
                name_error,
                geojson_error,
            };
            return render(&app, &signed, None, &filled, None, StatusCode::BAD_REQUEST).await;
        }
    };
    let areas = areas
        .into_iter()
        .map(|a| NewArea {
            name: a.name,
            geojson: a.geometry,
        })
        .collect();
    app.store
        .add_areas(signed.user.org_id, areas, now_ms())
        .await
        .lang(lang)?;
    Ok(see_areas("added"))
}

/// `POST /areas/{id}/rename`.
pub async fn rename(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let typed = form.get("name").unwrap_or_default();
    let name = typed.trim();
    let message = if name.is_empty() {
        Some(t.area_name_needed)
    } else if name.chars().count() > area_file::MAX_NAME {
        Some(t.area_name_long)
    } else {
        None
    };
    if let Some(message) = message {
        let refused = RenameError {
            id: &id,
            name: typed,
            message,
        };
        let form = UploadForm::default();
        return render(
            &app,
            &signed,
            None,
            &form,
            Some(refused),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let found = match id.parse() {
        Ok(area) => app
            .store
            .rename_area(signed.user.org_id, area, name.to_owned())
            .await
            .lang(lang)?,
        Err(_) => false,
    };
    if !found {
        return Err(LangError(lang, PageError::NotFound));
    }
    Ok(see_areas("renamed"))
}

/// `POST /areas/{id}/remove`: deletes an area no entry points at, archives one that entries do.
pub async fn remove(
    State(app): State<AppState>,
    signed: Signed,
    PathText(id): PathText,
    body: Bytes,
) -> PageResult {
    let lang = signed.lang;
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let removed = match id.parse() {
        Ok(area) => app
            .store
            .remove_area(signed.user.org_id, area, now_ms())
            .await
            .lang(lang)?,
        Err(_) => None,
    };
    match removed {
        Some(Removal::Deleted) => Ok(see_areas("deleted")),
        Some(Removal::Archived) => Ok(see_areas("archived")),
        None => Err(LangError(lang, PageError::NotFound)),
    }
}
