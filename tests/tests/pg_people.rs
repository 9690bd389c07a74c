//! People, sign-in, privacy settings and the audit pages on both backends: one organisation is
//! filled the same way, through the typed `Store` methods, in an SQLite store and in a fresh
//! PostgreSQL database (one that collates as Swedish does), and every read and write the dashboard's people, sign-in, settings,
//! redaction and audit pages make answers the same on both (ids, tokens and hashes, which are
//! random, replaced by the names of what they stand for).

use std::fmt::Debug;
use std::time::Duration;
use vaka_server::config::SignInLimits;
use vaka_server::store::Store;
use vaka_server::store::accounts::{DeviceCaller, DeviceMark, TokenLookup};
use vaka_server::store::admin::MemberToAdd;
use vaka_server::store::audit::{AuditFilter, AuditPage};
use vaka_server::store::people::MemberChange;
use vaka_server::store::redaction::RedactionRefused;
use vaka_server::store::retention::RetentionOutOfBounds;
use vaka_server::store::sharing::OrgLevel;
use vaka_server::store::sign_in::{Admission, SignInBy};
use vaka_server::sync::PushLimits;
use vaka_shared::model::{AttachmentRef, CategoryCode, IncidentFields, Role, Severity};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::{EntityId, HlcClock, MemberId, OpId, OrgId, Timestamp};

/// One time for everything, so that both stores record the same times.
const NOW: i64 = 1_780_000_000_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const LIMITS: PushLimits = PushLimits {
    max_clock_ahead_ms: 300_000,
};

/// A store of either backend and the names of the ids (and tokens) made in it, in the order
/// they were made.
struct Side {
    store: Store,
    names: Vec<(String, String)>,
}

impl Side {
    fn name(&mut self, id: impl ToString, name: &str) {
        self.names.push((id.to_string(), name.to_owned()));
    }

    /// The id called `name` in this store.
    fn id<T: std::str::FromStr>(&self, name: &str) -> T
    where
        T::Err: Debug,
    {
        let (id, _) = self
            .names
            .iter()
            .find(|(_, n)| n == name)
            .unwrap_or_else(|| panic!("no id called {name}"));
        id.parse().expect("an id")
    }

    /// `value` as text, each id replaced by its name.
    fn norm(&self, value: &impl Debug) -> String {
        let mut text = format!("{value:#?}");
        for (id, name) in &self.names {
            text = text.replace(id.as_str(), &format!("<{name}>"));
        }
        text
    }
}

/// A fresh database in the test cluster (as `fresh_database`) that compares text as Swedish
/// does (ICU `sv-SE`: `bengt` before `Erik`, `Å` after `Z`), so the PostgreSQL store shows that
/// it orders names byte by byte, as SQLite does, whatever the database's collation.
async fn swedish_database() -> anyhow::Result<String> {
    vaka_tests::postgres::fresh_database_with(
        "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'sv-SE' LOCALE 'C.UTF-8'",
    )
    .await
}

/// The same stores on both backends: SQLite in a temporary folder, PostgreSQL in a fresh
/// database of the test cluster.
struct Both {
    sides: [Side; 2],
    _dir: tempfile::TempDir,
}

impl Both {
    async fn open() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = Store::open(&dir.path().join("vaka.sqlite3"), 2, 64, Default::default())
            .expect("open the SQLite store");
        let url = swedish_database().await.expect("a test database");
        let postgres = Store::open_postgres(&url, 4, 64, Default::default())
            .await
            .expect("open the PostgreSQL store");
        let side = |store| Side {
            store,
            names: Vec::new(),
        };
        Self {
            sides: [side(sqlite), side(postgres)],
            _dir: dir,
        }
    }

    /// Asserts that `read` gives the same on both backends, ids replaced by their names; returns
    /// both answers, SQLite's first.
    async fn same<T: Debug>(&self, what: &str, read: impl AsyncFn(&Side) -> T) -> (T, T) {
        let sqlite = read(&self.sides[0]).await;
        let postgres = read(&self.sides[1]).await;
        assert_eq!(
            self.sides[0].norm(&sqlite),
            self.sides[1].norm(&postgres),
            "{what}: SQLite (left) and PostgreSQL (right) differ"
        );
        (sqlite, postgres)
    }

    /// Runs `fill` on both sides, one after the other.
    async fn fill(&mut self, fill: impl AsyncFn(&mut Side)) {
        for side in &mut self.sides {
            fill(side).await;
        }
    }
}

