//! The situation report on PostgreSQL, as [`crate::store::reports`] on SQLite: the same entries
//! read in the same order and added up by the same code ([`reports::assemble`]), so both
//! backends give the same figures, local times included; the areas and the coordinator's
//! summary.

use crate::store::StoreError;
use crate::store::reports::{
    self, AreaShape, Report, ReportQuery, Row, SharedReports, Sources, rings_of,
};
use deadpool_postgres::GenericClient;
use vaka_shared::{AreaId, OrgId};

/// The entries of `org` in `query`'s period, as [`crate::store::reports`]'s `rows`: every
/// area, by time and then id (byte order, as SQLite compares), with the start of each
/// description when `full`.
async fn rows(
    db: &impl GenericClient,
    org: OrgId,
    query: &ReportQuery,
    full: bool,
) -> Result<Vec<Row>, StoreError> {
    let (start, end) = query.range_ms();
    let stmt = db
        .prepare_cached(
            "SELECT id, kind, occurred_at_ms, ended_at_ms, area_id, category, severity,
                    participants, police_contacted_ms, police_attended_ms, police_line, lat, lon,
                    CASE WHEN $4 THEN substr(description, 1, 240) END
             FROM entries
             WHERE org_id = $1 AND occurred_at_ms >= $2 AND occurred_at_ms < $3
               AND NOT retracted AND review_status <> 'duplicate'
             ORDER BY occurred_at_ms, id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string(), &start, &end, &full])
        .await?
        .iter()
        .map(|r| {
            Ok(Row {
                id: super::ops::parsed(r, 0)?,
                kind: r.try_get(1)?,
                occurred: r.try_get(2)?,
                ended: r.try_get(3)?,
                area: r.try_get(4)?,
                category: r.try_get(5)?,
                severity: r.try_get(6)?,
                participants: r.try_get(7)?,
                contacted: r.try_get(8)?,
                attended: r.try_get(9)?,
                line: r.try_get(10)?,
                lat: r.try_get(11)?,
                lon: r.try_get(12)?,
                description: r.try_get(13)?,
            })
        })
        .collect()
}

/// Adds a named area (a GeoJSON geometry) to `org`; returns its id. Runs in the caller's
/// transaction, so that several areas (or a larger write) commit together.
pub async fn add_area(
    db: &impl GenericClient,
    org: OrgId,
    name: &str,
    geojson: &str,
    now_ms: i64,
) -> Result<AreaId, StoreError> {
    let id = AreaId::new();
    let stmt = db
        .prepare_cached(
            "INSERT INTO areas (id, org_id, name, geojson, created_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    db.execute(
        &stmt,
        &[&id.to_string(), &org.to_string(), &name, &geojson, &now_ms],
    )
    .await?;
    Ok(id)
}

/// The areas of `org`, with their outlines, by name (byte order, as SQLite sorts) and id.
pub async fn area_shapes(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<AreaShape>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, name, geojson FROM areas WHERE org_id = $1
             ORDER BY name COLLATE \"C\", id COLLATE \"C\"",
        )
        .await?;
    db.query(&stmt, &[&org.to_string()])
        .await?
        .iter()
        .map(shape_of)
        .collect()
}

/// An area's outline from a row of `id, name, geojson`.
pub(super) fn shape_of(r: &tokio_postgres::Row) -> Result<AreaShape, StoreError> {
    let geojson: &str = r.try_get(2)?;
    Ok(AreaShape {
        id: super::ops::parsed(r, 0)?,
        name: r.try_get(1)?,
        rings: rings_of(geojson),
    })
}

/// The saved summary of `org` for a period (empty when there is none).
pub async fn summary(
    db: &impl GenericClient,
    org: OrgId,
    query: &ReportQuery,
) -> Result<String, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT summary FROM report_summaries
             WHERE org_id = $1 AND period_from = $2 AND period_to = $3",
        )
        .await?;
    let row = db
        .query_opt(
            &stmt,
            &[
                &org.to_string(),
                &query.from.to_string(),
                &query.to.to_string(),
            ],
        )
        .await?;
    Ok(match row {
        Some(row) => row.try_get(0)?,
        None => String::new(),
    })
}

/// Saves the summary of `org` for a period, replacing the one saved before.
pub async fn save_summary(
    db: &impl GenericClient,
    org: OrgId,
    query: &ReportQuery,
    text: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO report_summaries (org_id, period_from, period_to, summary, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, period_from, period_to)
             DO UPDATE SET summary = EXCLUDED.summary, updated_at_ms = EXCLUDED.updated_at_ms",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &org.to_string(),
            &query.from.to_string(),
            &query.to.to_string(),
            &text,
            &now_ms,
        ],
    )
    .await?;
    Ok(())
}

/// The cut-off of `org`'s newest purge that removed entries, with its retention period in days.
async fn last_purge(db: &impl GenericClient, org: OrgId) -> Result<Option<(i64, u32)>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT p.cutoff_ms, o.retention_days
             FROM purge_runs p JOIN orgs o ON o.id = p.org_id
             WHERE p.org_id = $1 AND p.entries > 0
             ORDER BY p.at_ms DESC, p.id DESC LIMIT 1",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&org.to_string()]).await? else {
        return Ok(None);
    };
    let days: i64 = row.try_get(1)?;
    let days =
        u32::try_from(days).map_err(|_| StoreError::Damaged(format!("retention days {days}")))?;
    Ok(Some((row.try_get(0)?, days)))
}

/// Computes the report of `org` for `query`.
pub async fn report(
    db: &impl GenericClient,
    org: OrgId,
    query: &ReportQuery,
) -> Result<Report, StoreError> {
    let sources = Sources {
        shapes: area_shapes(db, org).await?,
        summary: summary(db, org, query).await?,
        last_purge: last_purge(db, org).await?,
        current: rows(db, org, query, true).await?,
        previous: rows(db, org, &query.previous(), false).await?,
    };
    Ok(reports::assemble(query, sources))
}

/// The report of `org` for `query` and those of every organisation sharing with it.
pub async fn shared_reports(
    db: &impl GenericClient,
    org: OrgId,
    query: &ReportQuery,
) -> Result<SharedReports, StoreError> {
    let own = report(db, org, query).await?;
    let mut sharing = Vec::new();
    for other in super::sharing::sharing_with(db, org).await? {
        let part = report(db, other.id, query).await?;
        sharing.push((other, part));
    }
    Ok(SharedReports { own, sharing })
}
