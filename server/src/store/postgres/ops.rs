//! The op log, the merged entities, their projection and the pull page on PostgreSQL: the same
//! statements as [`crate::store::ops`] on SQLite, typed in and out the same way.

use super::next_seq;
use crate::store::StoreError;
use crate::store::accounts::DeviceCaller;
use crate::store::ops::{RawPullPage, RawServerOp, StoredEntity};
use crate::sync::rules::{ConflictChange, EntityFacts, Held, HeldOp, OpenConflict, Rejection};
use deadpool_postgres::GenericClient;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::str::FromStr;
use tokio_postgres::Row;
use vaka_shared::merge::{EntityState, redact_fields};
use vaka_shared::op::{EntityKind, Op};
use vaka_shared::sync::{RejectCode, Removal, RemovalKind};
use vaka_shared::{DeviceId, EntityId, Hlc, MemberId, OrgId};

/// Column `index` of `row`, parsed with [`FromStr`] (ids, clocks).
pub fn parsed<T: FromStr>(row: &Row, index: usize) -> Result<T, StoreError> {
    let text: &str = row.try_get(index)?;
    text.parse()
        .map_err(|_| StoreError::Damaged(format!("column {index}: {text:?}")))
}

/// Column `index` of `row`, or `None` when it is NULL, parsed with [`FromStr`].
pub fn parsed_opt<T: FromStr>(row: &Row, index: usize) -> Result<Option<T>, StoreError> {
    let text: Option<&str> = row.try_get(index)?;
    text.map(|text| {
        text.parse()
            .map_err(|_| StoreError::Damaged(format!("column {index}: {text:?}")))
    })
    .transpose()
}

fn kind(row: &Row, index: usize) -> Result<EntityKind, StoreError> {
    let text: &str = row.try_get(index)?;
    crate::store::row::known(text, EntityKind::from_wire)
}

fn u64_of(row: &Row, index: usize) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(index)?;
    u64::try_from(value).map_err(|_| StoreError::Damaged(format!("column {index}: {value}")))
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The highest `device_seq` of `device` the server holds (accepted or refused).
pub async fn held_seq(db: &impl GenericClient, device: DeviceId) -> Result<u64, StoreError> {
    let stmt = db
        .prepare_cached("SELECT last_seq FROM devices WHERE id = $1")
        .await?;
    let row = db.query_one(&stmt, &[&device.to_string()]).await?;
    u64_of(&row, 0)
}

/// Notes that the server holds `device`'s ops through `held` and that it synced at `now_ms`.
pub async fn set_held_seq(
    db: &impl GenericClient,
    device: DeviceId,
    held: u64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached("UPDATE devices SET last_seq = $2, last_sync_at_ms = $3 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&device.to_string(), &i64_of(held), &now_ms])
        .await?;
    Ok(())
}

/// Writes devices' last sync times; a time is never moved backwards.
pub async fn note_last_syncs(
    db: &impl GenericClient,
    syncs: &[(DeviceId, i64)],
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "UPDATE devices SET last_sync_at_ms = GREATEST(COALESCE(last_sync_at_ms, 0), $2)
             WHERE id = $1",
        )
        .await?;
    for (device, at) in syncs {
        db.execute(&stmt, &[&device.to_string(), at]).await?;
    }
    Ok(())
}

/// What the server holds under number `device_seq` of `device`.
pub async fn held_op(
    db: &impl GenericClient,
    device: DeviceId,
    device_seq: u64,
) -> Result<Option<HeldOp>, StoreError> {
    let device = device.to_string();
    let seq = i64_of(device_seq);
    let stmt = db
        .prepare_cached("SELECT op_id FROM ops WHERE device_id = $1 AND device_seq = $2")
        .await?;
    if let Some(row) = db.query_opt(&stmt, &[&device, &seq]).await? {
        return Ok(Some(HeldOp::Accepted(parsed(&row, 0)?)));
    }
    let stmt = db
        .prepare_cached(
            "SELECT op_id, code, message, field FROM rejected_ops
             WHERE device_id = $1 AND device_seq = $2",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&device, &seq]).await? else {
        return Ok(None);
    };
    let code: &str = row.try_get(1)?;
    let code: RejectCode = serde_json::from_value(Value::String(code.to_owned()))?;
    Ok(Some(HeldOp::Rejected(
        parsed(&row, 0)?,
        Rejection {
            code,
            message: row.try_get(2)?,
            field: row.try_get(3)?,
        },
    )))
}

