//! Messages to the walkers' phones, as the dashboard's messages page reads them: each message
//! of an organisation with how many phones received it and how many marked it read (distinct
//! devices whose receipt says so), and a member's area, which decides the messages to an area
//! their phones pull. Messages are written as ops through the server-side device
//! (`Store::write_as_member`), like every dashboard write.

use super::audit::{self, Actor, AuditAction};
use super::row::parsed;
use super::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use vaka_shared::merge::EntityState;
use vaka_shared::model::{Audience, MessageFields};
use vaka_shared::{AreaId, EntityId, MemberId, OrgId, Timestamp};

/// A message as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageListing {
    /// The message.
    pub id: EntityId,
    /// The coordinator who sent it.
    pub author: MemberId,
    /// Its text.
    pub text: String,
    /// Who it is for.
    pub audience: Option<Audience>,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
    /// When it ends (or ended).
    pub ends_at: Option<Timestamp>,
    /// Phones that received it.
    pub received: u64,
    /// Phones on which it was marked read.
    pub read: u64,
}

impl MessageListing {
    /// Whether it is still shown at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.ends_at.is_some_and(|e| e.unix_ms() > now_ms)
    }
}

/// A message's listing from its stored state and counts; newest sent first is the caller's
/// order ([`sort`]).
pub fn listing(
    id: EntityId,
    author: MemberId,
    state: &str,
    received: u64,
    read: u64,
) -> Result<MessageListing, StoreError> {
    let state: EntityState = serde_json::from_str(state)?;
    let fields: MessageFields = serde_json::from_value(Value::Object(state.values()))?;
    Ok(MessageListing {
        id,
        author,
        text: fields.text.unwrap_or_default(),
        audience: fields.audience,
        sent_at: fields.sent_at,
        ends_at: fields.ends_at,
        received,
        read,
    })
}

/// Newest sent first, then by id.
pub fn sort(messages: &mut [MessageListing]) {
    messages.sort_by(|a, b| b.sent_at.cmp(&a.sent_at).then(b.id.cmp(&a.id)));
}

/// The messages of `org` with their counts.
pub fn messages(conn: &Connection, org: OrgId) -> Result<Vec<MessageListing>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.author, m.state,
                (SELECT COUNT(DISTINCT o.device_id) FROM entities r JOIN ops o ON o.seq = r.created_seq
                 WHERE r.org_id = m.org_id AND r.kind = 'message_receipt'
                   AND json_extract(r.state, '$.message_id.v') = m.id),
                (SELECT COUNT(DISTINCT o.device_id) FROM entities r JOIN ops o ON o.seq = r.created_seq
                 WHERE r.org_id = m.org_id AND r.kind = 'message_receipt'
                   AND json_extract(r.state, '$.message_id.v') = m.id
                   AND json_extract(r.state, '$.read_at.v') IS NOT NULL)
         FROM entities m WHERE m.org_id = ?1 AND m.kind = 'message'",
    )?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
            Ok((
                parsed::<EntityId>(r, 0)?,
                parsed::<MemberId>(r, 1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut listed = rows
        .into_iter()
        .map(|(id, author, state, received, read)| {
            listing(id, author, &state, received as u64, read as u64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    sort(&mut listed);
    Ok(listed)
}

/// Why a member's area was not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AreaRefused {
    /// No such member in the organisation.
    #[error("no such member")]
    NoMember,
    /// No such area in the organisation, or it is archived.
    #[error("no such area")]
    NoArea,
}

/// Sets (or clears) the area of `member` of `org`, by `by`, with its audit record when it
/// changed.
pub fn set_member_area(
    conn: &Connection,
    org: OrgId,
    by: Actor,
    member: MemberId,
    area: Option<AreaId>,
    now_ms: i64,
) -> Result<Result<(), AreaRefused>, StoreError> {
    let (org_text, member_text) = (org.to_string(), member.to_string());
    let before: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT area_id FROM members WHERE id = ?1 AND org_id = ?2 AND removed_at_ms IS NULL",
        )?
        .query_row([&member_text, &org_text], |r| r.get(0))
        .optional()?;
    let Some(before) = before else {
        return Ok(Err(AreaRefused::NoMember));
    };
    if let Some(area) = area {
        let known = conn
            .prepare_cached(
                "SELECT 1 FROM areas WHERE id = ?1 AND org_id = ?2 AND archived_at_ms IS NULL",
            )?
            .query_row([area.to_string(), org_text.clone()], |_| Ok(()))
            .optional()?;
        if known.is_none() {
            return Ok(Err(AreaRefused::NoArea));
        }
    }
    let after = area.map(|a| a.to_string());
    if before == after {
        return Ok(Ok(()));
    }
    conn.prepare_cached("UPDATE members SET area_id = ?3 WHERE id = ?1 AND org_id = ?2")?
        .execute(params![member_text, org_text, after])?;
    let action = AuditAction::MemberAreaChanged {
        member,
        from: before.and_then(|a| a.parse().ok()),
        to: area,
    };
    audit::record(conn, Some(org), by, &action, now_ms)?;
    Ok(Ok(()))
}

/// The area of each member of `org` that has one.
pub fn member_areas(conn: &Connection, org: OrgId) -> Result<Vec<(MemberId, AreaId)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, area_id FROM members WHERE org_id = ?1 AND area_id IS NOT NULL",
    )?;
    let rows = stmt
        .query_map([org.to_string()], |r| Ok((parsed(r, 0)?, parsed(r, 1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

impl Store {
    /// The messages of `org`, newest sent first, with how many phones received and read each.
    pub async fn messages(&self, org: OrgId) -> Result<Vec<MessageListing>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| messages(c, org)).await,
            p => p.read(move |c| Box::pin(async move {
                postgres::messages::messages(c, org).await
            })).await,
        )
    }

    /// Sets (or clears) a member's area, by `by`, with its audit record.
    pub async fn set_member_area(
        &self,
        org: OrgId,
        by: Actor,
        member: MemberId,
        area: Option<AreaId>,
        now_ms: i64,
    ) -> Result<Result<(), AreaRefused>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| set_member_area(c, org, by, member, area, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::messages::set_member_area(tx, org, by, member, area, now_ms).await
            })).await,
        )
    }

    /// The area of each member of `org` that has one.
    pub async fn member_areas(&self, org: OrgId) -> Result<Vec<(MemberId, AreaId)>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| member_areas(c, org)).await,
            p => p.read(move |c| Box::pin(async move {
                postgres::messages::member_areas(c, org).await
            })).await,
        )
    }
}
