//! The incident form. The common case is a category tap and "Save": time is now, place is the
//! GPS fix, severity is moderate. Everything else is there for when it matters. When the place
//! or the description looks like it holds a personal identifier, saving first shows the warning
//! beside that field.

use crate::components::{AreaPicker, FlashMessage, PhotoPicker, Stepper, TextWarningBox, TopBar};
use crate::i18n::{Text, breakable};
use crate::state::{Route, TextField, use_app};
use dioxus::prelude::*;
use std::rc::Rc;
use vaka_shared::model::{DEFAULT_CATEGORIES, Location, PoliceLine, Severity};

/// "How long ago" choices, in minutes.
const MINUTES_AGO: &[u32] = &[0, 5, 15, 30, 60];

/// The place as the form shows it: the fix, or why there is none; and the guard's warning when
/// the typed place is flagged (`on_save_anyway` saves the form as it is).
#[component]
pub fn PlaceField(
    fix: Option<Location>,
    location_on: bool,
    place: String,
    on_input: EventHandler<String>,
    on_save_anyway: EventHandler<()>,
) -> Element {
    let app = use_app();
    let lang = app.lang();
    let mut field = use_signal(|| None::<Rc<MountedData>>);
    let flagged = app
        .text_warning
        .read()
        .as_ref()
        .is_some_and(|w| w.at(TextField::Place).is_some());
    let status = match fix {
        Some(fix) => Text::PlaceFromGps.fill(
            lang,
            &[
                ("lat", &format!("{:.5}", fix.lat)),
                ("lon", &format!("{:.5}", fix.lon)),
                (
                    "acc",
                    &fix.accuracy_m.map_or("?".into(), |a| format!("{a:.0}")),
                ),
            ],
        ),
        None if location_on => Text::NoFix.get(lang).to_owned(),
        None => Text::LocationOff.get(lang).to_owned(),
    };
    rsx! {
        div {
            label { "{app.t(Text::Place)}" }
            div { class: "muted", "data-test": "fix", "📍 {status}" }
            input { "data-test": "place", value: "{place}", placeholder: app.t(Text::PlaceHint),
                class: if flagged { "flagged" } else { "" },
                onmounted: move |e| field.set(Some(e.data())),
                oninput: move |e| on_input.call(e.value()) }
            TextWarningBox { field: TextField::Place, target: field, on_save_anyway }
        }
    }
}

/// The incident form.
#[component]
pub fn IncidentForm() -> Element {
    let app = use_app();
    let lang = app.lang();
    let mut draft = app.incident;
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
        TopBar { title: Text::Incident, back }
        main { "data-test": "incident-form",
            FlashMessage {}
            label { "{app.t(Text::Category)}" }
            div { class: "grid",
                for category in DEFAULT_CATEGORIES {
                    button {
                        key: "{category.code}",
                        class: if form.category.as_deref() == Some(category.code) { "selected" } else { "" },
                        "data-test": "category-{category.code}",
                        onclick: move |_| draft.write().category = Some(category.code.to_owned()),
                        span { class: "icon", "{category.icon}" }
                        span { {breakable(category.label(lang))} }
                    }
                }
            }
            button { class: "primary", "data-test": "save", disabled: form.category.is_none(),
                onclick: move |_| app.save_incident(), "{app.t(Text::Save)}" }
            label { "{app.t(Text::Severity)}" }
            div { class: "row",
                for level in Severity::MIN..=Severity::MAX {
                    button {
                        key: "{level}",
                        class: if form.severity == level { "selected" } else { "" },
                        "data-test": "severity-{level}",
                        onclick: move |_| draft.write().severity = level,
                        "{level} {Severity(level).label(lang)}"
                    }
                }
            }
            label { "{app.t(Text::When)}" }
            div { class: "row",
                for minutes in MINUTES_AGO.iter().copied() {
                    button {
                        key: "{minutes}",
                        class: if form.minutes_ago == minutes { "selected" } else { "" },
                        "data-test": "ago-{minutes}",
                        onclick: move |_| draft.write().minutes_ago = minutes,
                        if minutes == 0 { "{app.t(Text::Now)}" } else { {Text::MinutesAgo.fill(lang, &[("n", &minutes.to_string())])} }
                    }
                }
            }
            AreaPicker { chosen: form.area, on_pick: move |area| draft.write().area = area }
            PlaceField { fix, location_on, place: form.place.clone(),
                on_input: move |v| { draft.write().place = v; app.edit_text(); },
                on_save_anyway: move |_| app.save_incident_anyway() }
            div {
                label { "{app.t(Text::WhatHappened)}" }
                textarea { "data-test": "description", value: "{form.description}",
                    class: if description_flagged { "flagged" } else { "" },
                    onmounted: move |e| description_field.set(Some(e.data())),
                    oninput: move |e| { draft.write().description = e.value(); app.edit_text(); } }
                TextWarningBox { field: TextField::Description, target: description_field,
                    on_save_anyway: move |_| app.save_incident_anyway() }
                div { class: "muted", "{app.t(Text::PrivacyHint)}" }
            }
            div { class: "row",
                Stepper { label: Text::PeopleInvolved, value: u32::from(form.people), max: 500, test: "people",
                    on_change: move |n: u32| draft.write().people = u16::try_from(n).unwrap_or(500) }
                Stepper { label: Text::MinorsInvolved, value: u32::from(form.minors), max: u32::from(form.people), test: "minors",
                    on_change: move |n: u32| draft.write().minors = u16::try_from(n).unwrap_or(0) }
            }
            label { "{app.t(Text::Police)}" }
            div { class: "row",
                button { class: if form.police_line.is_none() { "selected" } else { "" }, "data-test": "police-none",
                    onclick: move |_| draft.write().police_line = None, "{app.t(Text::PoliceNotCalled)}" }
                for line in PoliceLine::ALL.iter().copied() {
                    button {
                        key: "{line.as_str()}",
                        class: if form.police_line == Some(line) { "selected" } else { "" },
                        "data-test": "police-{line.as_str()}",
                        onclick: move |_| draft.write().police_line = Some(line),
                        "{line.label(lang)}"
                    }
                }
            }
            if form.police_line.is_some() {
                button { class: if form.police_came { "selected" } else { "" }, "data-test": "police-came",
                    onclick: move |_| { let came = draft.read().police_came; draft.write().police_came = !came; },
                    if form.police_came { "✅ " } else { "⬜ " }
                    "{app.t(Text::PoliceCame)}"
                }
                div {
                    label { "{app.t(Text::EventNumber)}" }
                    input { "data-test": "event-number", value: "{form.event_number}",
                        oninput: move |e| draft.write().event_number = e.value() }
                }
            }
            PhotoPicker { photos: form.photos.clone() }
            button { class: "primary", "data-test": "save-bottom", disabled: form.category.is_none(),
                onclick: move |_| app.save_incident(), "{app.t(Text::Save)}" }
        }
    }
}
