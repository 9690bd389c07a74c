//! Organisations, members, enrolment codes and device tokens on PostgreSQL: the same rules as
//! [`crate::store::accounts`] on SQLite. A code is claimed by one atomic update, so two server
//! processes redeeming it at once enrol one device.

use super::ops::parsed;
use crate::secrets;
use crate::store::StoreError;
use crate::store::accounts::{
    DeviceCaller, DeviceMark, Enrolled, NewMember, TokenLookup, former_member_label,
};
use crate::store::row::known;
use deadpool_postgres::GenericClient;
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// Creates an organisation.
pub async fn create_org(
    db: &impl GenericClient,
    name: &str,
    now_ms: i64,
) -> Result<OrgId, StoreError> {
    let id = OrgId::new();
    db.execute(
        "INSERT INTO orgs (id, name, created_at_ms) VALUES ($1, $2, $3)",
        &[&id.to_string(), &name, &now_ms],
    )
    .await?;
    Ok(id)
}

/// Creates a member.
pub async fn create_member(
    db: &impl GenericClient,
    member: &NewMember<'_>,
    now_ms: i64,
) -> Result<MemberId, StoreError> {
    let id = MemberId::new();
    db.execute(
        "INSERT INTO members (id, org_id, display_name, role, member_group, login, password_hash,
                              created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id.to_string(),
            &member.org.to_string(),
            &member.name,
            &member.role.as_str(),
            &member.group,
            &member.login,
            &member.password_hash,
            &now_ms,
        ],
    )
    .await?;
    Ok(id)
}

/// Creates a one-time enrolment code for `member`, valid for `ttl_ms`; only its hash is stored.
/// `None` if there is no such member (or one who cannot have a phone).
pub async fn create_enrollment_code(
    db: &impl GenericClient,
    member: MemberId,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Option<String>, StoreError> {
    let code = secrets::new_enrollment_code();
    let made = db
        .execute(
            // A liaison has no phone; a member who left has none any more.
            "INSERT INTO enrollment_codes (code_hash, org_id, member_id, created_at_ms,
                                           expires_at_ms)
             SELECT $1, org_id, id, $3, $4 FROM members
             WHERE id = $2 AND role <> 'liaison' AND removed_at_ms IS NULL",
            &[
                &secrets::hash_code(&code),
                &member.to_string(),
                &now_ms,
                &now_ms.saturating_add(ttl_ms),
            ],
        )
        .await?;
    Ok((made == 1).then_some(code))
}

/// Redeems an unused, unexpired code for a new device. `None` when the code is unknown, used or
/// expired.
pub async fn redeem_enrollment_code(
    db: &impl GenericClient,
    code: &str,
    device_name: &str,
    now_ms: i64,
) -> Result<Option<Enrolled>, StoreError> {
    let device_id = DeviceId::new();
    let claimed = db
        .query_opt(
            "UPDATE enrollment_codes c SET used_at_ms = $2, device_id = $3
             FROM orgs o, members m
             WHERE c.code_hash = $1 AND c.used_at_ms IS NULL AND c.expires_at_ms > $2
               AND o.id = c.org_id AND m.id = c.member_id
             RETURNING c.member_id, c.org_id, o.name, m.display_name, m.role",
            &[&secrets::hash_code(code), &now_ms, &device_id.to_string()],
        )
        .await?;
    let Some(row) = claimed else {
        return Ok(None);
    };
    let token = secrets::new_token();
    let member: String = row.try_get(0)?;
    let org: String = row.try_get(1)?;
    db.execute(
        "INSERT INTO devices (id, org_id, member_id, name, token_hash, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &device_id.to_string(),
            &org,
            &member,
            &device_name,
            &secrets::hash_token(&token),
            &now_ms,
        ],
    )
    .await?;
    Ok(Some(Enrolled {
        device_id,
        token,
        org_id: parsed(&row, 1)?,
        org_name: row.try_get(2)?,
        member_id: parsed(&row, 0)?,
        member_name: row.try_get(3)?,
        role: known(row.try_get(4)?, Role::from_wire)?,
    }))
}

/// Who the device holding `token` is.
pub async fn device_by_token(
    db: &impl GenericClient,
    token: &str,
) -> Result<TokenLookup, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT d.id, d.org_id, d.member_id, m.role, d.revoked_at_ms IS NOT NULL,
                    o.volunteers_see_all, o.retention_days, d.lost_at_ms IS NOT NULL,
                    d.retired_at_ms IS NOT NULL
             FROM devices d JOIN members m ON m.id = d.member_id JOIN orgs o ON o.id = d.org_id
             WHERE d.token_hash = $1",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&secrets::hash_token(token)]).await? else {
        return Ok(TokenLookup::Unknown);
    };
    if row.try_get::<_, bool>(7)? {
        return Ok(TokenLookup::Lost);
    }
    if row.try_get::<_, bool>(4)? {
        return Ok(TokenLookup::Revoked);
    }
    let retention_days: i64 = row.try_get(6)?;
    Ok(TokenLookup::Valid(DeviceCaller {
        device_id: parsed(&row, 0)?,
        org_id: parsed(&row, 1)?,
        member_id: parsed(&row, 2)?,
        role: known(row.try_get(3)?, Role::from_wire)?,
        volunteers_see_all: row.try_get(5)?,
        retention_days: u32::try_from(retention_days)
            .map_err(|_| StoreError::Damaged(format!("retention days {retention_days}")))?,
        retired: row.try_get(8)?,
    }))
}

