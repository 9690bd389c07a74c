//! Retention: an organisation's entries older than its retention period are purged with every
//! trace of them (entity state, every op, comments, track segments, conflicts, refused ops, the
//! dashboard projection, photos only they refer to), and a purge removal in the pull stream tells
//! every phone to do the same. A held entry (`retention_hold`) waits until it is released.
//!
//! Removals take their sequence from the op log's own (`sqlite_sequence` of `ops`), so a device
//! applies ops and removals in one order and its cursor covers both.

use crate::store::accounts::parse_id;
use crate::store::audit::{self, Actor, AuditAction};
use crate::store::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use vaka_shared::sync::RemovalKind;
use vaka_shared::{EntityId, MemberId, OrgId};

/// The shortest retention period an organisation may set, in days.
pub const MIN_RETENTION_DAYS: u32 = 30;
/// The longest retention period an organisation may set, in days (five years).
pub const MAX_RETENTION_DAYS: u32 = 1826;
/// The retention period of a new organisation, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;
/// Most entries named in one purge removal.
pub const ENTRIES_PER_REMOVAL: usize = 500;
/// Most entries purged in one write job (a larger backlog is purged in several).
pub const ENTRIES_PER_JOB: usize = 2000;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A retention period outside the allowed bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the retention period must be {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days")]
pub struct RetentionOutOfBounds;

/// Sets `org`'s retention period.
pub fn set_retention_days(
    conn: &Connection,
    org: OrgId,
    days: u32,
) -> Result<Result<(), RetentionOutOfBounds>, StoreError> {
    if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        return Ok(Err(RetentionOutOfBounds));
    }
    conn.execute(
        "UPDATE orgs SET retention_days = ?2 WHERE id = ?1",
        params![org.to_string(), days],
    )?;
    Ok(Ok(()))
}

/// `org`'s retention period, in days.
pub fn retention_days(conn: &Connection, org: OrgId) -> Result<u32, StoreError> {
    Ok(conn.query_row(
        "SELECT retention_days FROM orgs WHERE id = ?1",
        [org.to_string()],
        |r| r.get(0),
    )?)
}

/// The time before which `org`'s entries are purged at `now_ms`, in Unix milliseconds.
pub fn cutoff_ms(conn: &Connection, org: OrgId, now_ms: i64) -> Result<i64, StoreError> {
    Ok(now_ms - i64::from(retention_days(conn, org)?) * DAY_MS)
}

/// What a purge of one organisation removes (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeSummary {
    /// The organisation.
    pub org_id: OrgId,
    /// Its name.
    pub org_name: String,
    /// Its retention period, in days.
    pub retention_days: u32,
    /// Entries that happened before this time go, in Unix milliseconds.
    pub cutoff_ms: i64,
    /// Entries removed (or to be removed), by kind (`patrol`, `incident`, `observation`).
    pub by_kind: BTreeMap<String, u64>,
    /// Entries past the period kept because a coordinator holds them.
    pub held: u64,
    /// Comments and track segments removed with their entries.
    pub children: u64,
    /// Photos removed.
    pub photos: u64,
}

impl PurgeSummary {
    /// Entries removed, of every kind.
    pub fn entries(&self) -> u64 {
        self.by_kind.values().sum()
    }
}

/// The organisations, oldest first.
pub fn orgs(conn: &Connection) -> Result<Vec<OrgId>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM orgs ORDER BY created_at_ms, id")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    ids.iter().map(|id| parse_id(id)).collect()
}

/// An entry (or a message) due for the purge: `(id, kind, scope_member, audience)`.
type Due = (String, String, String, Option<String>);

