-- Photos and other attachments, uploaded out of band by content hash in resumable chunks.
-- Chunks are kept in order until the last one arrives; then the bytes are checked against
-- `sha256`, joined into `data` and `completed_at_ms` is set.
CREATE TABLE blobs (
    org_id          TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    received        INTEGER NOT NULL DEFAULT 0,
    uploaded_by     TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    completed_at_ms INTEGER,
    data            BLOB,
    PRIMARY KEY (org_id, sha256)
) STRICT;

CREATE TABLE blob_chunks (
    org_id  TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    offset  INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (org_id, sha256, offset)
) STRICT;
