//! The organisation's areas on PostgreSQL, as [`crate::store::areas`] on SQLite: the list with
//! how many entries point at each, the areas offered as a choice, renaming, and removal (deleted
//! when no entry points at it, archived otherwise). Names sort in byte order, as SQLite sorts
//! them.

use crate::store::StoreError;
use crate::store::areas::{AreaListing, Removal};
use crate::store::reports::AreaShape;
use deadpool_postgres::GenericClient;
use vaka_shared::{AreaId, OrgId};

/// Every area of `org`, active ones first, then by name.
pub async fn list(db: &impl GenericClient, org: OrgId) -> Result<Vec<AreaListing>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT a.id, a.name, a.archived_at_ms,
                    (SELECT COUNT(*) FROM entries x WHERE x.area_id = a.id AND x.org_id = a.org_id)
             FROM areas a WHERE a.org_id = $1
             ORDER BY a.archived_at_ms IS NOT NULL, a.name COLLATE \"C\", a.id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(|r| {
            Ok(AreaListing {
                id: super::ops::parsed(r, 0)?,
                name: r.try_get(1)?,
                archived_at_ms: r.try_get(2)?,
                entries: r.try_get(3)?,
            })
        })
        .collect()
}

/// The areas of `org` that are not archived, with their outlines, by name.
pub async fn active_shapes(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<AreaShape>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, name, geojson FROM areas WHERE org_id = $1 AND archived_at_ms IS NULL
             ORDER BY name COLLATE \"C\", id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(super::reports::shape_of)
        .collect()
}

/// Renames area `id` of `org`; `false` when there is no such area.
pub async fn rename(
    db: &impl GenericClient,
    org: OrgId,
    id: AreaId,
    name: &str,
) -> Result<bool, StoreError> {
    let stmt = db
        .prepare_cached("UPDATE areas SET name = $3 WHERE id = $1 AND org_id = $2")
        .await?;
    Ok(db
        .execute(&stmt, &[&id.to_string(), &org.to_string(), &name])
        .await?
        == 1)
}

/// Removes area `id` of `org`: deletes it when no entry points at it, archives it otherwise;
/// `None` when there is no such area. The area's row is locked first, so that a rename or
/// removal through another process waits for this one.
pub async fn remove(
    db: &impl GenericClient,
    org: OrgId,
    id: AreaId,
    now_ms: i64,
) -> Result<Option<Removal>, StoreError> {
    let (id, org) = (id.to_string(), org.to_string());
    let found = db
        .query_opt(
            "SELECT 1 FROM areas WHERE id = $1 AND org_id = $2 FOR UPDATE",
            &[&id, &org],
        )
        .await?;
    if found.is_none() {
        return Ok(None);
    }
    let used: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM entries WHERE area_id = $1 AND org_id = $2",
            &[&id, &org],
        )
        .await?
        .try_get(0)?;
    if used == 0 {
        db.execute(
            "DELETE FROM areas WHERE id = $1 AND org_id = $2",
            &[&id, &org],
        )
        .await?;
        Ok(Some(Removal::Deleted))
    } else {
        db.execute(
            "UPDATE areas SET archived_at_ms = COALESCE(archived_at_ms, $3)
             WHERE id = $1 AND org_id = $2",
            &[&id, &org, &now_ms],
        )
        .await?;
        Ok(Some(Removal::Archived))
    }
}
