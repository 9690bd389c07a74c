//! The audit chain end to end: every dashboard action the audit log lists writes its record with
//! the right actor and ids and never an entry's text, only admins read and export it, and
//! `vaka-server audit verify` passes on an untouched log and fails after a record is edited,
//! deleted or two are swapped directly in SQLite.

use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;
use vaka_device::Device;
use vaka_shared::model::{CategoryCode, IncidentFields, Location, Role, Severity};
use vaka_shared::op::OpBody;
use vaka_shared::{EntityId, MemberId, OrgId, Timestamp};
use vaka_tests::TestServer;
use vaka_tests::browser::{Browser, csrf_of};

const PASSWORD: &str = "en lång och god lösenfras";
const DAY_MS: i64 = 24 * 3_600_000;
/// The text of the entry the test views: it must never reach the audit log.
const SECRET: &str = "HEMLIGBESKRIVNING vid torget";

struct Phone {
    device: Device,
    _dir: TempDir,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

async fn phone_with(
    server: &TestServer,
    member: MemberId,
    clock: Option<vaka_device::WallClock>,
) -> anyhow::Result<Phone> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("phone.sqlite3");
    let device = match clock {
        Some(clock) => Device::open_with_clock(path, clock)?,
        None => Device::open(path)?,
    };
    let code = server.admin.code(member).await?;
    device
        .enroll(&http(), &server.url, &code, "Testtelefon")
        .await?;
    Ok(Phone { device, _dir: dir })
}

fn incident(text: &str, days_ago: i64) -> IncidentFields {
    let at = Timestamp::from_unix_ms(vaka_server::now_ms() - days_ago * DAY_MS - 3_600_000)
        .expect("timestamp");
    IncidentFields {
        occurred_at: Some(at),
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(2)),
        description: Some(text.to_owned()),
        location: Some(Some(Location {
            lat: 59.61,
            lon: 16.54,
            accuracy_m: None,
        })),
        ..Default::default()
    }
}

/// One audit record as stored.
#[derive(Debug, Clone)]
struct Record {
    org: String,
    actor: Option<String>,
    action: String,
    details: Value,
}

/// Every record, oldest first (chain by chain, in the order they were written).
async fn records(server: &TestServer) -> anyhow::Result<Vec<Record>> {
    let rows = server
        .admin
        .rows(
            "SELECT org_id, actor_id, action, details FROM audit_log ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Record {
            org: text(&r[0]),
            actor: r[1].as_str().map(str::to_owned),
            action: text(&r[2]),
            details: serde_json::from_str(r[3].as_str().unwrap_or_default()).unwrap_or(Value::Null),
        })
        .collect())
}

