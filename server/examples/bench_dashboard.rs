//! Times the dashboard's two heaviest pages on a large store: the two-week situation report and
//! inbox pages, each as a full HTTP request through the router (session check, queries, HTML).
//! Prints figures; asserts nothing.
//!
//! `cargo run --release -p vaka-server --example bench_dashboard -- [ENTRIES]` (default 1,000,000).
//!
//! The entries are written straight into the `entries` projection (spread over four years, 60 %
//! incidents, 20 % observations, 20 % patrols, four areas, five walkers) in one transaction; the
//! op log is not filled, since neither page reads it.

use axum::body::Body;
use axum::http::{Request, header};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use vaka_server::store::accounts::{self, NewMember};
use vaka_server::store::{reports, sessions};
use vaka_server::{Config, Server, now_ms, secrets};
use vaka_shared::model::Role;

const AREAS: [(&str, f64, f64); 4] = [
    ("Centrum", 59.6085, 16.5390),
    ("Stationsområdet", 59.6045, 16.5380),
    ("Norra parken", 59.6135, 16.5350),
    ("Hamnen", 59.5990, 16.5450),
];
const CATEGORIES: [&str; 8] = [
    "disturbance",
    "violence_threat",
    "alcohol",
    "narcotics",
    "vandalism",
    "youth_at_risk",
    "person_in_need",
    "theft_burglary",
];

fn main() -> anyhow::Result<()> {
    let entries: usize = std::env::args()
        .nth(1)
        .map(|n| n.replace('_', "").parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(entries))
}

async fn run(entries: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::open(Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    })
    .await?;
    // The benchmark fills the embedded store directly.
    let store = server
        .store()
        .as_sqlite()
        .ok_or_else(|| anyhow::anyhow!("the benchmark runs on the SQLite store"))?
        .clone();
    let now = now_ms();
    let hash = secrets::hash_password("bench-password-2026").map_err(|e| anyhow::anyhow!("{e}"))?;

    let started = Instant::now();
    let token = store
        .write(move |conn| {
            let org = accounts::create_org(conn, "Benchmark", now)?;
            let member = |name: &str, role, login: Option<&str>, hash: Option<&str>, group| {
                accounts::create_member(
                    conn,
                    &NewMember {
                        org,
                        name,
                        role,
                        group: Some(group),
                        login,
                        password_hash: hash,
                    },
                    now,
                )
            };
            let coordinator = member(
                "Samordnare",
                Role::Coordinator,
                Some("bench"),
                Some(&hash),
                "Kommunen",
            )?;
            let groups = ["Nattvandrarna", "Kommunens väktare", "Föräldravandrarna"];
            let walkers = (0..5)
                .map(|i| {
                    member(
                        &format!("Vandrare {i}"),
                        Role::Volunteer,
                        None,
                        None,
                        groups[i % 3],
                    )
                    .map(|m| (m.to_string(), groups[i % 3]))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut area_ids = Vec::new();
            for (name, lat, lon) in AREAS {
                let ring = format!(
                    r#"{{"type":"Polygon","coordinates":[[[{lon},{lat}],[{e},{lat}],[{e},{n}],[{lon},{n}],[{lon},{lat}]]]}}"#,
                    e = lon + 0.013,
                    n = lat + 0.0045
                );
                let id = reports::add_area(conn, &org.to_string(), name, &ring, now)?.to_string();
                area_ids.push((id, lat, lon));
            }
            let mut rng = StdRng::seed_from_u64(7);
            let span_ms: i64 = 4 * 365 * 24 * 3_600_000;
            let mut insert = conn.prepare(
                "INSERT INTO entries (id, org_id, kind, author, author_group, created_seq, updated_seq,
                    received_at_ms, occurred_at_ms, ended_at_ms, area_id, category, severity, review_status,
                    lat, lon, description, participants, people_involved, police_line,
                    police_contacted_ms, police_attended_ms, retracted, attachments)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                    ?18, ?19, ?20, ?21, 0, 0)",
            )?;
            let org = org.to_string();
            for i in 0..entries {
                // Evenly spread over four years, oldest first, so sequence order is time order.
                let at = now - span_ms + (i as i64) * (span_ms / entries as i64)
                    + rng.random_range(0..60_000);
                let (author, group) = &walkers[rng.random_range(0..walkers.len())];
                let (area, lat, lon) = &area_ids[rng.random_range(0..area_ids.len())];
                let roll = rng.random_range(0..10);
                let kind = match roll {
                    0 | 1 => "patrol",
                    2 | 3 => "observation",
                    _ => "incident",
                };
                let severity: Option<i64> =
                    (kind == "incident").then(|| [1, 1, 1, 2, 2, 3, 4][rng.random_range(0..7)]);
                let police = severity.is_some_and(|s| s >= 3) && rng.random_bool(0.7);
                let contacted = police.then_some(at + 300_000);
                let attended = (police && rng.random_bool(0.6)).then_some(at + 1_500_000);
                let status = ["new", "reviewed", "forwarded", "closed"][rng.random_range(0..4)];
                insert.execute(params![
                    uuid::Uuid::now_v7().to_string(),
                    org,
                    kind,
                    author,
                    group,
                    i as i64 + 1,
                    at + 60_000,
                    at,
                    (kind == "patrol").then_some(at + 3 * 3_600_000),
                    area,
                    match kind {
                        "patrol" => "night_walk",
                        "observation" => "lighting",
                        _ => CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                    },
                    severity,
                    status,
                    (kind != "patrol").then(|| lat + rng.random_range(0.0..0.0045)),
                    (kind != "patrol").then(|| lon + rng.random_range(0.0..0.013)),
                    "Syntetisk händelse för mätning.",
                    (kind == "patrol").then_some(3),
                    severity.map(|_| 2),
                    police.then_some("11414"),
                    contacted,
                    attended,
                ])?;
            }
            let candidate = sessions::LoginCandidate {
                member_id: coordinator,
                org_id: org.parse().map_err(|_| rusqlite::Error::InvalidQuery)?,
                password_hash: String::new(),
            };
            Ok(sessions::create_session(conn, &candidate, now, 3_600_000)?.token)
        })
        .await?;
    store
        .write(|conn| {
            conn.execute_batch("ANALYZE")?;
            Ok(())
        })
        .await?;
    println!(
        "seeded {entries} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let router = server.router();
    let cookie = format!("vaka_session={token}");
    let pages = [
        ("two-week report (default period)", "/report".to_owned()),
        ("inbox, first page (last four weeks)", "/inbox".to_owned()),
        ("inbox, all time, first page", "/inbox?from=".to_owned()),
        (
            "inbox, all time, page 100",
            "/inbox?from=&page=100".to_owned(),
        ),
        (
            "inbox, all time, severity 4, status new",
            "/inbox?from=&severity=4&status=new".to_owned(),
        ),
        (
            "inbox, all time, kind incident",
            "/inbox?kind=incident&from=".to_owned(),
        ),
        ("report PDF", "/report.pdf".to_owned()),
        ("report CSV", "/report.csv".to_owned()),
    ];
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>10}",
        "page", "min ms", "median", "max ms", "bytes"
    );
    for (name, path) in pages {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..7 {
            let request = Request::get(&path)
                .header(header::COOKIE, &cookie)
                .body(Body::empty())?;
            let started = Instant::now();
            let response = router.clone().oneshot(request).await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            times.push(started.elapsed());
            bytes = body.len();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<44} {:>9.1} {:>9.1} {:>9.1} {bytes:>10}",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    Ok(())
}
