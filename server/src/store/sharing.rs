//! Tiers: an association shares its aggregates with a municipality-level organisation (and can
//! withdraw that); the municipality's coordinators and liaisons then see a combined situation
//! report over its own entries and those of every association that shares with it. Only
//! aggregates cross an organisation's boundary, never an entry.

use super::row::known;
use crate::store::accounts::parse_id;
use crate::store::audit::{self, Actor, AuditAction};
use crate::store::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::{MemberId, OrgId};

/// What kind of organisation it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgLevel {
    /// Night walkers, guards, parent walkers, neighbourhood watch: logs entries.
    Association,
    /// A municipality (or its safety coordination): associations may share aggregates with it.
    Municipality,
}

impl OrgLevel {
    /// The name stored and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Association => "association",
            Self::Municipality => "municipality",
        }
    }

    /// The level with this name.
    pub fn from_wire(text: &str) -> Option<Self> {
        match text {
            "association" => Some(Self::Association),
            "municipality" => Some(Self::Municipality),
            _ => None,
        }
    }
}

/// Sets `org`'s level.
pub fn set_level(conn: &Connection, org: OrgId, level: OrgLevel) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE orgs SET level = ?2 WHERE id = ?1",
        params![org.to_string(), level.as_str()],
    )?;
    Ok(())
}

/// `org`'s level.
pub fn level(conn: &Connection, org: OrgId) -> Result<OrgLevel, StoreError> {
    let text: String = conn.query_row(
        "SELECT level FROM orgs WHERE id = ?1",
        [org.to_string()],
        |r| r.get(0),
    )?;
    known(&text, OrgLevel::from_wire)
}

/// An organisation by id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName {
    /// Its id.
    pub id: OrgId,
    /// Its name.
    pub name: String,
}

fn org_names(conn: &Connection, sql: &str, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, name)| {
            Ok(OrgName {
                id: parse_id(&id)?,
                name,
            })
        })
        .collect()
}

/// The municipality-level organisations `org` could share with (every one but itself).
pub fn municipalities(conn: &Connection, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        conn,
        "SELECT id, name FROM orgs WHERE level = 'municipality' AND id <> ?1 ORDER BY name, id",
        org,
    )
}

/// The organisations `org` shares its aggregates with.
pub fn shares_of(conn: &Connection, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        conn,
        "SELECT o.id, o.name FROM shares s JOIN orgs o ON o.id = s.to_org
         WHERE s.from_org = ?1 ORDER BY o.name, o.id",
        org,
    )
}

/// The organisations that share their aggregates with `org`.
pub fn sharing_with(conn: &Connection, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
    org_names(
        conn,
        "SELECT o.id, o.name FROM shares s JOIN orgs o ON o.id = s.from_org
         WHERE s.to_org = ?1 ORDER BY o.name, o.id",
        org,
    )
}

/// Why a share was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefused {
    /// The receiving organisation does not exist or is not municipality-level.
    #[error("aggregates can only be shared with a municipality-level organisation")]
    NotAMunicipality,
}

/// `from` shares its aggregates with `to` (a municipality-level organisation), as `by`.
/// Sharing again changes nothing.
pub fn share(
    conn: &Connection,
    from: OrgId,
    to: OrgId,
    by: MemberId,
    now_ms: i64,
) -> Result<Result<(), ShareRefused>, StoreError> {
    let is_municipality: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM orgs WHERE id = ?1 AND level = 'municipality' AND id <> ?2",
            params![to.to_string(), from.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if is_municipality.is_none() {
        return Ok(Err(ShareRefused::NotAMunicipality));
    }
    conn.execute(
        "INSERT OR IGNORE INTO shares (from_org, to_org, shared_at_ms, shared_by) VALUES (?1, ?2, ?3, ?4)",
        params![from.to_string(), to.to_string(), now_ms, by.to_string()],
    )?;
    Ok(Ok(()))
}

/// `from` stops sharing with `to`. Returns whether it shared.
pub fn withdraw(conn: &Connection, from: OrgId, to: OrgId) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "DELETE FROM shares WHERE from_org = ?1 AND to_org = ?2",
        params![from.to_string(), to.to_string()],
    )? == 1)
}

/// Sharing as the report pages read it, on either backend.
impl Store {
    /// The organisations that share their aggregates with `org`, by name.
    pub async fn sharing_with(&self, org: OrgId) -> Result<Vec<OrgName>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| sharing_with(c, org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::sharing::sharing_with(db, org).await
            })).await,
        )
    }
}

/// The settings page's view of sharing: the municipality-level organisations `org` could share
/// with, those it shares with, and those that share with it — each by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingOverview {
    /// See [`municipalities`].
    pub municipalities: Vec<OrgName>,
    /// See [`shares_of`].
    pub ours: Vec<OrgName>,
    /// See [`sharing_with`].
    pub theirs: Vec<OrgName>,
}

/// `org`'s sharing in one read.
pub fn overview(conn: &Connection, org: OrgId) -> Result<SharingOverview, StoreError> {
    Ok(SharingOverview {
        municipalities: municipalities(conn, org)?,
        ours: shares_of(conn, org)?,
        theirs: sharing_with(conn, org)?,
    })
}

/// `from` starts (`share`) or stops sharing its aggregates with `to`, by `by`; when that changed
/// anything allowed, it is recorded in both organisations' audit chains in the same write job.
/// Whether it was done (a share with an organisation that is not municipality-level, or a
/// withdrawal of a share that did not exist, is not).
pub fn set_sharing_by(
    conn: &Connection,
    from: OrgId,
    to: OrgId,
    by: MemberId,
    share: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let done = if share {
        self::share(conn, from, to, by, now_ms)?.is_ok()
    } else {
        withdraw(conn, from, to)?
    };
    if done {
        let action = if share {
            AuditAction::AggregatesShared { with_org: to }
        } else {
            AuditAction::SharingWithdrawn { with_org: to }
        };
        for side in [from, to] {
            audit::record(conn, Some(side), Actor::Member(by), &action, now_ms)?;
        }
    }
    Ok(done)
}

/// The settings page's sharing on either backend.
impl Store {
    /// `org`'s sharing (see [`overview`]).
    pub async fn sharing_overview(&self, org: OrgId) -> Result<SharingOverview, StoreError> {
        on_backend!(self,
            s => s.read(move |c| overview(c, org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::sharing::overview(db, org).await
            })).await,
        )
    }

    /// `from` starts or stops sharing with `to`, by `by`, recorded on both sides (see
    /// [`set_sharing_by`]); whether it was done.
    pub async fn set_sharing_by(
        &self,
        from: OrgId,
        to: OrgId,
        by: MemberId,
        share: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| set_sharing_by(c, from, to, by, share, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::sharing::set_sharing_by(tx, from, to, by, share, now_ms).await
            })).await,
        )
    }
}
