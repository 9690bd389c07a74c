//! Home: start (or return to) the patrol, log an incident or an observation, see the sync state.

use crate::components::{FlashMessage, SyncCard, TopBar, duration_text};
use crate::i18n::Text;
use crate::message_cards::MessageCards;
use crate::state::{Route, use_app};
use dioxus::prelude::*;

/// The home screen.
#[component]
pub fn Home() -> Element {
    let app = use_app();
    let active = app.snapshot.read().active_patrol.clone();
    let org = app
        .snapshot
        .read()
        .identity
        .as_ref()
        .map(|i| i.org_name.clone())
        .unwrap_or_default();
    let now = *app.now_ms.read();
    rsx! {
        TopBar { title: Text::AppName }
        main { "data-test": "home",
            div { class: "muted", "{org}" }
            FlashMessage {}
            MessageCards {}
            if let Some(patrol) = active {
                button { class: "big primary", "data-test": "open-patrol", onclick: move |_| app.go(Route::Patrol),
                    span { class: "icon", "🚶" }
                    span { "{app.t(Text::ActivePatrol)} · {duration_text(now - patrol.started_at.unix_ms())}" }
                }
            } else {
                button { class: "big primary", "data-test": "start-patrol", onclick: move |_| app.open_start_patrol(),
                    span { class: "icon", "🚶" }
                    span { "{app.t(Text::StartPatrol)}" }
                }
            }
            button { class: "big", "data-test": "log-incident", onclick: move |_| app.open_incident(None),
                span { class: "icon", "⚠️" }
                span { "{app.t(Text::LogIncident)}" }
            }
            button { class: "big", "data-test": "log-observation", onclick: move |_| app.open_observation(),
                span { class: "icon", "👁️" }
                span { "{app.t(Text::LogObservation)}" }
            }
            SyncCard {}
            div { class: "pair",
                button { "data-test": "my-entries", onclick: move |_| app.go(Route::Entries), "📋 {app.t(Text::MyEntries)}" }
                button { "data-test": "settings", onclick: move |_| app.go(Route::Settings), "⚙ {app.t(Text::Settings)}" }
            }
        }
    }
}
