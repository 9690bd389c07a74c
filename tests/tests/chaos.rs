//! Randomised sync under fire: six devices in two organisations create, edit, retract, comment
//! and review at random, go offline at random, sync in random order through a proxy that drops,
//! cuts, delays and duplicates requests at random, while the server is killed with SIGKILL and
//! restarted at random points. After the faults stop and every device has synced twice:
//! - every device's state equals the server's for its organisation, and no device holds another
//!   organisation's data;
//! - every op the server acknowledged is in the store exactly once, and every op a device made
//!   was acknowledged (none is left pending, none was lost);
//! - `PRAGMA integrity_check` is ok on the server's and every device's database.
//!
//! On PostgreSQL (`chaos_two_servers_*`) two server processes serve one database behind the
//! proxy, which sends each connection to either at random, and either is SIGKILLed at random; the
//! same invariants hold (the integrity check is `amcheck` on every index).
//!
//! A device core's sync may fail under faults, but never panic. Across its seeds, each test
//! must see SIGKILLs land while the proxy had a push forwarded to the server and unanswered.
//!
//! Each test runs a range of seeds (`VAKA_CHAOS_SEEDS_PER_TEST`, default 50, from
//! `VAKA_CHAOS_FIRST_SEED`, default 0). A failure prints its seed; replay one with
//! `VAKA_CHAOS_SEED=<seed> cargo test -p vaka-tests --test chaos` (every test then runs that
//! seed). The actions and the proxy's faults are drawn from two generators, each seeded from the
//! seed, so that neither stream mirrors the other.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Duration;
use vaka_device::{Device, EntryFields, PatrolSummary};
use vaka_shared::model::{
    CategoryCode, IncidentFields, ObservationCategory, ObservationFields, PatrolFields, PatrolKind,
    ReviewStatus, Role, Severity,
};
use vaka_shared::op::OpBody;
use vaka_shared::{EntityKind, OrgId};
use vaka_tests::proxy::{Fault, FaultProxy};
use vaka_tests::{Admin, ServerProcess, StoreAt, integrity};

const STEPS: usize = 40;
const TESTS: u64 = 4;

struct Phone {
    device: Device,
    org: OrgId,
    role: Role,
    offline: bool,
    /// Ops this phone made (successful local writes).
    made: u64,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// The seeds of test number `test`, and whether they are one seed to replay.
fn seeds(test: u64) -> (Vec<u64>, bool) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = env("VAKA_CHAOS_SEED") {
        return (vec![seed], true);
    }
    let per_test = env("VAKA_CHAOS_SEEDS_PER_TEST").unwrap_or(50);
    let first = env("VAKA_CHAOS_FIRST_SEED").unwrap_or(0);
    (
        (0..per_test).map(|i| first + i * TESTS + test).collect(),
        false,
    )
}

/// A generator seed drawn from `seed` for one `stream` (splitmix64), so that two streams of one
/// seed are unrelated.
fn stream_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How the SIGKILLs of one seed fell.
#[derive(Debug, Default, Clone, Copy)]
struct Kills {
    /// SIGKILLs sent.
    sent: u64,
    /// Those sent while a push was forwarded to the server and unanswered, and that cut one.
    during_push: u64,
}

/// Which store the servers of a seed run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// One server process on an SQLite data folder.
    Sqlite,
    /// Two server processes on one PostgreSQL database.
    Postgres,
}

