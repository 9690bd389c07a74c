-- Vaka server store, version 7: the audit log.

-- An append-only, hash-chained record of who did or saw what: one chain per organisation, and one
-- (org_id '') for failed sign-ins under names no member has. `chain_seq` numbers a chain's
-- records from 1; `hash` is the SHA-256 over `prev_hash` and the record's canonical content (see
-- `store/audit.rs`). Only ids and parameters are held, never entry text, passwords or tokens.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    org_id      TEXT NOT NULL,
    chain_seq   INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (org_id, chain_seq)
) STRICT;
CREATE INDEX audit_log_org_at ON audit_log(org_id, at_ms);

-- Append-only: no record is ever changed, and one goes only once a pruning anchor later in its
-- chain names it (the audit retention's pruning; see `store/audit.rs`).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (
    SELECT 1 FROM audit_log a
    WHERE a.org_id = OLD.org_id AND a.action = 'audit_pruned' AND a.chain_seq > OLD.chain_seq
)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- How long each organisation keeps its audit log, in days (three years by default).
ALTER TABLE orgs ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 1095;
