-- The screens' read lists the coordinators' messages after every save and every sync. Without
-- an index on them, SQLite read every row of `entities` to find the few messages, and that read
-- grew with every entry the phone holds and pulls. This index holds the messages alone, in the
-- order they are shown.
CREATE INDEX entities_messages ON entities (created_ms DESC, id DESC) WHERE kind = 'message';