/// Entries of `org` past the period and not held, and messages sent before it (when the server
/// took the op that created them): `(id, kind, scope_member, audience)`, oldest first. A
/// message's removal goes to the phones its ops went to (its `audience`).
fn due(conn: &Connection, org: &str, cutoff_ms: i64, limit: usize) -> Result<Vec<Due>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, scope_member, audience FROM (
             SELECT x.id, x.kind, e.scope_member, NULL AS audience, x.occurred_at_ms AS at_ms
             FROM entries x JOIN entities e ON e.id = x.id
             WHERE x.org_id = ?1 AND x.occurred_at_ms < ?2
               AND json_extract(e.state, '$.retention_hold.v') IS NULL
             UNION ALL
             SELECT e.id, e.kind, e.scope_member, o.audience, o.received_at_ms AS at_ms
             FROM entities e JOIN ops o ON o.seq = e.created_seq
             WHERE e.org_id = ?1 AND e.kind = 'message' AND o.received_at_ms < ?2)
         ORDER BY at_ms, id LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![org, cutoff_ms, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn summary_head(conn: &Connection, org: OrgId, now_ms: i64) -> Result<PurgeSummary, StoreError> {
    let (name, days): (String, u32) = conn.query_row(
        "SELECT name, retention_days FROM orgs WHERE id = ?1",
        [org.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let cutoff = now_ms - i64::from(days) * DAY_MS;
    let held: u64 = conn.query_row(
        "SELECT COUNT(*) FROM entries x JOIN entities e ON e.id = x.id
         WHERE x.org_id = ?1 AND x.occurred_at_ms < ?2
           AND json_extract(e.state, '$.retention_hold.v') IS NOT NULL",
        params![org.to_string(), cutoff],
        |r| r.get(0),
    )?;
    Ok(PurgeSummary {
        org_id: org,
        org_name: name,
        retention_days: days,
        cutoff_ms: cutoff,
        held,
        ..PurgeSummary::default()
    })
}

/// What a purge of `org` at `now_ms` would remove, changing nothing.
pub fn dry_run(conn: &Connection, org: OrgId, now_ms: i64) -> Result<PurgeSummary, StoreError> {
    let mut summary = summary_head(conn, org, now_ms)?;
    let org_text = org.to_string();
    let entries = due(conn, &org_text, summary.cutoff_ms, usize::MAX >> 1)?;
    for (id, kind, _, _) in &entries {
        *summary.by_kind.entry(kind.clone()).or_default() += 1;
        summary.children += children_of(conn, id)?.len() as u64;
    }
    summary.photos = orphaned_photos(
        conn,
        &org_text,
        &entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
    )?
    .len() as u64;
    Ok(summary)
}

/// Purges up to [`ENTRIES_PER_JOB`] of `org`'s entries past the period, in the caller's write
/// transaction; call again while the summary says entries went. Records the run and a purge
/// removal per scope for the phones.
pub fn purge(conn: &Connection, org: OrgId, now_ms: i64) -> Result<PurgeSummary, StoreError> {
    let mut summary = summary_head(conn, org, now_ms)?;
    let org_text = org.to_string();
    let entries = due(conn, &org_text, summary.cutoff_ms, ENTRIES_PER_JOB)?;
    if entries.is_empty() {
        return Ok(summary);
    }
    let ids: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let photos = orphaned_photos(conn, &org_text, &ids)?;
    let mut doomed = Vec::with_capacity(ids.len());
    for (id, kind, _, _) in &entries {
        *summary.by_kind.entry(kind.clone()).or_default() += 1;
        doomed.push(id.clone());
        let children = children_of(conn, id)?;
        summary.children += children.len() as u64;
        doomed.extend(children);
    }
    for id in &doomed {
        forget_entity(conn, &org_text, id, now_ms)?;
    }
    for sha in &photos {
        conn.prepare_cached("DELETE FROM blob_chunks WHERE org_id = ?1 AND sha256 = ?2")?
            .execute(params![org_text, sha])?;
        conn.prepare_cached("DELETE FROM blobs WHERE org_id = ?1 AND sha256 = ?2")?
            .execute(params![org_text, sha])?;
    }
    summary.photos = photos.len() as u64;
    // One removal per scope, so a volunteer who sees only their own entries hears of theirs,
    // and per audience, so a message's removal reaches the phones it reached.
    let mut by_scope: BTreeMap<(&str, Option<&str>), Vec<EntityId>> = BTreeMap::new();
    for (id, _, scope, audience) in &entries {
        by_scope
            .entry((scope, audience.as_deref()))
            .or_default()
            .push(parse_id(id)?);
    }
    for ((scope, audience), ids) in by_scope {
        for chunk in ids.chunks(ENTRIES_PER_REMOVAL) {
            record_removal(
                conn,
                &org_text,
                scope,
                audience,
                &RemovalKind::Purge {
                    entries: chunk.to_vec(),
                },
                now_ms,
            )?;
        }
    }
    conn.execute(
        "INSERT INTO purge_runs (org_id, at_ms, cutoff_ms, entries) VALUES (?1, ?2, ?3, ?4)",
        params![
            org_text,
            now_ms,
            summary.cutoff_ms,
            summary.entries() as i64
        ],
    )?;
    let run = audit::AuditAction::EntriesPurged {
        cutoff_ms: summary.cutoff_ms,
        entries: summary.entries(),
        children: summary.children,
        photos: summary.photos,
    };
    audit::record(conn, Some(org), audit::Actor::Server, &run, now_ms)?;
    Ok(summary)
}

/// The comments on an entry and the track segments of a patrol.
fn children_of(conn: &Connection, entry: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM entities
         WHERE (kind = 'comment' AND json_extract(state, '$.entry.v.id') = ?1)
            OR (kind = 'track_segment' AND json_extract(state, '$.patrol_id.v') = ?1)
            OR (kind = 'message_receipt' AND json_extract(state, '$.message_id.v') = ?1)",
    )?;
    let ids = stmt
        .query_map([entry], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The photos of `entries` that no other entity of `org` refers to.
fn orphaned_photos(
    conn: &Connection,
    org: &str,
    entries: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut photos = std::collections::BTreeSet::new();
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(a.value, '$.sha256') FROM entities e, json_each(e.state, '$.attachments.v') a
         WHERE e.id = ?1",
    )?;
    for id in entries {
        for sha in stmt.query_map([id], |r| r.get::<_, Option<String>>(0))? {
            if let Some(sha) = sha? {
                photos.insert(sha);
            }
        }
    }
    let doomed: std::collections::BTreeSet<&str> = entries.iter().map(String::as_str).collect();
    let mut users = conn.prepare_cached(
        "SELECT e.id FROM entities e, json_each(e.state, '$.attachments.v') a
         WHERE e.org_id = ?1 AND json_extract(a.value, '$.sha256') = ?2",
    )?;
    let mut orphaned = Vec::new();
    for sha in photos {
        let used_elsewhere = users
            .query_map(params![org, sha], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|id| !doomed.contains(id.as_str()));
        if !used_elsewhere {
            orphaned.push(sha);
        }
    }
    Ok(orphaned)
}

/// Removes every row that holds anything of `entity`, and remembers only its id.
fn forget_entity(
    conn: &Connection,
    org: &str,
    entity: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM ops WHERE entity_id = ?1",
        "DELETE FROM entities WHERE id = ?1",
        "DELETE FROM entries WHERE id = ?1",
        "DELETE FROM conflicts WHERE entity_id = ?1",
        "DELETE FROM redactions WHERE entity_id = ?1",
        "DELETE FROM rejected_ops WHERE json_extract(op, '$.entity_id') = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([entity])?;
    }
    crate::store::notify::forget_entity(conn, entity)?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO purged_entities (entity_id, org_id, purged_at_ms) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![entity, org, now_ms])?;
    Ok(())
}

/// Whether `entity` was purged.
pub fn was_purged(conn: &Connection, entity: EntityId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM purged_entities WHERE entity_id = ?1")?
        .query_row([entity.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records a removal for the pull stream under the next server sequence; returns it.
pub fn record_removal(
    conn: &Connection,
    org: &str,
    scope_member: &str,
    audience: Option<&str>,
    what: &RemovalKind,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let seq = next_seq(conn)?;
    conn.prepare_cached(
        "INSERT INTO removals (seq, org_id, scope_member, record, made_at_ms, audience)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        seq,
        org,
        scope_member,
        serde_json::to_string(what)?,
        now_ms,
        audience
    ])?;
    Ok(seq)
}

/// Takes the next server sequence from the op log's counter, so the next op comes after it.
fn next_seq(conn: &Connection) -> Result<u64, StoreError> {
    let held: Option<u64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'ops'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let removals: u64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM removals", [], |r| {
        r.get(0)
    })?;
    let seq = held.unwrap_or(0).max(removals) + 1;
    if held.is_some() {
        conn.execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'ops'",
            [seq],
        )?;
    } else {
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('ops', ?1)",
            [seq],
        )?;
    }
    Ok(seq)
}

