//! The observation form: something about the place itself.

use super::incident::PlaceField;
use crate::app::components::{AreaPicker, FlashMessage, PhotoPicker, TopBar};
use crate::app::i18n::Text;
use crate::app::state::{Route, use_app};
use dioxus::prelude::*;
use vaka_shared::model::ObservationCategory;

fn icon(category: ObservationCategory) -> &'static str {
    match category {
        ObservationCategory::Lighting => "💡",
        ObservationCategory::VandalismGraffiti => "🎨",
        ObservationCategory::LitterNeedles => "💉",
        ObservationCategory::Vegetation => "🌳",
        ObservationCategory::UnsafePlace => "🚧",
        ObservationCategory::GatheringPlace => "👥",
        ObservationCategory::Other => "📝",
    }
}

/// The observation form.
#[component]
pub fn ObservationForm() -> Element {
    let app = use_app();
    let lang = app.lang();
    let mut draft = app.observation;
    let form = draft.read().clone();
    let back = if app.snapshot.read().active_patrol.is_some() {
        Route::Patrol
    } else {
        Route::Home
    };
    let fix = *app.fix.read();
    let location_on = app.prefs.read().location_on;
    rsx! {
        TopBar { title: Text::Observation, back }
        main { "data-test": "observation-form",
            FlashMessage {}
            label { "{app.t(Text::ObservationAbout)}" }
            div { class: "grid",
                for category in ObservationCategory::ALL.iter().copied() {
                    button {
                        key: "{category.as_str()}",
                        class: if form.category == Some(category) { "selected" } else { "" },
                        "data-test": "observation-{category.as_str()}",
                        onclick: move |_| draft.write().category = Some(category),
                        span { class: "icon", "{icon(category)}" }
                        span { "{category.label(lang)}" }
                    }
                }
            }
            button { class: "primary", "data-test": "save", disabled: form.category.is_none(),
                onclick: move |_| app.save_observation(), "{app.t(Text::Save)}" }
            AreaPicker { chosen: form.area, on_pick: move |area| draft.write().area = area }
            PlaceField { fix, location_on, place: form.place.clone(), on_input: move |v| draft.write().place = v }
            div {
                label { "{app.t(Text::WhatDidYouSee)}" }
                textarea { "data-test": "description", value: "{form.description}",
                    oninput: move |e| draft.write().description = e.value() }
                div { class: "muted", "{app.t(Text::PrivacyHint)}" }
            }
            PhotoPicker { photos: form.photos.clone() }
        }
    }
}
