//! Device cores with their own SQLite files syncing through a real server on loopback: offline
//! logging, convergence, conflicts, coordinators' reviews and comments, refused ops, wrong
//! clocks, lost responses and organisation boundaries.

use std::time::Duration;
use tempfile::TempDir;
use vaka_device::{Device, SyncStatus, WallClock};
use vaka_shared::model::{
    CategoryCode, IncidentFields, ObservationCategory, ObservationFields, PatrolFields, PatrolKind,
    ReviewStatus, Role, Severity,
};
use vaka_shared::op::OpBody;
use vaka_shared::sync::RejectCode;
use vaka_shared::{EntityId, MemberId, Timestamp};
use vaka_tests::proxy::{Fault, FaultProxy};
use vaka_tests::{Snapshot, TestOrg, TestServer, integrity};

/// A device core on its own file in a temporary folder.
struct Phone {
    device: Device,
    dir: TempDir,
}

impl Phone {
    async fn enrolled(server: &TestServer, url: &str, member: MemberId) -> anyhow::Result<Self> {
        Self::enrolled_with_clock(server, url, member, WallClock::System).await
    }

    async fn enrolled_with_clock(
        server: &TestServer,
        url: &str,
        member: MemberId,
        clock: WallClock,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let device = Device::open_with_clock(dir.path().join("phone.sqlite3"), clock)?;
        let code = server.admin.code(member).await?;
        device.enroll(&http(), url, &code, "Testtelefon").await?;
        Ok(Self { device, dir })
    }

    async fn sync(&self) -> anyhow::Result<vaka_device::SyncReport> {
        Ok(self.device.sync_once(&http()).await?)
    }

    fn snapshot(&self) -> anyhow::Result<Snapshot> {
        Ok(self.device.state_snapshot()?)
    }

    fn integrity(&self) -> anyhow::Result<String> {
        integrity(&self.dir.path().join("phone.sqlite3"))
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// A client whose every request goes to a closed port: a phone without coverage.
fn http_to_nowhere() -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all("http://127.0.0.1:9").expect("proxy"))
        .build()
        .expect("http client")
}

fn incident(category: &str, severity: u8, text: &str) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(severity)),
        description: Some(text.to_owned()),
        ..Default::default()
    }
}

fn description(body: &str) -> OpBody {
    OpBody::Incident(IncidentFields {
        description: Some(body.to_owned()),
        ..Default::default()
    })
}

async fn org_with_server(volunteers: usize) -> anyhow::Result<(TestServer, TestOrg)> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", volunteers).await?;
    Ok((server, org))
}

async fn assert_converged(
    server: &TestServer,
    org: &TestOrg,
    phones: &[&Phone],
) -> anyhow::Result<()> {
    let expected = server.admin.snapshot(org.id).await?;
    for (i, phone) in phones.iter().enumerate() {
        assert_eq!(
            phone.snapshot()?,
            expected,
            "phone {i} differs from the server"
        );
        assert_eq!(
            phone.device.outbox_len()?,
            0,
            "phone {i} still has ops waiting"
        );
        assert_eq!(phone.integrity()?, "ok");
    }
    assert_eq!(server.admin.integrity().await?, "ok");
    Ok(())
}

