//! The observation form: something about the place itself. Its place and description are
//! guarded like the incident form's.

use super::incident::PlaceField;
use crate::components::{AreaPicker, FlashMessage, PhotoPicker, TextWarningBox, TopBar};
use crate::i18n::{Text, breakable};
use crate::state::{Route, TextField, use_app};
use dioxus::prelude::*;
use std::rc::Rc;
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
    let mut description_field = use_signal(|| None::<Rc<MountedData>>);
    let description_flagged = app
        .text_warning
        .read()
        .as_ref()
        .is_some_and(|w| w.at(TextField::Description).is_some());
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
                        span { {breakable(category.label(lang))} }
                    }
                }
            }
            button { class: "primary", "data-test": "save", disabled: form.category.is_none(),
                onclick: move |_| app.save_observation(), "{app.t(Text::Save)}" }
            AreaPicker { chosen: form.area, on_pick: move |area| draft.write().area = area }
            PlaceField { fix, location_on, place: form.place.clone(),
                on_input: move |v| { draft.write().place = v; app.edit_text(); },
                on_save_anyway: move |_| app.save_observation_anyway() }
            div {
                label { "{app.t(Text::WhatDidYouSee)}" }
                textarea { "data-test": "description", value: "{form.description}",
                    class: if description_flagged { "flagged" } else { "" },
                    onmounted: move |e| description_field.set(Some(e.data())),
                    oninput: move |e| { draft.write().description = e.value(); app.edit_text(); } }
                TextWarningBox { field: TextField::Description, target: description_field,
                    on_save_anyway: move |_| app.save_observation_anyway() }
                div { class: "muted", "{app.t(Text::PrivacyHint)}" }
            }
            PhotoPicker { photos: form.photos.clone() }
        }
    }
}
