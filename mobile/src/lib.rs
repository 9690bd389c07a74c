//! Vaka's device core: the local SQLite store, the outbox of ops, the sync client and its
//! background scheduler. It runs without any user interface, so tests, the `vaka-device` command
//! line and (later) the app all drive the same [`Device`].

pub mod device;

pub use device::{
    Comment, Device, DeviceError, EntityView, Entry, EntryFields, Identity, PatrolSummary,
    RejectedOwnOp, RetryPolicy, SchedulerConfig, StateSnapshot, SyncOutcome, SyncReport,
    SyncScheduler, SyncState, SyncStatus, WallClock,
};
