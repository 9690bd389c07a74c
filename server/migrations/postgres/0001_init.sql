-- Vaka server store on PostgreSQL, version 1: the schema SQLite's migrations 0001–0007 arrive at,
-- in PostgreSQL's types. Ids, clocks and stored JSON are text exactly as on SQLite, so a store
-- moves between the two unchanged; times are milliseconds since the Unix epoch (BIGINT).

-- One sequence for the op log and the removals, so a device applies both in one order. Numbers
-- are taken only by a group transaction holding the sequence lock (see store/postgres), so
-- commit order is sequence order across every server process.
CREATE SEQUENCE vaka_seq AS BIGINT START 1;

CREATE TABLE orgs (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    retention_days       BIGINT NOT NULL DEFAULT 730,
    volunteers_see_all   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at_ms        BIGINT NOT NULL,
    level                TEXT NOT NULL DEFAULT 'association'
                         CHECK (level IN ('association', 'municipality')),
    audit_retention_days BIGINT NOT NULL DEFAULT 1095
);

CREATE TABLE members (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('volunteer', 'coordinator', 'admin', 'liaison')),
    member_group  TEXT,
    login         TEXT UNIQUE,
    password_hash TEXT,
    created_at_ms BIGINT NOT NULL,
    removed_at_ms BIGINT,
    former_number BIGINT
);
CREATE INDEX members_org ON members(org_id);

-- One-time enrolment codes, kept only as SHA-256 hashes.
CREATE TABLE enrollment_codes (
    code_hash     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    member_id     TEXT NOT NULL REFERENCES members(id),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    device_id     TEXT
);

-- Devices and their tokens, kept only as SHA-256 hashes.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    member_id       TEXT NOT NULL REFERENCES members(id),
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at_ms   BIGINT NOT NULL,
    revoked_at_ms   BIGINT,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    last_sync_at_ms BIGINT,
    lost_at_ms      BIGINT,
    retired_at_ms   BIGINT,
    wiped_at_ms     BIGINT
);
CREATE INDEX devices_member ON devices(member_id);

