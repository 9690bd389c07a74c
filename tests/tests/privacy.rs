//! Privacy by design, end to end against a real server with real device cores and their own
//! files: retention purges every trace of an old entry on the server and the phones (raw file
//! bytes, report, CSV, GeoJSON, PDF), a held entry waits until released, a late report stays on
//! its phone until it is sent; a redacted text is gone from the raw bytes of the server and the
//! phones and from the history; lost and retired phones wipe; members who leave keep their
//! entries under a neutral label.

use reqwest::StatusCode;
use std::path::Path;
use vaka_shared::model::{CategoryCode, IncidentFields, Location, Role, Severity};
use vaka_shared::op::OpBody;
use vaka_shared::{EntityId, MemberId, Timestamp};
use vaka_tests::browser::{Browser, csrf_of};
use vaka_tests::{TestOrg, TestPhone as Phone, TestServer, http};

const PASSWORD: &str = "en lång och god lösenfras";
const DAY_MS: i64 = 24 * 3_600_000;

async fn phone(server: &TestServer, member: MemberId) -> anyhow::Result<Phone> {
    Phone::enrolled(server, member).await
}

fn incident(text: &str, days_ago: i64, severity: u8) -> IncidentFields {
    let at = Timestamp::from_unix_ms(vaka_server::now_ms() - days_ago * DAY_MS - 3_600_000)
        .expect("timestamp");
    IncidentFields {
        occurred_at: Some(at),
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(severity)),
        description: Some(text.to_owned()),
        location: Some(Some(Location {
            lat: 59.61,
            lon: 16.54,
            accuracy_m: None,
        })),
        ..Default::default()
    }
}

/// Whether `needle` occurs anywhere in the raw bytes of the SQLite file `db` or its journal files.
fn raw_contains(db: &Path, needle: &str) -> anyhow::Result<bool> {
    let mut found = false;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        }
    }
    Ok(found)
}

