//! `vaka-server demo`: a demo organisation with areas, a coordinator, volunteers and four weeks of
//! realistic synthetic patrols, incidents and observations. Everything is written as ops from
//! enrolled synthetic devices through the same push path as real phones.

use crate::secrets;
use crate::store::accounts::{self, NewMember, TokenLookup};
use crate::store::postgres::{PgStore, accounts as pg_accounts, copy};
use crate::store::server_device::{Made, ServerDevice};
use crate::store::{SqliteStore, Store, StoreError, ops, reports, sharing};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use std::net::SocketAddr;
use vaka_shared::model::{
    Agency, CategoryCode, CommentFields, EntryRef, IncidentFields, Location, ObservationCategory,
    ObservationFields, PatrolFields, PatrolKind, PoliceLine, ReviewStatus, Role, Severity,
};
use vaka_shared::op::{EntityKind, OpBody};
use vaka_shared::{EntityId, MemberId, OrgId, Timestamp};

/// The demo organisation's name; the demo is created once per store.
pub const DEMO_ORG_NAME: &str = "Trygghetsnätverket Exempelstad (demo)";
/// The demo coordinator's sign-in name.
pub const COORDINATOR_LOGIN: &str = "samordnare";
/// The demo coordinator's password (demo data only); the demo admin has the same.
pub const COORDINATOR_PASSWORD: &str = "vaka-demo-2026";
/// The demo admin's sign-in name (sets the retention period, removes members).
pub const ADMIN_LOGIN: &str = "admin";
/// The second demo association, which also shares its aggregates with the municipality.
pub const SECOND_ORG_NAME: &str = "Grannsamverkan Exempelstad (demo)";
/// Its admin's sign-in name.
pub const SECOND_LOGIN: &str = "grannsamverkan";
/// The demo municipality, which both associations share their aggregates with.
pub const MUNICIPALITY_NAME: &str = "Exempelstads kommun, trygghetssamordning (demo)";
/// The municipal safety coordinator's sign-in name (sees the combined report).
pub const MUNICIPALITY_LOGIN: &str = "kommun";
/// The police liaison's sign-in name (the municipality's; aggregates only).
pub const LIAISON_LOGIN: &str = "polis";
const PHONE_MEMBER: &str = "Demotelefon";

/// What the demo prints for the person trying it.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// The demo organisation.
    pub org_id: OrgId,
    /// The volunteer a phone enrols as.
    pub phone_member: MemberId,
    /// A fresh one-time enrolment code for that volunteer.
    pub enrollment_code: String,
}

impl DemoInfo {
    /// The text printed at start.
    pub fn banner(&self, listen: SocketAddr) -> String {
        format!(
            "Vaka demo: {DEMO_ORG_NAME}\n  coordinator sign-in: {COORDINATOR_LOGIN} / {COORDINATOR_PASSWORD}\n  \
             admin sign-in: {ADMIN_LOGIN} / {COORDINATOR_PASSWORD}\n  \
             second association: {SECOND_LOGIN}, municipality: {MUNICIPALITY_LOGIN}, police liaison (aggregates only): {LIAISON_LOGIN} (same password)\n  \
             enrolment code for a phone (volunteer \"{PHONE_MEMBER}\"): {code}\n  \
             try: vaka-device --db phone.sqlite3 enroll --server http://{listen} --code {code}",
            code = self.enrollment_code
        )
    }
}

/// Creates the demo organisation if the store has none, and a fresh enrolment code.
///
/// On PostgreSQL the demo's four weeks are made in a temporary embedded store and moved into the
/// database by the same copy `vaka-server migrate` makes (so the database must be empty the first
/// time); later starts only make a fresh code.
pub async fn ensure(store: &Store, now_ms: i64) -> Result<DemoInfo, StoreError> {
    match store {
        Store::Sqlite(s) => ensure_sqlite(s, now_ms).await,
        Store::Postgres(pg) => ensure_postgres(pg, now_ms).await,
    }
}

