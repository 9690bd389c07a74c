-- Photos shrunk and stripped on this phone, kept by SHA-256 until the server has them, and how
-- far each upload got. `uploaded` is the offset the server confirmed; `done_at_ms` is set when
-- the server verified the whole blob.
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL,
    uploaded     INTEGER NOT NULL DEFAULT 0,
    added_ms     INTEGER NOT NULL,
    done_at_ms   INTEGER
) STRICT;

-- The app's settings on this phone (language, theme, location, photos over Wi-Fi only).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
