//! The writer thread: owns the write connection and commits every waiting write job in one
//! transaction (group commit), so many devices share one fsync. A job's caller hears back only
//! after the commit, so an acknowledgement always means "on disk".

use super::{StoreError, is_disk_full};
use crate::metrics::Metrics;
use rusqlite::Connection;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A unit of work for the writer: run inside a savepoint, then told how the commit went.
trait Job: Send {
    /// Runs the work; `Err` means roll this job back.
    fn run(&mut self, conn: &Connection) -> Result<(), ()>;
    /// Reports the result once the group's transaction is over.
    fn finish(self: Box<Self>, committed: Result<(), bool>);
}

struct Task<F, R> {
    work: Option<F>,
    outcome: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for Task<F, R>
where
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn run(&mut self, conn: &Connection) -> Result<(), ()> {
        let Some(work) = self.work.take() else {
            return Err(());
        };
        // A job that panics is rolled back like one that failed; the writer, and every later
        // write, goes on. (The savepoint it ran in is rolled back by the caller.)
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| {
                tracing::error!("a write job panicked; it was rolled back");
                Err(StoreError::JobPanicked)
            });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        if ok { Ok(()) } else { Err(()) }
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

/// Handle to the writer thread.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for dyn Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection, max_group: usize, metrics: Arc<Metrics>) -> Self {
        let (jobs, queue) = mpsc::channel(max_group.max(1) * 4);
        std::thread::Builder::new()
            .name("vaka-writer".into())
            .spawn(move || run(conn, queue, max_group.max(1), &metrics))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the writer thread"));
        Self { jobs }
    }

    /// Queues `work` and waits until its transaction is committed.
    pub async fn submit<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
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

fn run(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_group: usize,
    metrics: &Metrics,
) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(max_group);
    while let Some(first) = queue.blocking_recv() {
        group.push(first);
        while group.len() < max_group {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let size = group.len();
        let committed = commit_group(&mut conn, &mut group);
        if let Err(disk_full) = committed {
            tracing::warn!(jobs = size, disk_full, "group transaction not committed");
        }
        metrics.observe_commit(size, started.elapsed());
        for job in group.drain(..) {
            job.finish(committed);
        }
    }
}

/// Runs every job of the group in one transaction, each in its own savepoint. `Err(disk_full)`
/// when the transaction could not be committed.
fn commit_group(conn: &mut Connection, group: &mut [Box<dyn Job>]) -> Result<(), bool> {
    let report = |e: rusqlite::Error| {
        tracing::error!(error = %e, "group transaction failed");
        is_disk_full(&e)
    };
    let mut tx = conn.transaction().map_err(report)?;
    for job in group.iter_mut() {
        let mut savepoint = tx.savepoint().map_err(report)?;
        if job.run(&savepoint).is_err() {
            savepoint.rollback().map_err(report)?;
        }
        savepoint.commit().map_err(report)?;
    }
    tx.commit().map_err(report)
}
