//! Messages to the walkers, end to end against a real server (on SQLite, or on PostgreSQL with
//! `VAKA_TEST_BACKEND=postgres`) with real device cores: a coordinator sends a message from the
//! dashboard to an area, a group or the whole organisation; only the phones it is for pull it,
//! note its receipt and let the walker mark it read, which the dashboard counts; ending it
//! early and the retention purge reach the same phones.

use reqwest::StatusCode;
use vaka_server::store::audit::Actor;
use vaka_shared::model::Role;
use vaka_shared::{AreaId, EntityId, OrgId};
use vaka_tests::browser::{Browser, csrf_of};
use vaka_tests::{TestPhone, TestServer, http};

const PASSWORD: &str = "en lång och god lösenfras";
const DAY_MS: i64 = 24 * 3_600_000;

fn square(lon: f64, lat: f64, half: f64) -> serde_json::Value {
    serde_json::json!({
        "type": "Polygon",
        "coordinates": [[
            [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]
        ]]
    })
}

/// The dashboard's end-time field for `hours` from now (Swedish local time).
fn ends_in(hours: i64) -> String {
    vaka_server::dashboard::fmt_time(vaka_server::now_ms() + hours * 3_600_000)
        .replacen(' ', "T", 1)
}

/// Sends a message from the messages page; returns its id (the newest message of `org`).
async fn send(
    server: &TestServer,
    browser: &mut Browser,
    org: OrgId,
    text: &str,
    audience: &str,
) -> anyhow::Result<EntityId> {
    let (_, page) = browser.get("/messages").await?;
    let csrf = csrf_of(&page);
    let ends = ends_in(4);
    let (status, to) = browser
        .post(
            "/messages",
            &[
                ("csrf", csrf.as_str()),
                ("text", text),
                ("audience", audience),
                ("ends", ends.as_str()),
            ],
        )
        .await?;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/messages?done=sent")
    );
    let listed = server.admin.store().messages(org).await?;
    let newest = listed.iter().find(|m| m.text == text).expect("listed");
    Ok(newest.id)
}

/// The texts of the messages a phone shows now.
fn shown(phone: &TestPhone) -> Vec<String> {
    let mut texts: Vec<String> = phone
        .device
        .active_messages()
        .expect("reads")
        .into_iter()
        .map(|m| m.text)
        .collect();
    texts.sort();
    texts
}

async fn sync_all(phones: &[&TestPhone]) -> anyhow::Result<()> {
    for phone in phones {
        phone.device.sync_once(&http()).await?;
    }
    Ok(())
}

/// (received, read) of a message, as the dashboard counts them.
async fn counts(server: &TestServer, org: OrgId, id: EntityId) -> anyhow::Result<(u64, u64)> {
    let listed = server.admin.store().messages(org).await?;
    let m = listed.iter().find(|m| m.id == id).expect("listed");
    Ok((m.received, m.read))
}

struct Setup {
    server: TestServer,
    org: OrgId,
    browser: Browser,
    area_a: AreaId,
    area_b: AreaId,
    /// In area A.
    north: TestPhone,
    /// In area B.
    south: TestPhone,
    /// In group Nattvandrarna, no area.
    walker: TestPhone,
}

