//! The situation report, the areas and the shared aggregates give the same answers on
//! PostgreSQL as on SQLite: both stores are filled the same way through the typed store (a
//! realistic fortnight of patrols, incidents and observations in several areas, across midnight
//! and both summer-time changes, with police times, a retracted entry and a duplicate) and every
//! read is compared, with each backend's own area ids put back to the areas' names.

use std::collections::BTreeMap;
use tempfile::TempDir;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use vaka_server::now_ms;
use vaka_server::store::Store;
use vaka_server::store::admin::MemberToAdd;
use vaka_server::store::areas::{AreaListing, Removal};
use vaka_server::store::reports::{
    AreaFigures, AreaShape, NewArea, Report, ReportQuery, SharedReports,
};
use vaka_server::store::sharing::OrgLevel;
use vaka_server::sync::PushLimits;
use vaka_shared::model::{
    CategoryCode, IncidentFields, Location, ObservationCategory, ObservationFields, PatrolFields,
    PatrolKind, PoliceLine, ReviewStatus, Role, Severity,
};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::time::Timestamp;
use vaka_shared::{AreaId, EntityId, MemberId, OrgId};
use vaka_tests::postgres::fresh_database;

const LIMITS: PushLimits = PushLimits {
    max_clock_ahead_ms: 300_000,
};

/// The first organisation's areas, in the order they are uploaded. Their names sort differently
/// in byte order (as SQLite sorts) than in a language's collation: lower case after upper case,
/// `Ä` last.
const AREAS: [&str; 5] = ["Torget", "Parken", "Ängsvägen", "bryggan", "Skolgården"];
const TORGET: usize = 0;
const PARKEN: usize = 1;
const ANGSVAGEN: usize = 2;
const BRYGGAN: usize = 3;
const SKOLGARDEN: usize = 4;

/// The period most checks look at (two weeks over the end of summer time, 25 October 2026).
const AUTUMN: ReportQuery = ReportQuery {
    from: date!(2026 - 10 - 19),
    to: date!(2026 - 11 - 01),
    areas: Vec::new(),
};

use vaka_tests::StorePhone as Phone;

/// One backend, filled.
struct Side {
    store: Store,
    _dir: Option<TempDir>,
    /// The association most entries belong to.
    org: OrgId,
    /// A second association, sharing with the municipality too.
    other: OrgId,
    /// The municipality both share their aggregates with.
    municipality: OrgId,
    /// `org`'s areas, as [`AREAS`].
    areas: Vec<AreaId>,
    /// Every area's id on this backend → its name.
    names: BTreeMap<String, String>,
}

impl Side {
    /// `report` with this backend's area ids replaced by the areas' names.
    fn named(&self, mut report: Report) -> Report {
        let name = |id: &String| self.names.get(id).cloned().unwrap_or_else(|| id.clone());
        report.query.areas = report
            .query
            .areas
            .iter()
            .map(|a| self.canonical(a))
            .collect();
        report.by_area = std::mem::take(&mut report.by_area)
            .into_iter()
            .map(|(id, figures)| (name(&id), figures))
            .collect();
        for shape in &mut report.shapes {
            shape.id = self.canonical(&shape.id);
        }
        report
    }

