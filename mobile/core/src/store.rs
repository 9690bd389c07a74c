//! The local SQLite file: opening it (encrypted with SQLCipher, converting a plain file of an
//! older version on the way), its numbered migrations, the `meta` row and the rows of `ops`.
//! Everything here takes a connection or transaction; callers own the transaction.

use super::error::{DeviceError, Result};
use super::key::DbKey;
use super::wipe::WipeReason;
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
    include_str!("migrations/0004_privacy.sql"),
    include_str!("migrations/0005_blobs_status.sql"),
    include_str!("migrations/0006_entries_time.sql"),
    include_str!("migrations/0007_messages_index.sql"),
];

/// The first 16 bytes of a plain (unencrypted) SQLite file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Opens (or creates) the database file, encrypted with `key` (tests of what the encryption
/// hides open one without), and brings its schema up to date. A plain file, as versions before
/// encryption wrote it, is encrypted first, so nothing on it is lost.
pub(crate) fn open(path: &Path, key: Option<&DbKey>) -> Result<Connection> {
    if let Some(key) = key
        && is_plain(path)?
    {
        encrypt_plain_file(path, key)?;
    }
    let mut conn = Connection::open(path)?;
    if let Some(key) = key {
        use_key(&conn, key)?;
    }
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// A second connection to the device file, opened (and migrated) by [`open`] already, keyed
/// with the same `key`, for reads only: in WAL mode it reads beside a write on the other
/// connection, so a screen never waits for a sync's transaction.
pub(crate) fn open_reader(path: &Path, key: Option<&DbKey>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        use_key(&conn, key)?;
    }
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// A read-only connection to an existing device file with `key`; changes nothing.
pub(crate) fn open_read_only(path: &Path, key: &DbKey) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    use_key(&conn, key)?;
    Ok(conn)
}

/// Gives the connection its key (before anything else reads the file) and checks that the
/// file opens with it.
fn use_key(conn: &Connection, key: &DbKey) -> Result<()> {
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .optional()?;
    if cipher.is_none() {
        return Err(DeviceError::NoEncryption);
    }
    conn.pragma_update(None, "key", key.sqlcipher_literal())?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(DeviceError::WrongKey)?;
    Ok(())
}

/// Whether `path` is a plain SQLite file (not one SQLCipher encrypted).
fn is_plain(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0; 16];
    match std::fs::File::open(path) {
        Ok(mut file) => Ok(file.read_exact(&mut header).is_ok() && &header == PLAIN_HEADER),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(DeviceError::DatabaseFile {
            path: path.to_owned(),
            source: error,
        }),
    }
}

