//! The people page's store on PostgreSQL, as [`crate::store::people`] on SQLite: each member of
//! an organisation with their phones (a lost phone's photos that never arrived counted the same
//! way), whether a sign-in name is taken, and what a coordinator or admin does to members and
//! their phones, each in the caller's write job with its audit record.

use super::{accounts, audit, ops::parsed, ops::parsed_opt};
use crate::store::StoreError;
use crate::store::accounts::{DeviceMark, NewMember};
use crate::store::admin::MemberToAdd;
use crate::store::audit::{Actor, AuditAction};
use crate::store::people::{Device, MemberChange, Person};
use crate::store::row::known;
use deadpool_postgres::GenericClient;
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// The members of `org` with their phones: present members first, then by role and name (and
/// id), compared byte by byte as SQLite does; each one's phones in the order they were enrolled.
pub async fn people(db: &impl GenericClient, org: OrgId) -> Result<Vec<Person>, StoreError> {
    let org = org.to_string();
    let members = db
        .prepare_cached(
            "SELECT id, display_name, role, member_group, removed_at_ms IS NOT NULL,
                    login IS NOT NULL, area_id
             FROM members
             WHERE org_id = $1
             ORDER BY removed_at_ms IS NOT NULL, role COLLATE \"C\" DESC,
                      display_name COLLATE \"C\", id",
        )
        .await?;
    let mut people = db
        .query(&members, &[&org])
        .await?
        .iter()
        .map(|r| {
            Ok(Person {
                id: parsed(r, 0)?,
                name: r.try_get(1)?,
                role: known(r.try_get(2)?, Role::from_wire)?,
                group: r.try_get(3)?,
                removed: r.try_get(4)?,
                signs_in: r.try_get(5)?,
                area: parsed_opt(r, 6)?,
                devices: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let devices = db
        .prepare_cached(
            "SELECT d.member_id, d.id, d.name, d.last_sync_at_ms, d.revoked_at_ms IS NOT NULL,
                    d.lost_at_ms IS NOT NULL, d.retired_at_ms IS NOT NULL,
                    d.wiped_at_ms IS NOT NULL, d.last_seq,
                    CASE WHEN d.lost_at_ms IS NULL THEN 0 ELSE (
                        SELECT COUNT(DISTINCT a ->> 'sha256')
                        FROM entities e,
                             jsonb_array_elements(
                                 CASE jsonb_typeof((e.state::jsonb) #> '{attachments,v}')
                                 WHEN 'array' THEN (e.state::jsonb) #> '{attachments,v}'
                                 ELSE '[]'::jsonb END) a
                        WHERE e.org_id = d.org_id
                          AND e.id IN (SELECT entity_id FROM ops WHERE device_id = d.id)
                          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.org_id = d.org_id
                                          AND b.sha256 = a ->> 'sha256'
                                          AND b.completed_at_ms IS NOT NULL)) END
             FROM devices d
             WHERE d.org_id = $1 AND d.id NOT IN (SELECT device_id FROM dashboard_devices)
             ORDER BY d.created_at_ms, d.id",
        )
        .await?;
    for r in db.query(&devices, &[&org]).await? {
        let member: MemberId = parsed(&r, 0)?;
        let device = Device {
            id: parsed(&r, 1)?,
            name: r.try_get(2)?,
            last_sync_ms: r.try_get(3)?,
            revoked: r.try_get(4)?,
            lost: r.try_get(5)?,
            retired: r.try_get(6)?,
            wiped: r.try_get(7)?,
            last_seq: r.try_get(8)?,
            photos_missing: r.try_get(9)?,
        };
        if let Some(p) = people.iter_mut().find(|p| p.id == member) {
            p.devices.push(device);
        }
    }
    Ok(people)
}

/// Whether any member has the sign-in name `login`.
pub async fn login_taken(db: &impl GenericClient, login: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_opt("SELECT 1 FROM members WHERE login = $1", &[&login])
        .await?
        .is_some())
}

/// The members of `org` with their phones, and whether `login` is taken.
pub async fn people_and_login_taken(
    db: &impl GenericClient,
    org: OrgId,
    login: &str,
) -> Result<(Vec<Person>, bool), StoreError> {
    Ok((people(db, org).await?, login_taken(db, login).await?))
}

/// The display name of `member` of `org`, if there is such a member.
pub async fn display_name(
    db: &impl GenericClient,
    org: OrgId,
    member: MemberId,
) -> Result<Option<String>, StoreError> {
    db.query_opt(
        "SELECT display_name FROM members WHERE id = $1 AND org_id = $2",
        &[&member.to_string(), &org.to_string()],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(StoreError::from)
}

/// Changes a member of `org` by `by` (see [`crate::store::people::change_member`]): each change
/// of role or group recorded; a changed role ends their sessions.
pub async fn change_member(
    db: &impl GenericClient,
    org: OrgId,
    by: Actor,
    change: &MemberChange,
    now_ms: i64,
) -> Result<(), StoreError> {
    let member = change.member;
    let (member_text, org_text) = (member.to_string(), org.to_string());
    let (role, group) = &change.after;
    if change.before.0 != *role {
        db.execute(
            "UPDATE members SET role = $2 WHERE id = $1 AND org_id = $3",
            &[&member_text, &role.as_str(), &org_text],
        )
        .await?;
        db.execute("DELETE FROM sessions WHERE member_id = $1", &[&member_text])
            .await?;
        let action = AuditAction::MemberRoleChanged {
            member,
            from: change.before.0.as_str().to_owned(),
            to: role.as_str().to_owned(),
        };
        audit::record(db, Some(org), by, &action, now_ms).await?;
    }
    if change.before.1 != *group {
        db.execute(
            "UPDATE members SET member_group = $2 WHERE id = $1 AND org_id = $3",
            &[&member_text, group, &org_text],
        )
        .await?;
        let action = AuditAction::MemberGroupChanged {
            member,
            from: change.before.1.clone(),
            to: group.clone(),
        };
        audit::record(db, Some(org), by, &action, now_ms).await?;
    }
    if let Some((login, hash)) = &change.sign_in {
        db.execute(
            "UPDATE members SET login = $2, password_hash = $3 WHERE id = $1 AND org_id = $4",
            &[&member_text, login, hash, &org_text],
        )
        .await?;
    }
    Ok(())
}

/// Adds `member` by `by`, with its audit record; `None` when its sign-in name is taken by then.
pub async fn add_member_by(
    db: &impl GenericClient,
    by: MemberId,
    member: &MemberToAdd,
    now_ms: i64,
) -> Result<Option<MemberId>, StoreError> {
    if let Some(login) = &member.login
        && login_taken(db, login).await?
    {
        return Ok(None);
    }
    let new = NewMember {
        org: member.org,
        name: &member.name,
        role: member.role,
        group: member.group.as_deref(),
        login: member.login.as_deref(),
        password_hash: member.password_hash.as_deref(),
    };
    let id = accounts::create_member(db, &new, now_ms).await?;
    let action = AuditAction::MemberCreated {
        member: id,
        role: member.role.as_str().to_owned(),
        group: member.group.clone(),
    };
    audit::record(db, Some(member.org), Actor::Member(by), &action, now_ms).await?;
    Ok(Some(id))
}

/// A one-time enrolment code for `member` of `org` by `by`, recorded: the member's name and the
/// code, or `None` when there is no such member (or one who cannot have a phone).
pub async fn enrolment_code_by(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    member: MemberId,
    ttl_ms: i64,
    now_ms: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(name) = display_name(db, org, member).await? else {
        return Ok(None);
    };
    let code = accounts::create_enrollment_code(db, member, now_ms, ttl_ms).await?;
    if code.is_some() {
        let created = AuditAction::EnrolmentCodeCreated { member };
        audit::record(db, Some(org), Actor::Member(by), &created, now_ms).await?;
    }
    Ok(code.map(|c| (name, c)))
}

/// Revokes `device` of `org` by `by`, recorded; whether a device was revoked.
pub async fn revoke_device_by(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    device: DeviceId,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let revoked = accounts::revoke_device(db, device, Some(org), now_ms).await?;
    if revoked {
        let action = AuditAction::DeviceRevoked { device };
        audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    }
    Ok(revoked)
}

/// Marks `device` of `org` lost or retired by `by`, recorded; whether a device still in use
/// was marked.
pub async fn mark_device_by(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    device: DeviceId,
    mark: DeviceMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let marked = accounts::mark_device(db, device, Some(org), mark, now_ms).await?;
    if marked {
        let action = match mark {
            DeviceMark::Lost => AuditAction::DeviceMarkedLost { device },
            DeviceMark::Retired => AuditAction::DeviceRetired { device },
        };
        audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    }
    Ok(marked)
}

/// Removes `member`, who left `org`, by `by`, recorded; the label that replaces their name, or
/// `None` when no such member is still there.
pub async fn remove_member_by(
    db: &impl GenericClient,
    org: OrgId,
    by: MemberId,
    member: MemberId,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let removed = accounts::remove_member(db, org, member, now_ms).await?;
    if removed.is_some() {
        let action = AuditAction::MemberRemoved { member };
        audit::record(db, Some(org), Actor::Member(by), &action, now_ms).await?;
    }
    Ok(removed)
}
