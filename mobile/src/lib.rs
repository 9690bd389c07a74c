//! Vaka's device core: the local SQLite store, the outbox of ops, the sync client and its
//! background scheduler. It runs without any user interface, so tests, the `vaka-device` command
//! line and the app all drive the same [`Device`].
//!
//! The Dioxus app lives in [`app`] behind the `ui` feature (components and state, no renderer);
//! the `desktop` and `mobile` features add the renderers.

#[cfg(feature = "ui")]
pub mod app;
pub mod device;

pub use device::{
    Area, Comment, DbKey, Device, DeviceError, EntityView, Entry, EntryFields, Identity, KeySource,
    PatrolSummary, PendingPhoto, PhotoStatus, RejectedOwnOp, RetryPolicy, SchedulerConfig,
    StateSnapshot, SyncOutcome, SyncReport, SyncScheduler, SyncState, SyncStatus, UploadReport,
    WallClock, WipeReason,
};
