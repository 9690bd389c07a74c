//! The audit log on PostgreSQL: records appended to their organisation's hash chain exactly as on
//! SQLite ([`crate::store::audit`]; the same canonical content and hash, so a chain verifies the
//! same on both). Appends run in the group transaction, which the processes take one at a time,
//! so two processes never append under the same chain number.

use super::ops::parsed;
use crate::store::StoreError;
use crate::store::audit::{
    Actor, AuditAction, AuditFilter, AuditPage, AuditRetentionOutOfBounds, AuditRow,
    COMMAND_LINE_ACTOR, ChainCheck, ChainHead, Content, Damage, GENESIS_HASH,
    MAX_AUDIT_RETENTION_DAYS, MIN_AUDIT_RETENTION_DAYS, SERVER_ACTOR, Stored, anchor_of,
    record_hash,
};
use deadpool_postgres::GenericClient;
use std::collections::BTreeMap;
use vaka_shared::{MemberId, OrgId};

/// `(actor_id, actor_name)` as stored: a member's name at the time is kept with the record.
async fn resolve(
    db: &impl GenericClient,
    actor: Actor,
) -> Result<(Option<String>, String), StoreError> {
    Ok(match actor {
        Actor::Member(id) => {
            let name = db
                .query_opt(
                    "SELECT display_name FROM members WHERE id = $1",
                    &[&id.to_string()],
                )
                .await?
                .map(|r| r.try_get::<_, String>(0))
                .transpose()?;
            (Some(id.to_string()), name.unwrap_or_default())
        }
        Actor::Server => (None, SERVER_ACTOR.to_owned()),
        Actor::CommandLine => (None, COMMAND_LINE_ACTOR.to_owned()),
        Actor::Nobody => (None, String::new()),
    })
}

/// Appends `action` by `actor` to `org`'s chain (`None`: the chain of unknown sign-in names), in
/// the caller's write job. Returns the record's number in its chain.
pub async fn record(
    db: &impl GenericClient,
    org: Option<OrgId>,
    actor: Actor,
    action: &AuditAction,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let org = org.map(|o| o.to_string()).unwrap_or_default();
    let (actor_id, actor_name) = resolve(db, actor).await?;
    let (code, details) = action.code_and_details()?;
    let (last, prev_hash) = match db
        .query_opt(
            "SELECT chain_seq, hash FROM audit_log WHERE org_id = $1
             ORDER BY chain_seq DESC LIMIT 1",
            &[&org],
        )
        .await?
    {
        Some(row) => (row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let chain_seq = last + 1;
    let hash = record_hash(
        &prev_hash,
        &Content {
            org_id: &org,
            chain_seq: chain_seq as u64,
            at_ms: now_ms,
            actor_id: actor_id.as_deref(),
            actor_name: &actor_name,
            action: &code,
            details: &details,
        },
    )?;
    db.execute(
        "INSERT INTO audit_log (org_id, chain_seq, at_ms, actor_id, actor_name, action, details,
                                prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &org,
            &chain_seq,
            &now_ms,
            &actor_id,
            &actor_name,
            &code,
            &details,
            &prev_hash,
            &hash,
        ],
    )
    .await?;
    Ok(chain_seq as u64)
}

/// The organisation of `member`, if there is such a member.
pub async fn org_of_member(
    db: &impl GenericClient,
    member: MemberId,
) -> Result<Option<OrgId>, StoreError> {
    db.query_opt(
        "SELECT org_id FROM members WHERE id = $1",
        &[&member.to_string()],
    )
    .await?
    .map(|row| parsed(&row, 0))
    .transpose()
}

/// Prunes `org`'s chain (`None`: the chain of unknown sign-in names) of records older than its
/// audit retention, as [`crate::store::audit::prune`]: first an anchor naming the last record to
/// go and its hash, then the records through it. Returns how many went.
pub async fn prune(
    db: &impl GenericClient,
    org: Option<OrgId>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let days = match org {
        Some(org) => db
            .query_one(
                "SELECT audit_retention_days FROM orgs WHERE id = $1",
                &[&org.to_string()],
            )
            .await?
            .try_get::<_, i64>(0)?,
        None => i64::from(crate::store::audit::DEFAULT_AUDIT_RETENTION_DAYS),
    };
    let key = org.map(|o| o.to_string()).unwrap_or_default();
    let before_ms = now_ms.saturating_sub(days.saturating_mul(DAY_MS));
    let Some(last) = db
        .query_opt(
            "SELECT chain_seq, hash FROM audit_log WHERE org_id = $1 AND at_ms < $2
             ORDER BY chain_seq DESC LIMIT 1",
            &[&key, &before_ms],
        )
        .await?
    else {
        return Ok(0);
    };
    let through_seq: i64 = last.try_get(0)?;
    let through_hash: String = last.try_get(1)?;
    let records: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM audit_log WHERE org_id = $1 AND chain_seq <= $2",
            &[&key, &through_seq],
        )
        .await?
        .try_get(0)?;
    let anchor = AuditAction::AuditPruned {
        before_ms,
        through_seq: through_seq as u64,
        through_hash,
        records: records as u64,
    };
    record(db, org, Actor::Server, &anchor, now_ms).await?;
    db.execute(
        "DELETE FROM audit_log WHERE org_id = $1 AND chain_seq <= $2",
        &[&key, &through_seq],
    )
    .await?;
    Ok(records as u64)
}