/// An organisation "Nattvandrarna Testby" with an admin (`anna.admin`), a coordinator
/// (`cecilia`), volunteers in two groups (two of them called the same), each volunteer with an
/// enrolled phone, and the municipality-level organisations "Kommun B", "Kommun A" and
/// "bergs kommun".
async fn organisation(side: &mut Side) {
    let store = side.store.clone();
    let org = store
        .create_org_at("Nattvandrarna Testby".into(), OrgLevel::Association, NOW)
        .await
        .expect("an organisation");
    side.name(org, "org");
    for name in ["Kommun B", "Kommun A", "bergs kommun"] {
        let id = store
            .create_org_at(name.into(), OrgLevel::Municipality, NOW)
            .await
            .expect("a municipality");
        side.name(id, name);
    }
    let members: [(&str, Role, Option<&str>, Option<&str>); 7] = [
        ("admin", Role::Admin, None, Some("anna.admin")),
        (
            "coordinator",
            Role::Coordinator,
            Some("Kvällsgruppen"),
            Some("cecilia"),
        ),
        ("vol1", Role::Volunteer, Some("Kvällsgruppen"), None),
        ("vol2", Role::Volunteer, Some("Nattgruppen"), None),
        ("vol3", Role::Volunteer, None, None),
        ("vol4", Role::Volunteer, Some("Nattgruppen"), None),
        ("vol5", Role::Volunteer, None, None),
    ];
    for (label, role, group, login) in members {
        let name = match label {
            "admin" => "Anna Admin",
            "coordinator" => "Cecilia Samordnare",
            "vol1" | "vol2" => "Erik Volontär",
            "vol3" => "Ådalen Björk",
            "vol4" => "Doris Slutar",
            _ => "bengt volontär",
        };
        let id = store
            .add_member(
                MemberToAdd {
                    org,
                    name: name.into(),
                    role,
                    group: group.map(str::to_owned),
                    login: login.map(str::to_owned),
                    password_hash: login.map(|_| "$argon2id$not-a-real-hash".to_owned()),
                },
                NOW,
            )
            .await
            .expect("a member");
        side.name(id, label);
        if role == Role::Volunteer {
            let code = store
                .enrolment_code_for(id, 60_000, NOW)
                .await
                .expect("a code")
                .expect("a volunteer may have a phone");
            let device = store
                .redeem_enrollment_code(code, format!("Telefon {label}"), NOW)
                .await
                .expect("redeem")
                .expect("a valid code");
            side.name(device.device_id, &format!("{label}-phone"));
            side.name(device.token, &format!("{label}-token"));
        }
    }
}

/// The caller of `member`'s phone.
async fn caller(side: &Side, member: &str) -> DeviceCaller {
    let token = side
        .names
        .iter()
        .find(|(_, n)| *n == format!("{member}-token"))
        .map(|(t, _)| t.clone())
        .expect("a phone");
    match side.store.device_by_token(token).await.expect("lookup") {
        TokenLookup::Valid(caller) => caller,
        other => panic!("the phone's token is {other:?}"),
    }
}

/// Pushes one incident from `member`'s phone: `description`, `days_ago` old, with a photo that
/// was never uploaded when `photo` is set.
async fn push_incident(
    side: &Side,
    member: &str,
    entity: EntityId,
    description: &str,
    days_ago: i64,
    photo: bool,
) {
    let caller = caller(side, member).await;
    let held = side.store.held_seq(caller.device_id).await.expect("held");
    let body = OpBody::Incident(IncidentFields {
        occurred_at: Timestamp::from_unix_ms(NOW - days_ago * DAY_MS),
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(2)),
        description: Some(description.into()),
        attachments: photo.then(|| {
            vec![AttachmentRef {
                sha256: "ab".repeat(32),
                size: 1000,
                content_type: "image/jpeg".into(),
            }]
        }),
        ..Default::default()
    });
    let op = Op {
        op_id: OpId::new(),
        device_id: caller.device_id,
        device_seq: held + 1,
        hlc: HlcClock::new(caller.device_id).tick(NOW as u64),
        base_seq: 0,
        entity_id: entity,
        body,
    };
    let (result, counts) = side
        .store
        .push(caller, vec![op], NOW, LIMITS)
        .await
        .expect("push");
    assert_eq!(
        (counts.accepted, result.stopped.map(|s| s.code)),
        (1, None),
        "the incident is accepted"
    );
}

