//! The server store: SQLite in WAL mode. One writer thread owns the write connection and commits
//! whatever write requests are waiting in one transaction (group commit); reads use pooled
//! connections of their own. Migrations are numbered SQL files applied on open.

pub mod accounts;
pub mod admin;
pub mod areas;
pub mod audit;
mod backend;
pub mod blobs;
pub mod choices;
pub mod entries;
pub mod messages;
pub mod notify;
pub mod ops;
pub mod people;
pub mod postgres;
pub mod push;
pub mod redaction;
pub mod reports;
pub mod retention;
mod row;
pub mod server_device;
pub mod sessions;
pub mod sharing;
pub mod sign_in;
mod writer;

use crate::metrics::Metrics;
pub use backend::Store;
#[allow(unused_imports)] // used by the `impl Store` blocks of each area
pub(crate) use backend::on_backend;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::sync::{Arc, LazyLock};
pub use writer::Writer;

/// The numbered migrations, oldest first. A shipped migration is never edited.
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_init.sql")),
        M::up(include_str!("../../migrations/0002_dashboard.sql")),
        M::up(include_str!("../../migrations/0003_blobs.sql")),
        M::up(include_str!("../../migrations/0004_sign_in.sql")),
        M::up(include_str!("../../migrations/0005_privacy.sql")),
        M::up(include_str!("../../migrations/0006_tiers.sql")),
        M::up(include_str!("../../migrations/0007_audit.sql")),
        M::up(include_str!("../../migrations/0008_area_archive.sql")),
        M::up(include_str!("../../migrations/0009_notifications.sql")),
        M::up(include_str!("../../migrations/0010_messages.sql")),
    ])
});

/// Brings `conn`'s database to the latest schema (used on open, and by benchmarks that compare
/// against plain SQLite on the same schema).
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // Foreign keys are off while migrating, so that a migration can rebuild a table others
    // refer to (as 0006 does with `members`); they are checked once it is done.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = MIGRATIONS.to_latest(conn);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated?;
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some(format!("a migration left a broken reference in `{table}`")),
        )));
    }
    Ok(())
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrating the database failed.
    #[error("database migration failed")]
    Migration(#[from] rusqlite_migration::Error),
    /// No read connection could be had.
    #[error("no database connection available")]
    Pool(#[from] r2d2::Error),
    /// Stored JSON did not parse.
    #[error("stored data is damaged")]
    Json(#[from] serde_json::Error),
    /// A stored value is not one the code knows (an enum's name, an id).
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    /// The transaction holding this write did not commit; nothing of it was stored.
    #[error("the write was not committed{}", if *.disk_full { " (disk full)" } else { "" })]
    NotCommitted {
        /// Whether the disk (or the database's size limit) was full.
        disk_full: bool,
    },
    /// The writer thread has stopped (the server is shutting down).
    #[error("the store is shutting down")]
    WriterGone,
    /// A write job panicked; it was rolled back and the writer went on.
    #[error("a write job failed unexpectedly and was rolled back")]
    JobPanicked,
    /// A blocking task failed.
    #[error("a database task failed")]
    Join(#[from] tokio::task::JoinError),
    /// PostgreSQL refused or failed.
    #[error("database error")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had.
    #[error("no database connection available")]
    PgPool(#[from] deadpool_postgres::PoolError),
    /// The operation is not one this backend offers (a file backup on PostgreSQL).
    #[error("not on this backend: {0}")]
    NotHere(&'static str),
    /// Creating the data folder failed.
    #[error("cannot create the data folder")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the error means the disk is full: nothing was stored, try again later.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::NotCommitted { disk_full } => *disk_full,
            Self::Sqlite(e) => is_disk_full(e),
            Self::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL),
            _ => false,
        }
    }

    /// Whether the error means the database was locked past the busy timeout: nothing was
    /// stored, the server is overloaded, try again.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            Self::Pool(_) | Self::PgPool(_) => true,
            Self::Postgres(e) => matches!(
                e.code(),
                Some(
                    &tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                        | &tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE
                        | &tokio_postgres::error::SqlState::TOO_MANY_CONNECTIONS
                )
            ),
            _ => false,
        }
    }
}

