//! Vaka's device core: the local SQLite store, the outbox of ops, the sync client and its
//! background scheduler, photos, areas, enrolment, removal and wipe. It runs without any user
//! interface, so tests, the `vaka-device` command line and the app all drive the same [`Device`].
//!
//! The [`Device`] handle: one local SQLite file (encrypted with SQLCipher) holding this phone's
//! identity, its log of ops, the merged state of every entity and its photos, and the
//! operations on it (log, read, enrol, sync, forget).
//!
//! Invariants: every write is one SQLite transaction that appends the op to the outbox and
//! updates the entity; an own op leaves the outbox only when the server acknowledged it; the
//! pull cursor is stored in the transaction that applies the pulled ops and removals; no purge
//! removes an entry the phone has own ops of that the server has not acknowledged.

pub(crate) mod areas;
mod blobs;
mod client;
mod clock;
mod enroll;
pub mod enroll_qr;
mod entities;
mod error;
mod key;
mod messages;
pub mod photos;
mod reads;
mod removal;
mod schedule;
mod store;
mod sync;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod testing;
mod wipe;
mod writes;

pub use areas::{AREAS_MAX_AGE_MS, Area};
pub use blobs::{DEFAULT_CHUNK_BYTES, PendingPhoto, PhotoStatus, UploadReport};
pub use clock::WallClock;
pub use error::{DeviceError, Result};
pub use key::{DbKey, KeySource};
pub use messages::Message;
pub use reads::{
    Comment, EntityView, Entry, EntryFields, RejectedOwnOp, Screen, ScreenEntry, StateSnapshot,
    SyncState, SyncStatus,
};
pub use schedule::{RetryPolicy, SchedulerConfig, SyncOutcome, SyncScheduler};
pub use store::Identity;
pub use sync::SyncReport;
pub use wipe::WipeReason;
pub use writes::PatrolSummary;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// A device core over one local database file. Cheap to clone; clones share the connections:
/// one for writes (every write, a sync's transactions) and one for reads (the screens, the
/// outbox and sync state), which in WAL mode never waits for a write.
#[derive(Debug, Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    reader: Mutex<Connection>,
    wall: WallClock,
    /// Only one sync runs at a time (a scheduler and a manual sync may both ask).
    sync_lock: tokio::sync::Mutex<()>,
}

impl Device {
    /// Opens (or creates) the device database at `path` and migrates it, using the system
    /// clock. The file is encrypted with the key in the key file beside it
    /// ([`KeySource::beside`]), made on first use.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_clock(path, WallClock::System)
    }

    /// Opens the database with a given wall clock (tests use it to play a phone whose clock is
    /// wrong), keyed from the key file beside it.
    pub fn open_with_clock(path: impl AsRef<Path>, wall: WallClock) -> Result<Self> {
        let path = path.as_ref();
        Self::open_with(path, &KeySource::beside(path), wall)
    }

    /// Opens the database at `path` encrypted with the key from `key`. A plain file (from a
    /// version before encryption) is encrypted on the way, with everything on it. Entries
    /// older than the retention period are removed on opening.
    pub fn open_with(path: impl AsRef<Path>, key: &KeySource, wall: WallClock) -> Result<Self> {
        Self::open_keyed(path.as_ref(), Some(&key.key()?), wall)
    }

    /// A read-only connection to an existing device file, keyed from the key file beside it
    /// (never made here), for checks that read the file directly: its integrity, its op log.
    /// It changes nothing in the file.
    pub fn open_read_only_file(path: impl AsRef<Path>) -> Result<Connection> {
        let path = path.as_ref();
        let key = key::load_existing(&key::key_file_beside(path))?;
        store::open_read_only(path, &key)
    }

    /// Opens the database with `key`, or as a plain file without one (tests that look at what
    /// the encryption would hide).
    pub(crate) fn open_keyed(path: &Path, key: Option<&DbKey>, wall: WallClock) -> Result<Self> {
        let conn = store::open(path, key)?;
        let reader = store::open_reader(path, key)?;
        let device = Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                reader: Mutex::new(reader),
                wall,
                sync_lock: tokio::sync::Mutex::new(()),
            }),
        };
        device.expire_old_entries()?;
        Ok(device)
    }

    /// The wall clock the device reads.
    pub fn wall_clock(&self) -> &WallClock {
        &self.inner.wall
    }

    /// Who the device is enrolled as, if it is.
    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(store::load_meta(&self.reader())?.identity)
    }

    /// The connection for reads only; never held while a write waits for it.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held rolled back its transaction on unwind, so the
        // connection is still usable.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one immediate (write-locking) transaction and commits it if `f` succeeds.
    fn write_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// The client of the server this device is enrolled with, with its token.
    async fn server<'a>(&self, http: &'a reqwest::Client) -> Result<client::ServerClient<'a>> {
        let (server_url, token) = self
            .blocking(|device| {
                let meta = store::load_meta(&device.conn())?;
                let server_url = meta.enrolled()?.server_url.clone();
                let token = meta.token.clone().ok_or(DeviceError::NotEnrolled)?;
                Ok((server_url, token))
            })
            .await?;
        Ok(client::ServerClient::new(http, &server_url).with_token(token))
    }

    /// Ends the process with `code` once no work on the database is under way, holding both
    /// connections meanwhile so that none starts. A process that ends while another thread is
    /// inside the database (a background sync, a screen's read) can crash in the exit handlers
    /// of the encryption's crypto library, which the other thread is still using.
    pub fn exit(&self, code: i32) -> ! {
        let _writes = self.conn();
        let _reads = self.reader();
        std::process::exit(code)
    }

    /// Runs `work` on the device on a blocking thread (tokio's pool), never on the caller's:
    /// how the app calls the core, so that no SQLite work and no photo re-encoding runs on its
    /// UI thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Device) -> Result<T> + Send + 'static,
    {
        self.blocking(work).await
    }

    /// Runs blocking database work off the async executor.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Device) -> Result<T> + Send + 'static,
    {
        let device = self.clone();
        tokio::task::spawn_blocking(move || f(&device)).await?
    }
}
