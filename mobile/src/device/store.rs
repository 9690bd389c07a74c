//! The local SQLite file: opening it, its numbered migrations, the `meta` row and the rows of
//! `ops`. Everything here takes a connection or transaction; callers own the transaction.

use super::error::{DeviceError, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::Path;
use std::str::FromStr;
use vaka_shared::model::Role;
use vaka_shared::sync::RejectCode;
use vaka_shared::{DeviceId, EntityId, EntityKind, Hlc, MemberId, Op, OpBody, OpId, OrgId};

/// The migrations, in order; `PRAGMA user_version` counts how many were applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_blobs_settings.sql"),
    include_str!("migrations/0003_areas.sql"),
];

/// Opens (or creates) the database file and brings its schema up to date.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Applies every migration above the database's `user_version`, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema version the code expects.
#[cfg(test)]
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Who this device is, as the server told it at enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The server's base URL.
    pub server_url: String,
    /// This device's id.
    pub device_id: DeviceId,
    /// The organisation.
    pub org_id: OrgId,
    /// The organisation's name.
    pub org_name: String,
    /// The member the device belongs to.
    pub member_id: MemberId,
    /// The member's display name.
    pub member_name: String,
    /// The member's role.
    pub role: Role,
}

/// The `meta` row.
#[derive(Clone)]
pub(crate) struct Meta {
    pub identity: Option<Identity>,
    pub token: Option<String>,
    pub cursor: u64,
    pub next_device_seq: u64,
    pub push_from: u64,
    pub hlc_last: Option<Hlc>,
    pub clock_offset_ms: i64,
    pub last_sync_ok_at_ms: Option<i64>,
    pub last_sync_error: Option<String>,
}

impl std::fmt::Debug for Meta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meta")
            .field("identity", &self.identity)
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .field("cursor", &self.cursor)
            .field("next_device_seq", &self.next_device_seq)
            .field("push_from", &self.push_from)
            .finish_non_exhaustive()
    }
}

impl Meta {
    /// The identity, or [`DeviceError::NotEnrolled`].
    pub fn enrolled(&self) -> Result<&Identity> {
        self.identity.as_ref().ok_or(DeviceError::NotEnrolled)
    }
}

/// Parses a stored text column.
pub(crate) fn parse<T: FromStr>(what: &'static str, text: &str) -> Result<T> {
    text.parse().map_err(|_| DeviceError::damaged(what, text))
}

fn parse_opt<T: FromStr>(what: &'static str, text: Option<String>) -> Result<Option<T>> {
    text.map(|t| parse(what, &t)).transpose()
}

/// A `u64` from an `INTEGER` column (never negative in this schema).
pub(crate) fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// An `INTEGER` for a `u64` (sequences stay far below `i64::MAX`).
pub(crate) fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn load_meta(conn: &Connection) -> Result<Meta> {
    let row = conn.query_row(
        "SELECT server_url, device_id, token, org_id, org_name, member_id, member_name, role,
                cursor, next_device_seq, push_from, hlc_last, clock_offset_ms,
                last_sync_ok_at_ms, last_sync_error
         FROM meta WHERE id = 1",
        [],
        |r| {
            Ok((
                [
                    r.get::<_, Option<String>>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ],
                (
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                    r.get::<_, i64>(10)?,
                ),
                r.get::<_, Option<String>>(11)?,
                r.get::<_, i64>(12)?,
                r.get::<_, Option<i64>>(13)?,
                r.get::<_, Option<String>>(14)?,
            ))
        },
    )?;
    let (texts, (cursor, next, push_from), hlc_last, offset, ok_at, error) = row;
    let [
        server_url,
        device_id,
        token,
        org_id,
        org_name,
        member_id,
        member_name,
        role,
    ] = texts;
    let identity = match (server_url, device_id, org_id, member_id, role) {
        (Some(server_url), Some(device_id), Some(org_id), Some(member_id), Some(role)) => {
            Some(Identity {
                server_url,
                device_id: parse("device id", &device_id)?,
                org_id: parse("organisation id", &org_id)?,
                org_name: org_name.unwrap_or_default(),
                member_id: parse("member id", &member_id)?,
                member_name: member_name.unwrap_or_default(),
                role: Role::from_wire(&role).ok_or_else(|| DeviceError::damaged("role", role))?,
            })
        }
        _ => None,
    };
    Ok(Meta {
        identity,
        token,
        cursor: u64_of(cursor),
        next_device_seq: u64_of(next),
        push_from: u64_of(push_from),
        hlc_last: parse_opt("clock stamp", hlc_last)?,
        clock_offset_ms: offset,
        last_sync_ok_at_ms: ok_at,
        last_sync_error: error,
    })
}

pub(crate) fn store_identity(
    conn: &Connection,
    identity: &Identity,
    token: &str,
    clock_offset_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE meta SET server_url = ?1, device_id = ?2, token = ?3, org_id = ?4, org_name = ?5,
                member_id = ?6, member_name = ?7, role = ?8, clock_offset_ms = ?9
         WHERE id = 1",
        params![
            identity.server_url,
            identity.device_id.to_string(),
            token,
            identity.org_id.to_string(),
            identity.org_name,
            identity.member_id.to_string(),
            identity.member_name,
            identity.role.as_str(),
            clock_offset_ms,
        ],
    )?;
    Ok(())
}

