//! Notifications in the store (migration `0009_notifications.sql`; on PostgreSQL
//! `store/postgres/notify.rs`): an organisation's rules and webhook endpoints, the outbox a
//! notification is written to in the transaction that caused it, and the deliveries the worker
//! claims, attempts and records. The decisions are `crate::notify`'s pure functions.

use super::audit::{self, Actor, AuditAction};
use super::row::{json, parsed, wire};
use super::{Store, StoreError, on_backend, postgres};
use crate::notify::rules::{EntryFacts, RuleSpec, Trigger};
use crate::notify::{
    Channel, Claimed, DeliveryId, Facts, NotificationId, Outcome, RuleId, Target, WebhookId,
};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::op::EntityKind;
use vaka_shared::{AreaId, EntityId, MemberId, OrgId};

/// A rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    /// Its id.
    pub id: RuleId,
    /// What it says.
    pub spec: RuleSpec,
    /// When it was made.
    pub created_at_ms: i64,
}

/// A webhook endpoint as the settings list it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id.
    pub id: WebhookId,
    /// Its address.
    pub url: String,
    /// When it was added.
    pub created_at_ms: i64,
    /// When it was disabled (a 410 answer), and why.
    pub disabled: Option<(i64, String)>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// Its number, from 1.
    pub attempt: u32,
    /// When.
    pub at_ms: i64,
    /// `delivered`, `retry`, `failed` or `disabled`.
    pub outcome: String,
    /// What happened, in a line (`HTTP 500`, `timeout`, an SMTP answer).
    pub detail: String,
}

/// A delivery with its attempts, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The delivery.
    pub id: DeliveryId,
    /// The entry it is about.
    pub entry: EntityId,
    /// `entry.matched` or `police.no_show`.
    pub event: String,
    /// What the notification says.
    pub facts: Facts,
    /// E-mail or webhook.
    pub channel: Channel,
    /// The address, or the webhook's URL.
    pub target: String,
    /// `pending`, `delivered`, `failed` or `disabled`.
    pub status: String,
    /// When the next attempt is due (pending ones).
    pub next_attempt_ms: i64,
    /// When it was made.
    pub created_at_ms: i64,
    /// Its attempts, oldest first.
    pub attempts: Vec<AttemptRow>,
}

/// How many deliveries the log shows.
pub const LOG_LIMIT: u32 = 200;

// ----- Rules and endpoints -----