fn facts(row: &Row) -> Result<EntityFacts, StoreError> {
    Ok(EntityFacts {
        org_id: parsed(row, 0)?,
        kind: kind(row, 1)?,
        author: parsed(row, 2)?,
        scope_member: parsed(row, 3)?,
    })
}

/// The entity `id`, if it is stored.
pub async fn entity(
    db: &impl GenericClient,
    id: EntityId,
) -> Result<Option<StoredEntity>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT org_id, kind, author, scope_member, state FROM entities WHERE id = $1",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&id.to_string()]).await? else {
        return Ok(None);
    };
    let state: &str = row.try_get(4)?;
    Ok(Some(StoredEntity {
        facts: facts(&row)?,
        state: serde_json::from_str(state)?,
    }))
}

/// Whether `id` was purged by the retention period.
pub async fn was_purged(db: &impl GenericClient, id: EntityId) -> Result<bool, StoreError> {
    let stmt = db
        .prepare_cached("SELECT 1 FROM purged_entities WHERE entity_id = $1")
        .await?;
    Ok(db.query_opt(&stmt, &[&id.to_string()]).await?.is_some())
}

/// What the server holds of `id`: its facts, the fact that it was purged, or nothing.
pub async fn held(db: &impl GenericClient, id: EntityId) -> Result<Held, StoreError> {
    let stmt = db
        .prepare_cached("SELECT org_id, kind, author, scope_member FROM entities WHERE id = $1")
        .await?;
    Ok(match db.query_opt(&stmt, &[&id.to_string()]).await? {
        Some(row) => Held::Stored(facts(&row)?),
        None if was_purged(db, id).await? => Held::Purged,
        None => Held::Unknown,
    })
}

/// Redacts an incoming op's fields by the redactions already made of its entity.
pub async fn redact_incoming(
    db: &impl GenericClient,
    entity: EntityId,
    hlc: Hlc,
    fields: &mut Map<String, Value>,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT field, through_hlc, value FROM redactions WHERE entity_id = $1 ORDER BY id",
        )
        .await?;
    for row in db.query(&stmt, &[&entity.to_string()]).await? {
        let field: &str = row.try_get(0)?;
        let through: Hlc = parsed(&row, 1)?;
        let value: Value = serde_json::from_str(row.try_get(2)?)?;
        redact_fields(fields, hlc, field, through, &value);
    }
    Ok(())
}

/// Appends an accepted op to the log under the next sequence number; returns it.
pub async fn append(
    tx: &deadpool_postgres::Transaction<'_>,
    caller: &DeviceCaller,
    op: &Op,
    scope_member: MemberId,
    audience: Option<&str>,
    fields: &Map<String, Value>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let seq = next_seq(tx).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO ops (seq, org_id, scope_member, author, op_id, device_id, device_seq, hlc,
                              base_seq, entity_kind, entity_id, fields, received_at_ms, audience)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &i64_of(seq),
            &caller.org_id.to_string(),
            &scope_member.to_string(),
            &caller.member_id.to_string(),
            &op.op_id.to_string(),
            &op.device_id.to_string(),
            &i64_of(op.device_seq),
            &op.hlc.to_string(),
            &i64_of(op.base_seq),
            &op.kind().as_str(),
            &op.entity_id.to_string(),
            &serde_json::to_string(fields)?,
            &now_ms,
            &audience,
        ],
    )
    .await?;
    Ok(seq)
}

