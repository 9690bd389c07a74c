//! The organisation's named areas on the phone: fetched from the server now and then, kept for
//! when there is no coverage, offered in the forms, and matched against a position fix.

use super::Device;
use super::error::Result;
use super::store;
use geo::{Contains, LineString, Point, Polygon};
use rusqlite::params;
use vaka_shared::AreaId;
use vaka_shared::model::Location;
use vaka_shared::sync::AreaInfo;

/// How old the phone's copy of the areas may get before a sync fetches them again.
pub const AREAS_MAX_AGE_MS: i64 = 10 * 60 * 1000;

/// The settings key holding when the areas were last fetched (Unix ms).
const FETCHED_KEY: &str = "areas_fetched_ms";

/// A named area as the phone keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Its id; entries name it in `area_id`.
    pub id: AreaId,
    /// Its name.
    pub name: String,
    /// Its outlines.
    polygons: Vec<Polygon<f64>>,
}

impl Area {
    fn from_info(info: AreaInfo) -> Self {
        let polygons = info
            .rings
            .into_iter()
            .map(|ring| {
                let ring: LineString<f64> = ring.into_iter().map(|[lon, lat]| (lon, lat)).collect();
                Polygon::new(ring, Vec::new())
            })
            .collect();
        Self {
            id: info.id,
            name: info.name,
            polygons,
        }
    }

    /// Whether `location` lies inside the area.
    pub fn contains(&self, location: &Location) -> bool {
        let point = Point::new(location.lon, location.lat);
        self.polygons.iter().any(|p| p.contains(&point))
    }
}

impl Device {
    /// The areas as last fetched, by name (none before the first fetch).
    pub fn areas(&self) -> Result<Vec<Area>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT id, name, rings FROM areas ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut areas = Vec::new();
        for row in rows {
            let (id, name, rings) = row?;
            areas.push(Area::from_info(AreaInfo {
                id: store::parse("area id", &id)?,
                name,
                rings: serde_json::from_str(&rings)?,
            }));
        }
        Ok(areas)
    }

    /// The areas' ids and names, by name, without their outlines (what the forms list).
    pub fn area_names(&self) -> Result<Vec<(AreaId, String)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM areas ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut names = Vec::new();
        for row in rows {
            let (id, name) = row?;
            names.push((store::parse("area id", &id)?, name));
        }
        Ok(names)
    }

    /// The area `location` lies in, if it lies in one (the first by name where areas overlap).
    pub fn area_at(&self, location: &Location) -> Result<Option<AreaId>> {
        Ok(self
            .areas()?
            .into_iter()
            .find(|area| area.contains(location))
            .map(|area| area.id))
    }

    /// Fetches the areas from the server and replaces the phone's copy; returns how many there
    /// are. On failure the old copy stays; a server that says the device was marked lost makes
    /// it wipe itself ([`crate::DeviceError::Wiped`]).
    pub async fn refresh_areas(&self, http: &reqwest::Client) -> Result<usize> {
        let server = self.server(http).await?;
        let answer = self.wipe_if_lost(server.areas().await).await?;
        self.blocking(move |device| device.replace_areas(&answer.areas))
            .await
    }

    /// Replaces the phone's copy of the areas with `areas`, fetched now.
    pub(crate) fn replace_areas(&self, areas: &[AreaInfo]) -> Result<usize> {
        let now = self.inner.wall.now_ms();
        self.write_tx(|tx| {
            tx.execute("DELETE FROM areas", [])?;
            let mut insert =
                tx.prepare_cached("INSERT INTO areas (id, name, rings) VALUES (?1, ?2, ?3)")?;
            for area in areas {
                insert.execute(params![
                    area.id.to_string(),
                    area.name,
                    serde_json::to_string(&area.rings)?
                ])?;
            }
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![FETCHED_KEY, now.to_string()],
            )?;
            Ok(areas.len())
        })
    }

    /// Whether the phone's copy of the areas is missing or older than [`AREAS_MAX_AGE_MS`].
    pub fn areas_stale(&self) -> Result<bool> {
        let fetched = self
            .setting(FETCHED_KEY)?
            .and_then(|ms| ms.parse::<i64>().ok());
        Ok(fetched.is_none_or(|ms| self.inner.wall.now_ms() - ms > AREAS_MAX_AGE_MS))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_support::{T0, enrolled};
    use crate::testing::square;
    use vaka_shared::model::Role;

    fn at(lon: f64, lat: f64) -> Location {
        Location {
            lat,
            lon,
            accuracy_m: Some(10.0),
        }
    }

    #[test]
    fn areas_are_kept_by_name_and_a_fix_finds_the_one_it_lies_in() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        assert!(device.areas_stale().expect("stale"), "never fetched");
        let norr = square("Norr", 16.54, 59.63, 0.005);
        let centrum = square("Centrum", 16.54, 59.61, 0.005);
        device
            .replace_areas(&[norr.clone(), centrum.clone()])
            .expect("stored");
        let names: Vec<_> = device
            .areas()
            .expect("areas")
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["Centrum", "Norr"]);
        assert_eq!(
            device.area_names().expect("names"),
            [
                (centrum.id, "Centrum".to_owned()),
                (norr.id, "Norr".to_owned())
            ]
        );
        assert!(!device.areas_stale().expect("stale"), "just fetched");
        device.wall_clock().set(T0 + AREAS_MAX_AGE_MS + 1);
        assert!(device.areas_stale().expect("stale"), "ten minutes later");
        assert_eq!(
            device.area_at(&at(16.541, 59.612)).expect("area"),
            Some(centrum.id)
        );
        assert_eq!(
            device.area_at(&at(16.539, 59.628)).expect("area"),
            Some(norr.id)
        );
        assert_eq!(
            device.area_at(&at(16.54, 59.62)).expect("area"),
            None,
            "between the two"
        );
    }

    #[test]
    fn every_polygon_of_a_multipolygon_counts_and_a_new_fetch_replaces_the_old() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let mut islands = square("Öarna", 18.0, 59.0, 0.01);
        islands.rings.extend(square("", 18.1, 59.0, 0.01).rings);
        device
            .replace_areas(&[islands.clone(), square("Gammal", 0.0, 0.0, 1.0)])
            .expect("stored");
        device.replace_areas(&[islands.clone()]).expect("replaced");
        assert_eq!(device.areas().expect("areas").len(), 1);
        assert_eq!(
            device.area_at(&at(18.105, 59.005)).expect("area"),
            Some(islands.id)
        );
        assert_eq!(device.area_at(&at(0.0, 0.0)).expect("area"), None);
    }
}