async fn ensure_postgres(pg: &PgStore, now_ms: i64) -> Result<DemoInfo, StoreError> {
    let found = pg
        .read(|db| {
            Box::pin(
                async move { pg_accounts::member_by_names(db, DEMO_ORG_NAME, PHONE_MEMBER).await },
            )
        })
        .await?;
    let (org_id, phone_member) = match found {
        Some(found) => found,
        None => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("demo.sqlite3");
            let made = SqliteStore::open(&path, 1, 64, Default::default())?;
            let info = ensure_sqlite(&made, now_ms).await?;
            drop(made);
            copy::move_store(&path, pg).await.map_err(|e| match e {
                copy::MoveError::Store(e) => e,
                other => StoreError::Damaged(format!("the demo could not be moved: {other}")),
            })?;
            (info.org_id, info.phone_member)
        }
    };
    let code = pg
        .write(move |tx| {
            Box::pin(async move {
                pg_accounts::create_enrollment_code(tx, phone_member, now_ms, CODE_TTL_MS).await
            })
        })
        .await?
        .ok_or(StoreError::NotCommitted { disk_full: false })?;
    Ok(DemoInfo {
        org_id,
        phone_member,
        enrollment_code: code,
    })
}

/// How long the demo's printed enrolment code stays valid.
const CODE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

async fn ensure_sqlite(store: &SqliteStore, now_ms: i64) -> Result<DemoInfo, StoreError> {
    // Hashing the password is slow on purpose; do it outside the writer.
    let password_hash = secrets::hash_password(COORDINATOR_PASSWORD)
        .map_err(|_| StoreError::NotCommitted { disk_full: false })?;
    store
        .write(move |conn| {
            let existing = accounts::member_by_names(conn, DEMO_ORG_NAME, PHONE_MEMBER)?;
            let (org_id, phone_member) = match existing {
                Some(found) => found,
                None => {
                    let (org, member) = create(conn, now_ms, &password_hash)?;
                    create_tiers(conn, org, now_ms, &password_hash)?;
                    (org, member)
                }
            };
            let code = accounts::create_enrollment_code(conn, phone_member, now_ms, CODE_TTL_MS)?
                .ok_or(StoreError::NotCommitted { disk_full: false })?;
            Ok(DemoInfo {
                org_id,
                phone_member,
                enrollment_code: code,
            })
        })
        .await
}

/// An enrolled synthetic phone (or the coordinator's computer) that makes ops, through the
/// server-side device every server-made op goes through.
struct DemoDevice(ServerDevice);

impl DemoDevice {
    fn enrol(
        conn: &Connection,
        member: MemberId,
        name: &str,
        now_ms: i64,
    ) -> Result<Self, StoreError> {
        let code = accounts::create_enrollment_code(conn, member, now_ms, 60_000)?
            .ok_or(StoreError::NotCommitted { disk_full: false })?;
        let enrolled = accounts::redeem_enrollment_code(conn, &code, name, now_ms)?
            .ok_or(StoreError::NotCommitted { disk_full: false })?;
        let TokenLookup::Valid(caller) = accounts::device_by_token(conn, &enrolled.token)? else {
            return Err(StoreError::NotCommitted { disk_full: false });
        };
        Ok(Self(ServerDevice::resume(conn, caller)?))
    }

    /// Pushes one op written at `at_ms`, having seen `base_seq`, through the same path as a
    /// real phone.
    fn write(
        &mut self,
        conn: &Connection,
        entity_id: EntityId,
        body: OpBody,
        at_ms: i64,
        base_seq: u64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let made = Made::At {
            ms: at_ms,
            base_seq,
        };
        if let Err(refusal) = self.0.write(conn, entity_id, body, made, now_ms)? {
            tracing::warn!(%refusal, "a demo op was refused");
        }
        Ok(())
    }
}

fn last_seq(conn: &Connection) -> Result<u64, StoreError> {
    ops::last_op_seq(conn)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms).unwrap_or_else(Timestamp::now_utc)
}

/// An area: name and (lat, lon) corners of its polygon.
struct DemoArea {
    name: &'static str,
    corners: &'static [(f64, f64)],
}

