//! Any bytes as the GeoJSON a coordinator uploads on the dashboard's areas page: split into
//! named geometries by `parse_upload`, and each geometry's outlines read by `rings_of`, which the
//! store runs on every stored area when the map, the report and `GET /api/v1/areas` read them.
//! Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaka_server::dashboard::parse_upload;
use vaka_server::store::reports::rings_of;

fuzz_target!(|data: &[u8]| {
    // The upload arrives as a form field, which is text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (name, geometry) in parse_upload(text, "Område") {
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
                .all(|(lon, lat)| lon.is_finite() && lat.is_finite())
        );
    }
    // What the store reads back is what it was given: a stored area of any text.
    let _ = rings_of(text);
});
