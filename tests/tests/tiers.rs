//! Tiers, over HTTP against a real server with real device cores: a liaison sees the situation
//! report as aggregates only and gets 404 on everything else; associations share their
//! aggregates with a municipality, whose coordinators get a combined report equal to the sum of
//! the associations' own, until a share is withdrawn; small counts are suppressed so that no
//! published total undoes it; every view of shared aggregates is in the audit log of both sides;
//! and the role × route × organisation matrix over the dashboard and the API.

use reqwest::StatusCode;
use vaka_shared::model::{CategoryCode, IncidentFields, Location, Role, Severity};
use vaka_shared::{EntityId, MemberId, Timestamp};
use vaka_tests::browser::{Browser, csrf_of};
use vaka_tests::{TestOrg, TestPhone as Phone, TestServer, http};

const PASSWORD: &str = "en lång och god lösenfras";

async fn phone(server: &TestServer, member: MemberId) -> anyhow::Result<Phone> {
    Phone::enrolled(server, member).await
}

fn incident(text: &str, hours_ago: i64, category: &str) -> IncidentFields {
    let at =
        Timestamp::from_unix_ms(vaka_server::now_ms() - hours_ago * 3_600_000).expect("timestamp");
    IncidentFields {
        occurred_at: Some(at),
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(2)),
        description: Some(text.to_owned()),
        location: Some(Some(Location {
            lat: 59.611,
            lon: 16.545,
            accuracy_m: None,
        })),
        ..Default::default()
    }
}

/// An organisation with `incidents` incidents logged by a phone, and a coordinator (made admin)
/// signed in with `login`.
struct Tier {
    org: TestOrg,
    entries: Vec<EntityId>,
    browser: Browser,
}

