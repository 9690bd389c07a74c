//! `/api/v1/blobs/{sha256}`: photos uploaded out of band by content hash, in resumable and
//! idempotent chunks (`PUT ?offset=N&size=S`), their status for resuming and for "photo
//! pending" (`GET`/`HEAD`, with an `Upload-Offset` header), and the content once complete.

use super::api::ApiJson;
use super::auth::DeviceAuth;
use crate::error::AppError;
use crate::store::blobs::{self, Chunk, ChunkOutcome};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vaka_shared::blob::{BlobStatus, is_sha256_hex, limits};

/// The header that tells where an upload resumes.
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");

/// The query of a chunk.
#[derive(Debug, Deserialize)]
pub struct ChunkQuery {
    /// Where the chunk starts in the blob.
    offset: u64,
    /// The whole blob's size.
    size: u64,
}

fn checked_hash(sha256: &str) -> Result<(), AppError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(AppError::InvalidRequest(
            "a blob is named by the lowercase hex SHA-256 of its content (64 characters)".into(),
        ))
    }
}

fn with_offset(status: BlobStatus) -> Response {
    let offset = HeaderValue::from(status.received);
    let mut response = ApiJson(status).into_response();
    response.headers_mut().insert(UPLOAD_OFFSET, offset);
    response
}

/// `PUT /api/v1/blobs/{sha256}?offset=N&size=S`: one chunk, with the blob's media type as
/// `Content-Type`.
pub async fn put_chunk(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    Path(sha256): Path<String>,
    query: Result<Query<ChunkQuery>, QueryRejection>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AppError> {
    checked_hash(&sha256)?;
    let Query(query) = query
        .map_err(|_| AppError::InvalidRequest("a chunk needs `?offset=N&size=S` (bytes)".into()))?;
    if query.size == 0 || query.size > limits::MAX_BLOB_BYTES {
        return Err(AppError::BlobTooLarge {
            max: limits::MAX_BLOB_BYTES,
        });
    }
    if bytes.is_empty() || bytes.len() > limits::MAX_CHUNK_BYTES {
        return Err(AppError::InvalidRequest(format!(
            "a chunk holds 1 to {} bytes",
            limits::MAX_CHUNK_BYTES
        )));
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| limits::CONTENT_TYPES.contains(t))
        .ok_or_else(|| {
            AppError::InvalidRequest(
                "a blob's Content-Type must be image/jpeg, image/png or image/webp".into(),
            )
        })?
        .to_owned();
    let chunk = Chunk {
        org_id: caller.org_id,
        uploaded_by: caller.member_id.to_string(),
        sha256,
        size: query.size,
        content_type,
        offset: query.offset,
        bytes: bytes.to_vec(),
    };
    let now = now_ms();
    let outcome = app
        .store
        .write(move |conn| Ok(blobs::put_chunk(conn, &chunk, now)?))
        .await;
    let result = match outcome? {
        ChunkOutcome::Stored(status) => Ok(with_offset(status)),
        ChunkOutcome::OffsetMismatch { received } => Err(AppError::BlobOffsetMismatch { received }),
        ChunkOutcome::BadSize => Err(AppError::InvalidRequest(
            "the chunk runs past the blob's size (`offset` plus the chunk's length is more than `size`)".into(),
        )),
        ChunkOutcome::HashMismatch => Err(AppError::BlobHashMismatch),
    };
    let code = match &result {
        Ok(_) => 200,
        Err(e) => e.status_code(),
    };
    app.metrics.count_request("blobs", code);
    result
}

/// `GET` (and `HEAD`) `/api/v1/blobs/{sha256}`: where the upload stands, `pending` when an
/// entry refers to a photo not yet received.
pub async fn status(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked_hash(&sha256)?;
    let org = caller.org_id;
    let status = app
        .store
        .read(move |conn| Ok(blobs::status_of(conn, org, &sha256)?))
        .await?;
    status.map(with_offset).ok_or(AppError::NotFound)
}

/// `GET /api/v1/blobs/{sha256}/content`: the bytes of a complete blob.
pub async fn content(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked_hash(&sha256)?;
    let org = caller.org_id;
    let found = app
        .store
        .read(move |conn| Ok(blobs::content(conn, org, &sha256)?))
        .await?;
    let (content_type, data) = found.ok_or(AppError::NotFound)?;
    Ok(([(CONTENT_TYPE, content_type)], data).into_response())
}
