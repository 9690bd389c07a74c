-- Vaka server store on PostgreSQL, version 4 (SQLite's 0010): messages from the desk to the
-- walkers' phones.

-- A member's area (optional, set on the people page): a message to an area reaches its members.
ALTER TABLE members ADD COLUMN area_id TEXT;

-- Who pulls an op or a removal beside its scope, when it is not for the scope's member alone:
-- a message's audience ('org', 'area:<area id>', 'group:<name>') and a receipt's own phone
-- ('member:<member id>'). NULL for every other op: the scope rules of the pull apply as before.
ALTER TABLE ops ADD COLUMN audience TEXT;
CREATE INDEX ops_org_audience_seq ON ops(org_id, audience, seq) WHERE audience IS NOT NULL;
ALTER TABLE removals ADD COLUMN audience TEXT;
CREATE INDEX removals_org_audience_seq ON removals(org_id, audience, seq)
    WHERE audience IS NOT NULL;