/// Stores a new entity, created by `caller`'s op `seq`.
pub async fn insert_entity(
    db: &impl GenericClient,
    id: EntityId,
    kind: EntityKind,
    caller: &DeviceCaller,
    scope_member: MemberId,
    state: &EntityState,
    seq: u64,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO entities (id, org_id, kind, author, scope_member, state, created_seq,
                                   updated_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &id.to_string(),
            &caller.org_id.to_string(),
            &kind.as_str(),
            &caller.member_id.to_string(),
            &scope_member.to_string(),
            &serde_json::to_string(state)?,
            &i64_of(seq),
        ],
    )
    .await?;
    Ok(())
}

/// Stores the merged state of `id` after op `seq`.
pub async fn update_entity(
    db: &impl GenericClient,
    id: EntityId,
    state: &EntityState,
    seq: u64,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached("UPDATE entities SET state = $2, updated_seq = $3 WHERE id = $1")
        .await?;
    db.execute(
        &stmt,
        &[
            &id.to_string(),
            &serde_json::to_string(state)?,
            &i64_of(seq),
        ],
    )
    .await?;
    Ok(())
}

/// The open conflict records of `field` of `entity`.
pub async fn open_conflicts(
    db: &impl GenericClient,
    org: OrgId,
    entity: EntityId,
    field: &str,
) -> Result<Vec<OpenConflict>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, winner_hlc, loser_hlc, winner_seq, loser_seq FROM conflicts
             WHERE org_id = $1 AND entity_id = $2 AND field = $3 AND resolved_seq IS NULL",
        )
        .await?;
    db.query(&stmt, &[&org.to_string(), &entity.to_string(), &field])
        .await?
        .iter()
        .map(|row| {
            let seq = |i: usize| -> Result<Option<u64>, StoreError> {
                Ok(row.try_get::<_, Option<i64>>(i)?.map(|s| s.max(0) as u64))
            };
            Ok(OpenConflict {
                id: row.try_get(0)?,
                winner_hlc: parsed(row, 1)?,
                loser_hlc: parsed(row, 2)?,
                winner_seq: seq(3)?,
                loser_seq: seq(4)?,
            })
        })
        .collect()
}

