//! The server under abuse: bounded sign-in that cannot be raced and cannot lock a coordinator
//! out, timeouts and limits at the door, early refusals that never leave a kept-alive client
//! with a dead connection, pulls that never need the writer, and photo uploads that always
//! finish.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vaka_tests::TestServer;
use vaka_tests::browser::Browser;
use vaka_tests::raw::RawDevice;

const PASSWORD: &str = "långt och hemligt lösenord";

/// A server whose sign-in delays are long enough that no test outruns them by accident.
async fn server_for_sign_in() -> anyhow::Result<(TestServer, vaka_tests::TestOrg)> {
    let server = TestServer::start_with(|c| {
        c.sign_in.first_delay = Duration::from_secs(60);
    })
    .await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    server
        .admin
        .set_login(org.coordinator, "samordnare", PASSWORD)
        .await?;
    Ok((server, org))
}

/// Signs in `n` browsers at once as `login` with a wrong password; their statuses.
async fn wrong_at_once(
    server: &TestServer,
    login: &str,
    n: usize,
) -> anyhow::Result<Vec<StatusCode>> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let url = server.url.clone();
        let login = login.to_owned();
        tasks.push(tokio::spawn(async move {
            Browser::new(&url)
                .sign_in(&login, &format!("fel {i}"))
                .await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await??);
    }
    Ok(statuses)
}

#[tokio::test]
async fn sixteen_wrong_passwords_at_once_get_no_more_than_five_checks() -> anyhow::Result<()> {
    let (server, _org) = server_for_sign_in().await?;
    let statuses = wrong_at_once(&server, "samordnare", 16).await?;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let held = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked, 5, "only the free five are checked: {statuses:?}");
    assert_eq!(held, 11, "the rest are held back: {statuses:?}");
    Ok(())
}

