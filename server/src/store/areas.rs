//! The organisation's areas as the areas page manages them: the list with how many entries point
//! at each, renaming, and removal — an area no entry points at is deleted, one that entries point
//! at is archived (hidden from the choice lists, kept for the history and the reports).

use super::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// One area of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaListing {
    /// Its id.
    pub id: String,
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
             ORDER BY a.archived_at_ms IS NOT NULL, a.name",
        )?
        .query_map([org], |r| {
            Ok(AreaListing {
                id: r.get(0)?,
                name: r.get(1)?,
                archived_at_ms: r.get(2)?,
                entries: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

/// The ids of `org`'s archived areas.
pub fn archived_ids(conn: &Connection, org: &str) -> Result<Vec<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM areas WHERE org_id = ?1 AND archived_at_ms IS NOT NULL")?
        .query_map([org], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?)
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
        assert_eq!(archived_ids(&conn, "o").expect("ids"), vec![used]);
    }
}