/// Stores the clock's highest stamp.
pub(crate) fn store_hlc_last(conn: &Connection, hlc: Hlc) -> Result<()> {
    conn.execute(
        "UPDATE meta SET hlc_last = ?1 WHERE id = 1",
        [hlc.to_string()],
    )?;
    Ok(())
}

/// Records the outcome of a sync attempt: `Ok` stores the time, `Err` the error text.
pub(crate) fn store_sync_outcome(conn: &Connection, outcome: Result<i64, &str>) -> Result<()> {
    match outcome {
        Ok(at_ms) => conn.execute(
            "UPDATE meta SET last_sync_ok_at_ms = ?1, last_sync_error = NULL WHERE id = 1",
            [at_ms],
        )?,
        Err(error) => conn.execute("UPDATE meta SET last_sync_error = ?1 WHERE id = 1", [error])?,
    };
    Ok(())
}

/// The status of an op in the local log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpStatus {
    /// Own, waiting for the server.
    Pending,
    /// Own, held by the server.
    Acked,
    /// Own, recorded but refused by the server.
    Rejected,
    /// Pulled from the server, made elsewhere.
    Remote,
}

impl OpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Acked => "acked",
            Self::Rejected => "rejected",
            Self::Remote => "remote",
        }
    }
}

/// Appends an op to the log.
pub(crate) fn insert_op(
    conn: &Connection,
    op: &Op,
    author: MemberId,
    status: OpStatus,
    server_seq: Option<u64>,
) -> Result<()> {
    let fields = serde_json::to_string(&op.body.field_map())?;
    conn.prepare_cached(
        "INSERT INTO ops (op_id, device_id, device_seq, hlc, base_seq, entity_id, entity_kind,
                          fields, author, status, server_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        op.op_id.to_string(),
        op.device_id.to_string(),
        i64_of(op.device_seq),
        op.hlc.to_string(),
        i64_of(op.base_seq),
        op.entity_id.to_string(),
        op.kind().as_str(),
        fields,
        author.to_string(),
        status.as_str(),
        server_seq.map(i64_of),
    ])?;
    Ok(())
}

/// The columns [`op_from_row`] reads, in order.
pub(crate) const OP_COLUMNS: &str =
    "op_id, device_id, device_seq, hlc, base_seq, entity_id, entity_kind, fields, server_seq";

/// An op and its server sequence from a row selected with [`OP_COLUMNS`].
pub(crate) fn op_from_row(row: &Row<'_>) -> Result<(Op, Option<u64>)> {
    let kind: String = row.get(6)?;
    let kind = EntityKind::from_wire(&kind).ok_or_else(|| DeviceError::damaged("kind", kind))?;
    let fields: String = row.get(7)?;
    let map = serde_json::from_str(&fields)?;
    let op = Op {
        op_id: parse::<OpId>("op id", &row.get::<_, String>(0)?)?,
        device_id: parse::<DeviceId>("device id", &row.get::<_, String>(1)?)?,
        device_seq: u64_of(row.get(2)?),
        hlc: parse::<Hlc>("clock stamp", &row.get::<_, String>(3)?)?,
        base_seq: u64_of(row.get(4)?),
        entity_id: parse::<EntityId>("entity id", &row.get::<_, String>(5)?)?,
        body: OpBody::from_field_map(kind, map)?,
    };
    Ok((op, row.get::<_, Option<i64>>(8)?.map(u64_of)))
}

/// The wire name of a reject code.
pub(crate) fn reject_code_text(code: RejectCode) -> Result<String> {
    match serde_json::to_value(code)? {
        serde_json::Value::String(text) => Ok(text),
        other => Err(DeviceError::damaged("reject code", other.to_string())),
    }
}

/// A reject code from its wire name.
pub(crate) fn reject_code_of(text: &str) -> Result<RejectCode> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| DeviceError::damaged("reject code", text))
}

/// Whether an op with this id is in the log.
pub(crate) fn op_status(conn: &Connection, op_id: OpId) -> Result<Option<OpStatus>> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM ops WHERE op_id = ?1")?
        .query_row([op_id.to_string()], |r| r.get(0))
        .optional()?;
    status
        .map(|s| match s.as_str() {
            "pending" => Ok(OpStatus::Pending),
            "acked" => Ok(OpStatus::Acked),
            "rejected" => Ok(OpStatus::Rejected),
            "remote" => Ok(OpStatus::Remote),
            _ => Err(DeviceError::damaged("op status", s)),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_database_migrates_to_the_latest_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device.db");
        let conn = open(&path).expect("opens and migrates");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, latest_version());
        let meta = load_meta(&conn).expect("meta row exists");
        assert!(meta.identity.is_none());
        assert_eq!(
            (meta.cursor, meta.next_device_seq, meta.push_from),
            (0, 1, 1)
        );
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reopening_a_migrated_database_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device.db");
        {
            let conn = open(&path).expect("first open");
            conn.execute("UPDATE meta SET cursor = 42", [])
                .expect("update");
        }
        let conn = open(&path).expect("second open");
        assert_eq!(load_meta(&conn).expect("meta").cursor, 42);
    }
}
