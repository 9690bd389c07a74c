//! Organisations, members, enrolment codes and devices. Codes and tokens are stored only as
//! SHA-256 hashes; a password only as an argon2id hash.

use super::StoreError;
use super::row::known;
use crate::secrets;
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// Creates an organisation.
pub fn create_org(conn: &Connection, name: &str, now_ms: i64) -> Result<OrgId, StoreError> {
    let id = OrgId::new();
    conn.execute(
        "INSERT INTO orgs (id, name, created_at_ms) VALUES (?1, ?2, ?3)",
        params![id.to_string(), name, now_ms],
    )?;
    Ok(id)
}

/// A new member's details.
#[derive(Debug, Clone)]
pub struct NewMember<'a> {
    /// The organisation.
    pub org: OrgId,
    /// Display name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// Group, e.g. "Nattvandrarna".
    pub group: Option<&'a str>,
    /// Sign-in name for the dashboard (coordinators and admins).
    pub login: Option<&'a str>,
    /// argon2id hash of the password (see [`secrets::hash_password`]).
    pub password_hash: Option<&'a str>,
}

/// Creates a member.
pub fn create_member(
    conn: &Connection,
    member: &NewMember<'_>,
    now_ms: i64,
) -> Result<MemberId, StoreError> {
    let id = MemberId::new();
    conn.execute(
        "INSERT INTO members (id, org_id, display_name, role, member_group, login, password_hash, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.to_string(),
            member.org.to_string(),
            member.name,
            member.role.as_str(),
            member.group,
            member.login,
            member.password_hash,
            now_ms
        ],
    )?;
    Ok(id)
}

/// Creates a one-time enrolment code for `member`, valid for `ttl_ms`. Returns the code; only its
/// hash is stored. `None` if there is no such member.
pub fn create_enrollment_code(
    conn: &Connection,
    member: MemberId,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Option<String>, StoreError> {
    let org: Option<String> = conn
        .query_row(
            // A liaison has no phone; a member who left has none any more.
            "SELECT org_id FROM members
             WHERE id = ?1 AND role <> 'liaison' AND removed_at_ms IS NULL",
            [member.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(org) = org else { return Ok(None) };
    let code = secrets::new_enrollment_code();
    conn.execute(
        "INSERT INTO enrollment_codes (code_hash, org_id, member_id, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            secrets::hash_code(&code),
            org,
            member.to_string(),
            now_ms,
            now_ms + ttl_ms
        ],
    )?;
    Ok(Some(code))
}

/// A device enrolled by redeeming a code.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The new device.
    pub device_id: DeviceId,
    /// Its token (given out once).
    pub token: String,
    /// The organisation.
    pub org_id: OrgId,
    /// The organisation's name.
    pub org_name: String,
    /// The member.
    pub member_id: MemberId,
    /// The member's name.
    pub member_name: String,
    /// The member's role.
    pub role: Role,
}

/// Redeems an unused, unexpired code for a new device. `None` when the code is unknown, used or
/// expired.
pub fn redeem_enrollment_code(
    conn: &Connection,
    code: &str,
    device_name: &str,
    now_ms: i64,
) -> Result<Option<Enrolled>, StoreError> {
    let hash = secrets::hash_code(code);
    let found = conn
        .query_row(
            "SELECT c.member_id, c.org_id, o.name, m.display_name, m.role
             FROM enrollment_codes c JOIN orgs o ON o.id = c.org_id JOIN members m ON m.id = c.member_id
             WHERE c.code_hash = ?1 AND c.used_at_ms IS NULL AND c.expires_at_ms > ?2",
            params![hash, now_ms],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((member, org, org_name, member_name, role)) = found else {
        return Ok(None);
    };
    let device_id = DeviceId::new();
    let token = secrets::new_token();
    conn.execute(
        "INSERT INTO devices (id, org_id, member_id, name, token_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![device_id.to_string(), org, member, device_name, secrets::hash_token(&token), now_ms],
    )?;
    conn.execute(
        "UPDATE enrollment_codes SET used_at_ms = ?2, device_id = ?3 WHERE code_hash = ?1",
        params![hash, now_ms, device_id.to_string()],
    )?;
    Ok(Some(Enrolled {
        device_id,
        token,
        org_id: parse_id(&org)?,
        org_name,
        member_id: parse_id(&member)?,
        member_name,
        role: known(&role, Role::from_wire)?,
    }))
}

/// Who is calling, as established from a device token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCaller {
    /// The device.
    pub device_id: DeviceId,
    /// Its organisation.
    pub org_id: OrgId,
    /// Its member.
    pub member_id: MemberId,
    /// The member's role.
    pub role: Role,
    /// Whether volunteers of the organisation see each other's entries.
    pub volunteers_see_all: bool,
    /// The organisation's retention period, in days.
    pub retention_days: u32,
    /// Whether a coordinator retired the device: it may still hand over what it has not sent.
    pub retired: bool,
}

/// What a token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLookup {
    /// A valid device.
    Valid(DeviceCaller),
    /// A device whose token was revoked (or that wiped itself after it was retired).
    Revoked,
    /// A device a coordinator marked lost: it is told to wipe itself.
    Lost,
    /// No such token.
    Unknown,
}