/// A server with an organisation whose coordinator is an admin signed in to the dashboard.
async fn setup(volunteers: usize) -> anyhow::Result<(TestServer, TestOrg, Browser)> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", volunteers).await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, "admin-a", PASSWORD)
        .await?;
    let mut browser = Browser::new(&server.url);
    assert_eq!(
        browser.sign_in("admin-a", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    Ok((server, org, browser))
}

async fn set_retention(browser: &mut Browser, days: &str) -> anyhow::Result<(StatusCode, String)> {
    let (_, page) = browser.get("/settings").await?;
    let csrf = csrf_of(&page);
    browser
        .post(
            "/settings/retention",
            &[
                ("csrf", &csrf),
                ("retention_days", days),
                ("confirm", "yes"),
            ],
        )
        .await
}

async fn post_on_entry(
    browser: &mut Browser,
    id: EntityId,
    action: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, String)> {
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    let csrf = csrf_of(&page);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    browser
        .post(&format!("/entries/{id}/{action}"), &fields)
        .await
}

#[tokio::test]
async fn retention_purges_every_trace_on_the_server_and_every_phone() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup(2).await?;
    let author = phone(&server, org.volunteers[0]).await?;
    let other = phone(&server, org.volunteers[1]).await?;
    let old = author
        .device
        .create_incident(incident("GAMMALTEXT1 vid torget", 40, 4))?;
    let held = author
        .device
        .create_incident(incident("HALLENTEXT2 vid hamnen", 41, 3))?;
    let recent = author
        .device
        .create_incident(incident("NYTEXT3 vid stationen", 2, 2))?;
    author.device.sync_once(&http()).await?;
    // A comment on the old entry, from the dashboard.
    let (status, _) =
        post_on_entry(&mut browser, old, "comments", &[("body", "KOMMENTAR4")]).await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post_on_entry(
        &mut browser,
        held,
        "hold",
        &[("reason", "Pågående polisärende")],
    )
    .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    other.device.sync_once(&http()).await?;
    author.device.sync_once(&http()).await?;
    assert!(other.device.entry(old)?.is_some(), "the other phone has it");

    assert!(
        server.admin.holds_text("GAMMALTEXT1").await?,
        "the check can see text in the file"
    );
    // Bounds first: a period outside 30 days to five years is refused beside the field.
    let (status, page) = set_retention(&mut browser, "7").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("mellan 30 och 1826"), "{page}");
    assert!(page.contains("value=\"7\""), "what was typed is kept");

    let (status, _) = set_retention(&mut browser, "30").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Gone from the server: its pages, its exports and the raw bytes of its database file.
    let (status, _) = browser.get(&format!("/entries/{old}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = browser.get(&format!("/entries/{held}")).await?;
    assert_eq!(status, StatusCode::OK, "a held entry stays");
    let (_, inbox) = browser.get("/inbox").await?;
    assert!(!inbox.contains(&old.to_string()));
    let from = time::OffsetDateTime::now_utc().date() - time::Duration::days(60);
    let to = time::OffsetDateTime::now_utc().date();
    let period = format!("from={from}&to={to}");
    let (_, report) = browser.get(&format!("/report?{period}")).await?;
    assert!(
        report.contains("id=\"purged\""),
        "the report says entries were removed"
    );
    assert!(report.contains("enligt gallringstiden"), "{report}");
    for export in ["report.csv", "report.geojson", "report.pdf"] {
        let (status, _, body) = browser.get_bytes(&format!("/{export}?{period}")).await?;
        assert_eq!(status, StatusCode::OK);
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains(&old.to_string()),
            "{export} names the purged entry"
        );
        assert!(!text.contains("GAMMALTEXT1"), "{export} holds its text");
    }
    let (_, _, csv) = browser.get_bytes(&format!("/report.csv?{period}")).await?;
    assert!(String::from_utf8_lossy(&csv).contains(&recent.to_string()));
    for marker in ["GAMMALTEXT1", "KOMMENTAR4"] {
        assert!(
            !server.admin.holds_text(marker).await?,
            "{marker} lingers in the server's database file"
        );
    }

    // Gone from every phone at its next sync, through the pull stream.
    other.device.sync_once(&http()).await?;
    author.device.sync_once(&http()).await?;
    for phone in [&author, &other] {
        assert!(
            phone.device.entry(old)?.is_none(),
            "the purged entry is gone"
        );
        assert!(phone.device.comments_for(old)?.is_empty());
        assert!(phone.device.entry(held)?.is_some(), "the held entry stays");
        assert!(phone.device.entry(recent)?.is_some());
        for marker in ["GAMMALTEXT1", "KOMMENTAR4", "NYTEXT3"] {
            assert!(
                !raw_contains(&phone.file(), marker)?,
                "{marker} readable in a phone's file"
            );
        }
    }

    // Released, the held entry goes at the next purge, here and on the phones.
    let (status, _) = post_on_entry(&mut browser, held, "hold", &[("release", "1")]).await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = set_retention(&mut browser, "30").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = browser.get(&format!("/entries/{held}")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!server.admin.holds_text("HALLENTEXT2").await?);
    other.device.sync_once(&http()).await?;
    assert!(other.device.entry(held)?.is_none());
    assert!(other.device.entry(recent)?.is_some());
    Ok(())
}

#[tokio::test]
async fn a_late_report_stays_on_its_phone_until_it_is_sent() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup(1).await?;
    let (status, _) = set_retention(&mut browser, "30").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let walker = phone(&server, org.volunteers[0]).await?;
    walker.device.sync_once(&http()).await?;
    // Logged offline, about something 35 days ago: past the period, but not sent yet.
    let late = walker
        .device
        .create_incident(incident("SENRAPPORT5", 35, 2))?;
    assert_eq!(walker.device.expire_old_entries()?, 0);
    assert!(
        walker.device.entry(late)?.is_some(),
        "nothing unsent is lost"
    );
    // Sent, it reaches the server; the next purge removes it there and then on the phone.
    walker.device.sync_once(&http()).await?;
    assert_eq!(walker.device.outbox_len()?, 0);
    let (status, _) = set_retention(&mut browser, "30").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    walker.device.sync_once(&http()).await?;
    assert!(walker.device.entry(late)?.is_none());
    Ok(())
}