/// The rules of `org` in force, oldest first.
pub fn rules(conn: &Connection, org: OrgId) -> Result<Vec<RuleRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, spec, created_at_ms FROM notify_rules
             WHERE org_id = ?1 AND removed_at_ms IS NULL ORDER BY created_at_ms, id",
        )?
        .query_map([org.to_string()], |r| {
            Ok(RuleRow {
                id: parsed(r, 0)?,
                spec: json(r, 1)?,
                created_at_ms: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Adds a rule to `org`, by `by`, with its audit record.
pub fn add_rule(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    spec: &RuleSpec,
    now_ms: i64,
) -> Result<RuleId, StoreError> {
    let id = RuleId::new();
    conn.prepare_cached(
        "INSERT INTO notify_rules (id, org_id, fires_on, spec, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id.to_string(),
        org.to_string(),
        spec.trigger.as_str(),
        serde_json::to_string(spec)?,
        now_ms
    ])?;
    let action = AuditAction::NotifyRuleAdded {
        rule: id.to_string(),
    };
    audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    Ok(id)
}

/// Removes rule `id` of `org`, by `by`; `false` when there is no such rule. Its notifications
/// stay in the delivery log.
pub fn remove_rule(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    id: RuleId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let removed = conn
        .prepare_cached(
            "UPDATE notify_rules SET removed_at_ms = ?3
             WHERE id = ?1 AND org_id = ?2 AND removed_at_ms IS NULL",
        )?
        .execute(params![id.to_string(), org.to_string(), now_ms])?
        == 1;
    if removed {
        let action = AuditAction::NotifyRuleRemoved {
            rule: id.to_string(),
        };
        audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    }
    Ok(removed)
}

/// The webhook endpoints of `org`, oldest first.
pub fn webhooks(conn: &Connection, org: OrgId) -> Result<Vec<WebhookRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, url, created_at_ms, disabled_at_ms, disabled_reason FROM webhooks
             WHERE org_id = ?1 AND removed_at_ms IS NULL ORDER BY created_at_ms, id",
        )?
        .query_map([org.to_string()], |r| {
            let at: Option<i64> = r.get(3)?;
            let why: Option<String> = r.get(4)?;
            Ok(WebhookRow {
                id: parsed(r, 0)?,
                url: r.get(1)?,
                created_at_ms: r.get(2)?,
                disabled: at.map(|at| (at, why.unwrap_or_default())),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Adds a webhook endpoint to `org` with its signing secret, by `by`, with its audit record
/// (the URL's host only, never the secret).
pub fn add_webhook(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    url: &str,
    secret: &str,
    now_ms: i64,
) -> Result<WebhookId, StoreError> {
    let id = WebhookId::new();
    conn.prepare_cached(
        "INSERT INTO webhooks (id, org_id, url, secret, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id.to_string(),
        org.to_string(),
        url,
        secret,
        now_ms
    ])?;
    let action = AuditAction::WebhookAdded {
        webhook: id.to_string(),
    };
    audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    Ok(id)
}

/// Removes webhook `id` of `org`, by `by`; its waiting deliveries are disabled. `false` when
/// there is no such endpoint.
pub fn remove_webhook(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    id: WebhookId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let removed = conn
        .prepare_cached(
            "UPDATE webhooks SET removed_at_ms = ?3
             WHERE id = ?1 AND org_id = ?2 AND removed_at_ms IS NULL",
        )?
        .execute(params![id.to_string(), org.to_string(), now_ms])?
        == 1;
    if removed {
        disable_waiting(conn, id)?;
        let action = AuditAction::WebhookRemoved {
            webhook: id.to_string(),
        };
        audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    }
    Ok(removed)
}

fn disable_waiting(conn: &Connection, webhook: WebhookId) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE deliveries SET status = 'disabled', lease_until_ms = NULL, lease_token = NULL
         WHERE channel = 'webhook' AND target = ?1 AND status = 'pending'",
    )?
    .execute([webhook.to_string()])?;
    Ok(())
}

// ----- The outbox -----

/// The facts of entry `id` the rules match against, with its organisation and the time it
/// happened; `None` when the projection holds no such entry.
fn entry_facts(
    conn: &Connection,
    id: EntityId,
) -> Result<Option<(OrgId, EntryFacts, Option<i64>)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT org_id, kind, category, severity, area_id, author_group, retracted,
                    received_at_ms, police_contacted_ms, police_attended_ms, occurred_at_ms
             FROM entries WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| facts_at(r, 0))
        .optional()?)
}