async fn tier(
    server: &TestServer,
    name: &str,
    login: &str,
    incidents: usize,
) -> anyhow::Result<Tier> {
    let org = server.admin.org(name, 1).await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, login, PASSWORD)
        .await?;
    let walker = phone(server, org.volunteers[0]).await?;
    let mut entries = Vec::new();
    for i in 0..incidents {
        let category = if i % 2 == 0 {
            "disturbance"
        } else {
            "vandalism"
        };
        entries.push(walker.device.create_incident(incident(
            &format!("{name} TEXT{i}"),
            2 + i as i64,
            category,
        ))?);
    }
    walker.device.sync_once(&http()).await?;
    let mut browser = Browser::new(&server.url);
    assert_eq!(
        browser.sign_in(login, PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    Ok(Tier {
        org,
        entries,
        browser,
    })
}

async fn liaison_of(server: &TestServer, org: &TestOrg, login: &str) -> anyhow::Result<Browser> {
    let liaison = server
        .admin
        .org_member(org.id, "Kontaktperson", Role::Liaison)
        .await?;
    server.admin.set_login(liaison, login, PASSWORD).await?;
    let mut browser = Browser::new(&server.url);
    assert_eq!(
        browser.sign_in(login, PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    Ok(browser)
}

/// The number of the key figure `label` on an organisation's own report page.
fn own_figure(page: &str, label: &str) -> i64 {
    let marker = format!("data-kpi=\"{label}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no key figure {label}"))
        + marker.len();
    page[start..]
        .split('<')
        .next()
        .expect("number")
        .trim()
        .parse()
        .expect("a count")
}

/// The number in the key-figure row `label` of an aggregate page, as shown.
fn key_figure(page: &str, label: &str) -> String {
    let start = page
        .find(&format!("<td>{label}</td>"))
        .unwrap_or_else(|| panic!("no row {label}"));
    let rest = &page[start..];
    let cell = rest
        .split("<td class=\"num\">")
        .nth(1)
        .expect("a number cell");
    cell.split("</td>").next().expect("cell end").to_owned()
}

async fn share(
    from: &mut Browser,
    to: vaka_shared::OrgId,
    action: &str,
) -> anyhow::Result<StatusCode> {
    let (_, page) = from.get("/settings").await?;
    let csrf = csrf_of(&page);
    let to = to.to_string();
    let (status, _) = from
        .post(
            &format!("/settings/{action}"),
            &[("csrf", &csrf), ("org", &to), ("confirm", "yes")],
        )
        .await?;
    Ok(status)
}

#[tokio::test]
async fn a_liaison_sees_aggregates_only_and_nothing_else() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut a = tier(&server, "Nattvandrarna A", "admin-a", 5).await?;
    let mut liaison = liaison_of(&server, &a.org, "polis-a").await?;
    let (status, to) = liaison.get("/start").await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        to.contains("/report"),
        "a liaison starts at the report: {to}"
    );
    let (status, page) = liaison.get("/report").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Endast sammanställda tal"));
    assert_eq!(key_figure(&page, "Händelser"), "5");
    for id in &a.entries {
        assert!(
            !page.contains(&id.to_string()),
            "no entry id on a liaison's page"
        );
    }
    assert!(!page.contains("TEXT"), "no free text");
    assert!(
        !page.contains("59.611") && !page.contains("16.545"),
        "no exact point"
    );
    let entry = a.entries[0];
    for path in [
        "/inbox".to_owned(),
        format!("/entries/{entry}"),
        "/people".to_owned(),
        "/areas".to_owned(),
        "/settings".to_owned(),
        "/audit".to_owned(),
        "/audit.csv".to_owned(),
        format!("/photos/{}", "a".repeat(64)),
    ] {
        let (status, _) = liaison.get(&path).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} answers a liaison");
    }
    let (_, page) = liaison.get("/report").await?;
    let csrf = csrf_of(&page);
    let (status, _) = liaison
        .post(
            &format!("/entries/{entry}/comments"),
            &[("csrf", &csrf), ("body", "hej")],
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "a liaison writes nothing");
    // The CSV is of aggregates, the GeoJSON a grid: no entry, no point.
    let (status, _, csv) = liaison.get_bytes("/report.csv").await?;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv)?;
    assert!(
        csv.starts_with("table,row,this_period,previous_period,change\n"),
        "{csv}"
    );
    assert!(!csv.contains(&entry.to_string()) && !csv.contains("TEXT"));
    let (_, _, geojson) = liaison.get_bytes("/report.geojson").await?;
    let geojson: serde_json::Value = serde_json::from_slice(&geojson)?;
    let features = geojson["features"].as_array().expect("features");
    assert!(!features.is_empty());
    assert!(
        features.iter().all(|f| f["geometry"]["type"] == "Polygon"),
        "cells, never points"
    );
    assert_eq!(features[0]["properties"]["count"], 5);
    let (status, kind, pdf) = liaison.get_bytes("/report.pdf").await?;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    let text = vaka_server::dashboard::shown_text(&pdf);
    assert!(!text.contains("TEXT"), "no free text in the PDF");
    // The coordinators of the organisation still see everything.
    let (status, _) = a.browser.get(&format!("/entries/{entry}")).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_municipality_sees_the_sum_of_what_is_shared_with_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut a = tier(&server, "Nattvandrarna A", "admin-a", 6).await?;
    let mut b = tier(&server, "Grannsamverkan B", "admin-b", 4).await?;
    let mut m = tier(&server, "Kommunen M", "admin-m", 0).await?;
    server.admin.make_municipality(m.org.id).await?;
    assert_eq!(
        share(&mut a.browser, m.org.id, "share").await?,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        share(&mut b.browser, m.org.id, "share").await?,
        StatusCode::SEE_OTHER
    );
    // An association is no place to share with.
    assert_eq!(
        share(&mut a.browser, b.org.id, "share").await?,
        StatusCode::NOT_FOUND
    );

    let own = |page: &str| key_figure(page, "Händelser");
    let (_, a_report) = a.browser.get("/report").await?;
    let (_, b_report) = b.browser.get("/report").await?;
    let (a_count, b_count) = (
        own_figure(&a_report, "Händelser"),
        own_figure(&b_report, "Händelser"),
    );
    assert_eq!((a_count, b_count), (6, 4));
    let (_, m_own) = m.browser.get("/report").await?;
    assert!(
        m_own.contains("id=\"combined\""),
        "the municipality is offered the combined report"
    );
    let (status, combined) = m.browser.get("/report?scope=combined").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(combined.contains("Nattvandrarna A") && combined.contains("Grannsamverkan B"));
    assert_eq!(
        own(&combined),
        (a_count + b_count).to_string(),
        "the combined count is the sum"
    );
    // Still no entry of theirs.
    for id in a.entries.iter().chain(&b.entries) {
        assert!(!combined.contains(&id.to_string()));
        let (status, _) = m.browser.get(&format!("/entries/{id}")).await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Both sides' audit logs hold the view.
    let (a_id, m_id) = (a.org.id.to_string(), m.org.id.to_string());
    let row = server
        .admin
        .rows(
            "SELECT (SELECT COUNT(*) FROM audit_log WHERE org_id = ?1 AND action = 'shared_aggregates_viewed'),
                    (SELECT COUNT(*) FROM audit_log WHERE org_id = ?2 AND action = 'shared_aggregates_viewed')",
            &[&a_id, &m_id],
        )
        .await?;
    let views = (
        row[0][0].as_i64().unwrap_or_default(),
        row[0][1].as_i64().unwrap_or_default(),
    );
    assert!(views.0 >= 1 && views.1 >= 1, "{views:?}");

    // Withdrawn, B is gone from the combined report.
    assert_eq!(
        share(&mut b.browser, m.org.id, "withdraw").await?,
        StatusCode::SEE_OTHER
    );
    let (_, combined) = m.browser.get("/report?scope=combined").await?;
    assert!(!combined.contains("Grannsamverkan B"));
    assert_eq!(own(&combined), a_count.to_string());
    Ok(())
}

