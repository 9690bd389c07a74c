//! An uploaded area file read and checked: GeoJSON (a Polygon, MultiPolygon, Feature or
//! FeatureCollection) in WGS 84 degrees or in SWEREF 99 TM metres (EPSG:3006, what Swedish
//! municipal GIS departments hand out), told apart by the file's `crs` member or, without one, by
//! the range of its coordinates. SWEREF 99 TM is turned into degrees with `proj4rs`. Every ring
//! must be closed and lie on the map; every area needs a name, typed or from the feature's
//! properties (`name`, `namn`, …). Any other named CRS is refused with its name.

use serde_json::{Value, json};

/// The coordinate systems an upload may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// WGS 84 longitude, latitude in degrees (EPSG:4326, OGC CRS84).
    Wgs84,
    /// SWEREF 99 TM easting, northing in metres (EPSG:3006).
    Sweref99Tm,
}

/// What is wrong with an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadError {
    /// Not JSON at all.
    NotJson,
    /// No Polygon or MultiPolygon in it.
    NoPolygon,
    /// A CRS other than WGS 84 or SWEREF 99 TM, by the name the file gives it.
    OtherCrs(String),
    /// A ring of feature `n` (from 1) does not end where it starts.
    RingNotClosed(usize),
    /// A ring of feature `n` has fewer than four positions.
    RingTooShort(usize),
    /// A position of feature `n` is neither degrees on the globe nor SWEREF 99 TM in Sweden.
    OutOfRange(usize, f64, f64),
    /// Feature `n` has no name and none was typed.
    NoName(usize),
    /// The projection failed.
    Projection,
}

/// One area read from an upload: its name and its GeoJSON geometry in WGS 84.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedArea {
    /// Name.
    pub name: String,
    /// GeoJSON geometry (Polygon or MultiPolygon) in degrees.
    pub geometry: String,
}

/// A polygon as rings of positions (`[x, y]`).
type Polygon = Vec<Vec<Vec<f64>>>;

/// The longest area name.
pub const MAX_NAME: usize = 80;

/// The property names an area's name may be under, in the order tried.
const NAME_KEYS: [&str; 6] = ["name", "namn", "NAME", "NAMN", "Name", "Namn"];

/// SWEREF 99 TM as a PROJ string (EPSG:3006: UTM zone 33 on GRS 80, equal to WGS 84 at the
/// accuracy of an area outline).
const SWEREF99TM: &str =
    "+proj=utm +zone=33 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs";
/// WGS 84 longitude/latitude as a PROJ string (EPSG:4326).
const WGS84: &str = "+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs";