    /// The same id on both backends for this backend's area `id`: one made from its name.
    fn canonical(&self, id: &AreaId) -> AreaId {
        let name = self.names.get(&id.to_string()).cloned().unwrap_or_default();
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u128, |h, b| {
            (h ^ u128::from(b)).wrapping_mul(0x1000_0000_01b3)
        });
        AreaId::from(uuid::Uuid::from_u128(hash))
    }

    fn named_shapes(&self, shapes: Vec<AreaShape>) -> Vec<AreaShape> {
        shapes
            .into_iter()
            .map(|s| AreaShape {
                id: self.canonical(&s.id),
                ..s
            })
            .collect()
    }

    fn named_listing(&self, listed: Vec<AreaListing>) -> Vec<AreaListing> {
        listed
            .into_iter()
            .map(|a| AreaListing {
                id: self.canonical(&a.id),
                ..a
            })
            .collect()
    }

    /// `query` over the named areas of the first organisation, in this backend's ids.
    fn over(&self, query: &ReportQuery, areas: &[usize]) -> ReportQuery {
        ReportQuery {
            areas: areas.iter().map(|i| self.areas[*i]).collect(),
            ..query.clone()
        }
    }

    async fn report(&self, query: &ReportQuery) -> Report {
        let report = self
            .store
            .report(self.org, query.clone())
            .await
            .expect("the report");
        self.named(report)
    }

    async fn sharing_names(&self) -> Vec<String> {
        let with = self
            .store
            .sharing_with(self.municipality)
            .await
            .expect("sharing");
        with.into_iter().map(|o| o.name).collect()
    }

    async fn listing(&self) -> (Vec<AreaShape>, Vec<AreaListing>) {
        let (shapes, listed) = self.store.area_list(self.org).await.expect("the list");
        (self.named_shapes(shapes), self.named_listing(listed))
    }

    async fn offered(&self) -> Vec<AreaShape> {
        let shapes = self
            .store
            .active_area_shapes(self.org)
            .await
            .expect("the choices");
        self.named_shapes(shapes)
    }

    async fn shared(&self, org: OrgId, query: &ReportQuery) -> SharedReports {
        let shared = self
            .store
            .shared_reports(org, query.clone())
            .await
            .expect("the shared reports");
        SharedReports {
            own: self.named(shared.own),
            sharing: shared
                .sharing
                .into_iter()
                .map(|(org, report)| (org, self.named(report)))
                .collect(),
        }
    }
}

fn ms(at: OffsetDateTime) -> Timestamp {
    Timestamp::checked(at).expect("a time RFC 3339 can write")
}

fn polygon(n: usize) -> String {
    let (lon, lat) = (17.60 + n as f64 * 0.013, 59.85 + n as f64 * 0.007);
    serde_json::json!({
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.005], [lon, lat]]],
    })
    .to_string()
}

fn at_place(n: usize) -> Option<Option<Location>> {
    Some(Some(Location {
        lat: 59.851_234_567 + n as f64 * 0.000_731,
        lon: 17.638_901_234 + n as f64 * 0.001_173,
        accuracy_m: Some(8.0),
    }))
}

/// An incident at `at` of `category` and `severity` in `area`.
fn incident(
    at: OffsetDateTime,
    category: &str,
    severity: u8,
    area: Option<AreaId>,
) -> IncidentFields {
    IncidentFields {
        occurred_at: Some(ms(at)),
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(severity)),
        area_id: Some(area),
        description: Some(format!("{category} vid {at}, lugnt efter samtal.")),
        people_involved: Some(3),
        ..Default::default()
    }
}

fn police(
    fields: IncidentFields,
    line: PoliceLine,
    contacted: OffsetDateTime,
    attended: Option<OffsetDateTime>,
) -> IncidentFields {
    IncidentFields {
        police_line: Some(Some(line)),
        police_contacted_at: Some(Some(ms(contacted))),
        police_attended_at: attended.map(|a| Some(ms(a))),
        police_event_number: Some(Some("5000-K123456-26".into())),
        ..fields
    }
}

fn observation(
    at: OffsetDateTime,
    category: ObservationCategory,
    area: Option<AreaId>,
    place: Option<usize>,
) -> ObservationFields {
    ObservationFields {
        observed_at: Some(ms(at)),
        category: Some(category),
        area_id: Some(area),
        location: place.and_then(at_place),
        description: Some("Trasig belysning vid gångvägen.".into()),
        ..Default::default()
    }
}

fn patrol(
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    walkers: u16,
    area: Option<AreaId>,
) -> PatrolFields {
    PatrolFields {
        kind: Some(PatrolKind::NightWalk),
        started_at: Some(ms(start)),
        ended_at: end.map(|e| Some(ms(e))),
        participant_count: Some(walkers),
        area_id: Some(area),
        note: Some("Lugn kväll.".into()),
        ..Default::default()
    }
}

