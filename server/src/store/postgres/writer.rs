//! This process's PostgreSQL writer: one task with a connection of its own takes every waiting
//! write job and runs each in its own savepoint inside one transaction, which first takes the
//! sequence lock ([`super::SEQUENCE_LOCK`]) and commits once; only then are the jobs answered.

use super::{JobFuture, SEQUENCE_LOCK};
use crate::metrics::Metrics;
use crate::store::StoreError;
use deadpool_postgres::{Pool, Transaction};
use futures_util::FutureExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A unit of work for the writer: run inside a savepoint, then told how the commit went.
trait Job: Send {
    /// Runs the work; `false` means roll this job back.
    fn run<'a>(
        &'a mut self,
        tx: &'a Transaction<'a>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
    /// Reports the result once the group's transaction is over (`Err(disk_full)` when it did not
    /// commit).
    fn finish(self: Box<Self>, committed: Result<(), bool>);
}

struct Task<F, R> {
    work: Option<F>,
    outcome: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for Task<F, R>
where
    F: for<'a> FnOnce(&'a Transaction<'a>) -> JobFuture<'a, R> + Send,
    R: Send,
{
    fn run<'a>(
        &'a mut self,
        tx: &'a Transaction<'a>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return false;
            };
            // A job that panics is rolled back like one that failed; the writer goes on.
            let outcome = std::panic::AssertUnwindSafe(work(tx))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!("a write job panicked; it was rolled back");
                    Err(StoreError::JobPanicked)
                });
            let ok = outcome.is_ok();
            self.outcome = Some(outcome);
            ok
        })
    }

    fn finish(self: Box<Self>, committed: Result<(), bool>) {
        let result = match (committed, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Err(disk_full), Some(Ok(_))) => Err(StoreError::NotCommitted { disk_full }),
            (_, Some(Err(e))) => Err(e),
            (_, None) => Err(StoreError::WriterGone),
        };
        // The caller may have gone away (request cancelled); the work is stored regardless.
        let _ = self.reply.send(result);
    }
}

/// Handle to this process's writer task.
#[derive(Clone)]
pub struct PgWriter {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for PgWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgWriter")
    }
}

impl PgWriter {
    /// Starts the writer task on a connection of `pool`'s that it keeps.
    pub async fn start(
        pool: Pool,
        max_group: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let max_group = max_group.max(1);
        let (jobs, queue) = mpsc::channel(max_group * 4);
        // Fails here, at start, if the database cannot be reached.
        let client = pool.get().await?;
        tokio::spawn(run(pool, client, queue, max_group, metrics));
        Ok(Self { jobs })
    }

    /// Queues `work` and waits until its transaction is committed.
    pub async fn submit<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a Transaction<'a>) -> JobFuture<'a, R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: Box<dyn Job> = Box::new(Task {
            work: Some(work),
            outcome: None,
            reply,
        });
        self.jobs
            .send(task)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(
    pool: Pool,
    mut client: deadpool_postgres::Client,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_group: usize,
    metrics: Arc<Metrics>,
) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(max_group);
    while let Some(first) = queue.recv().await {
        group.push(first);
        while group.len() < max_group {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let size = group.len();
        let committed = commit_group(&mut client, &mut group).await;
        if let Err(disk_full) = committed {
            tracing::warn!(jobs = size, disk_full, "group transaction not committed");
            // The connection may be broken: take a fresh one for the next group.
            if client.is_closed()
                && let Ok(fresh) = pool.get().await
            {
                client = fresh;
            }
        }
        metrics.observe_commit(size, started.elapsed());
        for job in group.drain(..) {
            job.finish(committed);
        }
    }
}

/// Runs every job of the group in one transaction holding the sequence lock, each in its own
/// savepoint. `Err(disk_full)` when the transaction could not be committed.
async fn commit_group(
    client: &mut deadpool_postgres::Client,
    group: &mut [Box<dyn Job>],
) -> Result<(), bool> {
    let report = |e: tokio_postgres::Error| {
        tracing::error!(error = %e, "group transaction failed");
        e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL)
    };
    let mut tx = client.transaction().await.map_err(report)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCE_LOCK])
        .await
        .map_err(report)?;
    for job in group.iter_mut() {
        let savepoint = tx.savepoint("job").await.map_err(report)?;
        if job.run(&savepoint).await {
            savepoint.commit().await.map_err(report)?;
        } else {
            savepoint.rollback().await.map_err(report)?;
        }
    }
    tx.commit().await.map_err(report)
}
