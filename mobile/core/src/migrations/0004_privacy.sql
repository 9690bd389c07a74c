-- Privacy (retention, lost and retired phones). Forward-only: never edit once shipped.

-- The organisation's retention period as the server last said it (days): entries older than
-- this go from the phone by themselves, except held ones and those with ops not yet sent.
ALTER TABLE meta ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 730;
-- Set when the server said a coordinator retired this phone: it takes no new entries, hands
-- over what it has, then wipes.
ALTER TABLE meta ADD COLUMN retiring INTEGER NOT NULL DEFAULT 0 CHECK (retiring IN (0, 1));
-- Why and when the phone last wiped itself, for the enrolment screen; cleared by enrolling.
ALTER TABLE meta ADD COLUMN wiped TEXT CHECK (wiped IN ('lost', 'retired'));
ALTER TABLE meta ADD COLUMN wiped_at_ms INTEGER;
