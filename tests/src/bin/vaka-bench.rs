//! Vaka's sync benchmarks W1–W4. Prints figures; asserts nothing. Build and run in release:
//!
//! ```sh
//! cargo build --release -p vaka-tests --bins && target/release/vaka-bench       # all
//! target/release/vaka-bench w3                                                  # W3 only
//! ```
//!
//! W1 ingest: 100,000 incident creates pushed by 50 concurrent devices in batches of 200, beside
//! two floors measured in the same run: the minimal floor (each op as one row, its id and JSON,
//! straight into SQLite) and the schema floor (the rows the server's schema stores for it). W2
//! catch-up: a new device pulls them (every one of them, or the run fails). W3 many devices: 1,000 devices (50 organisations of 20)
//! each push 5 ops and pull at the same time; the latencies are those of the syncs that
//! succeeded, failed ones are counted apart, and any failure fails the run. W4 device: saving an
//! incident on a device whose store holds 100,000 entries.
//!
//! On PostgreSQL: `VAKA_BENCH_DATABASE=postgres://USER@HOST:PORT/DB` (an empty database) runs the
//! same client against servers on that database, and `VAKA_BENCH_PROCESSES=2` against that many
//! server processes on it, the devices spread over them in turn. Both floors are measured in
//! the same run either way.
//!
//! `VAKA_BENCH_PRELOAD=N` first stores N ops of another organisation through the same client, so
//! W1 and W3 are measured on a store that holds them, not on an empty one.
//!
//! A run that measured a failure says so and exits non-zero.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vaka_device::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Location, PoliceLine, Severity};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::sync::{PullRequest, SyncRequest, SyncResponse};
use vaka_shared::{EntityId, Timestamp};
use vaka_tests::raw::RawDevice;
use vaka_tests::{Admin, ServerProcess, StoreAt};

const W1_DEVICES: usize = 50;
const W1_OPS: usize = 100_000;
const W1_BATCH: usize = 200;
const W3_DEVICES: usize = 1000;
/// W3's devices belong to organisations of this many (a town's walkers, guards and coordinators).
const W3_ORG_SIZE: usize = 20;
const W3_OPS: usize = 5;
/// W3's second round spreads the same syncs over this long.
const W3_SPREAD: Duration = Duration::from_secs(1);
const W4_SAVES: usize = 1000;

