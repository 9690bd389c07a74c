//! Odd input in every dashboard form and filter, and in the API's query strings: far dates,
//! reversed periods, periods of centuries, huge numbers, empty and very long values, bytes that
//! are not UTF-8, NUL, repeated and unknown keys, `+` and `%2B`. Every answer is a page (200),
//! a redirect, or a 4xx error page in Swedish (the API: a 4xx with its JSON error); never a 5xx
//! and never a dropped connection. Without a session every form redirects to the sign-in page.

use reqwest::StatusCode;
use rstest::rstest;
use vaka_shared::EntityId;
use vaka_shared::model::Role;
use vaka_tests::browser::{Browser, csrf_of};
use vaka_tests::raw::{RawDevice, new_incident};
use vaka_tests::{TestOrg, TestServer};

const PASSWORD: &str = "en lång och god lösenfras";

/// Words of the dashboard's Swedish error and sign-in pages.
const SWEDISH: &[&str] = &["Det gick inte", "Hittades inte", "Logga in"];

/// Longest value in a query string: the HTTP stack takes request targets up to 64 KiB.
const LONG_IN_QUERY: usize = 60_000;
/// Longest value in a form body.
const LONG_IN_BODY: usize = 100_000;

/// Odd values as they stand after `name=` in a query string or form body (already encoded),
/// with a label for the failure list.
fn odd_values(long: usize) -> Vec<(&'static str, String)> {
    [
        ("year 0", "0000-01-01"),
        ("last day of year 9999", "9999-12-31"),
        ("year 10000", "10000-01-01"),
        ("month 13, day 45", "2026-13-45"),
        ("negative year", "-0001-01-01"),
        ("2^63", "9223372036854775808"),
        ("i64::MAX", "9223372036854775807"),
        ("i64::MIN", "-9223372036854775808"),
        ("1e400", "1e400"),
        ("-1", "-1"),
        ("0", "0"),
        ("empty", ""),
        ("not UTF-8", "%FF%FE"),
        ("NUL", "%00"),
        ("CR LF", "%0D%0A"),
        ("plus", "+"),
        ("encoded plus", "%2B"),
        ("a lone percent", "%"),
    ]
    .into_iter()
    .map(|(label, value)| (label, value.to_owned()))
    .chain([("very long", "a".repeat(long))])
    .collect()
}

/// Whole query strings or form bodies about periods (besides one odd value per field).
const ODD_PERIODS: &[(&str, &str)] = &[
    ("reversed period", "from=2026-12-01&to=2026-01-01"),
    ("ten thousand years", "from=0000-01-01&to=9999-12-31"),
    ("five hundred years", "from=1900-01-01&to=2400-12-31"),
    ("far future", "from=9999-12-30&to=9999-12-31"),
    ("far past", "from=-9999-01-01&to=-9999-01-02"),
    (
        "repeated keys",
        "from=2026-01-01&from=9999-12-31&to=9999-12-31&to=2026-01-01",
    ),
    ("unknown keys", "zzz=%FF&&=&==&%FF=%00&from"),
    ("plus signs", "from=2026-01-01+&to=%2B2026-01-02"),
];

/// Whether an answer keeps the promise; the failure's description if not.
fn verdict(answer: anyhow::Result<(StatusCode, String)>) -> Result<(), String> {
    let (status, body) = answer.map_err(|e| format!("no answer: {e:#}"))?;
    if status.is_success() || status.is_redirection() {
        return Ok(());
    }
    let swedish_page =
        body.contains("<html lang=\"sv\">") && SWEDISH.iter().any(|w| body.contains(w));
    if status.is_client_error() && swedish_page {
        return Ok(());
    }
    let start: String = body.chars().take(160).collect();
    Err(format!("{status}: {start}"))
}

