//! Notifications on PostgreSQL, as [`crate::store::notify`] on SQLite: rules and webhook
//! endpoints, the outbox written in the transaction that caused it, and the deliveries. Several
//! processes claim from one outbox: the claim takes due rows with `FOR UPDATE SKIP LOCKED` and
//! sets a lease in the same transaction, so two processes never claim one delivery while its
//! lease holds, and an outcome is recorded only under the lease's token.

use super::{audit, ops::parsed};
use crate::notify::rules::{EntryFacts, RuleSpec, Trigger};
use crate::notify::{
    Channel, Claimed, DeliveryId, NotificationId, Outcome, RuleId, Target, WebhookId,
};
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::notify::{AttemptRow, DeliveryRow, LOG_LIMIT, RuleRow, WebhookRow, facts_for};
use crate::store::row::known;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use vaka_shared::op::EntityKind;
use vaka_shared::{AreaId, EntityId, MemberId, OrgId};

fn json<T: serde::de::DeserializeOwned>(row: &Row, index: usize) -> Result<T, StoreError> {
    let text: &str = row.try_get(index)?;
    Ok(serde_json::from_str(text)?)
}

fn count(row: &Row, index: usize) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(index)?;
    u32::try_from(n).map_err(|_| StoreError::Damaged(format!("column {index}: {n}")))
}

fn rule_row(r: &Row, first: usize) -> Result<RuleRow, StoreError> {
    Ok(RuleRow {
        id: parsed(r, first)?,
        spec: json(r, first + 1)?,
        created_at_ms: r.try_get(first + 2)?,
    })
}

/// The rules of `org` in force, oldest first.
pub async fn rules(db: &impl GenericClient, org: OrgId) -> Result<Vec<RuleRow>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, spec, created_at_ms FROM notify_rules
             WHERE org_id = $1 AND removed_at_ms IS NULL ORDER BY created_at_ms, id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(|r| rule_row(r, 0))
        .collect()
}

/// Adds a rule to `org`, by `by`, with its audit record.
pub async fn add_rule(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    spec: &RuleSpec,
    now_ms: i64,
) -> Result<RuleId, StoreError> {
    let id = RuleId::new();
    let stmt = db
        .prepare_cached(
            "INSERT INTO notify_rules (id, org_id, fires_on, spec, created_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &id.to_string(),
            &org.to_string(),
            &spec.trigger.as_str(),
            &serde_json::to_string(spec)?,
            &now_ms,
        ],
    )
    .await?;
    let action = AuditAction::NotifyRuleAdded {
        rule: id.to_string(),
    };
    audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    Ok(id)
}

/// Removes rule `id` of `org`, by `by`; `false` when there is none.
pub async fn remove_rule(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    id: RuleId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE notify_rules SET removed_at_ms = $3
             WHERE id = $1 AND org_id = $2 AND removed_at_ms IS NULL",
        )
        .await?;
    let removed = db
        .execute(&stmt, &[&id.to_string(), &org.to_string(), &now_ms])
        .await?
        == 1;
    if removed {
        let action = AuditAction::NotifyRuleRemoved {
            rule: id.to_string(),
        };
        audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    }
    Ok(removed)
}

/// The webhook endpoints of `org`, oldest first.
pub async fn webhooks(db: &impl GenericClient, org: OrgId) -> Result<Vec<WebhookRow>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, url, created_at_ms, disabled_at_ms, disabled_reason FROM webhooks
             WHERE org_id = $1 AND removed_at_ms IS NULL ORDER BY created_at_ms, id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(|r| {
            let at: Option<i64> = r.try_get(3)?;
            let why: Option<String> = r.try_get(4)?;
            Ok(WebhookRow {
                id: parsed(r, 0)?,
                url: r.try_get(1)?,
                created_at_ms: r.try_get(2)?,
                disabled: at.map(|at| (at, why.unwrap_or_default())),
            })
        })
        .collect()
}

