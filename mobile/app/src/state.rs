//! App-wide state, provided by context and reached through [`use_app`]: the device core, what
//! the screens show (a [`Snapshot`] read from the device), the drafts of the forms and the
//! user's settings. The intents here are the only way components change anything; each one
//! calls the device core and reads the snapshot again. Nothing here waits for the network.

use super::i18n::Text;
use super::location::LocationSource;
use super::theme::ThemeChoice;
use dioxus::prelude::*;
use std::sync::Arc;
use tokio::sync::Notify;
use vaka_device::enroll_qr::{self, ScanError};
use vaka_device::{
    Comment, DEFAULT_CHUNK_BYTES, Device, DeviceError, Entry, EntryFields, Identity, PatrolSummary,
    PhotoStatus, SchedulerConfig, SyncScheduler, SyncState,
};
use vaka_shared::model::{
    AttachmentRef, CategoryCode, IncidentFields, Lang, Location, ObservationCategory,
    ObservationFields, PatrolFields, PatrolKind, PoliceLine, Severity,
};
use vaka_shared::pii::{self, IdentifierKind};
use vaka_shared::sync::ErrorCode;
use vaka_shared::{AreaId, EntityId, Timestamp};

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

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// First start: enrol with a code.
    Enroll,
    /// Start patrol, log, sync state.
    Home,
    /// Choose kind and walkers, then start.
    StartPatrol,
    /// The patrol under way.
    Patrol,
    /// Summary and "all home safe".
    EndPatrol,
    /// The incident form.
    Incident,
    /// The observation form.
    Observation,
    /// My entries with status and comments.
    Entries,
    /// Settings.
    Settings,
}

/// The user's settings on this phone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prefs {
    /// Language.
    pub lang: Lang,
    /// Theme.
    pub theme: ThemeChoice,
    /// Whether the location service is used.
    pub location_on: bool,
    /// Whether photos wait for Wi-Fi.
    pub photos_wifi_only: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            lang: Lang::Sv,
            theme: ThemeChoice::Auto,
            location_on: true,
            photos_wifi_only: false,
        }
    }
}

impl Prefs {
    /// Reads the settings stored on the device.
    pub fn load(device: &Device) -> Result<Self, DeviceError> {
        let mut prefs = Self::default();
        if let Some(lang) = device.setting("lang")? {
            prefs.lang = if lang == "en" { Lang::En } else { Lang::Sv };
        }
        if let Some(theme) = device.setting("theme")? {
            prefs.theme = ThemeChoice::parse(&theme);
        }
        if let Some(on) = device.setting("location")? {
            prefs.location_on = on == "on";
        }
        if let Some(wifi) = device.setting("photos_wifi_only")? {
            prefs.photos_wifi_only = wifi == "on";
        }
        Ok(prefs)
    }

    fn store(&self, device: &Device) -> Result<(), DeviceError> {
        let on = |b: bool| if b { "on" } else { "off" };
        device.set_setting("lang", if self.lang == Lang::En { "en" } else { "sv" })?;
        device.set_setting("theme", self.theme.as_str())?;
        device.set_setting("location", on(self.location_on))?;
        device.set_setting("photos_wifi_only", on(self.photos_wifi_only))
    }
}

/// An entry as "my entries" shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryCard {
    /// The entry.
    pub entry: Entry,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its photos and where each stands.
    pub photos: Vec<(AttachmentRef, PhotoStatus)>,
}

/// The patrol under way.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivePatrol {
    /// Its id.
    pub id: EntityId,
    /// Its kind.
    pub kind: PatrolKind,
    /// When it started.
    pub started_at: Timestamp,
    /// How many walk.
    pub walkers: u16,
    /// The area walked, if one was chosen.
    pub area: Option<AreaId>,
}

/// An area the forms offer.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaChoice {
    /// Its id.
    pub id: AreaId,
    /// Its name.
    pub name: String,
}

