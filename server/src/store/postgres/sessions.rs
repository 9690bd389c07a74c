//! Dashboard sessions on PostgreSQL, as [`crate::store::sessions`] on SQLite: stored only as
//! token hashes with a CSRF token and an expiry, in the database every server process shares, so
//! a coordinator signed in through one process is signed in through all.

use super::ops::parsed;
use crate::secrets;
use crate::store::StoreError;
use crate::store::accounts::DeviceCaller;
use crate::store::row::known;
use crate::store::sessions::{LoginCandidate, NewSession, SessionUser};
use deadpool_postgres::GenericClient;
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId};

/// The coordinator, admin or liaison with sign-in name `login`, if any.
pub async fn login_candidate(
    db: &impl GenericClient,
    login: &str,
) -> Result<Option<LoginCandidate>, StoreError> {
    let Some(row) = db
        .query_opt(
            "SELECT id, org_id, password_hash FROM members
             WHERE login = $1 AND role IN ('coordinator', 'admin', 'liaison')
               AND password_hash IS NOT NULL",
            &[&login],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(LoginCandidate {
        member_id: parsed(&row, 0)?,
        org_id: parsed(&row, 1)?,
        password_hash: row.try_get(2)?,
    }))
}

/// Starts a session for `candidate`, valid for `ttl_ms`.
pub async fn create_session(
    db: &impl GenericClient,
    candidate: &LoginCandidate,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<NewSession, StoreError> {
    let token = secrets::new_token();
    let csrf = secrets::new_token();
    db.execute("DELETE FROM sessions WHERE expires_at_ms <= $1", &[&now_ms])
        .await?;
    db.execute(
        "INSERT INTO sessions (token_hash, org_id, member_id, csrf_token, created_at_ms,
                               expires_at_ms, last_seen_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
        &[
            &secrets::hash_token(&token),
            &candidate.org_id.to_string(),
            &candidate.member_id.to_string(),
            &csrf,
            &now_ms,
            &now_ms.saturating_add(ttl_ms),
        ],
    )
    .await?;
    Ok(NewSession { token, csrf })
}

/// The session with cookie token `token`, if it exists, has not expired and its member may still
/// use the dashboard.
pub async fn session(
    db: &impl GenericClient,
    token: &str,
    now_ms: i64,
) -> Result<Option<SessionUser>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT s.member_id, s.org_id, o.name, m.display_name, m.role, s.csrf_token
             FROM sessions s JOIN members m ON m.id = s.member_id JOIN orgs o ON o.id = s.org_id
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2
               AND m.role IN ('coordinator', 'admin', 'liaison')",
        )
        .await?;
    let Some(row) = db
        .query_opt(&stmt, &[&secrets::hash_token(token), &now_ms])
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(SessionUser {
        member_id: parsed(&row, 0)?,
        org_id: parsed(&row, 1)?,
        org_name: row.try_get(2)?,
        name: row.try_get(3)?,
        role: known(row.try_get(4)?, Role::from_wire)?,
        csrf: row.try_get(5)?,
    }))
}

/// Ends a session.
pub async fn delete_session(db: &impl GenericClient, token: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        &[&secrets::hash_token(token)],
    )
    .await?;
    Ok(())
}

/// The server-side device `member`'s dashboard writes through, created on first use with a random
/// token whose hash is stored and which is never shown.
pub async fn dashboard_device(
    db: &impl GenericClient,
    member: MemberId,
    now_ms: i64,
) -> Result<DeviceCaller, StoreError> {
    let existing = db
        .query_opt(
            "SELECT device_id FROM dashboard_devices WHERE member_id = $1",
            &[&member.to_string()],
        )
        .await?;
    let device: DeviceId = match existing {
        Some(row) => parsed(&row, 0)?,
        None => {
            let id = DeviceId::new();
            db.execute(
                "INSERT INTO devices (id, org_id, member_id, name, token_hash, created_at_ms)
                 SELECT $1, org_id, id, 'Dashboard', $3, $4 FROM members WHERE id = $2",
                &[
                    &id.to_string(),
                    &member.to_string(),
                    &secrets::hash_token(&secrets::new_token()),
                    &now_ms,
                ],
            )
            .await?;
            db.execute(
                "INSERT INTO dashboard_devices (member_id, device_id) VALUES ($1, $2)",
                &[&member.to_string(), &id.to_string()],
            )
            .await?;
            id
        }
    };
    let row = db
        .query_one(
            "SELECT d.org_id, m.role, o.volunteers_see_all, o.retention_days
             FROM devices d JOIN members m ON m.id = d.member_id JOIN orgs o ON o.id = d.org_id
             WHERE d.id = $1",
            &[&device.to_string()],
        )
        .await?;
    let retention_days: i64 = row.try_get(3)?;
    Ok(DeviceCaller {
        device_id: device,
        org_id: parsed(&row, 0)?,
        member_id: member,
        role: known(row.try_get(1)?, Role::from_wire)?,
        volunteers_see_all: row.try_get(2)?,
        retention_days: u32::try_from(retention_days)
            .map_err(|_| StoreError::Damaged(format!("retention days {retention_days}")))?,
        retired: false,
    })
}
