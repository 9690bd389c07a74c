//! The store on PostgreSQL, for several server processes on one database: a pool of connections
//! (deadpool-postgres over tokio-postgres) for reads, and per process one writer task that
//! commits every waiting write job in one transaction (group commit), as on SQLite.
//!
//! **Commit order is sequence order, across processes.** The op log's `seq` and the removals'
//! come from one PostgreSQL sequence (`vaka_seq`). A sequence number is taken before its
//! transaction commits, so with two writers a transaction that took 11 could commit after one
//! that took 12, and a device that pulled through 12 would never see 11. Every group transaction
//! therefore takes a transaction-scoped advisory lock ([`SEQUENCE_LOCK`]) before it takes a
//! number and holds it to its commit: the groups of all processes take numbers one group at a
//! time, in the order they commit. The cost is that groups, not requests, are serialised: each
//! process still puts every request waiting for it into its group.
//!
//! Migrations are numbered files in `server/migrations/postgres/`, applied on open under a
//! session advisory lock ([`MIGRATION_LOCK`]), so processes starting together apply each once.

pub mod accounts;
mod admin;
pub mod areas;
pub mod audit;
pub mod blobs;
pub mod choices;
pub mod copy;
pub mod entries;
pub mod messages;
pub mod notify;
pub mod ops;
pub mod people;
pub mod push;
pub mod redaction;
pub mod reports;
pub mod retention;
pub mod server_device;
pub mod sessions;
pub mod sharing;
pub mod sign_in;
mod writer;

use super::StoreError;
use crate::metrics::Metrics;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio_postgres::NoTls;
pub use writer::PgWriter;

/// The numbered PostgreSQL migrations, oldest first. A shipped migration is never edited.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_area_archive.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_notifications.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_messages.sql"),
    ),
];

/// The advisory lock migrations are applied under (session-scoped).
pub const MIGRATION_LOCK: i64 = 0x7661_6b61_0001;
/// The advisory lock a group transaction holds from taking its first sequence number to its
/// commit (transaction-scoped).
pub const SEQUENCE_LOCK: i64 = 0x7661_6b61_0002;

/// A future a store job returns, borrowing its connection or transaction.
pub type JobFuture<'a, R> = Pin<Box<dyn Future<Output = Result<R, StoreError>> + Send + 'a>>;

/// The store on one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    writer: PgWriter,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER@HOST:PORT/DB`), applies the
    /// migrations it lacks and starts this process's writer. `connections` bounds the read pool.
    pub async fn open(
        url: &str,
        connections: usize,
        max_group_commit: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Damaged("not a PostgreSQL URL".into()))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // The writer holds one connection for good; reads share the rest.
        let pool = Pool::builder(manager)
            .max_size(connections.max(1) + 1)
            .build()
            .map_err(|e| StoreError::Damaged(format!("cannot make the connection pool: {e}")))?;
        migrate(&pool).await?;
        let writer = PgWriter::start(pool.clone(), max_group_commit, metrics).await?;
        Ok(Self { pool, writer })
    }

    /// Runs `job` on a pooled connection.
    pub async fn read<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        F: for<'a> FnOnce(&'a deadpool_postgres::Client) -> JobFuture<'a, R>,
    {
        let client = self.pool.get().await?;
        job(&client).await
    }

    /// Runs `job` inside this process's next group transaction and returns its result once that
    /// transaction is committed. If `job` fails, its changes are rolled back and the others in
    /// the group go on.
    pub async fn write<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a deadpool_postgres::Transaction<'a>) -> JobFuture<'a, R>
            + Send
            + 'static,
    {
        self.writer.submit(job).await
    }
}

impl PgStore {
    /// The database's size on disk in bytes (`pg_database_size`).
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        self.read(|db| {
            Box::pin(async move {
                let size: i64 = db
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .await?
                    .get(0);
                Ok(u64::try_from(size).unwrap_or_default())
            })
        })
        .await
    }
}

/// The sync endpoints' operations, as on [`crate::store::Store`].
impl PgStore {
    /// The highest `device_seq` of `device` the server holds.
    pub async fn held_seq(&self, device: vaka_shared::DeviceId) -> Result<u64, StoreError> {
        self.read(move |db| Box::pin(async move { ops::held_seq(db, device).await }))
            .await
    }