/// What the screens show, read from the device in one go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Who the device is, once enrolled.
    pub identity: Option<Identity>,
    /// How syncing goes.
    pub sync: Option<SyncState>,
    /// The newest entries.
    pub entries: Vec<EntryCard>,
    /// The own patrol under way, if one is.
    pub active_patrol: Option<ActivePatrol>,
    /// Photos not yet on the server.
    pub photos_waiting: usize,
    /// The organisation's areas, by name (as last fetched).
    pub areas: Vec<AreaChoice>,
}

/// How many entries the app shows.
const SHOWN_ENTRIES: usize = 100;

impl Snapshot {
    /// Reads everything the screens show, in a few queries ([`Device::screen`]).
    pub fn load(device: &Device) -> Result<Self, DeviceError> {
        let screen = device.screen(SHOWN_ENTRIES)?;
        let active_patrol = screen.entries.iter().find_map(|card| {
            let entry = &card.entry;
            match &entry.fields {
                EntryFields::Patrol(p)
                    if entry.mine
                        && p.ended_at.flatten().is_none()
                        && p.retracted != Some(true) =>
                {
                    Some(ActivePatrol {
                        id: entry.id,
                        kind: p.kind.unwrap_or(PatrolKind::Other),
                        started_at: p.started_at.unwrap_or(entry.created_at),
                        walkers: p.participant_count.unwrap_or(1),
                        area: p.area_id.flatten(),
                    })
                }
                _ => None,
            }
        });
        Ok(Self {
            identity: screen.identity,
            sync: screen.sync,
            entries: screen
                .entries
                .into_iter()
                .map(|card| EntryCard {
                    entry: card.entry,
                    photos: card.photos,
                    comments: card.comments,
                })
                .collect(),
            active_patrol,
            photos_waiting: screen.photos_waiting,
            areas: screen
                .areas
                .into_iter()
                .map(|(id, name)| AreaChoice { id, name })
                .collect(),
        })
    }
}

/// The incident form.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDraft {
    /// The category code.
    pub category: Option<String>,
    /// 1–4.
    pub severity: u8,
    /// How long ago it happened.
    pub minutes_ago: u32,
    /// The area picked (or found from the fix).
    pub area: Option<AreaId>,
    /// The place in words.
    pub place: String,
    /// What happened.
    pub description: String,
    /// People involved.
    pub people: u16,
    /// Of whom minors.
    pub minors: u16,
    /// Which police number was called.
    pub police_line: Option<PoliceLine>,
    /// Whether the police came.
    pub police_came: bool,
    /// The police event number.
    pub event_number: String,
    /// Photos added.
    pub photos: Vec<AttachmentRef>,
}

impl Default for IncidentDraft {
    fn default() -> Self {
        Self {
            category: None,
            severity: 2,
            minutes_ago: 0,
            area: None,
            place: String::new(),
            description: String::new(),
            people: 0,
            minors: 0,
            police_line: None,
            police_came: false,
            event_number: String::new(),
            photos: Vec::new(),
        }
    }
}