#[tokio::test]
async fn small_counts_are_suppressed_and_no_total_gives_them_away() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut a = tier(&server, "Nattvandrarna A", "admin-a", 5).await?;
    let mut b = tier(&server, "Grannsamverkan B", "admin-b", 2).await?;
    let m = tier(&server, "Kommunen M", "admin-m", 0).await?;
    server.admin.make_municipality(m.org.id).await?;
    share(&mut a.browser, m.org.id, "share").await?;
    share(&mut b.browser, m.org.id, "share").await?;
    let mut liaison = liaison_of(&server, &m.org, "polis-m").await?;
    let (_, page) = liaison.get("/report").await?;
    assert_eq!(key_figure(&page, "Händelser"), "7");
    // B's 2 incidents are "<3"; A's 5 are hidden with them, or 7 − 5 would give B's away.
    let parts_start = page.find("Per organisation").expect("parts table");
    let parts = &page[parts_start
        ..page[parts_start..]
            .find("</table>")
            .map_or(page.len(), |e| parts_start + e)];
    assert!(parts.contains("&lt;3"), "{parts}");
    assert!(
        parts.contains(">dolt<"),
        "the complementary cell is hidden: {parts}"
    );
    assert!(!parts.contains(">5<") && !parts.contains(">2<"), "{parts}");
    assert!(
        page.contains("id=\"suppression-rule\""),
        "the page states its rule"
    );
    let (_, _, csv) = liaison.get_bytes("/report.csv").await?;
    let csv = String::from_utf8(csv)?;
    for line in csv.lines().filter(|l| l.starts_with("Per organisation")) {
        assert!(!line.contains(",5,") && !line.contains(",2,"), "{line}");
    }
    Ok(())
}

