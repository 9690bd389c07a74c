//! Sign-in under a flood: starts a real `vaka-server serve` as a child process, sends wrong
//! dashboard sign-ins 64 at a time (each from its own loopback address, under its own name),
//! over and over for a while, and prints the server's resident memory before, at peak and after,
//! and what the sign-ins were answered.
//!
//! ```sh
//! cargo build --release -p vaka-server -p vaka-tests --bin vaka-server --bin vaka-signin-bench
//! target/release/vaka-signin-bench --server target/release/vaka-server --seconds 30
//! ```
//!
//! `--free-failures N` lifts the sign-in delays (each name and address may fail N times) so that
//! every attempt reaches a password check: the worst case for memory. Exits non-zero if any
//! answer was a 5xx or a connection failed.

use anyhow::Context;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vaka_tests::browser::{csrf_of, encode};

struct Args {
    server: PathBuf,
    seconds: u64,
    at_once: usize,
    free_failures: Option<u32>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        server: PathBuf::from("target/release/vaka-server"),
        seconds: 30,
        at_once: 64,
        free_failures: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => args.server = value.into(),
            "--seconds" => args.seconds = value.parse()?,
            "--at-once" => args.at_once = value.parse()?,
            "--free-failures" => args.free_failures = Some(value.parse()?),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

/// Resident memory of `pid` now and at its peak, in MiB (Linux `/proc`).
fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(args: &Args) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut command = Command::new(&args.server);
    command
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(n) = args.free_failures {
        command.args(["--sign-in-free-failures", &n.to_string()]);
    }
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", args.server.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    vaka_tests::wait_healthy(&url, Duration::from_secs(30)).await?;
    Ok(Server {
        child,
        url,
        _dir: dir,
    })
}

/// One wrong sign-in from `from` as `login`: fetches the form, then posts it.
async fn wrong_sign_in(http: &reqwest::Client, url: &str, login: &str) -> anyhow::Result<u16> {
    let form = http.get(format!("{url}/login")).send().await?;
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let csrf = csrf_of(&form.text().await?);
    let answer = http
        .post(format!("{url}/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("csrf", &csrf),
            ("login", login),
            ("password", "inte rätt lösenord"),
        ]))
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let server = start(&args).await?;
    let pid = server.child.id();
    let (before, _) = memory_mib(pid)?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut rounds = 0u64;
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    let clients: Vec<reqwest::Client> = (0..args.at_once)
        .map(|i| {
            let last = u8::try_from(i % 250).unwrap_or(0) + 2;
            reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
        })
        .collect::<Result<_, _>>()?;
    while Instant::now() < deadline {
        let tasks: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, http)| {
                let (http, url) = (http.clone(), server.url.clone());
                let login = format!("namn-{rounds}-{i}");
                tokio::spawn(async move { wrong_sign_in(&http, &url, &login).await })
            })
            .collect();
        for task in tasks {
            let key = match task.await? {
                Ok(status) => status.to_string(),
                Err(e) => format!("failed: {e}"),
            };
            *answers.entry(key).or_default() += 1;
        }
        rounds += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (after, peak) = memory_mib(pid)?;
    let total: u64 = answers.values().sum();
    println!(
        "sign-in flood: {} at once for {:.1} s, {rounds} rounds, {total} wrong sign-ins ({:.0}/s){}",
        args.at_once,
        elapsed,
        total as f64 / elapsed,
        args.free_failures
            .map(|n| format!(", delays lifted (--free-failures {n})"))
            .unwrap_or_default()
    );
    for (answer, n) in &answers {
        println!("  answered {answer}: {n}");
    }
    println!("server memory: {before:.1} MiB before, peak {peak:.1} MiB, {after:.1} MiB after");
    let bad = answers
        .keys()
        .any(|k| k.starts_with('5') || k.starts_with("failed"));
    if bad {
        eprintln!("some sign-ins failed or answered 5xx");
        std::process::exit(1);
    }
    Ok(())
}
