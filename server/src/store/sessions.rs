//! Dashboard sessions: the sign-in candidate, sessions stored only as
//! token hashes with a CSRF token and an expiry, and the server-side device each coordinator's
//! dashboard writes its ops through.

use super::accounts::{DeviceCaller, parse_id};
use super::row::known;
use super::{StoreError, on_backend, postgres};
use crate::secrets;
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// A member who may sign in, with their stored password hash.
#[derive(Debug, Clone)]
pub struct LoginCandidate {
    /// The member.
    pub member_id: MemberId,
    /// The organisation.
    pub org_id: OrgId,
    /// argon2id hash.
    pub password_hash: String,
}

/// The coordinator or admin with sign-in name `login`, if any.
pub fn login_candidate(
    conn: &Connection,
    login: &str,
) -> Result<Option<LoginCandidate>, StoreError> {
    let row = conn
        .query_row(
            "SELECT id, org_id, password_hash FROM members
             WHERE login = ?1 AND role IN ('coordinator', 'admin', 'liaison') AND password_hash IS NOT NULL",
            [login],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    row.map(|(member, org, hash)| {
        Ok(LoginCandidate {
            member_id: parse_id(&member)?,
            org_id: parse_id(&org)?,
            password_hash: hash,
        })
    })
    .transpose()
}

/// A new session: the cookie's token (given out once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value.
    pub token: String,
    /// The CSRF token forms carry.
    pub csrf: String,
}

/// Starts a session for `member`, valid for `ttl_ms`.
pub fn create_session(
    conn: &Connection,
    candidate: &LoginCandidate,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<NewSession, StoreError> {
    let token = secrets::new_token();
    let csrf = secrets::new_token();
    conn.execute("DELETE FROM sessions WHERE expires_at_ms <= ?1", [now_ms])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, org_id, member_id, csrf_token, created_at_ms, expires_at_ms, last_seen_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
        params![
            secrets::hash_token(&token),
            candidate.org_id.to_string(),
            candidate.member_id.to_string(),
            csrf,
            now_ms,
            now_ms + ttl_ms
        ],
    )?;
    Ok(NewSession { token, csrf })
}

/// A signed-in coordinator or admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    /// The member.
    pub member_id: MemberId,
    /// Their organisation.
    pub org_id: OrgId,
    /// Their organisation's name.
    pub org_name: String,
    /// Their display name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf: String,
}

/// The session with cookie token `token`, if it exists, has not expired and its member may still
/// use the dashboard.
pub fn session(
    conn: &Connection,
    token: &str,
    now_ms: i64,
) -> Result<Option<SessionUser>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT s.member_id, s.org_id, o.name, m.display_name, m.role, s.csrf_token
             FROM sessions s JOIN members m ON m.id = s.member_id JOIN orgs o ON o.id = s.org_id
             WHERE s.token_hash = ?1 AND s.expires_at_ms > ?2 AND m.role IN ('coordinator', 'admin', 'liaison')",
        )?
        .query_row(params![secrets::hash_token(token), now_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .optional()?;
    row.map(|(member, org, org_name, name, role, csrf)| {
        Ok(SessionUser {
            member_id: parse_id(&member)?,
            org_id: parse_id(&org)?,
            org_name,
            name,
            role: known(&role, Role::from_wire)?,
            csrf,
        })
    })
    .transpose()
}

/// Ends a session.
pub fn delete_session(conn: &Connection, token: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [secrets::hash_token(token)],
    )?;
    Ok(())
}

/// Makes every session of `member` expire at `at_ms` (for tests of expiry and for sign-out
/// everywhere).
pub fn expire_sessions(conn: &Connection, member: MemberId, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET expires_at_ms = ?2 WHERE member_id = ?1",
        params![member.to_string(), at_ms],
    )?;
    Ok(())
}

/// The server-side device `member`'s dashboard writes through, created on first use with a random
/// token whose hash is stored and which is never shown.
pub fn dashboard_device(
    conn: &Connection,
    member: MemberId,
    now_ms: i64,
) -> Result<DeviceCaller, StoreError> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT device_id FROM dashboard_devices WHERE member_id = ?1",
            [member.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let device = match existing {
        Some(id) => id,
        None => {
            let id = DeviceId::new().to_string();
            conn.execute(
                "INSERT INTO devices (id, org_id, member_id, name, token_hash, created_at_ms)
                 SELECT ?1, org_id, id, 'Dashboard', ?3, ?4 FROM members WHERE id = ?2",
                params![
                    id,
                    member.to_string(),
                    secrets::hash_token(&secrets::new_token()),
                    now_ms
                ],
            )?;
            conn.execute(
                "INSERT INTO dashboard_devices (member_id, device_id) VALUES (?1, ?2)",
                params![member.to_string(), id],
            )?;
            id
        }
    };
    let (org, role, see_all, retention_days): (String, String, bool, u32) = conn.query_row(
        "SELECT d.org_id, m.role, o.volunteers_see_all, o.retention_days
         FROM devices d JOIN members m ON m.id = d.member_id JOIN orgs o ON o.id = d.org_id
         WHERE d.id = ?1",
        [&device],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(DeviceCaller {
        device_id: parse_id(&device)?,
        org_id: parse_id(&org)?,
        member_id: member,
        role: known(&role, Role::from_wire)?,
        volunteers_see_all: see_all,
        retention_days,
        retired: false,
    })
}

/// Dashboard sessions on either backend.
impl super::Store {
    /// The session with cookie token `token` (see [`session`]).
    pub async fn session(
        &self,
        token: String,
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| session(c, &token, now_ms)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::sessions::session(db, &token, now_ms).await
            })).await,
        )
    }

    /// Ends the session with cookie token `token`.
    pub async fn delete_session(&self, token: String) -> Result<(), StoreError> {
        on_backend!(self,
            s => s.write(move |c| delete_session(c, &token)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::sessions::delete_session(tx, &token).await
            })).await,
        )
    }
}