#[tokio::test]
async fn entries_logged_offline_reach_every_device() -> anyhow::Result<()> {
    let (server, org) = org_with_server(2).await?;
    let a = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    let b = Phone::enrolled(&server, &server.url, org.volunteers[1]).await?;
    let c = Phone::enrolled(&server, &server.url, org.coordinator).await?;

    // Offline: a patrol with incidents and an observation on one phone, more on another.
    let patrol = a.device.create_patrol(PatrolFields {
        kind: Some(PatrolKind::NightWalk),
        participant_count: Some(3),
        ..Default::default()
    })?;
    let mut logged = vec![patrol];
    for (category, severity) in [("alcohol", 1), ("disturbance", 2), ("violence_threat", 3)] {
        logged.push(a.device.create_incident(IncidentFields {
            patrol_id: Some(Some(patrol)),
            ..incident(category, severity, "Händelse vid torget.")
        })?);
    }
    logged.push(a.device.create_observation(ObservationFields {
        category: Some(ObservationCategory::Lighting),
        description: Some("Trasig gatlykta i gångtunneln.".into()),
        ..Default::default()
    })?);
    a.device.end_patrol(
        patrol,
        vaka_device::PatrolSummary {
            youths_met: Some(12),
            all_home_safe: Some(true),
            ..Default::default()
        },
    )?;
    logged.push(b.device.create_incident(incident(
        "youth_at_risk",
        2,
        "Ensam ung person följdes hem.",
    ))?);

    assert!(
        a.device
            .entries()?
            .iter()
            .all(|e| e.status == SyncStatus::OnPhone)
    );
    assert_eq!(
        server.admin.snapshot(org.id).await?.len(),
        0,
        "nothing has left the phones"
    );

    for phone in [&a, &b, &c, &a, &b, &c] {
        phone.sync().await?;
    }
    assert_converged(&server, &org, &[&a, &b, &c]).await?;
    let on_server = server.admin.snapshot(org.id).await?;
    for id in &logged {
        assert!(on_server.contains_key(id), "{id} missing on the server");
    }
    assert!(
        a.device
            .entries()?
            .iter()
            .all(|e| e.status == SyncStatus::OnServer)
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_edits_converge_and_the_server_keeps_both_values() -> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    let author = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    let coordinator = Phone::enrolled(&server, &server.url, org.coordinator).await?;
    let watcher = Phone::enrolled(&server, &server.url, org.coordinator).await?;
    let id = author
        .device
        .create_incident(incident("vandalism", 2, "Krossad ruta i busskur."))?;
    author.sync().await?;
    coordinator.sync().await?;

    // Both offline, both change the description.
    author
        .device
        .edit(id, description("Krossad ruta i busskuren vid skolan."))?;
    coordinator
        .device
        .edit(id, description("Krossad ruta, två busskurer."))?;
    author.sync().await?;
    coordinator.sync().await?;
    for phone in [&author, &coordinator, &watcher] {
        phone.sync().await?;
    }
    assert_converged(&server, &org, &[&author, &coordinator, &watcher]).await?;

    let conflicts: Vec<(String, String, String)> = server
        .admin
        .rows(
            "SELECT field, winner_value, loser_value FROM conflicts WHERE entity_id = ?1",
            &[&id.to_string()],
        )
        .await?
        .into_iter()
        .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let (field, winner, loser) = &conflicts[0];
    assert_eq!(field, "description");
    let mut both = [winner.as_str(), loser.as_str()];
    both.sort();
    assert_eq!(
        both,
        [
            "\"Krossad ruta i busskuren vid skolan.\"",
            "\"Krossad ruta, två busskurer.\""
        ]
    );
    let shown = &server.admin.snapshot(org.id).await?[&id].1["description"];
    assert_eq!(
        &shown.to_string(),
        winner,
        "the winner is what everyone shows"
    );
    Ok(())
}

#[tokio::test]
async fn a_coordinators_review_and_comment_reach_the_authors_phone() -> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    let author = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    let coordinator = Phone::enrolled(&server, &server.url, org.coordinator).await?;
    let id = author.device.create_incident(incident(
        "narcotics",
        3,
        "Misstänkt langning vid gångtunneln.",
    ))?;
    author.sync().await?;
    coordinator.sync().await?;
    coordinator.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::NeedsInfo),
            ..Default::default()
        }),
    )?;
    coordinator
        .device
        .add_comment(id, "Vet ni ungefär vilken tid det var?")?;
    coordinator.sync().await?;

    author.sync().await?;
    let entry = author
        .device
        .entry(id)?
        .expect("entry on the author's phone");
    let vaka_device::EntryFields::Incident(fields) = entry.fields else {
        panic!("not an incident")
    };
    assert_eq!(fields.review_status, Some(ReviewStatus::NeedsInfo));
    let comments = author.device.comments_for(id)?;
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Vet ni ungefär vilken tid det var?");
    assert!(!comments[0].mine);
    assert_converged(&server, &org, &[&author, &coordinator]).await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_review_field_needs_attention_and_later_ops_still_go_through()
-> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    // The phone was enrolled while its member was a coordinator; the member is then made a
    // volunteer on the server, so the phone still believes it may review.
    let author = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    let stale = Phone::enrolled(&server, &server.url, org.coordinator).await?;
    let id = author
        .device
        .create_incident(incident("alcohol", 2, "Ungdomar drack i parken."))?;
    author.sync().await?;
    stale.sync().await?;
    server
        .admin
        .set_role(org.coordinator, Role::Volunteer)
        .await?;
    stale.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::Closed),
            ..Default::default()
        }),
    )?;
    let later = stale
        .device
        .create_incident(incident("traffic", 1, "Moped på gångvägen."))?;
    let report = stale.sync().await?;
    assert_eq!(report.rejected, 1);

    let refused = stale.device.entry(id)?.expect("entry");
    match refused.status {
        SyncStatus::NeedsAttention {
            code,
            field,
            message,
        } => {
            assert_eq!(code, RejectCode::ReviewFieldForbidden);
            assert_eq!(field.as_deref(), Some("review_status"));
            assert!(message.contains("review"), "{message}");
        }
        other => panic!("expected needs attention, got {other:?}"),
    }
    assert_eq!(
        stale.device.entry(later)?.expect("later entry").status,
        SyncStatus::OnServer
    );
    let vaka_device::EntryFields::Incident(fields) = refused.fields else {
        panic!("not an incident")
    };
    assert_eq!(
        fields.review_status, None,
        "the refused value is not shown as the state"
    );
    author.sync().await?;
    assert_converged(&server, &org, &[&stale, &author]).await?;
    Ok(())
}

#[tokio::test]
async fn a_phone_whose_clock_is_a_day_ahead_gets_everything_through_with_sane_clocks()
-> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    let now = Timestamp::now_utc().unix_ms();
    let clock = WallClock::manual(now);
    let phone =
        Phone::enrolled_with_clock(&server, &server.url, org.volunteers[0], clock.clone()).await?;
    // The phone's clock jumps a day ahead (a flat battery, a wrong manual setting).
    clock.set(now + 24 * 3600 * 1000);
    let ids: Vec<EntityId> = (0..5)
        .map(|i| {
            phone
                .device
                .create_incident(incident("disturbance", 1, &format!("Händelse {i}.")))
        })
        .collect::<Result<_, _>>()?;
    let report = phone.sync().await?;
    assert!(report.restamped >= 5, "{report:?}");
    let stamps: Vec<String> = server
        .admin
        .rows("SELECT hlc FROM ops ORDER BY seq", &[])
        .await?
        .iter()
        .map(|r| text(&r[0]))
        .collect();
    assert_eq!(stamps.len(), ids.len(), "every entry arrived");
    let server_now = Timestamp::now_utc().unix_ms() as u64;
    for stamp in stamps {
        let stamp: vaka_shared::Hlc = stamp.parse()?;
        assert!(
            stamp.ms.abs_diff(server_now) < 10 * 60 * 1000,
            "stamp {stamp} is not near the server's time"
        );
    }
    assert_converged(&server, &org, &[&phone]).await?;
    Ok(())
}

#[tokio::test]
async fn a_lost_response_does_not_apply_anything_twice() -> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    let addr = server.url.trim_start_matches("http://").parse()?;
    let proxy = FaultProxy::start(addr).await?;
    let phone = Phone::enrolled(&server, &proxy.url, org.volunteers[0]).await?;
    for i in 0..3 {
        phone
            .device
            .create_incident(incident("alcohol", 1, &format!("Händelse {i}.")))?;
    }
    proxy.set(Fault::DropResponse);
    assert!(phone.sync().await.is_err(), "the phone hears nothing back");
    assert_eq!(
        phone.device.outbox_len()?,
        3,
        "so its ops are still waiting"
    );
    proxy.set(Fault::CutResponse);
    assert!(phone.sync().await.is_err());
    proxy.set(Fault::Pass);
    phone.sync().await?;
    let ops = server.admin.rows("SELECT COUNT(*) FROM ops", &[]).await?[0][0].as_i64();
    let ops = anyhow::Context::context(ops, "a count")?;
    assert_eq!(ops, 3, "applied once");
    assert_converged(&server, &org, &[&phone]).await?;
    Ok(())
}

