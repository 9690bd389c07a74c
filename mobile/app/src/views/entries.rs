//! My entries: each patrol, incident and observation with where it stands (on the phone, on the
//! server, or needing attention with the reason in plain words) and the coordinator's comments.

use crate::components::{FlashMessage, StatusBadge, TopBar, photo_status_text, when_text};
use crate::i18n::Text;
use crate::state::{EntryCard, Route, use_app};
use dioxus::prelude::*;
use vaka_device::EntryFields;
use vaka_shared::model::{CategoryCode, Lang};

/// The headline of an entry: its kind and what it is about.
pub fn headline(card: &EntryCard, lang: Lang) -> (String, String) {
    match &card.entry.fields {
        EntryFields::Patrol(p) => {
            let kind = p.kind.map_or(Text::Patrol.get(lang), |k| k.label(lang));
            let ended = if p.ended_at.flatten().is_some() {
                format!(" · {}", Text::Ended.get(lang))
            } else {
                String::new()
            };
            ("🚶".into(), format!("{kind}{ended}"))
        }
        EntryFields::Incident(i) => match i
            .category
            .as_ref()
            .map(|c: &CategoryCode| (c, c.default_category()))
        {
            Some((_, Some(known))) => (known.icon.into(), known.label(lang).into()),
            Some((code, None)) => ("⚠️".into(), code.to_string()),
            None => ("⚠️".into(), Text::Incident.get(lang).into()),
        },
        EntryFields::Observation(o) => {
            let category = o
                .category
                .map_or(Text::Observation.get(lang), |c| c.label(lang));
            ("👁️".into(), category.to_owned())
        }
    }
}

fn retracted(card: &EntryCard) -> bool {
    match &card.entry.fields {
        EntryFields::Patrol(p) => p.retracted == Some(true),
        EntryFields::Incident(i) => i.retracted == Some(true),
        EntryFields::Observation(o) => o.retracted == Some(true),
    }
}

/// The list of entries.
#[component]
pub fn Entries() -> Element {
    let app = use_app();
    let lang = app.lang();
    let cards: Vec<EntryCard> = app
        .snapshot
        .read()
        .entries
        .iter()
        .filter(|card| card.entry.mine)
        .cloned()
        .collect();
    rsx! {
        TopBar { title: Text::MyEntries, back: Route::Home }
        main { "data-test": "entries",
            FlashMessage {}
            if cards.is_empty() {
                p { class: "muted", "{app.t(Text::NoEntries)}" }
            }
            for card in cards {
                EntryItem { key: "{card.entry.id}", card: card.clone(), lang }
            }
        }
    }
}

/// One entry of the list.
#[component]
fn EntryItem(card: EntryCard, lang: Lang) -> Element {
    let app = use_app();
    let (icon, title) = headline(&card, lang);
    let now =
        vaka_shared::Timestamp::from_unix_ms(*app.now_ms.read()).unwrap_or(card.entry.created_at);
    let when = when_text(card.entry.created_at, now, lang);
    let is_retracted = retracted(&card);
    rsx! {
        div { class: "card entry", "data-test": "entry",
            div { class: "row",
                span { "{icon}" }
                h3 { "{title}" }
                span { class: "muted", "{when}" }
            }
            if is_retracted {
                div { class: "muted", "{app.t(Text::Retracted)}" }
            }
            StatusBadge { status: card.entry.status.clone() }
            for (photo, status) in card.photos.iter() {
                div { key: "{photo.sha256}", class: "muted", "data-test": "photo-status", "📷 {photo_status_text(*status, lang)}" }
            }
            for comment in card.comments.iter() {
                div { key: "{comment.id}", class: "comment", "data-test": "comment",
                    strong { if comment.mine { "{app.t(Text::You)}: " } else { "{app.t(Text::FromCoordinator)}: " } }
                    "{comment.body}"
                }
            }
        }
    }
}
