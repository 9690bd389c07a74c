//! Redaction: a coordinator replaces a text field of an entry (a name that slipped into a
//! description), and the old text disappears from the op log, the entity's state, conflict
//! records, refused ops and, through a redaction removal in the pull stream, every phone. What is
//! kept is that a redaction happened, by whom and when (`redactions`), never what it removed.

use crate::store::audit::{self, Actor, AuditAction};
use crate::store::retention::record_removal;
use crate::store::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use vaka_shared::merge::{EntityState, redact_fields};
use vaka_shared::op::{EntityKind, OpBody};
use vaka_shared::sync::RemovalKind;
use vaka_shared::validate::validate;
use vaka_shared::{EntityId, Hlc, MemberId, OrgId, Timestamp};

/// The text fields a coordinator can redact, by entity kind.
pub const REDACTABLE: &[(EntityKind, &str)] = &[
    (EntityKind::Incident, "description"),
    (EntityKind::Incident, "place"),
    (EntityKind::Incident, "subcategory"),
    (EntityKind::Incident, "police_event_number"),
    (EntityKind::Observation, "description"),
    (EntityKind::Observation, "place"),
    (EntityKind::Patrol, "note"),
    (EntityKind::Comment, "body"),
    (EntityKind::Message, "text"),
];

/// Whether `field` of an entity of `kind` can be redacted.
pub fn is_redactable(kind: EntityKind, field: &str) -> bool {
    REDACTABLE.iter().any(|(k, f)| *k == kind && *f == field)
}

/// Why a redaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactionRefused {
    /// No such entity in the organisation, or it has no such text.
    #[error("no such text in your organisation")]
    NotFound,
    /// The field is not a text that can be redacted.
    #[error("this field cannot be redacted")]
    NotRedactable,
    /// The replacement is not a valid value of the field.
    #[error("{0}")]
    Invalid(String),
    /// The replacement is the text it replaces.
    #[error("the new text is the same as the old")]
    Unchanged,
}

/// Replaces every write of `field` of `entity` up to its current value with `replacement`, as
/// `by`, in the caller's write transaction. Returns the removal's server sequence.
pub fn redact(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    entity: EntityId,
    field: &str,
    replacement: Value,
    now_ms: i64,
) -> Result<Result<u64, RedactionRefused>, StoreError> {
    let org = org.to_string();
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT kind, scope_member, state FROM entities WHERE id = ?1 AND org_id = ?2",
            params![entity.to_string(), org],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((kind, scope_member, state)) = row else {
        return Ok(Err(RedactionRefused::NotFound));
    };
    let Some(kind) = EntityKind::from_wire(&kind) else {
        return Ok(Err(RedactionRefused::NotFound));
    };
    let mut state: EntityState = serde_json::from_str(&state)?;
    let through = match check(kind, &state, field, &replacement, now_ms) {
        Ok(through) => through,
        Err(refused) => return Ok(Err(refused)),
    };

    let id = entity.to_string();
    state.redact(field, through, &replacement);
    conn.prepare_cached("UPDATE entities SET state = ?2 WHERE id = ?1")?
        .execute(params![id, serde_json::to_string(&state)?])?;
    rewrite_ops(conn, &id, field, through, &replacement)?;
    rewrite_conflicts(conn, &id, field, through, &replacement)?;
    rewrite_rejected(conn, &id, field, through, &replacement)?;
    if kind.is_entry() {
        crate::store::entries::project(conn, entity, now_ms)?;
    }
    // A message's redaction goes to the phones its ops went to.
    let audience: Option<String> = conn
        .prepare_cached(
            "SELECT audience FROM ops WHERE entity_id = ?1 AND audience IS NOT NULL LIMIT 1",
        )?
        .query_row([&id], |r| r.get(0))
        .optional()?;
    let seq = record_removal(
        conn,
        &org,
        &scope_member,
        audience.as_deref(),
        &RemovalKind::Redaction {
            entity_id: entity,
            field: field.to_owned(),
            through,
            value: replacement.clone(),
        },
        now_ms,
    )?;
    conn.prepare_cached(
        "INSERT INTO redactions (org_id, entity_id, field, through_hlc, value, by_member, at_ms, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        org,
        id,
        field,
        through.to_string(),
        replacement.to_string(),
        by.to_string(),
        now_ms,
        seq
    ])?;
    Ok(Ok(seq))
}

/// Redacts `field` of `entity` as `by` (see [`redact`]) and records that it was done (never
/// what it removed) in the audit log, in one write job. Returns the removal's server sequence.
pub fn redact_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    entity: EntityId,
    field: &str,
    replacement: Value,
    now_ms: i64,
) -> Result<Result<u64, RedactionRefused>, StoreError> {
    let done = redact(conn, org, by, entity, field, replacement, now_ms)?;
    if done.is_ok() {
        let redacted = AuditAction::TextRedacted {
            entry: entity,
            field: field.to_owned(),
        };
        audit::record(conn, Some(org), Actor::Member(by), &redacted, now_ms)?;
    }
    Ok(done)
}