/// The newest purge run of `org` and its cut-off: `(at_ms, cutoff_ms, entries)`.
pub fn last_purge(conn: &Connection, org: OrgId) -> Result<Option<(i64, i64, u64)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT at_ms, cutoff_ms,
                    (SELECT COALESCE(SUM(entries), 0) FROM purge_runs WHERE org_id = ?1)
             FROM purge_runs WHERE org_id = ?1 AND entries > 0 ORDER BY at_ms DESC, id DESC LIMIT 1",
            [org.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Removal records older than the retention period are dropped: a phone that has not synced for
/// that long purges by itself by the same rule.
pub fn drop_old_removals(conn: &Connection, org: OrgId, now_ms: i64) -> Result<(), StoreError> {
    let cutoff = cutoff_ms(conn, org, now_ms)?;
    conn.execute(
        "DELETE FROM removals WHERE org_id = ?1 AND made_at_ms < ?2 AND record LIKE '{\"purge\"%'",
        params![org.to_string(), cutoff],
    )?;
    Ok(())
}

/// Purges every organisation's entries past its period (in as many write jobs as it takes), drops
/// purge removals older than the period, prunes audit records past the audit retention (see
/// `audit::prune`), and checkpoints the log. Returns what went, per
/// organisation.
pub async fn purge_all(
    store: &crate::store::SqliteStore,
    now_ms: i64,
) -> Result<Vec<PurgeSummary>, StoreError> {
    let orgs = store.read(orgs).await?;
    let mut summaries = Vec::with_capacity(orgs.len());
    let mut removed_any = false;
    for org in orgs {
        let mut total = store.write(move |conn| purge(conn, org, now_ms)).await?;
        let mut last = total.entries();
        while last == ENTRIES_PER_JOB as u64 {
            let more = store.write(move |conn| purge(conn, org, now_ms)).await?;
            last = more.entries();
            for (kind, n) in more.by_kind {
                *total.by_kind.entry(kind).or_default() += n;
            }
            total.children += more.children;
            total.photos += more.photos;
        }
        store
            .write(move |conn| drop_old_removals(conn, org, now_ms))
            .await?;
        let pruned = store
            .write(move |conn| audit::prune(conn, Some(org), now_ms))
            .await?;
        removed_any |= total.entries() > 0 || pruned > 0;
        summaries.push(total);
    }
    // The chain of failed sign-ins under names no member has.
    removed_any |= store
        .write(move |conn| audit::prune(conn, None, now_ms))
        .await?
        > 0;
    if removed_any {
        store.checkpoint().await?;
    }
    Ok(summaries)
}

/// The settings page's view of an organisation's retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOverview {
    /// The retention period, in days.
    pub days: u32,
    /// The newest purge run that removed anything: `(at_ms, cutoff_ms, entries ever purged)`
    /// (see [`last_purge`]).
    pub last_purge: Option<(i64, i64, u64)>,
    /// What a purge would remove now.
    pub due: PurgeSummary,
}