const AREAS: &[DemoArea] = &[
    DemoArea {
        name: "Centrum",
        corners: &[
            (59.6085, 16.5390),
            (59.6130, 16.5390),
            (59.6130, 16.5520),
            (59.6085, 16.5520),
        ],
    },
    DemoArea {
        name: "Stationsområdet",
        corners: &[
            (59.6045, 16.5380),
            (59.6085, 16.5380),
            (59.6085, 16.5530),
            (59.6045, 16.5530),
        ],
    },
    DemoArea {
        name: "Norra parken",
        corners: &[
            (59.6135, 16.5350),
            (59.6190, 16.5350),
            (59.6190, 16.5470),
            (59.6135, 16.5470),
        ],
    },
    DemoArea {
        name: "Hamnen",
        corners: &[
            (59.5990, 16.5450),
            (59.6040, 16.5450),
            (59.6040, 16.5600),
            (59.5990, 16.5600),
        ],
    },
];

const INCIDENT_TEXTS: &[(&str, u32, &[&str])] = &[
    (
        "disturbance",
        20,
        &[
            "Högljudd grupp vid torget, lugnade sig efter samtal.",
            "Bråk mellan två grupper vid busshållplatsen, skingrades när vi kom.",
            "Hög musik och stök vid parkeringshuset.",
        ],
    ),
    (
        "alcohol",
        16,
        &[
            "Ungdomar drack alkohol i parken; samtal, flera gick hem.",
            "Berusad person behövde hjälp att komma hem.",
            "Hittade gömd sprit vid lekplatsen, slängd.",
        ],
    ),
    (
        "youth_at_risk",
        14,
        &[
            "Ensam ung person ute sent, följdes till vuxen.",
            "Grupp unga vid stationen utan skjuts hem, samtal om hemgång.",
            "Ung person verkade påverkad; kontakt med förälder.",
        ],
    ),
    (
        "narcotics",
        8,
        &[
            "Misstänkt langning vid gångtunneln, rapporterat.",
            "Stark lukt av cannabis vid skatepark.",
        ],
    ),
    (
        "violence_threat",
        7,
        &[
            "Hot mellan ungdomar utanför kiosken, polis kontaktad.",
            "Knuffar och slag vid busshållplatsen, två inblandade.",
        ],
    ),
    (
        "vandalism",
        9,
        &[
            "Krossad ruta i busskur.",
            "Nytt klotter på skolans vägg pågick när vi kom.",
        ],
    ),
    (
        "theft_burglary",
        4,
        &[
            "Försök till cykelstöld vid stationen avbröts.",
            "Uppbrutet förråd i källare, fastighetsägaren meddelad.",
        ],
    ),
    (
        "person_in_need",
        6,
        &[
            "Frusen och förvirrad person, ambulans kom.",
            "Vilsen äldre person fick hjälp hem.",
        ],
    ),
    (
        "suspicious_activity",
        6,
        &[
            "Bil cirkulerade länge vid skolan.",
            "Personer provade dörrar i garaget.",
        ],
    ),
    (
        "traffic",
        5,
        &[
            "Moped i hög fart på gångvägen.",
            "Bilar körde race på parkeringen vid hamnen.",
        ],
    ),
    (
        "fire",
        2,
        &[
            "Brand i papperskorg, släckt med vatten.",
            "Eld i container, räddningstjänsten larmad.",
        ],
    ),
    (
        "other",
        3,
        &[
            "Upphittad mobiltelefon lämnad till polisen.",
            "Lös hund utan ägare, kommunen kontaktad.",
        ],
    ),
];

