//! Retention on PostgreSQL, as [`crate::store::retention`] on SQLite: entries older than the
//! organisation's period are purged with every trace of them in jobs of
//! [`ENTRIES_PER_JOB`], a purge removal per scope goes into the pull stream under the next
//! sequence number, a held entry waits, and photos only they used go with them. After a purge
//! that removed anything, the touched tables are vacuumed so their space is reclaimed.

use super::redaction::record_removal;
use super::{PgStore, audit, ops::parsed};
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::retention::{
    ENTRIES_PER_JOB, ENTRIES_PER_REMOVAL, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, PurgeSummary,
    RetentionOutOfBounds, RetentionOverview,
};
use deadpool_postgres::{GenericClient, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use vaka_shared::sync::RemovalKind;
use vaka_shared::{EntityId, MemberId, OrgId};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Every organisation, oldest first.
pub async fn orgs(db: &impl GenericClient) -> Result<Vec<OrgId>, StoreError> {
    db.query("SELECT id FROM orgs ORDER BY created_at_ms, id", &[])
        .await?
        .iter()
        .map(|row| parsed(row, 0))
        .collect()
}

/// `org`'s retention period, in days.
pub async fn retention_days(db: &impl GenericClient, org: OrgId) -> Result<u32, StoreError> {
    let days: i64 = db
        .query_one(
            "SELECT retention_days FROM orgs WHERE id = $1",
            &[&org.to_string()],
        )
        .await?
        .try_get(0)?;
    u32::try_from(days).map_err(|_| StoreError::Damaged(format!("retention days {days}")))
}

/// Sets `org`'s retention period.
pub async fn set_retention_days(
    db: &impl GenericClient,
    org: OrgId,
    days: u32,
) -> Result<Result<(), RetentionOutOfBounds>, StoreError> {
    if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        return Ok(Err(RetentionOutOfBounds));
    }
    db.execute(
        "UPDATE orgs SET retention_days = $2 WHERE id = $1",
        &[&org.to_string(), &i64::from(days)],
    )
    .await?;
    Ok(Ok(()))
}

/// Sets `org`'s retention period by `by`, a change recorded in the audit log in the caller's
/// write job (see [`crate::store::retention::set_retention_days_by`]).
pub async fn set_retention_days_by(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    days: u32,
    now_ms: i64,
) -> Result<Result<(), RetentionOutOfBounds>, StoreError> {
    let before = retention_days(db, org).await?;
    let set = set_retention_days(db, org, days).await?;
    if set.is_ok() && before != days {
        let changed = AuditAction::RetentionChanged {
            from_days: before,
            to_days: days,
        };
        audit::record(db, Some(org), Actor::Member(by), &changed, now_ms).await?;
    }
    Ok(set)
}

