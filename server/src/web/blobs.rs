//! `/api/v1/blobs/{sha256}`: photos uploaded out of band by content hash, in resumable and
//! idempotent chunks (`PUT ?offset=N&size=S`), their status for resuming and for "photo
//! pending" (`GET`/`HEAD`, with an `Upload-Offset` header), and the content once complete.

use super::api::ApiJson;
use super::auth::DeviceAuth;
use crate::error::AppError;
use crate::store::blobs::{Chunk, ChunkOutcome};
use crate::{AppState, now_ms};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vaka_shared::blob::{BlobStatus, is_sha256_hex, limits};
use vaka_shared::sync::ApiError;

/// A photo's bytes in a request or answer body, for the OpenAPI document: a binary string.
#[derive(Debug)]
pub struct PhotoBytes;

impl utoipa::PartialSchema for PhotoBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for PhotoBytes {}

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
#[utoipa::path(
    put,
    path = "/api/v1/blobs/{sha256}",
    description = "One chunk of a photo, uploaded by the lowercase hex SHA-256 of the whole. A chunk \
        is stored only at the offset where the server's copy ends; the last one completes the blob \
        if the bytes hash to its name. See docs/protocol.md, section 13.",
    security(("device_token" = [])),
    params(
        ("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Lowercase hex SHA-256 of the whole blob"),
        ("offset" = u64, Query, minimum = 0, maximum = 9007199254740991.0, description = "Where this chunk starts in the blob"),
        ("size" = u64, Query, minimum = 1, maximum = 20971520, description = "The whole blob's size in bytes (at most 20 MiB)"),
    ),
    request_body(
        description = "1 byte to 1 MiB of the blob",
        content(
            (PhotoBytes = "image/jpeg"),
            (PhotoBytes = "image/png"),
            (PhotoBytes = "image/webp"),
        )
    ),
    responses(
        (status = 200, description = "Stored (or already held); where the upload stands", body = BlobStatus,
            headers(("Upload-Offset" = u64, description = "The offset to send the next chunk from"))),
        (status = 400, description = "A hash, query or chunk out of bounds: an empty or larger than 1 MiB chunk, one that runs past `size`, another `Content-Type` (`invalid_request`)", body = ApiError),
        (status = 401, description = "Missing, unknown (`unauthorized`) or revoked (`token_revoked`) token", body = ApiError),
        (status = 408, description = "The chunk did not arrive in time (`request_timeout`)", body = ApiError),
        (status = 409, description = "Not where the stored part ends (`blob_offset_mismatch`); the message names the offset", body = ApiError),
        (status = 413, description = "A size over 20 MiB, or a body over the limit (`payload_too_large`)", body = ApiError),
        (status = 422, description = "All bytes arrived but do not hash to the name (`blob_hash_mismatch`); the upload was discarded", body = ApiError),
        (status = 500, description = "The server failed (`internal`); nothing was stored", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`); nothing was stored", body = ApiError),
        (status = 507, description = "The server's disk is full (`storage_full`); nothing was stored", body = ApiError),
    )
)]
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
    let outcome = app.store.put_chunk(chunk, now).await;
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
#[utoipa::path(
    method(get, head),
    path = "/api/v1/blobs/{sha256}",
    description = "Where the upload of a photo stands, with the offset to resume at.",
    security(("device_token" = [])),
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Lowercase hex SHA-256 of the blob")),
    responses(
        (status = 200, description = "Held (partly or wholly), or `pending`: an entry refers to it and no byte has arrived", body = BlobStatus,
            headers(("Upload-Offset" = u64, description = "The offset to send the next chunk from"))),
        (status = 400, description = "Not a lowercase hex SHA-256 (`invalid_request`)", body = ApiError),
        (status = 401, description = "Missing, unknown (`unauthorized`) or revoked (`token_revoked`) token", body = ApiError),
        (status = 404, description = "Neither held nor referred to by an entry of the organisation (`not_found`)", body = ApiError),
        (status = 500, description = "The server failed (`internal`)", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`)", body = ApiError),
    )
)]
pub async fn status(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked_hash(&sha256)?;
    let org = caller.org_id;
    let status = app.store.blob_status(org, sha256).await?;
    status.map(with_offset).ok_or(AppError::NotFound)
}

/// `GET /api/v1/blobs/{sha256}/content`: the bytes of a complete blob.
#[utoipa::path(
    get,
    path = "/api/v1/blobs/{sha256}/content",
    description = "The bytes of a complete photo, with its media type.",
    security(("device_token" = [])),
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Lowercase hex SHA-256 of the blob")),
    responses(
        (status = 200, description = "The bytes", content(
            (PhotoBytes = "image/jpeg"),
            (PhotoBytes = "image/png"),
            (PhotoBytes = "image/webp"),
        )),
        (status = 400, description = "Not a lowercase hex SHA-256 (`invalid_request`)", body = ApiError),
        (status = 401, description = "Missing, unknown (`unauthorized`) or revoked (`token_revoked`) token", body = ApiError),
        (status = 404, description = "No complete blob of that name in the organisation (`not_found`)", body = ApiError),
        (status = 500, description = "The server failed (`internal`)", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`)", body = ApiError),
    )
)]
pub async fn content(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    checked_hash(&sha256)?;
    let org = caller.org_id;
    let found = app.store.blob_content(org, sha256).await?;
    let (content_type, data) = found.ok_or(AppError::NotFound)?;
    Ok(([(CONTENT_TYPE, content_type)], data).into_response())
}
