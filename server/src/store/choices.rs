//! The choice lists of the dashboard's forms and filters: an organisation's areas in use, its
//! members and its groups.

use super::{Store, StoreError, on_backend, postgres};
use rusqlite::Connection;
use std::collections::BTreeMap;
use vaka_shared::OrgId;

/// The organisation's areas, members and groups, for filter choices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choices {
    /// (id, name) of areas.
    pub areas: Vec<(String, String)>,
    /// (id, name, role) of members.
    pub members: Vec<(String, String, String)>,
    /// Group names.
    pub groups: Vec<String>,
}

/// Loads the filter choices of `org`.
pub fn choices(conn: &Connection, org: &str) -> Result<Choices, StoreError> {
    let areas = conn
        .prepare_cached(
            "SELECT id, name FROM areas WHERE org_id = ?1 AND archived_at_ms IS NULL ORDER BY name, id",
        )?
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let members = conn
        .prepare_cached(
            "SELECT id, display_name, role FROM members WHERE org_id = ?1 ORDER BY display_name, id",
        )?
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let groups = conn
        .prepare_cached(
            "SELECT DISTINCT member_group FROM members WHERE org_id = ?1 AND member_group IS NOT NULL ORDER BY 1",
        )?
        .query_map([org], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Choices {
        areas,
        members,
        groups,
    })
}

/// The organisation's members by id, for names in the details.
pub fn member_names(conn: &Connection, org: &str) -> Result<BTreeMap<String, String>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT id, display_name FROM members WHERE org_id = ?1")?
        .query_map([org], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    Ok(rows)
}

/// The choice lists, on either backend.
impl Store {
    /// The filter choices of `org`: its areas in use, its members and its groups, by name.
    pub async fn choices(&self, org: OrgId) -> Result<Choices, StoreError> {
        let org = org.to_string();
        on_backend!(self,
            s => s.read(move |c| choices(c, &org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::choices::choices(db, &org).await
            })).await,
        )
    }

    /// The display names of `org`'s members by id.
    pub async fn member_names(&self, org: OrgId) -> Result<BTreeMap<String, String>, StoreError> {
        let org = org.to_string();
        on_backend!(self,
            s => s.read(move |c| member_names(c, &org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::choices::member_names(db, &org).await
            })).await,
        )
    }
}
