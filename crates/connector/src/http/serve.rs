//! Serving the router over HTTP/1.1 with every wait and count bounded (`[server]`):
//!
//! - a connection must deliver each request's headers within `header_timeout` of its first
//!   byte (a new connection: of the accept), and wait at most `idle_timeout` for its next
//!   request; a request is answered `408` after `request_timeout` (`body_timeout` between two
//!   body chunks), and its connection is closed if it is still busy shortly after that;
//! - at most `max_connections` are open: one more is closed at once;
//! - on stop, the listener closes, idle connections and those with an unfinished request
//!   head are closed at once; a request being handled gets [`STOP_GRACE`] to finish (its
//!   transaction commits or rolls back as a whole: an event not answered `200` is delivered
//!   again by SIGNL4), then its connection is closed too. Nothing waits on a client.
//!
//! Handlers see the peer's address as `ConnectInfo<SocketAddr>` ([`peer`]: the probes' loopback
//! decision, the status page's sign-in throttle).
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its
//! next request, so it cannot give a short header timeout with a longer idle timeout; the
//! connection's phase is tracked here instead (bytes read, request started / answered).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use s4s_core::config::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a request being handled may still take once the process stops.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// How long past `request_timeout` a connection may stay busy with one request (the `408`
/// being written, a client that does not read its answer) before it is closed.
const REQUEST_SLACK: Duration = Duration::from_secs(1);

/// The server's timeouts and limits (from `[server]`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub webhook_concurrency: usize,
}

impl Limits {
    pub fn from_config(c: &ServerConfig) -> Limits {
        Limits {
            header_timeout: c.header_timeout,
            body_timeout: c.body_timeout,
            request_timeout: c.request_timeout,
            idle_timeout: c.idle_timeout,
            max_connections: c.max_connections,
            webhook_concurrency: c.webhook_concurrency,
        }
    }
}

/// Where a connection stands, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head (a new connection starts here).
    Head,
    /// A request is being handled (count of requests in the service).
    Busy(usize),
    /// Answered everything; waiting for the next request.
    Idle,
}