async fn setup(volunteers_see_all: bool) -> anyhow::Result<Setup> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 3).await?;
    server
        .admin
        .set_volunteers_see_all(org.id, volunteers_see_all)
        .await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, "samordnare", PASSWORD)
        .await?;
    let area_a = server
        .admin
        .area(org.id, "Centrum", square(16.54, 59.61, 0.005))
        .await?;
    let area_b = server
        .admin
        .area(org.id, "Stationen", square(16.55, 59.62, 0.003))
        .await?;
    let mut browser = Browser::new(&server.url);
    assert_eq!(
        browser.sign_in("samordnare", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    // North's area and the walker's group on the people page, south's area in the store.
    let (_, people) = browser.get("/people").await?;
    let csrf = csrf_of(&people);
    let (north_id, walker_id) = (org.volunteers[0], org.volunteers[2]);
    let area = area_a.to_string();
    for (member, form) in [
        (north_id, vec![("area", area.as_str()), ("group", "")]),
        (walker_id, vec![("area", ""), ("group", "Nattvandrarna")]),
    ] {
        let mut fields = vec![("csrf", csrf.as_str()), ("role", "volunteer")];
        fields.extend(form);
        let (status, _) = browser
            .post(&format!("/people/{member}/update"), &fields)
            .await?;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let by = Actor::Member(org.coordinator);
    let set = server
        .admin
        .store()
        .set_member_area(
            org.id,
            by,
            org.volunteers[1],
            Some(area_b),
            vaka_server::now_ms(),
        )
        .await?;
    assert_eq!(set, Ok(()));
    let north = TestPhone::enrolled(&server, north_id).await?;
    let south = TestPhone::enrolled(&server, org.volunteers[1]).await?;
    let walker = TestPhone::enrolled(&server, walker_id).await?;
    sync_all(&[&north, &south, &walker]).await?;
    Ok(Setup {
        server,
        org: org.id,
        browser,
        area_a,
        area_b,
        north,
        south,
        walker,
    })
}

async fn messages_reach_the_phones_they_are_for(volunteers_see_all: bool) -> anyhow::Result<()> {
    let Setup {
        server,
        org,
        mut browser,
        area_a,
        area_b,
        north,
        south,
        walker,
    } = setup(volunteers_see_all).await?;
    let to_a = "Polisinsats vid stationen ikväll – undvik gångtunneln";
    let a = send(&server, &mut browser, org, to_a, &format!("area:{area_a}")).await?;
    let to_group = "Samling vid kyrkan 22:00";
    let group = send(&server, &mut browser, org, to_group, "group:Nattvandrarna").await?;
    let to_b = "Trasig belysning vid perrongen";
    send(&server, &mut browser, org, to_b, &format!("area:{area_b}")).await?;
    let phones = [&north, &south, &walker];
    sync_all(&phones).await?;
    assert_eq!(shown(&north), [to_a]);
    assert_eq!(shown(&south), [to_b]);
    assert_eq!(shown(&walker), [to_group]);
    // Each phone noted its receipt and sent it in the same sync.
    for phone in phones {
        assert_eq!(phone.device.outbox_len()?, 0);
        assert!(phone.device.active_messages()?[0].received_at.is_some());
    }
    assert_eq!(counts(&server, org, a).await?, (1, 0));

    let to_all = "Ny rutin: ring samordnaren efter varje pass";
    let all = send(&server, &mut browser, org, to_all, "org").await?;
    sync_all(&phones).await?;
    for phone in phones {
        assert!(shown(phone).contains(&to_all.to_owned()));
    }
    assert_eq!(counts(&server, org, all).await?, (3, 0));

    // Read on the phone, counted on the dashboard.
    north.device.mark_message_read(a)?;
    north.device.mark_message_read(all)?;
    walker.device.mark_message_read(all)?;
    assert!(north.device.active_messages()?.iter().all(|m| m.read()));
    sync_all(&phones).await?;
    assert_eq!(counts(&server, org, a).await?, (1, 1));
    assert_eq!(counts(&server, org, all).await?, (3, 2));
    assert_eq!(counts(&server, org, group).await?, (1, 0));
    let (_, page) = browser.get("/messages").await?;
    assert!(page.contains(&format!("data-message=\"{all}\"")));
    assert!(page.contains("data-received=\"3\"") && page.contains("data-read=\"2\""));
    // No phone pulled another phone's receipt.
    for phone in phones {
        let receipts = phone
            .device
            .state_snapshot()?
            .values()
            .filter(|(kind, _)| *kind == vaka_shared::EntityKind::MessageReceipt)
            .count();
        assert_eq!(receipts, shown(phone).len(), "only its own receipts");
    }

    // Ended early: gone from the phones it reached at their next sync.
    let (_, page) = browser.get("/messages").await?;
    let csrf = csrf_of(&page);
    let (status, _) = browser
        .post(&format!("/messages/{a}/end"), &[("csrf", csrf.as_str())])
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    sync_all(&phones).await?;
    assert_eq!(shown(&north), [to_all]);
    assert_eq!(north.device.messages()?.len(), 2, "kept, ended");

    // The retention period passes: every message and receipt leaves the server and the phones.
    let later = vaka_server::now_ms() + 731 * DAY_MS;
    server.admin.store().purge_all(later).await?;
    assert!(server.admin.store().messages(org).await?.is_empty());
    sync_all(&phones).await?;
    for phone in phones {
        assert!(phone.device.messages()?.is_empty());
        assert!(
            phone.device.state_snapshot()?.values().all(|(kind, _)| {
                !matches!(
                    kind,
                    vaka_shared::EntityKind::Message | vaka_shared::EntityKind::MessageReceipt
                )
            }),
            "receipts went with their messages"
        );
    }
    assert!(!server.admin.holds_text("undvik gångtunneln").await?);
    Ok(())
}

#[tokio::test]
async fn a_message_reaches_the_phones_of_its_area_group_or_organisation_where_entries_are_shared()
-> anyhow::Result<()> {
    messages_reach_the_phones_they_are_for(true).await
}

#[tokio::test]
async fn a_message_reaches_the_phones_of_its_area_group_or_organisation_where_entries_are_private()
-> anyhow::Result<()> {
    messages_reach_the_phones_they_are_for(false).await
}

#[tokio::test]
async fn a_message_form_that_is_wrong_comes_back_with_the_reason_beside_the_field()
-> anyhow::Result<()> {
    let Setup {
        server,
        org,
        mut browser,
        north,
        ..
    } = setup(true).await?;
    let (_, page) = browser.get("/messages").await?;
    let csrf = csrf_of(&page);
    let long = "å".repeat(281);
    let past = ends_in(-1);
    let far = ends_in(15 * 24);
    for (text, audience, ends, field) in [
        ("  ", "org", ends_in(2), "message-text-error"),
        (long.as_str(), "org", ends_in(2), "message-text-error"),
        (
            "Hej",
            "group:Ingen sådan",
            ends_in(2),
            "message-audience-error",
        ),
        ("Hej", "org", past.clone(), "message-ends-error"),
        ("Hej", "org", far.clone(), "message-ends-error"),
        ("Hej", "org", "imorgon".to_owned(), "message-ends-error"),
    ] {
        let (status, body) = browser
            .post(
                "/messages",
                &[
                    ("csrf", csrf.as_str()),
                    ("text", text),
                    ("audience", audience),
                    ("ends", ends.as_str()),
                ],
            )
            .await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text} {audience} {ends}");
        assert!(body.contains(&format!("id=\"{field}\"")), "{field}");
        if text == "Hej" {
            assert!(body.contains(">Hej</textarea>"), "what was typed is kept");
        }
    }
    assert!(
        server.admin.store().messages(org).await?.is_empty(),
        "nothing sent"
    );
    assert!(north.device.active_messages()?.is_empty());
    Ok(())
}
