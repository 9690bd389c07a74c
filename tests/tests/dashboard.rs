//! The coordinator dashboard driven over HTTP against a real server: sign-in (wrong password,
//! limit on failed attempts, expired session), CSRF, organisation boundaries, a comment and a
//! review written in the dashboard reaching the author's phone as ops, conflicts settled as ops,
//! and the situation report's numbers in the page, CSV, GeoJSON and PDF.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use vaka_device::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Location, ReviewStatus, Severity};
use vaka_shared::{EntityId, MemberId, Timestamp};
use vaka_tests::browser::{Browser, csrf_of};
use vaka_tests::{TestOrg, TestPhone as Phone, TestServer, http};

const PASSWORD: &str = "en lång och god lösenfras";

async fn phone(server: &TestServer, member: MemberId) -> anyhow::Result<Phone> {
    Phone::enrolled(server, member).await
}

fn incident(severity: u8, text: &str, hours_ago: i64) -> IncidentFields {
    let at =
        Timestamp::from_unix_ms(vaka_server::now_ms() - hours_ago * 3_600_000).expect("timestamp");
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

async fn setup() -> anyhow::Result<(TestServer, TestOrg, Browser)> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    server
        .admin
        .set_login(org.coordinator, "samordnare-a", PASSWORD)
        .await?;
    let browser = Browser::new(&server.url);
    Ok((server, org, browser))
}

