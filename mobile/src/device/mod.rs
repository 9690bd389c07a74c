//! The [`Device`] handle: one local SQLite file holding this phone's identity, its log of ops
//! and the merged state of every entity, and the operations on it (log, read, enrol, sync).
//!
//! Invariants: every write is one SQLite transaction that appends the op to the outbox and
//! updates the entity; an own op leaves the outbox only when the server acknowledged it; the
//! pull cursor is stored in the transaction that applies the pulled ops.

pub(crate) mod areas;
mod blobs;
mod clock;
mod enroll;
mod entities;
mod error;
pub mod photos;
mod reads;
mod schedule;
mod store;
mod sync;
#[cfg(test)]
pub(crate) mod test_support;
mod writes;

pub use areas::{AREAS_MAX_AGE_MS, Area};
pub use blobs::{DEFAULT_CHUNK_BYTES, PendingPhoto, PhotoStatus, UploadReport};
pub use clock::WallClock;
pub use error::{DeviceError, Result};
pub use reads::{
    Comment, EntityView, Entry, EntryFields, RejectedOwnOp, StateSnapshot, SyncState, SyncStatus,
};
pub use schedule::{RetryPolicy, SchedulerConfig, SyncOutcome, SyncScheduler};
pub use store::Identity;
pub use sync::SyncReport;
pub use writes::PatrolSummary;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// A device core over one local database file. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    wall: WallClock,
    /// Only one sync runs at a time (a scheduler and a manual sync may both ask).
    sync_lock: tokio::sync::Mutex<()>,
}

impl Device {
    /// Opens (or creates) the device database at `path` and migrates it, using the system clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_clock(path, WallClock::System)
    }

    /// Opens the database with a given wall clock (tests use it to play a phone whose clock is
    /// wrong).
    pub fn open_with_clock(path: impl AsRef<Path>, wall: WallClock) -> Result<Self> {
        let conn = store::open(path.as_ref())?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                wall,
                sync_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The wall clock the device reads.
    pub fn wall_clock(&self) -> &WallClock {
        &self.inner.wall
    }

    /// Who the device is enrolled as, if it is.
    pub fn identity(&self) -> Result<Option<Identity>> {
        Ok(store::load_meta(&self.conn())?.identity)
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

    /// Runs blocking database work off the async executor.
    /// The server's address and this device's token, for requests besides sync.
    async fn server_and_token(&self) -> Result<(String, String)> {
        self.blocking(|device| {
            let meta = store::load_meta(&device.conn())?;
            let server_url = meta.enrolled()?.server_url.clone();
            let token = meta.token.clone().ok_or(DeviceError::NotEnrolled)?;
            Ok((server_url, token))
        })
        .await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Device) -> Result<T> + Send + 'static,
    {
        let device = self.clone();
        tokio::task::spawn_blocking(move || f(&device)).await?
    }
}
