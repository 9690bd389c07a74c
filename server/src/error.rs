//! The server's one error type. It logs the detail and tells the client a stable code and a
//! clear message, never an internal detail.

use crate::store::StoreError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vaka_shared::sync::{ApiError, ErrorCode};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body could not be read as the expected JSON.
    #[error("bad request body")]
    Body(#[from] JsonRejection),
    /// No token, or an unknown one.
    #[error("missing or unknown device token")]
    Unauthorized,
    /// `/metrics` is behind a token and the request did not carry it.
    #[error("missing or wrong metrics token")]
    MetricsUnauthorized,
    /// The device's token was revoked.
    #[error("revoked device token")]
    TokenRevoked,
    /// A device that was not retired said it wiped itself.
    #[error("device not retired")]
    NotRetired,
    /// A coordinator marked the device lost.
    #[error("device marked lost")]
    DeviceLost,
    /// The enrolment code is unknown, used or expired.
    #[error("invalid enrolment code")]
    InvalidEnrollmentCode,
    /// Too many ops in one push.
    #[error("{count} ops in one push, at most {max} allowed")]
    TooManyOps {
        /// Ops sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A value in the request is out of bounds.
    #[error("{0}")]
    InvalidRequest(String),
    /// No such route or thing.
    #[error("not found")]
    NotFound,
    /// A blob chunk did not start where the stored part ends.
    #[error("blob chunk at the wrong offset; resume at {received}")]
    BlobOffsetMismatch {
        /// Bytes stored so far.
        received: u64,
    },
    /// A blob's bytes did not match its SHA-256.
    #[error("blob content does not match its hash")]
    BlobHashMismatch,
    /// A blob larger than the server takes.
    #[error("blob larger than {max} bytes")]
    BlobTooLarge {
        /// The limit.
        max: u64,
    },
    /// A declared body larger than the server takes, refused before it was read.
    #[error("body larger than {max} bytes")]
    BodyTooLarge {
        /// The limit.
        max: usize,
    },
    /// The request's body did not arrive within the body read timeout.
    #[error("request body timed out")]
    BodyTimeout,
    /// The store failed.
    #[error("store failure")]
    Store(#[from] StoreError),
    /// A response the HTTP layers made without a body (wrong method, unknown encoding…).
    #[error("HTTP {0}")]
    Http(StatusCode),
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status_code(&self) -> u16 {
        self.parts().0.as_u16()
    }

    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            Self::Body(rejection) => {
                let (status, code) = match rejection {
                    JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, ErrorCode::MalformedJson),
                    JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidBody),
                    JsonRejection::MissingJsonContentType(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType)
                    }
                    other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
                    }
                    _ => (StatusCode::BAD_REQUEST, ErrorCode::InvalidBody),
                };
                (status, code, rejection.body_text())
            }
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "send the device's token as `Authorization: Bearer <token>`; enrol the device if it has none".into(),
            ),
            Self::MetricsUnauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "send the metrics token as `Authorization: Bearer <token>`".into(),
            ),
            Self::TokenRevoked => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::TokenRevoked,
                "this device was revoked by a coordinator; enrol it again with a new code".into(),
            ),
            Self::NotRetired => (
                StatusCode::CONFLICT,
                ErrorCode::InvalidRequest,
                "this device was not retired by a coordinator; it keeps its entries".into(),
            ),
            Self::DeviceLost => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::DeviceLost,
                "a coordinator marked this device lost; it must delete its entries and photos now".into(),
            ),
            Self::InvalidEnrollmentCode => (
                StatusCode::FORBIDDEN,
                ErrorCode::InvalidEnrollmentCode,
                "the enrolment code is unknown, already used or expired; ask your coordinator for a new one".into(),
            ),
            Self::TooManyOps { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooManyOps, self.to_string()),
            Self::InvalidRequest(message) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message.clone()),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such resource".into()),
            Self::BlobOffsetMismatch { received } => (
                StatusCode::CONFLICT,
                ErrorCode::BlobOffsetMismatch,
                format!("the server holds {received} bytes of this blob; send the next chunk from offset {received}"),
            ),
            Self::BlobHashMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BlobHashMismatch,
                "the bytes do not hash to the blob's name; the upload was discarded, start again".into(),
            ),
            Self::BlobTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, self.to_string()),
            Self::BodyTooLarge { max } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("the declared body is larger than {max} bytes; send less at a time"),
            ),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "the request's body did not arrive in time; send it again".into(),
            ),
            Self::Store(e) if e.is_busy() => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the server is busy; nothing was stored, try again in a moment".into(),
            ),
            Self::Store(e) if e.is_disk_full() => (
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::StorageFull,
                "the server's disk is full; nothing was stored, try again later".into(),
            ),
            Self::Store(StoreError::WriterGone) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the server is shutting down; nothing was stored, try again later".into(),
            ),
            Self::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the server failed; nothing was stored, try again later".into(),
            ),
            Self::Http(status) => {
                let (code, message) = match *status {
                    StatusCode::METHOD_NOT_ALLOWED => {
                        (ErrorCode::InvalidRequest, "this method is not allowed here")
                    }
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                        ErrorCode::UnsupportedMediaType,
                        "send JSON, uncompressed or with Content-Encoding gzip or zstd",
                    ),
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        (ErrorCode::PayloadTooLarge, "the body is too large")
                    }
                    StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such resource"),
                    s if s.is_server_error() => {
                        (ErrorCode::Internal, "the server failed; try again later")
                    }
                    _ => (ErrorCode::InvalidRequest, "the request was not understood"),
                };
                (*status, code, message.into())
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?self, code = code.as_str(), "request failed");
        } else {
            tracing::debug!(code = code.as_str(), %message, "request refused");
        }
        (status, Json(ApiError { code, message })).into_response()
    }
}