#[tokio::test]
async fn a_comment_and_a_review_from_the_dashboard_reach_the_authors_phone() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup().await?;
    let author = phone(&server, org.volunteers[0]).await?;
    let id: EntityId = author
        .device
        .create_incident(incident(2, "Stök vid torget.", 1))?;
    author.device.sync_once(&http()).await?;

    assert_eq!(
        browser.sign_in("samordnare-a", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    let (status, inbox) = browser.get("/inbox").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        inbox.contains(&format!("/entries/{id}")),
        "the inbox lists the entry"
    );

    let (status, entry) = browser.get(&format!("/entries/{id}")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(entry.contains("Stök vid torget."));
    let csrf = csrf_of(&entry);
    let (status, to) = browser
        .post(
            &format!("/entries/{id}/comments"),
            &[("csrf", &csrf), ("body", "Kom polisen?")],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to}");
    let (status, _) = browser
        .post(
            &format!("/entries/{id}/review"),
            &[
                ("csrf", &csrf),
                ("review_status", "needs_info"),
                ("tags", "torget"),
                ("forwarded_to", "police"),
            ],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);

    author.device.sync_once(&http()).await?;
    let comments = author.device.comments_for(id)?;
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Kom polisen?");
    let entry = author.device.entry(id)?.expect("entry on the phone");
    let vaka_device::EntryFields::Incident(fields) = entry.fields else {
        panic!("not an incident")
    };
    assert_eq!(fields.review_status, Some(ReviewStatus::NeedsInfo));
    assert_eq!(fields.tags, Some(vec!["torget".to_owned()]));

    // The history shows the coordinator's op next to the phone's.
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(page.contains("Kom polisen?"));
    let rows = history_rows(&page);
    let by = |author: &str, field: &str| {
        rows.iter()
            .any(|row| row.contains(&format!("<td>{author}</td>")) && row.contains(field))
    };
    assert!(
        by("Volontär 0", "Beskrivning</span>: Stök vid torget."),
        "the phone's op in the history: {rows:?}"
    );
    assert!(
        by("Samordnare", "Status</span>: Behöver mer information"),
        "the coordinator's op in the history, in words: {rows:?}"
    );
    assert!(
        by("Volontär 0", "Kategori</span>: Ordningsstörning"),
        "the category by its label: {rows:?}"
    );
    assert!(
        by("Volontär 0", "Position</span>: 59,6100 N, 16,5400 E"),
        "the location as rounded coordinates: {rows:?}"
    );
    assert!(
        by("Samordnare", "Vidarebefordrad till</span>: Polisen"),
        "agencies by their names: {rows:?}"
    );
    let text = words_of(&history_section(&page));
    assert_no_ids_or_json(&text);
    Ok(())
}

#[tokio::test]
async fn a_duplicate_is_chosen_from_the_likely_ones_and_a_refused_comment_stays_on_the_entry()
-> anyhow::Result<()> {
    let (server, org, mut browser) = setup().await?;
    let walker = phone(&server, org.volunteers[0]).await?;
    let other = phone(&server, org.coordinator).await?;
    let first = walker
        .device
        .create_incident(incident(2, "Stök vid torget.", 2))?;
    // The same event from another phone, half an hour later, a few metres away.
    let mut again = incident(2, "Bråk på torget.", 1);
    again.location = Some(Some(Location {
        lat: 59.6102,
        lon: 16.5401,
        accuracy_m: Some(15.0),
    }));
    let second = other.device.create_incident(again)?;
    // Far in time, and far in place: not offered.
    let old = walker
        .device
        .create_incident(incident(2, "Stök förra veckan.", 24 * 7))?;
    let mut far = incident(2, "Stök i Stockholm.", 1);
    far.location = Some(Some(Location {
        lat: 59.3275,
        lon: 18.0546,
        accuracy_m: None,
    }));
    let elsewhere = walker.device.create_incident(far)?;
    walker.device.sync_once(&http()).await?;
    other.device.sync_once(&http()).await?;
    browser.sign_in("samordnare-a", PASSWORD).await?;

    let (_, page) = browser.get(&format!("/entries/{first}")).await?;
    let start = page
        .find("<select id=\"duplicate_of\"")
        .expect("a list of duplicates");
    let select = &page[start..start + page[start..].find("</select>").unwrap_or(0)];
    assert!(
        select.contains(&format!("value=\"{second}\"")),
        "the same event from the other phone is offered: {select}"
    );
    assert!(select.contains("Bråk på torget."), "{select}");
    for (name, id) in [
        ("itself", first),
        ("a week old", old),
        ("far away", elsewhere),
    ] {
        assert!(
            !select.contains(&format!("value=\"{id}\"")),
            "{name} is not offered: {select}"
        );
    }
    let csrf = csrf_of(&page);
    let (status, _) = browser
        .post(
            &format!("/entries/{first}/review"),
            &[("csrf", &csrf), ("duplicate_of", &second.to_string())],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = browser.get(&format!("/entries/{first}")).await?;
    assert!(
        page.contains(&format!("value=\"{second}\" selected")),
        "the chosen duplicate stays chosen"
    );
    // Itself is refused beside the field.
    let (status, page) = browser
        .post(
            &format!("/entries/{first}/review"),
            &[("csrf", &csrf), ("duplicate_of", &first.to_string())],
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("id=\"duplicate_of-error\">En händelse kan inte vara dubblett av sig själv.")
    );

    // A comment of blanks: the entry page again, the message beside the field, the text kept.
    let (status, page) = browser
        .post(
            &format!("/entries/{first}/comments"),
            &[("csrf", &csrf), ("body", "   \n  ")],
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"history\""), "the whole entry page");
    assert!(
        page.contains("id=\"comment-body-error\">Skriv något i kommentaren."),
        "{page}"
    );
    let long = "ord ".repeat(600);
    let (status, page) = browser
        .post(
            &format!("/entries/{first}/comments"),
            &[("csrf", &csrf), ("body", &long)],
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("högst 2000 tecken"));
    assert!(page.contains(long.trim()), "the typed text is kept");
    assert!(!page.contains("validation"), "no raw validation text");
    Ok(())
}

/// The history section of an entry page.
fn history_section(page: &str) -> String {
    let start = page
        .find("id=\"history\"")
        .expect("the page has a history section");
    let section = &page[start..];
    section[..section.find("</section>").unwrap_or(section.len())].to_owned()
}

/// The text of some HTML without its tags (and so without the ids in links).
fn words_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Fails when `text` holds something like a UUID, a JSON object or a wire code.
fn assert_no_ids_or_json(text: &str) {
    let uuid_like = text
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|w| w.len() >= 36 && w.matches('-').count() >= 4);
    assert!(!uuid_like, "an id in: {text}");
    for code in [
        "{&quot;",
        "{\"",
        "_id",
        "needs_info",
        "disturbance",
        "accuracy_m",
        "T0",
        "Z ",
    ] {
        assert!(!text.contains(code), "{code:?} in: {text}");
    }
}

/// The rows of the history section of an entry page.
fn history_rows(page: &str) -> Vec<String> {
    let start = page
        .find("id=\"history\"")
        .expect("the page has a history section");
    let section = &page[start..];
    let section = &section[..section.find("</section>").unwrap_or(section.len())];
    let body = &section[section.find("<tbody>").expect("a table body")..];
    body.split("<tr>").skip(1).map(str::to_owned).collect()
}