const OBSERVATION_TEXTS: &[(ObservationCategory, &[&str])] = &[
    (
        ObservationCategory::Lighting,
        &[
            "Gatlyktan vid gångtunneln är trasig.",
            "Mörkt parti längs cykelvägen, flera lampor släckta.",
        ],
    ),
    (
        ObservationCategory::VandalismGraffiti,
        &[
            "Nytt klotter på elskåpet vid torget.",
            "Sönderslagen bänk i parken.",
        ],
    ),
    (
        ObservationCategory::LitterNeedles,
        &[
            "Sprutor vid lekplatsens sandlåda.",
            "Mycket glas och skräp efter helgen.",
        ],
    ),
    (
        ObservationCategory::Vegetation,
        &["Buskar skymmer sikten vid gångvägen."],
    ),
    (
        ObservationCategory::UnsafePlace,
        &[
            "Otrygg passage under bron, ingen belysning.",
            "Trasigt staket mot spåren.",
        ],
    ),
    (
        ObservationCategory::GatheringPlace,
        &[
            "Ny samlingsplats för unga bakom idrottshallen.",
            "Grupp samlas vid den nya kiosken efter stängning.",
        ],
    ),
];

fn area_geojson(area: &DemoArea) -> String {
    let ring: Vec<[f64; 2]> = area
        .corners
        .iter()
        .chain(area.corners.first())
        .map(|(lat, lon)| [*lon, *lat])
        .collect();
    let geometry = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    geometry.to_string()
}

fn point_in(area: &DemoArea, rng: &mut StdRng) -> Location {
    let (lat0, lon0) = area.corners[0];
    let (lat1, lon1) = area.corners[2];
    Location {
        lat: rng.random_range(lat0..lat1),
        lon: rng.random_range(lon0..lon1),
        accuracy_m: Some(rng.random_range(4.0..30.0)),
    }
}

/// The tiers of the demo: a second association with its own entries, and a municipality-level
/// organisation with a safety coordinator and a police liaison that both associations share their
/// aggregates with.
fn create_tiers(
    conn: &Connection,
    first: OrgId,
    now_ms: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    let mut rng = StdRng::seed_from_u64(2027);
    let second = accounts::create_org(conn, SECOND_ORG_NAME, now_ms)?;
    let municipality = accounts::create_org(conn, MUNICIPALITY_NAME, now_ms)?;
    sharing::set_level(conn, municipality, sharing::OrgLevel::Municipality)?;
    let member = |org, name: &str, role, login: Option<&str>| {
        accounts::create_member(
            conn,
            &NewMember {
                org,
                name,
                role,
                group: None,
                login,
                password_hash: login.map(|_| password_hash),
            },
            now_ms,
        )
    };
    // The association's admin: it is the admin who shares and withdraws.
    let second_coordinator = member(second, "Per Ström", Role::Admin, Some(SECOND_LOGIN))?;
    member(
        municipality,
        "Lena Öberg",
        Role::Coordinator,
        Some(MUNICIPALITY_LOGIN),
    )?;
    member(
        municipality,
        "Kommunpolis Exempelstad",
        Role::Liaison,
        Some(LIAISON_LOGIN),
    )?;
    let area = reports::add_area(
        conn,
        &second.to_string(),
        "Villaområdet Norr",
        &area_geojson(&AREAS[1]),
        now_ms,
    )?;
    let watcher = member(second, "Anders Lund", Role::Volunteer, None)?;
    let mut phone = DemoDevice::enrol(conn, watcher, "Telefon", now_ms)?;
    let day_ms = 24 * 3600 * 1000;
    for days_ago in 0..28 {
        for _ in 0..usize::from(rng.random_bool(0.5)) {
            let at = now_ms - days_ago * day_ms - rng.random_range(1..10) * 3_600_000;
            let (category, _, _) = INCIDENT_TEXTS
                .choose_weighted(&mut rng, |(_, weight, _)| *weight)
                .map_err(|_| StoreError::NotCommitted { disk_full: false })?;
            let base = last_seq(conn)?;
            phone.write(
                conn,
                EntityId::new(),
                OpBody::Incident(IncidentFields {
                    occurred_at: Some(ts(at)),
                    location: Some(Some(point_in(&AREAS[1], &mut rng))),
                    area_id: Some(Some(area)),
                    category: Some(CategoryCode::from(*category)),
                    severity: Some(Severity(rng.random_range(1..=3))),
                    description: Some("Iakttaget under grannsamverkans runda.".to_owned()),
                    people_involved: Some(rng.random_range(1..=4)),
                    ..Default::default()
                }),
                at,
                base,
                now_ms,
            )?;
        }
    }
    let first_admin =
        accounts::first_admin(conn, first)?.ok_or(StoreError::NotCommitted { disk_full: false })?;
    for (from, by) in [(first, first_admin), (second, second_coordinator)] {
        sharing::share(conn, from, municipality, by, now_ms)?
            .map_err(|_| StoreError::NotCommitted { disk_full: false })?;
    }
    Ok(())
}

