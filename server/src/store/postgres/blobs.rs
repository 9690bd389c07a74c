//! Photos on PostgreSQL, stored chunk by chunk: the same rules as [`crate::store::blobs`] on
//! SQLite (a chunk only at the offset where the stored part ends, a repeat of the last one
//! answered again, the blob complete only if the joined bytes hash to its name). Uploads run in
//! the group transaction, which every process takes in turn, so two processes receiving chunks of
//! one blob never interleave them.

use crate::store::StoreError;
use crate::store::blobs::{Chunk, ChunkOutcome, hex, status};
use deadpool_postgres::GenericClient;
use sha2::{Digest, Sha256};
use vaka_shared::OrgId;
use vaka_shared::blob::{BlobState, BlobStatus};

fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Stores one chunk inside the group transaction (see [`crate::store::blobs::put_chunk`]).
pub async fn put_chunk(
    db: &impl GenericClient,
    chunk: &Chunk,
    now_ms: i64,
) -> Result<ChunkOutcome, StoreError> {
    let org = chunk.org_id.to_string();
    let Some(end) = chunk.offset.checked_add(chunk.bytes.len() as u64) else {
        return Ok(ChunkOutcome::BadSize);
    };
    let existing = db
        .query_opt(
            "SELECT size, received, completed_at_ms IS NOT NULL FROM blobs
             WHERE org_id = $1 AND sha256 = $2",
            &[&org, &chunk.sha256],
        )
        .await?
        .map(|r| -> Result<(i64, i64, bool), StoreError> {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        })
        .transpose()?;
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
        _ if chunk.offset != 0 => return Ok(ChunkOutcome::OffsetMismatch { received: 0 }),
        stale => {
            if stale.is_some() {
                db.execute(
                    "DELETE FROM blob_chunks WHERE org_id = $1 AND sha256 = $2",
                    &[&org, &chunk.sha256],
                )
                .await?;
            }
            db.execute(
                "INSERT INTO blobs (org_id, sha256, size, content_type, uploaded_by, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (org_id, sha256) DO UPDATE SET size = EXCLUDED.size,
                   content_type = EXCLUDED.content_type, uploaded_by = EXCLUDED.uploaded_by,
                   received = 0",
                &[
                    &org,
                    &chunk.sha256,
                    &i64_of(chunk.size),
                    &chunk.content_type,
                    &chunk.uploaded_by,
                    &now_ms,
                ],
            )
            .await?;
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
    db.execute(
        "INSERT INTO blob_chunks (org_id, sha256, \"offset\", data) VALUES ($1, $2, $3, $4)",
        &[&org, &chunk.sha256, &i64_of(chunk.offset), &chunk.bytes],
    )
    .await?;
    db.execute(
        "UPDATE blobs SET received = $3 WHERE org_id = $1 AND sha256 = $2",
        &[&org, &chunk.sha256, &i64_of(end)],
    )
    .await?;
    if end < size {
        return Ok(ChunkOutcome::Stored(status(
            &chunk.sha256,
            size,
            end,
            false,
        )));
    }
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for row in db
        .query(
            "SELECT data FROM blob_chunks WHERE org_id = $1 AND sha256 = $2 ORDER BY \"offset\"",
            &[&org, &chunk.sha256],
        )
        .await?
    {
        let part: &[u8] = row.try_get(0)?;
        data.extend_from_slice(part);
    }
    db.execute(
        "DELETE FROM blob_chunks WHERE org_id = $1 AND sha256 = $2",
        &[&org, &chunk.sha256],
    )
    .await?;
    if hex(&Sha256::digest(&data)) != chunk.sha256 {
        db.execute(
            "DELETE FROM blobs WHERE org_id = $1 AND sha256 = $2",
            &[&org, &chunk.sha256],
        )
        .await?;
        return Ok(ChunkOutcome::HashMismatch);
    }
    db.execute(
        "UPDATE blobs SET data = $3, completed_at_ms = $4 WHERE org_id = $1 AND sha256 = $2",
        &[&org, &chunk.sha256, &data, &now_ms],
    )
    .await?;
    Ok(ChunkOutcome::Stored(status(
        &chunk.sha256,
        size,
        size,
        true,
    )))
}

/// Where a blob stands in an organisation (see [`crate::store::blobs::status_of`]).
pub async fn status_of(
    db: &impl GenericClient,
    org_id: OrgId,
    sha256: &str,
) -> Result<Option<BlobStatus>, StoreError> {
    let org = org_id.to_string();
    if let Some(row) = db
        .query_opt(
            "SELECT size, received, completed_at_ms IS NOT NULL FROM blobs
             WHERE org_id = $1 AND sha256 = $2",
            &[&org, &sha256],
        )
        .await?
    {
        return Ok(Some(status(
            sha256,
            u64_of(row.try_get(0)?),
            u64_of(row.try_get(1)?),
            row.try_get(2)?,
        )));
    }
    let referenced: bool = db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM entities
             WHERE org_id = $1 AND kind IN ('incident', 'observation')
               AND strpos(state, $2) > 0)",
            &[&org, &sha256],
        )
        .await?
        .try_get(0)?;
    Ok(referenced.then(|| BlobStatus {
        sha256: sha256.to_owned(),
        state: BlobState::Pending,
        received: 0,
        size: None,
    }))
}

/// The bytes of a complete blob of the organisation, with its media type.
pub async fn content(
    db: &impl GenericClient,
    org_id: OrgId,
    sha256: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    db.query_opt(
        "SELECT content_type, data FROM blobs
             WHERE org_id = $1 AND sha256 = $2 AND completed_at_ms IS NOT NULL",
        &[&org_id.to_string(), &sha256],
    )
    .await?
    .map(|r| -> Result<(String, Vec<u8>), StoreError> { Ok((r.try_get(0)?, r.try_get(1)?)) })
    .transpose()
}