-- The op log; `seq` from `vaka_seq`.
CREATE TABLE ops (
    seq            BIGINT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    scope_member   TEXT NOT NULL,
    author         TEXT NOT NULL,
    op_id          TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    device_seq     BIGINT NOT NULL,
    hlc            TEXT NOT NULL,
    base_seq       BIGINT NOT NULL,
    entity_kind    TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    fields         TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX ops_device_seq ON ops(device_id, device_seq);
CREATE INDEX ops_org_seq ON ops(org_id, seq);
CREATE INDEX ops_org_scope_seq ON ops(org_id, scope_member, seq);
CREATE INDEX ops_entity ON ops(entity_id, seq);

-- Ops that were recorded and acknowledged but refused, with the reason.
CREATE TABLE rejected_ops (
    device_id      TEXT NOT NULL,
    device_seq     BIGINT NOT NULL,
    org_id         TEXT NOT NULL,
    author         TEXT NOT NULL,
    op_id          TEXT NOT NULL,
    op             TEXT NOT NULL,
    code           TEXT NOT NULL,
    message        TEXT NOT NULL,
    field          TEXT,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);
CREATE INDEX rejected_ops_org ON rejected_ops(org_id, received_at_ms);

-- The merged state of every entity: a last-writer-wins register per field (JSON text).
CREATE TABLE entities (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    author       TEXT NOT NULL,
    scope_member TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_seq  BIGINT NOT NULL,
    updated_seq  BIGINT NOT NULL
);
CREATE INDEX entities_org_kind ON entities(org_id, kind, updated_seq);
-- Comments by the entry they belong to, for an entry's thread.
CREATE INDEX entities_comment_entry ON entities(((state::jsonb) #>> '{entry,v,id}'))
    WHERE kind = 'comment';

-- Concurrent writes of one field: the value kept and the value that lost.
CREATE TABLE conflicts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    winner_value TEXT NOT NULL,
    winner_hlc   TEXT NOT NULL,
    winner_seq   BIGINT,
    loser_value  TEXT NOT NULL,
    loser_hlc    TEXT NOT NULL,
    loser_seq    BIGINT,
    detected_seq BIGINT NOT NULL,
    resolved_seq BIGINT
);
CREATE INDEX conflicts_org ON conflicts(org_id, resolved_seq);
CREATE INDEX conflicts_entity ON conflicts(entity_id);

-- Named areas (GeoJSON polygons) for reports.
CREATE TABLE areas (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    geojson       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX areas_org ON areas(org_id);

-- Dashboard sessions; the cookie's token is stored only as a SHA-256 hash.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    member_id       TEXT NOT NULL REFERENCES members(id),
    csrf_token      TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_member ON sessions(member_id);

-- The server-side device a coordinator's dashboard writes its ops through.
CREATE TABLE dashboard_devices (
    member_id TEXT PRIMARY KEY REFERENCES members(id),
    device_id TEXT NOT NULL REFERENCES devices(id)
);

-- The coordinator's free-text summary of a situation report, per period.
CREATE TABLE report_summaries (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, period_from, period_to)
);

-- One row per patrol, incident and observation with typed columns, projected from `entities`.
CREATE TABLE entries (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL,
    kind                TEXT NOT NULL,
    author              TEXT NOT NULL,
    author_group        TEXT,
    created_seq         BIGINT NOT NULL,
    updated_seq         BIGINT NOT NULL,
    received_at_ms      BIGINT NOT NULL,
    occurred_at_ms      BIGINT,
    ended_at_ms         BIGINT,
    area_id             TEXT,
    category            TEXT,
    severity            BIGINT,
    review_status       TEXT NOT NULL,
    assignee            TEXT,
    duplicate_of        TEXT,
    tags                TEXT,
    forwarded_to        TEXT,
    lat                 DOUBLE PRECISION,
    lon                 DOUBLE PRECISION,
    place               TEXT,
    description         TEXT,
    participants        BIGINT,
    people_involved     BIGINT,
    minors_involved     BIGINT,
    police_line         TEXT,
    police_contacted_ms BIGINT,
    police_attended_ms  BIGINT,
    police_event_number TEXT,
    retracted           BOOLEAN NOT NULL,
    attachments         BIGINT NOT NULL
);
CREATE INDEX entries_org_created ON entries(org_id, created_seq);
CREATE INDEX entries_org_occurred ON entries(org_id, occurred_at_ms, created_seq);
CREATE INDEX entries_org_status ON entries(org_id, review_status, created_seq);

-- Photos, uploaded out of band by content hash in resumable chunks.
CREATE TABLE blobs (
    org_id          TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    received        BIGINT NOT NULL DEFAULT 0,
    uploaded_by     TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    completed_at_ms BIGINT,
    data            BYTEA,
    PRIMARY KEY (org_id, sha256)
);

CREATE TABLE blob_chunks (
    org_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    "offset" BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (org_id, sha256, "offset")
);

-- Bounded sign-in: every attempt is recorded when it is admitted.
CREATE TABLE sign_in_attempts (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login   TEXT NOT NULL,
    address TEXT NOT NULL,
    trusted BOOLEAN NOT NULL,
    at_ms   BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_login ON sign_in_attempts(login, at_ms);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts(address, at_ms);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts(trusted, at_ms);

CREATE TABLE trusted_browsers (
    token_hash    TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    login         TEXT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX trusted_browsers_expiry ON trusted_browsers(expires_at_ms);

-- Removals (retention purges and redactions) in the pull stream; `seq` from `vaka_seq`.
CREATE TABLE removals (
    seq          BIGINT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    scope_member TEXT NOT NULL,
    record       TEXT NOT NULL,
    made_at_ms   BIGINT NOT NULL
);
CREATE INDEX removals_org_seq ON removals(org_id, seq);
CREATE INDEX removals_org_scope_seq ON removals(org_id, scope_member, seq);

-- That a redaction happened, by whom and when; never what it removed.
CREATE TABLE redactions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    through_hlc TEXT NOT NULL,
    value       TEXT NOT NULL,
    by_member   TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX redactions_entity ON redactions(entity_id);

-- The ids of purged entities (nothing else), so a late op of one is refused, not re-created.
CREATE TABLE purged_entities (
    entity_id    TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    purged_at_ms BIGINT NOT NULL
);

-- Each purge run per organisation: the cut-off and how many entries went.
CREATE TABLE purge_runs (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id    TEXT NOT NULL,
    at_ms     BIGINT NOT NULL,
    cutoff_ms BIGINT NOT NULL,
    entries   BIGINT NOT NULL
);
CREATE INDEX purge_runs_org ON purge_runs(org_id, at_ms);

-- An association shares its aggregates with a municipality-level organisation until it
-- withdraws (the row is deleted).
CREATE TABLE shares (
    from_org     TEXT NOT NULL REFERENCES orgs(id),
    to_org       TEXT NOT NULL REFERENCES orgs(id),
    shared_at_ms BIGINT NOT NULL,
    shared_by    TEXT NOT NULL,
    PRIMARY KEY (from_org, to_org)
);
CREATE INDEX shares_to ON shares(to_org);

-- The audit log: append-only and hash-chained, one chain per organisation (see store/audit.rs).
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     TEXT NOT NULL,
    chain_seq  BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    actor_id   TEXT,
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (org_id, chain_seq)
);
CREATE INDEX audit_log_org_at ON audit_log(org_id, at_ms);

-- Append-only: no record is ever changed, and one goes only once a pruning anchor later in its
-- chain names it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_log a
        WHERE a.org_id = OLD.org_id AND a.action = 'audit_pruned' AND a.chain_seq > OLD.chain_seq
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