/// The entry facts in the columns of `r` from `first` on (organisation, kind, category,
/// severity, area, group, retracted, received, police contacted and attended, occurred).
fn facts_at(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<(OrgId, EntryFacts, Option<i64>)> {
    let severity: Option<i64> = r.get(first + 3)?;
    let area: Option<String> = r.get(first + 4)?;
    Ok((
        parsed(r, first)?,
        EntryFacts {
            kind: wire(r, first + 1, EntityKind::from_wire)?,
            category: r.get(first + 2)?,
            severity: severity.and_then(|s| u8::try_from(s).ok()),
            area: area.and_then(|a| a.parse::<AreaId>().ok()),
            group: r.get(first + 5)?,
            retracted: r.get::<_, i64>(first + 6)? != 0,
            received_at_ms: r.get(first + 7)?,
            police_contacted_ms: r.get(first + 8)?,
            police_attended_ms: r.get(first + 9)?,
        },
        r.get(first + 10)?,
    ))
}

/// The rules of `org` set off by `trigger`'s kind.
fn rules_firing_on(
    conn: &Connection,
    org: &str,
    fires_on: &str,
) -> Result<Vec<RuleRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, spec, created_at_ms FROM notify_rules
             WHERE org_id = ?1 AND fires_on = ?2 AND removed_at_ms IS NULL",
        )?
        .query_map(params![org, fires_on], |r| {
            Ok(RuleRow {
                id: parsed(r, 0)?,
                spec: json(r, 1)?,
                created_at_ms: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// After entry `id` of `org` was written (inside the push's transaction): a notification for
/// every entry rule of the organisation it matches and has not notified through yet. An
/// organisation without such rules costs one index lookup.
pub fn on_entry_written(
    conn: &Connection,
    org: OrgId,
    id: EntityId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let rules = rules_firing_on(conn, &org.to_string(), Trigger::Entry.as_str())?;
    if rules.is_empty() {
        return Ok(());
    }
    let Some((org, entry, occurred)) = entry_facts(conn, id)? else {
        return Ok(());
    };
    for rule in rules
        .iter()
        .filter(|r| r.spec.matches(&entry, r.created_at_ms))
    {
        enqueue(conn, org, rule, id, &entry, occurred, now_ms)?;
    }
    Ok(())
}

/// The timer's check at `now_ms`: a notification for every incident whose police are overdue
/// by a police no-show rule of its organisation and that it has not notified through yet.
/// Returns how many it made.
pub fn raise_police_no_shows(conn: &Connection, now_ms: i64) -> Result<usize, StoreError> {
    let rules: Vec<(OrgId, RuleRow)> = conn
        .prepare_cached(
            "SELECT org_id, id, spec, created_at_ms FROM notify_rules
             WHERE fires_on = 'police_no_show' AND removed_at_ms IS NULL",
        )?
        .query_map([], |r| {
            Ok((
                parsed(r, 0)?,
                RuleRow {
                    id: parsed(r, 1)?,
                    spec: json(r, 2)?,
                    created_at_ms: r.get(3)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut made = 0;
    for (org, rule) in &rules {
        let candidates = conn
            .prepare_cached(
                "SELECT e.id, e.org_id, e.kind, e.category, e.severity, e.area_id, e.author_group,
                        e.retracted, e.received_at_ms, e.police_contacted_ms,
                        e.police_attended_ms, e.occurred_at_ms
                 FROM entries e
                 WHERE e.police_contacted_ms >= ?1 AND e.police_contacted_ms <= ?2
                   AND e.org_id = ?3 AND e.kind = 'incident'
                   AND NOT EXISTS (SELECT 1 FROM notifications n
                                   WHERE n.rule_id = ?4 AND n.entity_id = e.id)",
            )?
            .query_map(
                params![
                    RuleSpec::overdue_window_start(now_ms),
                    now_ms,
                    org.to_string(),
                    rule.id.to_string()
                ],
                |r| Ok((parsed::<EntityId>(r, 0)?, facts_at(r, 1)?)),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        for (id, (_, entry, occurred)) in candidates {
            if rule.spec.police_overdue(&entry, rule.created_at_ms, now_ms)
                && enqueue(conn, *org, rule, id, &entry, occurred, now_ms)?
            {
                made += 1;
            }
        }
    }
    Ok(made)
}

/// The thin facts a notification of `rule` about `entry` says.
pub fn facts_for(
    rule: &RuleRow,
    entry: &EntryFacts,
    area_name: Option<String>,
    occurred_at_ms: Option<i64>,
) -> Facts {
    let wait_minutes = match rule.spec.trigger {
        Trigger::PoliceNoShow { minutes } => Some(minutes),
        Trigger::Entry => None,
    };
    Facts {
        rule: rule.spec.name.clone(),
        kind: entry.kind,
        category: entry.category.clone(),
        severity: entry.severity,
        area: area_name,
        occurred_at_ms,
        police_contacted_ms: wait_minutes.and(entry.police_contacted_ms),
        wait_minutes,
    }
}

/// Records a notification of `rule` about entry `id` with a delivery per target, unless that
/// rule has notified about that entry already; `true` when it made one.
fn enqueue(
    conn: &Connection,
    org: OrgId,
    rule: &RuleRow,
    id: EntityId,
    entry: &EntryFacts,
    occurred_at_ms: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let area_name: Option<String> = match entry.area {
        Some(area) => conn
            .prepare_cached("SELECT name FROM areas WHERE id = ?1 AND org_id = ?2")?
            .query_row(params![area.to_string(), org.to_string()], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let facts = facts_for(rule, entry, area_name, occurred_at_ms);
    let notification = NotificationId::new();
    let made = conn
        .prepare_cached(
            "INSERT INTO notifications (id, org_id, rule_id, entity_id, event, facts, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (rule_id, entity_id) DO NOTHING",
        )?
        .execute(params![
            notification.to_string(),
            org.to_string(),
            rule.id.to_string(),
            id.to_string(),
            rule.spec.trigger.event(),
            serde_json::to_string(&facts)?,
            now_ms
        ])?
        == 1;
    if !made {
        return Ok(false);
    }
    let mut targets: Vec<(Channel, String)> = rule
        .spec
        .emails
        .iter()
        .map(|e| (Channel::Email, e.clone()))
        .collect();
    for webhook in &rule.spec.webhooks {
        let live: Option<i64> = conn
            .prepare_cached(
                "SELECT 1 FROM webhooks WHERE id = ?1 AND org_id = ?2
                 AND removed_at_ms IS NULL AND disabled_at_ms IS NULL",
            )?
            .query_row(params![webhook.to_string(), org.to_string()], |r| r.get(0))
            .optional()?;
        if live.is_some() {
            targets.push((Channel::Webhook, webhook.to_string()));
        }
    }
    for (channel, target) in targets {
        conn.prepare_cached(
            "INSERT INTO deliveries (id, notification_id, org_id, channel, target, status,
                                     next_attempt_ms, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        )?
        .execute(params![
            DeliveryId::new().to_string(),
            notification.to_string(),
            org.to_string(),
            channel.as_str(),
            target,
            now_ms
        ])?;
    }
    Ok(true)
}

// ----- Deliveries -----

/// Claims up to `limit` deliveries due at `now_ms` that no live lease holds, leasing them to
/// `token` until `lease_until_ms`, and returns them with what to send. A delivery to an
/// endpoint removed or disabled since is disabled here instead.
pub fn claim(
    conn: &Connection,
    now_ms: i64,
    lease_until_ms: i64,
    token: &str,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    conn.prepare_cached(
        "UPDATE deliveries SET lease_until_ms = ?2, lease_token = ?3
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND next_attempt_ms <= ?1
                        AND (lease_until_ms IS NULL OR lease_until_ms <= ?1)
                      ORDER BY next_attempt_ms, id LIMIT ?4)",
    )?
    .execute(params![
        now_ms,
        lease_until_ms,
        token,
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    let rows = conn
        .prepare_cached(
            "SELECT d.id, d.notification_id, n.entity_id, n.event, n.facts, n.created_at_ms,
                    d.channel, d.target, w.url, w.secret, d.tries, d.attempts
             FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             LEFT JOIN webhooks w ON d.channel = 'webhook' AND w.id = d.target
                  AND w.removed_at_ms IS NULL AND w.disabled_at_ms IS NULL
             WHERE d.lease_token = ?1 ORDER BY d.next_attempt_ms, d.id",
        )?
        .query_map([token], |r| {
            let id: DeliveryId = parsed(r, 0)?;
            let target: String = r.get(7)?;
            let url: Option<String> = r.get(8)?;
            let secret: Option<String> = r.get(9)?;
            let target = match (wire(r, 6, Channel::from_wire)?, url, secret) {
                (Channel::Email, _, _) => Target::Email(target),
                (Channel::Webhook, Some(url), Some(secret)) => Target::Webhook {
                    id: parsed(r, 7)?,
                    url,
                    secret,
                },
                (Channel::Webhook, _, _) => return Ok((id, None)),
            };
            Ok((
                id,
                Some(Claimed {
                    id,
                    notification: parsed(r, 1)?,
                    entry: parsed(r, 2)?,
                    event: r.get(3)?,
                    facts: json(r, 4)?,
                    created_at_ms: r.get(5)?,
                    target,
                    tries: r.get(10)?,
                    attempts: r.get(11)?,
                    lease_token: token.to_owned(),
                }),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, c) in rows {
        match c {
            Some(c) => claimed.push(c),
            None => {
                conn.prepare_cached(
                    "UPDATE deliveries SET status = 'disabled', lease_until_ms = NULL,
                            lease_token = NULL WHERE id = ?1",
                )?
                .execute([id.to_string()])?;
            }
        }
    }
    Ok(claimed)
}

/// Records an attempt of delivery `id` that ended in `outcome`, if the lease `token` still
/// holds it; `false` (nothing recorded) when it does not. A 410 disables the endpoint with every
/// delivery waiting for it.
pub fn record_attempt(
    conn: &Connection,
    id: DeliveryId,
    token: &str,
    outcome: &Outcome,
    detail: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let next = outcome.next_attempt_ms();
    let status = outcome.delivery_status();
    let delivered_at = matches!(outcome, Outcome::Delivered).then_some(now_ms);
    let updated: Option<(u32, String, String)> = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?3, tries = tries + 1, attempts = attempts + 1,
                    next_attempt_ms = COALESCE(?4, next_attempt_ms),
                    delivered_at_ms = COALESCE(?5, delivered_at_ms),
                    lease_until_ms = NULL, lease_token = NULL
             WHERE id = ?1 AND lease_token = ?2
             RETURNING attempts, channel, target",
        )?
        .query_row(
            params![id.to_string(), token, status, next, delivered_at],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((attempt, channel, target)) = updated else {
        return Ok(false);
    };
    conn.prepare_cached(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id.to_string(),
        attempt,
        now_ms,
        outcome.as_str(),
        detail
    ])?;
    if matches!(outcome, Outcome::Disabled) && channel == "webhook" {
        conn.prepare_cached(
            "UPDATE webhooks SET disabled_at_ms = ?2, disabled_reason = ?3
             WHERE id = ?1 AND disabled_at_ms IS NULL",
        )?
        .execute(params![target, now_ms, detail])?;
        let webhook: WebhookId = target
            .parse()
            .map_err(|_| StoreError::Damaged(format!("delivery target {target:?}")))?;
        disable_waiting(conn, webhook)?;
    }
    Ok(true)
}

/// The newest [`LOG_LIMIT`] deliveries of `org` with their attempts, newest first.
pub fn delivery_log(conn: &Connection, org: OrgId) -> Result<Vec<DeliveryRow>, StoreError> {
    let org = org.to_string();
    let mut rows = conn
        .prepare_cached(
            "SELECT d.id, n.entity_id, n.event, n.facts, d.channel,
                    CASE WHEN d.channel = 'webhook'
                         THEN COALESCE((SELECT url FROM webhooks w WHERE w.id = d.target), d.target)
                         ELSE d.target END,
                    d.status, d.next_attempt_ms, d.created_at_ms
             FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             WHERE d.org_id = ?1 ORDER BY d.created_at_ms DESC, d.id DESC LIMIT ?2",
        )?
        .query_map(params![org, LOG_LIMIT], |r| {
            Ok(DeliveryRow {
                id: parsed(r, 0)?,
                entry: parsed(r, 1)?,
                event: r.get(2)?,
                facts: json(r, 3)?,
                channel: wire(r, 4, Channel::from_wire)?,
                target: r.get(5)?,
                status: r.get(6)?,
                next_attempt_ms: r.get(7)?,
                created_at_ms: r.get(8)?,
                attempts: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut attempts = conn.prepare_cached(
        "SELECT attempt, at_ms, outcome, detail FROM delivery_attempts
         WHERE delivery_id = ?1 ORDER BY attempt",
    )?;
    for row in &mut rows {
        row.attempts = attempts
            .query_map([row.id.to_string()], |r| {
                Ok(AttemptRow {
                    attempt: r.get(0)?,
                    at_ms: r.get(1)?,
                    outcome: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(rows)
}

/// Sends failed or disabled delivery `id` of `org` again now, by `by` (its endpoint enabled
/// again if a 410 had disabled it); `false` when there is no such delivery or it is not
/// failed or disabled.
pub fn resend(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    id: DeliveryId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let target: Option<(String, String)> = conn
        .prepare_cached(
            "UPDATE deliveries SET status = 'pending', tries = 0, next_attempt_ms = ?3,
                    lease_until_ms = NULL, lease_token = NULL
             WHERE id = ?1 AND org_id = ?2 AND status IN ('failed', 'disabled')
             RETURNING channel, target",
        )?
        .query_row(params![id.to_string(), org.to_string(), now_ms], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((channel, target)) = target else {
        return Ok(false);
    };
    if channel == "webhook" {
        conn.prepare_cached(
            "UPDATE webhooks SET disabled_at_ms = NULL, disabled_reason = NULL
             WHERE id = ?1 AND org_id = ?2 AND removed_at_ms IS NULL",
        )?
        .execute(params![target, org.to_string()])?;
    }
    let action = AuditAction::NotificationResent {
        delivery: id.to_string(),
    };
    audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    Ok(true)
}

/// Forgets every notification about entity `id` with its deliveries and attempts (the
/// retention purge, inside its write job).
pub fn forget_entity(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM delivery_attempts WHERE delivery_id IN
           (SELECT d.id FROM deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE n.entity_id = ?1)",
    )?
    .execute([id])?;
    conn.prepare_cached(
        "DELETE FROM deliveries WHERE notification_id IN
           (SELECT id FROM notifications WHERE entity_id = ?1)",
    )?
    .execute([id])?;
    conn.prepare_cached("DELETE FROM notifications WHERE entity_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Notifications on either backend.
impl Store {
    /// The rules and webhook endpoints of `org`, in one read.
    pub async fn notify_settings(
        &self,
        org: OrgId,
    ) -> Result<(Vec<RuleRow>, Vec<WebhookRow>), StoreError> {
        on_backend!(self,
            s => s.read(move |c| Ok((rules(c, org)?, webhooks(c, org)?))).await,
            p => p.read(move |db| Box::pin(async move {
                Ok((postgres::notify::rules(db, org).await?, postgres::notify::webhooks(db, org).await?))
            })).await,
        )
    }

    /// Adds a rule to `org`, by `by`, with its audit record.
    pub async fn add_notify_rule_by(
        &self,
        org: OrgId,
        by: MemberId,
        spec: RuleSpec,
        now_ms: i64,
    ) -> Result<RuleId, StoreError> {
        on_backend!(self,
            s => s.write(move |c| add_rule(c, org, by, &spec, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::add_rule(tx, org, by, &spec, now_ms).await
            })).await,
        )
    }

    /// Removes rule `id` of `org`, by `by`; `false` when there is none.
    pub async fn remove_notify_rule_by(
        &self,
        org: OrgId,
        by: MemberId,
        id: RuleId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| remove_rule(c, org, by, id, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::remove_rule(tx, org, by, id, now_ms).await
            })).await,
        )
    }

    /// Adds a webhook endpoint with its secret to `org`, by `by`.
    pub async fn add_webhook_by(
        &self,
        org: OrgId,
        by: MemberId,
        url: String,
        secret: String,
        now_ms: i64,
    ) -> Result<WebhookId, StoreError> {
        on_backend!(self,
            s => s.write(move |c| add_webhook(c, org, by, &url, &secret, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::add_webhook(tx, org, by, &url, &secret, now_ms).await
            })).await,
        )
    }

    /// Removes webhook `id` of `org`, by `by`; `false` when there is none.
    pub async fn remove_webhook_by(
        &self,
        org: OrgId,
        by: MemberId,
        id: WebhookId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| remove_webhook(c, org, by, id, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::remove_webhook(tx, org, by, id, now_ms).await
            })).await,
        )
    }

    /// The timer's police check at `now_ms` (see [`raise_police_no_shows`]).
    pub async fn raise_police_no_shows(&self, now_ms: i64) -> Result<usize, StoreError> {
        on_backend!(self,
            s => s.write(move |c| raise_police_no_shows(c, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::raise_police_no_shows(tx, now_ms).await
            })).await,
        )
    }

    /// Claims due deliveries for this process (see [`claim`]).
    pub async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        token: String,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| claim(c, now_ms, lease_until_ms, &token, limit)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::claim(tx, now_ms, lease_until_ms, &token, limit).await
            })).await,
        )
    }

    /// Records an attempt (see [`record_attempt`]).
    pub async fn record_attempt(
        &self,
        id: DeliveryId,
        token: String,
        outcome: Outcome,
        detail: String,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| record_attempt(c, id, &token, &outcome, &detail, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::record_attempt(tx, id, &token, &outcome, &detail, now_ms).await
            })).await,
        )
    }

    /// The delivery log of `org` (see [`delivery_log`]).
    pub async fn delivery_log(&self, org: OrgId) -> Result<Vec<DeliveryRow>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| delivery_log(c, org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::notify::delivery_log(db, org).await
            })).await,
        )
    }

    /// Sends a failed delivery again (see [`resend`]).
    pub async fn resend_delivery_by(
        &self,
        org: OrgId,
        by: MemberId,
        id: DeliveryId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| resend(c, org, by, id, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::notify::resend(tx, org, by, id, now_ms).await
            })).await,
        )
    }
}
