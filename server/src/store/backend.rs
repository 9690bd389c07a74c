//! [`Store`]: the one store the server talks to, on one of two backends chosen at start —
//! SQLite embedded in the process (the default) or PostgreSQL shared by several processes. Each
//! operation is a typed method here that hands the call to the backend's own implementation;
//! nothing outside `store/` sees a connection or a row.

use super::accounts::{DeviceCaller, Enrolled, TokenLookup};
use super::admin::MemberToAdd;
use super::audit::{Actor, AuditAction, AuditRetentionOutOfBounds, ChainHead, Damage};
use super::blobs::{Chunk, ChunkOutcome};
use super::ops::RawPullPage;
use super::postgres::PgStore;
use super::push::PushCounts;
use super::retention::PurgeSummary;
use super::sharing::OrgLevel;
use super::{SqliteStore, StoreError};
use crate::metrics::Metrics;
use crate::sync::rules::PushLimits;
use std::path::Path;
use std::sync::Arc;
use vaka_shared::blob::BlobStatus;
use vaka_shared::op::Op;
use vaka_shared::sync::PushResult;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// The store, on the backend chosen at start.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite in the data folder, embedded in this process.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, possibly shared with other server processes.
    Postgres(PgStore),
}

/// Runs `$sqlite` with `$s` bound to the SQLite store or `$pg` with `$p` bound to the
/// PostgreSQL one.
macro_rules! on_backend {
    ($store:expr, $s:ident => $sqlite:expr, $p:ident => $pg:expr $(,)?) => {
        match $store {
            $crate::store::Store::Sqlite($s) => $sqlite,
            $crate::store::Store::Postgres($p) => $pg,
        }
    };
}
pub(crate) use on_backend;

impl Store {
    /// Opens (creating and migrating if needed) the SQLite store at `path`.
    pub fn open(
        path: &Path,
        read_connections: u32,
        max_group_commit: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        SqliteStore::open(path, read_connections, max_group_commit, metrics).map(Self::Sqlite)
    }

    /// Connects to the PostgreSQL database at `url`, applying the migrations it lacks.
    pub async fn open_postgres(
        url: &str,
        connections: usize,
        max_group_commit: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        PgStore::open(url, connections, max_group_commit, metrics)
            .await
            .map(Self::Postgres)
    }

