//! Privacy on the phone, end to end against a real server with real device cores and their own
//! encrypted files: a phone that stays offline past the retention period forgets by itself what
//! the period has passed, except what a coordinator holds and what it has not sent; the file it
//! keeps shows none of its text.

use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;
use vaka_device::{Device, WallClock};
use vaka_shared::model::{CategoryCode, IncidentFields, Role, Severity};
use vaka_shared::{EntityId, Timestamp};
use vaka_tests::TestServer;
use vaka_tests::browser::{Browser, csrf_of};

const PASSWORD: &str = "en lång och god lösenfras";
const DAY_MS: i64 = 24 * 3_600_000;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

fn incident(text: &str, days_ago: i64) -> IncidentFields {
    let at = Timestamp::from_unix_ms(vaka_server::now_ms() - days_ago * DAY_MS - 3_600_000)
        .expect("timestamp");
    IncidentFields {
        occurred_at: Some(at),
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(2)),
        description: Some(text.to_owned()),
        ..Default::default()
    }
}

/// Whether `needle` occurs in the raw bytes of the SQLite file `db` or its WAL.
fn raw_contains(db: &Path, needle: &str) -> bool {
    ["", "-wal"].iter().any(|suffix| {
        std::fs::read(format!("{}{suffix}", db.display()))
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

/// Posts a dashboard form of an entry (`hold`, …) with the page's CSRF token.
async fn post_on_entry(
    browser: &mut Browser,
    id: EntityId,
    action: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<StatusCode> {
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    let csrf = csrf_of(&page);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    let (status, _) = browser
        .post(&format!("/entries/{id}/{action}"), &fields)
        .await?;
    Ok(status)
}

#[tokio::test]
async fn a_phone_offline_past_the_period_forgets_by_itself_but_keeps_held_and_unsent_entries()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
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
    let (_, settings) = browser.get("/settings").await?;
    let csrf = csrf_of(&settings);
    let (status, _) = browser
        .post(
            "/settings/retention",
            &[
                ("csrf", csrf.as_str()),
                ("retention_days", "30"),
                ("confirm", "yes"),
            ],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The phone's clock is a hand it can move: it shows the server's time until it goes offline.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("phone.sqlite3");
    let clock = WallClock::manual(vaka_server::now_ms());
    let phone = Device::open_with_clock(&path, clock.clone())?;
    let code = server.admin.code(org.volunteers[0]).await?;
    phone
        .enroll(&http(), &server.url, &code, "Testtelefon")
        .await?;
    let fading = phone.create_incident(incident("BLEKNARTEXT1 vid torget", 20))?;
    let held = phone.create_incident(incident("HALLENTEXT2 vid hamnen", 20))?;
    let recent = phone.create_incident(incident("NYTEXT3 vid stationen", 5))?;
    phone.sync_once(&http()).await?;
    assert_eq!(
        post_on_entry(
            &mut browser,
            held,
            "hold",
            &[("reason", "Pågående polisärende")]
        )
        .await?,
        StatusCode::SEE_OTHER
    );
    let report = phone.sync_once(&http()).await?;
    assert_eq!(
        (report.expired, report.purged),
        (0, 0),
        "all inside 30 days"
    );

    // Offline from now on: something from 20 days ago logged and not sent, then 15 days pass.
    let unsent = phone.create_incident(incident("OSANTTEXT4 vid kiosken", 20))?;
    assert!(
        !raw_contains(&path, "BLEKNARTEXT1"),
        "the file is encrypted"
    );
    drop(phone);
    clock.set(vaka_server::now_ms() + 15 * DAY_MS);
    let phone = Device::open_with_clock(&path, clock.clone())?;

    assert!(
        phone.entry(fading)?.is_none(),
        "35 days by the phone's clock: past the period, gone without the server"
    );
    assert!(phone.entry(held)?.is_some(), "held by a coordinator");
    assert!(phone.entry(recent)?.is_some(), "20 days: inside the period");
    assert!(phone.entry(unsent)?.is_some(), "nothing unsent is lost");
    assert_eq!(phone.outbox_len()?, 1);
    // The server, whose clock did not move, still has it: the phone did this on its own.
    assert!(server.admin.snapshot(org.id).await?.contains_key(&fading));
    for text in ["BLEKNARTEXT1", "HALLENTEXT2", "OSANTTEXT4"] {
        assert!(!raw_contains(&path, text), "the file shows {text}");
    }
    Ok(())
}