/// Entries of the first organisation: (which phone, body). The ids come from the caller, the
/// same on both backends.
fn entries(a: &[AreaId]) -> Vec<(usize, OpBody)> {
    let area = |i: usize| Some(a[i]);
    let long = "Grupp på åtta ungdomar vid gångtunneln, några påverkade; vi stannade och pratade, \
                ringde en förälder och följde två hem. Ingen skadad, men stämningen var spänd \
                en stund innan det lugnade sig. Återkommer nästa helg för att se hur det går, \
                och hör av oss till fältgruppen om läget."
        .to_owned();
    let mut all: Vec<(usize, OpBody)> = vec![
        // The previous period's last minute and the period's first (local midnight is 22:00 UTC).
        (
            0,
            OpBody::Incident(incident(
                datetime!(2026-10-18 21:59 UTC),
                "disturbance",
                2,
                area(TORGET),
            )),
        ),
        (
            0,
            OpBody::Incident(IncidentFields {
                location: at_place(1),
                ..incident(datetime!(2026-10-18 22:01 UTC), "alcohol", 1, area(TORGET))
            }),
        ),
        // Saturday evening, across midnight, and twice 02:30 local on the night summer time ends.
        (
            0,
            OpBody::Incident(police(
                IncidentFields {
                    location: at_place(2),
                    ..incident(
                        datetime!(2026-10-24 21:30 UTC),
                        "disturbance",
                        2,
                        area(TORGET),
                    )
                },
                PoliceLine::Emergency,
                datetime!(2026-10-24 21:35 UTC),
                Some(datetime!(2026-10-24 21:52 UTC)),
            )),
        ),
        (
            1,
            OpBody::Incident(police(
                IncidentFields {
                    location: at_place(3),
                    ..incident(
                        datetime!(2026-10-24 22:10 UTC),
                        "violence_threat",
                        4,
                        area(PARKEN),
                    )
                },
                PoliceLine::NonEmergency,
                datetime!(2026-10-24 22:12 UTC),
                None,
            )),
        ),
        (
            1,
            OpBody::Incident(IncidentFields {
                location: at_place(4),
                description: Some(long),
                ..incident(
                    datetime!(2026-10-25 00:30 UTC),
                    "narcotics",
                    3,
                    area(ANGSVAGEN),
                )
            }),
        ),
        (
            0,
            OpBody::Incident(police(
                incident(
                    datetime!(2026-10-25 01:30 UTC),
                    "violence_threat",
                    4,
                    area(BRYGGAN),
                ),
                PoliceLine::Emergency,
                datetime!(2026-10-25 01:31 UTC),
                Some(datetime!(2026-10-25 02:01 UTC)),
            )),
        ),
        (
            1,
            OpBody::Incident(IncidentFields {
                location: at_place(5),
                ..incident(
                    datetime!(2026-10-25 01:30 UTC),
                    "youth_at_risk",
                    4,
                    area(PARKEN),
                )
            }),
        ),
        (
            0,
            OpBody::Incident(incident(
                datetime!(2026-10-28 18:00 UTC),
                "vandalism",
                1,
                None,
            )),
        ),
        // The period's last minute (23:59 local, winter time) and the first one after it.
        (
            1,
            OpBody::Incident(police(
                incident(datetime!(2026-11-01 22:59 UTC), "traffic", 3, area(TORGET)),
                PoliceLine::Emergency,
                datetime!(2026-11-01 22:59:30 UTC),
                Some(datetime!(2026-11-01 23:10 UTC)),
            )),
        ),
        (
            1,
            OpBody::Incident(incident(
                datetime!(2026-11-01 23:00 UTC),
                "other",
                2,
                area(TORGET),
            )),
        ),
        // Retracted by its author: left out.
        (
            0,
            OpBody::Incident(IncidentFields {
                retracted: Some(true),
                ..incident(
                    datetime!(2026-10-26 20:00 UTC),
                    "disturbance",
                    3,
                    area(TORGET),
                )
            }),
        ),
        // Police who came before the call was noted: counted as attended, no response time.
        (
            1,
            OpBody::Incident(police(
                incident(
                    datetime!(2026-10-30 19:00 UTC),
                    "theft_burglary",
                    2,
                    area(PARKEN),
                ),
                PoliceLine::NonEmergency,
                datetime!(2026-10-30 19:20 UTC),
                Some(datetime!(2026-10-30 19:10 UTC)),
            )),
        ),
        // The previous period.
        (
            0,
            OpBody::Incident(police(
                incident(
                    datetime!(2026-10-10 20:00 UTC),
                    "disturbance",
                    2,
                    area(PARKEN),
                ),
                PoliceLine::Emergency,
                datetime!(2026-10-10 20:05 UTC),
                Some(datetime!(2026-10-10 20:25 UTC)),
            )),
        ),
        (
            0,
            OpBody::Incident(incident(
                datetime!(2026-10-12 21:30 UTC),
                "alcohol",
                1,
                area(TORGET),
            )),
        ),
        (
            1,
            OpBody::Incident(incident(
                datetime!(2026-10-15 18:00 UTC),
                "disturbance",
                3,
                None,
            )),
        ),
        // Observations.
        (
            0,
            OpBody::Observation(observation(
                datetime!(2026-10-20 17:00 UTC),
                ObservationCategory::Lighting,
                area(TORGET),
                Some(6),
            )),
        ),
        (
            1,
            OpBody::Observation(observation(
                datetime!(2026-10-25 01:10 UTC),
                ObservationCategory::LitterNeedles,
                area(PARKEN),
                Some(7),
            )),
        ),
        (
            0,
            OpBody::Observation(observation(
                datetime!(2026-10-22 12:00 UTC),
                ObservationCategory::VandalismGraffiti,
                None,
                None,
            )),
        ),
        (
            0,
            OpBody::Observation(observation(
                datetime!(2026-10-08 10:00 UTC),
                ObservationCategory::GatheringPlace,
                area(TORGET),
                Some(8),
            )),
        ),
        // Patrols: over midnight and the end of summer time, one starting after midnight (it
        // counts to the evening before), one still going, one in fractions of an hour.
        (
            0,
            OpBody::Patrol(patrol(
                datetime!(2026-10-24 19:00 UTC),
                Some(datetime!(2026-10-25 01:30 UTC)),
                3,
                area(TORGET),
            )),
        ),
        (
            1,
            OpBody::Patrol(patrol(
                datetime!(2026-10-26 03:00 UTC),
                Some(datetime!(2026-10-26 05:00 UTC)),
                2,
                area(PARKEN),
            )),
        ),
        (
            0,
            OpBody::Patrol(patrol(
                datetime!(2026-10-31 18:00 UTC),
                None,
                4,
                area(ANGSVAGEN),
            )),
        ),
        (
            1,
            OpBody::Patrol(patrol(
                datetime!(2026-10-19 17:00 UTC),
                Some(datetime!(2026-10-19 20:20 UTC)),
                1,
                area(BRYGGAN),
            )),
        ),
        (
            0,
            OpBody::Patrol(patrol(
                datetime!(2026-10-29 18:15 UTC),
                Some(datetime!(2026-10-29 21:40 UTC)),
                3,
                None,
            )),
        ),
        (
            1,
            OpBody::Patrol(patrol(
                datetime!(2026-10-10 18:00 UTC),
                Some(datetime!(2026-10-10 22:00 UTC)),
                2,
                area(PARKEN),
            )),
        ),
        // The start of summer time, 29 March 2026 at 01:00 UTC.
        (
            0,
            OpBody::Incident(incident(
                datetime!(2026-03-29 00:30 UTC),
                "disturbance",
                2,
                area(TORGET),
            )),
        ),
        (
            1,
            OpBody::Incident(IncidentFields {
                location: at_place(9),
                ..incident(
                    datetime!(2026-03-29 01:30 UTC),
                    "violence_threat",
                    3,
                    area(PARKEN),
                )
            }),
        ),
        (
            0,
            OpBody::Patrol(patrol(
                datetime!(2026-03-28 20:00 UTC),
                Some(datetime!(2026-03-29 02:00 UTC)),
                2,
                area(TORGET),
            )),
        ),
        (
            1,
            OpBody::Incident(incident(
                datetime!(2026-03-15 19:00 UTC),
                "alcohol",
                1,
                None,
            )),
        ),
        (
            0,
            OpBody::Observation(observation(
                datetime!(2026-03-28 23:30 UTC),
                ObservationCategory::UnsafePlace,
                area(PARKEN),
                Some(10),
            )),
        ),
        // Early 2025: the first is purged at the end, the second stays.
        (
            0,
            OpBody::Incident(incident(
                datetime!(2025-01-10 20:00 UTC),
                "disturbance",
                2,
                area(TORGET),
            )),
        ),
        (
            1,
            OpBody::Observation(observation(
                datetime!(2025-01-25 12:00 UTC),
                ObservationCategory::Other,
                None,
                Some(11),
            )),
        ),
    ];
    // Reported twice: the coordinator marks the second as a duplicate of the first.
    all.push((
        0,
        OpBody::Incident(incident(
            datetime!(2026-10-26 20:05 UTC),
            "disturbance",
            3,
            area(TORGET),
        )),
    ));
    all.push((
        1,
        OpBody::Incident(incident(
            datetime!(2026-10-26 20:06 UTC),
            "disturbance",
            3,
            area(TORGET),
        )),
    ));
    all
}

