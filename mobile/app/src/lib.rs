//! The Dioxus app on top of the device core: screens for patrols, incidents, observations and
//! photos, in Swedish and English, with a night and a day theme.
//!
//! `state/` holds the app-wide state (context, reached with `use_app()`) and the intents that
//! call the device core; `views/` are the screens, `components.rs` their shared parts,
//! `i18n.rs` every text, `theme.rs` the style sheet and the night rule, `location.rs` the seam to
//! the webview's geolocation, `camera.rs` pictures read by the page from its file inputs (photos,
//! the enrolment QR code). `launch` (with the `desktop` or `mobile` feature) opens the window.

pub mod camera;
pub mod components;
#[cfg(any(feature = "desktop", feature = "mobile"))]
pub mod harness;
pub mod i18n;
pub mod location;
pub mod message_cards;
pub mod state;
pub mod theme;
pub mod views;

#[cfg(test)]
mod tests;

use camera::{CAMERA_SCRIPT, Picture, picture};
use dioxus::prelude::*;
use location::{LocationSource, WATCH_SCRIPT, fix_from};
use state::{AppConfig, AppState, use_app, use_app_provider};
use std::time::Duration;

/// The root: provides the state from the [`AppConfig`] in the context, starts background sync,
/// the patrol timer and the location watch, and shows the current screen.
#[component]
pub fn App() -> Element {
    let config = use_context::<AppConfig>();
    let app = use_app_provider(config);
    use_hook(move || start_background(app));
    rsx! { Shell {} }
}

/// Everything the root shows, without its background work (tests render this).
#[component]
pub fn Shell() -> Element {
    let app = use_app();
    let night = app
        .prefs
        .read()
        .theme
        .is_night(time::OffsetDateTime::now_utc());
    let lang = match app.lang() {
        vaka_shared::model::Lang::Sv => "sv",
        vaka_shared::model::Lang::En => "en",
    };
    rsx! {
        style { {theme::CSS} }
        div { class: if night { "app night" } else { "app day" }, lang, "data-test": "app",
            views::Screen {}
            components::CallBar {}
        }
    }
}

/// Background sync, the one-second tick, the position watch and a sync on coming back to the
/// foreground.
fn start_background(app: AppState) {
    spawn(app.run_background_sync());
    spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            app.tick();
        }
    });
    if app.config().location == LocationSource::Webview {
        spawn(async move {
            let mut watch = document::eval(WATCH_SCRIPT);
            while let Ok(sent) = watch.recv::<Option<[f64; 3]>>().await {
                let mut fix = app.fix;
                let on = app.prefs.read().location_on;
                fix.set(if on { fix_from(sent) } else { None });
            }
        });
    }
    spawn(async move {
        let mut pictures = document::eval(CAMERA_SCRIPT);
        while let Ok((input, sent)) = pictures.recv::<(String, String)>().await {
            match picture(&input, &sent) {
                Some(Picture::Photo(bytes)) => app.add_photo(bytes),
                Some(Picture::EnrollCode(bytes)) => {
                    // Not tied to the enrolment screen, which goes away on success.
                    dioxus::core::spawn_forever(app.enroll_by_scan(bytes));
                }
                None => tracing::info!(input, "the page sent a picture that does not decode"),
            }
        }
    });
    spawn(async move {
        let mut focus = document::eval(
            "window.addEventListener('focus', () => dioxus.send(true));
             document.addEventListener('visibilitychange', () => { if (!document.hidden) dioxus.send(true); });
             await new Promise(() => {});",
        );
        while focus.recv::<bool>().await.is_ok() {
            app.nudge();
        }
    });
}

/// Opens the app in a phone-sized window (desktop) or full screen (Android, iOS).
#[cfg(any(feature = "desktop", feature = "mobile"))]
pub fn launch(config: AppConfig) {
    launch_with(config, App, |builder| builder);
}

/// Opens `root` (the app, or a test harness around it) with `config` in the context; `more`
/// may add to the launch (a harness's own context).
#[cfg(any(feature = "desktop", feature = "mobile"))]
pub fn launch_with(
    config: AppConfig,
    root: fn() -> Element,
    more: impl FnOnce(LaunchBuilder) -> LaunchBuilder,
) {
    #[cfg(feature = "desktop")]
    use dioxus::desktop as renderer;
    #[cfg(all(feature = "mobile", not(feature = "desktop")))]
    use dioxus::mobile as renderer;

    let window = renderer::WindowBuilder::new()
        .with_title("Vaka")
        .with_inner_size(renderer::LogicalSize::new(390.0, 844.0));
    let desktop = renderer::Config::new()
        .with_window(window)
        .with_menu(None)
        .with_background_color((11, 15, 20, 255));
    more(LaunchBuilder::new().with_cfg(desktop).with_context(config)).launch(root);
}