#[tokio::test]
async fn guessing_at_a_name_does_not_lock_out_a_browser_that_signed_in_before() -> anyhow::Result<()>
{
    let (server, _org) = server_for_sign_in().await?;
    let mut owner = Browser::new(&server.url);
    assert_eq!(
        owner.sign_in("samordnare", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    // Someone else guesses at the name until it is held back.
    let statuses = wrong_at_once(&server, "samordnare", 12).await?;
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // A new browser must wait, and is told how long…
    let mut stranger = Browser::new(&server.url);
    let (_, page) = stranger.get("/login").await?;
    let csrf = vaka_tests::browser::csrf_of(&page);
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(format!("{}/login", server.url))
        .header("cookie", format!("vaka_login_csrf={csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vaka_tests::browser::encode(&[
            ("csrf", &csrf),
            ("login", "samordnare"),
            ("password", PASSWORD),
        ]))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(retry >= 1, "a Retry-After in seconds");
    assert!(response.text().await?.contains("Försök igen om"));
    // …while the owner's browser, trusted since its last sign-in, gets in at once.
    assert_eq!(
        owner.sign_in("samordnare", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    assert_eq!(owner.get("/inbox").await?.0, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_trusted_browser_is_no_way_around_the_limit_for_guessing() -> anyhow::Result<()> {
    let (server, _org) = server_for_sign_in().await?;
    let mut browser = Browser::new(&server.url);
    assert_eq!(
        browser.sign_in("samordnare", PASSWORD).await?,
        StatusCode::SEE_OTHER
    );
    // Its own failures count against it: after five, its trust is withdrawn…
    for _ in 0..5 {
        assert_eq!(
            browser.sign_in("samordnare", "fel").await?,
            StatusCode::UNAUTHORIZED
        );
    }
    // …and it is held back like any other browser (the name has five failures).
    assert_eq!(
        browser.sign_in("samordnare", PASSWORD).await?,
        StatusCode::TOO_MANY_REQUESTS
    );
    Ok(())
}

#[tokio::test]
async fn password_checks_beyond_the_pool_are_refused_at_once() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.sign_in.checks_at_once = 1;
        c.sign_in.queue = 1;
        c.sign_in.free_per_name = 1000;
        c.sign_in.free_per_address = 1000;
        c.sign_in.free_overall = 1000;
    })
    .await?;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let url = server.url.clone();
        tasks.push(tokio::spawn(async move {
            Browser::new(&url)
                .sign_in(&format!("namn-{i}"), "fel")
                .await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await??);
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED), "{statuses:?}");
    Ok(())
}

/// Reads from `stream` until it is closed; how long that took.
async fn time_until_closed(stream: &mut TcpStream, within: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => anyhow::bail!("the connection stayed open for {within:?}"),
            Ok(Ok(0) | Err(_)) => return Ok(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

fn addr(server: &TestServer) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.idle_timeout = Duration::from_secs(1)).await?;
    let mut stream = TcpStream::connect(addr(&server)).await?;
    let took = time_until_closed(&mut stream, Duration::from_secs(10)).await?;
    assert!(
        took >= Duration::from_millis(900),
        "not before the timeout: {took:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_head_sent_one_byte_at_a_time_is_cut_off_after_the_header_timeout() -> anyhow::Result<()>
{
    let server = TestServer::start_with(|c| {
        c.header_read_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(30);
    })
    .await?;
    let mut stream = TcpStream::connect(addr(&server)).await?;
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    for byte in head.iter() {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(8) {
            anyhow::bail!("the slow head was never cut off");
        }
    }
    let took = time_until_closed(&mut stream, Duration::from_secs(10)).await?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off after {:?}",
        started.elapsed() - took
    );
    Ok(())
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_idle_after_its_request() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.idle_timeout = Duration::from_secs(1)).await?;
    let mut stream = TcpStream::connect(addr(&server)).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await?;
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    time_until_closed(&mut stream, Duration::from_secs(10)).await?;
    Ok(())
}

/// Sends `head` on a new connection and reads the whole answer (until the server closes or
/// `within` passes); the answer and how long it took.
async fn answer_to(
    server: &TestServer,
    head: &str,
    within: Duration,
) -> anyhow::Result<(String, Duration)> {
    let mut stream = TcpStream::connect(addr(server)).await?;
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) | Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok((
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    ))
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_arrives() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (answer, took) = answer_to(
        &server,
        "POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n",
        Duration::from_secs(10),
    )
    .await?;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert!(took < Duration::from_secs(5), "at once, not after {took:?}");
    // The door's own refusal is counted like any other.
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await?
        .text()
        .await?;
    let counted: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("vaka_http_requests_total"))
        .collect();
    assert!(
        counted.contains(&r#"vaka_http_requests_total{endpoint="/api/v1/enroll",code="413"} 1"#),
        "{counted:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_after_the_body_timeout() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.body_read_timeout = Duration::from_secs(1)).await?;
    let (answer, took) = answer_to(
        &server,
        "POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"code\":",
        Duration::from_secs(15),
    )
    .await?;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    Ok(())
}

#[tokio::test]
async fn an_early_refusal_never_leaves_a_dead_kept_alive_connection() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    // A sync without a token (401), a wrong content type (415) and a too large push (413),
    // each with a body the server does not read; then a second request on the same connection.
    let body = "x".repeat(200_000);
    let cases = [
        format!(
            "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        format!(
            "POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    ];
    for case in cases {
        let mut stream = TcpStream::connect(addr(&server)).await?;
        stream.write_all(case.as_bytes()).await?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the first answer's head.
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await??;
            anyhow::ensure!(n > 0, "closed before an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 4"), "{head}");
        if head.contains("connection: close") {
            continue;
        }
        // Kept alive: the connection must then take another request.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await?;
        let mut rest = Vec::new();
        loop {
            let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await??;
            anyhow::ensure!(
                n > 0,
                "a kept-alive connection was closed without `Connection: close`: {head}"
            );
            rest.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&rest).contains("HTTP/1.1 200") {
                break;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn beyond_the_connection_cap_a_client_waits_until_one_closes() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_connections = 2).await?;
    let first = TcpStream::connect(addr(&server)).await?;
    let _second = TcpStream::connect(addr(&server)).await?;
    let http = reqwest::Client::new();
    let waiting = http
        .get(format!("{}/healthz", server.url))
        .timeout(Duration::from_millis(800))
        .send()
        .await;
    assert!(
        waiting.is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    let served = http
        .get(format!("{}/healthz", server.url))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    assert_eq!(served.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_pull_only_sync_is_answered_while_the_writer_is_busy() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let device =
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[0]).await?).await?;
    // Hold the writer until the pull has been answered.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let blocked = server.admin.hold_writer(held).await?;
    let pulled = tokio::time::timeout(Duration::from_secs(10), device.sync(vec![], Some(0), None))
        .await
        .map_err(|_| anyhow::anyhow!("a pull-only sync waited for the writer"))??;
    let pulled = pulled.map_err(|(status, e)| anyhow::anyhow!("{status}: {e:?}"))?;
    assert_eq!(pulled.push.acked_through, 0);
    release.send(())?;
    blocked.await??;
    Ok(())
}

#[tokio::test]
async fn sixty_four_connections_of_pull_only_syncs_get_no_5xx() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let device = std::sync::Arc::new(
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[0]).await?).await?,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let device = device.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, Vec::new());
            while Instant::now() < deadline {
                match device.sync(vec![], Some(0), Some(100)).await {
                    Ok(Ok(_)) => ok += 1,
                    Ok(Err((status, e))) => failed.push(format!("{status} {e:?}")),
                    Err(e) => failed.push(format!("{e:#}")),
                }
            }
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, Vec::new());
    for task in tasks {
        let (n, f) = task.await?;
        ok += n;
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        ok + failed.len() as u64,
        &failed[..failed.len().min(5)]
    );
    assert!(ok > 64);
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn put_chunk(
    device: &RawDevice,
    sha: &str,
    offset: u64,
    size: u64,
    bytes: &[u8],
) -> anyhow::Result<StatusCode> {
    Ok(reqwest::Client::new()
        .put(format!(
            "{}/api/v1/blobs/{sha}?offset={offset}&size={size}",
            device.url
        ))
        .bearer_auth(&device.enrolled.token)
        .header("content-type", "image/jpeg")
        .body(bytes.to_vec())
        .send()
        .await?
        .status())
}

