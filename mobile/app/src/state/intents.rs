//! The intents: the only code that changes anything. Each calls the device core, then reads
//! the snapshot again; enrolment, the patrol, the forms, photos, settings, background sync.

use super::drafts::text_or_none;
use super::{
    AppState, EndDraft, Flash, IncidentDraft, ObservationDraft, Prefs, Route, Snapshot, TextWarning,
};
use crate::i18n::Text;
use crate::location::LocationSource;
use dioxus::prelude::*;
use vaka_device::enroll_qr::{self, ScanError};
use vaka_device::{DEFAULT_CHUNK_BYTES, Device, DeviceError, PatrolSummary, SyncScheduler};
use vaka_shared::AreaId;
use vaka_shared::model::{Location, PatrolFields};
use vaka_shared::sync::ErrorCode;

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

/// What a write reads again, after its commit, before the next screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadAfter {
    /// Everything the screens show: the write changes what the next screen shows (a patrol
    /// started or ended, a comment).
    Snapshot,
    /// The sync state alone: a new entry changes nothing else that home or the patrol screen
    /// shows (the sync card counts it as waiting), so they show after this short read and the
    /// rest (my entries) is read right after.
    SyncState,
}

/// What a write read again.
enum Fresh {
    Snapshot(Box<Snapshot>),
    SyncState(vaka_device::SyncState),
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

impl AppState {
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
            self.reload().await;
            if self.snapshot.read().identity.is_none() {
                // The phone wiped itself (marked lost, or retired): the enrolment screen says
                // why, and there is nothing more to sync.
                self.go(Route::Enroll);
                break;
            }
            let wifi_only = self.prefs.read().photos_wifi_only;
            if synced && !(wifi_only && config.metered) {
                match device.upload_photos(&http, DEFAULT_CHUNK_BYTES).await {
                    Ok(report) if report.chunks > 0 => self.reload().await,
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
        self.reload().await;
        self.go(Route::Home);
        // Not tied to the enrolment screen, which goes away now.
        dioxus::core::spawn_forever(self.run_background_sync());
        Ok(())
    }

    /// Starts a patrol from the start form.
    pub fn start_patrol(self) {
        let draft = *self.patrol.read();
        let fields = PatrolFields {
            kind: Some(draft.kind),
            participant_count: Some(draft.walkers.max(1)),
            area_id: draft.area.map(Some),
            ..Default::default()
        };
        self.write(
            move |device| device.create_patrol(fields).map(|_| ()),
            Route::Patrol,
        );
    }

    /// Marks a coordinator's message read on this phone; the screen stays where it is.
    pub fn mark_message_read(self, message: vaka_shared::EntityId) {
        let here = *self.route.peek();
        self.write(move |device| device.mark_message_read(message), here);
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
        self.write(move |device| device.edit(patrol.id, body), Route::Patrol);
    }

    /// Ends the patrol under way with the summary of the end form.
    pub fn end_patrol(mut self) {
        let Some(patrol) = self.snapshot.read().active_patrol.clone() else {
            return;
        };
        if self.busy() {
            return;
        }
        let draft = self.end.read().clone();
        let summary = PatrolSummary {
            youths_met: Some(draft.youths),
            adults_met: Some(draft.adults),
            conversations: Some(draft.conversations),
            all_home_safe: Some(draft.all_home_safe),
            note: text_or_none(&draft.note),
        };
        self.end.set(EndDraft::default());
        self.write(
            move |device| device.end_patrol(patrol.id, summary),
            Route::Home,
        );
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
        let back = self.home();
        self.write_reading(
            move |device| device.create_incident(fields).map(|_| ()),
            back,
            ReadAfter::SyncState,
        );
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
        let back = self.home();
        self.write_reading(
            move |device| device.create_observation(fields).map(|_| ()),
            back,
            ReadAfter::SyncState,
        );
    }

    /// Closes the warning to edit the text again (also when the walker types); the text stays
    /// as it was.
    pub fn edit_text(mut self) {
        if self.text_warning.read().is_some() {
            self.text_warning.set(None);
        }
    }

    /// Shrinks, strips and stores a photo (on a blocking thread) and adds it to the open form.
    pub fn add_photo(self, raw: Vec<u8>) {
        spawn(async move {
            let mut app = self;
            match app
                .device()
                .run(move |device| device.store_photo(&raw))
                .await
            {
                Ok(photo) => {
                    if *app.route.peek() == Route::Observation {
                        app.observation.write().photos.push(photo);
                    } else {
                        app.incident.write().photos.push(photo);
                    }
                }
                Err(error) => {
                    tracing::info!(%error, "photo refused");
                    app.flash
                        .set(Some(Flash::Failed(app.t(Text::PhotoFailed).to_owned())));
                }
            }
        });
    }

    /// Whether a write on the device core is under way.
    pub fn busy(&self) -> bool {
        *self.busy.peek() > 0
    }

    /// Runs `work` on the device core on a blocking thread, never on the UI thread; then reads
    /// the screens' data again, asks for a sync and shows `next` with "saved", or says why it
    /// failed. A write while another is under way is not started (a second tap on "Spara").
    fn write(
        self,
        work: impl FnOnce(&Device) -> Result<(), DeviceError> + Send + 'static,
        next: Route,
    ) {
        self.write_reading(work, next, ReadAfter::Snapshot);
    }

    /// [`Self::write`], reading `read` again in the same trip to the blocking thread, after the
    /// commit; with [`ReadAfter::SyncState`] the rest of the screens' data is read once `next`
    /// shows.
    fn write_reading(
        mut self,
        work: impl FnOnce(&Device) -> Result<(), DeviceError> + Send + 'static,
        next: Route,
        read: ReadAfter,
    ) {
        if self.busy() {
            return;
        }
        *self.busy.write() += 1;
        // Not tied to the screen that asked: if it goes away meanwhile (the walker taps back),
        // the write still ends, and so does `busy`.
        dioxus::core::spawn_forever(async move {
            // A read that fails after a write that succeeded keeps the screens as they were;
            // the entry is saved.
            let result = self
                .device()
                .run(move |device| {
                    work(device)?;
                    Ok(match read {
                        ReadAfter::Snapshot => {
                            Snapshot::load(device).map(|s| Fresh::Snapshot(Box::new(s)))
                        }
                        ReadAfter::SyncState => device.sync_state().map(Fresh::SyncState),
                    })
                })
                .await;
            match result {
                Ok(fresh) => {
                    match fresh {
                        Ok(Fresh::Snapshot(snapshot)) => self.show(*snapshot),
                        Ok(Fresh::SyncState(sync)) => self.snapshot.write().sync = Some(sync),
                        Err(error) => tracing::warn!(%error, "screens not read after a save"),
                    }
                    self.nudge();
                    self.route.set(next);
                    self.flash.set(Some(Flash::Done(Text::Saved)));
                    if read == ReadAfter::SyncState {
                        self.refresh();
                    }
                }
                Err(error) => self.fail(&error),
            }
            *self.busy.write() -= 1;
        });
    }

    /// Changes the settings and keeps them on the device.
    pub fn set_prefs(mut self, change: impl FnOnce(&mut Prefs)) {
        let mut prefs = *self.prefs.read();
        change(&mut prefs);
        let device = self.device();
        spawn(async move {
            if let Err(error) = device.run(move |device| prefs.store(device)).await {
                self.fail(&error);
            }
        });
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