/// The second organisation's entries.
fn other_entries(area: AreaId) -> Vec<OpBody> {
    vec![
        OpBody::Incident(incident(
            datetime!(2026-10-21 20:00 UTC),
            "disturbance",
            2,
            Some(area),
        )),
        OpBody::Incident(police(
            incident(datetime!(2026-10-22 22:30 UTC), "violence_threat", 3, None),
            PoliceLine::Emergency,
            datetime!(2026-10-22 22:31 UTC),
            Some(datetime!(2026-10-22 22:45 UTC)),
        )),
        OpBody::Patrol(patrol(
            datetime!(2026-10-23 18:00 UTC),
            Some(datetime!(2026-10-23 21:00 UTC)),
            2,
            Some(area),
        )),
        OpBody::Observation(observation(
            datetime!(2026-10-14 16:00 UTC),
            ObservationCategory::Lighting,
            Some(area),
            Some(12),
        )),
    ]
}

async fn member(store: &Store, org: OrgId, name: &str, role: Role) -> MemberId {
    store
        .add_member(
            MemberToAdd {
                org,
                name: name.to_owned(),
                role,
                group: Some("Nattvandrarna".into()),
                login: None,
                password_hash: None,
            },
            now_ms(),
        )
        .await
        .expect("a member")
}