    /// The SQLite store, when that is the backend.
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            Self::Sqlite(s) => Some(s),
            Self::Postgres(_) => None,
        }
    }

    /// The PostgreSQL store, when that is the backend.
    pub fn as_postgres(&self) -> Option<&PgStore> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(p) => Some(p),
        }
    }

    /// The backend's name, for logs and errors: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        on_backend!(self, _s => "sqlite", _p => "postgres")
    }

    /// Writes a consistent copy of the SQLite store to the new file `to`. On PostgreSQL backups
    /// are the database's own (`pg_dump`, replicas): refused with [`StoreError::NotHere`].
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        on_backend!(self,
            s => s.backup_to(to).await,
            _p => Err(StoreError::NotHere("backups of a PostgreSQL store are made with pg_dump")),
        )
    }

    /// After a redaction: makes sure the removed text does not linger where the backend keeps
    /// old row versions (SQLite's write-ahead log is checkpointed and truncated; PostgreSQL's
    /// touched tables are vacuumed).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        on_backend!(self, s => s.checkpoint().await, p => p.vacuum().await)
    }

    /// The database's size on disk in bytes: the SQLite file with its write-ahead log, or
    /// PostgreSQL's `pg_database_size`.
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        on_backend!(self,
            s => Ok(crate::metrics::database_size_bytes(s.path())),
            p => p.size_bytes().await,
        )
    }

    // ---- the sync endpoints ----

    /// The highest `device_seq` of `device` the server holds.
    pub async fn held_seq(&self, device: DeviceId) -> Result<u64, StoreError> {
        on_backend!(self, s => s.held_seq(device).await, p => p.held_seq(device).await)
    }

    /// Applies `ops` from `caller` (sorted by `device_seq`) in the next group transaction; the
    /// answer comes once it is committed.
    pub async fn push(
        &self,
        caller: DeviceCaller,
        ops: Vec<Op>,
        now_ms: i64,
        limits: PushLimits,
    ) -> Result<(PushResult, PushCounts), StoreError> {
        on_backend!(self,
            s => s.push(caller, ops, now_ms, limits).await,
            p => p.push(caller, ops, now_ms, limits).await,
        )
    }

    /// A page of `caller`'s scope after `cursor`.
    pub async fn pull(
        &self,
        caller: DeviceCaller,
        cursor: u64,
        limit: u32,
    ) -> Result<RawPullPage, StoreError> {
        on_backend!(self,
            s => s.pull(caller, cursor, limit).await,
            p => p.pull(caller, cursor, limit).await,
        )
    }

    /// The newest server sequence handed out, of an op or a removal.
    pub async fn last_seq(&self) -> Result<u64, StoreError> {
        on_backend!(self, s => s.last_seq().await, p => p.last_seq().await)
    }

    /// Writes devices' last sync times in one write job; a time is never moved backwards.
    pub async fn note_last_syncs(&self, syncs: Vec<(DeviceId, i64)>) -> Result<(), StoreError> {
        on_backend!(self, s => s.note_last_syncs(syncs).await, p => p.note_last_syncs(syncs).await)
    }

    /// Who the device holding `token` is.
    pub async fn device_by_token(&self, token: String) -> Result<TokenLookup, StoreError> {
        on_backend!(self, s => s.device_by_token(token).await, p => p.device_by_token(token).await)
    }

    /// Redeems an enrolment code for a new device called `device_name`.
    pub async fn redeem_enrollment_code(
        &self,
        code: String,
        device_name: String,
        now_ms: i64,
    ) -> Result<Option<Enrolled>, StoreError> {
        on_backend!(self,
            s => s.redeem_enrollment_code(code, device_name, now_ms).await,
            p => p.redeem_enrollment_code(code, device_name, now_ms).await,
        )
    }

    /// Notes that a retired device wiped itself.
    pub async fn device_wiped(&self, device: DeviceId, now_ms: i64) -> Result<(), StoreError> {
        on_backend!(self,
            s => s.device_wiped(device, now_ms).await,
            p => p.device_wiped(device, now_ms).await,
        )
    }

    // ---- photos ----

    /// Stores a chunk of a photo in the next group transaction.
    pub async fn put_chunk(&self, chunk: Chunk, now_ms: i64) -> Result<ChunkOutcome, StoreError> {
        on_backend!(self, s => s.put_chunk(chunk, now_ms).await, p => p.put_chunk(chunk, now_ms).await)
    }

    /// How much of the blob `sha256` of `org` is stored.
    pub async fn blob_status(
        &self,
        org: OrgId,
        sha256: String,
    ) -> Result<Option<BlobStatus>, StoreError> {
        on_backend!(self, s => s.blob_status(org, sha256).await, p => p.blob_status(org, sha256).await)
    }

    /// The media type and bytes of the complete blob `sha256` of `org`.
    pub async fn blob_content(
        &self,
        org: OrgId,
        sha256: String,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        on_backend!(self,
            s => s.blob_content(org, sha256).await,
            p => p.blob_content(org, sha256).await,
        )
    }

    // ---- the operator's commands ----

    /// Creates an organisation at `level`.
    pub async fn create_org_at(
        &self,
        name: String,
        level: OrgLevel,
        now_ms: i64,
    ) -> Result<OrgId, StoreError> {
        on_backend!(self,
            s => s.create_org_at(name, level, now_ms).await,
            p => p.create_org_at(name, level, now_ms).await,
        )
    }

    /// Adds a member, recorded as the command line's doing.
    pub async fn add_member(
        &self,
        member: MemberToAdd,
        now_ms: i64,
    ) -> Result<MemberId, StoreError> {
        on_backend!(self, s => s.add_member(member, now_ms).await, p => p.add_member(member, now_ms).await)
    }

    /// A one-time enrolment code for `member`, recorded as the command line's doing.
    pub async fn enrolment_code_for(
        &self,
        member: MemberId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        on_backend!(self,
            s => s.enrolment_code_for(member, ttl_ms, now_ms).await,
            p => p.enrolment_code_for(member, ttl_ms, now_ms).await,
        )
    }

    /// Revokes `device`'s token, recorded as the command line's doing.
    pub async fn revoke_device_by_operator(
        &self,
        device: DeviceId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self,
            s => s.revoke_device_by_operator(device, now_ms).await,
            p => p.revoke_device_by_operator(device, now_ms).await,
        )
    }

    /// Purges every organisation's entries past its retention period, with every trace.
    pub async fn purge_all(&self, now_ms: i64) -> Result<Vec<PurgeSummary>, StoreError> {
        on_backend!(self,
            s => super::retention::purge_all(s, now_ms).await,
            p => p.purge_all(now_ms).await,
        )
    }

    /// What a purge would remove now, per organisation, without removing anything.
    pub async fn purge_dry_run(&self, now_ms: i64) -> Result<Vec<PurgeSummary>, StoreError> {
        on_backend!(self, s => s.purge_dry_run(now_ms).await, p => p.purge_dry_run(now_ms).await)
    }

    /// Checks every chain of the audit log.
    pub async fn verify_audit(&self) -> Result<Result<Vec<ChainHead>, Damage>, StoreError> {
        on_backend!(self, s => s.verify_audit().await, p => p.verify_audit().await)
    }

    /// Sets `org`'s audit retention, recorded as the command line's doing.
    pub async fn set_audit_retention(
        &self,
        org: OrgId,
        days: u32,
        now_ms: i64,
    ) -> Result<Result<(), AuditRetentionOutOfBounds>, StoreError> {
        on_backend!(self,
            s => s.set_audit_retention(org, days, now_ms).await,
            p => p.set_audit_retention(org, days, now_ms).await,
        )
    }

    /// Records a read (an entry page viewed, a file downloaded) in a write job of its own and
    /// returns once it is committed: call it before handing out what was read.
    pub async fn record_view(
        &self,
        org: Option<OrgId>,
        actor: Actor,
        action: AuditAction,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_backend!(self,
            s => s.write(move |c| super::audit::record(c, org, actor, &action, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                super::postgres::audit::record(tx, org, actor, &action, now_ms).await
            })).await,
        )
    }
}