fn text_or_none(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn minutes_before(now_ms: i64, minutes: u32) -> Option<Timestamp> {
    Timestamp::from_unix_ms(now_ms - i64::from(minutes) * 60_000)
}

impl IncidentDraft {
    /// The incident's fields: time now (or minutes before `now_ms`), the fix if there is one,
    /// the patrol under way. Only what the user gave is set.
    pub fn to_fields(
        &self,
        now_ms: i64,
        fix: Option<Location>,
        patrol: Option<EntityId>,
    ) -> IncidentFields {
        let occurred_at = (self.minutes_ago > 0)
            .then(|| minutes_before(now_ms, self.minutes_ago))
            .flatten();
        let police_at = self.police_line.and(occurred_at);
        let mut fields = IncidentFields {
            occurred_at,
            location: fix.map(Some),
            area_id: self.area.map(Some),
            place: text_or_none(&self.place).map(Some),
            category: self.category.as_deref().map(CategoryCode::from),
            severity: Some(Severity(self.severity)),
            description: text_or_none(&self.description),
            people_involved: (self.people > 0).then_some(self.people),
            minors_involved: (self.minors > 0).then_some(self.minors.min(self.people)),
            police_line: self.police_line.map(Some),
            police_contacted_at: police_at.map(Some),
            police_event_number: text_or_none(&self.event_number).map(Some),
            patrol_id: patrol.map(Some),
            attachments: (!self.photos.is_empty()).then(|| self.photos.clone()),
            ..Default::default()
        };
        // Police contacted and attended default to now when the form says so.
        let now = Timestamp::from_unix_ms(now_ms);
        if fields.police_line.is_some() && fields.police_contacted_at.is_none() {
            fields.police_contacted_at = now.map(Some);
        }
        if self.police_came {
            fields.police_attended_at = now.map(Some);
        }
        fields
    }
}

/// The observation form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservationDraft {
    /// What it is about.
    pub category: Option<ObservationCategory>,
    /// The area picked (or found from the fix).
    pub area: Option<AreaId>,
    /// The place in words.
    pub place: String,
    /// What was seen.
    pub description: String,
    /// Photos added.
    pub photos: Vec<AttachmentRef>,
}

impl ObservationDraft {
    /// The observation's fields.
    pub fn to_fields(&self, fix: Option<Location>, patrol: Option<EntityId>) -> ObservationFields {
        ObservationFields {
            category: self.category,
            location: fix.map(Some),
            area_id: self.area.map(Some),
            place: text_or_none(&self.place).map(Some),
            description: text_or_none(&self.description),
            patrol_id: patrol.map(Some),
            attachments: (!self.photos.is_empty()).then(|| self.photos.clone()),
            ..Default::default()
        }
    }
}

/// A free-text field of the incident and observation forms, the ones the identifier guard reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The place in words.
    Place,
    /// What happened, or what was seen.
    Description,
}

/// What the guard found in one field: the kind and words of its first finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// What it looks like.
    pub kind: IdentifierKind,
    /// The words found.
    pub words: String,
}

impl Flagged {
    fn first_in(text: &str) -> Option<Self> {
        pii::find(text).into_iter().next().map(|finding| Self {
            kind: finding.kind,
            words: finding.text(text).to_owned(),
        })
    }
}

/// Shown instead of saving when a form's text looks like it holds a personal identifier
/// (`vaka_shared::pii`): the walker edits the text or saves anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextWarning {
    /// What was found in the place, if anything.
    pub place: Option<Flagged>,
    /// What was found in the description, if anything.
    pub description: Option<Flagged>,
}

impl TextWarning {
    /// The warning for a form's place and description, if either holds a likely identifier.
    pub fn check(place: &str, description: &str) -> Option<Self> {
        let warning = Self {
            place: Flagged::first_in(place),
            description: Flagged::first_in(description),
        };
        (warning.place.is_some() || warning.description.is_some()).then_some(warning)
    }

    /// What was found in `field`.
    pub fn at(&self, field: TextField) -> Option<&Flagged> {
        match field {
            TextField::Place => self.place.as_ref(),
            TextField::Description => self.description.as_ref(),
        }
    }

    /// The first field, in the form's order, that holds a finding: where the buttons are.
    pub fn first_field(&self) -> TextField {
        if self.place.is_some() {
            TextField::Place
        } else {
            TextField::Description
        }
    }
}

/// The start-patrol form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatrolDraft {
    /// Which kind of walk.
    pub kind: PatrolKind,
    /// How many walk.
    pub walkers: u16,
    /// The area to walk.
    pub area: Option<AreaId>,
}

impl Default for PatrolDraft {
    fn default() -> Self {
        Self {
            kind: PatrolKind::NightWalk,
            walkers: 3,
            area: None,
        }
    }
}

