//! Request and response bodies that count their bytes as they pass, and
//! the request's log line, written when its response body ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::Method;
use http_body::{Frame, SizeHint};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::{Metrics, RouteKind};

/// A request's facts, logged once when its response body is done (sent,
/// or dropped when the client went away). Neither the path (upload
/// session ids are the session's only secret), the query nor any header
/// (`Authorization`) is logged.
pub(super) struct Access {
    pub(super) method: Method,
    pub(super) route: RouteKind,
    pub(super) repository: Option<String>,
    pub(super) status: u16,
    pub(super) received: Arc<AtomicU64>,
    pub(super) start: Instant,
}

/// A body counting the bytes of its data frames into the route's counter
/// as they pass (before the response's bytes reach the socket, so a
/// client that read them sees them counted).
pub(super) struct Counted {
    inner: Body,
    metrics: Arc<Metrics>,
    route: RouteKind,
    side: Side,
}

enum Side {
    Request(Arc<AtomicU64>),
    Response {
        access: Access,
        sent: u64,
        cut: Pin<Box<WaitForCancellationFutureOwned>>,
    },
}

impl Counted {
    pub(super) fn request(
        inner: Body,
        metrics: Arc<Metrics>,
        route: RouteKind,
        received: Arc<AtomicU64>,
    ) -> Body {
        Body::new(Counted {
            inner,
            metrics,
            route,
            side: Side::Request(received),
        })
    }

    pub(super) fn response(
        inner: Body,
        metrics: Arc<Metrics>,
        route: RouteKind,
        access: Access,
        cut: CancellationToken,
    ) -> Body {
        Body::new(Counted {
            inner,
            metrics,
            route,
            side: Side::Response {
                access,
                sent: 0,
                cut: Box::pin(cut.cancelled_owned()),
            },
        })
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Side::Response { cut, .. } = &mut this.side {
            // A download still running at the drain deadline fails, which
            // closes its connection.
            if cut.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "the server's drain deadline passed",
                )))));
            }
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let n = data.len() as u64;
                let metrics = &this.metrics;
                match &mut this.side {
                    Side::Request(received) => {
                        received.fetch_add(n, Ordering::Relaxed);
                        metrics.received[this.route.index()].fetch_add(n, Ordering::Relaxed);
                    }
                    Side::Response { sent, .. } => {
                        *sent += n;
                        metrics.sent[this.route.index()].fetch_add(n, Ordering::Relaxed);
                    }
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Side::Response { access, sent, .. } = &self.side {
            tracing::info!(
                target: "ocikit_registry::access",
                method = %access.method,
                route = access.route.as_str(),
                repository = access.repository.as_deref(),
                status = access.status,
                bytes_in = access.received.load(Ordering::Relaxed),
                bytes_out = *sent,
                duration_ms = access.start.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
        }
    }
}