/// A signed-in admin (so that the admins' pages, such as the audit log, are reached too) with an
/// incident, a volunteer and the volunteer's phone to act on.
struct Fixture {
    server: TestServer,
    org: TestOrg,
    browser: Browser,
    csrf: String,
    entry: EntityId,
    phone: RawDevice,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    server.admin.set_role(org.coordinator, Role::Admin).await?;
    server
        .admin
        .set_login(org.coordinator, "samordnare-a", PASSWORD)
        .await?;
    let code = server.admin.code(org.volunteers[0]).await?;
    let mut phone = RawDevice::enroll(&server.url, &code).await?;
    let entry = EntityId::new();
    let op = phone.op(entry, new_incident("disturbance", 3), 0);
    let answer = phone.sync(vec![op], None, None).await?;
    anyhow::ensure!(
        answer.is_ok_and(|a| a.push.acked_through == 1 && a.push.rejected.is_empty()),
        "the incident was stored"
    );
    let mut browser = Browser::new(&server.url);
    anyhow::ensure!(browser.sign_in("samordnare-a", PASSWORD).await? == StatusCode::SEE_OTHER);
    let (_, inbox) = browser.get("/inbox").await?;
    let csrf = csrf_of(&inbox);
    Ok(Fixture {
        server,
        org,
        browser,
        csrf,
        entry,
        phone,
    })
}

impl Fixture {
    /// Fills the placeholders of a path: `{entry}`, `{member}`, `{device}`.
    fn path(&self, template: &str) -> String {
        template
            .replace("{entry}", &self.entry.to_string())
            .replace("{member}", &self.org.volunteers[0].to_string())
            .replace("{device}", &self.phone.id().to_string())
    }

    /// Sends `text` (a query string, or a form body with the CSRF token in front).
    async fn send(&mut self, post: bool, path: &str, text: &str) -> Result<(), String> {
        let answer = if post {
            let body = format!("csrf={}&{text}", self.csrf);
            self.browser.post_raw(path, body.into_bytes()).await
        } else {
            self.browser.get(&format!("{path}?{text}")).await
        };
        verdict(answer)
    }
}