    /// Applies `ops` from `caller` in this process's next group transaction.
    pub async fn push(
        &self,
        caller: crate::store::accounts::DeviceCaller,
        ops: Vec<vaka_shared::op::Op>,
        now_ms: i64,
        limits: crate::sync::rules::PushLimits,
    ) -> Result<
        (
            vaka_shared::sync::PushResult,
            crate::store::push::PushCounts,
        ),
        StoreError,
    > {
        self.write(move |tx| {
            Box::pin(async move { push::push(tx, &caller, &ops, now_ms, limits).await })
        })
        .await
    }

    /// A page of `caller`'s scope after `cursor`.
    pub async fn pull(
        &self,
        caller: crate::store::accounts::DeviceCaller,
        cursor: u64,
        limit: u32,
    ) -> Result<crate::store::ops::RawPullPage, StoreError> {
        self.read(move |db| Box::pin(async move { ops::pull(db, &caller, cursor, limit).await }))
            .await
    }

    /// The newest server sequence handed out, of an op or a removal.
    pub async fn last_seq(&self) -> Result<u64, StoreError> {
        self.read(|db| Box::pin(async move { ops::last_seq(db).await }))
            .await
    }

    /// Writes devices' last sync times; a time is never moved backwards.
    pub async fn note_last_syncs(
        &self,
        syncs: Vec<(vaka_shared::DeviceId, i64)>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| Box::pin(async move { ops::note_last_syncs(tx, &syncs).await }))
            .await
    }

    /// Who the device holding `token` is.
    pub async fn device_by_token(
        &self,
        token: String,
    ) -> Result<crate::store::accounts::TokenLookup, StoreError> {
        self.read(move |db| Box::pin(async move { accounts::device_by_token(db, &token).await }))
            .await
    }

    /// Redeems an enrolment code for a new device called `device_name`.
    pub async fn redeem_enrollment_code(
        &self,
        code: String,
        device_name: String,
        now_ms: i64,
    ) -> Result<Option<crate::store::accounts::Enrolled>, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                accounts::redeem_enrollment_code(tx, &code, &device_name, now_ms).await
            })
        })
        .await
    }
}

/// Photos, as on [`crate::store::Store`].
impl PgStore {
    /// Stores a chunk in this process's next group transaction.
    pub async fn put_chunk(
        &self,
        chunk: crate::store::blobs::Chunk,
        now_ms: i64,
    ) -> Result<crate::store::blobs::ChunkOutcome, StoreError> {
        self.write(move |tx| Box::pin(async move { blobs::put_chunk(tx, &chunk, now_ms).await }))
            .await
    }

    /// How much of the blob `sha256` of `org` is stored.
    pub async fn blob_status(
        &self,
        org: vaka_shared::OrgId,
        sha256: String,
    ) -> Result<Option<vaka_shared::blob::BlobStatus>, StoreError> {
        self.read(move |db| Box::pin(async move { blobs::status_of(db, org, &sha256).await }))
            .await
    }

    /// The media type and bytes of the complete blob `sha256` of `org`.
    pub async fn blob_content(
        &self,
        org: vaka_shared::OrgId,
        sha256: String,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.read(move |db| Box::pin(async move { blobs::content(db, org, &sha256).await }))
            .await
    }
}

/// Takes the next number of the op log's and removals' sequence. Only inside a group
/// transaction, which holds [`SEQUENCE_LOCK`].
pub async fn next_seq(tx: &deadpool_postgres::Transaction<'_>) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached("SELECT nextval('vaka_seq')").await?;
    let seq: i64 = tx.query_one(&stmt, &[]).await?.get(0);
    Ok(seq as u64)
}

/// Applies the migrations the database lacks, under [`MIGRATION_LOCK`].
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let applied = apply_migrations(&mut client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    applied
}

async fn apply_migrations(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let newest: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if let Some((latest, _)) = MIGRATIONS.last()
        && newest > *latest
    {
        return Err(StoreError::Damaged(format!(
            "the database is at version {newest}, newer than this server knows ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > newest) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "PostgreSQL migration applied");
    }
    Ok(())
}
