//! App-wide state, provided by context and reached through [`use_app`]: the device core, what
//! the screens show (a [`Snapshot`] read from the device), the drafts of the forms and the
//! user's settings. By concern: `routes` (the screens), `prefs` (the settings), `snapshot` (what
//! the screens show), `drafts` (the forms), `intents` (the only way components change anything;
//! each calls the device core and reads the snapshot again). Nothing here waits for the network.

mod drafts;
mod intents;
mod prefs;
mod routes;
mod snapshot;

pub use drafts::{
    EndDraft, Flagged, IncidentDraft, ObservationDraft, PatrolDraft, TextField, TextWarning,
};
pub use intents::ScanProblem;
pub use prefs::Prefs;
pub use routes::Route;
pub use snapshot::{ActivePatrol, AreaChoice, EntryCard, Snapshot};

use crate::i18n::Text;
use crate::location::LocationSource;
use dioxus::prelude::*;
use std::sync::Arc;
use tokio::sync::Notify;
use vaka_device::{Device, DeviceError, SchedulerConfig};
use vaka_shared::model::{Lang, Location};

/// What the app is started with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The device core (its database is opened before launch).
    pub device: Device,
    /// The server address suggested on the enrolment screen.
    pub default_server: String,
    /// The name the device enrols under.
    pub device_name: String,
    /// Where positions come from.
    pub location: LocationSource,
    /// Background sync timing.
    pub sync: SchedulerConfig,
    /// Whether the network is metered (no Wi-Fi); the desktop build is never.
    pub metered: bool,
}

/// A message shown at the top of a screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Flash {
    /// A text from the table.
    Done(Text),
    /// Something failed; the words say what.
    Failed(String),
}

/// The device core and what it needs, outside the signals.
#[derive(Debug)]
struct Core {
    config: AppConfig,
    http: reqwest::Client,
    nudge: Option<Arc<Notify>>,
}

/// The app's state. Copy it freely; every copy names the same signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppState {
    core: CopyValue<Core>,
    /// The screen shown.
    pub route: Signal<Route>,
    /// The user's settings.
    pub prefs: Signal<Prefs>,
    /// What the screens show.
    pub snapshot: Signal<Snapshot>,
    /// The incident form.
    pub incident: Signal<IncidentDraft>,
    /// The observation form.
    pub observation: Signal<ObservationDraft>,
    /// The start-patrol form.
    pub patrol: Signal<PatrolDraft>,
    /// The end-patrol form.
    pub end: Signal<EndDraft>,
    /// The latest position, if there is one.
    pub fix: Signal<Option<Location>>,
    /// A message at the top of the screen.
    pub flash: Signal<Option<Flash>>,
    /// The open form's text looks like it holds a personal identifier; saving waits for the
    /// walker's choice.
    pub text_warning: Signal<Option<TextWarning>>,
    /// An enrolment (typed or scanned) is under way.
    pub enrolling: Signal<bool>,
    /// Why the last scanned enrolment QR code did not enrol the phone.
    pub scan_problem: Signal<Option<ScanProblem>>,
    /// Writes on the device core under way (on a blocking thread); the write intents wait
    /// for none, so a second tap on "Spara" does not save twice.
    pub busy: Signal<usize>,
    /// The wall clock, ticking each second (for the patrol timer).
    pub now_ms: Signal<i64>,
}

/// The app's state, from the context the root provides.
pub fn use_app() -> AppState {
    use_context::<AppState>()
}

/// Creates the app's state from `config` and provides it to every component below.
pub fn use_app_provider(config: AppConfig) -> AppState {
    use_context_provider(move || AppState::new(config))
}

impl AppState {
    /// State for `config`, read from its device. Call inside a component (it makes signals).
    pub fn new(config: AppConfig) -> Self {
        let device = config.device.clone();
        let prefs = Prefs::load(&device).unwrap_or_default();
        let snapshot = Snapshot::load(&device).unwrap_or_default();
        let route = if snapshot.identity.is_some() {
            Route::Home
        } else {
            Route::Enroll
        };
        let fix = match config.location {
            LocationSource::Fixed(fix) if prefs.location_on => Some(fix),
            _ => None,
        };
        let now = device.wall_clock().now_ms();
        Self {
            core: CopyValue::new(Core {
                config,
                http: reqwest::Client::new(),
                nudge: None,
            }),
            route: Signal::new(route),
            prefs: Signal::new(prefs),
            snapshot: Signal::new(snapshot),
            incident: Signal::new(IncidentDraft::default()),
            observation: Signal::new(ObservationDraft::default()),
            patrol: Signal::new(PatrolDraft::default()),
            end: Signal::new(EndDraft::default()),
            fix: Signal::new(fix),
            flash: Signal::new(None),
            text_warning: Signal::new(None),
            enrolling: Signal::new(false),
            scan_problem: Signal::new(None),
            busy: Signal::new(0),
            now_ms: Signal::new(now),
        }
    }

    /// The device core.
    pub fn device(&self) -> Device {
        self.core.read().config.device.clone()
    }

    /// The configuration the app started with.
    pub fn config(&self) -> AppConfig {
        self.core.read().config.clone()
    }

    fn http(&self) -> reqwest::Client {
        self.core.read().http.clone()
    }

    /// The language shown.
    pub fn lang(&self) -> Lang {
        self.prefs.read().lang
    }

    /// The words of `text` in the language shown.
    pub fn t(&self, text: Text) -> &'static str {
        text.get(self.lang())
    }

    /// Reads the snapshot from the device again, in the background ([`Self::reload`]).
    pub fn refresh(self) {
        spawn(self.reload());
    }

    /// Reads the snapshot from the device again on a blocking thread ([`Self::show`]).
    pub async fn reload(self) {
        match self.device().run(Snapshot::load).await {
            Ok(snapshot) => self.show(snapshot),
            Err(error) => self.fail(&error),
        }
    }

    /// Shows what was read from the device. "Saved on the phone" turns into "saved and sent"
    /// once nothing waits any more, so the message never contradicts the sync card.
    fn show(mut self, snapshot: Snapshot) {
        let all_sent = snapshot.sync.as_ref().is_some_and(|s| s.pending == 0);
        self.snapshot.set(snapshot);
        if all_sent && *self.flash.peek() == Some(Flash::Done(Text::Saved)) {
            self.flash.set(Some(Flash::Done(Text::SavedAndSent)));
        }
    }

    fn fail(mut self, error: &DeviceError) {
        tracing::warn!(%error, "app action failed");
        let reason = match error {
            DeviceError::Retiring => self.t(Text::Retiring).to_owned(),
            other => other.to_string(),
        };
        let words = Text::CouldNotSave.fill(self.lang(), &[("reason", &reason)]);
        self.flash.set(Some(Flash::Failed(words)));
    }

    /// Shows a screen.
    pub fn go(mut self, route: Route) {
        self.flash.set(None);
        self.text_warning.set(None);
        self.route.set(route);
    }

    fn home(self) -> Route {
        if self.snapshot.read().active_patrol.is_some() {
            Route::Patrol
        } else {
            Route::Home
        }
    }

    /// Asks the background sync to run now.
    pub fn nudge(&self) {
        if let Some(nudge) = &self.core.read().nudge {
            nudge.notify_one();
        }
    }
}
