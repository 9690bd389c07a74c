//! A phone stays usable while it syncs: against a real server, a device core pulls thousands
//! of ops while saves are made on it from another task, and every save returns within its
//! bound. The bound is generous so that the test does not flake on a busy machine; the
//! benchmark (docs/BENCHMARKS.md, "App") carries the real figures.

use std::time::{Duration, Instant};
use vaka_shared::model::{CategoryCode, IncidentFields, Severity};
use vaka_tests::{TestPhone, TestServer, http};

/// Ops the other phone has sent before this one syncs.
const PULLED: usize = 2_000;
/// Saves at most, one every [`SAVE_EVERY`] (a busy walker, not a flood that would keep the
/// sync's outbox from ever running empty).
const SAVES: usize = 300;
const SAVE_EVERY: Duration = Duration::from_millis(5);
/// How long one save may take while the sync runs.
const SAVE_BOUND: Duration = Duration::from_secs(1);

fn incident(n: usize) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(2)),
        description: Some(format!("Oro vid torget, nummer {n}")),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_return_within_their_bound_while_a_sync_pulls_thousands_of_ops() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let other = TestPhone::enrolled(&server, org.volunteers[0]).await?;
    let writer = other.device.clone();
    tokio::task::spawn_blocking(move || {
        for n in 0..PULLED {
            writer.create_incident(incident(n))?;
        }
        anyhow::Ok(())
    })
    .await??;
    let sent = other.device.sync_once(&http()).await?;
    assert_eq!(sent.acked, PULLED as u64, "{sent:?}");

    // The coordinator's phone sees the volunteer's entries: its first sync pulls them all.
    let phone = TestPhone::enrolled(&server, org.coordinator).await?;
    let syncing = phone.device.clone();
    let sync = tokio::spawn(async move { syncing.sync_once(&http()).await });

    let mut saves = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    let mut pace = tokio::time::interval(SAVE_EVERY);
    loop {
        pace.tick().await;
        let device = phone.device.clone();
        let started = Instant::now();
        let id = tokio::task::spawn_blocking(move || device.create_incident(incident(n))).await??;
        let took = started.elapsed();
        assert!(
            took < SAVE_BOUND,
            "save {n} took {took:?} while the sync ran"
        );
        slowest = slowest.max(took);
        saves.push(id);
        n += 1;
        if sync.is_finished() || n == SAVES {
            break;
        }
    }
    let report = sync.await??;
    assert!(report.pulled >= PULLED, "{report:?}");
    println!(
        "{} saves while the sync pulled {} ops; the slowest took {slowest:?}",
        saves.len(),
        report.pulled
    );

    // Every save is on the phone beside everything pulled; the saves wait in the outbox
    // (or went along with the sync's later rounds), none was lost.
    let entries = phone.device.entries()?;
    assert_eq!(entries.len(), PULLED + saves.len());
    for id in &saves {
        assert!(
            phone.device.entry(*id)?.is_some(),
            "save {id} is on the phone"
        );
    }
    let after = phone.device.sync_once(&http()).await?;
    assert_eq!(phone.device.outbox_len()?, 0, "{after:?}");
    Ok(())
}