const FILTERED: &str = "FROM audit_log WHERE org_id = $1 AND ($2::text IS NULL OR action = $2)
     AND ($3::text IS NULL OR actor_id = $3) AND ($4::bigint IS NULL OR at_ms >= $4)
     AND ($5::bigint IS NULL OR at_ms < $5)";

/// `org`'s records matching `filter`, newest first, `limit` of them after skipping `offset`.
pub async fn list(
    db: &impl GenericClient,
    org: OrgId,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!(
        "SELECT chain_seq, at_ms, actor_id, actor_name, action, details, hash {FILTERED}
         ORDER BY chain_seq DESC LIMIT $6 OFFSET $7"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    db.query(
        &sql,
        &[
            &org.to_string(),
            &filter.action,
            &filter.member,
            &filter.from_ms,
            &filter.until_ms,
            &limit,
            &offset,
        ],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(AuditRow {
            chain_seq: r.try_get::<_, i64>(0)? as u64,
            at_ms: r.try_get(1)?,
            actor_id: super::ops::parsed_opt(r, 2)?,
            actor_name: r.try_get(3)?,
            action: r.try_get(4)?,
            details: r.try_get(5)?,
            hash: r.try_get(6)?,
        })
    })
    .collect()
}

/// How many of `org`'s records match `filter`.
pub async fn count(
    db: &impl GenericClient,
    org: OrgId,
    filter: &AuditFilter,
) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) {FILTERED}");
    let n: i64 = db
        .query_one(
            &sql,
            &[
                &org.to_string(),
                &filter.action,
                &filter.member,
                &filter.from_ms,
                &filter.until_ms,
            ],
        )
        .await?
        .try_get(0)?;
    Ok(n as u64)
}

