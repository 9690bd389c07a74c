//! Tiers on PostgreSQL, as [`crate::store::sharing`] on SQLite: an organisation's level, and an
//! association sharing its aggregates with a municipality-level organisation until it withdraws.

use super::{audit, ops::parsed};
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::row::known;
use crate::store::sharing::{OrgLevel, OrgName, ShareRefused, SharingOverview};
use deadpool_postgres::GenericClient;
use vaka_shared::{MemberId, OrgId};

/// Sets `org`'s level.
pub async fn set_level(
    db: &impl GenericClient,
    org: OrgId,
    level: OrgLevel,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE orgs SET level = $2 WHERE id = $1",
        &[&org.to_string(), &level.as_str()],
    )
    .await?;
    Ok(())
}

/// `org`'s level.
pub async fn level(db: &impl GenericClient, org: OrgId) -> Result<OrgLevel, StoreError> {
    let row = db
        .query_one("SELECT level FROM orgs WHERE id = $1", &[&org.to_string()])
        .await?;
    known(row.try_get(0)?, OrgLevel::from_wire)
}

async fn org_names(
    db: &impl GenericClient,
    sql: &str,
    org: OrgId,
) -> Result<Vec<OrgName>, StoreError> {
    db.query(sql, &[&org.to_string()])
        .await?
        .iter()
        .map(|row| {
            Ok(OrgName {
                id: parsed(row, 0)?,
                name: row.try_get(1)?,
            })
        })
        .collect()
}

/// The municipality-level organisations `org` could share with (every one but itself), by name
/// (names compared byte by byte here and below, as SQLite does).
pub async fn municipalities(
    db: &impl GenericClient,
    org: OrgId,
) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        db,
        "SELECT id, name FROM orgs WHERE level = 'municipality' AND id <> $1
         ORDER BY name COLLATE \"C\", id",
        org,
    )
    .await
}

/// The organisations `org` shares its aggregates with, by name.
pub async fn shares_of(db: &impl GenericClient, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        db,
        "SELECT o.id, o.name FROM shares s JOIN orgs o ON o.id = s.to_org
         WHERE s.from_org = $1 ORDER BY o.name COLLATE \"C\", o.id",
        org,
    )
    .await
}

/// The organisations that share their aggregates with `org`, by name (byte order, as SQLite
/// sorts) and id.
pub async fn sharing_with(db: &impl GenericClient, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        db,
        "SELECT o.id, o.name FROM shares s JOIN orgs o ON o.id = s.from_org
         WHERE s.to_org = $1 ORDER BY o.name COLLATE \"C\", o.id COLLATE \"C\"",
        org,
    )
    .await
}

/// `from` shares its aggregates with `to`, by `by`; refused unless `to` is another
/// municipality-level organisation. Sharing again changes nothing.
pub async fn share(
    db: &impl GenericClient,
    from: OrgId,
    to: OrgId,
    by: MemberId,
    now_ms: i64,
) -> Result<Result<(), ShareRefused>, StoreError> {
    let is_municipality = db
        .query_opt(
            "SELECT 1 FROM orgs WHERE id = $1 AND level = 'municipality' AND id <> $2",
            &[&to.to_string(), &from.to_string()],
        )
        .await?
        .is_some();
    if !is_municipality {
        return Ok(Err(ShareRefused::NotAMunicipality));
    }
    db.execute(
        "INSERT INTO shares (from_org, to_org, shared_at_ms, shared_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (from_org, to_org) DO NOTHING",
        &[&from.to_string(), &to.to_string(), &now_ms, &by.to_string()],
    )
    .await?;
    Ok(Ok(()))
}

/// `from` stops sharing with `to`; whether it did share.
pub async fn withdraw(db: &impl GenericClient, from: OrgId, to: OrgId) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "DELETE FROM shares WHERE from_org = $1 AND to_org = $2",
            &[&from.to_string(), &to.to_string()],
        )
        .await?
        == 1)
}

/// `org`'s sharing: the municipalities it could share with, those it shares with, those that
/// share with it.
pub async fn overview(db: &impl GenericClient, org: OrgId) -> Result<SharingOverview, StoreError> {
    Ok(SharingOverview {
        municipalities: municipalities(db, org).await?,
        ours: shares_of(db, org).await?,
        theirs: sharing_with(db, org).await?,
    })
}

/// `from` starts (`share`) or stops sharing with `to`, by `by`, recorded in both organisations'
/// chains in the caller's write job (see [`crate::store::sharing::set_sharing_by`]); whether it
/// was done.
pub async fn set_sharing_by(
    db: &impl GenericClient,
    from: OrgId,
    to: OrgId,
    by: MemberId,
    share: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = if share {
        self::share(db, from, to, by, now_ms).await?.is_ok()
    } else {
        withdraw(db, from, to).await?
    };
    if done {
        let action = if share {
            AuditAction::AggregatesShared { with_org: to }
        } else {
            AuditAction::SharingWithdrawn { with_org: to }
        };
        for side in [from, to] {
            audit::record(db, Some(side), Actor::Member(by), &action, now_ms).await?;
        }
    }
    Ok(done)
}