#[tokio::test]
async fn a_device_of_another_organisation_sees_none_of_it() -> anyhow::Result<()> {
    let (server, org) = org_with_server(1).await?;
    let phone = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    phone
        .device
        .create_incident(incident("fire", 3, "Brand i papperskorg."))?;
    phone.sync().await?;
    let other = server.admin.org("Grannsamverkan Annanstad", 1).await?;
    let outsider = Phone::enrolled(&server, &server.url, other.coordinator).await?;
    outsider
        .device
        .create_incident(incident("traffic", 1, "Bil på gångvägen."))?;
    outsider.sync().await?;
    outsider.sync().await?;
    let seen = outsider.snapshot()?;
    assert_eq!(seen.len(), 1, "only its own entry");
    assert_eq!(seen, server.admin.snapshot(other.id).await?);
    assert!(phone.snapshot()?.keys().all(|id| !seen.contains_key(id)));
    Ok(())
}

/// A GeoJSON polygon: a square around (`lon`, `lat`), `half` degrees to each side.
fn square(lon: f64, lat: f64, half: f64) -> serde_json::Value {
    serde_json::json!({
        "type": "Polygon",
        "coordinates": [[
            [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]
        ]]
    })
}

#[tokio::test]
async fn a_phone_gets_its_organisations_areas_and_knows_which_one_a_fix_is_in() -> anyhow::Result<()>
{
    let (server, org) = org_with_server(1).await?;
    let centrum = server
        .admin
        .area(org.id, "Centrum", square(16.54, 59.61, 0.005))
        .await?;
    let stationen = server
        .admin
        .area(org.id, "Stationen", square(16.55, 59.62, 0.003))
        .await?;
    let other = server.admin.org("Grannsamverkan Annanstad", 1).await?;
    server
        .admin
        .area(other.id, "Annanstad", square(16.54, 59.61, 0.01))
        .await?;

    let phone = Phone::enrolled(&server, &server.url, org.volunteers[0]).await?;
    assert!(
        phone.device.areas()?.is_empty(),
        "none before the first sync"
    );
    phone.sync().await?;
    let areas: Vec<_> = phone
        .device
        .areas()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    assert_eq!(
        areas,
        [
            (centrum, "Centrum".to_owned()),
            (stationen, "Stationen".to_owned())
        ],
        "its own organisation's areas only, by name"
    );
    let fix = |lon, lat| vaka_shared::model::Location {
        lat,
        lon,
        accuracy_m: Some(8.0),
    };
    assert_eq!(phone.device.area_at(&fix(16.541, 59.611))?, Some(centrum));
    assert_eq!(phone.device.area_at(&fix(16.551, 59.621))?, Some(stationen));
    assert_eq!(phone.device.area_at(&fix(16.60, 59.70))?, None);

    // An incident logged in the area reaches the dashboard's projection with it.
    let mut fields = incident("disturbance", 2, "Högljudd grupp vid torget.");
    fields.area_id = Some(Some(centrum));
    let id = phone.device.create_incident(fields)?;
    phone.sync().await?;
    let stored = server
        .admin
        .rows(
            "SELECT area_id FROM entries WHERE id = ?1",
            &[&id.to_string()],
        )
        .await?[0][0]
        .as_str()
        .map(str::to_owned);
    assert_eq!(stored, Some(centrum.to_string()));

    // A new area is there after the next fetch; an offline phone keeps the copy it has.
    server
        .admin
        .area(org.id, "Ängen", square(16.50, 59.60, 0.003))
        .await?;
    assert_eq!(phone.device.refresh_areas(&http()).await?, 3);
    assert!(
        phone
            .device
            .refresh_areas(&http_to_nowhere())
            .await
            .is_err()
    );
    assert_eq!(phone.device.areas()?.len(), 3, "kept while offline");

    // Without a token the server says so.
    let refused = http()
        .get(format!("{}/api/v1/areas", server.url))
        .send()
        .await?;
    assert_eq!(refused.status(), 401);
    let body: vaka_shared::sync::ApiError = refused.json().await?;
    assert_eq!(body.code, vaka_shared::sync::ErrorCode::Unauthorized);
    Ok(())
}

/// A text column of a row from `Admin::rows`.
fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
