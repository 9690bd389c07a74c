//! The people page's store: each member of an organisation with their devices (a lost phone's
//! last contact, the highest change held and the photos that never arrived), whether a sign-in
//! name is taken, and what a coordinator or admin does to members and their phones — added,
//! changed, given an enrolment code, removed; phones revoked, marked lost or retired — each in
//! one write job with its audit record.

use super::accounts::{self, DeviceMark, NewMember};
use super::admin::MemberToAdd;
use super::audit::{self, Actor, AuditAction};
use super::row::{parsed, parsed_opt, wire};
use super::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// A member and their devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The member.
    pub id: MemberId,
    /// Their display name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Their group.
    pub group: Option<String>,
    /// Whether they left (their name is the neutral label).
    pub removed: bool,
    /// Whether they have a sign-in name for the dashboard.
    pub signs_in: bool,
    /// Their area, if they have one (messages to it reach their phones).
    pub area: Option<vaka_shared::AreaId>,
    /// Their phones.
    pub devices: Vec<Device>,
}

/// A member's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// When it last synced.
    pub last_sync_ms: Option<i64>,
    /// Whether its token was revoked.
    pub revoked: bool,
    /// Whether it was marked lost.
    pub lost: bool,
    /// Whether it was retired.
    pub retired: bool,
    /// Whether it wiped itself after retiring.
    pub wiped: bool,
    /// The highest number of its changes the server holds.
    pub last_seq: i64,
    /// Photos its entries refer to that never arrived (counted for a lost phone).
    pub photos_missing: i64,
}