#[tokio::test]
async fn a_conflict_is_settled_by_an_op_that_phones_pull() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup().await?;
    // The author's phone shows a clock the test sets.
    let wall = vaka_device::WallClock::manual(vaka_server::now_ms());
    let author_dir = tempfile::tempdir()?;
    let author = Device::open_with_clock(author_dir.path().join("phone.sqlite3"), wall.clone())?;
    let code = server.admin.code(org.volunteers[0]).await?;
    author
        .enroll(&http(), &server.url, &code, "Testtelefon")
        .await?;
    let desk = phone(&server, org.coordinator).await?;
    let id = author.create_incident(incident(3, "Bråk vid stationen.", 2))?;
    author.sync_once(&http()).await?;
    desk.device.sync_once(&http()).await?;
    // Both edit the description without seeing the other's edit. The author's phone clock has
    // jumped two minutes ahead since its last sync, so its edit wins by stamp.
    let two = "Bråk vid stationen, två personer.";
    let three = "Bråk vid stationen, tre personer.";
    desk.device.edit(
        id,
        vaka_shared::op::OpBody::Incident(IncidentFields {
            description: Some(three.into()),
            ..Default::default()
        }),
    )?;
    wall.set(vaka_server::now_ms() + 120_000);
    author.edit(
        id,
        vaka_shared::op::OpBody::Incident(IncidentFields {
            description: Some(two.into()),
            ..Default::default()
        }),
    )?;
    author.sync_once(&http()).await?;
    desk.device.sync_once(&http()).await?;
    let description =
        |snapshot: &vaka_device::StateSnapshot| snapshot[&id].1["description"].clone();
    assert_eq!(
        description(&server.admin.snapshot(org.id).await?),
        serde_json::json!(two),
        "the later stamp won"
    );

    browser.sign_in("samordnare-a", PASSWORD).await?;
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    let at = page.find("/conflicts/").expect("a conflict to settle");
    let action: String = page[at..].split('"').next().unwrap_or_default().to_owned();
    // The coordinator keeps the value that lost.
    let (status, _) = browser
        .post(&action, &[("csrf", &csrf_of(&page)), ("choice", "loser")])
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(!page.contains("/settle\""), "no unsettled conflict left");
    // The card is headed by the field's label and says what was kept, by whom, when.
    let start = page.find("id=\"conflicts\"").expect("a conflicts card");
    let card = &page[start..];
    let card = &card[..card.find("</section>").unwrap_or(card.len())];
    assert!(card.contains("<h3>Beskrivning"), "{card}");
    assert!(
        card.contains("Avgjord av Samordnare ") && card.contains("värdet från Samordnare behölls"),
        "who settled it and which value stands: {card}"
    );
    let kept = &card[card.find("data-side=\"loser\"").expect("the loser's side")..];
    assert!(
        kept.starts_with("data-side=\"loser\"><strong>Behölls</strong>"),
        "{kept}"
    );
    assert!(
        !card.contains("Gällande värde"),
        "no 'current value' once settled: {card}"
    );
    assert_no_ids_or_json(&words_of(card));

    author.sync_once(&http()).await?;
    desk.device.sync_once(&http()).await?;
    let chosen = serde_json::json!(three);
    assert_eq!(
        description(&server.admin.snapshot(org.id).await?),
        chosen,
        "the server keeps the value the coordinator chose"
    );
    for (name, device) in [("author", &author), ("desk", &desk.device)] {
        assert_eq!(
            description(&device.state_snapshot()?),
            chosen,
            "the {name}'s phone keeps the value the coordinator chose"
        );
    }
    Ok(())
}

#[tokio::test]
async fn sign_in_is_refused_for_a_wrong_password_and_limited_after_failures() -> anyhow::Result<()>
{
    let (_server, _org, mut browser) = setup().await?;
    assert_eq!(
        browser.sign_in("samordnare-a", "fel lösenord").await?,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.get("/inbox").await?.0, StatusCode::SEE_OTHER);
    for _ in 0..4 {
        browser.sign_in("samordnare-a", "fel igen").await?;
    }
    assert_eq!(
        browser.sign_in("samordnare-a", PASSWORD).await?,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits after five failures"
    );
    Ok(())
}

#[tokio::test]
async fn missing_csrf_expired_sessions_and_other_organisations_are_refused() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup().await?;
    let other = server.admin.org("Grannsamverkan Annanstad", 1).await?;
    let stranger = phone(&server, other.volunteers[0]).await?;
    let foreign = stranger
        .device
        .create_incident(incident(4, "Annan organisation.", 1))?;
    stranger.device.sync_once(&http()).await?;

    // The sign-in form itself needs its token.
    let (status, _) = browser
        .post(
            "/login",
            &[("login", "samordnare-a"), ("password", PASSWORD)],
        )
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    browser.sign_in("samordnare-a", PASSWORD).await?;
    assert_eq!(
        browser.get(&format!("/entries/{foreign}")).await?.0,
        StatusCode::NOT_FOUND
    );
    let (_, report) = browser.get("/report").await?;
    assert!(!report.contains("Annan organisation."));
    let (status, _) = browser
        .post(&format!("/entries/{foreign}/comments"), &[("body", "x")])
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let csrf = csrf_of(&report);
    let (status, _) = browser
        .post(
            &format!("/entries/{foreign}/comments"),
            &[("csrf", &csrf), ("body", "x")],
        )
        .await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organisation's entry"
    );

    server.admin.expire_sessions(org.coordinator).await?;
    let (status, to) = browser.get("/inbox").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/login?expired=1");
    Ok(())
}

