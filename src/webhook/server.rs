//! The receiver's HTTP/1.1 server. Its port is reachable from the internet, so everything a
//! client can hold on to is bounded: connections at once, the time to send a request head
//! (which is also how long a kept-alive connection may sit idle) and the size of that head.
//! Body limits are the handler's (`read_body`), where the signature is known.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::metrics::Metrics;

/// Largest request head (request line and headers) read, in bytes. Meta's deliveries carry a
/// handful of short headers and an ingress adds a few more; a larger head gets 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What a connection may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more are answered 503 and closed at once, unread.
    pub max_connections: usize,
    /// Time for a whole request head to arrive, counted from the connection's start or the end
    /// of its previous response (so it also ends idle kept-alive connections).
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// The answer to a connection over the cap: written without reading anything, then closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\nretry-after: 1\r\n\r\n";

/// Serves `app` on `listener` within `limits` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                accept_failed(&err).await;
                continue;
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let app = app.clone();
                tokio::spawn(connection(stream, app, limits, slot, shutdown.clone()));
            }
            Err(_) => {
                metrics.webhook_delivery("unknown", "busy");
                refuse(&stream);
            }
        }
    }
}

/// Per-connection errors (the client went away) are routine; running out of file descriptors is
/// not, and retrying at once would spin, so the loop pauses as hyper's own accept loop does.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    warn!(error = %err, "webhook receiver cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A best-effort 503 on a fresh socket (its send buffer is empty, so the write never waits),
/// then the socket is dropped: nothing of the request is read or buffered.
fn refuse(stream: &TcpStream) {
    let _ = stream.try_write(BUSY);
}

async fn connection(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    _slot: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        // Timeouts, oversized heads and clients that vanish end here; none is the server's fault.
        debug!(error = %err, "webhook connection ended");
    }
}