/// The members of `org` with their phones: present members first, then by role and name (and
/// id); each one's phones in the order they were enrolled.
pub fn people(conn: &Connection, org: OrgId) -> Result<Vec<Person>, StoreError> {
    let org = org.to_string();
    let mut people: Vec<Person> = conn
        .prepare_cached(
            "SELECT id, display_name, role, member_group, removed_at_ms IS NOT NULL,
                    login IS NOT NULL, area_id
             FROM members
             WHERE org_id = ?1 ORDER BY removed_at_ms IS NOT NULL, role DESC, display_name, id",
        )?
        .query_map([&org], |r| {
            Ok(Person {
                id: parsed(r, 0)?,
                name: r.get(1)?,
                role: wire(r, 2, Role::from_wire)?,
                group: r.get(3)?,
                removed: r.get(4)?,
                signs_in: r.get(5)?,
                area: parsed_opt(r, 6)?,
                devices: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let devices: Vec<(MemberId, Device)> = conn
        .prepare_cached(
            "SELECT d.member_id, d.id, d.name, d.last_sync_at_ms, d.revoked_at_ms IS NOT NULL,
                    d.lost_at_ms IS NOT NULL, d.retired_at_ms IS NOT NULL, d.wiped_at_ms IS NOT NULL,
                    d.last_seq,
                    CASE WHEN d.lost_at_ms IS NULL THEN 0 ELSE (
                        SELECT COUNT(DISTINCT json_extract(a.value, '$.sha256'))
                        FROM entities e, json_each(e.state, '$.attachments.v') a
                        WHERE e.org_id = d.org_id
                          AND e.id IN (SELECT entity_id FROM ops WHERE device_id = d.id)
                          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.org_id = d.org_id
                                          AND b.sha256 = json_extract(a.value, '$.sha256')
                                          AND b.completed_at_ms IS NOT NULL)) END
             FROM devices d
             WHERE d.org_id = ?1 AND d.id NOT IN (SELECT device_id FROM dashboard_devices)
             ORDER BY d.created_at_ms, d.id",
        )?
        .query_map([&org], |r| {
            Ok((
                parsed(r, 0)?,
                Device {
                    id: parsed(r, 1)?,
                    name: r.get(2)?,
                    last_sync_ms: r.get(3)?,
                    revoked: r.get(4)?,
                    lost: r.get(5)?,
                    retired: r.get(6)?,
                    wiped: r.get(7)?,
                    last_seq: r.get(8)?,
                    photos_missing: r.get(9)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (member, device) in devices {
        if let Some(p) = people.iter_mut().find(|p| p.id == member) {
            p.devices.push(device);
        }
    }
    Ok(people)
}

/// Whether any member has the sign-in name `login`.
pub fn login_taken(conn: &Connection, login: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM members WHERE login = ?1")?
        .query_row([login], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A member's role and group as they were and are to be, and a sign-in to give them.
#[derive(Debug, Clone)]
pub struct MemberChange {
    /// The member.
    pub member: MemberId,
    /// Their role and group before.
    pub before: (Role, Option<String>),
    /// Their role and group after.
    pub after: (Role, Option<String>),
    /// A sign-in name and password hash to give them (a role that signs in, first time).
    pub sign_in: Option<(String, String)>,
}

/// Changes a member of `org` by `by`: each change of role or group recorded in the audit log; a
/// changed role ends their sessions (it takes effect at the next sign-in).
pub fn change_member(
    conn: &Connection,
    org: OrgId,
    by: Actor,
    change: &MemberChange,
    now_ms: i64,
) -> Result<(), StoreError> {
    let member = change.member;
    let (member_text, org_text) = (member.to_string(), org.to_string());
    let (role, group) = &change.after;
    if change.before.0 != *role {
        conn.prepare_cached("UPDATE members SET role = ?2 WHERE id = ?1 AND org_id = ?3")?
            .execute(params![member_text, role.as_str(), org_text])?;
        conn.prepare_cached("DELETE FROM sessions WHERE member_id = ?1")?
            .execute([&member_text])?;
        let action = AuditAction::MemberRoleChanged {
            member,
            from: change.before.0.as_str().to_owned(),
            to: role.as_str().to_owned(),
        };
        audit::record(conn, Some(org), by, &action, now_ms)?;
    }
    if change.before.1 != *group {
        conn.prepare_cached("UPDATE members SET member_group = ?2 WHERE id = ?1 AND org_id = ?3")?
            .execute(params![member_text, group, org_text])?;
        let action = AuditAction::MemberGroupChanged {
            member,
            from: change.before.1.clone(),
            to: group.clone(),
        };
        audit::record(conn, Some(org), by, &action, now_ms)?;
    }
    if let Some((login, hash)) = &change.sign_in {
        conn.prepare_cached(
            "UPDATE members SET login = ?2, password_hash = ?3 WHERE id = ?1 AND org_id = ?4",
        )?
        .execute(params![member_text, login, hash, org_text])?;
    }
    Ok(())
}

/// The display name of `member` of `org`, if there is such a member.
pub fn display_name(
    conn: &Connection,
    org: OrgId,
    member: MemberId,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT display_name FROM members WHERE id = ?1 AND org_id = ?2")?
        .query_row([member.to_string(), org.to_string()], |r| r.get(0))
        .optional()?)
}

/// The members of `org` with their phones, and whether any member has the sign-in name
/// `login`, in one read (the people page's forms check both).
pub fn people_and_login_taken(
    conn: &Connection,
    org: OrgId,
    login: &str,
) -> Result<(Vec<Person>, bool), StoreError> {
    Ok((people(conn, org)?, login_taken(conn, login)?))
}

/// Adds `member` by `by`, with its audit record; `None` when the sign-in name it is to have is
/// taken by then.
pub fn add_member_by(
    conn: &Connection,
    by: MemberId,
    member: &MemberToAdd,
    now_ms: i64,
) -> Result<Option<MemberId>, StoreError> {
    if let Some(login) = &member.login
        && login_taken(conn, login)?
    {
        return Ok(None);
    }
    let id = accounts::create_member(
        conn,
        &NewMember {
            org: member.org,
            name: &member.name,
            role: member.role,
            group: member.group.as_deref(),
            login: member.login.as_deref(),
            password_hash: member.password_hash.as_deref(),
        },
        now_ms,
    )?;
    let action = AuditAction::MemberCreated {
        member: id,
        role: member.role.as_str().to_owned(),
        group: member.group.clone(),
    };
    audit::record(conn, Some(member.org), Actor::Member(by), &action, now_ms)?;
    Ok(Some(id))
}

/// A one-time enrolment code for `member` of `org`, valid for `ttl_ms`, made by `by` and
/// recorded: the member's name and the code, or `None` when there is no such member (or one
/// who cannot have a phone).
pub fn enrolment_code_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    member: MemberId,
    ttl_ms: i64,
    now_ms: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(name) = display_name(conn, org, member)? else {
        return Ok(None);
    };
    let code = accounts::create_enrollment_code(conn, member, now_ms, ttl_ms)?;
    if code.is_some() {
        let created = AuditAction::EnrolmentCodeCreated { member };
        audit::record(conn, Some(org), Actor::Member(by), &created, now_ms)?;
    }
    Ok(code.map(|c| (name, c)))
}

/// Revokes `device` of `org` by `by`, with its audit record; whether a device was revoked.
pub fn revoke_device_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    device: DeviceId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let revoked = accounts::revoke_device(conn, device, Some(org), now_ms)?;
    if revoked {
        let action = AuditAction::DeviceRevoked { device };
        audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    }
    Ok(revoked)
}

/// Marks `device` of `org` lost or retired by `by`, with its audit record; whether a device
/// still in use was marked.
pub fn mark_device_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    device: DeviceId,
    mark: DeviceMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let marked = accounts::mark_device(conn, device, Some(org), mark, now_ms)?;
    if marked {
        let action = match mark {
            DeviceMark::Lost => AuditAction::DeviceMarkedLost { device },
            DeviceMark::Retired => AuditAction::DeviceRetired { device },
        };
        audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    }
    Ok(marked)
}

/// Removes `member`, who left `org`, by `by` (see [`accounts::remove_member`]), with its audit
/// record; the label that replaces their name, or `None` when no such member is still there.
pub fn remove_member_by(
    conn: &Connection,
    org: OrgId,
    by: MemberId,
    member: MemberId,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let removed = accounts::remove_member(conn, org, member, now_ms)?;
    if removed.is_some() {
        let action = AuditAction::MemberRemoved { member };
        audit::record(conn, Some(org), Actor::Member(by), &action, now_ms)?;
    }
    Ok(removed)
}

/// The people page's reads and what a coordinator or admin does to members and phones, on
/// either backend; each write one job with its audit records.
impl Store {
    /// The members of `org` with their phones (see [`people`]).
    pub async fn people(&self, org: OrgId) -> Result<Vec<Person>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| people(c, org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::people::people(db, org).await
            })).await,
        )
    }

    /// The members of `org` with their phones and whether `login` is taken, in one read.
    pub async fn people_and_login_taken(
        &self,
        org: OrgId,
        login: String,
    ) -> Result<(Vec<Person>, bool), StoreError> {
        on_backend!(self,
            s => s.read(move |c| people_and_login_taken(c, org, &login)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::people::people_and_login_taken(db, org, &login).await
            })).await,
        )
    }

    /// Adds `member` by `by` (see [`add_member_by`]); `None` when its sign-in name is taken.
    pub async fn add_member_by(
        &self,
        by: MemberId,
        member: MemberToAdd,
        now_ms: i64,
    ) -> Result<Option<MemberId>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| add_member_by(c, by, &member, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::add_member_by(tx, by, &member, now_ms).await
            })).await,
        )
    }

    /// Changes a member of `org` by `by`, each change recorded (see [`change_member`]).
    pub async fn change_member(
        &self,
        org: OrgId,
        by: MemberId,
        change: MemberChange,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let by = Actor::Member(by);
        on_backend!(self,
            s => s.write(move |c| change_member(c, org, by, &change, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::change_member(tx, org, by, &change, now_ms).await
            })).await,
        )
    }

    /// A one-time enrolment code for `member` of `org` by `by`, with the member's name (see
    /// [`enrolment_code_by`]).
    pub async fn enrolment_code_by(
        &self,
        org: OrgId,
        by: MemberId,
        member: MemberId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| enrolment_code_by(c, org, by, member, ttl_ms, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::enrolment_code_by(tx, org, by, member, ttl_ms, now_ms).await
            })).await,
        )
    }

    /// Revokes `device` of `org` by `by`, recorded; whether a device was revoked.
    pub async fn revoke_device_by(
        &self,
        org: OrgId,
        by: MemberId,
        device: DeviceId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| revoke_device_by(c, org, by, device, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::revoke_device_by(tx, org, by, device, now_ms).await
            })).await,
        )
    }

    /// Marks `device` of `org` lost or retired by `by`, recorded; whether it was marked.
    pub async fn mark_device_by(
        &self,
        org: OrgId,
        by: MemberId,
        device: DeviceId,
        mark: DeviceMark,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.write(move |c| mark_device_by(c, org, by, device, mark, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::mark_device_by(tx, org, by, device, mark, now_ms).await
            })).await,
        )
    }

    /// Removes `member`, who left `org`, by `by`, recorded; the label that replaces their name.
    pub async fn remove_member_by(
        &self,
        org: OrgId,
        by: MemberId,
        member: MemberId,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        on_backend!(self,
            s => s.write(move |c| remove_member_by(c, org, by, member, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::people::remove_member_by(tx, org, by, member, now_ms).await
            })).await,
        )
    }
}