/// Encrypts a plain database file in place: its WAL folded in and removed, everything copied
/// with `sqlcipher_export` into a new encrypted file beside it, which then replaces it by a
/// rename. A crash before the rename leaves the plain file as it was (and is tried again).
fn encrypt_plain_file(path: &Path, key: &DbKey) -> Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".encrypting");
    let encrypted = path.with_file_name(name);
    let io_error = |source| DeviceError::DatabaseFile {
        path: encrypted.clone(),
        source,
    };
    match std::fs::remove_file(&encrypted) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(io_error(error)),
        _ => {}
    }
    {
        let plain = Connection::open(path)?;
        plain.pragma_update(None, "journal_mode", "DELETE")?;
        let version: i64 = plain.pragma_query_value(None, "user_version", |r| r.get(0))?;
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            params![encrypted.to_string_lossy(), key.sqlcipher_literal()],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.pragma_update(Some("encrypted"), "user_version", version)?;
        plain.execute_batch("DETACH DATABASE encrypted")?;
    }
    std::fs::rename(&encrypted, path).map_err(io_error)?;
    tracing::info!("the device's database was plain; it is encrypted now");
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    // Deleted and overwritten content is zeroed, so a purged or redacted text does not linger
    // in free pages of the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
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
    /// The organisation's retention period in days, as the server last said it.
    pub retention_days: u32,
    /// Whether the server asked this phone to retire.
    pub retiring: bool,
    /// Why the phone last wiped itself, until it is enrolled again.
    pub wiped: Option<WipeReason>,
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
                last_sync_ok_at_ms, last_sync_error, retention_days, retiring, wiped
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
                (
                    r.get::<_, i64>(15)?,
                    r.get::<_, bool>(16)?,
                    r.get::<_, Option<String>>(17)?,
                ),
            ))
        },
    )?;
    let (texts, (cursor, next, push_from), hlc_last, offset, ok_at, error, privacy) = row;
    let (retention_days, retiring, wiped) = privacy;
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
        retention_days: u32::try_from(retention_days).unwrap_or(u32::MAX),
        retiring,
        wiped: wiped
            .map(|w| WipeReason::from_wire(&w).ok_or_else(|| DeviceError::damaged("wipe", w)))
            .transpose()?,
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
                member_id = ?6, member_name = ?7, role = ?8, clock_offset_ms = ?9,
                wiped = NULL, wiped_at_ms = NULL
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
        let conn = open(&path, None).expect("opens and migrates");
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
            let conn = open(&path, None).expect("first open");
            conn.execute("UPDATE meta SET cursor = 42", [])
                .expect("update");
        }
        let conn = open(&path, None).expect("second open");
        assert_eq!(load_meta(&conn).expect("meta").cursor, 42);
    }

    /// A description no page of the file may show.
    const SECRET: &str = "Bråk utanför Storgatan 12";

    fn log_secret(device: &crate::Device) {
        device
            .create_incident(vaka_shared::model::IncidentFields {
                description: Some(SECRET.to_owned()),
                ..crate::test_support::incident(2)
            })
            .expect("logs");
    }

    #[test]
    fn the_device_file_and_its_wal_show_none_of_what_was_logged() {
        use crate::test_support::file_holds;
        let (dir, device, identity) =
            crate::test_support::enrolled(vaka_shared::model::Role::Volunteer);
        log_secret(&device);
        let path = dir.path().join("device.db");
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        assert!(
            std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
            "the write is in the WAL"
        );
        for needle in [
            SECRET,
            "Storgatan",
            "SQLite format 3",
            identity.org_name.as_str(),
        ] {
            assert!(!file_holds(&path, needle), "the file shows {needle:?}");
        }
        assert!(!file_holds(&path, "secret-token"), "the token shows");
        drop(device);

        // The same key opens it again; another key does not.
        let device = crate::Device::open(&path).expect("reopens");
        assert_eq!(device.entries().expect("reads").len(), 1);
        drop(device);
        let other = crate::KeySource::Key(DbKey::random());
        let error =
            crate::Device::open_with(&path, &other, Default::default()).expect_err("another key");
        assert!(matches!(error, DeviceError::WrongKey(_)), "{error:?}");
    }

    #[test]
    fn a_plain_device_file_is_encrypted_on_open_with_everything_on_it() {
        use crate::test_support::{enrolled_plain, file_holds};
        let (dir, device, identity) = enrolled_plain(vaka_shared::model::Role::Volunteer);
        log_secret(&device);
        let path = dir.path().join("device.db");
        assert!(file_holds(&path, SECRET), "a plain file shows it");
        let before = device.state_snapshot().expect("snapshot");
        drop(device);

        let device = crate::Device::open(&path).expect("encrypts and opens");
        assert_eq!(device.state_snapshot().expect("snapshot"), before);
        assert_eq!(device.identity().expect("reads"), Some(identity));
        assert_eq!(device.outbox_len().expect("counts"), 1);
        assert!(!file_holds(&path, SECRET), "the text is gone from the file");
        assert!(!file_holds(&path, "SQLite format 3"));
        let version: i64 = device
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, latest_version());
        let secure_delete: i64 = device
            .conn()
            .pragma_query_value(None, "secure_delete", |r| r.get(0))
            .expect("secure delete");
        assert_eq!(secure_delete, 1);
    }
}
