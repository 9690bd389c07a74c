//! Organisations, members, enrolment codes and devices. Codes and tokens are stored only as
//! SHA-256 hashes; a password only as an argon2id hash.

use super::StoreError;
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
            "SELECT org_id FROM members WHERE id = ?1",
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
        role: Role::from_wire(&role).unwrap_or(Role::Volunteer),
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
}

/// What a token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLookup {
    /// A valid device.
    Valid(DeviceCaller),
    /// A device whose token was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// Looks a device up by its bearer token.
pub fn device_by_token(conn: &Connection, token: &str) -> Result<TokenLookup, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT d.id, d.org_id, d.member_id, m.role, d.revoked_at_ms, o.volunteers_see_all
             FROM devices d JOIN members m ON m.id = d.member_id JOIN orgs o ON o.id = d.org_id
             WHERE d.token_hash = ?1",
        )?
        .query_row([secrets::hash_token(token)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })
        .optional()?;
    Ok(match row {
        None => TokenLookup::Unknown,
        Some((_, _, _, _, Some(_), _)) => TokenLookup::Revoked,
        Some((device, org, member, role, None, volunteers_see_all)) => {
            TokenLookup::Valid(DeviceCaller {
                device_id: parse_id(&device)?,
                org_id: parse_id(&org)?,
                member_id: parse_id(&member)?,
                role: Role::from_wire(&role).unwrap_or(Role::Volunteer),
                volunteers_see_all,
            })
        }
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