fn realistic_incident(n: usize) -> OpBody {
    let texts = [
        "Grupp om sex ungdomar vid busshållplatsen, högljudda och drack öl. Samtal, de gick hemåt.",
        "Bråk utanför kiosken mellan två grupper; skingrades när vi kom. Polis kontaktad på 114 14.",
        "Ensam ung person vid stationen utan skjuts hem; följdes till vuxen som hämtade.",
    ];
    OpBody::Incident(IncidentFields {
        occurred_at: Some(Timestamp::now_utc()),
        location: Some(Some(Location {
            lat: 59.61 + (n % 100) as f64 * 1e-4,
            lon: 16.54 + (n % 77) as f64 * 1e-4,
            accuracy_m: Some(12.0),
        })),
        place: Some(Some("Busshållplatsen vid torget".into())),
        category: Some(CategoryCode::from(
            ["disturbance", "alcohol", "youth_at_risk"][n % 3],
        )),
        severity: Some(Severity(1 + (n % 4) as u8)),
        description: Some(texts[n % 3].into()),
        people_involved: Some(6),
        minors_involved: Some(4),
        police_line: Some(n.is_multiple_of(5).then_some(PoliceLine::NonEmergency)),
        ..Default::default()
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn peak_memory_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM")
}

fn server_binary() -> anyhow::Result<PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .context("exe dir")?
        .to_path_buf();
    let binary = dir.join("vaka-test-server");
    anyhow::ensure!(
        binary.exists(),
        "build it first: cargo build --release -p vaka-tests --bins"
    );
    Ok(binary)
}

/// A zstd-compressed sync, as phones send it; returns the answer and the bytes on the wire and
/// as plain JSON.
/// The SQLite store's bytes on disk: the file and its WAL.
fn store_bytes(dir: &Path) -> u64 {
    ["vaka.sqlite3", "vaka.sqlite3-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|meta| meta.len())
        .sum()
}

async fn sync_zstd(
    http: &reqwest::Client,
    device: &RawDevice,
    request: &SyncRequest,
) -> anyhow::Result<(SyncResponse, usize, usize)> {
    let (response, wire, plain, _) = sync_zstd_timed(http, device, request).await?;
    Ok((response, wire, plain))
}

/// Like [`sync_zstd`], also timing the client's parsing of the answer.
async fn sync_zstd_timed(
    http: &reqwest::Client,
    device: &RawDevice,
    request: &SyncRequest,
) -> anyhow::Result<(SyncResponse, usize, usize, Duration)> {
    let body = zstd::encode_all(serde_json::to_vec(request)?.as_slice(), 3)?;
    let answer = send_zstd(http, &device.url, &device.enrolled.token, body).await?;
    let started = Instant::now();
    let (parsed, plain) = answer.parse()?;
    Ok((parsed, answer.wire.len(), plain, started.elapsed()))
}

/// An answer as it came over the wire.
struct WireAnswer {
    wire: Vec<u8>,
    compressed: bool,
}

impl WireAnswer {
    /// The parsed answer and its size as plain JSON.
    fn parse(&self) -> anyhow::Result<(SyncResponse, usize)> {
        let plain = if self.compressed {
            zstd::decode_all(self.wire.as_slice())?
        } else {
            self.wire.to_vec()
        };
        Ok((serde_json::from_slice(&plain)?, plain.len()))
    }
}

/// Sends a compressed sync body and reads the whole answer, without parsing it.
async fn send_zstd(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> anyhow::Result<WireAnswer> {
    let response = http
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("content-encoding", "zstd")
        .header("accept-encoding", "zstd")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "sync failed: {}",
        response.status()
    );
    let compressed = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"zstd");
    Ok(WireAnswer {
        wire: response.bytes().await?.to_vec(),
        compressed,
    })
}

/// A floor's database: WAL and `synchronous=FULL`, as the server runs its store.
fn open_floor(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// The minimal floor, the reference every W1 and W3 figure is given against: the same ops as one
/// row each (the op id under a unique index and the op's JSON), WAL, synchronous=FULL, 200 rows a
/// transaction, through rusqlite in this process. The JSON is made before the clock starts, so
/// only storing is timed.
fn minimal_floor(dir: &Path, ops: &[Op]) -> anyhow::Result<f64> {
    let mut conn = open_floor(&dir.join("minimal.sqlite3"))?;
    conn.execute_batch(
        "CREATE TABLE ops (id TEXT NOT NULL, op TEXT NOT NULL);
         CREATE UNIQUE INDEX ops_id ON ops(id);",
    )?;
    let rows = ops
        .iter()
        .map(|op| Ok((op.op_id.to_string(), serde_json::to_string(op)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    for batch in rows.chunks(W1_BATCH) {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO ops (id, op) VALUES (?1, ?2)")?;
            for (id, json) in batch {
                insert.execute(rusqlite::params![id, json])?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

/// The schema floor: the same rows W1 stores (op log, entity state and the dashboard's
/// projection row, the last by the server's own SQL statement), inserted straight through
/// rusqlite with WAL, synchronous=FULL, one transaction per batch and the server's schema and
/// indexes.
fn schema_floor(dir: &Path, ops: &[Op]) -> anyhow::Result<f64> {
    let mut conn = open_floor(&dir.join("floor.sqlite3"))?;
    vaka_server::store::migrate(&mut conn)?;
    let org = uuid::Uuid::now_v7().to_string();
    let member = uuid::Uuid::now_v7().to_string();
    let rows: Vec<_> = ops
        .iter()
        .map(|op| {
            let fields = serde_json::to_string(&op.body.field_map()).unwrap_or_default();
            let mut state = vaka_shared::merge::EntityState::default();
            state.apply(
                vaka_shared::merge::WriteStamp {
                    hlc: op.hlc,
                    seq: Some(1),
                    base_seq: 0,
                },
                &op.body.field_map(),
            );
            (
                op,
                fields,
                serde_json::to_string(&state).unwrap_or_default(),
            )
        })
        .collect();
    let started = Instant::now();
    for batch in rows.chunks(W1_BATCH) {
        let tx = conn.transaction()?;
        {
            let mut insert_op = tx.prepare_cached(
                "INSERT INTO ops (org_id, scope_member, author, op_id, device_id, device_seq, hlc, base_seq,
                                  entity_kind, entity_id, fields, received_at_ms)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut insert_entity = tx.prepare_cached(
                "INSERT INTO entities (id, org_id, kind, author, scope_member, state, created_seq, updated_seq)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?6)",
            )?;
            for (op, fields, state) in batch {
                insert_op.execute(rusqlite::params![
                    org,
                    member,
                    op.op_id.to_string(),
                    op.device_id.to_string(),
                    op.device_seq,
                    op.hlc.to_string(),
                    op.base_seq,
                    op.kind().as_str(),
                    op.entity_id.to_string(),
                    fields,
                    0
                ])?;
                let seq = tx.last_insert_rowid();
                insert_entity.execute(rusqlite::params![
                    op.entity_id.to_string(),
                    org,
                    op.kind().as_str(),
                    member,
                    state,
                    seq
                ])?;
                // The dashboard's projection row, by the same SQL statement the server runs.
                vaka_server::store::entries::project(&tx, op.entity_id, 0)?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = server_binary()?;
    // `VAKA_BENCH_KEEP=1` keeps the SQLite store the run made (to time a move of it).
    let temp = tempfile::tempdir()?;
    let (data, _temp) = match std::env::var_os("VAKA_BENCH_KEEP") {
        Some(_) => {
            let kept = temp.keep();
            println!("the store stays in {}", kept.display());
            (kept, None)
        }
        None => (temp.path().to_path_buf(), Some(temp)),
    };
    println!(
        "Vaka sync benchmarks ({} cores)",
        std::thread::available_parallelism()?.get()
    );

    let store = match std::env::var("VAKA_BENCH_DATABASE") {
        Ok(url) => StoreAt::Database(url),
        Err(_) => StoreAt::Data(data.clone()),
    };
    let processes: usize = std::env::var("VAKA_BENCH_PROCESSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    println!(
        "store: {}, {processes} server process(es)",
        match &store {
            StoreAt::Data(_) => "SQLite",
            StoreAt::Database(_) => "PostgreSQL",
        }
    );
    let admin = match &store {
        StoreAt::Data(dir) => Admin::open(dir).await?,
        StoreAt::Database(url) => Admin::open_database(url).await?,
    };
    // `VAKA_BENCH_PRELOAD=N` stores N ops of another organisation before W1, so W1 and W3 are
    // measured on a store that already holds them (W2 pulls W1's organisation only).
    let preload: usize = std::env::var("VAKA_BENCH_PRELOAD")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Spread evenly over W1's number of devices.
    let preloaded = preload.div_ceil(W1_DEVICES) * W1_DEVICES;
    let preload_codes = match preload {
        0 => Vec::new(),
        _ => {
            let org = admin.org("Förladdning", W1_DEVICES).await?;
            let mut codes = Vec::new();
            for member in &org.volunteers {
                codes.push(admin.code(*member).await?);
            }
            codes
        }
    };
    let org = admin.org("Benchmark", W1_DEVICES + 2).await?;
    let mut codes = Vec::new();
    for member in &org.volunteers {
        codes.push(admin.code(*member).await?);
    }
    let mut w3_codes = Vec::new();
    for town in 0..W3_DEVICES / W3_ORG_SIZE {
        let org = admin.org(&format!("Kommun {town}"), W3_ORG_SIZE).await?;
        for member in &org.volunteers {
            w3_codes.push(admin.code(*member).await?);
        }
    }
    drop(admin);
    let mut servers = Vec::with_capacity(processes);
    for _ in 0..processes {
        servers.push(ServerProcess::start_at(&binary, store.clone()).await?);
    }
    // Device `i` syncs through process `i % processes`, as a load balancer would spread them.
    let url_of = |servers: &[ServerProcess], i: usize| servers[i % servers.len()].url.clone();
    let http = reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .pool_max_idle_per_host(2000)
        .build()?;

    // `vaka-bench w3` runs only W3, on an empty store.
    let only_w3 = std::env::args().any(|a| a == "w3");
    let mut server_seq = 0u64;
    // Ops per second of the minimal floor, measured with W1.
    let mut minimal_rate: Option<f64> = None;
    if preloaded > 0 {
        let started = Instant::now();
        let mut devices = Vec::new();
        for (i, code) in preload_codes.iter().enumerate() {
            devices.push(RawDevice::enroll(&url_of(&servers, i), code).await?);
        }
        let per_device = preloaded / W1_DEVICES;
        let tasks: Vec<_> = devices
            .into_iter()
            .map(|mut device| {
                let http = http.clone();
                tokio::spawn(async move {
                    let mut n = 0;
                    while n < per_device {
                        let batch: Vec<Op> = (n..(n + W1_BATCH).min(per_device))
                            .map(|k| device.op(EntityId::new(), realistic_incident(k), 0))
                            .collect();
                        n += batch.len();
                        let request = SyncRequest {
                            push: batch,
                            pull: None,
                        };
                        sync_zstd(&http, &device, &request).await?;
                    }
                    Ok::<_, anyhow::Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        println!(
            "preloaded {preloaded} ops of another organisation in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        if let StoreAt::Data(dir) = &store {
            let bytes = store_bytes(dir);
            println!(
                "  on disk: {} bytes per stored op ({:.1} MB)",
                bytes / preloaded as u64,
                bytes as f64 / 1e6
            );
        }
    }
    if !only_w3 {
        // W1: ingest.
        let mut devices = Vec::new();
        for (i, code) in codes[..W1_DEVICES].iter().enumerate() {
            devices.push(RawDevice::enroll(&url_of(&servers, i), code).await?);
        }
        let per_device = W1_OPS / W1_DEVICES;
        let mut all_ops = Vec::with_capacity(W1_OPS);
        let mut work = Vec::new();
        for mut device in devices {
            let ops: Vec<Op> = (0..per_device)
                .map(|n| device.op(EntityId::new(), realistic_incident(n), 0))
                .collect();
            all_ops.extend(ops.iter().cloned());
            work.push((device, ops));
        }
        let average_op = all_ops
            .iter()
            .map(|op| serde_json::to_vec(op).map(|v| v.len()).unwrap_or(0))
            .sum::<usize>()
            / all_ops.len();
        let started = Instant::now();
        let tasks: Vec<_> = work
            .into_iter()
            .map(|(device, ops)| {
                let http = http.clone();
                tokio::spawn(async move {
                    for batch in ops.chunks(W1_BATCH) {
                        let request = SyncRequest {
                            push: batch.to_vec(),
                            pull: None,
                        };
                        let (response, _, _) = sync_zstd(&http, &device, &request).await?;
                        anyhow::ensure!(
                            response.push.acked_through
                                == batch.last().map_or(0, |op| op.device_seq),
                            "not acknowledged"
                        );
                    }
                    Ok(())
                })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        let w1 = W1_OPS as f64 / started.elapsed().as_secs_f64();
        let floor_dir = tempfile::tempdir()?;
        let floor = schema_floor(floor_dir.path(), &all_ops)?;
        let minimal = minimal_floor(floor_dir.path(), &all_ops)?;
        minimal_rate = Some(minimal);
        println!(
            "W1 ingest: {W1_OPS} incident creates ({average_op} bytes of JSON each), {W1_DEVICES} devices, batches of {W1_BATCH}"
        );
        println!("  server: {w1:.0} ops/s durably acknowledged");
        println!(
            "  minimal floor (one row per op): {minimal:.0} ops/s  (server/minimal floor = {:.2})",
            w1 / minimal
        );
        println!(
            "  schema floor (the server's rows): {floor:.0} ops/s  (server/schema floor = {:.2})",
            w1 / floor
        );

        // What the store holds on disk per op after W1 (SQLite: the file and its WAL).
        if let StoreAt::Data(dir) = &store {
            let bytes = store_bytes(dir);
            let ops = (W1_OPS + preloaded) as u64;
            println!(
                "  on disk: {} bytes per stored op ({:.1} MB: the store file and its WAL)",
                bytes / ops,
                bytes as f64 / 1e6
            );
        }

        // W2: catch-up by a new device, over HTTP, and into a real device core.
        let reader = RawDevice::enroll(&servers[0].url, &codes[W1_DEVICES]).await?;
        let mut pulled_ids = Vec::with_capacity(W1_OPS);
        let started = Instant::now();
        let (mut cursor, mut pulled, mut wire, mut plain) = (0u64, 0usize, 0usize, 0usize);
        let mut parsing = Duration::ZERO;
        loop {
            let request = SyncRequest {
                push: Vec::new(),
                pull: Some(PullRequest {
                    cursor,
                    limit: Some(1000),
                }),
            };
            let (response, w, p, parse) = sync_zstd_timed(&http, &reader, &request).await?;
            parsing += parse;
            let page = response.pull.context("page")?;
            pulled += page.ops.len();
            pulled_ids.extend(page.ops.iter().map(|o| o.op.op_id));
            wire += w;
            plain += p;
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        let w2_time = started.elapsed();
        pulled_ids.sort();
        let mut pushed_ids: Vec<_> = all_ops.iter().map(|op| op.op_id).collect();
        pushed_ids.sort();
        anyhow::ensure!(
            pulled_ids == pushed_ids,
            "W2 pulled {pulled} ops, not the {} ops of W1 each once",
            pushed_ids.len()
        );
        let w2 = pulled as f64 / w2_time.as_secs_f64();
        let w2_server = pulled as f64 / (w2_time - parsing).as_secs_f64();
        println!("W2 catch-up: {pulled} ops in pages of 1000");
        println!("  without the client's JSON parsing: {w2_server:.0} ops/s");
        println!(
            "  HTTP pull: {w2:.0} ops/s; {:.0} bytes/op on the wire (zstd), {:.0} bytes/op as plain JSON ({:.0}%)",
            wire as f64 / pulled as f64,
            plain as f64 / pulled as f64,
            100.0 * wire as f64 / plain as f64
        );
        let device_dir = tempfile::tempdir()?;
        let device = Device::open(device_dir.path().join("phone.sqlite3"))?;
        device
            .enroll(
                &reqwest::Client::new(),
                &servers[0].url,
                &codes[W1_DEVICES + 1],
                "Bänk",
            )
            .await?;
        let started = Instant::now();
        let report = device.sync_once(&reqwest::Client::new()).await?;
        anyhow::ensure!(
            report.pulled == W1_OPS,
            "the device core pulled {} ops, not the {W1_OPS} of W1",
            report.pulled
        );
        println!(
            "  device core catch-up (pull, merge, store): {:.0} ops/s ({} ops)",
            report.pulled as f64 / started.elapsed().as_secs_f64(),
            report.pulled
        );

        // W4: saving on a device that holds 100,000 entries.
        let mut saves = Vec::with_capacity(W4_SAVES);
        for n in 0..W4_SAVES {
            let OpBody::Incident(fields) = realistic_incident(n) else {
                unreachable!()
            };
            let started = Instant::now();
            device.create_incident(fields)?;
            saves.push(started.elapsed());
        }
        saves.sort();
        println!(
            "W4 device: {W4_SAVES} incidents saved on a device holding {} entries",
            report.pulled
        );
        println!(
            "  p50 {}, p99 {}, max {}",
            ms(percentile(&saves, 0.5)),
            ms(percentile(&saves, 0.99)),
            ms(percentile(&saves, 1.0))
        );

        server_seq = cursor;
    }

    // W3: many devices at once, against a freshly started server (for its peak memory).
    if !only_w3 {
        let mut restarted = Vec::with_capacity(servers.len());
        for server in servers {
            restarted.push(server.restart(&binary).await?);
        }
        servers = restarted;
    }
    let mut devices = Vec::with_capacity(w3_codes.len());
    for (i, code) in w3_codes.iter().enumerate() {
        devices.push(RawDevice::enroll(&url_of(&servers, i), code).await?);
    }
    // Peak memory: the largest of the processes.
    let peak_of = |servers: &[ServerProcess]| -> anyhow::Result<u64> {
        let mut peak = 0;
        for server in servers {
            peak = peak.max(peak_memory_kib(server.pid())?);
        }
        Ok(peak)
    };
    let peak_before = peak_of(&servers)?;
    let burst = w3_round(&http, &mut devices, server_seq, Duration::ZERO).await?;
    let peak = peak_of(&servers)?;
    println!(
        "W3 many devices: {W3_DEVICES} devices in {} organisations each push {W3_OPS} ops and pull, all at once ({} in total)",
        W3_DEVICES / W3_ORG_SIZE,
        ms(burst.wall)
    );
    println!(
        "  {burst}; server peak memory {:.1} MB (before W3: {:.1} MB)",
        peak as f64 / 1024.0,
        peak_before as f64 / 1024.0
    );
    if let Some(minimal) = minimal_rate {
        println!(
            "  the minimal floor stores the burst's {} ops in {:.0} ms",
            W3_DEVICES * W3_OPS,
            (W3_DEVICES * W3_OPS) as f64 / minimal * 1000.0
        );
    }
    let spread = w3_round(&http, &mut devices, server_seq, W3_SPREAD).await?;
    println!(
        "  the same devices again, their syncs spread evenly over {:.0} s: {spread}",
        W3_SPREAD.as_secs_f64()
    );
    let failed = burst.errors.len() + spread.errors.len();
    if failed > 0 {
        for error in burst.errors.iter().chain(&spread.errors).take(5) {
            eprintln!("  W3 failure: {error}");
        }
        anyhow::bail!("W3: {failed} of {} syncs failed", 2 * W3_DEVICES);
    }
    Ok(())
}

/// What one W3 round measured.
struct RoundFigures {
    /// From the first request sent to the last answer received.
    wall: Duration,
    /// Each round trip of a sync that succeeded, sorted.
    latencies: Vec<Duration>,
    /// Why each failed sync failed (HTTP errors, refusals, stops, ops not acknowledged); their
    /// round trips are not among the latencies.
    errors: Vec<String>,
    /// Ops pulled, all devices together.
    pulled: usize,
}

impl std::fmt::Display for RoundFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "round trip of the {} syncs that succeeded p50 {}, p99 {}, max {}; FAILED {}; {} ops pulled",
            self.latencies.len(),
            ms(percentile(&self.latencies, 0.5)),
            ms(percentile(&self.latencies, 0.99)),
            ms(percentile(&self.latencies, 1.0)),
            self.errors.len(),
            self.pulled
        )
    }
}

/// Every device pushes [`W3_OPS`] new ops and pulls from `cursor` in one sync; the syncs start
/// evenly spread over `spread` (all at once when it is zero).
async fn w3_round(
    http: &reqwest::Client,
    devices: &mut [RawDevice],
    cursor: u64,
    spread: Duration,
) -> anyhow::Result<RoundFigures> {
    // The bodies are compressed beforehand and the answers parsed afterwards: on this machine the
    // simulated phones share the server's two cores, and a real phone's CPU is its own.
    let mut prepared = Vec::with_capacity(devices.len());
    let mut last_seqs = Vec::with_capacity(devices.len());
    for device in devices.iter_mut() {
        let request = SyncRequest {
            push: (0..W3_OPS)
                .map(|n| device.op(EntityId::new(), realistic_incident(n), cursor))
                .collect(),
            pull: Some(PullRequest {
                cursor,
                limit: Some(500),
            }),
        };
        last_seqs.push(request.push.last().map_or(0, |op| op.device_seq));
        let body = zstd::encode_all(serde_json::to_vec(&request)?.as_slice(), 3)?;
        prepared.push((device.url.clone(), device.enrolled.token.clone(), body));
    }
    let gap = spread / u32::try_from(prepared.len().max(1))?;
    let started = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .enumerate()
        .map(|(n, (url, token, body))| {
            let http = http.clone();
            let start_at = tokio::time::Instant::from_std(started) + gap * u32::try_from(n)?;
            Ok(tokio::spawn(async move {
                tokio::time::sleep_until(start_at).await;
                let began = Instant::now();
                let answer = send_zstd(&http, &url, &token, body).await;
                (began.elapsed(), answer)
            }))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await?);
    }
    let wall = started.elapsed();
    let (mut latencies, mut errors, mut pulled) = (Vec::new(), Vec::new(), 0);
    for ((took, answer), last_seq) in answers.into_iter().zip(last_seqs) {
        match answer.and_then(|a| a.parse()) {
            Ok((response, _))
                if response.push.rejected.is_empty()
                    && response.push.stopped.is_none()
                    && response.push.acked_through == last_seq =>
            {
                latencies.push(took);
                pulled += response.pull.map_or(0, |p| p.ops.len());
            }
            Ok((response, _)) => errors.push(format!(
                "acknowledged through {} of {last_seq}, {} refused, stop {:?}",
                response.push.acked_through,
                response.push.rejected.len(),
                response.push.stopped.map(|s| s.code)
            )),
            Err(error) => errors.push(format!("{error:#}")),
        }
    }
    latencies.sort();
    Ok(RoundFigures {
        wall,
        latencies,
        errors,
        pulled,
    })
}