/// A text column of a row from `Admin::rows`.
fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The raw rows of the audit table, every column as text.
async fn raw_rows(server: &TestServer) -> anyhow::Result<String> {
    let rows = server
        .admin
        .rows(
            "SELECT org_id || '|' || chain_seq || '|' || at_ms || '|' || COALESCE(actor_id, '')
                    || '|' || actor_name || '|' || action || '|' || details || '|' || prev_hash
                    || '|' || hash FROM audit_log ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| text(&r[0]))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The ids of `member`'s devices, oldest first.
async fn devices_of(server: &TestServer, member: MemberId) -> anyhow::Result<Vec<String>> {
    let rows = server
        .admin
        .rows(
            "SELECT id FROM devices WHERE member_id = ?1 ORDER BY created_at_ms",
            &[&member.to_string()],
        )
        .await?;
    Ok(rows.iter().map(|r| text(&r[0])).collect())
}

/// A form on `page_path` posted to `action` with the page's CSRF token and `form`.
async fn post_from(
    browser: &mut Browser,
    page_path: &str,
    action: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<StatusCode> {
    let (_, page) = browser.get(page_path).await?;
    let csrf = csrf_of(&page);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    Ok(browser.post(action, &fields).await?.0)
}

/// What a step of the table must have written: its newest record.
struct Expected {
    action: &'static str,
    /// The org chain it goes into (`None`: the chain of unknown names).
    org: Option<OrgId>,
    /// The member who did it (`None`: nobody or the server).
    actor: Option<MemberId>,
    /// Details that must be as given.
    details: Vec<(&'static str, Value)>,
}

/// A step of the table: its name, `GET`, `POST` (the form posted from the page that holds it)
/// or `NONE` (written by the step before), the path, the form's fields, the record it writes.
type Step<'a> = (&'a str, &'a str, String, Vec<(&'a str, &'a str)>, Expected);

fn check(step: &str, got: &[Record], before: usize, expected: &Expected) {
    let new = &got[before..];
    let record = new
        .iter()
        .rev()
        .find(|r| r.action == expected.action)
        .unwrap_or_else(|| panic!("{step}: no {} record among {new:?}", expected.action));
    assert_eq!(
        record.org,
        expected.org.map(|o| o.to_string()).unwrap_or_default(),
        "{step}: chain"
    );
    assert_eq!(
        record.actor,
        expected.actor.map(|m| m.to_string()),
        "{step}: actor"
    );
    for (key, value) in &expected.details {
        assert_eq!(&record.details[key], value, "{step}: {key} in {record:?}");
    }
}

/// An area id the report is asked for (no such area: the record holds what was asked).
const AN_AREA: &str = "0190aaaa-0000-7000-8000-000000000001";

#[tokio::test]
async fn every_listed_dashboard_action_writes_its_record_and_never_entry_text() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 4).await?;
    let admin = org.coordinator;
    server.admin.set_role(admin, Role::Admin).await?;
    server.admin.set_login(admin, "admin-a", PASSWORD).await?;
    // A second coordinator's phone writes against the walker's, making a conflict.
    let wall = vaka_device::WallClock::manual(vaka_server::now_ms());
    let walker = phone_with(&server, org.volunteers[0], Some(wall.clone())).await?;
    let desk = phone_with(&server, admin, None).await?;
    let _phones = [
        phone_with(&server, org.volunteers[2], None).await?,
        phone_with(&server, org.volunteers[2], None).await?,
        phone_with(&server, org.volunteers[2], None).await?,
    ];
    let id = walker.device.create_incident(incident(SECRET, 1))?;
    let old = walker
        .device
        .create_incident(incident("GAMMAL HÄNDELSE", 60))?;
    walker.device.sync_once(&http()).await?;
    desk.device.sync_once(&http()).await?;
    desk.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            description: Some("Bråk vid torget, tre personer".to_owned()),
            ..Default::default()
        }),
    )?;
    wall.set(vaka_server::now_ms() + 120_000);
    walker.device.edit(
        id,
        OpBody::Incident(IncidentFields {
            description: Some("Bråk vid torget, två personer".to_owned()),
            ..Default::default()
        }),
    )?;
    walker.device.sync_once(&http()).await?;
    desk.device.sync_once(&http()).await?;
    let [lost_id, retired_id, revoked_id] =
        <[String; 3]>::try_from(devices_of(&server, org.volunteers[2]).await?)
            .map_err(|_| anyhow::anyhow!("three devices"))?;

    let mut browser = Browser::new(&server.url);
    let member = |m: MemberId| Value::String(m.to_string());
    let text = |s: &str| Value::String(s.to_owned());
    let entry = Value::String(id.to_string());
    let report = "?from=2026-01-01&to=2026-01-14";

    // Signing in, failing under a member's name and under a name no one has.
    let before = records(&server).await?.len();
    assert_eq!(
        browser.sign_in("admin-a", "fel lösenord!").await?,
        StatusCode::UNAUTHORIZED
    );
    let got = records(&server).await?;
    check(
        "failed sign-in",
        &got,
        before,
        &Expected {
            action: "sign_in_failed",
            org: Some(org.id),
            actor: None,
            details: vec![("login", text("admin-a")), ("address", text("127.0.0.1"))],
        },
    );
    let long_name = format!("ingen-sådan-{}", "x".repeat(80));
    let before = got.len();
    browser.sign_in(&long_name, "fel lösenord!").await?;
    let got = records(&server).await?;
    let kept: String = long_name.chars().take(40).collect();
    check(
        "failed sign-in, unknown name",
        &got,
        before,
        &Expected {
            action: "sign_in_failed",
            org: None,
            actor: None,
            details: vec![("login", text(&kept))],
        },
    );
    let before = got.len();
    assert_eq!(
        browser.sign_in("admin-a", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    let got = records(&server).await?;
    check(
        "sign-in",
        &got,
        before,
        &Expected {
            action: "signed_in",
            org: Some(org.id),
            actor: Some(admin),
            details: vec![("address", text("127.0.0.1"))],
        },
    );
    let raw_after_sign_in = raw_rows(&server).await?;
    assert!(!raw_after_sign_in.contains(PASSWORD) && !raw_after_sign_in.contains("fel lösenord"));

    // Each dashboard route of the table, then the record it must have written.
    let conflict_path = {
        let (_, page) = browser.get(&format!("/entries/{id}")).await?;
        let at = page.find("/conflicts/").expect("a conflict to settle");
        page[at..].split('"').next().unwrap_or_default().to_owned()
    };
    let conflict: i64 = conflict_path
        .trim_start_matches("/conflicts/")
        .trim_end_matches("/settle")
        .parse()?;
    let entry_path = format!("/entries/{id}");
    let steps: Vec<Step<'_>> = vec![
        (
            "entry page",
            "GET",
            entry_path.clone(),
            vec![],
            Expected {
                action: "entry_viewed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("entry", entry.clone())],
            },
        ),
        (
            "report page",
            "GET",
            format!("/report{report}&area={AN_AREA}"),
            vec![],
            Expected {
                action: "report_viewed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![
                    ("from", text("2026-01-01")),
                    ("to", text("2026-01-14")),
                    ("format", text("page")),
                    ("areas", serde_json::json!([AN_AREA])),
                ],
            },
        ),
        (
            "report PDF",
            "GET",
            format!("/report.pdf{report}"),
            vec![],
            Expected {
                action: "report_viewed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("format", text("pdf")), ("from", text("2026-01-01"))],
            },
        ),
        (
            "report CSV",
            "GET",
            format!("/report.csv{report}"),
            vec![],
            Expected {
                action: "report_viewed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("format", text("csv")), ("to", text("2026-01-14"))],
            },
        ),
        (
            "report GeoJSON",
            "GET",
            format!("/report.geojson{report}"),
            vec![],
            Expected {
                action: "report_viewed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("format", text("geojson"))],
            },
        ),
        (
            "enrolment code",
            "POST",
            format!("/people/{}/code", org.volunteers[3]),
            vec![],
            Expected {
                action: "enrolment_code_created",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("member", member(org.volunteers[3]))],
            },
        ),
        (
            "conflict settled",
            "POST",
            conflict_path.clone(),
            vec![("choice", "loser")],
            Expected {
                action: "conflict_settled",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![
                    ("conflict", serde_json::json!(conflict)),
                    ("entry", entry.clone()),
                    ("field", text("description")),
                    ("choice", text("loser")),
                ],
            },
        ),
        (
            "hold set",
            "POST",
            format!("/entries/{id}/hold"),
            vec![("reason", "Polisanmälan HEMLIGT-SKÄL")],
            Expected {
                action: "hold_set",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("entry", entry.clone())],
            },
        ),
        (
            "hold released",
            "POST",
            format!("/entries/{id}/hold"),
            vec![("release", "1")],
            Expected {
                action: "hold_released",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("entry", entry.clone())],
            },
        ),
        (
            "redaction",
            "POST",
            format!("/entries/{id}/redact"),
            vec![
                ("field", "description"),
                ("value", "Bråk vid torget"),
                ("confirm", "yes"),
            ],
            Expected {
                action: "text_redacted",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("entry", entry.clone()), ("field", text("description"))],
            },
        ),
        (
            "device lost",
            "POST",
            format!("/devices/{lost_id}/lost"),
            vec![("confirm", "yes")],
            Expected {
                action: "device_marked_lost",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("device", text(&lost_id))],
            },
        ),
        (
            "device retired",
            "POST",
            format!("/devices/{retired_id}/retire"),
            vec![("confirm", "yes")],
            Expected {
                action: "device_retired",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("device", text(&retired_id))],
            },
        ),
        (
            "device revoked",
            "POST",
            format!("/devices/{revoked_id}/revoke"),
            vec![("confirm", "yes")],
            Expected {
                action: "device_revoked",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("device", text(&revoked_id))],
            },
        ),
        (
            "member removed",
            "POST",
            format!("/people/{}/remove", org.volunteers[3]),
            vec![("confirm", "yes")],
            Expected {
                action: "member_removed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![("member", member(org.volunteers[3]))],
            },
        ),
        (
            "retention changed, then the purge",
            "POST",
            "/settings/retention".to_owned(),
            vec![("retention_days", "30"), ("confirm", "yes")],
            Expected {
                action: "retention_changed",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![
                    ("from_days", serde_json::json!(730)),
                    ("to_days", serde_json::json!(30)),
                ],
            },
        ),
        (
            "purge run",
            "NONE",
            String::new(),
            vec![],
            Expected {
                action: "entries_purged",
                org: Some(org.id),
                actor: None,
                details: vec![("entries", serde_json::json!(1))],
            },
        ),
        (
            "audit CSV",
            "GET",
            "/audit.csv?action=entry_viewed&from=2026-01-01".to_owned(),
            vec![],
            Expected {
                action: "audit_exported",
                org: Some(org.id),
                actor: Some(admin),
                details: vec![
                    ("action", text("entry_viewed")),
                    ("from", text("2026-01-01")),
                    ("member", Value::Null),
                ],
            },
        ),
    ];
    let mut before = records(&server).await?.len();
    for (step, method, path, form, expected) in &steps {
        let status = match *method {
            "GET" => browser.get(path).await?.0,
            "POST" => {
                let page = if path.starts_with("/devices/") || path.starts_with("/people/") {
                    "/people"
                } else if path.starts_with("/settings") {
                    "/settings"
                } else {
                    entry_path.as_str()
                };
                post_from(&mut browser, page, path, form).await?
            }
            _ => StatusCode::OK,
        };
        assert!(
            status.is_success() || status.is_redirection(),
            "{step}: {path} answered {status}"
        );
        let got = records(&server).await?;
        if *method != "NONE" {
            assert!(got.len() > before, "{step}: no new record");
        }
        check(step, &got, before.min(got.len() - 1), expected);
        before = got.len();
    }
    assert!(
        !server.admin.snapshot(org.id).await?.contains_key(&old),
        "the old entry was purged"
    );

    // No entry text, hold reason or password in any raw row.
    let raw = raw_rows(&server).await?;
    for secret in [
        SECRET,
        "HEMLIGBESKRIVNING",
        "HEMLIGT-SKÄL",
        "GAMMAL HÄNDELSE",
        PASSWORD,
    ] {
        assert!(!raw.contains(secret), "{secret} in the audit log:\n{raw}");
    }

    // The page shows the records in words, the CSV holds them.
    let (status, page) = browser.get("/audit").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Händelse öppnad") && page.contains("Konflikt löst"),
        "{page}"
    );
    let (_, kind, csv) = browser.get_bytes("/audit.csv?action=hold_set").await?;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(csv)?;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("hold_set") && csv.contains(&id.to_string()),
        "{csv}"
    );
    Ok(())
}

