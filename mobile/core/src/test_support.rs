//! Helpers for the unit tests of the device core: an enrolled device without a server, and
//! builders of server answers.

use super::store::{self, Identity};
use super::{Device, WallClock};
pub(crate) use crate::testing::{T0, enrolled, enrolled_at, incident, response};
use vaka_shared::model::Role;
use vaka_shared::sync::SyncResponse;
use vaka_shared::{DeviceId, MemberId, Op, OrgId};

/// Every op in this device's log, own and pulled, in device_seq order of each device.
pub(crate) fn own_ops(device: &Device) -> Vec<(Op, String)> {
    let conn = device.conn();
    let mut statement = conn
        .prepare(&format!(
            "SELECT {}, status FROM ops WHERE status != 'remote' ORDER BY device_seq",
            store::OP_COLUMNS
        ))
        .expect("prepares");
    let mut rows = statement.query([]).expect("queries");
    let mut ops = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        let (op, _) = store::op_from_row(row).expect("op");
        ops.push((op, row.get(9).expect("status")));
    }
    ops
}

/// Applies an answer to `device` as if the round trip took no time at the wall clock's now.
pub(crate) fn apply(device: &Device, response: &SyncResponse) -> super::sync::apply::RoundOutcome {
    let now = device.inner.wall.now_ms();
    device
        .write_tx(|tx| {
            super::sync::apply::apply_response(tx, &device.inner.wall, response, now, now)
        })
        .expect("applies")
}

/// A device in a temporary directory whose file is plain SQLite (no key), enrolled as `role`
/// at a wall clock showing [`T0`]: for tests that read the raw bytes of the file to see what
/// a removal left behind, which the encryption would hide anyway.
pub(crate) fn enrolled_plain(role: Role) -> (tempfile::TempDir, Device, Identity) {
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open_keyed(&dir.path().join("device.db"), None, WallClock::manual(T0))
        .expect("opens");
    let identity = Identity {
        server_url: "http://127.0.0.1:9".to_owned(),
        device_id: DeviceId::new(),
        org_id: OrgId::new(),
        org_name: "Nattvandrarna".to_owned(),
        member_id: MemberId::new(),
        member_name: "Anna".to_owned(),
        role,
    };
    store::store_identity(&device.conn(), &identity, "secret-token", 0).expect("enrols");
    (dir, device, identity)
}

/// Whether `needle` occurs anywhere in the raw bytes of the database file at `db` or its WAL.
pub(crate) fn file_holds(db: &std::path::Path, needle: &str) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    [db.to_owned(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .any(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
}

/// A request the fake server got.
#[derive(Debug, Clone)]
pub(crate) struct FakeRequest {
    /// `GET`, `PUT`, `POST`.
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The body as sent (a sync body is zstd-compressed).
    pub body: Vec<u8>,
}

impl FakeRequest {
    /// The sync request in the body of a `POST /api/v1/sync`.
    pub(crate) fn sync_request(&self) -> vaka_shared::sync::SyncRequest {
        let json = zstd::decode_all(self.body.as_slice()).expect("zstd");
        serde_json::from_slice(&json).expect("a sync request")
    }
}

/// What the fake server answers: a status and a JSON body (empty for none).
pub(crate) type FakeAnswer = (u16, String);

/// An HTTP/1.1 server on `127.0.0.1:0` that answers each request (one per connection) with
/// what its handler says and keeps every request; for the sync client's hand-made answers.
#[derive(Debug)]
pub(crate) struct FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<FakeRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts the server on the current runtime.
    pub(crate) async fn start(
        answer: impl Fn(&FakeRequest) -> FakeAnswer + Send + Sync + 'static,
    ) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&requests);
        let answer = std::sync::Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut bytes = Vec::new();
                let mut buffer = [0u8; 8192];
                let head_end = loop {
                    let n = stream.read(&mut buffer).await.expect("reads");
                    assert!(n > 0, "the client closed before the request ended");
                    bytes.extend_from_slice(&buffer[..n]);
                    if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&bytes[..head_end]).to_string();
                let mut line = head.lines().next().unwrap_or_default().split(' ');
                let method = line.next().unwrap_or_default().to_owned();
                let path = line.next().unwrap_or_default().to_owned();
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while bytes.len() < head_end + length {
                    let n = stream.read(&mut buffer).await.expect("reads");
                    assert!(n > 0, "the client closed before the body ended");
                    bytes.extend_from_slice(&buffer[..n]);
                }
                let request = FakeRequest {
                    method,
                    path,
                    body: bytes[head_end..head_end + length].to_vec(),
                };
                let (status, body) = answer(&request);
                seen.lock().expect("requests").push(request);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await.expect("answers");
                let _ = stream.shutdown().await;
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    /// Every request so far, in order.
    pub(crate) fn requests(&self) -> Vec<FakeRequest> {
        self.requests.lock().expect("requests").clone()
    }

    /// Points `device` at this server.
    pub(crate) fn serve(&self, device: &Device) {
        device
            .conn()
            .execute("UPDATE meta SET server_url = ?1", [&self.url])
            .expect("points the device here");
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The JSON of an API error.
pub(crate) fn api_error(code: vaka_shared::sync::ErrorCode) -> String {
    serde_json::to_string(&vaka_shared::sync::ApiError {
        code,
        message: format!("refused: {}", code.as_str()),
    })
    .expect("serialises")
}