/// Looks a device up by its bearer token.
pub fn device_by_token(conn: &Connection, token: &str) -> Result<TokenLookup, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT d.id, d.org_id, d.member_id, m.role, d.revoked_at_ms, o.volunteers_see_all,
                    o.retention_days, d.lost_at_ms, d.retired_at_ms
             FROM devices d JOIN members m ON m.id = d.member_id JOIN orgs o ON o.id = d.org_id
             WHERE d.token_hash = ?1",
        )?
        .query_row([secrets::hash_token(token)], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, u32>(6)?,
                r.get::<_, Option<i64>>(7)?,
                r.get::<_, Option<i64>>(8)?,
            ))
        })
        .optional()?;
    Ok(match row {
        None => TokenLookup::Unknown,
        Some((_, _, _, _, Some(_), _)) => TokenLookup::Lost,
        Some((_, Some(_), _, _, None, _)) => TokenLookup::Revoked,
        Some((
            (device, org, member, role),
            None,
            volunteers_see_all,
            retention_days,
            None,
            retired,
        )) => TokenLookup::Valid(DeviceCaller {
            device_id: parse_id(&device)?,
            org_id: parse_id(&org)?,
            member_id: parse_id(&member)?,
            role: known(&role, Role::from_wire)?,
            volunteers_see_all,
            retention_days,
            retired: retired.is_some(),
        }),
    })
}

/// Revokes a device's token; its phone is locked out from the next request on. Returns whether a
/// device in `org` (any organisation when `None`) was revoked.
pub fn revoke_device(
    conn: &Connection,
    device: DeviceId,
    org: Option<OrgId>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE devices SET revoked_at_ms = ?2
         WHERE id = ?1 AND revoked_at_ms IS NULL AND (?3 IS NULL OR org_id = ?3)",
        params![device.to_string(), now_ms, org.map(|o| o.to_string())],
    )?;
    Ok(changed == 1)
}

/// What a coordinator says became of a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMark {
    /// Lost: its token stops working, and at its next contact it is told to wipe itself.
    Lost,
    /// Retired: it may still hand over what it has not sent; then it wipes itself and stops.
    Retired,
}

/// Marks a device of `org` (any organisation when `None`) lost or retired. Returns whether a
/// device still in use was marked. A lost device's dashboard sessions do not exist; its token
/// is answered `device_lost` from now on.
pub fn mark_device(
    conn: &Connection,
    device: DeviceId,
    org: Option<OrgId>,
    mark: DeviceMark,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let sql = match mark {
        DeviceMark::Lost => {
            "UPDATE devices SET lost_at_ms = ?2
             WHERE id = ?1 AND lost_at_ms IS NULL AND wiped_at_ms IS NULL
               AND revoked_at_ms IS NULL AND (?3 IS NULL OR org_id = ?3)"
        }
        DeviceMark::Retired => {
            "UPDATE devices SET retired_at_ms = ?2
             WHERE id = ?1 AND lost_at_ms IS NULL AND retired_at_ms IS NULL
               AND revoked_at_ms IS NULL AND (?3 IS NULL OR org_id = ?3)"
        }
    };
    let changed = conn.execute(
        sql,
        params![device.to_string(), now_ms, org.map(|o| o.to_string())],
    )?;
    Ok(changed == 1)
}

/// A retired device handed over everything and wiped itself: its token is refused from now on.
pub fn device_wiped(conn: &Connection, device: DeviceId, now_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE devices SET wiped_at_ms = ?2, revoked_at_ms = COALESCE(revoked_at_ms, ?2)
         WHERE id = ?1 AND retired_at_ms IS NOT NULL",
        params![device.to_string(), now_ms],
    )?;
    Ok(())
}

