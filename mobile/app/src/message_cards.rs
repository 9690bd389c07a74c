//! The coordinators' messages on the home and patrol screens: each one shown now (until it
//! ends) as a card with its text and end time, and *Markera som läst*; once read it stays on
//! the home screen, collapsed to one line marked read, until it ends. The patrol screen shows
//! the unread ones only, after its buttons, which stay reachable without scrolling.

use super::components::{clock_time, when_text};
use super::i18n::Text;
use super::state::use_app;
use dioxus::prelude::*;
use vaka_shared::Timestamp;

/// The messages shown now, newest first; with `unread_only`, those not marked read.
#[component]
pub fn MessageCards(#[props(default)] unread_only: bool) -> Element {
    let app = use_app();
    let lang = app.lang();
    let mut messages = app.snapshot.read().messages.clone();
    if unread_only {
        messages.retain(|m| !m.read());
    }
    let now = Timestamp::from_unix_ms(*app.now_ms.read());
    rsx! {
        for message in messages {
            {
                let id = message.id;
                let until = match (message.ends_at, now) {
                    (Some(ends), Some(now)) => when_text(ends, now, lang),
                    (Some(ends), None) => clock_time(ends),
                    _ => String::new(),
                };
                let until = Text::MessageUntil.fill(lang, &[("time", &until)]);
                let class = if message.read() { "card message read" } else { "card message" };
                rsx! {
                    div { key: "{id}", class: class, role: "status", "data-test": "message", "data-message": "{id}",
                        div { class: "message-head",
                            strong { "📣 {app.t(Text::MessageFromDesk)}" }
                            if message.read() {
                                span { class: "badge on-server", "data-test": "message-read", "✓ {app.t(Text::MessageRead)}" }
                            }
                        }
                        div { class: "message-text", "data-test": "message-text", "{message.text}" }
                        div { class: "muted", "{until}" }
                        if !message.read() {
                            button { "data-test": "mark-read", onclick: move |_| app.mark_message_read(id),
                                "{app.t(Text::MarkMessageRead)}"
                            }
                        }
                    }
                }
            }
        }
    }
}
