//! The door: what every connection and request passes before a handler sees it.
//!
//! - At most [`DoorLimits::max_connections`] connections are open at once; beyond that new ones
//!   wait in the listen backlog until one closes.
//! - A connection waiting for a request (a new one, or a kept-alive one between requests) is
//!   closed after [`DoorLimits::idle_timeout`] without a byte; once a request's first byte has
//!   arrived, its whole head must arrive within [`DoorLimits::header_read_timeout`].
//! - Every answer is counted by endpoint and status (`web::observe`), the door's own too, and
//!   open connections are a gauge.
//! - A request's body must arrive within [`DoorLimits::body_read_timeout`] of its head, or the
//!   request is answered `408` and the connection closed.
//! - A declared `Content-Length` over the body limit is refused with `413` before a byte of the
//!   body is read.
//! - Any answer given without reading the whole request body says `Connection: close`, so a
//!   client that keeps connections alive never writes its next request into a closed one; the
//!   server then lingers briefly, reading what the client still sends, so the answer is not lost
//!   to a reset.

use crate::error::AppError;
use crate::metrics::Metrics;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body::{Body as _, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// The limits the door enforces (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct DoorLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long a connection may wait for a request without sending a byte.
    pub idle_timeout: Duration,
    /// How long a request's head may take once its first byte has arrived.
    pub header_read_timeout: Duration,
    /// How long a request's body may take once its head has arrived.
    pub body_read_timeout: Duration,
    /// Largest declared body, in bytes.
    pub max_body_bytes: usize,
}

/// How often each connection's watchdog looks at the clock.
const WATCH_TICK: Duration = Duration::from_millis(250);
/// How long the server keeps reading (and discarding) after it decided to close a connection
/// whose request it did not read to the end.
const LINGER: Duration = Duration::from_secs(2);
/// At most this much is read and discarded while lingering.
const LINGER_BYTES: usize = 1 << 20;

/// What a connection's watchdog knows: when it began waiting for a request, when the first
/// byte of that request arrived, and whether a request is being answered.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch` when the connection began waiting for its next request.
    waiting_since: AtomicU64,
    /// Milliseconds since `epoch` (plus one) of the first byte read while waiting; 0 for none.
    first_byte: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            waiting_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read_bytes(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now() + 1;
            let _ = self
                .first_byte
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn response_done(&self) {
        self.first_byte.store(0, Ordering::Release);
        self.waiting_since.store(self.now(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether the connection has waited too long for a request or its head.
    fn expired(&self, limits: &DoorLimits) -> bool {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return false;
        }
        let now = self.now();
        match self.first_byte.load(Ordering::Acquire) {
            0 => {
                let since = self.waiting_since.load(Ordering::Acquire);
                Duration::from_millis(now.saturating_sub(since)) > limits.idle_timeout
            }
            first => {
                Duration::from_millis(now.saturating_sub(first - 1)) > limits.header_read_timeout
            }
        }
    }
}

/// The connection's stream, telling the watchdog when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_bytes();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets open
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: DoorLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    // The door's own refusals (413, 408) are counted too: the metrics layer is outside it.
    let router = router
        .layer(axum::middleware::from_fn(move |request, next| {
            door(limits, request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            super::observe::observe,
        ));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        let open = metrics.open_connection();
        tokio::spawn(async move {
            let _permit = permit;
            let _open = open;
            connection(stream, peer, router, limits, &mut stop).await;
        });
    }
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it is closed.
    let _ = permits.acquire_many(max as u32).await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: DoorLimits,
    stop: &mut watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let activity = service_activity.clone();
        activity.request_started();
        let router = router.clone();
        // Boxed: hyper needs an `Unpin` future to give the connection back afterwards.
        Box::pin(async move {
            let response = router
                .oneshot(request.map(Body::new))
                .await
                .unwrap_or_else(|never| match never {});
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(Finished {
                    body,
                    activity: Some(activity),
                })
            }))
        })
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // A backstop only: the watchdog below closes a connection that is idle or slow with its
        // head before this.
        .header_read_timeout(limits.idle_timeout + limits.header_read_timeout)
        .keep_alive(true);
    let mut conn = builder.serve_connection(io, service);
    let mut tick = tokio::time::interval(WATCH_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    let finished = loop {
        tokio::select! {
            polled = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => break polled,
            _ = tick.tick() => {
                if activity.expired(&limits) {
                    // Idle too long, or too slow with a head: closed without an answer (hyper
                    // would wait for the head to finish before closing gracefully).
                    tracing::debug!(%peer, "connection closed by the idle or header timeout");
                    return;
                }
            }
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
    };
    if let Err(e) = finished {
        tracing::debug!(error = %e, "connection ended with an error");
    }
    let mut io = conn.into_parts().io.into_inner();
    linger(&mut io.stream).await;
}

/// Closes the write side, then reads and discards what the client still sends for a moment,
/// so an answer sent before the rest of a request arrived is not destroyed by a reset.
async fn linger(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut buf = [0u8; 8192];
    let mut read = 0;
    let deadline = tokio::time::sleep(LINGER);
    tokio::pin!(deadline);
    while read < LINGER_BYTES {
        tokio::select! {
            () = &mut deadline => break,
            n = stream.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            },
        }
    }
}

/// A response body that tells the watchdog when it has been sent (or dropped).
struct Finished {
    body: Body,
    activity: Option<Arc<Activity>>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(activity) = self.activity.take() {
            activity.response_done();
        }
    }
}

impl http_body::Body for Finished {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What the door learns of a request body while the handler reads it.
#[derive(Debug, Default)]
struct BodyState {
    read_to_end: AtomicBool,
    timed_out: AtomicBool,
}

/// A request body with a deadline, telling the door whether it was read to its end.
struct Guarded {
    body: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    state: Arc<BodyState>,
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.state.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.state.read_to_end.store(true, Ordering::Release),
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => {
                this.state.read_to_end.store(true, Ordering::Release);
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The declared body length, if the request declares one.
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The middleware every request passes first.
async fn door(limits: DoorLimits, request: Request, next: axum::middleware::Next) -> Response {
    if declared_length(&request).is_some_and(|n| n > limits.max_body_bytes as u64) {
        return closing(too_large(&request, limits.max_body_bytes));
    }
    let (parts, body) = request.into_parts();
    let state = Arc::new(BodyState::default());
    if body.is_end_stream() {
        state.read_to_end.store(true, Ordering::Release);
    }
    let guarded = Guarded {
        body,
        deadline: Box::pin(tokio::time::sleep(limits.body_read_timeout)),
        state: state.clone(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::new(guarded)))
        .await;
    if state.timed_out.load(Ordering::Acquire) {
        return closing(timed_out());
    }
    if state.read_to_end.load(Ordering::Acquire) {
        response
    } else {
        closing(response)
    }
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large(request: &Request, max: usize) -> Response {
    if request.uri().path().starts_with("/api/") {
        AppError::BodyTooLarge { max }.into_response()
    } else {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::response::Html(format!(
                "<!doctype html><html lang=\"sv\"><meta charset=\"utf-8\"><title>För stor</title>\
                 <p>Det som skickades är för stort (högst {max} byte). / The request is too large \
                 (at most {max} bytes).</p></html>"
            )),
        )
            .into_response()
    }
}

fn timed_out() -> Response {
    AppError::BodyTimeout.into_response()
}