/// Adds a webhook endpoint to `org`, by `by`.
pub async fn add_webhook(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    url: &str,
    secret: &str,
    now_ms: i64,
) -> Result<WebhookId, StoreError> {
    let id = WebhookId::new();
    let stmt = db
        .prepare_cached(
            "INSERT INTO webhooks (id, org_id, url, secret, created_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    db.execute(
        &stmt,
        &[&id.to_string(), &org.to_string(), &url, &secret, &now_ms],
    )
    .await?;
    let action = AuditAction::WebhookAdded {
        webhook: id.to_string(),
    };
    audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    Ok(id)
}

/// Removes webhook `id` of `org`, by `by`; its waiting deliveries are disabled.
pub async fn remove_webhook(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    id: WebhookId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE webhooks SET removed_at_ms = $3
             WHERE id = $1 AND org_id = $2 AND removed_at_ms IS NULL",
        )
        .await?;
    let removed = db
        .execute(&stmt, &[&id.to_string(), &org.to_string(), &now_ms])
        .await?
        == 1;
    if removed {
        disable_waiting(db, &id.to_string()).await?;
        let action = AuditAction::WebhookRemoved {
            webhook: id.to_string(),
        };
        audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    }
    Ok(removed)
}

async fn disable_waiting(db: &impl GenericClient, webhook: &str) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE deliveries SET status = 'disabled', lease_until_ms = NULL, lease_token = NULL
             WHERE channel = 'webhook' AND target = $1 AND status = 'pending'",
        )
        .await?;
    db.execute(&stmt, &[&webhook]).await?;
    Ok(())
}

/// The entry facts in the columns of `r` from `first` on, as on SQLite.
fn facts_at(r: &Row, first: usize) -> Result<(OrgId, EntryFacts, Option<i64>), StoreError> {
    let severity: Option<i64> = r.try_get(first + 3)?;
    let area: Option<&str> = r.try_get(first + 4)?;
    let kind: &str = r.try_get(first + 1)?;
    Ok((
        parsed(r, first)?,
        EntryFacts {
            kind: known(kind, EntityKind::from_wire)?,
            category: r.try_get(first + 2)?,
            severity: severity.and_then(|s| u8::try_from(s).ok()),
            area: area.and_then(|a| a.parse::<AreaId>().ok()),
            group: r.try_get(first + 5)?,
            retracted: r.try_get(first + 6)?,
            received_at_ms: r.try_get(first + 7)?,
            police_contacted_ms: r.try_get(first + 8)?,
            police_attended_ms: r.try_get(first + 9)?,
        },
        r.try_get(first + 10)?,
    ))
}

