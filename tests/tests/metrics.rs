//! `/metrics` as an operator scrapes it: both forms pass promtool, refused requests are counted
//! by endpoint and code, every endpoint has a latency histogram, the gauges say something
//! true, and the endpoint can be put behind a token or on an address of its own.

use anyhow::Context;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vaka_tests::TestServer;
use vaka_tests::raw::RawDevice;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// `GET /metrics` with `accept` (none: no header); the content type and the text.
async fn scrape(url: &str, accept: Option<&str>) -> anyhow::Result<(String, String)> {
    let mut request = http().get(format!("{url}/metrics"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await?;
    anyhow::ensure!(response.status() == 200, "/metrics: {}", response.status());
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    Ok((content_type, response.text().await?))
}

/// The value of the sample `series` (name with its labels, exactly as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split(' ').next()?.parse().ok()
    })
}

/// Runs promtool with `args`, `input` on its standard input; whether it succeeded and what it
/// printed. Fails the test if promtool is not installed.
fn promtool(args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "promtool is needed (Debian's `prometheus` package; scripts/test installs it): {e}"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing to promtool");
    let output = child.wait_with_output().expect("running promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// Sends requests that fill in the labelled metrics: refusals of several kinds, a real sync,
/// dashboard pages and an unknown path.
async fn traffic(server: &TestServer) -> anyhow::Result<()> {
    let url = &server.url;
    let client = http();
    let org = server.admin.org("Mätarna", 1).await?;
    let code = server.admin.code(org.volunteers[0]).await?;
    let device = RawDevice::enroll(url, &code).await?;
    device
        .sync(Vec::new(), Some(0), None)
        .await?
        .expect("a sync");
    client.post(format!("{url}/api/v1/sync")).send().await?;
    client.get(format!("{url}/inbox")).send().await?;
    client.get(format!("{url}/login")).send().await?;
    client.get(format!("{url}/no/such/page")).send().await?;
    Ok(())
}

#[tokio::test]
async fn both_forms_pass_promtool() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    traffic(&server).await?;

    let (_, text) = scrape(&server.url, None).await?;
    let (passed, printed) = promtool(&["check", "metrics"], &text);
    assert!(
        passed && printed.trim().is_empty(),
        "promtool check metrics on the Prometheus text:\n{printed}\n{text}"
    );
    for accept in [None, Some("*/*"), Some("text/plain")] {
        let (content_type, text) = scrape(&server.url, accept).await?;
        assert_eq!(content_type, PROMETHEUS_TEXT, "Accept: {accept:?}");
        assert!(!text.contains("# EOF"), "Accept: {accept:?}");
    }

    // What a Prometheus server sends.
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (content_type, openmetrics) = scrape(&server.url, Some(accept)).await?;
    assert_eq!(content_type, OPENMETRICS);
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    // `promtool check metrics` reads only the Prometheus text format; promtool's OpenMetrics
    // parser is the one its backfill uses, which wants a timestamp on every sample.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let stamped: String = openmetrics
        .lines()
        .map(|line| {
            if line.starts_with('#') {
                format!("{line}\n")
            } else {
                format!("{line} {now}\n")
            }
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("metrics.om");
    std::fs::write(&file, stamped)?;
    let blocks = dir.path().join("blocks");
    let (passed, printed) = promtool(
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "-q",
            file.to_str().expect("a UTF-8 path"),
            blocks.to_str().expect("a UTF-8 path"),
        ],
        "",
    );
    assert!(
        passed,
        "promtool's OpenMetrics parser refused the OpenMetrics form:\n{printed}\n{openmetrics}"
    );
    server.stop().await
}

#[tokio::test]
async fn requests_refused_before_the_handler_are_counted_by_endpoint_and_code() -> anyhow::Result<()>
{
    let server = TestServer::start_with(|c| c.max_body_bytes = 64 * 1024).await?;
    let url = &server.url;
    let client = http();
    let org = server.admin.org("Mätarna", 1).await?;
    let code = server.admin.code(org.volunteers[0]).await?;
    let device = RawDevice::enroll(url, &code).await?;

    // 401: no token.
    let answer = client.post(format!("{url}/api/v1/sync")).send().await?;
    assert_eq!(answer.status(), 401);
    let hash = "0".repeat(64);
    let answer = client
        .get(format!("{url}/api/v1/blobs/{hash}"))
        .send()
        .await?;
    assert_eq!(answer.status(), 401);
    // 415: not JSON.
    let answer = client
        .post(format!("{url}/api/v1/enroll"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await?;
    assert_eq!(answer.status(), 415);
    // 400: unreadable JSON.
    let answer = client
        .post(format!("{url}/api/v1/enroll"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(answer.status(), 400);
    // 413: a small compressed body that grows past the limit.
    let big = format!("{{\"push\":[],\"pad\":\"{}\"}}", " ".repeat(1 << 20));
    let refused = device
        .post_raw(
            "/api/v1/sync",
            zstd::encode_all(big.as_bytes(), 3)?,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "zstd"),
            ],
        )
        .await?;
    assert_eq!(refused.expect_err("refused").0, 413);
    // 404: no such path; it must not become a label of its own.
    let answer = client.get(format!("{url}/nowhere/4711")).send().await?;
    assert_eq!(answer.status(), 404);
    // 405: a known path with the wrong method.
    let answer = client.get(format!("{url}/api/v1/sync")).send().await?;
    assert_eq!(answer.status(), 405);

    let (_, text) = scrape(url, None).await?;
    for (series, expected) in [
        (r#"endpoint="/api/v1/sync",code="401""#, 1.0),
        (r#"endpoint="/api/v1/blobs/{sha256}",code="401""#, 1.0),
        (r#"endpoint="/api/v1/enroll",code="415""#, 1.0),
        (r#"endpoint="/api/v1/enroll",code="400""#, 1.0),
        (r#"endpoint="/api/v1/enroll",code="200""#, 1.0),
        (r#"endpoint="/api/v1/sync",code="413""#, 1.0),
        (r#"endpoint="/api/v1/sync",code="405""#, 1.0),
        (r#"endpoint="other",code="404""#, 1.0),
    ] {
        let series = format!("vaka_http_requests_total{{{series}}}");
        assert_eq!(sample(&text, &series), Some(expected), "{series}\n{text}");
    }
    assert!(!text.contains("4711"), "a raw path became a label:\n{text}");
    server.stop().await
}

#[tokio::test]
async fn every_api_endpoint_and_page_group_has_a_latency_histogram() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = &server.url;
    let client = http();
    traffic(&server).await?;
    let hash = "0".repeat(64);
    let id = uuid::Uuid::now_v7();
    for path in [
        "/healthz".to_owned(),
        "/api/v1/areas".to_owned(),
        format!("/api/v1/blobs/{hash}"),
        format!("/api/v1/blobs/{hash}/content"),
        format!("/entries/{id}"),
        "/people".to_owned(),
        "/areas".to_owned(),
        "/report".to_owned(),
        "/report.csv".to_owned(),
    ] {
        client.get(format!("{url}{path}")).send().await?;
    }
    let (_, text) = scrape(url, None).await?;
    for endpoint in [
        "/api/v1/enroll",
        "/api/v1/sync",
        "/api/v1/areas",
        "/api/v1/blobs/{sha256}",
        "/api/v1/blobs/{sha256}/content",
        "/healthz",
        "inbox",
        "login",
        "entry",
        "people",
        "areas",
        "report",
        "export",
        "other",
    ] {
        let count = format!("vaka_http_request_duration_seconds_count{{endpoint=\"{endpoint}\"}}");
        assert!(
            sample(&text, &count).is_some_and(|n| n >= 1.0),
            "{count}\n{text}"
        );
        let inf = format!(
            "vaka_http_request_duration_seconds_bucket{{le=\"+Inf\",endpoint=\"{endpoint}\"}}"
        );
        assert!(sample(&text, &inf).is_some(), "{inf}\n{text}");
    }
    server.stop().await
}

fn database_bytes(dir: &Path) -> u64 {
    ["vaka.sqlite3", "vaka.sqlite3-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test]
async fn gauges_give_database_size_memory_and_connections() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.admin.org("Mätarna", 3).await?;
    let before = database_bytes(server.data_dir());
    let (_, text) = scrape(&server.url, None).await?;
    let after = database_bytes(server.data_dir());
    let size = sample(&text, "vaka_database_size_bytes").expect("database size") as u64;
    assert!(before > 0);
    assert!(
        (before.min(after)..=before.max(after)).contains(&size),
        "gauge {size}, files {before} then {after}"
    );
    let resident = sample(&text, "vaka_process_resident_memory_bytes").expect("resident memory");
    if cfg!(target_os = "linux") {
        assert!(resident > 1e6, "resident memory {resident}");
    }
    let open = sample(&text, "vaka_open_connections").expect("open connections");
    assert!(open >= 0.0, "open connections {open}");
    server.stop().await
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() -> anyhow::Result<()> {
    let server =
        TestServer::start_with(|c| c.metrics_token = Some("sju-sorters-kakor".into())).await?;
    let url = format!("{}/metrics", server.url);
    let client = http();
    for token in [None, Some("fel"), Some("sju-sorters-kako")] {
        let mut request = client.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await?;
        assert_eq!(answer.status(), 401, "token {token:?}");
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(body["code"], "unauthorized", "{body}");
    }
    let answer = client
        .get(&url)
        .bearer_auth("sju-sorters-kakor")
        .send()
        .await?;
    assert_eq!(answer.status(), 200);
    let text = answer.text().await?;
    assert_eq!(
        sample(
            &text,
            r#"vaka_http_requests_total{endpoint="/metrics",code="401"}"#
        ),
        Some(3.0),
        "{text}"
    );
    server.stop().await
}

/// The server's command line as a child process, killed on drop.
struct Cli(Child);

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn metrics_can_have_a_listen_address_of_their_own() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaka-test-server"))
        .arg("--data")
        .arg(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .env("VAKA_METRICS_TOKEN", "hemligt")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout");
    let _child = Cli(child);
    // The two addresses the server printed, read off the thread pool (a line arrives or the
    // pipe closes when the process ends).
    let (api, metrics) = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let (mut api, mut metrics) = (None, None);
            for line in BufReader::new(stdout).lines() {
                let line = line?;
                if let Some(url) = line.strip_prefix("vaka-server listening on ") {
                    api = Some(url.to_owned());
                }
                if let Some(url) = line.strip_prefix("vaka-server metrics on ") {
                    metrics = Some(url.to_owned());
                }
                if let (Some(api), Some(metrics)) = (&api, &metrics) {
                    return Ok((api.clone(), metrics.clone()));
                }
            }
            anyhow::bail!("the server ended before printing both addresses")
        }),
    )
    .await???;
    vaka_tests::wait_healthy(&api, Duration::from_secs(30)).await?;

    let client = http();
    let on_api = client
        .get(format!("{api}/metrics"))
        .bearer_auth("hemligt")
        .send()
        .await?;
    assert_eq!(on_api.status(), 404, "/metrics is still beside the API");
    let refused = client.get(&metrics).send().await?;
    assert_eq!(refused.status(), 401);
    let answer = client.get(&metrics).bearer_auth("hemligt").send().await?;
    assert_eq!(answer.status(), 200);
    let text = answer.text().await?;
    assert_eq!(
        sample(
            &text,
            r#"vaka_http_requests_total{endpoint="other",code="404"}"#
        ),
        Some(1.0),
        "the API's answers are counted on the metrics address:\n{text}"
    );
    assert!(sample(&text, "vaka_database_size_bytes").is_some_and(|n| n > 0.0));

    // Connections to the metrics address are counted while they are open: this client's and an
    // idle one.
    let address = metrics
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let open_connections = || async {
        let answer = client.get(&metrics).bearer_auth("hemligt").send().await?;
        let text = answer.text().await?;
        sample(&text, "vaka_open_connections").context("no open connections gauge")
    };
    // The gauge counts the API's connections too (this client keeps one alive there).
    let before = open_connections().await?;
    anyhow::ensure!(before >= 1.0, "this client's own connection is counted");
    let idle = tokio::net::TcpStream::connect(&address).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_connections().await? < before + 1.0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the idle connection is not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(idle);
    while open_connections().await? > before {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the closed connection is still counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
