-- Vaka server store, version 5: retention, redaction, lost and retired phones, members who leave.

-- A device a coordinator marked lost (told to wipe at its next contact) or retired (it hands over
-- what it has not sent, then wipes and says so: `wiped_at_ms`, and its token is refused).
ALTER TABLE devices ADD COLUMN lost_at_ms INTEGER;
ALTER TABLE devices ADD COLUMN retired_at_ms INTEGER;
ALTER TABLE devices ADD COLUMN wiped_at_ms INTEGER;

-- A member who left: their name is replaced by "Tidigare medlem N" (N counts per organisation).
ALTER TABLE members ADD COLUMN removed_at_ms INTEGER;
ALTER TABLE members ADD COLUMN former_number INTEGER;

-- Removals (retention purges and redactions) handed out in the pull stream. `seq` comes from the
-- same sequence as `ops.seq` (the writer takes it from `sqlite_sequence`), so a device applies
-- both in one order.
CREATE TABLE removals (
    seq           INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    scope_member  TEXT NOT NULL,
    record        TEXT NOT NULL,
    made_at_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX removals_org_seq ON removals(org_id, seq);
CREATE INDEX removals_org_scope_seq ON removals(org_id, scope_member, seq);

-- That a redaction happened, by whom and when; never what it removed.
CREATE TABLE redactions (
    id            INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    field         TEXT NOT NULL,
    through_hlc   TEXT NOT NULL,
    value         TEXT NOT NULL,
    by_member     TEXT NOT NULL,
    at_ms         INTEGER NOT NULL,
    seq           INTEGER NOT NULL
) STRICT;
CREATE INDEX redactions_entity ON redactions(entity_id);

-- The ids of purged entities (nothing else), so a late op of one is refused, not re-created.
CREATE TABLE purged_entities (
    entity_id     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    purged_at_ms  INTEGER NOT NULL
) STRICT;

-- Each purge run per organisation: the cut-off and how many entries went.
CREATE TABLE purge_runs (
    id            INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    at_ms         INTEGER NOT NULL,
    cutoff_ms     INTEGER NOT NULL,
    entries       INTEGER NOT NULL
) STRICT;
CREATE INDEX purge_runs_org ON purge_runs(org_id, at_ms);