/// The descriptions of the demo's entries from six to seven weeks ago.
pub const OLD_TEXTS: [&str; 3] = [
    "Gammal händelse: högljudda ungdomar vid fontänen, lugnade ner sig.",
    "Gammal händelse: glasflaskor kastades mot en vägg vid torget.",
    "Gammal händelse: grupp samlades vid kiosken efter stängning.",
];

/// A description in which a walker wrote a name and a phone number.
pub const DEMO_NAME_TEXT: &str =
    "Kalle Svensson (tel 070-123 45 67) hotade en annan ungdom vid stationen.";

fn create(
    conn: &Connection,
    now_ms: i64,
    password_hash: &str,
) -> Result<(OrgId, MemberId), StoreError> {
    let mut rng = StdRng::seed_from_u64(2026);
    let org = accounts::create_org(conn, DEMO_ORG_NAME, now_ms)?;
    let mut area_ids = Vec::new();
    for area in AREAS {
        let id = reports::add_area(
            conn,
            &org.to_string(),
            area.name,
            &area_geojson(area),
            now_ms,
        )?;
        area_ids.push(id);
    }
    let member = |name: &str, role: Role, group: &str, login: Option<&str>, hash: Option<&str>| {
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
            now_ms,
        )
    };
    let coordinator = member(
        "Sara Lind",
        Role::Coordinator,
        "Kommunen",
        Some(COORDINATOR_LOGIN),
        Some(password_hash),
    )?;
    member(
        "Kim Ahlström",
        Role::Admin,
        "Kommunen",
        Some(ADMIN_LOGIN),
        Some(password_hash),
    )?;
    let walkers = [
        (
            member("Ali Hassan", Role::Volunteer, "Nattvandrarna", None, None)?,
            PatrolKind::NightWalk,
        ),
        (
            member("Maja Ek", Role::Volunteer, "Nattvandrarna", None, None)?,
            PatrolKind::NightWalk,
        ),
        (
            member(
                "Jonas Berg",
                Role::Volunteer,
                "Kommunens väktare",
                None,
                None,
            )?,
            PatrolKind::GuardRound,
        ),
        (
            member(
                "Eva Nilsson",
                Role::Volunteer,
                "Föräldravandrarna",
                None,
                None,
            )?,
            PatrolKind::ParentWalk,
        ),
        (
            member(
                "Lars Holm",
                Role::Volunteer,
                "Grannsamverkan Hamnen",
                None,
                None,
            )?,
            PatrolKind::NeighbourhoodWatch,
        ),
    ];
    let phone_member = member(PHONE_MEMBER, Role::Volunteer, "Nattvandrarna", None, None)?;
    let mut desk = DemoDevice::enrol(conn, coordinator, "Samordnarens dator", now_ms)?;
    let mut phones = Vec::new();
    for (member, kind) in walkers {
        phones.push((DemoDevice::enrol(conn, member, "Telefon", now_ms)?, kind));
    }

    let day_ms = 24 * 3600 * 1000;
    let today_start = now_ms - now_ms.rem_euclid(day_ms);
    let mut incidents: Vec<(EntityId, usize, u8)> = Vec::new();
    // Four weeks, so that a two-week report has a previous period to compare with.
    for days_ago in (0..28).rev() {
        let day = today_start - days_ago * day_ms;
        // 1970-01-01 was a Thursday: 1 = Friday, 2 = Saturday.
        let weekday = (day / day_ms).rem_euclid(7);
        let patrols = match weekday {
            1 | 2 => rng.random_range(2..=3),
            _ => usize::from(rng.random_bool(0.6)),
        };
        for _ in 0..patrols {
            // Evening start in Swedish time (UTC+1 in winter): 18:00–20:30 UTC.
            let start = day + rng.random_range(18 * 60..20 * 60 + 30) * 60_000;
            let end = start + rng.random_range(120..300) * 60_000;
            if end > now_ms {
                continue;
            }
            let phone_index = rng.random_range(0..phones.len());
            let area_index = rng.random_range(0..AREAS.len());
            let (phone, kind) = &mut phones[phone_index];
            let patrol_id = EntityId::new();
            let walkers = rng.random_range(2..=5u16);
            let base = last_seq(conn)?;
            phone.write(
                conn,
                patrol_id,
                OpBody::Patrol(PatrolFields {
                    kind: Some(*kind),
                    started_at: Some(ts(start)),
                    area_id: Some(Some(area_ids[area_index])),
                    participant_count: Some(walkers),
                    ..Default::default()
                }),
                start,
                base,
                now_ms,
            )?;

            for _ in 0..rng.random_range(0..=4) {
                let at = rng.random_range(start..end);
                let (category, _, texts) = INCIDENT_TEXTS
                    .choose_weighted(&mut rng, |(_, weight, _)| *weight)
                    .map_err(|_| StoreError::NotCommitted { disk_full: false })?;
                let severity = *[1u8, 1, 1, 1, 2, 2, 2, 3, 3, 4]
                    .choose(&mut rng)
                    .unwrap_or(&1);
                let people = rng.random_range(1..=8u16);
                let police = severity >= 3 && rng.random_bool(0.7)
                    || (severity == 2 && rng.random_bool(0.1));
                let contacted = at + rng.random_range(1..10) * 60_000;
                let attended = police && rng.random_bool(0.6);
                let id = EntityId::new();
                let base = last_seq(conn)?;
                phone.write(
                    conn,
                    id,
                    OpBody::Incident(IncidentFields {
                        occurred_at: Some(ts(at)),
                        location: Some(Some(point_in(&AREAS[area_index], &mut rng))),
                        area_id: Some(Some(area_ids[area_index])),
                        category: Some(CategoryCode::from(*category)),
                        severity: Some(Severity(severity)),
                        description: Some((*texts.choose(&mut rng).unwrap_or(&"")).to_owned()),
                        people_involved: Some(people),
                        minors_involved: Some(rng.random_range(0..=people)),
                        police_line: Some(police.then_some(if severity == 4 {
                            PoliceLine::Emergency
                        } else {
                            PoliceLine::NonEmergency
                        })),
                        police_contacted_at: Some(police.then(|| ts(contacted))),
                        police_attended_at: Some(
                            attended.then(|| ts(contacted + rng.random_range(5..45) * 60_000)),
                        ),
                        police_event_number: Some(police.then(|| {
                            format!("5000-K{:06}-26", rng.random_range(100_000..999_999))
                        })),
                        patrol_id: Some(Some(patrol_id)),
                        ..Default::default()
                    }),
                    at,
                    base,
                    now_ms,
                )?;
                incidents.push((id, phone_index, severity));
            }

            for _ in 0..rng.random_range(0..=2) {
                let at = rng.random_range(start..end);
                let (category, texts) = OBSERVATION_TEXTS
                    .choose(&mut rng)
                    .unwrap_or(&OBSERVATION_TEXTS[0]);
                let base = last_seq(conn)?;
                phone.write(
                    conn,
                    EntityId::new(),
                    OpBody::Observation(ObservationFields {
                        observed_at: Some(ts(at)),
                        category: Some(*category),
                        location: Some(Some(point_in(&AREAS[area_index], &mut rng))),
                        area_id: Some(Some(area_ids[area_index])),
                        description: Some((*texts.choose(&mut rng).unwrap_or(&"")).to_owned()),
                        patrol_id: Some(Some(patrol_id)),
                        ..Default::default()
                    }),
                    at,
                    base,
                    now_ms,
                )?;
            }

            let base = last_seq(conn)?;
            phone.write(
                conn,
                patrol_id,
                OpBody::Patrol(PatrolFields {
                    ended_at: Some(Some(ts(end))),
                    youths_met: Some(rng.random_range(0..40)),
                    adults_met: Some(rng.random_range(0..15)),
                    conversations: Some(rng.random_range(0..20)),
                    note: Some("Lugn kväll överlag.".to_owned()),
                    all_home_safe: Some(true),
                    ..Default::default()
                }),
                end,
                base,
                now_ms,
            )?;
        }
    }

    // Three entries from six to seven weeks ago: a retention period of 30 days removes them
    // (README, "Retention and redaction").
    for (i, days_ago) in [44i64, 47, 49].into_iter().enumerate() {
        let at = today_start - days_ago * day_ms + 20 * 3_600_000;
        let (phone, _) = &mut phones[i % 2];
        let base = last_seq(conn)?;
        phone.write(
            conn,
            EntityId::new(),
            OpBody::Incident(IncidentFields {
                occurred_at: Some(ts(at)),
                location: Some(Some(point_in(&AREAS[0], &mut rng))),
                area_id: Some(Some(area_ids[0])),
                category: Some(CategoryCode::from("disturbance")),
                severity: Some(Severity(2)),
                description: Some(OLD_TEXTS[i].to_owned()),
                people_involved: Some(3),
                minors_involved: Some(2),
                ..Default::default()
            }),
            at,
            base,
            now_ms,
        )?;
    }
    // A walker wrote a name and a phone number into a description: the dashboard marks it, and
    // a coordinator can redact it.
    if let Some((id, phone_index, _)) = incidents.last().copied() {
        let base = last_seq(conn)?;
        let (phone, _) = &mut phones[phone_index];
        phone.write(
            conn,
            id,
            OpBody::Incident(IncidentFields {
                description: Some(DEMO_NAME_TEXT.to_owned()),
                ..Default::default()
            }),
            now_ms - 2_000_000,
            base,
            now_ms,
        )?;
    }

    // The coordinator reviews the serious entries and asks about some.
    for (i, (id, phone_index, severity)) in incidents.iter().enumerate() {
        if *severity < 3 && i % 3 != 0 {
            continue;
        }
        let base = last_seq(conn)?;
        let status = if *severity >= 3 {
            ReviewStatus::Forwarded
        } else {
            ReviewStatus::Reviewed
        };
        desk.write(
            conn,
            *id,
            OpBody::Incident(IncidentFields {
                review_status: Some(status),
                forwarded_to: (status == ReviewStatus::Forwarded).then(|| vec![Agency::Police]),
                tags: Some(vec!["helg".to_owned()]),
                ..Default::default()
            }),
            now_ms - 3_600_000,
            base,
            now_ms,
        )?;
        if i % 4 == 0 {
            let base = last_seq(conn)?;
            desk.write(
                conn,
                EntityId::new(),
                OpBody::Comment(CommentFields {
                    entry: Some(EntryRef {
                        kind: EntityKind::Incident,
                        id: *id,
                    }),
                    body: Some("Tack! Vet ni ungefär hur många som var inblandade?".to_owned()),
                    written_at: Some(ts(now_ms - 3_500_000)),
                }),
                now_ms - 3_500_000,
                base,
                now_ms,
            )?;
        }
        // One entry edited concurrently by its author and the coordinator: a conflict to settle.
        if i == 0 {
            let base = last_seq(conn)?;
            let (phone, _) = &mut phones[*phone_index];
            phone.write(
                conn,
                *id,
                OpBody::Incident(IncidentFields {
                    description: Some(
                        "Bråk vid busshållplatsen; två personer, en skadad lindrigt.".to_owned(),
                    ),
                    ..Default::default()
                }),
                now_ms - 3_000_000,
                base,
                now_ms,
            )?;
            desk.write(
                conn,
                *id,
                OpBody::Incident(IncidentFields {
                    description: Some(
                        "Bråk vid busshållplatsen (enligt väktarnas rapport tre personer)."
                            .to_owned(),
                    ),
                    ..Default::default()
                }),
                now_ms - 2_900_000,
                base,
                now_ms,
            )?;
        }
    }
    Ok((org, phone_member))
}