#[tokio::test]
async fn the_purge_command_says_what_would_go_and_then_removes_it() -> anyhow::Result<()> {
    let (server, org, _browser) = setup(1).await?;
    let walker = phone(&server, org.volunteers[0]).await?;
    let old = walker
        .device
        .create_incident(incident("KOMMANDOTEXT6", 800, 2))?;
    walker.device.sync_once(&http()).await?;
    let binary = Path::new(env!("CARGO_BIN_EXE_vaka-test-server"));
    let dry = server.cli(binary, &["purge", "--dry-run"])?;
    assert!(dry.contains("would remove 1 entries (1 incident)"), "{dry}");
    assert!(server.admin.snapshot(org.id).await?.contains_key(&old));
    let done = server.cli(binary, &["purge"])?;
    assert!(done.contains("removed 1 entries"), "{done}");
    assert!(!server.admin.snapshot(org.id).await?.contains_key(&old));
    assert!(!server.admin.holds_text("KOMMANDOTEXT6").await?);
    Ok(())
}

#[tokio::test]
async fn a_redacted_name_is_gone_from_the_server_every_phone_and_the_history() -> anyhow::Result<()>
{
    let (server, org, mut browser) = setup(1).await?;
    let author = phone(&server, org.volunteers[0]).await?;
    // The author's second phone.
    let other = phone(&server, org.volunteers[0]).await?;
    let id =
        author
            .device
            .create_incident(incident("Kalle Svensson slog en annan ungdom", 1, 3))?;
    author.device.sync_once(&http()).await?;
    other.device.sync_once(&http()).await?;
    // Two concurrent edits that both carry the name: a conflict record holds the loser.
    other.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            description: Some("Kalle Svensson och en kompis".to_owned()),
            ..Default::default()
        }),
    )?;
    author.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            description: Some("Kalle Svensson, ca 17 år".to_owned()),
            ..Default::default()
        }),
    )?;
    other.device.sync_once(&http()).await?;
    author.device.sync_once(&http()).await?;
    other.device.sync_once(&http()).await?;
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(page.contains("Svensson"), "before: the name is on the page");
    assert!(server.admin.holds_text("Svensson").await?);
    let conflicts = server
        .admin
        .rows(
            "SELECT COUNT(*) FROM conflicts WHERE entity_id = ?1 AND loser_value LIKE '%Svensson%'",
            &[&id.to_string()],
        )
        .await?[0][0]
        .as_i64();
    let conflicts = conflicts.unwrap_or_default();
    assert_eq!(conflicts, 1, "a conflict record holds the losing text");

    // The form refuses an unticked confirmation, keeping the text.
    let (status, refused) = post_on_entry(
        &mut browser,
        id,
        "redact",
        &[
            ("field", "description"),
            ("value", "En ungdom slog en annan"),
        ],
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("En ungdom slog en annan"));
    let (status, _) = post_on_entry(
        &mut browser,
        id,
        "redact",
        &[
            ("field", "description"),
            ("value", "En ungdom slog en annan"),
            ("confirm", "yes"),
        ],
    )
    .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(
        !page.contains("Svensson"),
        "the name is gone from the page and history"
    );
    assert!(page.contains("En ungdom slog en annan"));
    assert!(
        page.contains("redigerades av"),
        "the history says a redaction happened"
    );
    assert!(
        !server.admin.holds_text("Svensson").await?,
        "the server's file"
    );

    author.device.sync_once(&http()).await?;
    other.device.sync_once(&http()).await?;
    for phone in [&author, &other] {
        let entry = phone.device.entry(id)?.expect("entry on the phone");
        let vaka_device::EntryFields::Incident(fields) = entry.fields else {
            panic!("not an incident")
        };
        assert_eq!(
            fields.description.as_deref(),
            Some("En ungdom slog en annan")
        );
        assert!(!raw_contains(&phone.file(), "Svensson")?, "a phone's file");
    }
    // The same state everywhere: the phones and the server converge on the redacted text.
    let server_state = server.admin.snapshot(org.id).await?;
    let (_, values) = server_state.get(&id).expect("on the server");
    assert_eq!(values["description"], "En ungdom slog en annan");
    Ok(())
}