/// Writes the changes to the conflict records of `field` of `entity` that op `seq` brought.
pub async fn change_conflicts(
    db: &impl GenericClient,
    org: OrgId,
    entity: EntityId,
    field: &str,
    seq: u64,
    changes: &[ConflictChange<'_>],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            ConflictChange::Settle(id) => {
                let stmt = db
                    .prepare_cached("UPDATE conflicts SET resolved_seq = $2 WHERE id = $1")
                    .await?;
                db.execute(&stmt, &[id, &i64_of(seq)]).await?;
            }
            ConflictChange::Drop(id) => {
                let stmt = db
                    .prepare_cached("DELETE FROM conflicts WHERE id = $1")
                    .await?;
                db.execute(&stmt, &[id]).await?;
            }
            ConflictChange::Record(conflict) => {
                let stmt = db
                    .prepare_cached(
                        "INSERT INTO conflicts (org_id, entity_id, field, winner_value, winner_hlc,
                                                winner_seq, loser_value, loser_hlc, loser_seq,
                                                detected_seq)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .await?;
                db.execute(
                    &stmt,
                    &[
                        &org.to_string(),
                        &entity.to_string(),
                        &field,
                        &conflict.winner.value.to_string(),
                        &conflict.winner.stamp.hlc.to_string(),
                        &conflict.winner.stamp.seq.map(i64_of),
                        &conflict.loser.value.to_string(),
                        &conflict.loser.stamp.hlc.to_string(),
                        &conflict.loser.stamp.seq.map(i64_of),
                        &i64_of(seq),
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Records a refused op with the reason (an op of a purged entry without its fields).
pub async fn record_rejection(
    db: &impl GenericClient,
    caller: &DeviceCaller,
    op: &Op,
    rejection: &Rejection,
    now_ms: i64,
) -> Result<(), StoreError> {
    let stored = if rejection.code == RejectCode::Purged {
        let mut bare = serde_json::to_value(op)?;
        bare["fields"] = Value::Object(Map::new());
        bare.to_string()
    } else {
        serde_json::to_string(op)?
    };
    let code = match serde_json::to_value(rejection.code)? {
        Value::String(name) => name,
        _ => "invalid_field".to_owned(),
    };
    let stmt = db
        .prepare_cached(
            "INSERT INTO rejected_ops (device_id, device_seq, org_id, author, op_id, op, code,
                                       message, field, received_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &caller.device_id.to_string(),
            &i64_of(op.device_seq),
            &caller.org_id.to_string(),
            &caller.member_id.to_string(),
            &op.op_id.to_string(),
            &stored,
            &code,
            &rejection.message,
            &rejection.field,
            &now_ms,
        ],
    )
    .await?;
    Ok(())
}

/// The projection of one entity's stored state into its `entries` row (patrols, incidents and
/// observations; others are left alone): the same columns as SQLite's, read from the state's
/// JSON with PostgreSQL's operators.
const PROJECT_SQL: &str = "
INSERT INTO entries
SELECT e.id, e.org_id, e.kind, e.author, m.member_group, e.created_seq, e.updated_seq,
       COALESCE((SELECT o.received_at_ms FROM ops o WHERE o.seq = e.created_seq), $2),
       round(extract(epoch FROM (s #>> (CASE e.kind WHEN 'incident' THEN '{occurred_at,v}'
            WHEN 'observation' THEN '{observed_at,v}' ELSE '{started_at,v}' END)::text[])::timestamptz) * 1000)::bigint,
       round(extract(epoch FROM (s #>> '{ended_at,v}')::timestamptz) * 1000)::bigint,
       s #>> '{area_id,v}',
       CASE e.kind WHEN 'patrol' THEN s #>> '{kind,v}' ELSE s #>> '{category,v}' END,
       (s #>> '{severity,v}')::bigint,
       COALESCE(s #>> '{review_status,v}', 'new'),
       s #>> '{assignee,v}',
       s #>> '{duplicate_of,v}',
       s #>> '{tags,v}',
       s #>> '{forwarded_to,v}',
       (s #>> '{location,v,lat}')::float8,
       (s #>> '{location,v,lon}')::float8,
       s #>> '{place,v}',
       COALESCE(s #>> '{description,v}', s #>> '{note,v}'),
       (s #>> '{participant_count,v}')::bigint,
       (s #>> '{people_involved,v}')::bigint,
       (s #>> '{minors_involved,v}')::bigint,
       s #>> '{police_line,v}',
       round(extract(epoch FROM (s #>> '{police_contacted_at,v}')::timestamptz) * 1000)::bigint,
       round(extract(epoch FROM (s #>> '{police_attended_at,v}')::timestamptz) * 1000)::bigint,
       s #>> '{police_event_number,v}',
       COALESCE((s #>> '{retracted,v}')::boolean, false),
       CASE jsonb_typeof(s #> '{attachments,v}') WHEN 'array'
            THEN jsonb_array_length(s #> '{attachments,v}') ELSE 0 END
FROM entities e CROSS JOIN LATERAL (SELECT e.state::jsonb AS s) j
     LEFT JOIN members m ON m.id = e.author
WHERE e.id = $1 AND e.kind IN ('patrol', 'incident', 'observation')
ON CONFLICT (id) DO UPDATE SET
    author_group = EXCLUDED.author_group, updated_seq = EXCLUDED.updated_seq,
    occurred_at_ms = EXCLUDED.occurred_at_ms, ended_at_ms = EXCLUDED.ended_at_ms,
    area_id = EXCLUDED.area_id, category = EXCLUDED.category, severity = EXCLUDED.severity,
    review_status = EXCLUDED.review_status, assignee = EXCLUDED.assignee,
    duplicate_of = EXCLUDED.duplicate_of, tags = EXCLUDED.tags,
    forwarded_to = EXCLUDED.forwarded_to, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
    place = EXCLUDED.place, description = EXCLUDED.description,
    participants = EXCLUDED.participants, people_involved = EXCLUDED.people_involved,
    minors_involved = EXCLUDED.minors_involved, police_line = EXCLUDED.police_line,
    police_contacted_ms = EXCLUDED.police_contacted_ms,
    police_attended_ms = EXCLUDED.police_attended_ms,
    police_event_number = EXCLUDED.police_event_number, retracted = EXCLUDED.retracted,
    attachments = EXCLUDED.attachments";

/// Brings the `entries` row of `entity` up to date with its stored state.
pub async fn project(
    db: &impl GenericClient,
    entity: EntityId,
    now_ms: i64,
) -> Result<(), StoreError> {
    let stmt = db.prepare_cached(PROJECT_SQL).await?;
    db.execute(&stmt, &[&entity.to_string(), &now_ms]).await?;
    Ok(())
}

/// The newest server sequence handed out, of an op or a removal.
pub async fn last_seq(db: &impl GenericClient) -> Result<u64, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM ops),
                             (SELECT COALESCE(MAX(seq), 0) FROM removals))",
        )
        .await?;
    u64_of(&db.query_one(&stmt, &[]).await?, 0)
}

/// Up to `limit` ops and removals after `cursor` in `caller`'s scope (see
/// [`crate::store::ops::pull`]).
pub async fn pull(
    db: &impl GenericClient,
    caller: &DeviceCaller,
    cursor: u64,
    limit: u32,
) -> Result<RawPullPage, StoreError> {
    use crate::store::ops::{OP_COLUMNS, PullShape, pull_args, pull_sql};
    let shape = PullShape::of(caller);
    let (area, group) = match shape {
        PullShape::Everything => (None, None),
        PullShape::Shared | PullShape::Own => member_reach(db, caller.member_id).await?,
    };
    let org = caller.org_id.to_string();
    let after = i64_of(cursor);
    let fetch = i64::from(limit) + 1;
    let rest = pull_args(shape, caller.member_id, area, group.as_deref());
    let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&org, &after, &fetch];
    args.extend(
        rest.iter()
            .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync)),
    );
    let stmt = db
        .prepare_cached(&pull_sql(shape, "ops", OP_COLUMNS, '$'))
        .await?;
    let ops = db
        .query(&stmt, &args)
        .await?
        .iter()
        .map(|row| {
            let fields: String = row.try_get(9)?;
            Ok(RawServerOp {
                seq: u64_of(row, 0)?,
                author: parsed(row, 1)?,
                op_id: parsed(row, 2)?,
                device_id: parsed(row, 3)?,
                device_seq: u64_of(row, 4)?,
                hlc: parsed(row, 5)?,
                base_seq: u64_of(row, 6)?,
                entity_id: parsed(row, 7)?,
                entity: kind(row, 8)?,
                fields: RawValue::from_string(fields)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let stmt = db
        .prepare_cached(&pull_sql(shape, "removals", "seq, record", '$'))
        .await?;
    let removals = db
        .query(&stmt, &args)
        .await?
        .iter()
        .map(|row| {
            Ok(Removal {
                seq: u64_of(row, 0)?,
                what: serde_json::from_str::<RemovalKind>(row.try_get(1)?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(crate::store::ops::page(ops, removals, cursor, limit))
}

/// A member's area and group: what decides which messages their phones pull.
pub async fn member_reach(
    db: &impl GenericClient,
    member: vaka_shared::MemberId,
) -> Result<(Option<vaka_shared::AreaId>, Option<String>), StoreError> {
    let stmt = db
        .prepare_cached("SELECT area_id, member_group FROM members WHERE id = $1")
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&member.to_string()]).await? else {
        return Ok((None, None));
    };
    let area: Option<String> = row.try_get(0)?;
    let area = area
        .map(|a| {
            a.parse()
                .map_err(|_| StoreError::Damaged(format!("an area id: {a}")))
        })
        .transpose()?;
    Ok((area, row.try_get(1)?))
}