/// Every form and filter field of the dashboard: (POST?, path, other fields, field).
#[rstest]
#[case::inbox_from(false, "/inbox", "", "from")]
#[case::inbox_to(false, "/inbox", "from=2026-01-01", "to")]
#[case::inbox_area(false, "/inbox", "", "area")]
#[case::inbox_kind(false, "/inbox", "", "kind")]
#[case::inbox_category(false, "/inbox", "", "category")]
#[case::inbox_severity(false, "/inbox", "", "severity")]
#[case::inbox_status(false, "/inbox", "", "status")]
#[case::inbox_group(false, "/inbox", "", "group")]
#[case::inbox_author(false, "/inbox", "", "author")]
#[case::inbox_conflicts(false, "/inbox", "", "conflicts")]
#[case::inbox_page(false, "/inbox", "from=", "page")]
#[case::entry_saved(false, "/entries/{entry}", "", "saved")]
#[case::review_status(true, "/entries/{entry}/review", "", "review_status")]
#[case::review_assignee(true, "/entries/{entry}/review", "", "assignee")]
#[case::review_tags(true, "/entries/{entry}/review", "", "tags")]
#[case::review_duplicate(true, "/entries/{entry}/review", "", "duplicate_of")]
#[case::review_forwarded(true, "/entries/{entry}/review", "", "forwarded_to")]
#[case::comment_body(true, "/entries/{entry}/comments", "", "body")]
#[case::settle_choice(true, "/conflicts/1/settle", "", "choice")]
#[case::report_from(false, "/report", "to=2026-11-21", "from")]
#[case::report_to(false, "/report", "from=2026-11-01", "to")]
#[case::report_area(false, "/report", "", "area")]
#[case::pdf_from(false, "/report.pdf", "to=2026-11-21", "from")]
#[case::pdf_to(false, "/report.pdf", "", "to")]
#[case::pdf_area(false, "/report.pdf", "", "area")]
#[case::csv_from(false, "/report.csv", "", "from")]
#[case::csv_to(false, "/report.csv", "from=2026-11-01", "to")]
#[case::csv_area(false, "/report.csv", "", "area")]
#[case::geojson_from(false, "/report.geojson", "", "from")]
#[case::geojson_to(false, "/report.geojson", "", "to")]
#[case::geojson_area(false, "/report.geojson", "", "area")]
#[case::summary_text(true, "/report/summary", "from=2026-11-01&to=2026-11-14", "summary")]
#[case::summary_from(true, "/report/summary", "to=2026-11-14&summary=Lugnt", "from")]
#[case::summary_to(true, "/report/summary", "from=2026-11-01&summary=Lugnt", "to")]
#[case::summary_area(true, "/report/summary", "summary=Lugnt", "area")]
#[case::enrolment_code(true, "/people/{member}/code", "", "unknown")]
#[case::revoke(true, "/devices/{device}/revoke", "", "unknown")]
#[case::message_text(true, "/messages", "audience=org&ends=2030-01-01T10:00", "text")]
#[case::message_audience(true, "/messages", "text=Hej&ends=2030-01-01T10:00", "audience")]
#[case::message_ends(true, "/messages", "text=Hej&audience=org", "ends")]
#[case::message_end(true, "/messages/{entry}/end", "", "unknown")]
#[case::messages_done(false, "/messages", "", "done")]
#[case::member_area(true, "/people/{member}/update", "role=volunteer", "area")]
#[case::areas_name(true, "/areas", "geojson=%7B%7D", "name")]
#[case::areas_geojson(true, "/areas", "name=Torget", "geojson")]
#[case::audit_action(false, "/audit", "", "action")]
#[case::audit_member(false, "/audit", "", "member")]
#[case::audit_from(false, "/audit", "to=2026-11-21", "from")]
#[case::audit_to(false, "/audit", "from=2026-11-01", "to")]
#[case::audit_page(false, "/audit", "action=signed_in", "page")]
#[case::audit_csv_action(false, "/audit.csv", "", "action")]
#[case::audit_csv_member(false, "/audit.csv", "", "member")]
#[case::audit_csv_from(false, "/audit.csv", "", "from")]
#[case::audit_csv_to(false, "/audit.csv", "from=2026-11-01", "to")]
#[tokio::test]
async fn odd_values_in_a_dashboard_field_give_a_page_or_a_swedish_error(
    #[case] post: bool,
    #[case] path: &str,
    #[case] others: &str,
    #[case] field: &str,
) -> anyhow::Result<()> {
    let mut f = fixture().await?;
    let path = f.path(path);
    let long = if post { LONG_IN_BODY } else { LONG_IN_QUERY };
    let mut texts: Vec<(String, String)> = odd_values(long)
        .into_iter()
        .map(|(label, value)| {
            let pair = format!("{field}={value}");
            let text = if others.is_empty() {
                pair
            } else {
                format!("{others}&{pair}")
            };
            (format!("{field} = {label}"), text)
        })
        .collect();
    texts.push((
        format!("{field} twice"),
        format!("{others}&{field}=1&{field}=2026-01-01"),
    ));
    texts.push((format!("{field} without `=`"), format!("{others}&{field}")));
    if ["from", "to"].contains(&field) {
        texts.extend(
            ODD_PERIODS
                .iter()
                .map(|(label, text)| ((*label).to_owned(), format!("{text}&{others}"))),
        );
    }
    let mut failures = Vec::new();
    for (label, text) in &texts {
        if let Err(e) = f.send(post, &path, text).await {
            failures.push(format!(
                "{} {path} {label}: {e}",
                if post { "POST" } else { "GET" }
            ));
        }
    }
    if post {
        // Bytes that are not UTF-8 as they are, not percent-encoded (Latin-1 "på", 0xFF, NUL).
        let mut body = format!("csrf={}&{others}&{field}=", f.csrf).into_bytes();
        body.extend_from_slice(b"p\xe5 \xff\xfe\x00");
        if let Err(e) = verdict(f.browser.post_raw(&path, body).await) {
            failures.push(format!("POST {path} {field} = raw bytes: {e}"));
        }
    }
    // The server still answers after all of that.
    let (status, _) = f.browser.get("/inbox").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    f.server.stop().await
}

