//! The coordinators' messages on the home and patrol screens: each one shown now (until it
//! ends) as a card with its text and end time, and *Markera som läst*; once read it stays,
//! collapsed to one line marked read, until it ends.

use super::components::{clock_time, when_text};
use super::i18n::Text;
use super::state::use_app;
use dioxus::prelude::*;
use vaka_shared::Timestamp;

/// The messages shown now, newest first.
#[component]
pub fn MessageCards() -> Element {
    let app = use_app();
    let lang = app.lang();
    let messages = app.snapshot.read().messages.clone();
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