#[tokio::test]
async fn a_lost_phone_wipes_and_a_retired_phone_hands_over_first() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup(2).await?;
    let lost = phone(&server, org.volunteers[0]).await?;
    let retired = phone(&server, org.volunteers[1]).await?;
    lost.device
        .create_incident(incident("FORLORADTEXT7", 1, 2))?;
    lost.device.sync_once(&http()).await?;
    // The retired phone has something it has not sent yet.
    let unsent = retired
        .device
        .create_incident(incident("PENSIONTEXT8", 1, 2))?;

    let (_, people) = browser.get("/people").await?;
    let csrf = csrf_of(&people);
    let device_of = |phone: &Phone| -> anyhow::Result<String> {
        Ok(phone
            .device
            .identity()?
            .expect("enrolled")
            .device_id
            .to_string())
    };
    let (lost_id, retired_id) = (device_of(&lost)?, device_of(&retired)?);
    // Without the confirmation box nothing happens.
    let (status, _) = browser
        .post(&format!("/devices/{lost_id}/lost"), &[("csrf", &csrf)])
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for (id, action) in [(&lost_id, "lost"), (&retired_id, "retire")] {
        let (status, _) = browser
            .post(
                &format!("/devices/{id}/{action}"),
                &[("csrf", &csrf), ("confirm", "yes")],
            )
            .await?;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let (_, people) = browser.get("/people").await?;
    assert!(people.contains("Förlorad"));
    assert!(
        people.contains("Senast i kontakt"),
        "what the server knows of the lost phone"
    );

    assert!(
        lost.device.sync_once(&http()).await.is_err(),
        "told it is lost"
    );
    assert!(
        lost.device.identity()?.is_none(),
        "the lost phone wiped itself"
    );
    assert!(lost.device.entries()?.is_empty());
    assert!(!raw_contains(&lost.file(), "FORLORADTEXT7")?);

    let report = retired.device.sync_once(&http()).await?;
    assert!(
        report.wiped.is_some(),
        "the retired phone wiped after handing over"
    );
    assert!(retired.device.identity()?.is_none());
    assert!(
        server.admin.snapshot(org.id).await?.contains_key(&unsent),
        "nothing a retired phone logged is lost"
    );

    // Both are refused afterwards: the lost one as lost, the retired one as revoked.
    let row = server
        .admin
        .rows(
            "SELECT (SELECT lost_at_ms IS NOT NULL FROM devices WHERE id = ?1),
                    (SELECT revoked_at_ms IS NOT NULL AND wiped_at_ms IS NOT NULL
                     FROM devices WHERE id = ?2)",
            &[&lost_id, &retired_id],
        )
        .await?;
    let states = (row[0][0].as_i64() == Some(1), row[0][1].as_i64() == Some(1));
    assert_eq!(states, (true, true));
    let (_, people) = browser.get("/people").await?;
    assert!(people.contains("Tömd och avslutad"), "{people}");
    Ok(())
}

#[tokio::test]
async fn a_member_who_leaves_keeps_their_entries_under_a_neutral_label() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup(1).await?;
    let walker = phone(&server, org.volunteers[0]).await?;
    let id = walker
        .device
        .create_incident(incident("Stök vid torget", 1, 2))?;
    walker.device.sync_once(&http()).await?;
    let (_, entry) = browser.get(&format!("/entries/{id}")).await?;
    assert!(entry.contains("Volontär 0"));
    let (_, people) = browser.get("/people").await?;
    let csrf = csrf_of(&people);
    let member = org.volunteers[0];
    let (status, _) = browser
        .post(
            &format!("/people/{member}/remove"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for path in [
        format!("/entries/{id}"),
        "/inbox".to_owned(),
        "/people".to_owned(),
    ] {
        let (_, page) = browser.get(&path).await?;
        assert!(!page.contains("Volontär 0"), "{path} still names them");
        assert!(page.contains("Tidigare medlem 1"), "{path} shows the label");
    }
    let (_, _, csv) = browser.get_bytes("/report.csv").await?;
    assert!(!String::from_utf8_lossy(&csv).contains("Volontär 0"));
    assert!(
        walker.device.sync_once(&http()).await.is_err(),
        "their phone stops working"
    );
    let (_, entry) = browser.get(&format!("/entries/{id}")).await?;
    assert!(entry.contains("Stök vid torget"), "the entry stays");
    Ok(())
}