/// The newest purge run of `org` that removed anything: `(at_ms, cutoff_ms, entries ever
/// purged)`.
pub async fn last_purge(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Option<(i64, i64, u64)>, StoreError> {
    let Some(row) = db
        .query_opt(
            "SELECT at_ms, cutoff_ms,
                    (SELECT COALESCE(SUM(entries), 0)::BIGINT FROM purge_runs WHERE org_id = $1)
             FROM purge_runs WHERE org_id = $1 AND entries > 0
             ORDER BY at_ms DESC, id DESC LIMIT 1",
            &[&org.to_string()],
        )
        .await?
    else {
        return Ok(None);
    };
    let total: i64 = row.try_get(2)?;
    Ok(Some((
        row.try_get(0)?,
        row.try_get(1)?,
        u64::try_from(total).map_err(|_| StoreError::Damaged(format!("purged {total}")))?,
    )))
}

/// `org`'s retention period, its last purge and what is due now.
pub async fn overview(
    db: &impl GenericClient,
    org: OrgId,
    now_ms: i64,
) -> Result<RetentionOverview, StoreError> {
    Ok(RetentionOverview {
        days: retention_days(db, org).await?,
        last_purge: last_purge(db, org).await?,
        due: dry_run(db, org, now_ms).await?,
    })
}

/// An entry (or a message) due for the purge: `(id, kind, scope_member, audience)`.
type Due = (String, String, String, Option<String>);

/// Up to `limit` entries of `org` due for purging, and messages sent before the cut-off (when
/// the server took the op that created them), as on SQLite: (id, kind, scope member, audience).
async fn due(
    db: &impl GenericClient,
    org: &str,
    cutoff_ms: i64,
    limit: i64,
) -> Result<Vec<Due>, StoreError> {
    db.query(
        "SELECT id, kind, scope_member, audience FROM (
             SELECT x.id, x.kind, e.scope_member, NULL::text AS audience,
                    x.occurred_at_ms AS at_ms
             FROM entries x JOIN entities e ON e.id = x.id
             WHERE x.org_id = $1 AND x.occurred_at_ms < $2
               AND (e.state::jsonb) #>> '{retention_hold,v}' IS NULL
             UNION ALL
             SELECT e.id, e.kind, e.scope_member, o.audience, o.received_at_ms AS at_ms
             FROM entities e JOIN ops o ON o.seq = e.created_seq
             WHERE e.org_id = $1 AND e.kind = 'message' AND o.received_at_ms < $2) AS due
         ORDER BY at_ms, id COLLATE \"C\" LIMIT $3",
        &[&org, &cutoff_ms, &limit],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .collect()
}

async fn summary_head(
    db: &impl GenericClient,
    org: OrgId,
    now_ms: i64,
) -> Result<PurgeSummary, StoreError> {
    let row = db
        .query_one(
            "SELECT name, retention_days FROM orgs WHERE id = $1",
            &[&org.to_string()],
        )
        .await?;
    let days: i64 = row.try_get(1)?;
    let cutoff = now_ms - days * DAY_MS;
    let held: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM entries x JOIN entities e ON e.id = x.id
             WHERE x.org_id = $1 AND x.occurred_at_ms < $2
               AND (e.state::jsonb) #>> '{retention_hold,v}' IS NOT NULL",
            &[&org.to_string(), &cutoff],
        )
        .await?
        .try_get(0)?;
    Ok(PurgeSummary {
        org_id: org,
        org_name: row.try_get(0)?,
        retention_days: u32::try_from(days).unwrap_or(u32::MAX),
        cutoff_ms: cutoff,
        held: held as u64,
        ..PurgeSummary::default()
    })
}

/// What a purge of `org` would remove now, without removing anything.
pub async fn dry_run(
    db: &impl GenericClient,
    org: OrgId,
    now_ms: i64,
) -> Result<PurgeSummary, StoreError> {
    let mut summary = summary_head(db, org, now_ms).await?;
    let org_text = org.to_string();
    let entries = due(db, &org_text, summary.cutoff_ms, i64::MAX).await?;
    for (id, kind, _, _) in &entries {
        *summary.by_kind.entry(kind.clone()).or_default() += 1;
        summary.children += children_of(db, id).await?.len() as u64;
    }
    let ids: Vec<String> = entries.into_iter().map(|e| e.0).collect();
    summary.photos = orphaned_photos(db, &org_text, &ids).await?.len() as u64;
    Ok(summary)
}