/// `org`'s retention period, its last purge and what is due now, in one read.
pub fn overview(
    conn: &Connection,
    org: OrgId,
    now_ms: i64,
) -> Result<RetentionOverview, StoreError> {
    Ok(RetentionOverview {
        days: retention_days(conn, org)?,
        last_purge: last_purge(conn, org)?,
        due: dry_run(conn, org, now_ms)?,
    })
}

/// Sets `org`'s retention period by `by`; a change is recorded in the audit log in the same
/// write job.
pub fn set_retention_days_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    days: u32,
    now_ms: i64,
) -> Result<Result<(), RetentionOutOfBounds>, StoreError> {
    let before = retention_days(conn, org)?;
    let set = set_retention_days(conn, org, days)?;
    if set.is_ok() && before != days {
        let changed = AuditAction::RetentionChanged {
            from_days: before,
            to_days: days,
        };
        audit::record(conn, Some(org), Actor::Member(by), &changed, now_ms)?;
    }
    Ok(set)
}

/// The settings page's retention on either backend.
impl Store {
    /// `org`'s retention period, its last purge and what is due now (see [`overview`]).
    pub async fn retention_overview(
        &self,
        org: OrgId,
        now_ms: i64,
    ) -> Result<RetentionOverview, StoreError> {
        on_backend!(self,
            s => s.read(move |c| overview(c, org, now_ms)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::retention::overview(db, org, now_ms).await
            })).await,
        )
    }

    /// Sets `org`'s retention period by `by`, recorded (see [`set_retention_days_by`]). Purging
    /// what the new period leaves behind is the caller's next step ([`Store::purge_all`]).
    pub async fn set_retention_days_by(
        &self,
        org: OrgId,
        by: MemberId,
        days: u32,
        now_ms: i64,
    ) -> Result<Result<(), RetentionOutOfBounds>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| set_retention_days_by(c, org, by, days, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::retention::set_retention_days_by(tx, org, by, days, now_ms).await
            })).await,
        )
    }
}
