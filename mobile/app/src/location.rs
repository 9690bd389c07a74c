//! Where the phone is: a seam between the app and the webview's geolocation. The app runs with
//! [`LocationSource::Webview`]; tests and the window test use [`LocationSource::Fixed`]. Without
//! a fix (or with location off) the user types the place.

use vaka_shared::model::Location;

/// Where positions come from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LocationSource {
    /// `navigator.geolocation` of the webview (asks the user on first use).
    #[default]
    Webview,
    /// Always this position.
    Fixed(Location),
    /// No positions.
    None,
}

/// The script that watches the webview's position and sends each fix as
/// `[lat, lon, accuracy]` (or `null` when there is none).
pub const WATCH_SCRIPT: &str = r#"
if (!navigator.geolocation) { dioxus.send(null); }
else {
  navigator.geolocation.watchPosition(
    (p) => dioxus.send([p.coords.latitude, p.coords.longitude, p.coords.accuracy]),
    () => dioxus.send(null),
    { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
}
await new Promise(() => {});
"#;

/// A fix from what the script sent, if it is a valid position.
pub fn fix_from(sent: Option<[f64; 3]>) -> Option<Location> {
    let [lat, lon, accuracy] = sent?;
    let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    valid.then_some(Location {
        lat,
        lon,
        #[allow(clippy::cast_possible_truncation)]
        accuracy_m: (accuracy.is_finite() && accuracy >= 0.0).then_some(accuracy as f32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_positions_become_fixes() {
        let fix = fix_from(Some([59.33, 18.06, 12.0])).expect("a fix");
        assert_eq!(
            (fix.lat, fix.lon, fix.accuracy_m),
            (59.33, 18.06, Some(12.0))
        );
        assert_eq!(fix_from(None), None);
        assert_eq!(fix_from(Some([91.0, 18.0, 5.0])), None);
        assert_eq!(
            fix_from(Some([59.0, 18.0, f64::NAN])).and_then(|f| f.accuracy_m),
            None
        );
    }
}