async fn phone(store: &Store, member: MemberId) -> Phone {
    Phone::enrolled(store, member, "Telefon", now_ms())
        .await
        .expect("an enrolled phone")
}

async fn push(store: &Store, phone: &mut Phone, ops: Vec<(EntityId, OpBody)>) {
    let n = ops.len();
    let ops: Vec<Op> = ops
        .into_iter()
        .map(|(id, body)| phone.op_at(id, body, 0, now_ms()))
        .collect();
    let (result, counts) = store
        .push(phone.caller, ops, now_ms(), LIMITS)
        .await
        .expect("push");
    assert!(result.rejected.is_empty(), "{:?}", result.rejected);
    assert_eq!(counts.accepted, n);
}

async fn share(store: &Store, from: OrgId, to: OrgId, by: MemberId) {
    let shared = store.set_sharing_by(from, to, by, true, now_ms()).await;
    assert!(shared.expect("share"), "a municipality");
}

/// Fills `store` with the organisations, areas, members, phones and entries; `ids` are the
/// entries' ids (the same on both backends).
async fn fill(store: Store, dir: Option<TempDir>, ids: &[EntityId]) -> Side {
    let now = now_ms();
    let org = store
        .create_org_at("Nattvandrarna Testby".into(), OrgLevel::Association, now)
        .await
        .expect("an organisation");
    let other = store
        .create_org_at("Grannsamverkan Norr".into(), OrgLevel::Association, now)
        .await
        .expect("an organisation");
    let municipality = store
        .create_org_at("Exempelstads kommun".into(), OrgLevel::Municipality, now)
        .await
        .expect("an organisation");
    let new_areas = AREAS
        .iter()
        .enumerate()
        .map(|(n, name)| NewArea {
            name: (*name).to_owned(),
            geojson: polygon(n),
        })
        .collect();
    let areas = store
        .add_areas(org, new_areas, now)
        .await
        .expect("the areas");
    assert_eq!(areas.len(), AREAS.len());
    let villa = store
        .add_areas(
            other,
            vec![NewArea {
                name: "Villaområdet Norr".into(),
                geojson: polygon(9),
            }],
            now,
        )
        .await
        .expect("an area")[0];
    let mut names: BTreeMap<String, String> = areas
        .iter()
        .zip(AREAS)
        .map(|(id, name)| (id.to_string(), name.to_owned()))
        .collect();
    names.insert(villa.to_string(), "Villaområdet Norr".into());

    let anna = member(&store, org, "Anna Berg", Role::Volunteer).await;
    let bo = member(&store, org, "Bo Lind", Role::Volunteer).await;
    let coordinator = member(&store, org, "Carin Ek", Role::Coordinator).await;
    let mut phones = [phone(&store, anna).await, phone(&store, bo).await];
    let mut coordinator_phone = phone(&store, coordinator).await;
    let all = entries(&areas);
    let mut per_phone: [Vec<(EntityId, OpBody)>; 2] = [Vec::new(), Vec::new()];
    for ((which, body), id) in all.into_iter().zip(ids) {
        per_phone[which].push((*id, body));
    }
    let count = per_phone[0].len() + per_phone[1].len();
    for (phone, ops) in phones.iter_mut().zip(per_phone) {
        push(&store, phone, ops).await;
    }
    let (original, copy) = (ids[count - 2], ids[count - 1]);
    push(
        &store,
        &mut coordinator_phone,
        vec![(
            copy,
            OpBody::Incident(IncidentFields {
                review_status: Some(ReviewStatus::Duplicate),
                duplicate_of: Some(Some(original)),
                ..Default::default()
            }),
        )],
    )
    .await;

    let walker = member(&store, other, "Per Ström", Role::Volunteer).await;
    let mut walker_phone = phone(&store, walker).await;
    let theirs = other_entries(villa)
        .into_iter()
        .zip(&ids[count..])
        .map(|(body, id)| (*id, body))
        .collect();
    push(&store, &mut walker_phone, theirs).await;

    share(&store, org, municipality, coordinator).await;
    share(&store, other, municipality, walker).await;
    Side {
        store,
        _dir: dir,
        org,
        other,
        municipality,
        areas,
        names,
    }
}

