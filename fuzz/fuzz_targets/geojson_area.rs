//! Any bytes as the GeoJSON a coordinator uploads on the dashboard's areas page: checked and
//! split into named geometries in degrees by `read_area_file`, and each geometry's outlines read by `rings_of`, which the
//! store runs on every stored area when the map, the report and `GET /api/v1/areas` read them.
//! Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaka_server::dashboard::read_area_file;
use vaka_server::store::reports::rings_of;

fuzz_target!(|data: &[u8]| {
    // The upload arrives as a form field, which is text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for area in read_area_file(text, "Område").unwrap_or_default() {
        let (name, geometry) = (area.name, area.geometry);
        assert!(
            name.chars().count() <= 80,
            "area names are cut to 80 characters"
        );
        let rings = rings_of(&geometry);
        assert!(!rings.is_empty(), "an accepted geometry has an outline");
        assert!(
            rings
                .iter()
                .flatten()
                .all(|(lon, lat)| (-180.0..=180.0).contains(lon) && (-90.0..=90.0).contains(lat)),
            "an accepted geometry lies on the globe"
        );
    }
    // What the store reads back is what it was given: a stored area of any text.
    let _ = rings_of(text);
});