/// The whole audit chain of the organisation, newest first, without the hashes (they cover the
/// ids, which differ between the stores; the chains are verified on each).
async fn audit_chain(side: &Side, org: &str) -> Vec<(u64, i64, Option<String>, String, String)> {
    let page = side
        .store
        .audit_page(side.id(org), AuditFilter::default(), 0, 1000)
        .await
        .expect("the audit page");
    let verified = side.store.verify_audit().await.expect("verify");
    assert!(verified.is_ok(), "the chains verify: {verified:?}");
    page.rows
        .into_iter()
        .map(|r| {
            (
                r.chain_seq,
                r.at_ms,
                r.actor_id.map(|a| a.to_string()),
                r.actor_name,
                format!("{} {}", r.action, r.details),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_people_page_reads_the_same_on_both_backends() {
    let mut both = Both::open().await;
    both.fill(async |side| {
        organisation(side).await;
        let lost = EntityId::new();
        side.name(lost, "lost-entry");
        push_incident(side, "vol1", lost, "Lugnt vid torget.", 1, true).await;
        push_incident(side, "vol2", EntityId::new(), "Ingen fara.", 1, true).await;
    })
    .await;
    let (org, admin) = ("org", "admin");
    for side in &both.sides {
        let (org, by): (OrgId, MemberId) = (side.id(org), side.id(admin));
        let lost = side
            .store
            .mark_device_by(org, by, side.id("vol1-phone"), DeviceMark::Lost, NOW)
            .await
            .expect("mark lost");
        assert!(lost);
        let again = side
            .store
            .mark_device_by(org, by, side.id("vol1-phone"), DeviceMark::Lost, NOW)
            .await
            .expect("mark lost again");
        assert!(!again, "a lost phone is not marked twice");
        assert!(
            side.store
                .mark_device_by(org, by, side.id("vol2-phone"), DeviceMark::Retired, NOW)
                .await
                .expect("retire")
        );
        assert!(
            side.store
                .revoke_device_by(org, by, side.id("vol3-phone"), NOW)
                .await
                .expect("revoke")
        );
        assert!(
            !side
                .store
                .revoke_device_by(org, by, side.id("vol3-phone"), NOW)
                .await
                .expect("revoke again"),
            "a revoked phone is not revoked twice"
        );
        let other: OrgId = side.id("Kommun A");
        assert!(
            !side
                .store
                .revoke_device_by(other, by, side.id("vol4-phone"), NOW)
                .await
                .expect("revoke in another organisation"),
            "another organisation's phone is not revoked"
        );
        let removed = side
            .store
            .remove_member_by(org, by, side.id("vol4"), NOW)
            .await
            .expect("remove");
        assert_eq!(removed.as_deref(), Some("Tidigare medlem 1"));
        assert_eq!(
            side.store
                .remove_member_by(org, by, side.id("vol4"), NOW)
                .await
                .expect("remove again"),
            None
        );
    }
    let (people, _) = both
        .same("the people", async |side| {
            side.store.people(side.id("org")).await.expect("people")
        })
        .await;
    let order: Vec<(&str, bool)> = people
        .iter()
        .map(|p| (p.name.as_str(), p.removed))
        .collect();
    assert_eq!(
        order,
        [
            ("Erik Volontär", false),
            ("Erik Volontär", false),
            ("bengt volontär", false),
            ("Ådalen Björk", false),
            ("Cecilia Samordnare", false),
            ("Anna Admin", false),
            ("Tidigare medlem 1", true),
        ],
        "present members first, then by role and name, byte by byte"
    );
    let missing: Vec<(bool, bool, i64)> = people
        .iter()
        .flat_map(|p| &p.devices)
        .map(|d| (d.lost, d.retired, d.photos_missing))
        .filter(|(lost, retired, _)| *lost || *retired)
        .collect();
    assert_eq!(
        missing,
        [(true, false, 1), (false, true, 0)],
        "the lost phone's photo that never arrived is counted"
    );
    for (login, taken) in [("anna.admin", true), ("cecilia", true), ("ingen", false)] {
        let (_, answers) = both
            .same("the people and a sign-in name", async |side| {
                side.store
                    .people_and_login_taken(side.id("org"), login.into())
                    .await
                    .expect("people and login")
            })
            .await;
        assert_eq!(answers.1, taken, "{login}");
    }
    both.same("the audit chain", async |side| {
        audit_chain(side, "org").await
    })
    .await;
}

#[tokio::test]
async fn members_added_changed_and_given_codes_the_same_on_both_backends() {
    let mut both = Both::open().await;
    both.fill(async |side| organisation(side).await).await;
    for side in &mut both.sides {
        let (org, by): (OrgId, MemberId) = (side.id("org"), side.id("admin"));
        let new = |name: &str, role, login: Option<&str>| MemberToAdd {
            org,
            name: name.into(),
            role,
            group: Some("Helggruppen".into()),
            login: login.map(str::to_owned),
            password_hash: login.map(|_| "$argon2id$x".to_owned()),
        };
        let added = side
            .store
            .add_member_by(by, new("Greta Ny", Role::Volunteer, None), NOW)
            .await
            .expect("add")
            .expect("added");
        side.name(added, "greta");
        let taken = side
            .store
            .add_member_by(
                by,
                new("Cecilia Två", Role::Coordinator, Some("cecilia")),
                NOW,
            )
            .await
            .expect("add with a taken name");
        assert_eq!(taken, None, "a sign-in name is not given twice");
        side.store
            .change_member(
                org,
                by,
                MemberChange {
                    member: added,
                    before: (Role::Volunteer, Some("Helggruppen".into())),
                    after: (Role::Coordinator, None),
                    sign_in: Some(("greta".into(), "$argon2id$y".into())),
                },
                NOW,
            )
            .await
            .expect("change");
        let (name, code) = side
            .store
            .enrolment_code_by(org, by, side.id("vol3"), 60_000, NOW)
            .await
            .expect("a code")
            .expect("for a member of the organisation");
        assert_eq!(name, "Ådalen Björk");
        assert!(!code.is_empty());
        let other: OrgId = side.id("Kommun A");
        assert_eq!(
            side.store
                .enrolment_code_by(other, by, side.id("vol3"), 60_000, NOW)
                .await
                .expect("a code in another organisation"),
            None,
            "no code for another organisation's member"
        );
    }
    both.same("the people after the changes", async |side| {
        side.store.people(side.id("org")).await.expect("people")
    })
    .await;
    both.same("whether the new sign-in name is taken", async |side| {
        side.store
            .people_and_login_taken(side.id("org"), "greta".into())
            .await
            .expect("people and login")
            .1
    })
    .await;
    both.same("the audit chain", async |side| {
        audit_chain(side, "org").await
    })
    .await;
    both.same("the actors", async |side| {
        side.store
            .audit_actors(side.id("org"))
            .await
            .expect("actors")
    })
    .await;
}

fn limits() -> SignInLimits {
    SignInLimits {
        free_per_name: 2,
        free_per_address: 100,
        free_overall: 100,
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        ..SignInLimits::default()
    }
}

fn by(login: &str, browser: Option<&str>) -> SignInBy {
    SignInBy {
        login: login.into(),
        address: "192.0.2.7".into(),
        browser: browser.map(str::to_owned),
    }
}

/// An admission with its attempt number left out (each backend numbers its own).
fn admission(answer: &(Admission, Option<impl Debug>)) -> String {
    match &answer.0 {
        Admission::Go { .. } => format!("go {:?}", answer.1),
        Admission::Wait { retry_after_ms } => format!("wait {retry_after_ms}"),
    }
}

#[tokio::test]
async fn signing_in_and_out_goes_the_same_on_both_backends() {
    let mut both = Both::open().await;
    both.fill(async |side| organisation(side).await).await;
    // Two wrong passwords under a name no one has, two under the admin's: the third try of each
    // name waits; the admin's right password from a trusted browser goes past it.
    for round in 0..2 {
        for login in ["ingen", "anna.admin"] {
            both.same("a wrong password's admission", async |side| {
                let answer = side
                    .store
                    .admit_sign_in(by(login, None), limits(), NOW + round)
                    .await
                    .expect("admit");
                let org = answer.1.as_ref().map(|c| c.org_id);
                side.store
                    .sign_in_failed(by(login, None), org, NOW + round)
                    .await
                    .expect("failed");
                admission(&answer)
            })
            .await;
        }
    }
    let (waits, _) = both
        .same("the third try's admission", async |side| {
            let answer = side
                .store
                .admit_sign_in(by("anna.admin", None), limits(), NOW + 2)
                .await
                .expect("admit");
            admission(&answer)
        })
        .await;
    assert_eq!(waits, "wait 999", "the third try waits");

    // A sign-in that goes: a session, a trusted browser, the audit record.
    for side in &mut both.sides {
        let later = NOW + 10_000;
        let (admitted, candidate) = side
            .store
            .admit_sign_in(by("cecilia", None), limits(), later)
            .await
            .expect("admit");
        let Admission::Go { attempt } = admitted else {
            panic!("cecilia may try: {admitted:?}");
        };
        let candidate = candidate.expect("cecilia signs in");
        let (session, trusted) = side
            .store
            .sign_in_succeeded(
                attempt,
                by("cecilia", None),
                candidate,
                limits(),
                later,
                3_600_000,
            )
            .await
            .expect("succeeded");
        side.name(&session.csrf, "csrf");
        // The trusted browser goes past the name's delays.
        for n in 0..3 {
            let (answer, candidate) = side
                .store
                .admit_sign_in(by("cecilia", None), limits(), later + 1)
                .await
                .expect("admit");
            assert_eq!(
                matches!(answer, Admission::Go { .. }),
                n < 2,
                "an untrusted browser waits after two failures ({n})"
            );
            if matches!(answer, Admission::Go { .. }) {
                let org = candidate.map(|c| c.org_id);
                side.store
                    .sign_in_failed(by("cecilia", None), org, later + 1)
                    .await
                    .expect("failed");
            }
        }
        let trusted_answer = side
            .store
            .admit_sign_in(by("cecilia", Some(&trusted)), limits(), later + 1)
            .await
            .expect("admit trusted");
        assert!(
            matches!(trusted_answer.0, Admission::Go { .. }),
            "the trusted browser goes: {trusted_answer:?}"
        );
        side.name(session.token, "session");
    }
    let (signed_in, _) = both
        .same("the session", async |side| {
            side.store
                .session(side.id("session"), NOW + 20_000)
                .await
                .expect("session")
        })
        .await;
    let user = signed_in.expect("signed in");
    assert_eq!(
        (user.name.as_str(), user.role),
        ("Cecilia Samordnare", Role::Coordinator)
    );
    let (expired, _) = both
        .same("an expired session", async |side| {
            side.store
                .session(side.id("session"), NOW + 10_000 + 3_600_000)
                .await
                .expect("session")
        })
        .await;
    assert_eq!(expired, None, "expired");
    let (signed_out, _) = both
        .same("a session signed out", async |side| {
            side.store
                .delete_session(side.id("session"))
                .await
                .expect("sign out");
            side.store
                .session(side.id("session"), NOW + 20_000)
                .await
                .expect("session")
        })
        .await;
    assert_eq!(signed_out, None, "signed out");
    both.same("the audit chain", async |side| {
        audit_chain(side, "org").await
    })
    .await;
}

#[tokio::test]
async fn retention_and_sharing_settings_the_same_on_both_backends() {
    let mut both = Both::open().await;
    both.fill(async |side| {
        organisation(side).await;
        let old = EntityId::new();
        side.name(old, "old-entry");
        push_incident(side, "vol1", old, "Gammalt.", 400, false).await;
        push_incident(side, "vol2", EntityId::new(), "Nytt.", 1, false).await;
    })
    .await;
    both.same("the retention before", async |side| {
        side.store
            .retention_overview(side.id("org"), NOW)
            .await
            .expect("overview")
    })
    .await;
    let (refused, _) = both
        .same("a retention out of bounds", async |side| {
            side.store
                .set_retention_days_by(side.id("org"), side.id("admin"), 10, NOW)
                .await
                .expect("set")
        })
        .await;
    assert_eq!(refused, Err(RetentionOutOfBounds));
    let (set, _) = both
        .same("a retention of 365 days", async |side| {
            side.store
                .set_retention_days_by(side.id("org"), side.id("admin"), 365, NOW)
                .await
                .expect("set")
        })
        .await;
    assert_eq!(set, Ok(()));
    let (due, _) = both
        .same("the retention with an entry due", async |side| {
            side.store
                .retention_overview(side.id("org"), NOW)
                .await
                .expect("overview")
        })
        .await;
    assert_eq!(
        (due.days, due.due.entries(), due.last_purge),
        (365, 1, None)
    );
    both.same("the purge", async |side| {
        side.store.purge_all(NOW).await.expect("purge")
    })
    .await;
    let (after, _) = both
        .same("the retention after the purge", async |side| {
            side.store
                .retention_overview(side.id("org"), NOW)
                .await
                .expect("overview")
        })
        .await;
    assert_eq!(after.last_purge.map(|(_, _, n)| n), Some(1));

    // Sharing: with two municipalities, refused with an association, withdrawn from one.
    for (to, share, done) in [
        ("Kommun A", true, true),
        ("bergs kommun", true, true),
        ("Kommun A", true, true),
        ("org", true, false),
        ("Kommun B", false, false),
        ("bergs kommun", false, true),
    ] {
        let (answer, _) = both
            .same("a change of sharing", async |side| {
                let from = if to == "org" { "Kommun B" } else { "org" };
                side.store
                    .set_sharing_by(side.id(from), side.id(to), side.id("admin"), share, NOW)
                    .await
                    .expect("share")
            })
            .await;
        assert_eq!(answer, done, "{to} {share}");
    }
    let (ours, _) = both
        .same("the association's sharing", async |side| {
            side.store
                .sharing_overview(side.id("org"))
                .await
                .expect("sharing")
        })
        .await;
    let names: Vec<&str> = ours
        .municipalities
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Kommun A", "Kommun B", "bergs kommun"],
        "byte by byte"
    );
    both.same("the municipality's sharing", async |side| {
        side.store
            .sharing_overview(side.id("Kommun A"))
            .await
            .expect("sharing")
    })
    .await;
    both.same("the audit chain", async |side| {
        audit_chain(side, "org").await
    })
    .await;
    both.same("the municipality's audit chain", async |side| {
        audit_chain(side, "Kommun A").await
    })
    .await;
}

#[tokio::test]
async fn redaction_and_the_audit_pages_the_same_on_both_backends() {
    let mut both = Both::open().await;
    let entry = EntityId::new();
    both.fill(async |side| {
        organisation(side).await;
        side.name(entry, "entry");
        push_incident(
            side,
            "vol1",
            entry,
            "Anna Andersson, 070-123 45 67, bråkade.",
            1,
            false,
        )
        .await;
    })
    .await;
    for (field, text, answer) in [
        ("description", "En person bråkade.", "ok"),
        ("description", "En person bråkade.", "unchanged"),
        ("category", "x", "not redactable"),
    ] {
        both.same("a redaction", async |side| {
            let done = side
                .store
                .redact_by(
                    side.id("org"),
                    side.id("coordinator"),
                    entry,
                    field.into(),
                    serde_json::Value::String(text.into()),
                    NOW,
                )
                .await
                .expect("redact");
            let said = match done {
                Ok(_) => "ok",
                Err(RedactionRefused::Unchanged) => "unchanged",
                Err(RedactionRefused::NotRedactable) => "not redactable",
                Err(other) => panic!("refused: {other:?}"),
            };
            assert_eq!(said, answer, "{field}");
        })
        .await;
    }
    both.same("a redaction of an entry that is not there", async |side| {
        side.store
            .redact_by(
                side.id("org"),
                side.id("coordinator"),
                EntityId::new(),
                "description".into(),
                serde_json::Value::String("x".into()),
                NOW,
            )
            .await
            .expect("redact")
            .err()
    })
    .await;

    // The audit page: a page of a filtered chain, with the names and the retention.
    let filters = |side: &Side| {
        [
            AuditFilter::default(),
            AuditFilter {
                action: Some("text_redacted".into()),
                ..AuditFilter::default()
            },
            AuditFilter {
                member: Some(side.id::<MemberId>("coordinator").to_string()),
                ..AuditFilter::default()
            },
            AuditFilter {
                from_ms: Some(NOW),
                until_ms: Some(NOW + 1),
                ..AuditFilter::default()
            },
            AuditFilter {
                until_ms: Some(NOW),
                ..AuditFilter::default()
            },
        ]
    };
    for n in 0..5 {
        for (offset, limit) in [(0, 50), (2, 3)] {
            both.same("an audit page", async |side| {
                let filter = filters(side)[n].clone();
                let AuditPage {
                    total,
                    rows,
                    names,
                    kept_days,
                } = side
                    .store
                    .audit_page(side.id("org"), filter.clone(), offset, limit)
                    .await
                    .expect("the audit page");
                let listed = side
                    .store
                    .audit_list(side.id("org"), filter, offset, limit)
                    .await
                    .expect("the audit list");
                assert_eq!(listed, rows, "the export lists the page's records");
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|r| {
                        (
                            r.chain_seq,
                            r.at_ms,
                            r.actor_id,
                            r.actor_name,
                            r.action,
                            r.details,
                        )
                    })
                    .collect();
                (total, rows, names, kept_days)
            })
            .await;
        }
    }
    both.same("the actors", async |side| {
        side.store
            .audit_actors(side.id("org"))
            .await
            .expect("actors")
    })
    .await;
}

/// The pages of this part served from PostgreSQL through the whole server: an admin signs in,
/// adds, changes and removes a member, makes an enrolment code, revokes a phone and marks one
/// lost, sets the retention period, shares with a municipality and withdraws, reads the audit
/// log and its CSV, and signs out; every change is in the audit log.
#[tokio::test]
async fn the_people_settings_and_audit_pages_serve_from_postgresql() -> anyhow::Result<()> {
    use vaka_tests::browser::{Browser, csrf_of};

    let url = swedish_database().await?;
    let server = vaka_tests::TestServer::start_with(|c| c.database = Some(url.clone())).await?;
    // The same database through a store of its own, as another server process would.
    let store = Store::open_postgres(&url, 2, 16, Default::default()).await?;
    let now = vaka_server::now_ms();
    let org = store
        .create_org_at("Nattvandrarna Testby".into(), OrgLevel::Association, now)
        .await?;
    let municipality = store
        .create_org_at("Testby kommun".into(), OrgLevel::Municipality, now)
        .await?;
    let password = "ett långt lösenord";
    let hash = vaka_server::passwords::hash_password(password).expect("a hash");
    let member = |name: &str, role, login: Option<&str>| MemberToAdd {
        org,
        name: name.into(),
        role,
        group: None,
        login: login.map(str::to_owned),
        password_hash: login.map(|_| hash.clone()),
    };
    store
        .add_member(member("Anna Admin", Role::Admin, Some("anna.admin")), now)
        .await?;
    let volunteer = store
        .add_member(member("Erik Volontär", Role::Volunteer, None), now)
        .await?;
    let mut phones = Vec::new();
    for name in ["Telefon 1", "Telefon 2"] {
        let code = store
            .enrolment_code_for(volunteer, 60_000, now)
            .await?
            .expect("a code");
        let device = store
            .redeem_enrollment_code(code, name.into(), now)
            .await?
            .expect("a device");
        phones.push(device.device_id);
    }

    let mut browser = Browser::new(&server.url);
    assert_eq!(browser.sign_in("anna.admin", "fel lösenord").await?, 401);
    assert_eq!(browser.sign_in("anna.admin", password).await?, 303);
    let (status, page) = browser.get("/people").await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Erik Volontär") && page.contains("Telefon 2"));
    let csrf = csrf_of(&page);
    let confirmed = [("csrf", csrf.as_str()), ("confirm", "yes")];

    let (status, to) = browser
        .post(
            "/people",
            &[
                ("csrf", &csrf),
                ("name", "Greta Ny"),
                ("role", "volunteer"),
                ("group", "Helggruppen"),
            ],
        )
        .await?;
    assert_eq!((status.as_u16(), to.as_str()), (303, "/people?saved=1"));
    let people = store.people(org).await?;
    let greta = people
        .iter()
        .find(|p| p.name == "Greta Ny")
        .expect("Greta was added")
        .id;
    let (status, to) = browser
        .post(
            &format!("/people/{greta}/update"),
            &[
                ("csrf", &csrf),
                ("role", "volunteer"),
                ("group", "Nattgruppen"),
            ],
        )
        .await?;
    assert_eq!((status.as_u16(), to.as_str()), (303, "/people?saved=1"));
    let (status, page) = browser
        .post(&format!("/people/{greta}/code"), &[("csrf", &csrf)])
        .await?;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"enrolment-code\""), "{page}");
    for (device, action) in [(phones[0], "revoke"), (phones[1], "lost")] {
        let (status, to) = browser
            .post(&format!("/devices/{device}/{action}"), &confirmed)
            .await?;
        assert_eq!((status.as_u16(), to.as_str()), (303, "/people"), "{action}");
    }
    let (status, to) = browser
        .post(&format!("/people/{greta}/remove"), &confirmed)
        .await?;
    assert_eq!((status.as_u16(), to.as_str()), (303, "/people"));
    let (_, page) = browser.get("/people").await?;
    assert!(page.contains("Tidigare medlem 1") && !page.contains("Greta Ny"));

    let (status, page) = browser.get("/settings").await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Testby kommun"));
    let (status, to) = browser
        .post(
            "/settings/retention",
            &[
                ("csrf", &csrf),
                ("retention_days", "365"),
                ("confirm", "yes"),
            ],
        )
        .await?;
    assert_eq!((status.as_u16(), to.as_str()), (303, "/settings?saved=1"));
    let with = municipality.to_string();
    for action in ["share", "withdraw"] {
        let (status, to) = browser
            .post(
                &format!("/settings/{action}"),
                &[("csrf", &csrf), ("org", &with), ("confirm", "yes")],
            )
            .await?;
        assert_eq!(
            (status.as_u16(), to.as_str()),
            (303, "/settings?saved=1"),
            "{action}"
        );
    }
    assert_eq!(store.retention_overview(org, now).await?.days, 365);

    let (status, page) = browser.get("/audit").await?;
    assert_eq!(status, 200, "{page}");
    let (status, page) = browser.get("/audit?action=member_created").await?;
    assert_eq!(status, 200, "{page}");
    let (status, kind, csv) = browser.get_bytes("/audit.csv").await?;
    assert_eq!(
        (status.as_u16(), kind.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    let csv = String::from_utf8(csv)?;
    let actions: Vec<String> = store
        .audit_page(org, AuditFilter::default(), 0, 100)
        .await?
        .rows
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        [
            "audit_exported",
            "sharing_withdrawn",
            "aggregates_shared",
            "retention_changed",
            "member_removed",
            "device_marked_lost",
            "device_revoked",
            "enrolment_code_created",
            "member_group_changed",
            "member_created",
            "signed_in",
            "sign_in_failed",
            "enrolment_code_created",
            "enrolment_code_created",
            "member_created",
            "member_created",
        ]
        .map(str::to_owned),
        "every change recorded, newest first"
    );
    assert_eq!(
        csv.lines().count(),
        actions.len() + 1,
        "the CSV: a header and every record, its own export's too"
    );

    let (status, to) = browser.post("/logout", &[("csrf", &csrf)]).await?;
    assert_eq!((status.as_u16(), to.as_str()), (303, "/login"));
    let (status, to) = browser.get("/people").await?;
    assert_eq!(
        (status.as_u16(), to.as_str()),
        (303, "/login"),
        "signed out"
    );
    server.stop().await
}
