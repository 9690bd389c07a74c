//! Reusable parts of the screens. They render what they are given and report taps; none of
//! them decides anything.

use super::camera::PHOTO_INPUT;
use super::i18n::{Text, identifier_warning, reason};
use super::state::{Flash, Route, TextField, use_app};
use super::theme::swedish;
use dioxus::prelude::*;
use std::rc::Rc;
use vaka_device::{PhotoStatus, SyncStatus};
use vaka_shared::model::AttachmentRef;
use vaka_shared::{AreaId, Timestamp};

/// `HH:MM` in Swedish time.
pub fn clock_time(at: Timestamp) -> String {
    let local = swedish(at.datetime());
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// When something happened, as a list shows it: `HH:MM` today, "igår HH:MM" yesterday,
/// otherwise the date too (`2026-11-12 21:04`), all in Swedish time; `now` is the wall clock.
pub fn when_text(at: Timestamp, now: Timestamp, lang: vaka_shared::model::Lang) -> String {
    let (local, today) = (swedish(at.datetime()), swedish(now.datetime()).date());
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    if local.date() == today {
        time
    } else if today.previous_day() == Some(local.date()) {
        format!("{} {time}", Text::Yesterday.get(lang))
    } else {
        format!(
            "{}-{:02}-{:02} {time}",
            local.year(),
            u8::from(local.month()),
            local.day()
        )
    }
}

/// `H:MM:SS` of a duration in milliseconds.
pub fn duration_text(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The call buttons for 112 and 114 14, on every screen.
#[component]
pub fn CallBar() -> Element {
    let app = use_app();
    rsx! {
        nav { class: "calls",
            a { class: "c112", href: "tel:112", "data-test": "call-112",
                "{app.t(Text::Call112)}"
                small { "{app.t(Text::Emergency)}" }
            }
            a { class: "c11414", href: "tel:11414", "data-test": "call-11414",
                "{app.t(Text::Call11414)}"
                small { "{app.t(Text::NonEmergency)}" }
            }
        }
    }
}

/// The title bar, with a back button to `back` when given.
#[component]
pub fn TopBar(title: Text, back: Option<Route>) -> Element {
    let app = use_app();
    let who = app
        .snapshot
        .read()
        .identity
        .as_ref()
        .map(|i| i.member_name.clone())
        .unwrap_or_default();
    rsx! {
        header { class: "top",
            if let Some(route) = back {
                button { class: "back", "data-test": "back", "aria-label": app.t(Text::Back),
                    onclick: move |_| app.go(route), "←"
                }
            }
            div { class: "titles",
                h1 { "{app.t(title)}" }
                span { class: "who", "{who}" }
            }
        }
    }
}

/// The message of the last action, if any.
#[component]
pub fn FlashMessage() -> Element {
    let app = use_app();
    let flash = app.flash.read().clone();
    match flash {
        Some(Flash::Done(text)) => {
            rsx! { div { class: "flash", "data-test": "flash", "✓ {app.t(text)}" } }
        }
        Some(Flash::Failed(words)) => {
            rsx! { div { class: "error", "data-test": "error", "{words}" } }
        }
        None => rsx! {},
    }
}

/// The sync indicator: when the last sync succeeded and what waits.
#[component]
pub fn SyncCard() -> Element {
    let app = use_app();
    let lang = app.lang();
    let snapshot = app.snapshot.read();
    let Some(sync) = snapshot.sync.clone() else {
        return rsx! {};
    };
    let last = match sync.last_sync_ok_at {
        Some(at) => Text::LastSynced.fill(lang, &[("time", &clock_time(at))]),
        None => Text::NeverSynced.get(lang).to_owned(),
    };
    let waiting = if sync.pending > 0 {
        Text::Waiting.fill(lang, &[("n", &sync.pending.to_string())])
    } else {
        Text::AllSent.get(lang).to_owned()
    };
    let dot = if sync.needs_attention > 0 {
        "dot bad"
    } else if sync.pending > 0 || snapshot.photos_waiting > 0 {
        "dot wait"
    } else {
        "dot ok"
    };
    let photos = snapshot.photos_waiting;
    rsx! {
        div { class: "card sync-card", "data-test": "sync-card",
            div { class: "sync",
                span { class: dot }
                div { class: "words",
                    div { "data-test": "sync-waiting", "{waiting}" }
                    div { class: "muted", "data-test": "sync-last", "{last}" }
                    if sync.needs_attention > 0 {
                        div { class: "muted",
                            {Text::NeedsAttentionCount.fill(lang, &[("n", &sync.needs_attention.to_string())])}
                        }
                    }
                    if photos > 0 {
                        div { class: "muted", {Text::PhotosWaiting.fill(lang, &[("n", &photos.to_string())])} }
                    }
                    if sync.last_error.is_some() {
                        div { class: "muted", "{app.t(Text::SyncFailed)}" }
                    }
                    if sync.retiring {
                        div { class: "muted", "data-test": "retiring", "{app.t(Text::Retiring)}" }
                    }
                }
            }
            button { "data-test": "sync-now", onclick: move |_| app.nudge(), "⟳ {app.t(Text::SyncNow)}" }
        }
    }
}

/// Where an entry stands, in words, with the reason when the server refused it.
#[component]
pub fn StatusBadge(status: SyncStatus) -> Element {
    let app = use_app();
    match status {
        SyncStatus::OnPhone => rsx! {
            span { class: "badge on-phone", "data-test": "status", "📱 {app.t(Text::StatusOnPhone)}" }
        },
        SyncStatus::OnServer => rsx! {
            span { class: "badge on-server", "data-test": "status", "✓ {app.t(Text::StatusOnServer)}" }
        },
        SyncStatus::NeedsAttention { code, field, .. } => {
            let field = field.unwrap_or_default();
            let why = reason(code).fill(app.lang(), &[("field", &field)]);
            rsx! {
                span { class: "badge attention", "data-test": "status", "⚠ {app.t(Text::StatusNeedsAttention)}" }
                div { class: "muted", "data-test": "reason", "{why}" }
            }
        }
    }
}

/// A number with − and + buttons.
#[component]
pub fn Stepper(
    label: Text,
    value: u32,
    max: u32,
    test: String,
    on_change: EventHandler<u32>,
) -> Element {
    let app = use_app();
    rsx! {
        div {
            label { "{app.t(label)}" }
            div { class: "stepper",
                button { "data-test": "{test}-minus", onclick: move |_| on_change.call(value.saturating_sub(1)), "−" }
                span { class: "value", "data-test": "{test}-value", "{value}" }
                button { "data-test": "{test}-plus", onclick: move |_| on_change.call((value + 1).min(max)), "+" }
            }
        }
    }
}

/// The organisation's areas as large buttons, the chosen one marked, and "no area". Shows
/// nothing while the phone has no areas (before the first sync, or where none are drawn).
#[component]
pub fn AreaPicker(chosen: Option<AreaId>, on_pick: EventHandler<Option<AreaId>>) -> Element {
    let app = use_app();
    let areas = app.snapshot.read().areas.clone();
    if areas.is_empty() {
        return rsx! {};
    }
    rsx! {
        div { "data-test": "areas",
            label { "{app.t(Text::Area)}" }
            div { class: "grid",
                for area in areas {
                    button {
                        key: "{area.id}",
                        class: if chosen == Some(area.id) { "selected" } else { "" },
                        "data-test": "area",
                        "data-area": "{area.name}",
                        onclick: move |_| on_pick.call(Some(area.id)),
                        "{area.name}"
                    }
                }
                button {
                    class: if chosen.is_none() { "selected" } else { "" },
                    "data-test": "area-none",
                    onclick: move |_| on_pick.call(None),
                    "{app.t(Text::NoArea)}"
                }
            }
        }
    }
}

/// The photo button (the camera on a phone) and the photos added so far.
#[component]
pub fn PhotoPicker(photos: Vec<AttachmentRef>) -> Element {
    let app = use_app();
    let count = photos.len();
    rsx! {
        div {
            label { "{app.t(Text::Photos)}" }
            div { class: "row",
                // The page reads the chosen file (see `camera`); the app gets its bytes.
                label { class: "button", "data-test": "add-photo",
                    input {
                        r#type: "file",
                        accept: "image/*",
                        "capture": "environment",
                        "data-test": PHOTO_INPUT,
                    }
                    "📷 {app.t(Text::AddPhoto)}"
                }
                if count > 0 {
                    span { "data-test": "photo-count", "{count} × 📷" }
                }
            }
        }
    }
}

/// Where a photo stands, in words.
pub fn photo_status_text(status: PhotoStatus, lang: vaka_shared::model::Lang) -> String {
    match status {
        PhotoStatus::OnServer => Text::PhotoOnServer.get(lang).to_owned(),
        PhotoStatus::OnPhone { uploaded: 0, .. } | PhotoStatus::Elsewhere => {
            Text::PhotoOnPhone.get(lang).to_owned()
        }
        PhotoStatus::OnPhone { uploaded, size } => {
            let pct = (uploaded * 100 / size.max(1)).to_string();
            Text::PhotoUploading.fill(lang, &[("pct", &pct)])
        }
    }
}

/// The identifier guard's warning beside a free-text field: what the text looks like and, beside
/// the first flagged field of the form, the two big choices: edit the text (back to `target`,
/// the field, with its text kept) or save anyway. Nothing when this field is not flagged.
#[component]
pub fn TextWarningBox(
    field: TextField,
    target: Signal<Option<Rc<MountedData>>>,
    on_save_anyway: EventHandler<()>,
) -> Element {
    let app = use_app();
    let lang = app.lang();
    let warning = app.text_warning.read().clone();
    let Some((flagged, first)) = warning
        .as_ref()
        .and_then(|w| w.at(field).cloned().map(|f| (f, w.first_field() == field)))
    else {
        return rsx! {};
    };
    let test = match field {
        TextField::Place => "warning-place",
        TextField::Description => "warning-description",
    };
    rsx! {
        div { class: "pii-warning", role: "alert", "data-test": test,
            onmounted: move |mounted: MountedEvent| async move {
                if first {
                    let _ = mounted.data().scroll_to(ScrollBehavior::Smooth).await;
                }
            },
            strong { "⚠ {identifier_warning(flagged.kind).get(lang)}" }
            div { class: "muted", {Text::FoundWords.fill(lang, &[("words", &flagged.words)])} }
            if first {
                div { class: "choices",
                    button { class: "primary", "data-test": "warning-edit",
                        onclick: move |_| {
                            app.edit_text();
                            if let Some(field) = target() {
                                spawn(async move {
                                    let _ = field.set_focus(true).await;
                                });
                            }
                        },
                        "{app.t(Text::EditText)}"
                    }
                    button { "data-test": "warning-save-anyway",
                        onclick: move |_| on_save_anyway.call(()),
                        "{app.t(Text::SaveAnyway)}"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaka_shared::model::Lang;

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(duration_text(0), "0:00:00");
        assert_eq!(duration_text(3_723_000), "1:02:03");
        assert_eq!(duration_text(-5), "0:00:00");
    }

    #[test]
    fn entries_not_from_today_show_their_date() {
        // 2026-11-21 22:00 UTC is 23:00 in Sweden.
        let now = Timestamp::from_unix_ms(1_795_298_400_000).expect("valid");
        let ago =
            |hours: i64| Timestamp::from_unix_ms(now.unix_ms() - hours * 3_600_000).expect("valid");
        assert_eq!(when_text(now, now, Lang::Sv), "23:00");
        assert_eq!(when_text(ago(22), now, Lang::Sv), "01:00", "still the 21st");
        assert_eq!(when_text(ago(24), now, Lang::Sv), "igår 23:00");
        assert_eq!(when_text(ago(24), now, Lang::En), "yesterday 23:00");
        assert_eq!(when_text(ago(24 * 9), now, Lang::Sv), "2026-11-12 23:00");
        assert_eq!(when_text(ago(24 * 365), now, Lang::En), "2025-11-21 23:00");
    }

    #[test]
    fn photo_status_reads_in_plain_words() {
        let half = PhotoStatus::OnPhone {
            uploaded: 50,
            size: 100,
        };
        assert_eq!(photo_status_text(half, Lang::Sv), "Foto skickas (50 %)");
        assert_eq!(
            photo_status_text(PhotoStatus::OnServer, Lang::En),
            "Photo on the server"
        );
    }
}