/// After entry `id` was written (inside the push's transaction): a notification for every
/// entry rule of its organisation it matches and has not notified through yet.
pub async fn on_entry_written(
    db: &impl GenericClient,
    org: OrgId,
    id: EntityId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, spec, created_at_ms FROM notify_rules
             WHERE org_id = $1 AND fires_on = $2 AND removed_at_ms IS NULL",
        )
        .await?;
    let rules = db
        .query(&stmt, &[&org.to_string(), &Trigger::Entry.as_str()])
        .await?
        .iter()
        .map(|r| rule_row(r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    if rules.is_empty() {
        return Ok(());
    }
    let stmt = db
        .prepare_cached(
            "SELECT org_id, kind, category, severity, area_id, author_group, retracted,
                    received_at_ms, police_contacted_ms, police_attended_ms, occurred_at_ms
             FROM entries WHERE id = $1",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&id.to_string()]).await? else {
        return Ok(());
    };
    let (org, entry, occurred) = facts_at(&row, 0)?;
    for rule in rules
        .iter()
        .filter(|r| r.spec.matches(&entry, r.created_at_ms))
    {
        enqueue(db, org, rule, id, &entry, occurred, now_ms).await?;
    }
    Ok(())
}

/// The timer's police check at `now_ms`, as on SQLite; returns how many notifications it made.
pub async fn raise_police_no_shows(
    db: &impl GenericClient,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT org_id, id, spec, created_at_ms FROM notify_rules
             WHERE fires_on = 'police_no_show' AND removed_at_ms IS NULL",
        )
        .await?;
    let rules = db
        .query(&stmt, &[])
        .await?
        .iter()
        .map(|r| Ok((parsed::<OrgId>(r, 0)?, rule_row(r, 1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let candidates = db
        .prepare_cached(
            "SELECT e.id, e.org_id, e.kind, e.category, e.severity, e.area_id, e.author_group,
                    e.retracted, e.received_at_ms, e.police_contacted_ms,
                    e.police_attended_ms, e.occurred_at_ms
             FROM entries e
             WHERE e.police_contacted_ms >= $1 AND e.police_contacted_ms <= $2
               AND e.org_id = $3 AND e.kind = 'incident'
               AND NOT EXISTS (SELECT 1 FROM notifications n
                               WHERE n.rule_id = $4 AND n.entity_id = e.id)",
        )
        .await?;
    let mut made = 0;
    for (org, rule) in &rules {
        let rows = db
            .query(
                &candidates,
                &[
                    &RuleSpec::overdue_window_start(now_ms),
                    &now_ms,
                    &org.to_string(),
                    &rule.id.to_string(),
                ],
            )
            .await?;
        for r in &rows {
            let id: EntityId = parsed(r, 0)?;
            let (_, entry, occurred) = facts_at(r, 1)?;
            if rule.spec.police_overdue(&entry, rule.created_at_ms, now_ms)
                && enqueue(db, *org, rule, id, &entry, occurred, now_ms).await?
            {
                made += 1;
            }
        }
    }
    Ok(made)
}

/// Records a notification of `rule` about entry `id` with a delivery per target, unless that
/// rule has notified about that entry already (another process may have, at the same moment:
/// the unique key decides); `true` when it made one.
async fn enqueue(
    db: &impl GenericClient,
    org: OrgId,
    rule: &RuleRow,
    id: EntityId,
    entry: &EntryFacts,
    occurred_at_ms: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let area_name: Option<String> = match entry.area {
        Some(area) => {
            let stmt = db
                .prepare_cached("SELECT name FROM areas WHERE id = $1 AND org_id = $2")
                .await?;
            db.query_opt(&stmt, &[&area.to_string(), &org.to_string()])
                .await?
                .map(|r| r.try_get(0))
                .transpose()?
        }
        None => None,
    };
    let facts = facts_for(rule, entry, area_name, occurred_at_ms);
    let notification = NotificationId::new().to_string();
    let stmt = db
        .prepare_cached(
            "INSERT INTO notifications (id, org_id, rule_id, entity_id, event, facts, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule_id, entity_id) DO NOTHING",
        )
        .await?;
    let made = db
        .execute(
            &stmt,
            &[
                &notification,
                &org.to_string(),
                &rule.id.to_string(),
                &id.to_string(),
                &rule.spec.trigger.event(),
                &serde_json::to_string(&facts)?,
                &now_ms,
            ],
        )
        .await?
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
    let live = db
        .prepare_cached(
            "SELECT 1 FROM webhooks WHERE id = $1 AND org_id = $2
             AND removed_at_ms IS NULL AND disabled_at_ms IS NULL",
        )
        .await?;
    for webhook in &rule.spec.webhooks {
        if db
            .query_opt(&live, &[&webhook.to_string(), &org.to_string()])
            .await?
            .is_some()
        {
            targets.push((Channel::Webhook, webhook.to_string()));
        }
    }
    let insert = db
        .prepare_cached(
            "INSERT INTO deliveries (id, notification_id, org_id, channel, target, status,
                                     next_attempt_ms, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
        )
        .await?;
    for (channel, target) in targets {
        db.execute(
            &insert,
            &[
                &DeliveryId::new().to_string(),
                &notification,
                &org.to_string(),
                &channel.as_str(),
                &target,
                &now_ms,
            ],
        )
        .await?;
    }
    Ok(true)
}

/// Claims up to `limit` due deliveries no live lease holds, as on SQLite; rows another
/// process's transaction has locked are skipped.
pub async fn claim(
    db: &impl GenericClient,
    now_ms: i64,
    lease_until_ms: i64,
    token: &str,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE deliveries SET lease_until_ms = $2, lease_token = $3
             WHERE id IN (SELECT id FROM deliveries
                          WHERE status = 'pending' AND next_attempt_ms <= $1
                            AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                          ORDER BY next_attempt_ms, id LIMIT $4
                          FOR UPDATE SKIP LOCKED)",
        )
        .await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    db.execute(&stmt, &[&now_ms, &lease_until_ms, &token, &limit])
        .await?;
    let stmt = db
        .prepare_cached(
            "SELECT d.id, d.notification_id, n.entity_id, n.event, n.facts, n.created_at_ms,
                    d.channel, d.target, w.url, w.secret, d.tries, d.attempts
             FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             LEFT JOIN webhooks w ON d.channel = 'webhook' AND w.id = d.target
                  AND w.removed_at_ms IS NULL AND w.disabled_at_ms IS NULL
             WHERE d.lease_token = $1 ORDER BY d.next_attempt_ms, d.id",
        )
        .await?;
    let rows = db.query(&stmt, &[&token]).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for r in &rows {
        let target: String = r.try_get(7)?;
        let url: Option<String> = r.try_get(8)?;
        let secret: Option<String> = r.try_get(9)?;
        let channel: &str = r.try_get(6)?;
        let target = match (known(channel, Channel::from_wire)?, url, secret) {
            (Channel::Email, _, _) => Target::Email(target),
            (Channel::Webhook, Some(url), Some(secret)) => Target::Webhook {
                id: parsed(r, 7)?,
                url,
                secret,
            },
            (Channel::Webhook, _, _) => {
                let stmt = db
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'disabled', lease_until_ms = NULL,
                                lease_token = NULL WHERE id = $1",
                    )
                    .await?;
                let id: &str = r.try_get(0)?;
                db.execute(&stmt, &[&id]).await?;
                continue;
            }
        };
        claimed.push(Claimed {
            id: parsed(r, 0)?,
            notification: parsed(r, 1)?,
            entry: parsed(r, 2)?,
            event: r.try_get(3)?,
            facts: json(r, 4)?,
            created_at_ms: r.try_get(5)?,
            target,
            tries: count(r, 10)?,
            attempts: count(r, 11)?,
            lease_token: token.to_owned(),
        });
    }
    Ok(claimed)
}

/// Records an attempt of delivery `id` under lease `token`, as on SQLite.
pub async fn record_attempt(
    db: &impl GenericClient,
    id: DeliveryId,
    token: &str,
    outcome: &Outcome,
    detail: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let next = outcome.next_attempt_ms();
    let status = outcome.delivery_status();
    let delivered_at = matches!(outcome, Outcome::Delivered).then_some(now_ms);
    let stmt = db
        .prepare_cached(
            "UPDATE deliveries SET status = $3, tries = tries + 1, attempts = attempts + 1,
                    next_attempt_ms = COALESCE($4, next_attempt_ms),
                    delivered_at_ms = COALESCE($5, delivered_at_ms),
                    lease_until_ms = NULL, lease_token = NULL
             WHERE id = $1 AND lease_token = $2
             RETURNING attempts, channel, target",
        )
        .await?;
    let Some(row) = db
        .query_opt(
            &stmt,
            &[&id.to_string(), &token, &status, &next, &delivered_at],
        )
        .await?
    else {
        return Ok(false);
    };
    let attempt: i64 = row.try_get(0)?;
    let channel: String = row.try_get(1)?;
    let target: String = row.try_get(2)?;
    let stmt = db
        .prepare_cached(
            "INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, outcome, detail)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &id.to_string(),
            &attempt,
            &now_ms,
            &outcome.as_str(),
            &detail,
        ],
    )
    .await?;
    if matches!(outcome, Outcome::Disabled) && channel == "webhook" {
        let stmt = db
            .prepare_cached(
                "UPDATE webhooks SET disabled_at_ms = $2, disabled_reason = $3
                 WHERE id = $1 AND disabled_at_ms IS NULL",
            )
            .await?;
        db.execute(&stmt, &[&target, &now_ms, &detail]).await?;
        disable_waiting(db, &target).await?;
    }
    Ok(true)
}

/// The newest deliveries of `org` with their attempts, as on SQLite.
pub async fn delivery_log(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT d.id, n.entity_id, n.event, n.facts, d.channel,
                    CASE WHEN d.channel = 'webhook'
                         THEN COALESCE((SELECT url FROM webhooks w WHERE w.id = d.target), d.target)
                         ELSE d.target END,
                    d.status, d.next_attempt_ms, d.created_at_ms
             FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             WHERE d.org_id = $1
             ORDER BY d.created_at_ms DESC, d.id COLLATE \"C\" DESC LIMIT $2",
        )
        .await?;
    let rows = db
        .query(&stmt, &[&org.to_string(), &i64::from(LOG_LIMIT)])
        .await?;
    let attempts = db
        .prepare_cached(
            "SELECT attempt, at_ms, outcome, detail FROM delivery_attempts
             WHERE delivery_id = $1 ORDER BY attempt",
        )
        .await?;
    let mut log = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: DeliveryId = parsed(r, 0)?;
        let channel: &str = r.try_get(4)?;
        let tried = db
            .query(&attempts, &[&id.to_string()])
            .await?
            .iter()
            .map(|a| {
                Ok(AttemptRow {
                    attempt: count(a, 0)?,
                    at_ms: a.try_get(1)?,
                    outcome: a.try_get(2)?,
                    detail: a.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        log.push(DeliveryRow {
            id,
            entry: parsed(r, 1)?,
            event: r.try_get(2)?,
            facts: json(r, 3)?,
            channel: known(channel, Channel::from_wire)?,
            target: r.try_get(5)?,
            status: r.try_get(6)?,
            next_attempt_ms: r.try_get(7)?,
            created_at_ms: r.try_get(8)?,
            attempts: tried,
        });
    }
    Ok(log)
}

/// Sends a failed or disabled delivery again, as on SQLite.
pub async fn resend(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    id: DeliveryId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE deliveries SET status = 'pending', tries = 0, next_attempt_ms = $3,
                    lease_until_ms = NULL, lease_token = NULL
             WHERE id = $1 AND org_id = $2 AND status IN ('failed', 'disabled')
             RETURNING channel, target",
        )
        .await?;
    let Some(row) = db
        .query_opt(&stmt, &[&id.to_string(), &org.to_string(), &now_ms])
        .await?
    else {
        return Ok(false);
    };
    let channel: String = row.try_get(0)?;
    let target: String = row.try_get(1)?;
    if channel == "webhook" {
        let stmt = db
            .prepare_cached(
                "UPDATE webhooks SET disabled_at_ms = NULL, disabled_reason = NULL
                 WHERE id = $1 AND org_id = $2 AND removed_at_ms IS NULL",
            )
            .await?;
        db.execute(&stmt, &[&target, &org.to_string()]).await?;
    }
    let action = AuditAction::NotificationResent {
        delivery: id.to_string(),
    };
    audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    Ok(true)
}

/// Forgets every notification about entity `id` with its deliveries and attempts (the
/// retention purge).
pub async fn forget_entity(db: &impl GenericClient, id: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM delivery_attempts WHERE delivery_id IN
           (SELECT d.id FROM deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE n.entity_id = $1)",
        "DELETE FROM deliveries WHERE notification_id IN
           (SELECT id FROM notifications WHERE entity_id = $1)",
        "DELETE FROM notifications WHERE entity_id = $1",
    ] {
        let stmt = db.prepare_cached(sql).await?;
        db.execute(&stmt, &[&id]).await?;
    }
    Ok(())
}
