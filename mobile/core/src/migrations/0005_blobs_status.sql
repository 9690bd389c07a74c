-- A photo's bytes sit in the row before its upload state, so reading the state of every photo
-- (the screens do, after each change) walked through every photo's bytes. This index holds the
-- state beside the hash, so those reads never touch the bytes.
CREATE INDEX blobs_status ON blobs (sha256, size, uploaded, done_at_ms, added_ms);