#[tokio::test]
async fn every_route_is_confined_to_its_role_and_organisation() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut own = tier(&server, "Egen förening", "admin-own", 1).await?;
    let mut sharing = tier(&server, "Delande förening", "admin-sharing", 1).await?;
    let unrelated = tier(&server, "Annan förening", "admin-other", 1).await?;
    let mut municipality = tier(&server, "Kommunen", "admin-m", 0).await?;
    server.admin.make_municipality(municipality.org.id).await?;
    share(&mut sharing.browser, municipality.org.id, "share").await?;
    // A coordinator (not admin) of the own organisation, a liaison of it, a municipal
    // coordinator.
    let coordinator = server
        .admin
        .org_member(own.org.id, "Samordnare 2", Role::Coordinator)
        .await?;
    server
        .admin
        .set_login(coordinator, "coord-own", PASSWORD)
        .await?;
    let mut coordinator_browser = Browser::new(&server.url);
    coordinator_browser.sign_in("coord-own", PASSWORD).await?;
    let mut liaison = liaison_of(&server, &own.org, "polis-own").await?;

    let entry_of = |t: &Tier| t.entries[0];
    let (own_entry, sharing_entry, other_entry) =
        (entry_of(&own), entry_of(&sharing), entry_of(&unrelated));
    use StatusCode as S;
    // (path, admin, coordinator, liaison, municipal admin)
    let table: Vec<(String, [S; 4])> = vec![
        ("/inbox".into(), [S::OK, S::OK, S::NOT_FOUND, S::OK]),
        (
            format!("/entries/{own_entry}"),
            [S::OK, S::OK, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (format!("/entries/{sharing_entry}"), [S::NOT_FOUND; 4]),
        (format!("/entries/{other_entry}"), [S::NOT_FOUND; 4]),
        ("/people".into(), [S::OK, S::OK, S::NOT_FOUND, S::OK]),
        ("/areas".into(), [S::OK, S::OK, S::NOT_FOUND, S::OK]),
        (
            "/settings".into(),
            [S::OK, S::NOT_FOUND, S::NOT_FOUND, S::OK],
        ),
        ("/audit".into(), [S::OK, S::NOT_FOUND, S::NOT_FOUND, S::OK]),
        ("/report".into(), [S::OK; 4]),
        ("/report?scope=combined".into(), [S::OK; 4]),
        ("/report.csv".into(), [S::OK; 4]),
        ("/report.geojson".into(), [S::OK; 4]),
        ("/report.pdf".into(), [S::OK; 4]),
    ];
    let mut failures = Vec::new();
    for (path, expected) in &table {
        let browsers: [&mut Browser; 4] = [
            &mut own.browser,
            &mut coordinator_browser,
            &mut liaison,
            &mut municipality.browser,
        ];
        for (who, (browser, want)) in ["admin", "coordinator", "liaison", "municipal admin"]
            .iter()
            .zip(browsers.into_iter().zip(expected))
        {
            let (status, _, _) = browser.get_bytes(path).await?;
            if status != *want {
                failures.push(format!("{who} {path}: {status}, expected {want}"));
            }
        }
    }
    // The municipality's combined report holds the sharing association, never the unrelated one.
    let (_, combined) = municipality.browser.get("/report?scope=combined").await?;
    assert!(combined.contains("Delande förening"));
    assert!(!combined.contains("Annan förening") && !combined.contains("Egen förening"));
    // A volunteer's phone: the sync API gives only its own organisation's entries.
    let volunteer = phone(&server, own.org.volunteers[0]).await?;
    volunteer.device.sync_once(&http()).await?;
    let seen: Vec<EntityId> = volunteer.device.entries()?.iter().map(|e| e.id).collect();
    assert_eq!(
        seen,
        vec![own_entry],
        "a phone pulls only its own organisation"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Adds an area named `name` from the areas page; its id.
async fn area_of(browser: &mut Browser, name: &str) -> anyhow::Result<String> {
    let (_, page) = browser.get("/areas").await?;
    let square =
        r#"{"type":"Polygon","coordinates":[[[16.5,59.6],[16.6,59.6],[16.6,59.7],[16.5,59.6]]]}"#;
    let (status, _) = browser
        .post(
            "/areas",
            &[
                ("csrf", &csrf_of(&page)),
                ("name", name),
                ("geojson", square),
            ],
        )
        .await?;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = browser.get("/areas").await?;
    let end = page.find("/rename\"").expect("a rename form");
    let start = page[..end].rfind("/areas/").expect("its path") + "/areas/".len();
    Ok(page[start..end].to_owned())
}

#[tokio::test]
async fn every_form_refuses_a_liaison_and_another_organisations_ids() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut own = tier(&server, "Egen förening", "admin-own", 1).await?;
    let other = tier(&server, "Annan förening", "admin-other", 1).await?;
    let mut liaison = liaison_of(&server, &own.org, "polis-own").await?;
    let (own_entry, other_entry) = (own.entries[0], other.entries[0]);
    let other_member = other.org.volunteers[0];
    let other_device = device_of(&server, other_member).await?;
    let mut other = other;
    let own_area = area_of(&mut own.browser, "Eget torg").await?;
    let other_area = area_of(&mut other.browser, "Annans torg").await?;
    let form_paths = |entry: EntityId, member: MemberId, device: &str, area: &str| {
        vec![
            format!("/areas/{area}/rename"),
            format!("/areas/{area}/remove"),
            format!("/entries/{entry}/review"),
            format!("/entries/{entry}/comments"),
            format!("/entries/{entry}/hold"),
            format!("/entries/{entry}/redact"),
            format!("/people/{member}/update"),
            format!("/people/{member}/code"),
            format!("/people/{member}/remove"),
            format!("/devices/{device}/revoke"),
            format!("/devices/{device}/lost"),
            format!("/devices/{device}/retire"),
        ]
    };
    let fields = [
        ("review_status", "reviewed"),
        ("body", "hej"),
        ("reason", "polisärende"),
        ("field", "description"),
        ("value", "ny text"),
        ("confirm", "yes"),
        ("role", "coordinator"),
        ("name", "Övertaget"),
    ];
    let mut failures = Vec::new();
    // An admin of one organisation, with another organisation's ids: 404, nothing changed.
    let (_, page) = own.browser.get("/inbox").await?;
    let csrf = csrf_of(&page);
    for path in form_paths(other_entry, other_member, &other_device, &other_area) {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(&fields);
        let (status, _) = own.browser.post(&path, &form).await?;
        if status != StatusCode::NOT_FOUND {
            failures.push(format!("admin of another organisation {path}: {status}"));
        }
    }
    // A liaison, with its own organisation's ids: 404 on every form, and on the settings forms.
    let own_member = own.org.volunteers[0];
    let own_device = device_of(&server, own_member).await?;
    let (_, page) = liaison.get("/report").await?;
    let csrf = csrf_of(&page);
    let mut liaison_paths = form_paths(own_entry, own_member, &own_device, &own_area);
    liaison_paths.extend(
        [
            "/settings/retention",
            "/settings/share",
            "/settings/withdraw",
            "/report/summary",
            "/areas",
            "/people",
        ]
        .map(str::to_owned),
    );
    for path in liaison_paths {
        let mut form = vec![("csrf", csrf.as_str()), ("retention_days", "30")];
        form.extend_from_slice(&fields);
        let (status, _) = liaison.post(&path, &form).await?;
        if status != StatusCode::NOT_FOUND {
            failures.push(format!("liaison {path}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing of the other organisation changed, and the liaison's own entries neither.
    let snapshot = server.admin.snapshot(other.org.id).await?;
    let (_, values) = snapshot.get(&other_entry).expect("still there");
    assert!(values.get("review_status").is_none() && values.get("retention_hold").is_none());
    let (_, values) = server
        .admin
        .snapshot(own.org.id)
        .await?
        .get(&own_entry)
        .cloned()
        .expect("there");
    assert!(
        values.get("review_status").is_none(),
        "a liaison wrote nothing"
    );
    for (browser, name) in [
        (&mut other.browser, "Annans torg"),
        (&mut own.browser, "Eget torg"),
    ] {
        let (_, page) = browser.get("/areas").await?;
        assert!(
            page.contains(&format!("value=\"{name}\"")) && !page.contains("Övertaget"),
            "the area {name} is neither renamed nor removed"
        );
    }
    Ok(())
}

/// The id of `member`'s device.
async fn device_of(server: &TestServer, member: MemberId) -> anyhow::Result<String> {
    let rows = server
        .admin
        .rows(
            "SELECT id FROM devices WHERE member_id = ?1",
            &[&member.to_string()],
        )
        .await?;
    Ok(rows[0][0].as_str().unwrap_or_default().to_owned())
}