fn is_disk_full(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// Settings every connection gets.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // First, so that every statement below already waits for a lock instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged op survives power loss, not only a crash of the process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The savepoint each write job runs in journals into a temporary file unless it is kept in
    // memory; on disk it cost a third of the writer's time (W3 profile, docs/BENCHMARKS.md).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Deleted and overwritten content is zeroed, so a purged or redacted text does not linger in
    // free pages of the file (docs/ARCHITECTURE.md, retention).
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// The store on SQLite: a group-committing writer and a pool of readers on one file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Writer,
    path: std::path::PathBuf,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// One permit per read connection: reads wait here, on the executor, rather than each
    /// holding a blocking thread while it waits for a connection.
    read_permits: Arc<tokio::sync::Semaphore>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(
        path: &Path,
        read_connections: u32,
        max_group_commit: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            configure(c)?;
            c.pragma_update(None, "query_only", "ON")
        });
        let readers = r2d2::Pool::builder()
            .max_size(read_connections)
            .build(manager)?;
        Ok(Self {
            writer: Writer::start(conn, max_group_commit, metrics),
            path: path.to_path_buf(),
            readers,
            read_permits: Arc::new(tokio::sync::Semaphore::new(read_connections as usize)),
        })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `job` on the write connection inside the next group transaction and returns its
    /// result once that transaction is committed to disk. If `job` fails, its changes are rolled
    /// back and the others in the group go on.
    pub async fn write<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.writer.submit(job).await
    }

    /// Checkpoints the write-ahead log into the database file and truncates it, so text that was
    /// purged or redacted does not linger in the log (on a connection of its own, outside any
    /// transaction).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await?
    }

    /// Writes a consistent copy of the store to the new file `to` (safe while the server runs).
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        let path = self.path.clone();
        let to = to.to_string_lossy().into_owned();
        tokio::task::spawn_blocking(move || {
            // VACUUM INTO runs outside a transaction, so on a connection of its own.
            let conn = Connection::open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.execute("VACUUM INTO ?1", [to])?;
            Ok(())
        })
        .await?
    }

    /// Runs `job` on a read connection, off the async executor.
    pub async fn read<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let pool = self.readers.clone();
        let permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::WriterGone)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.get()?;
            job(&conn)
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS
            .validate()
            .expect("migrations apply to an empty database");
    }

    #[tokio::test]
    async fn a_write_is_visible_to_readers_once_acknowledged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            SqliteStore::open(&dir.path().join("db.sqlite3"), 2, 16, Arc::default()).expect("open");
        let id = store
            .write(|conn| accounts::create_org(conn, "Nattvandrarna Testby", 0))
            .await
            .expect("write");
        let name: String = store
            .read(move |conn| {
                Ok(conn.query_row(
                    "SELECT name FROM orgs WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )?)
            })
            .await
            .expect("read");
        assert_eq!(name, "Nattvandrarna Testby");
    }

    async fn org_names(store: &SqliteStore) -> Vec<String> {
        store
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT name FROM orgs")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .expect("read")
    }

    #[tokio::test]
    async fn a_panicking_job_rolls_back_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            SqliteStore::open(&dir.path().join("db.sqlite3"), 2, 16, Arc::default()).expect("open");
        let panicking = store
            .write(|conn| -> Result<(), StoreError> {
                accounts::create_org(conn, "Rullas tillbaka", 0)?;
                panic!("a bug in a write job");
            })
            .await;
        assert!(
            matches!(panicking, Err(StoreError::JobPanicked)),
            "{panicking:?}"
        );
        store
            .write(|conn| accounts::create_org(conn, "Sparas", 0))
            .await
            .expect("the writer still writes");
        assert_eq!(org_names(&store).await, vec!["Sparas".to_owned()]);
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            SqliteStore::open(&dir.path().join("db.sqlite3"), 2, 16, Arc::default()).expect("open");
        let failing = store.write(|conn| {
            accounts::create_org(conn, "Rullas tillbaka", 0)?;
            Err::<(), _>(StoreError::WriterGone)
        });
        let kept = store.write(|conn| accounts::create_org(conn, "Sparas", 0));
        let (failing, kept) = tokio::join!(failing, kept);
        assert!(failing.is_err());
        kept.expect("the other job commits");
        assert_eq!(org_names(&store).await, vec!["Sparas".to_owned()]);
    }
}
