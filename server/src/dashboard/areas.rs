//! Areas: upload GeoJSON polygons (a Polygon, MultiPolygon, Feature or FeatureCollection; a
//! collection's features are named by their `name` property) and see them on a map.

use super::auth::{CSRF_FIELD, Signed};
use super::charts;
use super::layout;
use super::{PageResult, Pairs, WithLang, i18n};
use crate::store::reports::{self, area_shapes, rings_of};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use maud::{Markup, PreEscaped, html};
use serde_json::Value;
use vaka_shared::model::Lang;

/// `GET /areas`.
pub async fn page(State(app): State<AppState>, signed: Signed) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let org = signed.org();
    let shapes = app
        .store
        .read(move |conn| area_shapes(conn, &org))
        .await
        .lang(lang)?;
    let body = html! {
        h1 { (t.areas) }
        @if shapes.is_empty() { p.muted { (t.no_areas) } } @else {
            figure id="areas-map" { (PreEscaped(charts::map(&shapes, &[], 720.0, 460.0).svg(t.areas))) }
            ul { @for s in &shapes { li { (s.name) } } }
        }
        (upload_form(lang, &signed, "", ""))
    };
    Ok(layout::page(lang, Some(&signed), t.areas, body).into_response())
}

/// The upload form, holding `name` and `geojson`.
fn upload_form(lang: Lang, signed: &Signed, name: &str, geojson: &str) -> Markup {
    let t = i18n::texts(lang);
    html! {
        section.card {
            h2 { (t.upload_area) }
            form method="post" action="/areas" {
                input type="hidden" name=(CSRF_FIELD) value=(signed.user.csrf);
                label.stack { (t.area_name) input name="name" maxlength="80" value=(name); }
                label.stack { (t.geojson) textarea id="geojson" name="geojson" rows="8" style="width:100%" required { (geojson) } }
                label.stack { (t.geojson_file) input id="geojson-file" type="file" accept=".geojson,.json,application/geo+json"; }
                button type="submit" { (t.upload) }
            }
            script { (PreEscaped("document.getElementById('geojson-file').addEventListener('change', async e => { const f = e.target.files[0]; if (f) document.getElementById('geojson').value = await f.text(); });")) }
        }
    }
}

/// The (name, GeoJSON geometry) pairs in an uploaded text.
pub fn parse_upload(text: &str, default_name: &str) -> Vec<(String, String)> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let features: Vec<&Value> = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => value
            .get("features")
            .and_then(Value::as_array)
            .map(|f| f.iter().collect())
            .unwrap_or_default(),
        _ => vec![&value],
    };
    features
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let geometry = f.get("geometry").unwrap_or(f);
            let geometry_text = geometry.to_string();
            if rings_of(&geometry_text).is_empty() {
                return None;
            }
            let name = f
                .get("properties")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    if i == 0 {
                        default_name.to_owned()
                    } else {
                        format!("{default_name} {}", i + 1)
                    }
                });
            Some((name.chars().take(80).collect(), geometry_text))
        })
        .collect()
}

/// `POST /areas`.
pub async fn upload(State(app): State<AppState>, signed: Signed, body: Bytes) -> PageResult {
    let lang = signed.lang;
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    signed.check_csrf(&form)?;
    let name = form.get("name").unwrap_or(t.areas).to_owned();
    let geojson = form.get("geojson").unwrap_or_default();
    let areas = parse_upload(geojson, &name);
    if areas.is_empty() {
        // The form again as it was filled in, with what is wrong.
        let body = html! {
            h1 { (t.areas) }
            p.error role="alert" { strong { (t.bad_request) } ": " (t.bad_geojson) }
            (upload_form(lang, &signed, form.get("name").unwrap_or_default(), geojson))
        };
        let page = layout::page(lang, Some(&signed), t.areas, body);
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let org = signed.org();
    let now = now_ms();
    app.store
        .write(move |conn| {
            for (name, geometry) in &areas {
                reports::add_area(conn, &org, name, geometry, now)?;
            }
            Ok(())
        })
        .await
        .lang(lang)?;
    Ok((StatusCode::SEE_OTHER, [(LOCATION, "/areas")]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_collection_gives_one_named_area_per_polygon() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"name":"Torget"},"geometry":{"type":"Polygon","coordinates":[[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.6]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[16.5,59.6]}}]}"#;
        let areas = parse_upload(text, "Område");
        assert_eq!(areas.len(), 1);
        assert_eq!(areas[0].0, "Torget");
        assert!(parse_upload("{}", "x").is_empty());
    }
}
