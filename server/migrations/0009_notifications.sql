-- Notifications: rules per organisation that say which entries alert whom, the webhook endpoints
-- they post to, and the outbox a worker delivers from. A notification is written in the same
-- transaction as the op (or the timer's check) that caused it, once per rule and entry.

-- A rule: its filters and targets as JSON (`notify::RuleSpec`), matched in Rust.
CREATE TABLE notify_rules (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    fires_on      TEXT NOT NULL CHECK (fires_on IN ('entry', 'police_no_show')),
    spec          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    removed_at_ms INTEGER
) STRICT;
CREATE INDEX notify_rules_org ON notify_rules(org_id, fires_on) WHERE removed_at_ms IS NULL;

-- A webhook endpoint. The signing secret must be kept readable to sign with (HMAC); it is shown
-- to the admin once, when the endpoint is added.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    disabled_at_ms  INTEGER,
    disabled_reason TEXT,
    removed_at_ms   INTEGER
) STRICT;
CREATE INDEX webhooks_org ON webhooks(org_id);

-- The outbox: one notification per rule and entry, with its thin facts (`notify::Facts`: kind,
-- category, severity, area, times; never free text or names).
CREATE TABLE notifications (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    rule_id       TEXT NOT NULL REFERENCES notify_rules(id),
    entity_id     TEXT NOT NULL,
    event         TEXT NOT NULL CHECK (event IN ('entry.matched', 'police.no_show')),
    facts         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (rule_id, entity_id)
) STRICT;
CREATE INDEX notifications_entity ON notifications(entity_id);

-- One delivery per notification and target (an e-mail address or a webhook endpoint). A worker
-- claims a due one by setting a lease (with a token of its own) and records the outcome only
-- while it holds it.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    org_id          TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'disabled')),
    tries           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms  INTEGER,
    lease_token     TEXT,
    delivered_at_ms INTEGER,
    created_at_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX deliveries_due ON deliveries(next_attempt_ms) WHERE status = 'pending';
CREATE INDEX deliveries_org ON deliveries(org_id, created_at_ms);
CREATE INDEX deliveries_notification ON deliveries(notification_id);

-- Every attempt of a delivery, for the delivery log.
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    attempt     INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed', 'disabled')),
    detail      TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) STRICT;

-- The police no-show check reads incidents by when police were contacted.
CREATE INDEX entries_police_contacted ON entries(police_contacted_ms)
    WHERE police_contacted_ms IS NOT NULL;