/// The end-patrol form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndDraft {
    /// Youths met.
    pub youths: u32,
    /// Adults met.
    pub adults: u32,
    /// Conversations.
    pub conversations: u32,
    /// Everyone got home safe.
    pub all_home_safe: bool,
    /// A short note.
    pub note: String,
}

/// A message shown at the top of a screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Flash {
    /// A text from the table.
    Done(Text),
    /// Something failed; the words say what.
    Failed(String),
}

/// Why a scanned enrolment QR code did not enrol the phone; shown beside the scan button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProblem {
    /// The picture could not be read at all.
    NotAPicture,
    /// No QR code was found in the picture.
    NoQrCode,
    /// The QR code holds something other than a Vaka enrolment link.
    NotAVakaLink,
    /// The server refused the code (unknown, used or expired).
    CodeRefused,
    /// Enrolment failed otherwise (no contact with the server, …); the words say why.
    Failed(String),
}

impl From<ScanError> for ScanProblem {
    fn from(error: ScanError) -> Self {
        match error {
            ScanError::NotAPicture(_) => Self::NotAPicture,
            ScanError::NoQrCode => Self::NoQrCode,
            ScanError::NotAVakaLink(_) => Self::NotAVakaLink,
        }
    }
}

/// Whether the server refused an enrolment code.
fn code_refused(error: &DeviceError) -> bool {
    matches!(
        error,
        DeviceError::Server {
            code: ErrorCode::InvalidEnrollmentCode,
            ..
        }
    )
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

    /// Reads the snapshot from the device again. "Saved on the phone" turns into "saved and
    /// sent" once nothing waits any more, so the message never contradicts the sync card.
    pub fn refresh(mut self) {
        match Snapshot::load(&self.device()) {
            Ok(snapshot) => {
                let all_sent = snapshot.sync.as_ref().is_some_and(|s| s.pending == 0);
                self.snapshot.set(snapshot);
                if all_sent && *self.flash.peek() == Some(Flash::Done(Text::Saved)) {
                    self.flash.set(Some(Flash::Done(Text::SavedAndSent)));
                }
            }
            Err(error) => self.fail(&error),
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

    /// Starts background sync (once enrolled), refreshes the screens after each sync and sends
    /// waiting photos. Runs until the app ends; call from the root inside the runtime.
    pub async fn run_background_sync(mut self) {
        let device = self.device();
        if device.identity().ok().flatten().is_none() {
            return;
        }
        let config = self.config();
        let http = self.http();
        let scheduler = SyncScheduler::start(device.clone(), http.clone(), config.sync);
        self.core.write().nudge = Some(scheduler.nudger());
        let mut outcomes = scheduler.outcomes();
        while outcomes.changed().await.is_ok() {
            let synced = matches!(&*outcomes.borrow(), Some(Ok(_)));
            self.refresh();
            if self.snapshot.read().identity.is_none() {
                // The phone wiped itself (marked lost, or retired): the enrolment screen says
                // why, and there is nothing more to sync.
                self.go(Route::Enroll);
                break;
            }
            let wifi_only = self.prefs.read().photos_wifi_only;
            if synced && !(wifi_only && config.metered) {
                match device.upload_photos(&http, DEFAULT_CHUNK_BYTES).await {
                    Ok(report) if report.chunks > 0 => self.refresh(),
                    Ok(_) => {}
                    Err(error) => tracing::info!(%error, "photo upload stopped"),
                }
            }
        }
        scheduler.stop().await;
    }

    /// Enrols with a typed address and code; on success shows home and starts background
    /// sync, otherwise says why above the form.
    pub async fn enroll(mut self, server: String, code: String) {
        if *self.enrolling.peek() {
            return;
        }
        self.enrolling.set(true);
        self.flash.set(None);
        self.scan_problem.set(None);
        let result = self.enroll_at(server.trim(), code.trim()).await;
        self.enrolling.set(false);
        if let Err(error) = result {
            let words = if code_refused(&error) {
                self.t(Text::CodeRefused).to_owned()
            } else {
                Text::EnrollFailed.fill(self.lang(), &[("reason", &error.to_string())])
            };
            self.flash.set(Some(Flash::Failed(words)));
        }
    }

    /// Enrols with the link in a picture of the dashboard's QR code, in one step: the picture
    /// is read on a blocking thread, then the phone enrols at the server and with the code the
    /// link names. What went wrong shows beside the scan button ([`ScanProblem`]).
    pub async fn enroll_by_scan(mut self, picture: Vec<u8>) {
        if *self.enrolling.peek() {
            return;
        }
        self.enrolling.set(true);
        self.flash.set(None);
        self.scan_problem.set(None);
        let read = tokio::task::spawn_blocking(move || enroll_qr::read_enroll_link(&picture)).await;
        let problem = match read {
            Ok(Ok(link)) => match self.enroll_at(&link.server, &link.code).await {
                Ok(()) => None,
                Err(error) if code_refused(&error) => Some(ScanProblem::CodeRefused),
                Err(error) => Some(ScanProblem::Failed(error.to_string())),
            },
            Ok(Err(error)) => {
                tracing::info!(%error, "scanned picture gave no enrolment link");
                Some(ScanProblem::from(error))
            }
            Err(error) => Some(ScanProblem::Failed(error.to_string())),
        };
        self.enrolling.set(false);
        self.scan_problem.set(problem);
    }

    /// Enrols at `server` with `code`; on success shows home and starts background sync.
    async fn enroll_at(self, server: &str, code: &str) -> Result<(), DeviceError> {
        let device = self.device();
        let name = self.config().device_name;
        device.enroll(&self.http(), server, code, &name).await?;
        self.refresh();
        self.go(Route::Home);
        // Not tied to the enrolment screen, which goes away now.
        dioxus::core::spawn_forever(self.run_background_sync());
        Ok(())
    }

    /// Starts a patrol from the start form.
    pub fn start_patrol(self) {
        let draft = *self.patrol.read();
        let result = self.device().create_patrol(PatrolFields {
            kind: Some(draft.kind),
            participant_count: Some(draft.walkers.max(1)),
            area_id: draft.area.map(Some),
            ..Default::default()
        });
        self.after_write(result.map(|_| ()), Route::Patrol);
    }

    /// Changes the number of walkers of the patrol under way.
    pub fn set_walkers(self, walkers: u16) {
        let Some(patrol) = self.snapshot.read().active_patrol.clone() else {
            return;
        };
        let body = vaka_shared::OpBody::Patrol(PatrolFields {
            participant_count: Some(walkers.clamp(1, 50)),
            ..Default::default()
        });
        let result = self.device().edit(patrol.id, body);
        self.after_write(result, Route::Patrol);
    }

    /// Ends the patrol under way with the summary of the end form.
    pub fn end_patrol(mut self) {
        let Some(patrol) = self.snapshot.read().active_patrol.clone() else {
            return;
        };
        let draft = self.end.read().clone();
        let result = self.device().end_patrol(
            patrol.id,
            PatrolSummary {
                youths_met: Some(draft.youths),
                adults_met: Some(draft.adults),
                conversations: Some(draft.conversations),
                all_home_safe: Some(draft.all_home_safe),
                note: text_or_none(&draft.note),
            },
        );
        self.end.set(EndDraft::default());
        self.after_write(result, Route::Home);
    }

    /// The area a new entry starts with: the one the fix lies in, else the patrol's.
    fn default_area(&self) -> Option<AreaId> {
        let from_fix = self.position().and_then(|fix| {
            self.device().area_at(&fix).unwrap_or_else(|error| {
                tracing::info!(%error, "areas not readable");
                None
            })
        });
        from_fix.or_else(|| {
            self.snapshot
                .read()
                .active_patrol
                .as_ref()
                .and_then(|p| p.area)
        })
    }

    /// Opens the start-patrol form, with the area of the fix chosen.
    pub fn open_start_patrol(mut self) {
        let area = self.default_area();
        self.patrol.write().area = area;
        self.go(Route::StartPatrol);
    }

    /// Opens the incident form, with a category already chosen when given (quick log).
    pub fn open_incident(mut self, category: Option<&str>) {
        self.incident.set(IncidentDraft {
            category: category.map(str::to_owned),
            area: self.default_area(),
            ..IncidentDraft::default()
        });
        self.go(Route::Incident);
    }

    /// Opens the observation form.
    pub fn open_observation(mut self) {
        self.observation.set(ObservationDraft {
            area: self.default_area(),
            ..ObservationDraft::default()
        });
        self.go(Route::Observation);
    }

    fn position(&self) -> Option<Location> {
        if self.prefs.read().location_on {
            *self.fix.read()
        } else {
            None
        }
    }

    /// Stores the incident of the form, unless its place or description looks like it holds a
    /// personal identifier: then it shows the warning and waits (the text is kept).
    pub fn save_incident(mut self) {
        let warning = {
            let draft = self.incident.read();
            TextWarning::check(&draft.place, &draft.description)
        };
        match warning {
            Some(warning) => self.text_warning.set(Some(warning)),
            None => self.save_incident_anyway(),
        }
    }

    /// Stores the incident of the form as it is, after a warning.
    pub fn save_incident_anyway(mut self) {
        self.text_warning.set(None);
        let device = self.device();
        let patrol = self.snapshot.read().active_patrol.as_ref().map(|p| p.id);
        let now = device.wall_clock().now_ms();
        let fields = self.incident.read().to_fields(now, self.position(), patrol);
        let result = device.create_incident(fields).map(|_| ());
        let back = self.home();
        self.after_write(result, back);
    }

    /// Stores the observation of the form, unless its place or description looks like it holds
    /// a personal identifier: then it shows the warning and waits (the text is kept).
    pub fn save_observation(mut self) {
        let warning = {
            let draft = self.observation.read();
            TextWarning::check(&draft.place, &draft.description)
        };
        match warning {
            Some(warning) => self.text_warning.set(Some(warning)),
            None => self.save_observation_anyway(),
        }
    }

    /// Stores the observation of the form as it is, after a warning.
    pub fn save_observation_anyway(mut self) {
        self.text_warning.set(None);
        let patrol = self.snapshot.read().active_patrol.as_ref().map(|p| p.id);
        let fields = self.observation.read().to_fields(self.position(), patrol);
        let result = self.device().create_observation(fields).map(|_| ());
        let back = self.home();
        self.after_write(result, back);
    }

    /// Closes the warning to edit the text again (also when the walker types); the text stays
    /// as it was.
    pub fn edit_text(mut self) {
        if self.text_warning.read().is_some() {
            self.text_warning.set(None);
        }
    }

    /// Shrinks, strips and stores a photo and adds it to the open form.
    pub fn add_photo(mut self, raw: &[u8]) {
        match self.device().store_photo(raw) {
            Ok(photo) => {
                if *self.route.read() == Route::Observation {
                    self.observation.write().photos.push(photo);
                } else {
                    self.incident.write().photos.push(photo);
                }
            }
            Err(error) => {
                tracing::info!(%error, "photo refused");
                self.flash
                    .set(Some(Flash::Failed(self.t(Text::PhotoFailed).to_owned())));
            }
        }
    }

    fn after_write(mut self, result: Result<(), DeviceError>, next: Route) {
        match result {
            Ok(()) => {
                self.refresh();
                self.nudge();
                self.route.set(next);
                self.flash.set(Some(Flash::Done(Text::Saved)));
            }
            Err(error) => self.fail(&error),
        }
    }

    /// Changes the settings and keeps them on the device.
    pub fn set_prefs(mut self, change: impl FnOnce(&mut Prefs)) {
        let mut prefs = *self.prefs.read();
        change(&mut prefs);
        if let Err(error) = prefs.store(&self.device()) {
            self.fail(&error);
        }
        if !prefs.location_on {
            self.fix.set(None);
        } else if let LocationSource::Fixed(fix) = self.config().location {
            self.fix.set(Some(fix));
        }
        self.prefs.set(prefs);
    }

    /// Moves the clock shown by the patrol timer.
    pub fn tick(mut self) {
        let now = self.device().wall_clock().now_ms();
        self.now_ms.set(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_762_045_000;

    #[test]
    fn the_common_incident_needs_only_a_category() {
        let draft = IncidentDraft {
            category: Some("alcohol".into()),
            ..IncidentDraft::default()
        };
        let fields = draft.to_fields(NOW, None, None);
        assert_eq!(fields.category, Some(CategoryCode::from("alcohol")));
        assert_eq!(fields.severity, Some(Severity(2)));
        assert_eq!(fields.occurred_at, None, "the device stamps now");
        assert_eq!(fields.place, None);
        assert_eq!(fields.description, None);
        assert_eq!(fields.police_line, None);
        assert_eq!(fields.attachments, None);
    }

    #[test]
    fn a_full_incident_carries_place_time_people_police_and_photos() {
        let fix = Location {
            lat: 59.33,
            lon: 18.06,
            accuracy_m: Some(8.0),
        };
        let patrol = EntityId::new();
        let area = AreaId::new();
        let photo = AttachmentRef {
            sha256: "ab".repeat(32),
            size: 1000,
            content_type: "image/jpeg".into(),
        };
        let draft = IncidentDraft {
            category: Some("violence_threat".into()),
            severity: 3,
            minutes_ago: 15,
            area: Some(area),
            place: "  Torget ".into(),
            description: "Bråk vid kiosken".into(),
            people: 4,
            minors: 6,
            police_line: Some(PoliceLine::Emergency),
            police_came: true,
            event_number: "5000-K12345-26".into(),
            photos: vec![photo.clone()],
        };
        let fields = draft.to_fields(NOW, Some(fix), Some(patrol));
        let fifteen_ago = Timestamp::from_unix_ms(NOW - 15 * 60_000);
        assert_eq!(fields.occurred_at, fifteen_ago);
        assert_eq!(fields.location, Some(Some(fix)));
        assert_eq!(fields.place, Some(Some("Torget".into())));
        assert_eq!(fields.area_id, Some(Some(area)));
        assert_eq!(fields.people_involved, Some(4));
        assert_eq!(
            fields.minors_involved,
            Some(4),
            "never more minors than people"
        );
        assert_eq!(fields.police_line, Some(Some(PoliceLine::Emergency)));
        assert_eq!(fields.police_contacted_at, Some(fifteen_ago));
        assert_eq!(
            fields.police_attended_at,
            Some(Timestamp::from_unix_ms(NOW))
        );
        assert_eq!(
            fields.police_event_number,
            Some(Some("5000-K12345-26".into()))
        );
        assert_eq!(fields.patrol_id, Some(Some(patrol)));
        assert_eq!(fields.attachments, Some(vec![photo]));
    }

    #[test]
    fn an_observation_keeps_what_was_given() {
        let draft = ObservationDraft {
            category: Some(ObservationCategory::Lighting),
            area: None,
            place: "Gångtunneln".into(),
            description: String::new(),
            photos: vec![],
        };
        let fields = draft.to_fields(None, None);
        assert_eq!(fields.category, Some(ObservationCategory::Lighting));
        assert_eq!(fields.place, Some(Some("Gångtunneln".into())));
        assert_eq!(fields.description, None);
        assert_eq!(fields.area_id, None, "no area chosen, none sent");
    }
}
