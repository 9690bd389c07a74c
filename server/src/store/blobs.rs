//! Blobs (photos) of an organisation, stored by SHA-256 as they arrive in chunks. A chunk is
//! appended only at the offset where the stored part ends, so a retried or duplicated chunk
//! changes nothing and a cut-off upload resumes where it stopped. The last chunk completes the
//! blob only if the bytes hash to the name they were sent under.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use vaka_shared::OrgId;
use vaka_shared::blob::{BlobState, BlobStatus};

/// One chunk of an upload.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The organisation of the uploading device.
    pub org_id: OrgId,
    /// The device's member.
    pub uploaded_by: String,
    /// Lowercase hex SHA-256 of the whole blob.
    pub sha256: String,
    /// The whole blob's size.
    pub size: u64,
    /// Its media type.
    pub content_type: String,
    /// Where this chunk starts.
    pub offset: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What happened to a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Stored (or already there); the status after it.
    Stored(BlobStatus),
    /// The chunk does not start where the stored part ends.
    OffsetMismatch {
        /// Where the next chunk must start.
        received: u64,
    },
    /// The chunk runs past the size it announces.
    BadSize,
    /// All bytes arrived but do not hash to the name; the stored part was discarded.
    HashMismatch,
}

pub(crate) fn status(sha256: &str, size: u64, received: u64, complete: bool) -> BlobStatus {
    BlobStatus {
        sha256: sha256.to_owned(),
        state: if complete {
            BlobState::Complete
        } else if received == 0 {
            BlobState::Pending
        } else {
            BlobState::Partial
        },
        received,
        size: Some(size),
    }
}

fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Stores one chunk (on the write connection, inside the writer's transaction).
///
/// Nothing is recorded for a chunk that is refused, so a refused first chunk cannot stand in
/// the way of a correct upload. A stored part counts only for chunks announcing the same size;
/// an upload under another size starts over from offset 0 and replaces it (the bytes decide at
/// the end which claim was right).
pub fn put_chunk(conn: &Connection, chunk: &Chunk, now_ms: i64) -> rusqlite::Result<ChunkOutcome> {
    let org = chunk.org_id.to_string();
    let Some(end) = chunk.offset.checked_add(chunk.bytes.len() as u64) else {
        return Ok(ChunkOutcome::BadSize);
    };
    let existing: Option<(i64, i64, bool)> = conn
        .query_row(
            "SELECT size, received, completed_at_ms IS NOT NULL FROM blobs
             WHERE org_id = ?1 AND sha256 = ?2",
            params![org, chunk.sha256],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((size, _, true)) = existing {
        // A repeated chunk of a finished upload: nothing to do.
        let size = u64_of(size);
        return Ok(ChunkOutcome::Stored(status(
            &chunk.sha256,
            size,
            size,
            true,
        )));
    }
    if end > chunk.size {
        return Ok(ChunkOutcome::BadSize);
    }
    let received = match existing {
        Some((size, received, _)) if u64_of(size) == chunk.size => u64_of(received),
        _ if chunk.offset != 0 => {
            // Nothing of this upload is held: it must start at the beginning.
            return Ok(ChunkOutcome::OffsetMismatch { received: 0 });
        }
        stale => {
            if stale.is_some() {
                conn.execute(
                    "DELETE FROM blob_chunks WHERE org_id = ?1 AND sha256 = ?2",
                    params![org, chunk.sha256],
                )?;
            }
            conn.execute(
                "INSERT INTO blobs (org_id, sha256, size, content_type, uploaded_by, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (org_id, sha256) DO UPDATE SET size = excluded.size,
                   content_type = excluded.content_type, uploaded_by = excluded.uploaded_by,
                   received = 0",
                params![
                    org,
                    chunk.sha256,
                    i64_of(chunk.size),
                    chunk.content_type,
                    chunk.uploaded_by,
                    now_ms
                ],
            )?;
            0
        }
    };
    let size = chunk.size;
    if chunk.offset != received {
        if end == received && chunk.offset < received {
            // The answer to this very chunk was lost and it came again: already stored.
            return Ok(ChunkOutcome::Stored(status(
                &chunk.sha256,
                size,
                received,
                false,
            )));
        }
        return Ok(ChunkOutcome::OffsetMismatch { received });
    }
    conn.execute(
        "INSERT INTO blob_chunks (org_id, sha256, offset, data) VALUES (?1, ?2, ?3, ?4)",
        params![org, chunk.sha256, i64_of(chunk.offset), chunk.bytes],
    )?;
    conn.execute(
        "UPDATE blobs SET received = ?3 WHERE org_id = ?1 AND sha256 = ?2",
        params![org, chunk.sha256, i64_of(end)],
    )?;
    if end < size {
        return Ok(ChunkOutcome::Stored(status(
            &chunk.sha256,
            size,
            end,
            false,
        )));
    }
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    {
        let mut statement = conn.prepare_cached(
            "SELECT data FROM blob_chunks WHERE org_id = ?1 AND sha256 = ?2 ORDER BY offset",
        )?;
        let mut rows = statement.query(params![org, chunk.sha256])?;
        while let Some(row) = rows.next()? {
            let part: Vec<u8> = row.get(0)?;
            data.extend_from_slice(&part);
        }
    }
    conn.execute(
        "DELETE FROM blob_chunks WHERE org_id = ?1 AND sha256 = ?2",
        params![org, chunk.sha256],
    )?;
    if hex(&Sha256::digest(&data)) != chunk.sha256 {
        conn.execute(
            "DELETE FROM blobs WHERE org_id = ?1 AND sha256 = ?2",
            params![org, chunk.sha256],
        )?;
        return Ok(ChunkOutcome::HashMismatch);
    }
    conn.execute(
        "UPDATE blobs SET data = ?3, completed_at_ms = ?4 WHERE org_id = ?1 AND sha256 = ?2",
        params![org, chunk.sha256, data, now_ms],
    )?;
    Ok(ChunkOutcome::Stored(status(
        &chunk.sha256,
        size,
        size,
        true,
    )))
}

/// Where a blob stands in an organisation: stored (partly or wholly), or `pending` when an entry
/// of the organisation refers to it and no byte has arrived; `None` when neither.
pub fn status_of(
    conn: &Connection,
    org_id: OrgId,
    sha256: &str,
) -> rusqlite::Result<Option<BlobStatus>> {
    let org = org_id.to_string();
    let stored: Option<(i64, i64, bool)> = conn
        .query_row(
            "SELECT size, received, completed_at_ms IS NOT NULL FROM blobs
             WHERE org_id = ?1 AND sha256 = ?2",
            params![org, sha256],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((size, received, complete)) = stored {
        return Ok(Some(status(
            sha256,
            u64_of(size),
            u64_of(received),
            complete,
        )));
    }
    Ok(referenced(conn, &org, sha256)?.then(|| BlobStatus {
        sha256: sha256.to_owned(),
        state: BlobState::Pending,
        received: 0,
        size: None,
    }))
}

/// Whether an incident or observation of the organisation has the blob among its attachments.
fn referenced(conn: &Connection, org: &str, sha256: &str) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM entities
         WHERE org_id = ?1 AND kind IN ('incident', 'observation') AND instr(state, ?2) > 0)",
    )?;
    statement.query_row(params![org, sha256], |r| r.get(0))
}

