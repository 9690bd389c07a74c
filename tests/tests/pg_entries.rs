//! The dashboard's reads of entries on both backends: the same members, areas, pushes and photo
//! into an SQLite and a PostgreSQL store give the same inbox pages (every filter, every sort both
//! ways, the counts, the paging), the same entry pages (duplicates, history, conflicts,
//! comments, photos' states), the same review and settle lookups, entries of a period and choice
//! lists. Ids the server makes (organisation, members, devices) differ between the two stores;
//! they are compared by the role they have in the fixture.

use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio_postgres::types::ToSql;
use vaka_server::store::admin::MemberToAdd;
use vaka_server::store::blobs::Chunk;
use vaka_server::store::entries::{self as sqlite_entries, InboxFilter, InboxSort};
use vaka_server::store::postgres::entries as pg_entries;
use vaka_server::store::sharing::OrgLevel;
use vaka_server::store::{Store, StoreError};
use vaka_server::sync::PushLimits;
use vaka_shared::model::{
    Agency, AttachmentRef, CategoryCode, CommentFields, EntryRef, IncidentFields, Location,
    ObservationCategory, ObservationFields, PatrolFields, PatrolKind, ReviewStatus, Role, Severity,
};
use vaka_shared::op::{EntityKind, OpBody};
use vaka_shared::{AreaId, EntityId, MemberId, OrgId, Timestamp};
use vaka_tests::postgres::fresh_database_with;

/// When the fixture's events happen around (2026-11-21 19:00 UTC).
const T: i64 = 1_795_287_600_000;
const MINUTE: i64 = 60_000;
/// When every push reaches the server.
const NOW: i64 = T + 2 * 24 * 60 * MINUTE;
const LIMITS: PushLimits = PushLimits {
    max_clock_ahead_ms: 300_000,
};
/// The photo attached to one incident.
const PHOTO: &[u8] = b"not really a JPEG, but bytes with a hash";

use vaka_tests::StorePhone as Phone;

