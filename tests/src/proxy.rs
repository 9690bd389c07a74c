//! A fault-injecting HTTP/1.1 proxy between device cores and the server, under test control.
//!
//! It reads whole requests and responses (Content-Length or chunked framing) so that a fault
//! hits one request exactly: the server never sees it, or it does the work and the device
//! never hears of it, or hears half of it, or the server gets it twice. Faults come from a
//! script (one per request, in order), then from a seeded random plan, then the default.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and its answer.
    Pass,
    /// Close the connection at once, before reading anything (the server seems down).
    Refuse,
    /// Read the request, then close: the server never sees it.
    DropRequest,
    /// Forward the request, wait for the whole answer, then close: the server did the work, the
    /// device never hears of it.
    DropResponse,
    /// Forward the request and only half of the answer, then close.
    CutResponse,
    /// Hold the request this long before forwarding it.
    Delay(Duration),
    /// Deliver the request to the server twice; answer with the second answer.
    Duplicate,
}

#[derive(Debug)]
struct Plan {
    script: VecDeque<Fault>,
    random: Option<(StdRng, u32)>,
    default: Fault,
}

impl Plan {
    /// Whether a new connection is to be closed unread (counts as its request).
    fn refuses_next_connection(&mut self) -> bool {
        let refuse = match self.script.front() {
            Some(fault) => *fault == Fault::Refuse,
            None => self.random.is_none() && self.default == Fault::Refuse,
        };
        if refuse {
            self.next();
        }
        refuse
    }

    fn next(&mut self) -> Fault {
        if let Some(fault) = self.script.pop_front() {
            return fault;
        }
        if let Some((rng, percent)) = &mut self.random
            && rng.random_range(0..100) < *percent
        {
            return match rng.random_range(0..6) {
                0 => Fault::Refuse,
                1 => Fault::DropRequest,
                2 => Fault::DropResponse,
                3 => Fault::CutResponse,
                4 => Fault::Duplicate,
                _ => Fault::Delay(Duration::from_millis(rng.random_range(1..30))),
            };
        }
        self.default
    }
}

/// What became of the pushes (sync requests carrying ops) the proxy forwarded to the server.
#[derive(Debug, Default)]
struct Pushes {
    /// Forwarded, the server's answer not read yet.
    in_flight: AtomicUsize,
    /// Forwarded, and the server's connection failed before its whole answer came.
    cut: AtomicUsize,
}

