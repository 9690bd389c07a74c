//! Redaction on PostgreSQL, as [`crate::store::redaction`] on SQLite: the same check
//! ([`crate::store::redaction::check`]), then every write of the field at or below the current
//! one rewritten (op log, state, conflicts, refused ops), a redaction removal in the pull stream
//! under the next sequence number, and the record that it happened (never what it removed).

use super::{audit, next_seq, ops};
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::redaction::{RedactionRefused, RedactionRow, check};
use deadpool_postgres::{GenericClient, Transaction};
use serde_json::{Map, Value};
use vaka_shared::merge::{EntityState, redact_fields};
use vaka_shared::op::EntityKind;
use vaka_shared::sync::RemovalKind;
use vaka_shared::{EntityId, Hlc, MemberId, OrgId};

/// Records a removal for the pull stream under the next server sequence; returns it.
pub async fn record_removal(
    tx: &Transaction<'_>,
    org: OrgId,
    scope_member: &str,
    audience: Option<&str>,
    what: &RemovalKind,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let seq = next_seq(tx).await?;
    tx.execute(
        "INSERT INTO removals (seq, org_id, scope_member, record, made_at_ms, audience)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &(seq as i64),
            &org.to_string(),
            &scope_member,
            &serde_json::to_string(what)?,
            &now_ms,
            &audience,
        ],
    )
    .await?;
    Ok(seq)
}

/// Redacts `field` of `entity` as `by` and records that it was done (never what it removed)
/// in the audit log, in the caller's write job (see [`crate::store::redaction::redact_by`]).
pub async fn redact_by(
    tx: &Transaction<'_>,
    org: OrgId,
    by: MemberId,
    entity: EntityId,
    field: &str,
    replacement: Value,
    now_ms: i64,
) -> Result<Result<u64, RedactionRefused>, StoreError> {
    let done = redact(tx, org, by, entity, field, replacement, now_ms).await?;
    if done.is_ok() {
        let redacted = AuditAction::TextRedacted {
            entry: entity,
            field: field.to_owned(),
        };
        audit::record(tx, Some(org), Actor::Member(by), &redacted, now_ms).await?;
    }
    Ok(done)
}

/// Replaces `field` of `entity` in `org` by `replacement`, by `by`; the removal's sequence.
pub async fn redact(
    tx: &Transaction<'_>,
    org: OrgId,
    by: MemberId,
    entity: EntityId,
    field: &str,
    replacement: Value,
    now_ms: i64,
) -> Result<Result<u64, RedactionRefused>, StoreError> {
    let id = entity.to_string();
    let Some(row) = tx
        .query_opt(
            "SELECT kind, scope_member, state FROM entities WHERE id = $1 AND org_id = $2",
            &[&id, &org.to_string()],
        )
        .await?
    else {
        return Ok(Err(RedactionRefused::NotFound));
    };
    let Some(kind) = EntityKind::from_wire(row.try_get(0)?) else {
        return Ok(Err(RedactionRefused::NotFound));
    };
    let scope_member: String = row.try_get(1)?;
    let mut state: EntityState = serde_json::from_str(row.try_get(2)?)?;
    let through = match check(kind, &state, field, &replacement, now_ms) {
        Ok(through) => through,
        Err(refused) => return Ok(Err(refused)),
    };

    state.redact(field, through, &replacement);
    tx.execute(
        "UPDATE entities SET state = $2 WHERE id = $1",
        &[&id, &serde_json::to_string(&state)?],
    )
    .await?;
    rewrite_ops(tx, &id, field, through, &replacement).await?;
    rewrite_conflicts(tx, &id, field, through, &replacement).await?;
    rewrite_rejected(tx, &id, field, through, &replacement).await?;
    if kind.is_entry() {
        ops::project(tx, entity, now_ms).await?;
    }
    let removal = RemovalKind::Redaction {
        entity_id: entity,
        field: field.to_owned(),
        through,
        value: replacement.clone(),
    };
    // A message's redaction goes to the phones its ops went to.
    let audience: Option<String> = tx
        .query_opt(
            "SELECT audience FROM ops WHERE entity_id = $1 AND audience IS NOT NULL LIMIT 1",
            &[&id],
        )
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let seq = record_removal(
        tx,
        org,
        &scope_member,
        audience.as_deref(),
        &removal,
        now_ms,
    )
    .await?;
    tx.execute(
        "INSERT INTO redactions (org_id, entity_id, field, through_hlc, value, by_member, at_ms,
                                 seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &org.to_string(),
            &id,
            &field,
            &through.to_string(),
            &replacement.to_string(),
            &by.to_string(),
            &now_ms,
            &(seq as i64),
        ],
    )
    .await?;
    Ok(Ok(seq))
}

