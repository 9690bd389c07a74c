//! The screens, one file each, and the switch between them.

mod enroll;
mod entries;
mod home;
mod incident;
mod observation;
mod patrol;
mod settings;

pub use enroll::Enroll;
pub use entries::Entries;
pub use home::Home;
pub use incident::IncidentForm;
pub use observation::ObservationForm;
pub use patrol::{EndPatrol, PatrolUnderWay, StartPatrol};
pub use settings::Settings;

use super::state::{Route, use_app};
use dioxus::prelude::*;

/// The screen of the current route.
#[component]
pub fn Screen() -> Element {
    let app = use_app();
    let route = *app.route.read();
    match route {
        Route::Enroll => rsx! { Enroll {} },
        Route::Home => rsx! { Home {} },
        Route::StartPatrol => rsx! { StartPatrol {} },
        Route::Patrol => rsx! { PatrolUnderWay {} },
        Route::EndPatrol => rsx! { EndPatrol {} },
        Route::Incident => rsx! { IncidentForm {} },
        Route::Observation => rsx! { ObservationForm {} },
        Route::Entries => rsx! { Entries {} },
        Route::Settings => rsx! { Settings {} },
    }
}
