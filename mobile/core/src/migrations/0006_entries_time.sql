-- The phone's own purge looks for entries older than the retention period after every sync.
-- Reading every entry's state to find them took longer the more entries the phone held, and
-- held up the screens' reads and the saves meanwhile. This index holds each entry's time (when
-- the incident occurred, the observation was made, the patrol started, a coordinator's message
-- was sent; RFC 3339 text), so the look reads the old entries only.
CREATE INDEX entities_entry_time ON entities (
    json_extract(state, CASE kind
        WHEN 'incident' THEN '$.occurred_at.v'
        WHEN 'observation' THEN '$.observed_at.v'
        WHEN 'message' THEN '$.sent_at.v'
        ELSE '$.started_at.v' END))
    WHERE kind IN ('patrol', 'incident', 'observation', 'message');