#[tokio::test]
async fn the_report_and_its_exports_count_what_the_store_holds() -> anyhow::Result<()> {
    let (server, org, mut browser) = setup().await?;
    let author = phone(&server, org.volunteers[0]).await?;
    let serious = author
        .device
        .create_incident(incident(4, "Knivhot vid gångtunneln.", 3))?;
    author
        .device
        .create_incident(incident(1, "Hög musik.", 5))?;
    author.device.sync_once(&http()).await?;

    browser.sign_in("samordnare-a", PASSWORD).await?;
    let (status, page) = browser.get("/report").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Knivhot vid gångtunneln."),
        "the serious entry is notable"
    );
    assert!(page.contains("<svg"), "charts are drawn on the server");

    let (status, kind, csv) = browser.get_bytes("/report.csv").await?;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let csv = String::from_utf8(csv)?;
    assert_eq!(csv.lines().count(), 3, "a header and one row per entry");
    assert!(csv.starts_with("id,kind,occurred_at"));
    assert!(csv.contains(&serious.to_string()));

    let (_, _, geojson) = browser.get_bytes("/report.geojson").await?;
    let geojson: serde_json::Value = serde_json::from_slice(&geojson)?;
    let points = geojson["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point")
        .count();
    assert_eq!(points, 2);

    let (_, kind, pdf) = browser.get_bytes("/report.pdf").await?;
    assert_eq!(kind, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = vaka_server::dashboard::shown_text(&pdf);
    for heading in [
        "Lägesbild",
        "Nyckeltal",
        "Per område",
        "Polis",
        "Allvarligaste händelserna",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "the PDF has the heading {heading}"
        );
    }
    assert!(
        text.contains("Knivhot vid gångtunneln."),
        "and the serious entry"
    );
    Ok(())
}

#[tokio::test]
async fn a_photo_shows_on_the_entry_once_uploaded_and_only_in_its_organisation()
-> anyhow::Result<()> {
    const PHOTO: &str = "inte riktigt en jpeg, men bytes som hashas";
    let (server, org, mut browser) = setup().await?;
    let author = phone(&server, org.volunteers[0]).await?;
    let sha = vaka_server::secrets::hash_token(PHOTO);
    let id = author.device.create_incident(IncidentFields {
        attachments: Some(vec![vaka_shared::model::AttachmentRef {
            sha256: sha.clone(),
            size: PHOTO.len() as u64,
            content_type: "image/jpeg".into(),
        }]),
        ..incident(2, "Klotter på skolans vägg.", 1)
    })?;
    author.device.sync_once(&http()).await?;

    browser.sign_in("samordnare-a", PASSWORD).await?;
    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(
        page.contains("foto väntar på uppladdning"),
        "pending before upload"
    );
    assert_eq!(
        browser.get(&format!("/photos/{sha}")).await?.0,
        StatusCode::NOT_FOUND
    );

    let code = server.admin.code(org.volunteers[0]).await?;
    let uploader = vaka_tests::raw::RawDevice::enroll(&server.url, &code).await?;
    let put = http()
        .put(format!(
            "{}/api/v1/blobs/{sha}?offset=0&size={}",
            server.url,
            PHOTO.len()
        ))
        .bearer_auth(&uploader.enrolled.token)
        .header(CONTENT_TYPE, "image/jpeg")
        .body(PHOTO)
        .send()
        .await?;
    assert!(put.status().is_success(), "{}", put.status());

    let (_, page) = browser.get(&format!("/entries/{id}")).await?;
    assert!(page.contains(&format!("src=\"/photos/{sha}\"")));
    let (status, kind, bytes) = browser.get_bytes(&format!("/photos/{sha}")).await?;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(bytes, PHOTO.as_bytes());

    // A coordinator of another organisation cannot fetch it by its hash.
    let other = server.admin.org("Annan förening", 0).await?;
    server
        .admin
        .set_login(other.coordinator, "samordnare-b", PASSWORD)
        .await?;
    let mut stranger = Browser::new(&server.url);
    stranger.sign_in("samordnare-b", PASSWORD).await?;
    assert_eq!(
        stranger.get(&format!("/photos/{sha}")).await?.0,
        StatusCode::NOT_FOUND
    );
    Ok(())
}
