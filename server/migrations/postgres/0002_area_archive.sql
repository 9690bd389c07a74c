-- Vaka server store on PostgreSQL, version 2 (SQLite's 0008): an area that entries point at is
-- archived instead of deleted: hidden from the choice lists, kept for the history and the reports.
ALTER TABLE areas ADD COLUMN archived_at_ms BIGINT;
