//! The people page's store: each member of an organisation with their devices (a lost phone's
//! last contact, the highest change held and the photos that never arrived), whether a sign-in
//! name is taken, and a member's role, group and sign-in changed with their audit records.

use super::StoreError;
use super::audit::{self, Actor, AuditAction};
use super::row::{parsed, wire};
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// A member and their devices.
#[derive(Debug, Clone)]
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
    /// Their phones.
    pub devices: Vec<Device>,
}

/// A member's phone.
#[derive(Debug, Clone)]
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

/// The members of `org` with their phones: present members first, then by role and name.
pub fn people(conn: &Connection, org: &str) -> Result<Vec<Person>, StoreError> {
    let mut people: Vec<Person> = conn
        .prepare_cached(
            "SELECT id, display_name, role, member_group, removed_at_ms IS NOT NULL,
                    login IS NOT NULL
             FROM members
             WHERE org_id = ?1 ORDER BY removed_at_ms IS NOT NULL, role DESC, display_name",
        )?
        .query_map([org], |r| {
            Ok(Person {
                id: parsed(r, 0)?,
                name: r.get(1)?,
                role: wire(r, 2, Role::from_wire)?,
                group: r.get(3)?,
                removed: r.get(4)?,
                signs_in: r.get(5)?,
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
             ORDER BY d.created_at_ms",
        )?
        .query_map([org], |r| {
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