/// Both backends filled the same way: SQLite first, PostgreSQL second.
async fn both() -> [Side; 2] {
    let ids: Vec<EntityId> = (0..64).map(|_| EntityId::new()).collect();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let sqlite = Store::open(&dir.path().join("vaka.sqlite3"), 2, 64, Default::default())
        .expect("the SQLite store");
    let url = fresh_database().await.expect("a test database");
    let postgres = Store::open_postgres(&url, 4, 64, Default::default())
        .await
        .expect("the PostgreSQL store");
    [
        fill(sqlite, Some(dir), &ids).await,
        fill(postgres, None, &ids).await,
    ]
}

fn day_ms(day: Date) -> i64 {
    day.midnight().assume_utc().unix_timestamp() * 1000
}

#[tokio::test]
async fn the_report_gives_the_same_figures_on_both_backends() {
    let [sqlite, postgres] = both().await;
    let spring = ReportQuery {
        from: date!(2026 - 03 - 23),
        to: date!(2026 - 04 - 05),
        areas: Vec::new(),
    };
    let two_years = ReportQuery {
        from: date!(2025 - 01 - 01),
        to: date!(2026 - 12 - 31),
        areas: Vec::new(),
    };
    let the_night = ReportQuery {
        from: date!(2026 - 10 - 25),
        to: date!(2026 - 10 - 25),
        areas: Vec::new(),
    };
    let nothing = ReportQuery {
        from: date!(2024 - 06 - 01),
        to: date!(2024 - 06 - 14),
        areas: Vec::new(),
    };
    let queries = |side: &Side| {
        vec![
            AUTUMN,
            side.over(&AUTUMN, &[TORGET, PARKEN]),
            side.over(&AUTUMN, &[BRYGGAN]),
            spring.clone(),
            two_years.clone(),
            the_night.clone(),
            nothing.clone(),
        ]
    };
    for (on_sqlite, on_postgres) in queries(&sqlite).iter().zip(queries(&postgres)) {
        let expected = sqlite.report(on_sqlite).await;
        let got = postgres.report(&on_postgres).await;
        assert_eq!(got, expected, "{on_sqlite:?}");
    }

    // The figures themselves, worked out by hand for the autumn fortnight.
    let r = sqlite.report(&AUTUMN).await;
    assert_eq!((r.incidents.now, r.incidents.before), (10, 4));
    assert_eq!((r.observations.now, r.observations.before), (3, 1));
    assert_eq!((r.patrols.now, r.patrols.before), (5, 1));
    assert_eq!((r.presence_hours.now, r.presence_hours.before), (37, 8));
    assert_eq!((r.by_hour[0], r.by_hour[2], r.by_hour[23]), (2, 3, 2));
    assert_eq!((r.by_hour[19], r.by_hour[20], r.by_hour[21]), (1, 1, 1));
    assert_eq!(r.by_weekday.iter().sum::<i64>(), 10);
    assert_eq!(
        r.by_weekday[6], 5,
        "four on Sunday 25 October, one on 1 November"
    );
    let evening = |day: Date| {
        r.by_evening
            .iter()
            .find(|(d, _)| *d == day)
            .map(|(_, h)| *h)
    };
    assert_eq!(r.by_evening.len(), 14);
    assert_eq!(evening(date!(2026 - 10 - 24)), Some(19.5));
    assert_eq!(evening(date!(2026 - 10 - 25)), Some(4.0));
    assert_eq!(evening(date!(2026 - 10 - 31)), Some(0.0));
    assert_eq!((r.police.contacted.now, r.police.attended.now), (5, 4));
    assert_eq!(
        (r.police.emergency_calls, r.police.non_emergency_calls),
        (3, 2)
    );
    assert_eq!(r.police.responses_min, vec![10.5, 17.0, 30.0]);
    assert_eq!(r.police.median_response_min, Some(17.0));
    assert_eq!(r.points.len(), 7);
    let notable: Vec<(i64, &str)> = r
        .notable
        .iter()
        .map(|n| (n.severity, n.category.as_str()))
        .collect();
    assert_eq!(notable.len(), 6);
    assert_eq!(notable[5], (3, "narcotics"));
    assert_eq!(
        r.notable[5].summary.chars().count(),
        240,
        "the start of a long description, in characters"
    );
    assert_eq!(r.by_area["Torget"].incidents.now, 4);
    assert_eq!(r.by_area[""].patrols, 1);
    assert_eq!(
        r.by_area["Skolgården"],
        AreaFigures {
            name: "Skolgården".into(),
            ..AreaFigures::default()
        },
        "an area without entries has its row"
    );
    assert_eq!(r.purged_before, None);

    // The spring fortnight: the hour that does not exist is skipped.
    let s = sqlite.report(&spring).await;
    assert_eq!((s.incidents.now, s.by_hour[1], s.by_hour[3]), (2, 1, 1));

    // After a purge of what is older than two years from mid-January 2027, the first entry of
    // 2025 is gone and the report says its figures are incomplete, on both.
    let purge_at = day_ms(date!(2027 - 01 - 15));
    let january = ReportQuery {
        from: date!(2025 - 01 - 20),
        to: date!(2025 - 02 - 02),
        areas: Vec::new(),
    };
    for side in [&sqlite, &postgres] {
        let purged = side.store.purge_all(purge_at).await.expect("purge");
        let entries: u64 = purged.iter().map(|p| p.by_kind.values().sum::<u64>()).sum();
        assert_eq!(entries, 1, "{purged:?}");
    }
    for query in [january, AUTUMN, two_years] {
        let expected = sqlite.report(&query).await;
        assert_eq!(postgres.report(&query).await, expected, "{query:?}");
    }
    let j = sqlite
        .report(&ReportQuery {
            from: date!(2025 - 01 - 20),
            to: date!(2025 - 02 - 02),
            areas: Vec::new(),
        })
        .await;
    assert_eq!((j.observations.now, j.incidents.before), (1, 0));
    assert_eq!(
        j.purged_before,
        Some((purge_at - 730 * 86_400_000, 730)),
        "the newest purge's cut-off and the retention period"
    );
}