async fn rewrite_ops(
    db: &impl GenericClient,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    for row in db
        .query(
            "SELECT seq, hlc, fields FROM ops WHERE entity_id = $1",
            &[&entity],
        )
        .await?
    {
        let seq: i64 = row.try_get(0)?;
        let hlc: Hlc = ops::parsed(&row, 1)?;
        let mut map: Map<String, Value> = serde_json::from_str(row.try_get(2)?)?;
        if redact_fields(&mut map, hlc, field, through, value) {
            db.execute(
                "UPDATE ops SET fields = $2 WHERE seq = $1",
                &[&seq, &serde_json::to_string(&map)?],
            )
            .await?;
        }
    }
    Ok(())
}

async fn rewrite_conflicts(
    db: &impl GenericClient,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    let text = value.to_string();
    for row in db
        .query(
            "SELECT id, winner_hlc, loser_hlc FROM conflicts WHERE entity_id = $1 AND field = $2",
            &[&entity, &field],
        )
        .await?
    {
        let id: i64 = row.try_get(0)?;
        if ops::parsed::<Hlc>(&row, 1)? <= through {
            db.execute(
                "UPDATE conflicts SET winner_value = $2 WHERE id = $1",
                &[&id, &text],
            )
            .await?;
        }
        if ops::parsed::<Hlc>(&row, 2)? <= through {
            db.execute(
                "UPDATE conflicts SET loser_value = $2 WHERE id = $1",
                &[&id, &text],
            )
            .await?;
        }
    }
    Ok(())
}

async fn rewrite_rejected(
    db: &impl GenericClient,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    for row in db
        .query(
            "SELECT device_id, device_seq, op FROM rejected_ops
             WHERE (op::jsonb) ->> 'entity_id' = $1",
            &[&entity],
        )
        .await?
    {
        let device: String = row.try_get(0)?;
        let device_seq: i64 = row.try_get(1)?;
        let mut op: Value = serde_json::from_str(row.try_get(2)?)?;
        let Some(hlc) = op
            .get("hlc")
            .and_then(Value::as_str)
            .and_then(|h| h.parse::<Hlc>().ok())
        else {
            continue;
        };
        let Some(fields) = op.get_mut("fields").and_then(Value::as_object_mut) else {
            continue;
        };
        if redact_fields(fields, hlc, field, through, value) {
            db.execute(
                "UPDATE rejected_ops SET op = $3 WHERE device_id = $1 AND device_seq = $2",
                &[&device, &device_seq, &op.to_string()],
            )
            .await?;
        }
    }
    Ok(())
}

/// The redactions of `entity` in `org`, oldest first (as
/// [`crate::store::redaction::redactions_of`]).
pub async fn redactions_of(
    db: &impl GenericClient,
    org: &str,
    entity: &str,
) -> Result<Vec<RedactionRow>, StoreError> {
    db.query(
        "SELECT r.field, COALESCE(m.display_name, ''), r.at_ms, r.through_hlc
         FROM redactions r LEFT JOIN members m ON m.id = r.by_member
         WHERE r.org_id = $1 AND r.entity_id = $2 ORDER BY r.id",
        &[&org, &entity],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(RedactionRow {
            field: r.try_get(0)?,
            by_name: r.try_get(1)?,
            at_ms: r.try_get(2)?,
            through: r.try_get(3)?,
        })
    })
    .collect()
}