async fn run_seeds(test: u64, backend: Backend) {
    let binary = Path::new(env!("CARGO_BIN_EXE_vaka-test-server"));
    let (mut seeds, replay) = seeds(test);
    if backend == Backend::Postgres && !replay {
        // Two processes per seed: half as many seeds keep the run's time.
        seeds.truncate(seeds.len().div_ceil(2));
    }
    let mut kills = Kills::default();
    for seed in &seeds {
        match run_seed(binary, *seed, backend).await {
            Ok(seed_kills) => {
                kills.sent += seed_kills.sent;
                kills.during_push += seed_kills.during_push;
            }
            Err(error) => panic!(
                "chaos seed {seed} failed: {error:#}\nreplay: VAKA_CHAOS_SEED={seed} cargo test -p vaka-tests --test chaos"
            ),
        }
    }
    println!(
        "{} seeds: {} SIGKILLs, {} of them while a push was in flight",
        seeds.len(),
        kills.sent,
        kills.during_push
    );
    if !replay && !seeds.is_empty() {
        assert!(
            kills.during_push > 0,
            "no SIGKILL landed while a push was in flight in {} seeds ({} SIGKILLs)",
            seeds.len(),
            kills.sent
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_seeds_a() {
    run_seeds(0, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_seeds_b() {
    run_seeds(1, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_seeds_c() {
    run_seeds(2, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_seeds_d() {
    run_seeds(3, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_two_servers_a() {
    run_seeds(0, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_two_servers_b() {
    run_seeds(1, Backend::Postgres).await;
}

fn incident(rng: &mut StdRng) -> IncidentFields {
    let category = [
        "alcohol",
        "disturbance",
        "youth_at_risk",
        "vandalism",
        "narcotics",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("other");
    IncidentFields {
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(rng.random_range(1..=4))),
        description: Some(format!(
            "Händelse {} vid torget.",
            rng.random_range(0..1000)
        )),
        ..Default::default()
    }
}

/// One random local action on `phone`. Returns whether it wrote an op.
fn act(phone: &mut Phone, rng: &mut StdRng) -> anyhow::Result<bool> {
    let entries = phone.device.entries()?;
    let editable: Vec<_> = entries
        .iter()
        .filter(|e| e.mine || phone.role.reviews())
        .collect();
    let wrote = match rng.random_range(0..100) {
        0..45 => {
            match rng.random_range(0..10) {
                0 => {
                    phone.device.create_patrol(PatrolFields {
                        kind: Some(PatrolKind::NightWalk),
                        participant_count: Some(rng.random_range(1..6)),
                        ..Default::default()
                    })?;
                }
                1 | 2 => {
                    phone.device.create_observation(ObservationFields {
                        category: Some(ObservationCategory::Lighting),
                        description: Some("Trasig gatlykta.".into()),
                        ..Default::default()
                    })?;
                }
                _ => {
                    phone.device.create_incident(incident(rng))?;
                }
            }
            true
        }
        45..70 => match editable.choose(rng) {
            Some(entry) => {
                let body = match entry.fields {
                    EntryFields::Incident(_) => OpBody::Incident(IncidentFields {
                        severity: Some(Severity(rng.random_range(1..=4))),
                        description: Some(format!("Ändrad {}.", rng.random_range(0..1000))),
                        ..Default::default()
                    }),
                    EntryFields::Observation(_) => OpBody::Observation(ObservationFields {
                        description: Some(format!("Ändrad {}.", rng.random_range(0..1000))),
                        ..Default::default()
                    }),
                    EntryFields::Patrol(_) => {
                        phone.device.end_patrol(
                            entry.id,
                            PatrolSummary {
                                youths_met: Some(rng.random_range(0..30)),
                                all_home_safe: Some(true),
                                ..Default::default()
                            },
                        )?;
                        return Ok(true);
                    }
                };
                phone.device.edit(entry.id, body)?;
                true
            }
            None => false,
        },
        70..78 => match editable
            .iter()
            .filter(|e| e.mine)
            .collect::<Vec<_>>()
            .choose(rng)
        {
            Some(entry) => {
                phone.device.retract(entry.id)?;
                true
            }
            None => false,
        },
        78..90 => match entries.choose(rng) {
            Some(entry) => {
                phone
                    .device
                    .add_comment(entry.id, "Vet ni vilken tid det var?")?;
                true
            }
            None => false,
        },
        _ if phone.role.reviews() => {
            let incidents: Vec<_> = entries
                .iter()
                .filter(|e| e.kind == EntityKind::Incident)
                .collect();
            match incidents.choose(rng) {
                Some(entry) => {
                    let status = *ReviewStatus::ALL
                        .choose(rng)
                        .unwrap_or(&ReviewStatus::Reviewed);
                    phone.device.edit(
                        entry.id,
                        OpBody::Incident(IncidentFields {
                            review_status: Some(status),
                            tags: Some(vec!["helg".into()]),
                            ..Default::default()
                        }),
                    )?;
                    true
                }
                None => false,
            }
        }
        _ => false,
    };
    Ok(wrote)
}

/// Syncs `devices` at once. A failed sync is expected under faults (the outbox keeps what was
/// not acknowledged); a panic in one is an error.
async fn sync_all(devices: Vec<Device>) -> anyhow::Result<()> {
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|device| tokio::spawn(async move { device.sync_once(&http()).await }))
        .collect();
    let mut panicked = Vec::new();
    for task in tasks {
        if let Err(error) = task.await {
            panicked.push(error.to_string());
        }
    }
    anyhow::ensure!(
        panicked.is_empty(),
        "a device's sync panicked: {panicked:?}"
    );
    Ok(())
}

async fn sync_some(phones: &[Phone], picks: &[usize]) -> anyhow::Result<()> {
    sync_all(picks.iter().map(|i| phones[*i].device.clone()).collect()).await
}

async fn run_seed(binary: &Path, seed: u64, backend: Backend) -> anyhow::Result<Kills> {
    let mut rng = StdRng::seed_from_u64(stream_seed(seed, 1));
    let mut kills = Kills::default();
    let data = tempfile::tempdir()?;
    let phone_dir = tempfile::tempdir()?;
    let store = match backend {
        Backend::Sqlite => StoreAt::Data(data.path().to_path_buf()),
        Backend::Postgres => StoreAt::Database(vaka_tests::postgres::fresh_database().await?),
    };
    let open_admin = || async {
        match &store {
            StoreAt::Data(dir) => Admin::open(dir).await,
            StoreAt::Database(url) => Admin::open_database(url).await,
        }
    };

    // Two organisations: A with three volunteers and a coordinator, B with one of each.
    let admin = open_admin().await?;
    let org_a = admin.org("Nattvandrarna A", 3).await?;
    let org_b = admin.org("Grannsamverkan B", 1).await?;
    let mut members = Vec::new();
    for (org, volunteers, coordinator) in [
        (org_a.id, &org_a.volunteers, org_a.coordinator),
        (org_b.id, &org_b.volunteers, org_b.coordinator),
    ] {
        for member in volunteers {
            members.push((org, *member, Role::Volunteer, admin.code(*member).await?));
        }
        members.push((
            org,
            coordinator,
            Role::Coordinator,
            admin.code(coordinator).await?,
        ));
    }
    drop(admin);

    let processes = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    let mut servers = Vec::new();
    for _ in 0..processes {
        servers.push(ServerProcess::start_at(binary, store.clone()).await?);
    }
    let upstreams = servers.iter().map(ServerProcess::addr).collect();
    let proxy = FaultProxy::start_to_any(upstreams, stream_seed(seed, 3)).await?;
    let mut phones = Vec::new();
    for (i, (org, _member, role, code)) in members.into_iter().enumerate() {
        let device = Device::open(phone_dir.path().join(format!("phone-{i}.sqlite3")))?;
        device.enroll(&http(), &proxy.url, &code, "Telefon").await?;
        phones.push(Phone {
            device,
            org,
            role,
            offline: false,
            made: 0,
        });
    }
    proxy.randomise(stream_seed(seed, 2), 25);

    for _ in 0..STEPS {
        match rng.random_range(0..100) {
            0..55 => {
                let i = rng.random_range(0..phones.len());
                if act(&mut phones[i], &mut rng)? {
                    phones[i].made += 1;
                }
            }
            55..63 => {
                let i = rng.random_range(0..phones.len());
                phones[i].offline = !phones[i].offline;
            }
            63..95 => {
                let online: Vec<usize> =
                    (0..phones.len()).filter(|i| !phones[*i].offline).collect();
                let how_many = rng.random_range(1..=3).min(online.len());
                let picks: Vec<usize> = online
                    .choose_multiple(&mut rng, how_many)
                    .copied()
                    .collect();
                sync_some(&phones, &picks).await?;
            }
            _ => {
                // SIGKILL in the middle of syncs, then restart on the same data.
                let picks: Vec<usize> = (0..phones.len())
                    .collect::<Vec<_>>()
                    .choose_multiple(&mut rng, 3)
                    .copied()
                    .collect();
                let syncs = {
                    let devices: Vec<Device> =
                        picks.iter().map(|i| phones[*i].device.clone()).collect();
                    tokio::spawn(sync_all(devices))
                };
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..15))).await;
                let in_flight = proxy.pushes_in_flight();
                let cut_before = proxy.pushes_cut();
                let victim = rng.random_range(0..servers.len());
                servers[victim].kill()?;
                syncs.await??;
                kills.sent += 1;
                if in_flight > 0 && proxy.pushes_cut() > cut_before {
                    kills.during_push += 1;
                }
                let killed = servers.remove(victim);
                servers.insert(victim, killed.restart(binary).await?);
            }
        }
    }

    // The faults stop; every device syncs twice.
    proxy.set(Fault::Pass);
    for _ in 0..2 {
        for phone in &phones {
            phone.device.sync_once(&http()).await?;
        }
    }
    drop(servers);

    let admin = open_admin().await?;
    let counts = admin
        .rows(
            "SELECT (SELECT COUNT(*) FROM ops), (SELECT COUNT(DISTINCT op_id) FROM ops),
                    (SELECT COUNT(*) FROM rejected_ops)",
            &[],
        )
        .await?;
    let count = |i: usize| counts[0][i].as_i64().unwrap_or(-1);
    let (accepted, distinct, rejected) = (count(0), count(1), count(2));
    anyhow::ensure!(
        accepted == distinct,
        "an op is stored twice ({accepted} rows, {distinct} ops)"
    );
    anyhow::ensure!(rejected == 0, "{rejected} ops were refused");
    let made: u64 = phones.iter().map(|p| p.made).sum();
    anyhow::ensure!(
        accepted as u64 == made,
        "{made} ops made on phones, {accepted} stored"
    );
    let snapshots = [
        (org_a.id, admin.snapshot(org_a.id).await?),
        (org_b.id, admin.snapshot(org_b.id).await?),
    ];
    for (i, phone) in phones.iter().enumerate() {
        anyhow::ensure!(
            phone.device.outbox_len()? == 0,
            "phone {i} still has ops waiting"
        );
        let expected = &snapshots
            .iter()
            .find(|(org, _)| *org == phone.org)
            .expect("org")
            .1;
        let held = phone.device.state_snapshot()?;
        anyhow::ensure!(&held == expected, "phone {i} differs from the server");
        for (org, snapshot) in &snapshots {
            if *org != phone.org {
                anyhow::ensure!(
                    held.keys().all(|id| !snapshot.contains_key(id)),
                    "phone {i} holds another organisation's data"
                );
            }
        }
        let check = integrity(&phone_dir.path().join(format!("phone-{i}.sqlite3")))?;
        anyhow::ensure!(check == "ok", "phone {i} database: {check}");
    }
    let check = admin.integrity().await?;
    anyhow::ensure!(check == "ok", "server database: {check}");
    Ok(kills)
}
