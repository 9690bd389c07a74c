-- The organisation's named areas as last fetched from the server (`GET /api/v1/areas`), so a
-- walker can pick one without coverage and the phone can tell which one a fix lies in.
-- `rings` is JSON: outer rings of [longitude, latitude] points.
CREATE TABLE areas (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    rings TEXT NOT NULL
) STRICT;
