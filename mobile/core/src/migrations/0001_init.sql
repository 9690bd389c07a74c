-- The device's local store: its identity and sync position, every op it knows and the merged
-- state of every entity. Forward-only: never edit this file once shipped; add 0002_… instead.

-- One row: who this device is and where it stands with the server.
CREATE TABLE meta (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    server_url          TEXT,
    device_id           TEXT,
    token               TEXT,
    org_id              TEXT,
    org_name            TEXT,
    member_id           TEXT,
    member_name         TEXT,
    role                TEXT,
    -- Highest server sequence applied.
    cursor              INTEGER NOT NULL DEFAULT 0,
    -- The device_seq the next own op gets.
    next_device_seq     INTEGER NOT NULL DEFAULT 1,
    -- The first device_seq the server has not acknowledged: the next push starts here.
    push_from           INTEGER NOT NULL DEFAULT 1,
    -- Highest clock stamp handed out or observed.
    hlc_last            TEXT,
    -- Server time minus local wall-clock time, from the last response.
    clock_offset_ms     INTEGER NOT NULL DEFAULT 0,
    last_sync_ok_at_ms  INTEGER,
    last_sync_error     TEXT
);
INSERT INTO meta (id) VALUES (1);

-- Every op this device knows: its own (status pending, acked or rejected; kept for ever) and
-- those pulled from the server (status remote).
CREATE TABLE ops (
    op_id           TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL,
    device_seq      INTEGER NOT NULL,
    hlc             TEXT NOT NULL,
    base_seq        INTEGER NOT NULL,
    entity_id       TEXT NOT NULL,
    entity_kind     TEXT NOT NULL,
    -- JSON object of the fields written.
    fields          TEXT NOT NULL,
    -- The member whose device made the op.
    author          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'acked', 'rejected', 'remote')),
    -- The server sequence, once pulled.
    server_seq      INTEGER,
    reject_code     TEXT,
    reject_message  TEXT,
    reject_field    TEXT,
    UNIQUE (device_id, device_seq)
) WITHOUT ROWID;
CREATE INDEX ops_entity_status ON ops (entity_id, status);
CREATE INDEX ops_pending ON ops (device_seq) WHERE status = 'pending';
CREATE INDEX ops_rejected ON ops (entity_id) WHERE status = 'rejected';

-- The merged state of every entity (JSON of an EntityState).
CREATE TABLE entities (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    -- The member whose device created it.
    author      TEXT NOT NULL,
    -- The entry a comment belongs to, or the patrol of a track segment.
    parent_id   TEXT,
    state       TEXT NOT NULL,
    -- Lowest and highest clock milliseconds of the ops that wrote it.
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX entities_entries ON entities (created_ms DESC, id DESC)
    WHERE kind IN ('patrol', 'incident', 'observation');
CREATE INDEX entities_parent ON entities (parent_id, created_ms) WHERE parent_id IS NOT NULL;