/// The members who appear as actors in `org`'s chain: `(id, name at their newest record)`, by
/// name (compared byte by byte, as SQLite does) and id.
pub async fn actors(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<(String, String)>, StoreError> {
    db.query(
        "SELECT actor_id, actor_name FROM audit_log a
         WHERE org_id = $1 AND actor_id IS NOT NULL
           AND chain_seq = (SELECT MAX(chain_seq) FROM audit_log b
                            WHERE b.org_id = a.org_id AND b.actor_id = a.actor_id)
         ORDER BY actor_name COLLATE \"C\", actor_id",
        &[&org.to_string()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// `org`'s audit retention, in days.
pub async fn retention_days(db: &impl GenericClient, org: OrgId) -> Result<u32, StoreError> {
    let days: i64 = db
        .query_one(
            "SELECT audit_retention_days FROM orgs WHERE id = $1",
            &[&org.to_string()],
        )
        .await?
        .try_get(0)?;
    u32::try_from(days).map_err(|_| StoreError::Damaged(format!("audit retention days {days}")))
}

/// `org`'s members' current names by id (as `crate::store::choices::member_names`).
async fn member_names(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<BTreeMap<String, String>, StoreError> {
    db.query(
        "SELECT id, display_name FROM members WHERE org_id = $1",
        &[&org.to_string()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// A page of `org`'s records matching `filter`, with the count, the members' names and the
/// retention (see [`crate::store::audit::page`]).
pub async fn page(
    db: &impl GenericClient,
    org: OrgId,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<AuditPage, StoreError> {
    Ok(AuditPage {
        total: count(db, org, filter).await?,
        rows: list(db, org, filter, offset, limit).await?,
        names: member_names(db, org).await?,
        kept_days: retention_days(db, org).await?,
    })
}

/// Sets `org`'s audit retention and records the change, by `actor`.
pub async fn set_retention_days(
    db: &impl GenericClient,
    org: OrgId,
    actor: Actor,
    days: u32,
    now_ms: i64,
) -> Result<Result<(), AuditRetentionOutOfBounds>, StoreError> {
    if !(MIN_AUDIT_RETENTION_DAYS..=MAX_AUDIT_RETENTION_DAYS).contains(&days) {
        return Ok(Err(AuditRetentionOutOfBounds));
    }
    let before: i64 = db
        .query_one(
            "SELECT audit_retention_days FROM orgs WHERE id = $1",
            &[&org.to_string()],
        )
        .await?
        .try_get(0)?;
    if before != i64::from(days) {
        db.execute(
            "UPDATE orgs SET audit_retention_days = $2 WHERE id = $1",
            &[&org.to_string(), &i64::from(days)],
        )
        .await?;
        let change = AuditAction::AuditRetentionChanged {
            from_days: u32::try_from(before).unwrap_or(u32::MAX),
            to_days: days,
        };
        record(db, Some(org), actor, &change, now_ms).await?;
    }
    Ok(Ok(()))
}

/// Checks every chain (see [`ChainCheck`]): each chain's head, or the first damaged record.
pub async fn verify(db: &impl GenericClient) -> Result<Result<Vec<ChainHead>, Damage>, StoreError> {
    let orgs: Vec<String> = db
        .query("SELECT DISTINCT org_id FROM audit_log ORDER BY org_id", &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut heads = Vec::with_capacity(orgs.len());
    for org in orgs {
        let anchors = db
            .query(
                "SELECT details FROM audit_log WHERE org_id = $1 AND action = 'audit_pruned'",
                &[&org],
            )
            .await?
            .iter()
            .filter_map(|r| r.try_get::<_, &str>(0).ok().and_then(anchor_of))
            .collect();
        let mut check = ChainCheck::new(&org, anchors);
        for r in db
            .query(
                "SELECT id, chain_seq, at_ms, actor_id, actor_name, action, details, prev_hash,
                        hash
                 FROM audit_log WHERE org_id = $1 ORDER BY chain_seq, id",
                &[&org],
            )
            .await?
        {
            let stored = Stored {
                row_id: r.try_get(0)?,
                chain_seq: r.try_get::<_, i64>(1)? as u64,
                at_ms: r.try_get(2)?,
                actor_id: r.try_get(3)?,
                actor_name: r.try_get(4)?,
                action: r.try_get(5)?,
                details: r.try_get(6)?,
                prev_hash: r.try_get(7)?,
                hash: r.try_get(8)?,
            };
            if let Err(damage) = check.next(stored)? {
                return Ok(Err(damage));
            }
        }
        heads.push(check.head());
    }
    Ok(Ok(heads))
}
