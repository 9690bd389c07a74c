//! Settings: the server and enrolment, language, theme, location, photos over Wi-Fi only.

use crate::components::{FlashMessage, TopBar};
use crate::i18n::Text;
use crate::state::{Route, use_app};
use crate::theme::ThemeChoice;
use dioxus::prelude::*;
use vaka_shared::model::Lang;

/// The settings screen.
#[component]
pub fn Settings() -> Element {
    let app = use_app();
    let prefs = *app.prefs.read();
    let lang = prefs.lang;
    let identity = app.snapshot.read().identity.clone();
    let on_off = |on: bool| if on { Text::On } else { Text::Off };
    rsx! {
        TopBar { title: Text::Settings, back: Route::Home }
        main { "data-test": "settings-screen",
            FlashMessage {}
            div { class: "card",
                label { "{app.t(Text::Server)}" }
                if let Some(me) = identity {
                    div { "data-test": "server-url", "{me.server_url}" }
                    div { class: "muted", {Text::EnrolledAs.fill(lang, &[("name", &me.member_name), ("org", &me.org_name)])} }
                } else {
                    button { "data-test": "go-enroll", onclick: move |_| app.go(Route::Enroll), "{app.t(Text::Enroll)}" }
                }
            }
            label { "{app.t(Text::Language)}" }
            div { class: "row",
                button { class: if lang == Lang::Sv { "selected" } else { "" }, "data-test": "lang-sv",
                    onclick: move |_| app.set_prefs(|p| p.lang = Lang::Sv), "Svenska" }
                button { class: if lang == Lang::En { "selected" } else { "" }, "data-test": "lang-en",
                    onclick: move |_| app.set_prefs(|p| p.lang = Lang::En), "English" }
            }
            label { "{app.t(Text::Theme)}" }
            div { class: "row",
                for (choice, text) in [(ThemeChoice::Auto, Text::ThemeAuto), (ThemeChoice::Night, Text::ThemeNight), (ThemeChoice::Day, Text::ThemeDay)] {
                    button { key: "{choice.as_str()}", class: if prefs.theme == choice { "selected" } else { "" },
                        "data-test": "theme-{choice.as_str()}",
                        onclick: move |_| app.set_prefs(|p| p.theme = choice), "{app.t(text)}" }
                }
            }
            label { "{app.t(Text::Location)}" }
            button { class: if prefs.location_on { "selected" } else { "" }, "data-test": "location",
                onclick: move |_| app.set_prefs(|p| p.location_on = !p.location_on),
                "📍 {app.t(on_off(prefs.location_on))}" }
            label { "{app.t(Text::PhotosWifiOnly)}" }
            button { class: if prefs.photos_wifi_only { "selected" } else { "" }, "data-test": "wifi-only",
                onclick: move |_| app.set_prefs(|p| p.photos_wifi_only = !p.photos_wifi_only),
                "📶 {app.t(on_off(prefs.photos_wifi_only))}" }
        }
    }
}