/// Redaction on either backend.
impl Store {
    /// Redacts `field` of `entity` in `org` as `by`, recorded (see [`redact_by`]). Making sure
    /// the old text does not linger in old row versions is the caller's next step
    /// ([`Store::checkpoint`]).
    pub async fn redact_by(
        &self,
        org: OrgId,
        by: MemberId,
        entity: EntityId,
        field: String,
        replacement: Value,
        now_ms: i64,
    ) -> Result<Result<u64, RedactionRefused>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| redact_by(c, org, by, entity, &field, replacement, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::redaction::redact_by(tx, org, by, entity, &field, replacement, now_ms)
                    .await
            })).await,
        )
    }
}

/// Whether `field` of an entity of `kind` in `state` may be replaced by `replacement` at
/// `now_ms`; the newest write it covers (writes of the field at or below it are rewritten).
pub fn check(
    kind: EntityKind,
    state: &EntityState,
    field: &str,
    replacement: &Value,
    now_ms: i64,
) -> Result<Hlc, RedactionRefused> {
    if !is_redactable(kind, field) {
        return Err(RedactionRefused::NotRedactable);
    }
    let Some(register) = state.fields.get(field) else {
        return Err(RedactionRefused::NotFound);
    };
    if register.value == *replacement {
        return Err(RedactionRefused::Unchanged);
    }
    let mut written = Map::new();
    written.insert(field.to_owned(), replacement.clone());
    let now = Timestamp::from_unix_ms(now_ms).unwrap_or_else(Timestamp::now_utc);
    let body = OpBody::from_field_map(kind, written)
        .map_err(|e| RedactionRefused::Invalid(e.to_string()))?;
    validate(&body, now, false).map_err(|e| RedactionRefused::Invalid(e.to_string()))?;
    Ok(register.stamp.hlc)
}

fn rewrite_ops(
    conn: &Connection,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq, hlc, fields FROM ops WHERE entity_id = ?1")?;
    let rows = stmt
        .query_map([entity], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (seq, hlc, fields) in rows {
        let Ok(hlc) = hlc.parse::<Hlc>() else {
            continue;
        };
        let mut map: Map<String, Value> = serde_json::from_str(&fields)?;
        if redact_fields(&mut map, hlc, field, through, value) {
            conn.prepare_cached("UPDATE ops SET fields = ?2 WHERE seq = ?1")?
                .execute(params![seq, serde_json::to_string(&map)?])?;
        }
    }
    Ok(())
}

fn rewrite_conflicts(
    conn: &Connection,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, winner_hlc, loser_hlc FROM conflicts WHERE entity_id = ?1 AND field = ?2",
    )?;
    let rows = stmt
        .query_map(params![entity, field], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let covered = |hlc: &str| hlc.parse::<Hlc>().is_ok_and(|h| h <= through);
    let text = value.to_string();
    for (id, winner, loser) in rows {
        if covered(&winner) {
            conn.prepare_cached("UPDATE conflicts SET winner_value = ?2 WHERE id = ?1")?
                .execute(params![id, text])?;
        }
        if covered(&loser) {
            conn.prepare_cached("UPDATE conflicts SET loser_value = ?2 WHERE id = ?1")?
                .execute(params![id, text])?;
        }
    }
    Ok(())
}

fn rewrite_rejected(
    conn: &Connection,
    entity: &str,
    field: &str,
    through: Hlc,
    value: &Value,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_id, device_seq, op FROM rejected_ops WHERE json_extract(op, '$.entity_id') = ?1",
    )?;
    let rows = stmt
        .query_map([entity], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (device, device_seq, op) in rows {
        let mut op: Value = serde_json::from_str(&op)?;
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
            conn.prepare_cached(
                "UPDATE rejected_ops SET op = ?3 WHERE device_id = ?1 AND device_seq = ?2",
            )?
            .execute(params![device, device_seq, op.to_string()])?;
        }
    }
    Ok(())
}

/// Redacts an incoming op's fields by the redactions already made of its entity, before it is
/// stored or merged: a late write at or below a redaction never brings the text back.
pub fn redact_incoming(
    conn: &Connection,
    entity: EntityId,
    hlc: Hlc,
    fields: &mut Map<String, Value>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT field, through_hlc, value FROM redactions WHERE entity_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([entity.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (field, through, value) in rows {
        let Ok(through) = through.parse::<Hlc>() else {
            continue;
        };
        let value: Value = serde_json::from_str(&value)?;
        redact_fields(fields, hlc, &field, through, &value);
    }
    Ok(())
}

/// A redaction as the entry's history shows it: which field, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionRow {
    /// The field.
    pub field: String,
    /// The coordinator's display name.
    pub by_name: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// The newest write it covered: writes of the field at or below it were redacted.
    pub through: String,
}

/// The redactions of `entity` in `org`, oldest first.
pub fn redactions_of(
    conn: &Connection,
    org: &str,
    entity: &str,
) -> Result<Vec<RedactionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.field, COALESCE(m.display_name, ''), r.at_ms, r.through_hlc
         FROM redactions r LEFT JOIN members m ON m.id = r.by_member
         WHERE r.org_id = ?1 AND r.entity_id = ?2 ORDER BY r.id",
    )?;
    let rows = stmt
        .query_map(params![org, entity], |r| {
            Ok(RedactionRow {
                field: r.get(0)?,
                by_name: r.get(1)?,
                at_ms: r.get(2)?,
                through: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