/// Purges up to [`ENTRIES_PER_JOB`] of `org`'s entries past its period, in the caller's write
/// job, with their removal, the run's record and its audit record.
pub async fn purge(
    tx: &Transaction<'_>,
    org: OrgId,
    now_ms: i64,
) -> Result<PurgeSummary, StoreError> {
    let mut summary = summary_head(tx, org, now_ms).await?;
    let org_text = org.to_string();
    let entries = due(tx, &org_text, summary.cutoff_ms, ENTRIES_PER_JOB as i64).await?;
    if entries.is_empty() {
        return Ok(summary);
    }
    let ids: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let photos = orphaned_photos(tx, &org_text, &ids).await?;
    let mut doomed = Vec::with_capacity(ids.len());
    for (id, kind, _, _) in &entries {
        *summary.by_kind.entry(kind.clone()).or_default() += 1;
        doomed.push(id.clone());
        let children = children_of(tx, id).await?;
        summary.children += children.len() as u64;
        doomed.extend(children);
    }
    for id in &doomed {
        forget_entity(tx, &org_text, id, now_ms).await?;
    }
    for sha in &photos {
        for sql in [
            "DELETE FROM blob_chunks WHERE org_id = $1 AND sha256 = $2",
            "DELETE FROM blobs WHERE org_id = $1 AND sha256 = $2",
        ] {
            tx.execute(sql, &[&org_text, sha]).await?;
        }
    }
    summary.photos = photos.len() as u64;
    // One removal per scope, so a volunteer who sees only their own entries hears of theirs,
    // and per audience, so a message's removal reaches the phones it reached.
    let mut by_scope: BTreeMap<(&str, Option<&str>), Vec<EntityId>> = BTreeMap::new();
    for (id, _, scope, audience) in &entries {
        let id: EntityId = id
            .parse()
            .map_err(|_| StoreError::Damaged(format!("entry id {id:?}")))?;
        by_scope
            .entry((scope, audience.as_deref()))
            .or_default()
            .push(id);
    }
    for ((scope, audience), ids) in by_scope {
        for chunk in ids.chunks(ENTRIES_PER_REMOVAL) {
            let removal = RemovalKind::Purge {
                entries: chunk.to_vec(),
            };
            record_removal(tx, org, scope, audience, &removal, now_ms).await?;
        }
    }
    tx.execute(
        "INSERT INTO purge_runs (org_id, at_ms, cutoff_ms, entries) VALUES ($1, $2, $3, $4)",
        &[
            &org_text,
            &now_ms,
            &summary.cutoff_ms,
            &(summary.entries() as i64),
        ],
    )
    .await?;
    let run = AuditAction::EntriesPurged {
        cutoff_ms: summary.cutoff_ms,
        entries: summary.entries(),
        children: summary.children,
        photos: summary.photos,
    };
    audit::record(tx, Some(org), Actor::Server, &run, now_ms).await?;
    Ok(summary)
}

