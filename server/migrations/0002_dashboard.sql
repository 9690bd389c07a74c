-- Vaka server store, version 2: the coordinator dashboard. Signed-in sessions, failed sign-ins,
-- the server-side device each coordinator writes through, report summaries, and `entries`: a
-- queryable projection of patrols, incidents and observations kept up to date by the push path.

-- Dashboard sessions; the cookie's token is stored only as a SHA-256 hash.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    member_id       TEXT NOT NULL REFERENCES members(id),
    csrf_token      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_member ON sessions(member_id);

-- Failed sign-ins, for limiting guesses per sign-in name.
CREATE TABLE login_failures (
    login  TEXT NOT NULL,
    at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_login ON login_failures(login, at_ms);

-- The server-side device a coordinator's dashboard writes its ops through.
CREATE TABLE dashboard_devices (
    member_id TEXT PRIMARY KEY REFERENCES members(id),
    device_id TEXT NOT NULL REFERENCES devices(id)
) STRICT;

-- The coordinator's free-text summary of a situation report, per period.
CREATE TABLE report_summaries (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, period_from, period_to)
) STRICT;

-- One row per patrol, incident and observation with typed columns, projected from `entities`.
-- `occurred_at_ms` is when it happened (a patrol: when it started).
CREATE TABLE entries (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL,
    kind                TEXT NOT NULL,
    author              TEXT NOT NULL,
    author_group        TEXT,
    created_seq         INTEGER NOT NULL,
    updated_seq         INTEGER NOT NULL,
    received_at_ms      INTEGER NOT NULL,
    occurred_at_ms      INTEGER,
    ended_at_ms         INTEGER,
    area_id             TEXT,
    category            TEXT,
    severity            INTEGER,
    review_status       TEXT NOT NULL,
    assignee            TEXT,
    duplicate_of        TEXT,
    tags                TEXT,
    forwarded_to        TEXT,
    lat                 REAL,
    lon                 REAL,
    place               TEXT,
    description         TEXT,
    participants        INTEGER,
    people_involved     INTEGER,
    minors_involved     INTEGER,
    police_line         TEXT,
    police_contacted_ms INTEGER,
    police_attended_ms  INTEGER,
    police_event_number TEXT,
    retracted           INTEGER NOT NULL,
    attachments         INTEGER NOT NULL
) STRICT;
CREATE INDEX entries_org_created ON entries(org_id, created_seq);
CREATE INDEX entries_org_occurred ON entries(org_id, occurred_at_ms, created_seq);
CREATE INDEX entries_org_status ON entries(org_id, review_status, created_seq);
-- Covers the inbox's filters, so its counts per status read only this index.
CREATE INDEX entries_org_status_cover ON entries(org_id, review_status, occurred_at_ms, kind,
    severity, area_id, category, author_group, author, id);

-- Comments by the entry they belong to, for an entry's thread.
CREATE INDEX entities_comment_entry ON entities(json_extract(state, '$.entry.v.id'))
    WHERE kind = 'comment';

-- Entities stored before this version.
INSERT INTO entries
SELECT e.id, e.org_id, e.kind, e.author, m.member_group, e.created_seq, e.updated_seq,
       COALESCE((SELECT o.received_at_ms FROM ops o WHERE o.seq = e.created_seq), 0),
       CAST(round(unixepoch(json_extract(e.state, CASE e.kind WHEN 'incident' THEN '$.occurred_at.v'
            WHEN 'observation' THEN '$.observed_at.v' ELSE '$.started_at.v' END), 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(json_extract(e.state, '$.ended_at.v'), 'subsec') * 1000) AS INTEGER),
       json_extract(e.state, '$.area_id.v'),
       CASE e.kind WHEN 'patrol' THEN json_extract(e.state, '$.kind.v') ELSE json_extract(e.state, '$.category.v') END,
       json_extract(e.state, '$.severity.v'),
       COALESCE(json_extract(e.state, '$.review_status.v'), 'new'),
       json_extract(e.state, '$.assignee.v'),
       json_extract(e.state, '$.duplicate_of.v'),
       json_extract(e.state, '$.tags.v'),
       json_extract(e.state, '$.forwarded_to.v'),
       json_extract(e.state, '$.location.v.lat'),
       json_extract(e.state, '$.location.v.lon'),
       json_extract(e.state, '$.place.v'),
       COALESCE(json_extract(e.state, '$.description.v'), json_extract(e.state, '$.note.v')),
       json_extract(e.state, '$.participant_count.v'),
       json_extract(e.state, '$.people_involved.v'),
       json_extract(e.state, '$.minors_involved.v'),
       json_extract(e.state, '$.police_line.v'),
       CAST(round(unixepoch(json_extract(e.state, '$.police_contacted_at.v'), 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(json_extract(e.state, '$.police_attended_at.v'), 'subsec') * 1000) AS INTEGER),
       json_extract(e.state, '$.police_event_number.v'),
       COALESCE(json_extract(e.state, '$.retracted.v'), 0),
       COALESCE(json_array_length(json_extract(e.state, '$.attachments.v')), 0)
FROM entities e LEFT JOIN members m ON m.id = e.author
WHERE e.kind IN ('patrol', 'incident', 'observation');