/// A refused form or filter comes back as the user filled it in, with what is wrong in Swedish.
#[rstest]
#[case::inbox_far_date(
    false,
    "/inbox",
    "from=9999-12-31",
    "value=\"9999-12-31\"",
    "Datum måste ligga mellan"
)]
#[case::inbox_no_date(
    false,
    "/inbox",
    "to=2026-13-45",
    "value=\"2026-13-45\"",
    "Inte ett datum"
)]
#[case::inbox_reversed(
    false,
    "/inbox",
    "from=2026-12-01&to=2026-01-01",
    "value=\"2026-01-01\"",
    "Perioden slutar innan den börjar"
)]
#[case::report_reversed(
    false,
    "/report",
    "from=2026-12-01&to=2026-01-01",
    "value=\"2026-12-01\"",
    "Perioden slutar innan den börjar"
)]
#[case::report_centuries(
    false,
    "/report",
    "from=2000-01-01&to=2100-12-31",
    "value=\"2100-12-31\"",
    "högst 366 dagar"
)]
#[case::report_far_date(
    false,
    "/report.pdf",
    "to=9999-12-31",
    "9999-12-31",
    "Datum måste ligga mellan"
)]
#[case::summary_too_long(true, "/report/summary", format!("from=2026-11-01&to=2026-11-14&summary={}", "lugnt+".repeat(1400)), "lugnt lugnt", "id=\"summary-error\">Sammanfattningen får vara högst 8000 tecken")]
#[case::comment_too_long(true, "/entries/{entry}/comments", format!("body={}", "ord+".repeat(600)), "ord ord ord", "högst 2000 tecken")]
#[case::comment_empty(
    true,
    "/entries/{entry}/comments",
    "body=+%0A+",
    "id=\"comment-body-error\"",
    "Skriv något"
)]
#[case::review_tags(true, "/entries/{entry}/review", format!("tags={}", "t,".repeat(21)), "t, t, t", "Högst 20 taggar")]
#[case::review_duplicate(
    true,
    "/entries/{entry}/review",
    "tags=torget&duplicate_of=igår",
    "value=\"torget\"",
    "id=\"duplicate_of-error\">Välj händelsen i listan"
)]
#[case::area_geojson(
    true,
    "/areas",
    "name=Torget&geojson=%7B%22type%22%3A1%7D",
    "value=\"Torget\"",
    "Ingen polygon"
)]
#[case::area_other_crs(
    true,
    "/areas",
    "name=Torget&geojson=%7B%22type%22%3A%22Polygon%22%2C%22crs%22%3A%7B%22type%22%3A%22name%22%2C%22properties%22%3A%7B%22name%22%3A%22EPSG%3A3021%22%7D%7D%2C%22coordinates%22%3A%5B%5B%5B1%2C1%5D%2C%5B2%2C1%5D%2C%5B2%2C2%5D%2C%5B1%2C1%5D%5D%5D%7D",
    "value=\"Torget\"",
    "koordinatsystemet EPSG:3021"
)]
#[case::area_open_ring(
    true,
    "/areas",
    "name=Torget&geojson=%7B%22type%22%3A%22Polygon%22%2C%22coordinates%22%3A%5B%5B%5B16.5%2C59.6%5D%2C%5B16.6%2C59.6%5D%2C%5B16.6%2C59.7%5D%2C%5B16.5%2C59.7%5D%5D%5D%7D",
    "value=\"Torget\"",
    "slutar inte där den börjar"
)]
#[case::area_no_name(
    true,
    "/areas",
    "name=+&geojson=%7B%22type%22%3A%22Polygon%22%2C%22coordinates%22%3A%5B%5B%5B16.5%2C59.6%5D%2C%5B16.6%2C59.6%5D%2C%5B16.6%2C59.7%5D%2C%5B16.5%2C59.6%5D%5D%5D%7D",
    "id=\"area-name-error\"",
    "har inget namn"
)]
#[tokio::test]
async fn a_refused_form_comes_back_filled_in_with_a_swedish_message(
    #[case] post: bool,
    #[case] path: &str,
    #[case] text: String,
    #[case] kept: &str,
    #[case] message: &str,
) -> anyhow::Result<()> {
    let mut f = fixture().await?;
    let path = f.path(path);
    let (status, page) = if post {
        let body = format!("csrf={}&{text}", f.csrf);
        f.browser.post_raw(&path, body.into_bytes()).await?
    } else {
        f.browser.get(&format!("{path}?{text}")).await?
    };
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains(message), "the message {message:?} in {page}");
    assert!(page.contains(kept), "{kept:?} kept in {page}");
    f.server.stop().await
}

