//! The server killed with SIGKILL in the middle of a sync burst and restarted on the same data:
//! every op it had acknowledged is still there, and the devices finish syncing. On SQLite and, as
//! the same test, on PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};
use vaka_device::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Severity};
use vaka_tests::{Admin, ServerProcess, StoreAt, cli_at, integrity};

const PHONES: usize = 3;
const ENTRIES_PER_PHONE: u64 = 600;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// The op ids the server holds per device, sorted, one per stored row (an op stored twice shows
/// twice), read from the store in `store` (opened here after its server process stopped).
async fn held_per_device(store: &StoreAt) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let admin = open(store).await?;
    let rows = admin
        .rows(
            "SELECT device_id, op_id FROM ops ORDER BY device_id, op_id",
            &[],
        )
        .await?;
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let text = |i: usize| row[i].as_str().unwrap_or_default().to_owned();
        held.entry(text(0)).or_default().push(text(1));
    }
    Ok(held)
}

/// The store in `store`, opened in this process.
async fn open(store: &StoreAt) -> anyhow::Result<Admin> {
    match store {
        StoreAt::Data(dir) => Admin::open(dir).await,
        StoreAt::Database(url) => Admin::open_database(url).await,
    }
}

/// The ids of the ops a phone made, sorted, read from its file: all of them, and those it holds
/// as acknowledged.
fn own_op_ids(path: &Path, device: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let conn = vaka_tests::read_only(path)?;
    let mut stmt =
        conn.prepare("SELECT op_id, status FROM ops WHERE device_id = ?1 ORDER BY op_id")?;
    let rows = stmt.query_map([device], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let (mut all, mut acked) = (Vec::new(), Vec::new());
    for row in rows {
        let (op_id, status) = row?;
        if status == "acked" {
            acked.push(op_id.clone());
        }
        all.push(op_id);
    }
    Ok((all, acked))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_ops_survive_a_sigkill_during_a_sync_burst() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    burst_and_kill(StoreAt::Data(data.path().to_path_buf())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_ops_survive_a_sigkill_during_a_sync_burst_on_postgresql() -> anyhow::Result<()>
{
    let url = vaka_tests::postgres::fresh_database().await?;
    burst_and_kill(StoreAt::Database(url)).await
}

async fn burst_and_kill(store: StoreAt) -> anyhow::Result<()> {
    let binary = Path::new(env!("CARGO_BIN_EXE_vaka-test-server"));
    let org = cli_at(
        binary,
        &store,
        &["org", "create", "--name", "Nattvandrarna Testby"],
    )?;
    let mut server = ServerProcess::start_at(binary, store.clone()).await?;

    let phone_dir = tempfile::tempdir()?;
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let member = cli_at(
            binary,
            &store,
            &[
                "user",
                "create",
                "--org",
                &org,
                "--name",
                &format!("Volontär {i}"),
                "--role",
                "volunteer",
            ],
        )?;
        let code = cli_at(binary, &store, &["enroll-code", "--member", &member])?;
        let device = Device::open(phone_dir.path().join(format!("phone-{i}.sqlite3")))?;
        device
            .enroll(&http(), &server.url, &code, "Testtelefon")
            .await?;
        for n in 0..ENTRIES_PER_PHONE {
            device.create_incident(IncidentFields {
                category: Some(CategoryCode::from("disturbance")),
                severity: Some(Severity(1 + (n % 4) as u8)),
                description: Some(format!(
                    "Händelse {n} vid torget, lugnt efter samtal med gruppen."
                )),
                ..Default::default()
            })?;
        }
        phones.push(device);
    }

    // The burst: every phone syncs until it gets through, retrying after failures.
    let burst: Vec<_> = phones
        .iter()
        .cloned()
        .map(|device| {
            tokio::spawn(async move {
                let client = http();
                let deadline = Instant::now() + Duration::from_secs(120);
                while Instant::now() < deadline {
                    if device.sync_once(&client).await.is_ok()
                        && device.outbox_len().unwrap_or(1) == 0
                    {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                false
            })
        })
        .collect();

    // Kill the server once some ops are acknowledged and others still wait.
    let total = PHONES as u64 * ENTRIES_PER_PHONE;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: u64 = phones.iter().map(|p| p.outbox_len().unwrap_or(total)).sum();
        if pending < total && pending > 0 {
            break;
        }
        anyhow::ensure!(
            pending > 0,
            "the burst finished before the server could be killed"
        );
        anyhow::ensure!(Instant::now() < deadline, "nothing was acknowledged");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill()?;
    // What each phone holds as acknowledged now can only grow from here (no server answers).
    let phone_file = |i: usize| phone_dir.path().join(format!("phone-{i}.sqlite3"));
    let ids: Vec<String> = phones
        .iter()
        .map(|p| Ok(p.identity()?.expect("enrolled").device_id.to_string()))
        .collect::<anyhow::Result<_>>()?;
    let acknowledged: Vec<(Vec<String>, Vec<String>)> = (0..PHONES)
        .map(|i| own_op_ids(&phone_file(i), &ids[i]))
        .collect::<anyhow::Result<_>>()?;
    assert!(
        acknowledged.iter().any(|(_, acked)| !acked.is_empty()),
        "killed before any acknowledgement"
    );
    assert_eq!(open(&store).await?.integrity().await?, "ok");
    let held = held_per_device(&store).await?;
    for (device, (own, acked)) in ids.iter().zip(&acknowledged) {
        assert_eq!(own.len() as u64, ENTRIES_PER_PHONE);
        let stored = held.get(device).cloned().unwrap_or_default();
        let mut once = stored.clone();
        once.dedup();
        assert_eq!(once, stored, "device {device} has an op stored twice");
        let stored: BTreeSet<&String> = stored.iter().collect();
        let own: BTreeSet<&String> = own.iter().collect();
        let acked: BTreeSet<&String> = acked.iter().collect();
        assert!(
            stored.is_subset(&own),
            "device {device}: the server holds {} ops it never made, first {:?}",
            stored.difference(&own).count(),
            stored.difference(&own).next()
        );
        assert!(
            acked.is_subset(&stored),
            "device {device}: {} ops acknowledged but not stored, first {:?}",
            acked.difference(&stored).count(),
            acked.difference(&stored).next()
        );
    }

    let server = server.restart(binary).await?;
    for task in burst {
        assert!(
            task.await?,
            "a phone did not finish syncing after the restart"
        );
    }
    for phone in &phones {
        phone.sync_once(&http()).await?;
    }
    drop(server);

    let held = held_per_device(&store).await?;
    assert_eq!(held.len(), PHONES, "ops of the phones only");
    for (i, device) in ids.iter().enumerate() {
        let (own, acked) = own_op_ids(&phone_file(i), device)?;
        assert_eq!(acked, own, "phone {i}: every op acknowledged");
        assert_eq!(
            held.get(device),
            Some(&own),
            "phone {i}: the server holds exactly its ops, each once"
        );
    }
    let admin = open(&store).await?;
    let expected = admin.snapshot(org.parse()?).await?;
    assert_eq!(expected.len() as u64, total);
    for (i, phone) in phones.iter().enumerate() {
        assert_eq!(
            phone.state_snapshot()?,
            expected,
            "phone {i} differs from the server"
        );
        assert_eq!(integrity(&phone_file(i))?, "ok");
    }
    Ok(())
}
