-- Vaka server store, version 6: the liaison role (aggregates only), municipality-level
-- organisations, and associations sharing their aggregates with one.

-- An organisation is an association (night walkers, guards, neighbourhood watch) or a
-- municipality-level organisation that associations may share their aggregates with.
ALTER TABLE orgs ADD COLUMN level TEXT NOT NULL DEFAULT 'association'
    CHECK (level IN ('association', 'municipality'));

-- The members table again, with `liaison` among the roles (SQLite cannot change a CHECK in
-- place; the store opens with foreign keys off while it migrates, and checks them afterwards).
CREATE TABLE members_new (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('volunteer', 'coordinator', 'admin', 'liaison')),
    member_group  TEXT,
    login         TEXT UNIQUE,
    password_hash TEXT,
    created_at_ms INTEGER NOT NULL,
    removed_at_ms INTEGER,
    former_number INTEGER
) STRICT;
INSERT INTO members_new (id, org_id, display_name, role, member_group, login, password_hash,
                         created_at_ms, removed_at_ms, former_number)
    SELECT id, org_id, display_name, role, member_group, login, password_hash, created_at_ms,
           removed_at_ms, former_number
    FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_org ON members(org_id);

-- An association shares its aggregates with a municipality-level organisation until it
-- withdraws (the row is deleted).
CREATE TABLE shares (
    from_org      TEXT NOT NULL REFERENCES orgs(id),
    to_org        TEXT NOT NULL REFERENCES orgs(id),
    shared_at_ms  INTEGER NOT NULL,
    shared_by     TEXT NOT NULL,
    PRIMARY KEY (from_org, to_org)
) STRICT;
CREATE INDEX shares_to ON shares(to_org);