#[tokio::test]
async fn a_photo_upload_completes_whatever_refused_chunks_came_first() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let device =
        RawDevice::enroll(&server.url, &server.admin.code(org.volunteers[0]).await?).await?;
    let photo: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = sha256_hex(&photo);
    let size = photo.len() as u64;
    // Refused first chunks: running past a wrong (too small) size, a chunk that does not start
    // at 0, an offset that overflows.
    assert_eq!(
        put_chunk(&device, &sha, 0, 10, &photo[..1000]).await?,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put_chunk(&device, &sha, 1000, size, &photo[1000..2000]).await?,
        StatusCode::CONFLICT
    );
    assert_eq!(
        put_chunk(&device, &sha, u64::MAX, size, &photo[..10]).await?,
        StatusCode::BAD_REQUEST
    );
    // A part stored under a wrong (larger) size, then the right upload from the start.
    assert_eq!(
        put_chunk(&device, &sha, 0, size + 5, &photo[..1000]).await?,
        StatusCode::OK
    );
    assert_eq!(
        put_chunk(&device, &sha, 0, size, &photo[..1500]).await?,
        StatusCode::OK
    );
    assert_eq!(
        put_chunk(&device, &sha, 0, size, &photo[..1500]).await?,
        StatusCode::OK,
        "sent twice"
    );
    assert_eq!(
        put_chunk(&device, &sha, 1500, size, &photo[1500..]).await?,
        StatusCode::OK
    );
    let content = reqwest::Client::new()
        .get(format!("{}/api/v1/blobs/{sha}/content", device.url))
        .bearer_auth(&device.enrolled.token)
        .send()
        .await?;
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.bytes().await?.to_vec(), photo);
    Ok(())
}

#[tokio::test]
async fn an_unknown_path_gets_the_api_error_under_api_and_a_swedish_page_elsewhere()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = reqwest::get(format!("{}/api/v1/nowhere", server.url)).await?;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let error: vaka_shared::sync::ApiError = api.json().await?;
    assert_eq!(error.code, vaka_shared::sync::ErrorCode::NotFound);
    for path in ["/entries/", "/nowhere/4711", "/inbox/extra"] {
        let page = reqwest::get(format!("{}{path}", server.url)).await?;
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        let kind = page
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let body = page.text().await?;
        assert!(
            body.contains("lang=\"sv\"") && body.contains("Hittades inte"),
            "{path}: {body}"
        );
    }
    Ok(())
}
