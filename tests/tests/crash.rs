//! The server killed with SIGKILL in the middle of a sync burst and restarted on the same data:
//! every op it had acknowledged is still there, and the devices finish syncing.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use vaka_mobile::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Severity};
use vaka_tests::{Admin, ServerProcess, cli, integrity};

const PHONES: usize = 3;
const ENTRIES_PER_PHONE: u64 = 600;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// Ops per device the server holds, read straight from its file.
fn held_per_device(data_dir: &Path) -> anyhow::Result<BTreeMap<String, u64>> {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("vaka.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = conn.prepare(
        "SELECT device_id, COUNT(*), COUNT(DISTINCT device_seq) FROM ops GROUP BY device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
        ))
    })?;
    let mut held = BTreeMap::new();
    for row in rows {
        let (device, count, distinct) = row?;
        anyhow::ensure!(count == distinct, "device {device} has an op stored twice");
        held.insert(device, count);
    }
    Ok(held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_ops_survive_a_sigkill_during_a_sync_burst() -> anyhow::Result<()> {
    let binary = Path::new(env!("CARGO_BIN_EXE_vaka-test-server"));
    let data = tempfile::tempdir()?;
    let org = cli(
        binary,
        data.path(),
        &["org", "create", "--name", "Nattvandrarna Testby"],
    )?;
    let mut server = ServerProcess::start(binary, data.path()).await?;

    let phone_dir = tempfile::tempdir()?;
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let member = cli(
            binary,
            data.path(),
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
        let code = cli(binary, data.path(), &["enroll-code", "--member", &member])?;
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
    let acknowledged: Vec<(String, u64)> = phones
        .iter()
        .map(|p| {
            let id = p.identity()?.expect("enrolled").device_id.to_string();
            Ok((id, ENTRIES_PER_PHONE - p.outbox_len()?))
        })
        .collect::<anyhow::Result<_>>()?;
    assert!(
        acknowledged.iter().any(|(_, n)| *n > 0),
        "killed before any acknowledgement"
    );
    assert_eq!(integrity(&data.path().join("vaka.sqlite3"))?, "ok");
    let held = held_per_device(data.path())?;
    for (device, acked) in &acknowledged {
        let stored = held.get(device).copied().unwrap_or(0);
        assert!(
            stored >= *acked,
            "device {device}: {acked} acknowledged, {stored} stored"
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

    let held = held_per_device(data.path())?;
    assert_eq!(
        held.values().sum::<u64>(),
        total,
        "every op stored exactly once"
    );
    let admin = Admin::open(data.path())?;
    let expected = admin.snapshot(org.parse()?).await?;
    assert_eq!(expected.len() as u64, total);
    for (i, phone) in phones.iter().enumerate() {
        assert_eq!(
            phone.state_snapshot()?,
            expected,
            "phone {i} differs from the server"
        );
        assert_eq!(
            integrity(&phone_dir.path().join(format!("phone-{i}.sqlite3")))?,
            "ok"
        );
    }
    Ok(())
}
