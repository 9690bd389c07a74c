//! Faults one at a time: a device process killed in the middle of a sync, a pull that fails half
//! way, and a server whose disk fills up.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vaka_device::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Severity};
use vaka_tests::proxy::{Fault, FaultProxy};
use vaka_tests::{TestServer, integrity};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

fn incident(n: u64) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(1 + (n % 4) as u8)),
        description: Some(format!(
            "Händelse {n} vid torget; lugnt efter samtal med gruppen."
        )),
        ..Default::default()
    }
}

/// A device core on its own file at `path`, enrolled for `member` through `url`.
async fn enrolled(
    server: &TestServer,
    url: &str,
    member: vaka_shared::MemberId,
    path: &std::path::Path,
) -> anyhow::Result<Device> {
    let device = Device::open(path)?;
    let code = server.admin.code(member).await?;
    device.enroll(&http(), url, &code, "Telefon").await?;
    Ok(device)
}

/// The op ids the server holds from `device`, sorted, one per stored row (an op stored twice
/// shows twice).
async fn op_ids_on_server(server: &TestServer, device: &Device) -> anyhow::Result<Vec<String>> {
    let id = device.identity()?.expect("enrolled").device_id.to_string();
    let rows = server
        .admin
        .rows(
            "SELECT op_id FROM ops WHERE device_id = ?1 ORDER BY op_id",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| r[0].as_str().unwrap_or_default().to_owned())
        .collect())
}

/// The one number `sql` answers on the server's store.
async fn number(server: &TestServer, sql: &str, params: &[&str]) -> anyhow::Result<i64> {
    let rows = server.admin.rows(sql, params).await?;
    rows.first()
        .and_then(|r| r[0].as_i64())
        .ok_or_else(|| anyhow::anyhow!("no number from {sql}"))
}

/// The ids of the ops a device made, sorted, read from its file: all of them, and those it holds
/// as acknowledged by the server.
fn own_op_ids(
    path: &std::path::Path,
    device: &Device,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let id = device.identity()?.expect("enrolled").device_id.to_string();
    let conn = vaka_tests::read_only(path)?;
    let mut all = Vec::new();
    let mut acked = Vec::new();
    let mut stmt =
        conn.prepare("SELECT op_id, status FROM ops WHERE device_id = ?1 ORDER BY op_id")?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        let op_id: String = row.get(0)?;
        if row.get::<_, String>(1)? == "acked" {
            acked.push(op_id.clone());
        }
        all.push(op_id);
    }
    Ok((all, acked))
}