/// The CRS a GeoJSON `crs` member names: `None` without one, `Err` with the name when it is
/// neither WGS 84 nor SWEREF 99 TM.
fn named_crs(value: &Value) -> Result<Option<Crs>, UploadError> {
    let Some(crs) = value.get("crs") else {
        return Ok(None);
    };
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name").or_else(|| p.get("code")))
        .map(|n| match n {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| crs.to_string());
    let code: String = name
        .rsplit([':', '/'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    match code.as_str() {
        "3006" => Ok(Some(Crs::Sweref99Tm)),
        "4326" | "CRS84" => Ok(Some(Crs::Wgs84)),
        _ => Err(UploadError::OtherCrs(super::inbox::short(&name, 80))),
    }
}

/// The polygons of a geometry as rings of positions, each polygon a list of rings.
fn polygons(geometry: &Value) -> Option<Vec<Polygon>> {
    let coords = geometry.get("coordinates")?;
    let position = |p: &Value| -> Option<Vec<f64>> {
        let p = p.as_array()?;
        (p.len() >= 2)
            .then(|| {
                p.iter()
                    .take(2)
                    .map(Value::as_f64)
                    .collect::<Option<Vec<_>>>()
            })
            .flatten()
    };
    let ring =
        |r: &Value| -> Option<Vec<Vec<f64>>> { r.as_array()?.iter().map(position).collect() };
    let polygon =
        |p: &Value| -> Option<Vec<Vec<Vec<f64>>>> { p.as_array()?.iter().map(ring).collect() };
    match geometry.get("type")?.as_str()? {
        "Polygon" => Some(vec![polygon(coords)?]),
        "MultiPolygon" => coords.as_array()?.iter().map(polygon).collect(),
        _ => None,
    }
}

fn in_degrees(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// Easting and northing within SWEREF 99 TM's area of use (Sweden and its waters), with margin.
fn in_sweref(e: f64, n: f64) -> bool {
    (150_000.0..=1_000_000.0).contains(&e) && (6_000_000.0..=7_800_000.0).contains(&n)
}

/// SWEREF 99 TM (easting, northing) in metres to WGS 84 (longitude, latitude) in degrees.
pub fn sweref_to_wgs84(e: f64, n: f64) -> Option<(f64, f64)> {
    let from = proj4rs::Proj::from_proj_string(SWEREF99TM).ok()?;
    let to = proj4rs::Proj::from_proj_string(WGS84).ok()?;
    let mut point = (e, n, 0.0);
    proj4rs::transform::transform(&from, &to, &mut point).ok()?;
    Some((point.0.to_degrees(), point.1.to_degrees()))
}

/// The name of feature `i` (from 0) of `count`: typed for a single feature, else its property,
/// else the typed name numbered.
fn name_of(feature: &Value, typed: &str, i: usize, count: usize) -> Option<String> {
    let property = NAME_KEYS.iter().find_map(|k| {
        feature
            .get("properties")
            .and_then(|p| p.get(*k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    });
    let name = match (typed.is_empty(), property) {
        (false, _) if count == 1 => typed.to_owned(),
        (_, Some(p)) => p.to_owned(),
        (false, None) => format!("{typed} {}", i + 1),
        (true, None) => return None,
    };
    Some(super::without_nul(&name).chars().take(MAX_NAME).collect())
}

/// Reads an uploaded text: the areas in it, in degrees, or what is wrong.
pub fn read(text: &str, typed_name: &str) -> Result<Vec<UploadedArea>, UploadError> {
    let value: Value = serde_json::from_str(text).map_err(|_| UploadError::NotJson)?;
    let named = named_crs(&value)?;
    let features: Vec<&Value> = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => value
            .get("features")
            .and_then(Value::as_array)
            .map(|f| f.iter().collect())
            .unwrap_or_default(),
        _ => vec![&value],
    };
    // Features with a polygon; other geometries (points, lines) are left out.
    let with_polygons: Vec<(&Value, Vec<Polygon>)> = features
        .into_iter()
        .filter_map(|f| Some((f, polygons(f.get("geometry").unwrap_or(f))?)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    if with_polygons.is_empty() {
        return Err(UploadError::NoPolygon);
    }
    // Without a named CRS: degrees when every position is on the globe, SWEREF 99 TM when every
    // one lies in Sweden's metres.
    let positions = || {
        with_polygons.iter().enumerate().flat_map(|(i, (_, p))| {
            p.iter()
                .flatten()
                .flatten()
                .map(move |pos| (i + 1, pos[0], pos[1]))
        })
    };
    let crs = match named {
        Some(crs) => crs,
        None if positions().all(|(_, x, y)| in_degrees(x, y)) => Crs::Wgs84,
        None if positions().all(|(_, x, y)| in_sweref(x, y)) => Crs::Sweref99Tm,
        None => {
            let (n, x, y) = positions()
                .find(|&(_, x, y)| !in_degrees(x, y))
                .unwrap_or_default();
            return Err(UploadError::OutOfRange(n, x, y));
        }
    };
    let count = with_polygons.len();
    let mut areas = Vec::new();
    for (i, (feature, polys)) in with_polygons.into_iter().enumerate() {
        let n = i + 1;
        let mut out = Vec::new();
        for poly in polys {
            let mut rings = Vec::new();
            for ring in poly {
                if ring.len() < 4 {
                    return Err(UploadError::RingTooShort(n));
                }
                if ring.first() != ring.last() {
                    return Err(UploadError::RingNotClosed(n));
                }
                let mut converted = Vec::new();
                for pos in ring {
                    let (x, y) = (pos[0], pos[1]);
                    let (lon, lat) = match crs {
                        Crs::Wgs84 if in_degrees(x, y) => (x, y),
                        Crs::Sweref99Tm if in_sweref(x, y) => {
                            sweref_to_wgs84(x, y).ok_or(UploadError::Projection)?
                        }
                        _ => return Err(UploadError::OutOfRange(n, x, y)),
                    };
                    // Seven decimals: about a centimetre.
                    let round = |v: f64| (v * 1e7).round() / 1e7;
                    converted.push(json!([round(lon), round(lat)]));
                }
                rings.push(Value::Array(converted));
            }
            out.push(Value::Array(rings));
        }
        let name = name_of(feature, typed_name, i, count).ok_or(UploadError::NoName(n))?;
        let geometry = if out.len() == 1 {
            json!({"type": "Polygon", "coordinates": out.remove(0)})
        } else {
            json!({"type": "MultiPolygon", "coordinates": out})
        };
        areas.push(UploadedArea {
            name,
            geometry: geometry.to_string(),
        });
    }
    Ok(areas)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stockholm's city hall, 59.3275 N 18.0546 E, is N 6580506 E 673785 in SWEREF 99 TM, by
    /// Lantmäteriet's published Gauss–Krüger formulas (worked independently of proj4rs). The
    /// often quoted N 6580822 E 674032 is 59.3302 N 18.0592 E, some 400 m north-east of it.
    #[test]
    fn a_point_known_in_both_systems_is_projected_within_a_few_metres() {
        for ((e, n), (lat_ref, lon_ref)) in [
            ((673_785.0, 6_580_506.0), (59.3275, 18.0546)),
            ((674_032.0, 6_580_822.0), (59.330_231, 18.059_190)),
        ] {
            let (lon, lat) = sweref_to_wgs84(e, n).expect("projected");
            // A degree of latitude is 111 km; of longitude at 59° N about 57 km.
            let north_m = (lat - lat_ref) * 111_000.0;
            let east_m = (lon - lon_ref) * 57_000.0;
            assert!(
                north_m.abs() < 3.0 && east_m.abs() < 3.0,
                "{lat} N {lon} E is {north_m:.1} m north, {east_m:.1} m east of the reference"
            );
        }
    }

    fn square(crs: &str, coords: &str, props: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection",{crs}"features":[{{"type":"Feature","properties":{props},"geometry":{{"type":"Polygon","coordinates":[{coords}]}}}}]}}"#
        )
    }

    const SWEREF_RING: &str =
        "[[674000,6580800],[674100,6580800],[674100,6580900],[674000,6580900],[674000,6580800]]";
    const WGS_RING: &str = "[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.6]]";

    #[test]
    fn sweref_is_recognised_by_its_crs_member_or_its_range() {
        for crs in [
            r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"#,
            r#""crs":{"type":"name","properties":{"name":"EPSG:3006"}},"#,
            "",
        ] {
            let areas = read(&square(crs, SWEREF_RING, r#"{"namn":"Stadshuset"}"#), "")
                .expect("a SWEREF 99 TM file is read");
            assert_eq!(areas[0].name, "Stadshuset");
            let v: Value = serde_json::from_str(&areas[0].geometry).expect("json");
            let first = &v["coordinates"][0][0];
            let (lon, lat) = (
                first[0].as_f64().expect("lon"),
                first[1].as_f64().expect("lat"),
            );
            assert!(
                (lat - 59.3300).abs() < 0.0005 && (lon - 18.0586).abs() < 0.0005,
                "{lat} {lon}"
            );
        }
    }

    #[test]
    fn bad_files_are_refused_with_what_is_wrong() {
        let other = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3021"}},"#;
        assert_eq!(
            read(&square(other, SWEREF_RING, "{}"), "X"),
            Err(UploadError::OtherCrs("urn:ogc:def:crs:EPSG::3021".into()))
        );
        let open = "[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.7]]";
        assert_eq!(
            read(&square("", open, "{}"), "X"),
            Err(UploadError::RingNotClosed(1))
        );
        let short = "[[16.5,59.6],[16.6,59.6],[16.5,59.6]]";
        assert_eq!(
            read(&square("", short, "{}"), "X"),
            Err(UploadError::RingTooShort(1))
        );
        let far = "[[16.5,59.6],[16.6,59.6],[16.6,95.0],[16.5,59.6]]";
        assert_eq!(
            read(&square("", far, "{}"), "X"),
            Err(UploadError::OutOfRange(1, 16.6, 95.0))
        );
        assert_eq!(
            read(&square("", WGS_RING, "{}"), ""),
            Err(UploadError::NoName(1))
        );
        assert_eq!(read("{}", "X"), Err(UploadError::NoPolygon));
        assert_eq!(read("not json", "X"), Err(UploadError::NotJson));
    }

    #[test]
    fn names_come_from_the_form_or_the_properties() {
        let areas = read(&square("", WGS_RING, r#"{"name":"Torget"}"#), "").expect("read");
        assert_eq!(areas[0].name, "Torget");
        let areas = read(&square("", WGS_RING, r#"{"name":"Torget"}"#), "Centrum").expect("read");
        assert_eq!(
            areas[0].name, "Centrum",
            "a typed name wins for a single area"
        );
        let two = format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","properties":{{"NAMN":"Norr"}},"geometry":{{"type":"Polygon","coordinates":[{WGS_RING}]}}}},
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[{WGS_RING}]}}}},
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[16.5,59.6]}}}}]}}"#
        );
        let areas = read(&two, "Centrum").expect("read");
        let names: Vec<_> = areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Norr", "Centrum 2"]);
    }
}