/// Odd ids in the paths of pages and forms.
#[rstest]
#[case::entry(false, "/entries/{}")]
#[case::photo(false, "/photos/{}")]
#[case::review(true, "/entries/{}/review")]
#[case::comment(true, "/entries/{}/comments")]
#[case::settle(true, "/conflicts/{}/settle")]
#[case::enrolment_code(true, "/people/{}/code")]
#[case::revoke(true, "/devices/{}/revoke")]
#[tokio::test]
async fn odd_ids_in_a_dashboard_path_give_a_swedish_error(
    #[case] post: bool,
    #[case] template: &str,
) -> anyhow::Result<()> {
    let mut f = fixture().await?;
    let mut failures = Vec::new();
    for (label, id) in odd_values(LONG_IN_QUERY) {
        // An empty segment is another path, and a lone `%` no request target at all.
        if id.is_empty() || id == "%" {
            continue;
        }
        let path = template.replace("{}", &id);
        if let Err(e) = f.send(post, &path, "body=Hej&choice=loser").await {
            failures.push(format!("{template} with {label}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    f.server.stop().await
}

/// The sign-in form and the language switch, which need no session.
#[tokio::test]
async fn odd_values_at_sign_in_and_the_language_switch_give_a_page_or_a_swedish_error()
-> anyhow::Result<()> {
    let f = fixture().await?;
    let url = f.server.url.clone();
    // A refused sign-in keeps the name, never the password.
    let mut browser = Browser::new(&url);
    let (_, page) = browser.get("/login").await?;
    let body = format!(
        "csrf={}&login=samordnare-a&password=fel+lösen",
        csrf_of(&page)
    );
    let (status, page) = browser.post_raw("/login", body.into_bytes()).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Fel användarnamn eller lösenord."));
    assert!(page.contains("value=\"samordnare-a\""), "{page}");
    assert!(!page.contains("fel lösen"));
    let mut failures = Vec::new();
    for (label, value) in odd_values(LONG_IN_QUERY) {
        for query in [
            format!("to={value}"),
            format!("to=en&back={value}"),
            format!("to=en&back=/{value}"),
            format!("back=/inbox&x={value}"),
        ] {
            // A browser of its own each time, so the language stays Swedish.
            let answer = Browser::new(&url).get(&format!("/lang?{query}")).await;
            if let Err(e) = verdict(answer) {
                failures.push(format!("GET /lang?{query:.60} ({label}): {e}"));
            }
        }
        let answer = Browser::new(&url)
            .get(&format!("/login?expired={value}"))
            .await;
        if let Err(e) = verdict(answer) {
            failures.push(format!("GET /login expired = {label}: {e}"));
        }
    }
    for twice in ["to=en&to=sv", "/login?expired=1&expired=2"] {
        let path = if twice.starts_with('/') {
            twice.to_owned()
        } else {
            format!("/lang?{twice}")
        };
        if let Err(e) = verdict(Browser::new(&url).get(&path).await) {
            failures.push(format!("GET {path}: {e}"));
        }
    }
    for (label, value) in odd_values(LONG_IN_BODY) {
        for field in ["login", "password"] {
            let mut browser = Browser::new(&url);
            let (_, page) = browser.get("/login").await?;
            let other = if field == "login" {
                "password=fel"
            } else {
                "login=samordnare-b"
            };
            let body = format!("csrf={}&{other}&{field}={value}", csrf_of(&page));
            if let Err(e) = verdict(browser.post_raw("/login", body.into_bytes()).await) {
                failures.push(format!("POST /login {field} = {label}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    f.server.stop().await
}

/// Without a session, every page and form of a coordinator sends the browser to sign in.
#[tokio::test]
async fn without_a_session_every_form_redirects_to_sign_in() -> anyhow::Result<()> {
    let f = fixture().await?;
    let mut stranger = Browser::new(&f.server.url);
    let mut failures = Vec::new();
    let gets = [
        "/inbox?from=9999-12-31",
        "/entries/{entry}?saved=%FF",
        "/photos/%FF",
        "/people",
        "/areas",
        "/messages?done=%FF",
        "/report?from=0000-01-01&to=9999-12-31",
        "/report.pdf?to=9999-12-31",
        "/report.csv?to=10000-01-01",
        "/report.geojson?to=2026-13-45",
    ];
    let posts = [
        "/entries/{entry}/review",
        "/entries/{entry}/comments",
        "/conflicts/9223372036854775808/settle",
        "/people/{member}/code",
        "/devices/{device}/revoke",
        "/areas",
        "/messages",
        "/messages/{entry}/end",
        "/report/summary",
        "/logout",
    ];
    for path in gets {
        let path = f.path(path);
        let answer = stranger.get(&path).await;
        if !matches!(&answer, Ok((StatusCode::SEE_OTHER, to)) if to.starts_with("/login")) {
            failures.push(format!("GET {path}: {answer:?}"));
        }
    }
    for path in posts {
        let path = f.path(path);
        let answer = stranger
            .post_raw(&path, b"from=9999-12-31&body=%FF%00&x=".to_vec())
            .await;
        if !matches!(&answer, Ok((StatusCode::SEE_OTHER, to)) if to.starts_with("/login")) {
            failures.push(format!("POST {path}: {answer:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    f.server.stop().await
}

/// The API's query strings: a 4xx with the stable JSON error, never a 5xx.
#[tokio::test]
async fn odd_api_query_strings_give_a_json_error() -> anyhow::Result<()> {
    let f = fixture().await?;
    let http = reqwest::Client::new();
    let token = &f.phone.enrolled.token;
    let sha = "0".repeat(64);
    let mut failures = Vec::new();
    let mut queries: Vec<String> = Vec::new();
    for (_, value) in odd_values(LONG_IN_QUERY) {
        queries.push(format!("offset={value}&size=10"));
        queries.push(format!("offset=0&size={value}"));
    }
    queries.extend(
        [
            "offset=18446744073709551615&size=10",
            "offset=18446744073709551606&size=18446744073709551615",
            "offset=9223372036854775807&size=100",
            "offset=0&offset=5&size=10",
            "offset=-0&size=+10",
            "size=10",
            "",
        ]
        .map(str::to_owned),
    );
    for query in &queries {
        let answer = http
            .put(format!("{}/api/v1/blobs/{sha}?{query}", f.server.url))
            .bearer_auth(token)
            .header("content-type", "image/jpeg")
            .body(vec![1u8; 5])
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {}
            Ok(r) if r.status().is_client_error() => {
                let json = r
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("application/json")));
                let body = r.text().await.unwrap_or_default();
                if !json || !body.contains("\"code\"") {
                    failures.push(format!("PUT ?{query:.60}: not the JSON error: {body:.120}"));
                }
            }
            Ok(r) => failures.push(format!("PUT ?{query:.60}: {}", r.status())),
            Err(e) => failures.push(format!("PUT ?{query:.60}: no answer: {e}")),
        }
    }
    // Blob names that are none: not UTF-8, NUL, too long, a number.
    for (label, name) in odd_values(LONG_IN_QUERY) {
        if name.is_empty() || name == "%" {
            continue;
        }
        for (method, path) in [
            (reqwest::Method::GET, format!("/api/v1/blobs/{name}")),
            (
                reqwest::Method::GET,
                format!("/api/v1/blobs/{name}/content"),
            ),
            (
                reqwest::Method::PUT,
                format!("/api/v1/blobs/{name}?offset=0&size=5"),
            ),
        ] {
            let answer = http
                .request(method.clone(), format!("{}{path}", f.server.url))
                .bearer_auth(token)
                .header("content-type", "image/jpeg")
                .body(vec![1u8; 5])
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_client_error() => {
                    let body = r.text().await.unwrap_or_default();
                    if !body.contains("\"code\"") {
                        failures.push(format!("{method} blob named {label}: {body:.120}"));
                    }
                }
                Ok(r) => failures.push(format!("{method} blob named {label}: {}", r.status())),
                Err(e) => failures.push(format!("{method} blob named {label}: no answer: {e}")),
            }
        }
    }
    for query in ["x=%FF%FE", "limit=-1&offset=1e400", "a=%00&a=%00"] {
        for path in ["/api/v1/areas", &format!("/api/v1/blobs/{sha}")] {
            let answer = http
                .get(format!("{}{path}?{query}", f.server.url))
                .bearer_auth(token)
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() || r.status().is_client_error() => {}
                Ok(r) => failures.push(format!("GET {path}?{query}: {}", r.status())),
                Err(e) => failures.push(format!("GET {path}?{query}: no answer: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    f.server.stop().await
}