/// The comments and track segments of `entry`.
async fn children_of(db: &impl GenericClient, entry: &str) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT id FROM entities
         WHERE (kind = 'comment' AND (state::jsonb) #>> '{entry,v,id}' = $1)
            OR (kind = 'track_segment' AND (state::jsonb) #>> '{patrol_id,v}' = $1)
            OR (kind = 'message_receipt' AND (state::jsonb) #>> '{message_id,v}' = $1)",
        &[&entry],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// The photos of `entries` that no other entity of `org` refers to.
async fn orphaned_photos(
    db: &impl GenericClient,
    org: &str,
    entries: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut photos = BTreeSet::new();
    for id in entries {
        for row in db
            .query(
                "SELECT a ->> 'sha256' FROM entities e,
                        jsonb_array_elements(CASE jsonb_typeof((e.state::jsonb) #> '{attachments,v}')
                            WHEN 'array' THEN (e.state::jsonb) #> '{attachments,v}'
                            ELSE '[]'::jsonb END) a
                 WHERE e.id = $1",
                &[id],
            )
            .await?
        {
            if let Some(sha) = row.try_get::<_, Option<String>>(0)? {
                photos.insert(sha);
            }
        }
    }
    let doomed: BTreeSet<&str> = entries.iter().map(String::as_str).collect();
    let mut orphaned = Vec::new();
    for sha in photos {
        let users = db
            .query(
                "SELECT e.id FROM entities e,
                        jsonb_array_elements(CASE jsonb_typeof((e.state::jsonb) #> '{attachments,v}')
                            WHEN 'array' THEN (e.state::jsonb) #> '{attachments,v}'
                            ELSE '[]'::jsonb END) a
                 WHERE e.org_id = $1 AND a ->> 'sha256' = $2",
                &[&org, &sha],
            )
            .await?;
        let used_elsewhere = users
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|id| !doomed.contains(id.as_str()));
        if !used_elsewhere {
            orphaned.push(sha);
        }
    }
    Ok(orphaned)
}

/// Every trace of `entity` goes; only its id stays, so a late op of it is refused.
async fn forget_entity(
    db: &impl GenericClient,
    org: &str,
    entity: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM ops WHERE entity_id = $1",
        "DELETE FROM entities WHERE id = $1",
        "DELETE FROM entries WHERE id = $1",
        "DELETE FROM conflicts WHERE entity_id = $1",
        "DELETE FROM redactions WHERE entity_id = $1",
        "DELETE FROM rejected_ops WHERE (op::jsonb) ->> 'entity_id' = $1",
    ] {
        db.execute(sql, &[&entity]).await?;
    }
    super::notify::forget_entity(db, entity).await?;
    db.execute(
        "INSERT INTO purged_entities (entity_id, org_id, purged_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (entity_id) DO NOTHING",
        &[&entity, &org, &now_ms],
    )
    .await?;
    Ok(())
}

/// Purge removals older than the period are dropped: a phone that has not synced for that long
/// purges by itself by the same rule.
async fn drop_old_removals(
    db: &impl GenericClient,
    org: OrgId,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM removals r USING orgs o
         WHERE o.id = $1 AND r.org_id = o.id
           AND r.made_at_ms < $2 - o.retention_days * 86400000
           AND r.record LIKE '{\"purge\"%'",
        &[&org.to_string(), &now_ms],
    )
    .await?;
    Ok(())
}

impl PgStore {
    /// Purges every organisation's entries past its period (in as many write jobs as it takes),
    /// drops purge removals older than the period, prunes audit records past the audit
    /// retention, and vacuums the touched tables when anything went. Returns what went, per
    /// organisation.
    pub async fn purge_all(&self, now_ms: i64) -> Result<Vec<PurgeSummary>, StoreError> {
        let orgs = self
            .read(|db| Box::pin(async move { orgs(db).await }))
            .await?;
        let mut summaries = Vec::with_capacity(orgs.len());
        let mut removed_any = false;
        for org in orgs {
            let job =
                move || self.write(move |tx| Box::pin(async move { purge(tx, org, now_ms).await }));
            let mut total = job().await?;
            let mut last = total.entries();
            while last == ENTRIES_PER_JOB as u64 {
                let more = job().await?;
                last = more.entries();
                for (kind, n) in more.by_kind {
                    *total.by_kind.entry(kind).or_default() += n;
                }
                total.children += more.children;
                total.photos += more.photos;
            }
            let pruned = self
                .write(move |tx| {
                    Box::pin(async move {
                        drop_old_removals(tx, org, now_ms).await?;
                        audit::prune(tx, Some(org), now_ms).await
                    })
                })
                .await?;
            removed_any |= total.entries() > 0 || pruned > 0;
            summaries.push(total);
        }
        // The chain of failed sign-ins under names no member has.
        removed_any |= self
            .write(move |tx| Box::pin(async move { audit::prune(tx, None, now_ms).await }))
            .await?
            > 0;
        if removed_any {
            self.vacuum().await?;
        }
        Ok(summaries)
    }

    /// Vacuums the tables a purge or a redaction removes text from, so the space of the removed
    /// rows is reclaimed and reused (outside a transaction, on a pooled connection).
    pub async fn vacuum(&self) -> Result<(), StoreError> {
        self.read(|db| {
            Box::pin(async move {
                db.batch_execute(
                    "VACUUM ops, entities, entries, conflicts, redactions, rejected_ops,
                            blobs, blob_chunks, audit_log",
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// What a purge would remove now, per organisation, without removing anything.
    pub async fn purge_dry_run(&self, now_ms: i64) -> Result<Vec<PurgeSummary>, StoreError> {
        self.read(move |db| {
            Box::pin(async move {
                let mut summaries = Vec::new();
                for org in orgs(db).await? {
                    summaries.push(dry_run(db, org, now_ms).await?);
                }
                Ok(summaries)
            })
        })
        .await
    }
}
