//! The listener: connections accepted on a TCP socket, optionally wrapped
//! in TLS, served with HTTP/1.1 and HTTP/2 (by ALPN over TLS, by the
//! client's preface over plain TCP).
//!
//! axum's own `serve` offers neither TLS nor a header read timeout, so
//! each connection is served by hyper-util's auto builder: its HTTP/1
//! header read timeout cuts off clients that send headers too slowly
//! (slowloris) and closes idle keep-alive connections; the TLS handshake
//! has the same time limit; every request body is wrapped in a timeout
//! that fires when no byte arrives for [`Limits::body_timeout`], and
//! writes that make no progress for as long fail (a client that stops
//! reading its reply); HTTP/2
//! connections are pinged and closed when the peer stops answering.
//! Requests carry the peer's address as axum's
//! [`ConnectInfo`](axum::extract::ConnectInfo), which the per-client
//! limits use. Open connections are capped in total and per client
//! address (`conn_limit`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower_http::timeout::TimeoutBody;

use crate::Limits;

mod conn_limit;
mod tls;
mod write_timeout;

use conn_limit::{ClientSlot, ConnLimit};
pub(crate) use tls::Tls;
use write_timeout::WriteTimeout;

/// Whether HTTP/2 is offered besides HTTP/1.1 (Distribution's
/// `http.http2.disabled`). Over TLS it is negotiated with ALPN; over
/// plain TCP a client may start with HTTP/2's preface (h2c with prior
/// knowledge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Http2 {
    /// HTTP/2 is offered (the default).
    Enabled,
    /// Only HTTP/1.1 is served.
    Disabled,
}

/// How long an HTTP/2 connection may stay silent before it is pinged,
/// and how long the ping's answer may take.
const H2_PING: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// The builder's network settings.
#[derive(Debug, Clone)]
pub(crate) struct NetOptions {
    /// The certificate chain and key files.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) http2: Http2,
    pub(crate) limits: Limits,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            tls: None,
            http2: Http2::Enabled,
            limits: Limits::default(),
        }
    }
}

/// What the listener needs besides the routes.
#[derive(Debug)]
pub(crate) struct Net {
    pub(crate) limits: Limits,
    pub(crate) http2: Http2,
    pub(crate) tls: Option<Tls>,
    /// The per-client limits' state.
    pub(crate) guard: Arc<crate::limits::Guard>,
    /// Connections open now (TLS handshakes included).
    pub(crate) open: Arc<AtomicUsize>,
    /// The caps on open connections.
    conns: Arc<ConnLimit>,
}

impl Net {
    /// Reads the TLS files, if any.
    pub(crate) fn open(o: &NetOptions) -> Result<Net, crate::Error> {
        let tls = match &o.tls {
            Some((cert, key)) => Some(Tls::load(cert, key, o.http2)?),
            None => None,
        };
        Ok(Net {
            limits: o.limits.clone(),
            http2: o.http2,
            tls,
            guard: Arc::new(crate::limits::Guard::new(o.limits.clone())),
            open: Arc::new(AtomicUsize::new(0)),
            conns: Arc::new(ConnLimit::new(&o.limits)),
        })
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for
/// the connections' requests in flight.
pub(crate) async fn run(
    listener: TcpListener,
    app: axum::Router,
    net: Arc<Net>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(net.limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    if net.http2 == Http2::Disabled {
        builder = builder.http1_only();
    }
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = net.conns.permit() => p,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather
                    // than spin; connections closing will free some.
                    tracing::warn!(error = &e as &dyn std::error::Error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match net.conns.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(max) => {
                tracing::debug!(%peer, max, "connection limit per client reached");
                continue;
            }
        };
        let conn = Conn {
            builder: builder.clone(),
            app: app.clone(),
            net: net.clone(),
            peer,
            watcher: graceful.watcher(),
            _open: Open::new(&net.open),
            _slots: (permit, slot),
        };
        tokio::spawn(conn.serve(stream));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One accepted connection and what serving it needs.
struct Conn {
    builder: auto::Builder<TokioExecutor>,
    app: axum::Router,
    net: Arc<Net>,
    peer: SocketAddr,
    watcher: Watcher,
    _open: Open,
    /// Held against the connection caps while the connection is open.
    _slots: (Option<tokio::sync::OwnedSemaphorePermit>, ClientSlot),
}

impl Conn {
    async fn serve(self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let stream = WriteTimeout::new(stream, self.net.limits.body_timeout);
        let Some(tls) = &self.net.tls else {
            return self.http(stream).await;
        };
        let handshake = tls.acceptor().accept(stream);
        match tokio::time::timeout(self.net.limits.header_timeout, handshake).await {
            Ok(Ok(stream)) => self.http(stream).await,
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = &e as &dyn std::error::Error, "TLS handshake failed");
            }
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn http<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            builder,
            app,
            net,
            peer,
            watcher,
            _open,
            _slots,
        } = self;
        let body_timeout = net.limits.body_timeout;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(|b| Body::new(TimeoutBody::new(body_timeout, b)));
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            tower_service::Service::call(&mut app, req)
        });
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(peer = %peer, error = &*e as &dyn std::error::Error, "connection ended");
        }
    }
}

/// Counts a connection as open until dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Open(count.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
