//! The one error type of the device core. Every variant keeps its cause.

use vaka_shared::policy::Refusal;
use vaka_shared::sync::{ErrorCode, StopCode};
use vaka_shared::validate::FieldError;
use vaka_shared::{EntityId, EntityKind};

/// What went wrong on the device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Logging and syncing need an enrolled device.
    #[error("this device is not enrolled yet; enrol it with a code from a coordinator")]
    NotEnrolled,
    /// A device is enrolled once; its log belongs to that enrolment.
    #[error("this device is already enrolled")]
    AlreadyEnrolled,
    /// A field of the write is not valid.
    #[error("the entry is not valid: {0}")]
    Invalid(#[from] FieldError),
    /// The member's role does not allow the write.
    #[error("not allowed: {0}")]
    Refused(#[from] Refusal),
    /// The id names nothing this device knows.
    #[error("no entry with id {0} on this device")]
    UnknownEntity(EntityId),
    /// The id names an entity of the wrong kind for this action.
    #[error("{id} is a {}, which cannot be used here", .kind.as_str().replace('_', " "))]
    WrongKind {
        /// The entity.
        id: EntityId,
        /// Its kind.
        kind: EntityKind,
    },
    /// The local database failed.
    #[error("local database error: {0}")]
    Store(#[from] rusqlite::Error),
    /// Stored JSON could not be read back (or a value could not be written as JSON).
    #[error("stored data could not be read: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value is damaged.
    #[error("stored {what} is damaged: {value}")]
    Damaged {
        /// Which value.
        what: &'static str,
        /// The text found.
        value: String,
    },
    /// The server could not be reached or its answer could not be read.
    #[error("could not reach the server: {0}")]
    Network(#[from] reqwest::Error),
    /// Compressing a request body failed.
    #[error("could not compress the request: {0}")]
    Compress(#[source] std::io::Error),
    /// The server answered with an error.
    #[error("the server refused ({status}, {}): {message}", .code.as_str())]
    Server {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The server answered with an error status and no readable error body.
    #[error("the server answered with HTTP status {status}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
    },
    /// The server stopped the push in a way the device cannot fix by itself.
    #[error("the server stopped the push at op {at_seq} ({code:?}): {message}")]
    PushStopped {
        /// Where it stopped.
        at_seq: u64,
        /// Why.
        code: StopCode,
        /// The server's explanation.
        message: String,
    },
    /// Several rounds in a row moved neither the push nor the pull forward.
    #[error("sync made no progress after {rounds} rounds")]
    NoProgress {
        /// Rounds tried.
        rounds: u32,
    },
    /// A photo could not be read.
    #[error(transparent)]
    Photo(#[from] super::photos::PhotoError),
    /// The key file of the encrypted database could not be read or written.
    #[error("the device's key file {} could not be read or written: {source}", .path.display())]
    KeyFile {
        /// The key file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be read, or (when a plain one is encrypted) replaced.
    #[error("the device's database file {} could not be read or replaced: {source}", .path.display())]
    DatabaseFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database file does not open with the key (another key, or not a database).
    #[error("the device's database cannot be opened with its key: {0}")]
    WrongKey(#[source] rusqlite::Error),
    /// The SQLite linked in has no encryption (it was built without SQLCipher).
    #[error("this build cannot encrypt the device's database (SQLCipher is missing)")]
    NoEncryption,
    /// A coordinator retired this phone: it hands over what it has and takes nothing new.
    #[error("this phone is being retired; it takes no new entries")]
    Retiring,
    /// The phone wiped everything it held.
    #[error("this phone was wiped ({}); enrol it again to use it", .0.describe())]
    Wiped(super::wipe::WipeReason),
    /// A retiring phone still has ops or photos the server does not hold.
    #[error("the phone still has {ops} change(s) and {photos} photo(s) to hand over")]
    HandOverIncomplete {
        /// Own ops waiting.
        ops: u64,
        /// Photos waiting.
        photos: usize,
    },
    /// A background task panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl DeviceError {
    /// Whether the server said a coordinator marked this device lost.
    pub fn is_device_lost(&self) -> bool {
        self.server_code() == Some(ErrorCode::DeviceLost)
    }

    /// The server's stable error code, when the server answered with one.
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A stored value that does not parse.
    pub(crate) fn damaged(what: &'static str, value: impl Into<String>) -> Self {
        Self::Damaged {
            what,
            value: value.into(),
        }
    }
}

/// Results of the device core.
pub type Result<T, E = DeviceError> = std::result::Result<T, E>;