/// The bytes of a complete blob of the organisation, with its media type.
pub fn content(
    conn: &Connection,
    org_id: OrgId,
    sha256: &str,
) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
    conn.query_row(
        "SELECT content_type, data FROM blobs
         WHERE org_id = ?1 AND sha256 = ?2 AND completed_at_ms IS NOT NULL",
        params![org_id.to_string(), sha256],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Photos as the blob endpoints use them.
impl super::SqliteStore {
    /// Stores a chunk (see [`put_chunk`]) in the next group transaction.
    pub async fn put_chunk(
        &self,
        chunk: Chunk,
        now_ms: i64,
    ) -> Result<ChunkOutcome, super::StoreError> {
        self.write(move |conn| Ok(put_chunk(conn, &chunk, now_ms)?))
            .await
    }

    /// How much of the blob `sha256` of `org` is stored.
    pub async fn blob_status(
        &self,
        org: OrgId,
        sha256: String,
    ) -> Result<Option<BlobStatus>, super::StoreError> {
        self.read(move |conn| Ok(status_of(conn, org, &sha256)?))
            .await
    }

    /// The media type and bytes of the complete blob `sha256` of `org`.
    pub async fn blob_content(
        &self,
        org: OrgId,
        sha256: String,
    ) -> Result<Option<(String, Vec<u8>)>, super::StoreError> {
        self.read(move |conn| Ok(content(conn, org, &sha256)?))
            .await
    }
}

/// The entry page's photos, on either backend.
impl super::Store {
    /// Whether each of the blobs `hashes` of `org` is complete, in the order given.
    pub async fn photos_complete(
        &self,
        org: OrgId,
        hashes: Vec<String>,
    ) -> Result<Vec<(String, bool)>, super::StoreError> {
        use super::{on_backend, postgres};
        on_backend!(self,
            s => s.read(move |conn| {
                let mut states = Vec::new();
                for sha in hashes {
                    let complete = status_of(conn, org, &sha)?
                        .is_some_and(|s| s.state == BlobState::Complete);
                    states.push((sha, complete));
                }
                Ok(states)
            }).await,
            p => p.read(move |db| Box::pin(async move {
                let mut states = Vec::new();
                for sha in hashes {
                    let complete = postgres::blobs::status_of(db, org, &sha)
                        .await?
                        .is_some_and(|s| s.state == BlobState::Complete);
                    states.push((sha, complete));
                }
                Ok(states)
            })).await,
        )
    }
}