#[tokio::test]
async fn summaries_and_the_shared_aggregates_are_the_same_on_both_backends() {
    let [sqlite, postgres] = both().await;
    for side in [&sqlite, &postgres] {
        for text in [
            "Lugnare än förra perioden.",
            "Lugnare än förra perioden; mer i Parken.",
        ] {
            side.store
                .save_summary(side.org, AUTUMN, text.to_owned(), now_ms())
                .await
                .expect("saved");
        }
    }
    let expected = sqlite.report(&AUTUMN).await;
    assert_eq!(expected.summary, "Lugnare än förra perioden; mer i Parken.");
    assert_eq!(postgres.report(&AUTUMN).await, expected);

    assert_eq!(
        sqlite.sharing_names().await,
        vec!["Grannsamverkan Norr", "Nattvandrarna Testby"]
    );
    assert_eq!(postgres.sharing_names().await, sqlite.sharing_names().await);

    for query in [AUTUMN, sqlite.over(&AUTUMN, &[])] {
        let expected = sqlite.shared(sqlite.municipality, &query).await;
        let got = postgres.shared(postgres.municipality, &query).await;
        assert_eq!(got.own, expected.own);
        assert_eq!(got.sharing.len(), 2);
        for ((got_org, got), (expected_org, expected)) in got.sharing.iter().zip(&expected.sharing)
        {
            assert_eq!(got_org.name, expected_org.name);
            assert_eq!(got, expected, "{}", expected_org.name);
        }
        assert_eq!(expected.sharing[0].0.id, sqlite.other);
        assert_eq!(expected.sharing[1].0.id, sqlite.org);
        assert_eq!(expected.sharing[0].1.incidents.now, 2);
    }
    // Nobody shares with an association.
    let alone = postgres.shared(postgres.org, &AUTUMN).await;
    assert!(alone.sharing.is_empty());
    assert_eq!(alone.own, sqlite.shared(sqlite.org, &AUTUMN).await.own);
}

