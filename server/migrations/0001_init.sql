-- Vaka server store, version 1: tenants, accounts, devices, the op log and entity state.

CREATE TABLE orgs (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    retention_days     INTEGER NOT NULL DEFAULT 730,
    volunteers_see_all INTEGER NOT NULL DEFAULT 1,
    created_at_ms      INTEGER NOT NULL
) STRICT;

CREATE TABLE members (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('volunteer', 'coordinator', 'admin')),
    member_group  TEXT,
    login         TEXT UNIQUE,
    password_hash TEXT,
    created_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX members_org ON members(org_id);

-- One-time enrolment codes, kept only as SHA-256 hashes.
CREATE TABLE enrollment_codes (
    code_hash     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    member_id     TEXT NOT NULL REFERENCES members(id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    device_id     TEXT
) STRICT;

-- Devices and their tokens, kept only as SHA-256 hashes.
CREATE TABLE devices (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    member_id        TEXT NOT NULL REFERENCES members(id),
    name             TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    created_at_ms    INTEGER NOT NULL,
    revoked_at_ms    INTEGER,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_sync_at_ms  INTEGER
) STRICT;
CREATE INDEX devices_member ON devices(member_id);

-- The op log. `seq` is the server sequence: one writer assigns it inside its transaction, so
-- commit order is sequence order.
CREATE TABLE ops (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        TEXT NOT NULL,
    scope_member  TEXT NOT NULL,
    author        TEXT NOT NULL,
    op_id         TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    device_seq    INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    base_seq      INTEGER NOT NULL,
    entity_kind   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    fields        TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ops_device_seq ON ops(device_id, device_seq);
CREATE INDEX ops_org_seq ON ops(org_id, seq);
CREATE INDEX ops_org_scope_seq ON ops(org_id, scope_member, seq);
CREATE INDEX ops_entity ON ops(entity_id, seq);

-- Ops that were recorded and acknowledged but refused, with the reason.
CREATE TABLE rejected_ops (
    device_id      TEXT NOT NULL,
    device_seq     INTEGER NOT NULL,
    org_id         TEXT NOT NULL,
    author         TEXT NOT NULL,
    op_id          TEXT NOT NULL,
    op             TEXT NOT NULL,
    code           TEXT NOT NULL,
    message        TEXT NOT NULL,
    field          TEXT,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, device_seq)
) STRICT;
CREATE INDEX rejected_ops_org ON rejected_ops(org_id, received_at_ms);

-- The merged state of every entity: a last-writer-wins register per field (JSON).
CREATE TABLE entities (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    author        TEXT NOT NULL,
    scope_member  TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_seq   INTEGER NOT NULL,
    updated_seq   INTEGER NOT NULL
) STRICT;
CREATE INDEX entities_org_kind ON entities(org_id, kind, updated_seq);

-- Concurrent writes of one field: the value kept and the value that lost.
CREATE TABLE conflicts (
    id            INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    field         TEXT NOT NULL,
    winner_value  TEXT NOT NULL,
    winner_hlc    TEXT NOT NULL,
    winner_seq    INTEGER,
    loser_value   TEXT NOT NULL,
    loser_hlc     TEXT NOT NULL,
    loser_seq     INTEGER,
    detected_seq  INTEGER NOT NULL,
    resolved_seq  INTEGER
) STRICT;
CREATE INDEX conflicts_org ON conflicts(org_id, resolved_seq);
CREATE INDEX conflicts_entity ON conflicts(entity_id);

-- Named areas (GeoJSON polygons) for reports.
CREATE TABLE areas (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    geojson       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX areas_org ON areas(org_id);
