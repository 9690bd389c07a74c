//! Messages to the walkers' phones on PostgreSQL: the twin of [`crate::store::messages`].

use super::audit;
use super::ops::{parsed, parsed_opt};
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::messages::{AreaRefused, MessageListing, listing, sort};
use deadpool_postgres::GenericClient;
use vaka_shared::{AreaId, EntityId, MemberId, OrgId};

/// The messages of `org` with how many phones received and read each, newest sent first.
pub async fn messages(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<MessageListing>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT m.id, m.author, m.state,
                    (SELECT COUNT(DISTINCT o.device_id) FROM entities r
                     JOIN ops o ON o.seq = r.created_seq
                     WHERE r.org_id = m.org_id AND r.kind = 'message_receipt'
                       AND (r.state::jsonb) #>> '{message_id,v}' = m.id),
                    (SELECT COUNT(DISTINCT o.device_id) FROM entities r
                     JOIN ops o ON o.seq = r.created_seq
                     WHERE r.org_id = m.org_id AND r.kind = 'message_receipt'
                       AND (r.state::jsonb) #>> '{message_id,v}' = m.id
                       AND (r.state::jsonb) #>> '{read_at,v}' IS NOT NULL)
             FROM entities m WHERE m.org_id = $1 AND m.kind = 'message'",
        )
        .await?;
    let mut listed = db
        .query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(|row| {
            let received: i64 = row.try_get(3)?;
            let read: i64 = row.try_get(4)?;
            listing(
                parsed::<EntityId>(row, 0)?,
                parsed::<MemberId>(row, 1)?,
                row.try_get(2)?,
                received as u64,
                read as u64,
            )
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    sort(&mut listed);
    Ok(listed)
}

/// Sets (or clears) the area of `member` of `org`, by `by`, with its audit record when it
/// changed.
pub async fn set_member_area(
    tx: &deadpool_postgres::Transaction<'_>,
    org: OrgId,
    by: Actor,
    member: MemberId,
    area: Option<AreaId>,
    now_ms: i64,
) -> Result<Result<(), AreaRefused>, StoreError> {
    let (org_text, member_text) = (org.to_string(), member.to_string());
    let Some(row) = tx
        .query_opt(
            "SELECT area_id FROM members WHERE id = $1 AND org_id = $2 AND removed_at_ms IS NULL
             FOR UPDATE",
            &[&member_text, &org_text],
        )
        .await?
    else {
        return Ok(Err(AreaRefused::NoMember));
    };
    let before: Option<String> = row.try_get(0)?;
    if let Some(area) = area {
        let known = tx
            .query_opt(
                "SELECT 1 FROM areas WHERE id = $1 AND org_id = $2 AND archived_at_ms IS NULL",
                &[&area.to_string(), &org_text],
            )
            .await?;
        if known.is_none() {
            return Ok(Err(AreaRefused::NoArea));
        }
    }
    let after = area.map(|a| a.to_string());
    if before == after {
        return Ok(Ok(()));
    }
    tx.execute(
        "UPDATE members SET area_id = $3 WHERE id = $1 AND org_id = $2",
        &[&member_text, &org_text, &after],
    )
    .await?;
    let action = AuditAction::MemberAreaChanged {
        member,
        from: before.and_then(|a| a.parse().ok()),
        to: area,
    };
    audit::record(tx, Some(org), by, &action, now_ms).await?;
    Ok(Ok(()))
}

/// The area of each member of `org` that has one.
pub async fn member_areas(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<(MemberId, AreaId)>, StoreError> {
    let stmt = db
        .prepare_cached("SELECT id, area_id FROM members WHERE org_id = $1 AND area_id IS NOT NULL")
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(|row| {
            Ok((
                parsed(row, 0)?,
                parsed_opt(row, 1)?.ok_or_else(|| StoreError::Damaged("area id".into()))?,
            ))
        })
        .collect()
}