/// Revokes a device's token; whether a device in `org` (any organisation when `None`) was
/// revoked.
pub async fn revoke_device(
    db: &impl GenericClient,
    device: DeviceId,
    org: Option<OrgId>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "UPDATE devices SET revoked_at_ms = $2
             WHERE id = $1 AND revoked_at_ms IS NULL AND ($3::text IS NULL OR org_id = $3)",
            &[&device.to_string(), &now_ms, &org.map(|o| o.to_string())],
        )
        .await?;
    Ok(changed == 1)
}

/// Marks a device of `org` (any organisation when `None`) lost or retired; whether a device
/// still in use was marked.
pub async fn mark_device(
    db: &impl GenericClient,
    device: DeviceId,
    org: Option<OrgId>,
    mark: DeviceMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let sql = match mark {
        DeviceMark::Lost => {
            "UPDATE devices SET lost_at_ms = $2
             WHERE id = $1 AND lost_at_ms IS NULL AND wiped_at_ms IS NULL
               AND revoked_at_ms IS NULL AND ($3::text IS NULL OR org_id = $3)"
        }
        DeviceMark::Retired => {
            "UPDATE devices SET retired_at_ms = $2
             WHERE id = $1 AND lost_at_ms IS NULL AND retired_at_ms IS NULL
               AND revoked_at_ms IS NULL AND ($3::text IS NULL OR org_id = $3)"
        }
    };
    let changed = db
        .execute(
            sql,
            &[&device.to_string(), &now_ms, &org.map(|o| o.to_string())],
        )
        .await?;
    Ok(changed == 1)
}

/// A retired device handed over everything and wiped itself: its token is refused from now on.
pub async fn device_wiped(
    db: &impl GenericClient,
    device: DeviceId,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE devices SET wiped_at_ms = $2, revoked_at_ms = COALESCE(revoked_at_ms, $2)
         WHERE id = $1 AND retired_at_ms IS NOT NULL",
        &[&device.to_string(), &now_ms],
    )
    .await?;
    Ok(())
}

/// Removes a member who left `org` (see [`crate::store::accounts::remove_member`]); the label
/// that replaces their name, or `None` when no such member (still there) exists.
pub async fn remove_member(
    db: &impl GenericClient,
    org: OrgId,
    member: MemberId,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let org = org.to_string();
    let member = member.to_string();
    if db
        .query_opt(
            "SELECT 1 FROM members WHERE id = $1 AND org_id = $2 AND removed_at_ms IS NULL",
            &[&member, &org],
        )
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let number: i64 = db
        .query_one(
            "SELECT COALESCE(MAX(former_number), 0) + 1 FROM members WHERE org_id = $1",
            &[&org],
        )
        .await?
        .try_get(0)?;
    let label = former_member_label(number);
    db.execute(
        "UPDATE members SET display_name = $2, former_number = $3, removed_at_ms = $4,
                login = NULL, password_hash = NULL, member_group = NULL
         WHERE id = $1",
        &[&member, &label, &number, &now_ms],
    )
    .await?;
    db.execute("DELETE FROM sessions WHERE member_id = $1", &[&member])
        .await?;
    db.execute(
        "UPDATE devices SET revoked_at_ms = $2 WHERE member_id = $1 AND revoked_at_ms IS NULL",
        &[&member, &now_ms],
    )
    .await?;
    db.execute(
        "UPDATE enrollment_codes SET used_at_ms = $2 WHERE member_id = $1 AND used_at_ms IS NULL",
        &[&member, &now_ms],
    )
    .await?;
    Ok(Some(label))
}

/// Sets whether volunteers of `org` see each other's entries.
pub async fn set_volunteers_see_all(
    db: &impl GenericClient,
    org: OrgId,
    see_all: bool,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE orgs SET volunteers_see_all = $2 WHERE id = $1",
        &[&org.to_string(), &see_all],
    )
    .await?;
    Ok(())
}

/// The organisation of `device`, if there is such a device.
pub async fn org_of_device(
    db: &impl GenericClient,
    device: DeviceId,
) -> Result<Option<OrgId>, StoreError> {
    db.query_opt(
        "SELECT org_id FROM devices WHERE id = $1",
        &[&device.to_string()],
    )
    .await?
    .map(|row| parsed(&row, 0))
    .transpose()
}

/// The organisation called `org_name` and its member called `display_name`, if both exist.
pub async fn member_by_names(
    db: &impl GenericClient,
    org_name: &str,
    display_name: &str,
) -> Result<Option<(OrgId, MemberId)>, StoreError> {
    let row = db
        .query_opt(
            "SELECT o.id, m.id FROM orgs o JOIN members m ON m.org_id = o.id
             WHERE o.name = $1 AND m.display_name = $2",
            &[&org_name, &display_name],
        )
        .await?;
    row.map(|r| Ok((parsed(&r, 0)?, parsed(&r, 1)?)))
        .transpose()
}