#[tokio::test]
async fn areas_are_listed_renamed_and_removed_alike_on_both_backends() {
    let [sqlite, postgres] = both().await;
    let (shapes, listed) = sqlite.listing().await;
    assert_eq!(postgres.listing().await, (shapes.clone(), listed.clone()));
    assert_eq!(postgres.offered().await, sqlite.offered().await);
    let order: Vec<&str> = shapes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        order,
        ["Parken", "Skolgården", "Torget", "bryggan", "Ängsvägen"],
        "byte order, as SQLite sorts"
    );
    let used: Vec<(&str, i64)> = listed
        .iter()
        .map(|a| (a.name.as_str(), a.entries))
        .collect();
    assert_eq!(
        used,
        [
            ("Parken", 9),
            ("Skolgården", 0),
            ("Torget", 15),
            ("bryggan", 2),
            ("Ängsvägen", 2)
        ]
    );

    let removed_at = now_ms();
    for side in [&sqlite, &postgres] {
        let s = &side.store;
        let area = |i: usize| side.areas[i];
        assert!(
            s.rename_area(side.org, area(TORGET), "Stortorget".into())
                .await
                .expect("renamed")
        );
        assert!(
            !s.rename_area(side.other, area(PARKEN), "Fel".into())
                .await
                .expect("not theirs"),
            "another organisation's area is not renamed"
        );
        assert!(
            !s.rename_area(side.org, AreaId::new(), "Ingen".into())
                .await
                .expect("none")
        );
        let remove = |org: OrgId, id: AreaId| s.remove_area(org, id, removed_at);
        assert_eq!(
            remove(side.org, area(SKOLGARDEN)).await.expect("removed"),
            Some(Removal::Deleted)
        );
        assert_eq!(
            remove(side.org, area(BRYGGAN)).await.expect("removed"),
            Some(Removal::Archived)
        );
        assert_eq!(
            s.remove_area(side.org, area(BRYGGAN), removed_at + 1)
                .await
                .expect("again"),
            Some(Removal::Archived)
        );
        assert_eq!(
            remove(side.other, area(PARKEN)).await.expect("not theirs"),
            None
        );
        assert_eq!(remove(side.org, AreaId::new()).await.expect("none"), None);
    }
    let (shapes, listed) = sqlite.listing().await;
    assert_eq!(postgres.listing().await, (shapes.clone(), listed.clone()));
    let rows: Vec<(&str, Option<i64>)> = listed
        .iter()
        .map(|a| (a.name.as_str(), a.archived_at_ms))
        .collect();
    assert_eq!(
        rows,
        [
            ("Parken", None),
            ("Stortorget", None),
            ("Ängsvägen", None),
            ("bryggan", Some(removed_at))
        ],
        "active ones first; archived once, at the first removal"
    );
    let choices = sqlite.offered().await;
    assert_eq!(postgres.offered().await, choices);
    let names: Vec<&str> = choices.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Parken", "Stortorget", "Ängsvägen"]);
    // The report still counts the archived area, under the new names.
    let expected = sqlite.report(&AUTUMN).await;
    assert_eq!(postgres.report(&AUTUMN).await, expected);
    assert_eq!(expected.by_area["bryggan"].patrols, 1);
    assert_eq!(expected.by_area["Torget"].name, "Stortorget");
    assert!(!expected.by_area.contains_key("Skolgården"));
}
