//! The organisation's areas as the areas page manages them: the list with how many entries point
//! at each, renaming, and removal — an area no entry points at is deleted, one that entries point
//! at is archived (hidden from the choice lists, kept for the history and the reports).

use super::reports::{AreaShape, rings_of};
use super::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::{AreaId, OrgId};

/// One area of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaListing {
    /// Its id.
    pub id: AreaId,
    /// Its name.
    pub name: String,
    /// When it was archived, if it was.
    pub archived_at_ms: Option<i64>,
    /// How many entries (patrols, incidents, observations) point at it.
    pub entries: i64,
}

/// What removing an area did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// No entry pointed at it: it is gone.
    Deleted,
    /// Entries point at it: it is archived.
    Archived,
}

/// Every area of `org`, active ones first, then by name.
pub fn list(conn: &Connection, org: &str) -> Result<Vec<AreaListing>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.name, a.archived_at_ms,
                    (SELECT COUNT(*) FROM entries x WHERE x.area_id = a.id AND x.org_id = a.org_id)
             FROM areas a WHERE a.org_id = ?1
             ORDER BY a.archived_at_ms IS NOT NULL, a.name, a.id",
        )?
        .query_map([org], |r| {
            Ok(AreaListing {
                id: super::row::parsed(r, 0)?,
                name: r.get(1)?,
                archived_at_ms: r.get(2)?,
                entries: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// The areas of `org` that are not archived, with their outlines, by name: those offered as a
/// choice.
pub fn active_shapes(conn: &Connection, org: &str) -> Result<Vec<AreaShape>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT id, name, geojson FROM areas WHERE org_id = ?1 AND archived_at_ms IS NULL
             ORDER BY name, id",
        )?
        .query_map([org], |r| {
            Ok((
                super::row::parsed::<AreaId>(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, name, geojson)| AreaShape {
            id,
            name,
            rings: rings_of(&geojson),
        })
        .collect())
}

/// Renames area `id` of `org`; `false` when there is no such area.
pub fn rename(conn: &Connection, org: &str, id: &str, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE areas SET name = ?3 WHERE id = ?1 AND org_id = ?2")?
        .execute(params![id, org, name])?
        == 1)
}

/// Removes area `id` of `org`: deletes it when no entry points at it, archives it otherwise;
/// `None` when there is no such area.
pub fn remove(
    conn: &Connection,
    org: &str,
    id: &str,
    now_ms: i64,
) -> Result<Option<Removal>, StoreError> {
    let used: Option<i64> = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM entries x WHERE x.area_id = a.id AND x.org_id = a.org_id)
             FROM areas a WHERE a.id = ?1 AND a.org_id = ?2",
        )?
        .query_row(params![id, org], |r| r.get(0))
        .optional()?;
    match used {
        None => Ok(None),
        Some(0) => {
            conn.prepare_cached("DELETE FROM areas WHERE id = ?1 AND org_id = ?2")?
                .execute(params![id, org])?;
            Ok(Some(Removal::Deleted))
        }
        Some(_) => {
            conn.prepare_cached(
                "UPDATE areas SET archived_at_ms = COALESCE(archived_at_ms, ?3)
                 WHERE id = ?1 AND org_id = ?2",
            )?
            .execute(params![id, org, now_ms])?;
            Ok(Some(Removal::Archived))
        }
    }
}

/// The areas page's operations, on either backend.
impl Store {
    /// The areas of `org` with their outlines, beside the list of them (active first, then by
    /// name, with how many entries point at each), in one read.
    pub async fn area_list(
        &self,
        org: OrgId,
    ) -> Result<(Vec<AreaShape>, Vec<AreaListing>), StoreError> {
        on_backend!(self,
            s => s.read(move |c| {
                let org = org.to_string();
                Ok((super::reports::area_shapes(c, &org)?, list(c, &org)?))
            }).await,
            p => p.read(move |db| Box::pin(async move {
                let shapes = postgres::reports::area_shapes(db, org).await?;
                Ok((shapes, postgres::areas::list(db, org).await?))
            })).await,
        )
    }

    /// The areas of `org` offered as a choice (not archived), with their outlines, by name.
    pub async fn active_area_shapes(&self, org: OrgId) -> Result<Vec<AreaShape>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| active_shapes(c, &org.to_string())).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::areas::active_shapes(db, org).await
            })).await,
        )
    }

    /// Renames area `id` of `org`; `false` when there is no such area.
    pub async fn rename_area(
        &self,
        org: OrgId,
        id: AreaId,
        name: String,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| rename(c, &org.to_string(), &id.to_string(), &name)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::areas::rename(tx, org, id, &name).await
            })).await,
        )
    }

    /// Removes area `id` of `org`: deleted when no entry points at it, archived otherwise;
    /// `None` when there is no such area.
    pub async fn remove_area(
        &self,
        org: OrgId,
        id: AreaId,
        now_ms: i64,
    ) -> Result<Option<Removal>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| remove(c, &org.to_string(), &id.to_string(), now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::areas::remove(tx, org, id, now_ms).await
            })).await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().expect("memory database");
        super::super::migrate(&mut conn).expect("migrated");
        conn.execute(
            "INSERT INTO orgs (id, name, created_at_ms) VALUES ('o', 'Org', 0)",
            [],
        )
        .expect("org");
        conn
    }

    #[test]
    fn an_unused_area_is_deleted_and_a_used_one_archived() {
        let conn = store();
        let unused = crate::store::reports::add_area(&conn, "o", "Torget", "{}", 1)
            .expect("area")
            .to_string();
        let used = crate::store::reports::add_area(&conn, "o", "Parken", "{}", 1)
            .expect("area")
            .to_string();
        conn.execute(
            "INSERT INTO entries (id, org_id, kind, author, created_seq, updated_seq,
                                  received_at_ms, area_id, review_status, retracted, attachments)
             VALUES ('e', 'o', 'incident', 'm', 1, 1, 0, ?1, 'new', 0, 0)",
            [&used],
        )
        .expect("entry");
        assert!(rename(&conn, "o", &used, "Stadsparken").expect("renamed"));
        assert!(!rename(&conn, "other", &used, "X").expect("not another org's"));
        assert_eq!(
            remove(&conn, "o", &unused, 5).expect("removed"),
            Some(Removal::Deleted)
        );
        assert_eq!(
            remove(&conn, "o", &used, 5).expect("removed"),
            Some(Removal::Archived)
        );
        assert_eq!(remove(&conn, "o", "nope", 5).expect("none"), None);
        let listed = list(&conn, "o").expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "Stadsparken");
        assert_eq!(listed[0].archived_at_ms, Some(5));
        assert_eq!(listed[0].entries, 1);
        assert!(active_shapes(&conn, "o").expect("shapes").is_empty());
    }
}