struct Watch {
    phase: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Watch {
    fn new() -> Watch {
        Watch { phase: Mutex::new((Phase::Head, Instant::now())), changed: Notify::new() }
    }

    fn with<R>(&self, f: impl FnOnce(&mut (Phase, Instant)) -> R) -> R {
        f(&mut self.phase.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn phase(&self) -> Phase {
        self.with(|p| p.0)
    }

    /// Bytes arrived: an idle connection starts a request head (its header timeout runs).
    fn bytes_read(&self) {
        let woke = self.with(|p| {
            let idle = p.0 == Phase::Idle;
            if idle {
                *p = (Phase::Head, Instant::now());
            }
            idle
        });
        if woke {
            self.changed.notify_one();
        }
    }

    fn begin(&self) {
        self.with(|p| {
            let n = match p.0 {
                Phase::Busy(n) => n + 1,
                _ => 1,
            };
            *p = (Phase::Busy(n), Instant::now());
        });
        self.changed.notify_one();
    }

    fn end(&self) {
        self.with(|p| {
            *p = match p.0 {
                Phase::Busy(n) if n > 1 => (Phase::Busy(n - 1), p.1),
                _ => (Phase::Idle, Instant::now()),
            }
        });
        self.changed.notify_one();
    }

    /// When this connection is closed unless its phase changes, and why.
    fn deadline(&self, l: &Limits) -> (Instant, &'static str) {
        self.with(|(phase, since)| match phase {
            Phase::Head => (*since + l.header_timeout, "header_timeout"),
            Phase::Busy(_) => (*since + l.request_timeout + REQUEST_SLACK, "request_timeout"),
            Phase::Idle => (*since + l.idle_timeout, "idle_timeout"),
        })
    }
}

/// Ends a request's [`Phase::Busy`] also when its future is dropped.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The socket, telling its [`Watch`] when bytes arrive.
struct Watched {
    io: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_read();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The connection's peer, when the server provided it.
pub fn peer(parts: &axum::http::request::Parts) -> Option<SocketAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// The request and body timeouts around the whole router: `408` when a request (body
/// included) takes longer than `request_timeout`, or its body pauses longer than
/// `body_timeout` (tower-http's, reset at each chunk; the handler's body read then fails).
pub fn with_timeouts(app: Router, l: &Limits) -> Router {
    app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(l.body_timeout)).layer(
        tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, l.request_timeout),
    )
}

/// Serves `app` on `listener` until `stop` turns true; returns once every connection is
/// closed (at most [`STOP_GRACE`] after the stop, plus the time to close sockets).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, mut stop: watch::Receiver<bool>) {
    let app = with_timeouts(app, &limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    let mut conns = JoinSet::new();
    let mut refused: u64 = 0;
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refused += 1;
                    // Logged once per 100 so a flood does not flood the log.
                    if refused % 100 == 1 {
                        tracing::warn!(peer = %peer, max = limits.max_connections, refused, "connection refused: server.max_connections reached");
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(connection(stream, peer, app.clone(), limits.clone(), conn_stop.clone(), permit));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    // Each connection closes itself within STOP_GRACE of the stop; this bound is a backstop.
    let drained = tokio::time::timeout(STOP_GRACE * 2, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
    }
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(Watched { io: stream, watch: watch.clone() });
    let w = watch.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let guard = InFlight(w.clone());
        w.begin();
        req.extensions_mut().insert(ConnectInfo(peer));
        let call = app.clone().oneshot(req.map(axum::body::Body::new));
        async move {
            let res = call.await;
            drop(guard);
            res
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own deadlines (above) replace hyper's header timeout, which would also cut idle
    // keep-alive connections at the header timeout.
    builder.timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true).max_buf_size(64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut hard_stop: Option<Instant> = None;
    loop {
        let (mut deadline, mut why) = watch.deadline(&limits);
        if let Some(h) = hard_stop
            && h < deadline
        {
            (deadline, why) = (h, "shutdown");
        }
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(deadline) => {
                // The phase may have moved on just now; close only when the deadline still holds.
                let (now_deadline, _) = watch.deadline(&limits);
                if hard_stop.is_some_and(|h| Instant::now() >= h) || Instant::now() >= now_deadline {
                    tracing::debug!(peer = %peer, reason = why, "connection closed");
                    return;
                }
            }
            _ = watch.changed.notified() => {}
            _ = stopped(&mut stop), if hard_stop.is_none() => {
                conn.as_mut().graceful_shutdown();
                hard_stop = Some(Instant::now() + STOP_GRACE);
            }
        }
        // Stopping: anything not handling a request now is closed at once.
        if hard_stop.is_some() && !matches!(watch.phase(), Phase::Busy(_)) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        let s = Duration::from_secs;
        Limits {
            header_timeout: s(10),
            body_timeout: s(10),
            request_timeout: s(30),
            idle_timeout: s(60),
            max_connections: 4,
            webhook_concurrency: 2,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_own_deadline() {
        let l = limits();
        let w = Watch::new();
        let t0 = Instant::now();
        assert_eq!(w.deadline(&l), (t0 + l.header_timeout, "header_timeout"), "a new connection must send its head");
        tokio::time::advance(Duration::from_secs(3)).await;
        w.begin();
        assert_eq!(w.deadline(&l).1, "request_timeout");
        w.begin();
        w.end();
        assert_eq!(w.phase(), Phase::Busy(1), "still one request in the service");
        tokio::time::advance(Duration::from_secs(1)).await;
        w.end();
        let idle_since = Instant::now();
        assert_eq!(w.deadline(&l), (idle_since + l.idle_timeout, "idle_timeout"));
        // The next request's first bytes start its header timeout (earlier than the idle one).
        tokio::time::advance(Duration::from_secs(5)).await;
        w.bytes_read();
        assert_eq!(w.deadline(&l), (Instant::now() + l.header_timeout, "header_timeout"));
        // More bytes of the same head do not extend it.
        let head = w.deadline(&l);
        tokio::time::advance(Duration::from_secs(2)).await;
        w.bytes_read();
        assert_eq!(w.deadline(&l), head);
    }
}
