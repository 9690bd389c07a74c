//! Real peers of the server on loopback, in Python: an SMTP server (aiosmtpd) and a webhook
//! receiver that checks each signature with the Standard Webhooks reference implementation
//! (`tests/notify/`). Each prints `listening PORT`, then one JSON line per thing received,
//! which a reader thread collects.

use anyhow::Context;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Python of the notification tests' virtual environment: `VAKA_TEST_PYTHON` (set by
/// `scripts/test`), else the one `tests/notify/setup` makes.
pub fn python() -> anyhow::Result<PathBuf> {
    if let Ok(python) = std::env::var("VAKA_TEST_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let output = Command::new(notify_dir().join("setup")).output()?;
    anyhow::ensure!(
        output.status.success(),
        "tests/notify/setup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}

fn notify_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("notify")
}

/// A peer process and what it has printed.
#[derive(Debug)]
pub struct Peer {
    /// The port it listens on.
    pub port: u16,
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Peer {
    fn start(script: &str, args: &[String]) -> anyhow::Result<Self> {
        let mut child = Command::new(python()?)
            .arg(notify_dir().join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {script}"))?;
        let mut out = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut first = String::new();
        out.read_line(&mut first)?;
        let port: u16 = first
            .trim()
            .strip_prefix("listening ")
            .with_context(|| format!("{script} printed {first:?}"))?
            .parse()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && let Ok(mut lines) = sink.lock()
                {
                    lines.push(value);
                }
            }
        });
        Ok(Self { port, child, lines })
    }

    /// An SMTP server on a free loopback port.
    pub fn smtp() -> anyhow::Result<Self> {
        Self::start("smtp.py", &[])
    }

    /// A webhook receiver on `port` (0: a free one) that verifies with the secret in
    /// `secret_file` and answers `answers` in turn (`"500,500,200"`; the last repeats).
    pub fn webhook_receiver(secret_file: &Path, answers: &str, port: u16) -> anyhow::Result<Self> {
        Self::start(
            "receiver.py",
            &[
                "--port".into(),
                port.to_string(),
                "--secret-file".into(),
                secret_file.to_string_lossy().into_owned(),
                "--answers".into(),
                answers.into(),
            ],
        )
    }

    /// Its address, `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Value> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until `done` holds for what was received, or `within` passes.
    pub async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return Ok(received);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "not received in time; so far: {received:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, then let go).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