/// A running proxy.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    plan: Arc<Mutex<Plan>>,
    pushes: Arc<Pushes>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port, passing everything.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        Self::start_to_any(vec![upstream], 0).await
    }

    /// Starts a proxy that sends each connection to one of `upstreams` drawn at random (from a
    /// generator seeded with `seed`), as a load balancer in front of several servers would.
    pub async fn start_to_any(upstreams: Vec<SocketAddr>, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(!upstreams.is_empty(), "a proxy needs a server behind it");
        let mut pick = StdRng::seed_from_u64(seed);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let plan = Arc::new(Mutex::new(Plan {
            script: VecDeque::new(),
            random: None,
            default: Fault::Pass,
        }));
        let shared = plan.clone();
        let pushes = Arc::new(Pushes::default());
        let counts = pushes.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .refuses_next_connection()
                {
                    drop(client);
                    continue;
                }
                let plan = shared.clone();
                let pushes = counts.clone();
                let upstream = upstreams[pick.random_range(0..upstreams.len())];
                tokio::spawn(async move {
                    let _ = serve_connection(client, upstream, plan, pushes).await;
                });
            }
        });
        Ok(Self {
            url,
            plan,
            pushes,
            task,
        })
    }

    /// Pushes (sync requests carrying ops) forwarded to the server whose answer has not come yet.
    pub fn pushes_in_flight(&self) -> usize {
        self.pushes.in_flight.load(Ordering::SeqCst)
    }

    /// Pushes forwarded to the server whose connection failed before the whole answer came (as
    /// when the server is killed while it works on one).
    pub fn pushes_cut(&self) -> usize {
        self.pushes.cut.load(Ordering::SeqCst)
    }

    fn with_plan<R>(&self, f: impl FnOnce(&mut Plan) -> R) -> R {
        f(&mut self.plan.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Applies `fault` to every request from now on (after any script).
    pub fn set(&self, fault: Fault) {
        self.with_plan(|p| {
            p.default = fault;
            p.random = None;
        });
    }

    /// Applies these faults to the next requests, one each, in order.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.with_plan(|p| p.script.extend(faults));
    }

    /// Gives `percent` of the requests a random fault drawn from a generator seeded with `seed`.
    pub fn randomise(&self, seed: u64, percent: u32) {
        self.with_plan(|p| p.random = Some((StdRng::seed_from_u64(seed), percent)));
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether `request` is `POST /api/v1/sync` with at least one op to push (zstd or plain JSON).
fn carries_ops(request: &[u8]) -> bool {
    if !request.starts_with(b"POST /api/v1/sync ") {
        return false;
    }
    let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let body = &request[head_end + 4..];
    let json = if head.contains("content-encoding: zstd") {
        match zstd::decode_all(body) {
            Ok(json) => json,
            Err(_) => return false,
        }
    } else {
        body.to_vec()
    };
    serde_json::from_slice::<vaka_shared::sync::SyncRequest>(&json)
        .is_ok_and(|sync| !sync.push.is_empty())
}

async fn serve_connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    pushes: Arc<Pushes>,
) -> std::io::Result<()> {
    let mut from_client = Vec::new();
    let mut server: Option<(TcpStream, Vec<u8>)> = None;
    loop {
        let Some(request) = read_message(&mut client, &mut from_client, false).await? else {
            return Ok(());
        };
        let fault = plan.lock().unwrap_or_else(|e| e.into_inner()).next();
        match fault {
            // On a connection already open, a refusal can only drop the request.
            Fault::Refuse | Fault::DropRequest => return Ok(()),
            Fault::Delay(by) => tokio::time::sleep(by).await,
            _ => {}
        }
        if server.is_none() {
            server = Some((TcpStream::connect(upstream).await?, Vec::new()));
        }
        let Some((upstream_stream, from_server)) = server.as_mut() else {
            return Ok(());
        };
        let push = carries_ops(&request);
        let mut exchange = async |request: &[u8]| -> std::io::Result<Vec<u8>> {
            if push {
                pushes.in_flight.fetch_add(1, Ordering::SeqCst);
            }
            let answer = async {
                upstream_stream.write_all(request).await?;
                read_message(upstream_stream, from_server, true)
                    .await?
                    .ok_or_else(|| {
                        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "server closed")
                    })
            }
            .await;
            if push {
                if answer.is_err() {
                    pushes.cut.fetch_add(1, Ordering::SeqCst);
                }
                pushes.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            answer
        };
        let mut response = exchange(&request).await?;
        if fault == Fault::Duplicate {
            response = exchange(&request).await?;
        }
        match fault {
            Fault::DropResponse => return Ok(()),
            Fault::CutResponse => {
                client.write_all(&response[..response.len() / 2]).await?;
                return Ok(());
            }
            _ => client.write_all(&response).await?,
        }
    }
}

/// Reads one whole HTTP/1.1 message from `stream` (with `buffer` holding bytes read ahead).
/// `None` when the stream ends before a message starts.
async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
    is_response: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    // Headers.
    let (head_len, framing) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let parsed = if is_response {
            let mut response = httparse::Response::new(&mut headers);
            match response
                .parse(buffer)
                .map_err(|_| invalid("malformed HTTP response"))?
            {
                httparse::Status::Complete(n) => Some((n, framing_of(response.headers))),
                httparse::Status::Partial => None,
            }
        } else {
            let mut request = httparse::Request::new(&mut headers);
            match request
                .parse(buffer)
                .map_err(|_| invalid("malformed HTTP request"))?
            {
                httparse::Status::Complete(n) => Some((n, framing_of(request.headers))),
                httparse::Status::Partial => None,
            }
        };
        if let Some(done) = parsed {
            break done;
        }
        if fill(stream, buffer).await? == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(invalid("message cut short"))
            };
        }
    };
    // Body.
    let total = match framing {
        Framing::Length(n) => {
            while buffer.len() < head_len + n {
                if fill(stream, buffer).await? == 0 {
                    return Err(invalid("body cut short"));
                }
            }
            head_len + n
        }
        Framing::Chunked => {
            let mut at = head_len;
            loop {
                let line_end = loop {
                    if let Some(i) = buffer[at..].windows(2).position(|w| w == b"\r\n") {
                        break at + i;
                    }
                    if fill(stream, buffer).await? == 0 {
                        return Err(invalid("chunk cut short"));
                    }
                };
                let size_text = std::str::from_utf8(&buffer[at..line_end])
                    .map_err(|_| invalid("chunk size"))?;
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| invalid("chunk size"))?;
                let chunk_end = line_end + 2 + size + 2;
                while buffer.len() < chunk_end {
                    if fill(stream, buffer).await? == 0 {
                        return Err(invalid("chunk cut short"));
                    }
                }
                at = chunk_end;
                if size == 0 {
                    break at;
                }
            }
        }
    };
    let message = buffer[..total].to_vec();
    buffer.drain(..total);
    Ok(Some(message))
}

enum Framing {
    Length(usize),
    Chunked,
}

fn framing_of(headers: &[httparse::Header<'_>]) -> Framing {
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(header.value)
                .to_ascii_lowercase()
                .contains("chunked")
        {
            return Framing::Chunked;
        }
    }
    let length = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .unwrap_or(0);
    Framing::Length(length)
}

async fn fill(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n)
}
