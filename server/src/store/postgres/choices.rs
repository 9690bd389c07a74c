//! The choice lists of the dashboard's forms and filters on PostgreSQL, as
//! [`crate::store::choices`] on SQLite: names in SQLite's order (by code point, `COLLATE "C"`).

use crate::store::StoreError;
use crate::store::choices::Choices;
use deadpool_postgres::GenericClient;
use std::collections::BTreeMap;

/// Loads the filter choices of `org`.
pub async fn choices(db: &impl GenericClient, org: &str) -> Result<Choices, StoreError> {
    let areas = db
        .query(
            "SELECT id, name FROM areas WHERE org_id = $1 AND archived_at_ms IS NULL
             ORDER BY name COLLATE \"C\", id COLLATE \"C\"",
            &[&org],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let members = db
        .query(
            "SELECT id, display_name, role FROM members WHERE org_id = $1
             ORDER BY display_name COLLATE \"C\", id COLLATE \"C\"",
            &[&org],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let groups = db
        .query(
            "SELECT member_group FROM members WHERE org_id = $1 AND member_group IS NOT NULL
             GROUP BY member_group ORDER BY member_group COLLATE \"C\"",
            &[&org],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Choices {
        areas,
        members,
        groups,
    })
}

/// The organisation's members by id, for names in the details.
pub async fn member_names(
    db: &impl GenericClient,
    org: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    db.query(
        "SELECT id, display_name FROM members WHERE org_id = $1",
        &[&org],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}