#[tokio::test]
async fn only_admins_read_the_audit_log_and_its_filters_narrow_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, "admin-a", PASSWORD)
        .await?;
    server
        .admin
        .set_role(org.volunteers[0], Role::Coordinator)
        .await?;
    server
        .admin
        .set_login(org.volunteers[0], "samordnare-b", PASSWORD)
        .await?;
    let mut coordinator = Browser::new(&server.url);
    assert_eq!(
        coordinator.sign_in("samordnare-b", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    for path in ["/audit", "/audit.csv", "/audit?action=signed_in"] {
        let (status, page) = coordinator.get(path).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains("Hittades inte"), "{page}");
    }
    let mut admin = Browser::new(&server.url);
    assert_eq!(
        admin.sign_in("admin-a", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    let (_, page) = admin.get("/audit").await?;
    assert!(page.contains("2 poster"), "both sign-ins: {page}");
    let (_, page) = admin
        .get(&format!("/audit?member={}", org.volunteers[0]))
        .await?;
    assert!(page.contains("1 poster"), "{page}");
    let (_, page) = admin.get("/audit?action=sign_in_failed").await?;
    assert!(page.contains("0 poster"), "{page}");
    let (_, page) = admin.get("/audit?from=2000-01-01&to=2000-01-02").await?;
    assert!(page.contains("0 poster"), "{page}");
    let (status, page) = admin.get("/audit?action=drop_table").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Okänd åtgärd"), "{page}");
    Ok(())
}

/// Runs `vaka-server audit verify` on `data_dir`: whether it passed, and what it printed.
fn verify(data_dir: &Path) -> anyhow::Result<(bool, String)> {
    let output = Command::new(env!("CARGO_BIN_EXE_vaka-test-server"))
        .arg("--data")
        .arg(data_dir)
        .args(["audit", "verify"])
        .output()?;
    Ok((
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    ))
}

/// A copy of the server's store in a folder of its own, tampered with by `sql` straight in
/// SQLite (the append-only triggers dropped first, as an intruder with the file could).
fn tampered_copy(server: &TestServer, sql: &str) -> anyhow::Result<TempDir> {
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("vaka.sqlite3");
    let source = rusqlite::Connection::open(server.data_dir().join("vaka.sqlite3"))?;
    source.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
    let conn = rusqlite::Connection::open(&copy)?;
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")?;
    conn.execute_batch(sql)?;
    Ok(dir)
}

#[tokio::test]
async fn audit_verify_passes_untouched_and_finds_an_edited_deleted_or_swapped_record()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, "admin-a", PASSWORD)
        .await?;
    let mut browser = Browser::new(&server.url);
    browser.sign_in("ingen-sådan", PASSWORD).await?;
    browser.sign_in("admin-a", PASSWORD).await?;
    for day in ["2026-01-01", "2026-02-01", "2026-03-01"] {
        browser.get(&format!("/report?from={day}&to={day}")).await?;
    }
    let entry = EntityId::new();
    browser.get(&format!("/entries/{entry}")).await?;
    let org_chain = org.id.to_string();

    let (ok, out) = verify(server.data_dir())?;
    assert!(ok, "{out}");
    assert!(out.starts_with("ok: 5 records in 2 chains"), "{out}");
    assert!(
        out.contains(&format!("organisation {org_chain}: 4 records, head #4 ")),
        "{out}"
    );
    assert!(out.contains("unknown sign-in names: 1 records"), "{out}");

    let chain = format!("org_id = '{org_chain}'");
    let cases = [
        (
            "edited",
            format!(
                "UPDATE audit_log SET details = replace(details, '2026-02-01', '2026-02-02') WHERE {chain} AND chain_seq = 3;"
            ),
            "record #3",
            "edited",
        ),
        (
            "deleted",
            format!("DELETE FROM audit_log WHERE {chain} AND chain_seq = 2;"),
            "record #3",
            "removed",
        ),
        (
            "swapped",
            format!(
                "UPDATE audit_log SET chain_seq = -1 WHERE {chain} AND chain_seq = 2;
                 UPDATE audit_log SET chain_seq = 2 WHERE {chain} AND chain_seq = 3;
                 UPDATE audit_log SET chain_seq = 3 WHERE {chain} AND chain_seq = -1;"
            ),
            "record #2",
            "edited",
        ),
        (
            "swapped whole rows",
            format!(
                "CREATE TEMP TABLE kept AS SELECT chain_seq, id FROM audit_log
                     WHERE {chain} AND chain_seq IN (2, 3);
                 UPDATE audit_log SET id = -id WHERE {chain} AND chain_seq IN (2, 3);
                 UPDATE audit_log SET id = (SELECT id FROM kept WHERE chain_seq = 3)
                     WHERE {chain} AND chain_seq = 2;
                 UPDATE audit_log SET id = (SELECT id FROM kept WHERE chain_seq = 2)
                     WHERE {chain} AND chain_seq = 3;"
            ),
            "record #3",
            "reordered",
        ),
    ];
    for (name, sql, record, problem) in cases {
        let copy = tampered_copy(&server, &sql)?;
        let (ok, out) = verify(copy.path())?;
        assert!(!ok, "{name}: verify passed: {out}");
        assert!(
            out.contains(record) && out.contains(problem),
            "{name}: {out}"
        );
        assert!(out.contains(&org_chain), "{name}: names the chain: {out}");
    }
    // The server's own log is untouched by all this.
    assert!(verify(server.data_dir())?.0);
    Ok(())
}