/// Every op the server holds from the device is one the device made, stored once, and every op
/// the device holds as acknowledged is among them.
fn check_held_once(held: &[String], own: &[String], acked: &[String]) {
    let mut once = held.to_vec();
    once.dedup();
    assert_eq!(once.len(), held.len(), "an op is stored twice");
    let own: std::collections::BTreeSet<&String> = own.iter().collect();
    let held_set: std::collections::BTreeSet<&String> = held.iter().collect();
    let foreign: Vec<&&String> = held_set.difference(&own).collect();
    assert!(
        foreign.is_empty(),
        "the server holds {} ops the device never made, first {:?}",
        foreign.len(),
        foreign.first()
    );
    let acked: std::collections::BTreeSet<&String> = acked.iter().collect();
    let lost: Vec<&&String> = acked.difference(&held_set).collect();
    assert!(
        lost.is_empty(),
        "{} ops acknowledged but not on the server, first {:?}",
        lost.len(),
        lost.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_mid_sync_keeps_its_outbox_and_sends_nothing_twice() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("phone.sqlite3");
    const MADE: u64 = 3000;
    {
        let device = enrolled(&server, &server.url, org.volunteers[0], &path).await?;
        for n in 0..MADE {
            device.create_incident(incident(n))?;
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaka-test-device"))
        .arg(&path)
        .stdout(Stdio::null())
        .spawn()?;
    // Kill the device once the server holds some of its ops but not all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = number(&server, "SELECT COUNT(*) FROM ops", &[]).await?;
        if held > 0 {
            anyhow::ensure!(
                (held as u64) < MADE,
                "the device finished before it could be killed"
            );
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the device sent nothing");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill()?;
    child.wait()?;

    assert_eq!(integrity(&path)?, "ok");
    let device = Device::open(&path)?;
    let state = device.sync_state()?;
    let held = op_ids_on_server(&server, &device).await?;
    let (own, acked) = own_op_ids(&path, &device)?;
    assert_eq!(own.len() as u64, MADE);
    check_held_once(&held, &own, &acked);
    let stored = held.len();
    assert!(
        device.outbox_len()? + stored as u64 >= MADE,
        "every op is either on the server or still waiting"
    );
    let server_seq = number(&server, "SELECT COALESCE(MAX(seq), 0) FROM ops", &[]).await? as u64;
    assert!(
        state.cursor <= server_seq,
        "the cursor never runs ahead of the server"
    );

    device.sync_once(&http()).await?;
    assert_eq!(device.outbox_len()?, 0);
    let (own, acked) = own_op_ids(&path, &device)?;
    assert_eq!(acked, own, "every op acknowledged");
    assert_eq!(
        op_ids_on_server(&server, &device).await?,
        own,
        "the server holds exactly the device's ops, each once"
    );
    assert_eq!(
        device.state_snapshot()?,
        server.admin.snapshot(org.id).await?
    );
    Ok(())
}

#[tokio::test]
async fn a_pull_that_fails_half_way_keeps_the_cursor_where_the_applied_ops_end()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 2).await?;
    let dir = tempfile::tempdir()?;
    let writer_path = dir.path().join("writer.sqlite3");
    let writer = enrolled(&server, &server.url, org.volunteers[0], &writer_path).await?;
    for n in 0..1200 {
        writer.create_incident(incident(n))?;
    }
    writer.sync_once(&http()).await?;

    let proxy = FaultProxy::start(server.url.trim_start_matches("http://").parse()?).await?;
    let reader_path = dir.path().join("reader.sqlite3");
    let reader = enrolled(&server, &proxy.url, org.volunteers[1], &reader_path).await?;
    // The first page arrives, the answer with the second is cut in half.
    proxy.script([Fault::Pass, Fault::CutResponse]);
    assert!(reader.sync_once(&http()).await.is_err());
    let after_first = reader.sync_state()?;
    let held = reader.state_snapshot()?.len() as u64;
    assert!(
        held > 0 && held < 1200,
        "one page applied, not more: {held}"
    );
    let seqs = server
        .admin
        .rows("SELECT seq FROM ops ORDER BY seq", &[])
        .await?;
    let page_end = seqs[held as usize - 1][0].as_i64().unwrap_or_default() as u64;
    assert_eq!(
        after_first.cursor, page_end,
        "the cursor is where the applied ops end"
    );

    proxy.set(Fault::Pass);
    reader.sync_once(&http()).await?;
    assert_eq!(
        reader.state_snapshot()?,
        server.admin.snapshot(org.id).await?,
        "the hole is refilled"
    );
    assert_eq!(integrity(&reader_path)?, "ok");
    Ok(())
}

#[tokio::test]
async fn a_full_disk_refuses_writes_clearly_and_recovers_when_space_returns() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("phone.sqlite3");
    let device = enrolled(&server, &server.url, org.volunteers[0], &path).await?;
    // The database may grow by only a few pages: the disk is as good as full.
    let pages = server.admin.limit_database_pages(16).await?;
    assert!(pages > 0);
    const MADE: u64 = 600;
    for n in 0..MADE {
        device.create_incident(incident(n))?;
    }
    let error = device
        .sync_once(&http())
        .await
        .expect_err("the server is full");
    assert!(error.to_string().contains("disk is full"), "{error}");
    let held = op_ids_on_server(&server, &device).await?;
    let (own, acked) = own_op_ids(&path, &device)?;
    check_held_once(&held, &own, &acked);
    assert_eq!(acked, held, "only what the server stored was acknowledged");
    assert_eq!(device.outbox_len()?, MADE - held.len() as u64);
    assert!((held.len() as u64) < MADE);

    server.admin.limit_database_pages(1_000_000).await?;
    device.sync_once(&http()).await?;
    assert_eq!(device.outbox_len()?, 0);
    let (own, acked) = own_op_ids(&path, &device)?;
    assert_eq!((own.len() as u64, &acked), (MADE, &own));
    assert_eq!(op_ids_on_server(&server, &device).await?, own);
    assert_eq!(
        device.state_snapshot()?,
        server.admin.snapshot(org.id).await?
    );
    assert_eq!(integrity(&server.data_dir().join("vaka.sqlite3"))?, "ok");
    Ok(())
}