/// One store with the fixture's organisation, members and phones.
struct Side {
    store: Store,
    org: OrgId,
    /// The coordinator, then three volunteers.
    members: Vec<MemberId>,
    /// One phone per member, in the same order.
    phones: Vec<Phone>,
    /// The server-made ids and the names they are compared by.
    labels: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// The fixture's areas: (id, name, archived). Names sort differently by code point than in a
/// Swedish or English collation, and two areas share a name.
fn areas() -> Vec<(AreaId, &'static str, bool)> {
    let ids: Vec<AreaId> = (0..5).map(|_| AreaId::new()).collect();
    // Code point order: Centrum, Centrum, Västra, hamnen, Östra; Swedish: hamnen before Västra.
    vec![
        (ids[0], "Centrum", false),
        (ids[1], "Östra", false),
        (ids[2], "hamnen", false),
        (ids[3], "Centrum", false),
        (AreaId::new(), "Västra", false),
        (ids[4], "Gamla stan", true),
    ]
}

async fn add_areas(store: &Store, org: OrgId, areas: &[(AreaId, &'static str, bool)]) {
    let rows: Vec<(String, String, String, Option<i64>)> = areas
        .iter()
        .map(|(id, name, archived)| {
            (
                id.to_string(),
                org.to_string(),
                (*name).to_owned(),
                archived.then_some(T),
            )
        })
        .collect();
    const SQL: &str = "INSERT INTO areas (id, org_id, name, geojson, created_at_ms, archived_at_ms)
        VALUES ($1, $2, $3, '{\"type\":\"Polygon\",\"coordinates\":[[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.6]]]}', 0, $4)";
    match store {
        Store::Sqlite(sqlite) => {
            let sql = SQL.replace('$', "?");
            sqlite
                .write(move |conn| {
                    for (id, org, name, archived) in &rows {
                        conn.execute(&sql, rusqlite::params![id, org, name, archived])?;
                    }
                    Ok(())
                })
                .await
                .expect("areas on SQLite");
        }
        Store::Postgres(pg) => pg
            .write(move |tx| {
                Box::pin(async move {
                    for (id, org, name, archived) in &rows {
                        tx.execute(SQL, &[id as &(dyn ToSql + Sync), org, name, archived])
                            .await?;
                    }
                    Ok(())
                })
            })
            .await
            .expect("areas on PostgreSQL"),
    }
}

async fn side(store: Store, dir: Option<tempfile::TempDir>) -> Side {
    let org = store
        .create_org_at("Nattvandrarna Testby".into(), OrgLevel::Association, T)
        .await
        .expect("an organisation");
    let people = [
        ("Sara", Role::Coordinator, Some("Nattvandrarna")),
        ("Ali", Role::Volunteer, Some("Nattvandrarna")),
        ("Åsa", Role::Volunteer, Some("Grannsamverkan")),
        ("Ali", Role::Volunteer, None),
    ];
    let mut labels = vec![(org.to_string(), "org".to_owned())];
    let (mut members, mut phones) = (Vec::new(), Vec::new());
    for (n, (name, role, group)) in people.into_iter().enumerate() {
        let member = store
            .add_member(
                MemberToAdd {
                    org,
                    name: name.into(),
                    role,
                    group: group.map(str::to_owned),
                    login: None,
                    password_hash: None,
                },
                T,
            )
            .await
            .expect("a member");
        let phone = Phone::enrolled(&store, member, &format!("Telefon {n}"), T)
            .await
            .expect("an enrolled phone");
        let caller = phone.caller;
        labels.push((member.to_string(), format!("member{n}")));
        labels.push((caller.device_id.to_string(), format!("device{n}")));
        members.push(member);
        phones.push(phone);
    }
    Side {
        store,
        org,
        members,
        phones,
        labels,
        _dir: dir,
    }
}

/// A fresh database (see [`fresh_database_with`]) that sorts text in Swedish, as a production
/// database may: the stores' orders must not depend on the database's collation.
async fn swedish_database() -> String {
    fresh_database_with(
        "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE' LOCALE 'C.UTF-8'",
    )
    .await
    .expect("a database sorting in Swedish")
}

async fn both() -> [Side; 2] {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Store::open(&dir.path().join("vaka.sqlite3"), 2, 64, Default::default())
        .expect("the SQLite store");
    let url = swedish_database().await;
    let pg = Store::open_postgres(&url, 4, 64, Arc::default())
        .await
        .expect("the PostgreSQL store");
    [side(sqlite, Some(dir)).await, side(pg, None).await]
}

impl Side {
    /// Pushes one op of `phone` on `entity`, stamped at `wall_ms`, made after seeing `base_seq`;
    /// returns its server sequence.
    async fn push(
        &mut self,
        phone: usize,
        entity: EntityId,
        body: OpBody,
        base_seq: u64,
        wall_ms: i64,
    ) -> u64 {
        let p = &mut self.phones[phone];
        let op = p.op_at(entity, body, base_seq, wall_ms);
        let (result, counts) = self
            .store
            .push(p.caller, vec![op], NOW, LIMITS)
            .await
            .expect("push");
        assert_eq!(counts.accepted, 1, "{result:?}");
        self.store.last_seq().await.expect("last seq")
    }

    /// `text` with the server-made ids replaced by their names in the fixture.
    fn neutral(&self, text: String) -> String {
        self.labels
            .iter()
            .fold(text, |text, (id, label)| text.replace(id, label))
    }
}

fn at(ms: i64) -> Option<Timestamp> {
    Timestamp::from_unix_ms(ms)
}

fn place(lat: f64, lon: f64) -> Option<Option<Location>> {
    Some(Some(Location {
        lat,
        lon,
        accuracy_m: None,
    }))
}

fn incident(
    minutes: i64,
    category: &str,
    severity: u8,
    location: Option<Option<Location>>,
    area: Option<AreaId>,
    description: &str,
) -> OpBody {
    OpBody::Incident(IncidentFields {
        occurred_at: at(T + minutes * MINUTE),
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(severity)),
        location,
        area_id: area.map(Some),
        description: Some(description.into()),
        ..Default::default()
    })
}

/// The entries of the fixture, the same on both sides.
struct Fixture {
    areas: Vec<(AreaId, &'static str, bool)>,
    entries: Vec<EntityId>,
    /// The conflict left open and the one settled, by their entry.
    conflicted: EntityId,
    photo: String,
}

/// Fills both sides with the same entries, reviews, conflicts, comments and photo.
async fn fill(sides: &mut [Side; 2]) -> Fixture {
    let areas = areas();
    let a = |n: usize| Some(areas[n].0);
    let photo = format!("{:x}", Sha256::digest(PHOTO));
    let entries: Vec<EntityId> = (0..12).map(|_| EntityId::new()).collect();
    let e = |n: usize| entries[n];
    let conflicted = e(2);
    let with_photos = |body: OpBody| match body {
        OpBody::Incident(fields) => OpBody::Incident(IncidentFields {
            attachments: Some(vec![
                AttachmentRef {
                    sha256: photo.clone(),
                    size: PHOTO.len() as u64,
                    content_type: "image/jpeg".into(),
                },
                AttachmentRef {
                    sha256: "ab".repeat(32),
                    size: 10,
                    content_type: "image/jpeg".into(),
                },
            ]),
            ..fields
        }),
        other => other,
    };
    // (phone, entry, body): incidents near and far in time and place, in areas and without.
    let created: Vec<(usize, usize, OpBody)> = vec![
        (
            1,
            0,
            incident(
                0,
                "disturbance",
                2,
                place(59.6, 16.5),
                a(0),
                "Grupp vid busshållplatsen.",
            ),
        ),
        (
            2,
            1,
            incident(
                10,
                "disturbance",
                3,
                place(59.601, 16.501),
                a(0),
                "Bråk vid hållplatsen.",
            ),
        ),
        (
            1,
            2,
            incident(20, "alcohol", 2, None, a(1), "Berusad person, lugn."),
        ),
        (
            3,
            3,
            incident(60, "violence_threat", 4, None, a(2), "Hot mot vakt."),
        ),
        (
            2,
            4,
            incident(-120, "vandalism", 1, None, None, "Krossad ruta."),
        ),
        (
            1,
            5,
            OpBody::Observation(ObservationFields {
                observed_at: at(T + 30 * MINUTE),
                category: Some(ObservationCategory::Lighting),
                location: place(59.65, 16.55),
                area_id: a(1).map(Some),
                description: Some("Trasig gatlampa.".into()),
                ..Default::default()
            }),
        ),
        (
            2,
            6,
            OpBody::Observation(ObservationFields {
                observed_at: at(T - 24 * 60 * MINUTE),
                category: Some(ObservationCategory::VandalismGraffiti),
                description: Some("Klotter på skolan.".into()),
                retracted: Some(true),
                ..Default::default()
            }),
        ),
        (
            1,
            7,
            OpBody::Patrol(PatrolFields {
                kind: Some(PatrolKind::NightWalk),
                started_at: at(T - 180 * MINUTE),
                ended_at: Some(at(T - 60 * MINUTE)),
                area_id: a(0).map(Some),
                participant_count: Some(4),
                note: Some("Lugn kväll.".into()),
                ..Default::default()
            }),
        ),
        (
            3,
            8,
            OpBody::Patrol(PatrolFields {
                kind: Some(PatrolKind::ParentWalk),
                started_at: at(T - 180 * MINUTE),
                participant_count: Some(2),
                ..Default::default()
            }),
        ),
        (
            1,
            9,
            with_photos(incident(
                5,
                "disturbance",
                2,
                place(59.6002, 16.5002),
                a(0),
                "Samma grupp, foto.",
            )),
        ),
        (
            2,
            10,
            incident(
                -30,
                "disturbance",
                2,
                place(59.7, 16.7),
                a(3),
                "Långt bort, samma tid.",
            ),
        ),
        (
            2,
            11,
            incident(-40, "disturbance", 2, None, None, "Utan plats."),
        ),
    ];
    for side in sides.iter_mut() {
        add_areas(&side.store, side.org, &areas).await;
        let mut w = T;
        let mut tick = || {
            w += 1_000;
            w
        };
        let mut seqs = Vec::new();
        for (phone, n, body) in created.clone() {
            seqs.push(side.push(phone, e(n), body, 0, tick()).await);
        }

        // The coordinator's review, made after seeing every entry.
        let (coordinator, volunteer) = (side.members[0], side.members[1]);
        let last = side.store.last_seq().await.expect("last seq");
        let reviews = [
            (
                1,
                IncidentFields {
                    review_status: Some(ReviewStatus::Duplicate),
                    duplicate_of: Some(Some(e(0))),
                    ..Default::default()
                },
            ),
            (
                0,
                IncidentFields {
                    review_status: Some(ReviewStatus::Reviewed),
                    assignee: Some(Some(coordinator)),
                    tags: Some(vec!["natt".into(), "buss".into()]),
                    forwarded_to: Some(vec![Agency::Police, Agency::SocialServices]),
                    ..Default::default()
                },
            ),
            (
                3,
                IncidentFields {
                    review_status: Some(ReviewStatus::NeedsInfo),
                    assignee: Some(Some(volunteer)),
                    ..Default::default()
                },
            ),
            // An original that cannot be among e(4)'s candidates (another kind).
            (
                4,
                IncidentFields {
                    duplicate_of: Some(Some(e(6))),
                    ..Default::default()
                },
            ),
        ];
        for (n, fields) in reviews {
            side.push(0, e(n), OpBody::Incident(fields), last, tick())
                .await;
        }

        // Two conflicts on e(2): the coordinator and the author edit without seeing each other
        // (the author's later stamp wins); then the author writes the severity again knowing
        // both, which settles that conflict.
        let edits = [
            (0, "Berusad person, två väktare.", 3, 0),
            (1, "Berusad person, hämtad.", 1, 5 * MINUTE),
        ];
        for (phone, description, severity, later) in edits {
            let fields = IncidentFields {
                description: Some(description.into()),
                severity: Some(Severity(severity)),
                ..Default::default()
            };
            side.push(
                phone,
                conflicted,
                OpBody::Incident(fields),
                seqs[2],
                tick() + later,
            )
            .await;
        }
        let last = side.store.last_seq().await.expect("last seq");
        let again = IncidentFields {
            severity: Some(Severity(2)),
            ..Default::default()
        };
        side.push(
            1,
            conflicted,
            OpBody::Incident(again),
            last,
            tick() + 6 * MINUTE,
        )
        .await;

        // Comments on e(0), oldest first, and one on the observation e(5).
        let comments = [
            (0, "Kontaktade polisen.", EntityKind::Incident, 0),
            (1, "Tack!", EntityKind::Incident, 0),
            (2, "Sett igen.", EntityKind::Observation, 5),
        ];
        for (phone, body, kind, n) in comments {
            let comment = CommentFields {
                entry: Some(EntryRef { kind, id: e(n) }),
                body: Some(body.into()),
                written_at: at(T + 90 * MINUTE),
            };
            side.push(
                phone,
                EntityId::new(),
                OpBody::Comment(comment),
                0,
                tick() + 7 * MINUTE,
            )
            .await;
        }

        // The photo of e(9) arrives; the other one never does.
        let chunk = Chunk {
            org_id: side.org,
            uploaded_by: side.members[1].to_string(),
            sha256: photo.clone(),
            size: PHOTO.len() as u64,
            content_type: "image/jpeg".into(),
            offset: 0,
            bytes: PHOTO.to_vec(),
        };
        side.store.put_chunk(chunk, NOW).await.expect("the photo");
    }
    Fixture {
        areas,
        entries,
        conflicted,
        photo,
    }
}

/// Asserts that `read` gives the same on both sides (the server-made ids by their names) and
/// returns SQLite's answer.
async fn same<T, F>(sides: &[Side; 2], what: &str, read: F) -> T
where
    T: std::fmt::Debug,
    F: AsyncFn(&Side) -> Result<T, StoreError>,
{
    let sqlite = read(&sides[0]).await.expect("the read on SQLite");
    let pg = read(&sides[1]).await.expect("the read on PostgreSQL");
    let (a, b) = (
        sides[0].neutral(format!("{sqlite:#?}")),
        sides[1].neutral(format!("{pg:#?}")),
    );
    assert_eq!(a, b, "{what}: SQLite's answer, then PostgreSQL's");
    sqlite
}

/// The filters the inbox is tried with, each with every sort both ways.
fn filters(sides: &[Side; 2], fx: &Fixture) -> Vec<(String, [InboxFilter; 2])> {
    let each = |f: &dyn Fn(&Side) -> InboxFilter| [f(&sides[0]), f(&sides[1])];
    let plain = InboxFilter::default;
    vec![
        ("everything".into(), each(&|_| plain())),
        (
            "a period".into(),
            each(&|_| InboxFilter {
                from_ms: Some(T - 60 * MINUTE),
                to_ms: Some(T + 30 * MINUTE),
                ..plain()
            }),
        ),
        (
            "an area".into(),
            each(&|_| InboxFilter {
                area: Some(fx.areas[0].0),
                ..plain()
            }),
        ),
        (
            "incidents".into(),
            each(&|_| InboxFilter {
                kind: Some(vaka_shared::EntityKind::Incident),
                ..plain()
            }),
        ),
        (
            "a category".into(),
            each(&|_| InboxFilter {
                category: Some("disturbance".into()),
                ..plain()
            }),
        ),
        (
            "a severity".into(),
            each(&|_| InboxFilter {
                severity: Some(2),
                ..plain()
            }),
        ),
        (
            "a status".into(),
            each(&|_| InboxFilter {
                status: Some(vaka_shared::model::ReviewStatus::New),
                ..plain()
            }),
        ),
        (
            "a group".into(),
            each(&|_| InboxFilter {
                group: Some("Nattvandrarna".into()),
                ..plain()
            }),
        ),
        (
            "an author".into(),
            each(&|s| InboxFilter {
                author: Some(s.members[2]),
                ..plain()
            }),
        ),
        (
            "open conflicts".into(),
            each(&|_| InboxFilter {
                conflicts_only: true,
                ..plain()
            }),
        ),
        (
            "everything at once".into(),
            each(&|s| InboxFilter {
                from_ms: Some(T - 24 * 60 * MINUTE),
                to_ms: Some(T + 24 * 60 * MINUTE),
                area: Some(fx.areas[1].0),
                kind: Some(vaka_shared::EntityKind::Incident),
                category: Some("alcohol".into()),
                severity: Some(2),
                status: Some(vaka_shared::model::ReviewStatus::New),
                group: Some("Nattvandrarna".into()),
                author: Some(s.members[1]),
                conflicts_only: true,
                ..plain()
            }),
        ),
    ]
}

#[tokio::test]
async fn the_inbox_is_the_same_on_both_backends_for_every_filter_sort_and_page() {
    let mut sides = both().await;
    let fx = fill(&mut sides).await;
    for (name, filter) in filters(&sides, &fx) {
        for sort in InboxSort::ALL {
            for ascending in [false, true] {
                let filter = filter.clone().map(|f| InboxFilter {
                    sort,
                    ascending,
                    ..f
                });
                let mut seen = 0;
                for offset in [0, 4, 8, 12] {
                    let what = format!("{name}, by {} {ascending}, from {offset}", sort.as_str());
                    let view = same(&sides, &what, async |s: &Side| {
                        let f = if s.store.backend() == "sqlite" {
                            &filter[0]
                        } else {
                            &filter[1]
                        };
                        s.store.inbox_view(s.org, f.clone(), offset, 4).await
                    })
                    .await;
                    seen += view.page.entries.len() as i64;
                    assert_eq!(view.open_conflicts, 1, "one conflict is left open");
                }
                let total = same(&sides, &name, async |s: &Side| {
                    let f = if s.store.backend() == "sqlite" {
                        &filter[0]
                    } else {
                        &filter[1]
                    };
                    s.store
                        .inbox_view(s.org, f.clone(), 0, 4)
                        .await
                        .map(|v| v.page.total)
                })
                .await;
                assert_eq!(seen, total, "{name}: the pages hold every entry once");
            }
        }
    }
    let everything = sides[0]
        .store
        .inbox_view(sides[0].org, InboxFilter::default(), 0, 50)
        .await
        .expect("the inbox");
    assert_eq!(everything.page.total, fx.entries.len() as i64);
    let conflicts = sides[0]
        .store
        .inbox_view(
            sides[0].org,
            InboxFilter {
                conflicts_only: true,
                ..Default::default()
            },
            0,
            50,
        )
        .await
        .expect("the inbox");
    assert_eq!(
        conflicts
            .page
            .entries
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![fx.conflicted]
    );
}

#[tokio::test]
async fn the_entry_page_and_its_lookups_are_the_same_on_both_backends() {
    let mut sides = both().await;
    let fx = fill(&mut sides).await;
    for (n, id) in fx.entries.iter().copied().enumerate() {
        let page = same(&sides, &format!("entry {n}'s page"), async |s: &Side| {
            s.store.entry_page(s.org, id).await
        })
        .await
        .expect("the entry is there");
        same(&sides, &format!("entry {n}"), async |s: &Side| {
            s.store.entry(s.org, id).await
        })
        .await;
        same(&sides, &format!("entry {n}'s review"), async |s: &Side| {
            s.store.review_targets(s.org, id, Some(fx.entries[0])).await
        })
        .await;
        match n {
            0 => {
                assert_eq!(page.entry.tags, ["natt", "buss"]);
                assert_eq!(page.entry.forwarded_to, ["police", "social_services"]);
                let candidates: Vec<_> = page.candidates.iter().map(|c| c.id).collect();
                assert_eq!(
                    candidates,
                    [9, 1, 11, 4].map(|n| fx.entries[n]),
                    "the nearest in time and place first; not the far or another area's"
                );
                let bodies: Vec<_> = page.comments.iter().map(|c| c.body.as_str()).collect();
                assert_eq!(bodies, ["Kontaktade polisen.", "Tack!"]);
            }
            2 => {
                assert_eq!(page.conflicts.len(), 2, "{:?}", page.conflicts);
                assert_eq!(
                    page.conflicts
                        .iter()
                        .filter(|c| c.resolved_seq.is_some())
                        .count(),
                    1
                );
            }
            4 => assert_eq!(
                page.candidates[0].id, fx.entries[6],
                "the chosen original first"
            ),
            7 | 8 => assert!(page.candidates.is_empty(), "a patrol has no duplicates"),
            _ => {}
        }
        let hashes = vec![fx.photo.clone(), "ab".repeat(32), "cd".repeat(32)];
        let states = same(&sides, "the photos", async |s: &Side| {
            s.store.photos_complete(s.org, hashes.clone()).await
        })
        .await;
        assert_eq!(
            states
                .iter()
                .map(|(_, complete)| *complete)
                .collect::<Vec<_>>(),
            [true, false, false]
        );
    }
    // Another organisation's entry, or none, is not found.
    let stranger = EntityId::new();
    assert!(
        same(&sides, "no entry", async |s: &Side| s
            .store
            .entry_page(s.org, stranger)
            .await)
        .await
        .is_none()
    );
    let review = same(&sides, "a review naming no entry", async |s: &Side| {
        s.store
            .review_targets(s.org, fx.entries[0], Some(stranger))
            .await
    })
    .await;
    assert!(!review.duplicate_found);
    assert_eq!(review.members.len(), 4);

    // Each conflict of the entry, then one that is not there.
    let conflicts = sides[0]
        .store
        .entry_page(sides[0].org, fx.conflicted)
        .await
        .expect("the page")
        .expect("the entry")
        .conflicts;
    for c in &conflicts {
        let found = same(&sides, "a conflict to settle", async |s: &Side| {
            s.store.conflict_to_settle(s.org, c.id).await
        })
        .await
        .expect("the conflict");
        assert_eq!(found.kind, Some(vaka_shared::EntityKind::Incident));
    }
    assert!(
        same(&sides, "no conflict", async |s: &Side| s
            .store
            .conflict_to_settle(s.org, 999)
            .await)
        .await
        .is_none()
    );
}

#[tokio::test]
async fn marking_a_conflict_settled_is_the_same_on_both_backends() {
    let mut sides = both().await;
    let fx = fill(&mut sides).await;
    let open = sides[0]
        .store
        .entry_page(sides[0].org, fx.conflicted)
        .await
        .expect("the page")
        .expect("the entry")
        .conflicts
        .into_iter()
        .find(|c| c.resolved_seq.is_none())
        .expect("an open conflict");
    for side in &mut sides {
        let last = side.store.last_seq().await.expect("last seq");
        let seq = side
            .push(
                0,
                fx.conflicted,
                OpBody::Incident(IncidentFields {
                    description: Some("Berusad person, hämtad.".into()),
                    ..Default::default()
                }),
                last,
                T + 60 * MINUTE,
            )
            .await;
        let id = open.id;
        match &side.store {
            Store::Sqlite(sqlite) => sqlite
                .write(move |conn| sqlite_entries::mark_settled(conn, id, seq))
                .await
                .expect("settled on SQLite"),
            Store::Postgres(pg) => pg
                .write(move |tx| {
                    Box::pin(async move { pg_entries::mark_settled(tx, id, seq).await })
                })
                .await
                .expect("settled on PostgreSQL"),
        }
    }
    let conflicts = same(&sides, "the settled conflicts", async |s: &Side| {
        s.store
            .entry_page(s.org, fx.conflicted)
            .await
            .map(|p| p.map(|p| p.conflicts))
    })
    .await
    .expect("the entry");
    assert!(conflicts.iter().all(|c| c.resolved_seq.is_some()));
    let settled = conflicts
        .iter()
        .find(|c| c.id == open.id)
        .expect("the one settled");
    assert_eq!(settled.settled_by.as_deref(), Some("Sara"));
    let view = same(&sides, "the inbox", async |s: &Side| {
        s.store
            .inbox_view(s.org, InboxFilter::default(), 0, 50)
            .await
    })
    .await;
    assert_eq!(view.open_conflicts, 0);
}

#[tokio::test]
async fn periods_and_choice_lists_are_the_same_on_both_backends() {
    let mut sides = both().await;
    let fx = fill(&mut sides).await;
    for (from, to) in [
        (T - 3 * 24 * 60 * MINUTE, T + 3 * 24 * 60 * MINUTE),
        (T - 60 * MINUTE, T + 15 * MINUTE),
        (T, T + 1),
        (T + 24 * 60 * MINUTE, T + 48 * 60 * MINUTE),
    ] {
        same(&sides, "entries of a period", async |s: &Side| {
            s.store.entries_in_period(s.org, from, to).await
        })
        .await;
    }
    let all = sides[0]
        .store
        .entries_in_period(
            sides[0].org,
            T - 3 * 24 * 60 * MINUTE,
            T + 3 * 24 * 60 * MINUTE,
        )
        .await
        .expect("a period");
    assert_eq!(
        all.len(),
        fx.entries.len() - 2,
        "without the retracted observation and the duplicate"
    );
    let choices = same(&sides, "the choice lists", async |s: &Side| {
        s.store.choices(s.org).await
    })
    .await;
    let names: Vec<_> = choices
        .areas
        .iter()
        .map(|(_, name)| name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Centrum", "Centrum", "Västra", "hamnen", "Östra"],
        "by code point, without the archived"
    );
    assert_eq!(choices.groups, ["Grannsamverkan", "Nattvandrarna"]);
    let members: Vec<_> = choices
        .members
        .iter()
        .map(|(_, name, _)| name.as_str())
        .collect();
    assert_eq!(members, ["Ali", "Ali", "Sara", "Åsa"]);
    let names = same(&sides, "the member names", async |s: &Side| {
        s.store.member_names(s.org).await
    })
    .await;
    assert_eq!(names.len(), 4);
}