/// Removes a member who left `org`: their entries stay, their name is replaced everywhere by
/// "Tidigare medlem N" (N counting the organisation's former members), their sign-in, sessions and
/// devices stop working. Returns the label, or `None` when no such member (still there) exists.
pub fn remove_member(
    conn: &Connection,
    org: OrgId,
    member: MemberId,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let org = org.to_string();
    let member = member.to_string();
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM members WHERE id = ?1 AND org_id = ?2 AND removed_at_ms IS NULL",
            params![member, org],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let number: i64 = conn.query_row(
        "SELECT COALESCE(MAX(former_number), 0) + 1 FROM members WHERE org_id = ?1",
        [&org],
        |r| r.get(0),
    )?;
    let label = former_member_label(number);
    conn.execute(
        "UPDATE members SET display_name = ?2, former_number = ?3, removed_at_ms = ?4,
                login = NULL, password_hash = NULL, member_group = NULL
         WHERE id = ?1",
        params![member, label, number, now_ms],
    )?;
    conn.execute("DELETE FROM sessions WHERE member_id = ?1", [&member])?;
    conn.execute(
        "UPDATE devices SET revoked_at_ms = ?2 WHERE member_id = ?1 AND revoked_at_ms IS NULL",
        params![member, now_ms],
    )?;
    conn.execute(
        "UPDATE enrollment_codes SET used_at_ms = ?2 WHERE member_id = ?1 AND used_at_ms IS NULL",
        params![member, now_ms],
    )?;
    Ok(Some(label))
}

/// The neutral label that replaces a former member's name.
pub fn former_member_label(number: i64) -> String {
    format!("Tidigare medlem {number}")
}

/// Sets whether volunteers of `org` see each other's entries.
pub fn set_volunteers_see_all(
    conn: &Connection,
    org: OrgId,
    see_all: bool,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE orgs SET volunteers_see_all = ?2 WHERE id = ?1",
        params![org.to_string(), see_all],
    )?;
    Ok(())
}

/// Parses an id stored as text.
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| {
        StoreError::Sqlite(rusqlite::Error::InvalidColumnType(
            0,
            format!("not a UUID: {text}"),
            rusqlite::types::Type::Text,
        ))
    })
}

/// The organisation of `member`, if there is such a member.
pub fn org_of_member(conn: &Connection, member: MemberId) -> Result<Option<OrgId>, StoreError> {
    let org: Option<String> = conn
        .query_row(
            "SELECT org_id FROM members WHERE id = ?1",
            [member.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    org.as_deref().map(parse_id).transpose()
}

/// The organisation of `device`, if there is such a device.
pub fn org_of_device(conn: &Connection, device: DeviceId) -> Result<Option<OrgId>, StoreError> {
    let org: Option<String> = conn
        .query_row(
            "SELECT org_id FROM devices WHERE id = ?1",
            [device.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    org.as_deref().map(parse_id).transpose()
}

/// The member called `display_name` in the organisation called `org_name`, if there is one.
pub fn member_by_names(
    conn: &Connection,
    org_name: &str,
    display_name: &str,
) -> Result<Option<(OrgId, MemberId)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT o.id, m.id FROM orgs o JOIN members m ON m.org_id = o.id
             WHERE o.name = ?1 AND m.display_name = ?2",
        )?
        .query_row(params![org_name, display_name], |r| {
            Ok((super::row::parsed(r, 0)?, super::row::parsed(r, 1)?))
        })
        .optional()?)
}

/// The organisation's first admin (by when they were added), if it has one.
pub fn first_admin(conn: &Connection, org: OrgId) -> Result<Option<MemberId>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM members WHERE org_id = ?1 AND role = 'admin' AND removed_at_ms IS NULL
             ORDER BY rowid LIMIT 1",
        )?
        .query_row([org.to_string()], |r| super::row::parsed(r, 0))
        .optional()?)
}

/// Devices and enrolment as the device endpoints use them.
impl super::SqliteStore {
    /// Who the device holding `token` is, from a read connection.
    pub async fn device_by_token(&self, token: String) -> Result<TokenLookup, StoreError> {
        self.read(move |conn| device_by_token(conn, &token)).await
    }

    /// Redeems an enrolment code for a new device called `device_name` (see
    /// [`redeem_enrollment_code`]).
    pub async fn redeem_enrollment_code(
        &self,
        code: String,
        device_name: String,
        now_ms: i64,
    ) -> Result<Option<Enrolled>, StoreError> {
        self.write(move |conn| redeem_enrollment_code(conn, &code, &device_name, now_ms))
            .await
    }

    /// Notes that a retired device wiped itself.
    pub async fn device_wiped(&self, device: DeviceId, now_ms: i64) -> Result<(), StoreError> {
        self.write(move |conn| device_wiped(conn, device, now_ms))
            .await
    }
}
