//! The patrol: starting it (kind, walkers), the patrol under way (timer, walkers, quick-log
//! buttons for the most used categories) and ending it with a summary.

use crate::components::{
    AreaPicker, FlashMessage, Stepper, SyncCard, TopBar, clock_time, duration_text,
};
use crate::i18n::{Text, breakable};
use crate::message_cards::MessageCards;
use crate::state::{Route, use_app};
use dioxus::prelude::*;
use vaka_shared::model::{DEFAULT_CATEGORIES, PatrolKind};

/// How many categories the patrol screen offers as quick-log buttons.
const QUICK_CATEGORIES: usize = 6;

/// Choosing the kind of walk and how many walk.
#[component]
pub fn StartPatrol() -> Element {
    let app = use_app();
    let mut draft = app.patrol;
    let lang = app.lang();
    let chosen = *draft.read();
    rsx! {
        TopBar { title: Text::StartPatrol, back: Route::Home }
        main { "data-test": "start-patrol-form",
            FlashMessage {}
            label { "{app.t(Text::PatrolKind)}" }
            div { class: "grid",
                for kind in PatrolKind::ALL.iter().copied() {
                    button {
                        key: "{kind.as_str()}",
                        class: if kind == chosen.kind { "selected" } else { "" },
                        "data-test": "kind-{kind.as_str()}",
                        onclick: move |_| draft.write().kind = kind,
                        {breakable(kind.label(lang))}
                    }
                }
            }
            Stepper { label: Text::Walkers, value: u32::from(chosen.walkers), max: 50, test: "walkers",
                on_change: move |n: u32| draft.write().walkers = u16::try_from(n.max(1)).unwrap_or(50) }
            AreaPicker { chosen: chosen.area, on_pick: move |area| draft.write().area = area }
            button { class: "primary", "data-test": "start", onclick: move |_| app.start_patrol(),
                "{app.t(Text::Start)}" }
        }
    }
}

/// The patrol under way.
#[component]
pub fn PatrolUnderWay() -> Element {
    let app = use_app();
    let lang = app.lang();
    let Some(patrol) = app.snapshot.read().active_patrol.clone() else {
        return rsx! {
            TopBar { title: Text::Patrol, back: Route::Home }
            main { FlashMessage {} }
        };
    };
    let elapsed = duration_text(*app.now_ms.read() - patrol.started_at.unix_ms());
    let walkers = patrol.walkers;
    let area = patrol.area.and_then(|id| {
        app.snapshot
            .read()
            .areas
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!(" · {}", a.name))
    });
    let area = area.unwrap_or_default();
    // Everything a walker taps fits above the call bar on a 390×844 screen: the quick-log
    // tiles, logging, and the patrol's end; the coordinators' unread messages and the sync
    // card come after them.
    rsx! {
        TopBar { title: Text::ActivePatrol, back: Route::Home }
        main { "data-test": "patrol",
            FlashMessage {}
            div { class: "card patrol-card",
                div { class: "muted", "data-test": "patrol-info", "{patrol.kind.label(lang)} · {clock_time(patrol.started_at)}{area}" }
                div { class: "now",
                    div {
                        div { class: "muted", "{app.t(Text::Elapsed)}" }
                        div { class: "timer", "data-test": "timer", "{elapsed}" }
                    }
                    Stepper { label: Text::Walkers, value: u32::from(walkers), max: 50, test: "patrol-walkers",
                        on_change: move |n: u32| app.set_walkers(u16::try_from(n).unwrap_or(50)) }
                }
            }
            div { class: "quick", "data-test": "quick-log", "aria-label": app.t(Text::QuickLog),
                for category in DEFAULT_CATEGORIES.iter().take(QUICK_CATEGORIES) {
                    button {
                        key: "{category.code}",
                        "data-test": "quick-{category.code}",
                        onclick: move |_| app.open_incident(Some(category.code)),
                        span { class: "icon", "{category.icon}" }
                        span { {breakable(category.label(lang))} }
                    }
                }
            }
            div { class: "pair",
                button { "data-test": "log-incident", onclick: move |_| app.open_incident(None), "⚠️ {app.t(Text::LogIncident)}" }
                button { "data-test": "log-observation", onclick: move |_| app.open_observation(), "👁️ {app.t(Text::LogObservation)}" }
            }
            button { class: "big", "data-test": "end-patrol", onclick: move |_| app.go(Route::EndPatrol),
                span { class: "icon", "🏁" }
                span { "{app.t(Text::EndPatrol)}" }
            }
            MessageCards { unread_only: true }
            SyncCard {}
        }
    }
}

/// The summary and "all home safe" at the end of a patrol.
#[component]
pub fn EndPatrol() -> Element {
    let app = use_app();
    let mut end = app.end;
    let draft = end.read().clone();
    rsx! {
        TopBar { title: Text::EndPatrol, back: Route::Patrol }
        main { "data-test": "end-patrol-form",
            FlashMessage {}
            label { "{app.t(Text::Summary)}" }
            Stepper { label: Text::YouthsMet, value: draft.youths, max: 10_000, test: "youths",
                on_change: move |n| end.write().youths = n }
            Stepper { label: Text::AdultsMet, value: draft.adults, max: 10_000, test: "adults",
                on_change: move |n| end.write().adults = n }
            Stepper { label: Text::Conversations, value: draft.conversations, max: 10_000, test: "conversations",
                on_change: move |n| end.write().conversations = n }
            button {
                class: if draft.all_home_safe { "big selected" } else { "big" },
                "data-test": "all-home-safe",
                onclick: move |_| { let safe = end.read().all_home_safe; end.write().all_home_safe = !safe; },
                span { class: "icon", if draft.all_home_safe { "✅" } else { "⬜" } }
                span { "{app.t(Text::AllHomeSafe)}" }
            }
            div {
                label { "{app.t(Text::Note)}" }
                textarea { "data-test": "note", value: "{draft.note}", oninput: move |e| end.write().note = e.value() }
                div { class: "muted", "{app.t(Text::PrivacyHint)}" }
            }
            button { class: "primary", "data-test": "confirm-end",
                onclick: move |_| app.end_patrol(), "{app.t(Text::ConfirmEnd)}" }
        }
    }
}
