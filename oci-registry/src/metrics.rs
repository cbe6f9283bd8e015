//! What the registry counts and logs per request, and the Prometheus text
//! it serves on the debug address.
//!
//! The counters are labelled by [`RouteKind`] (the API endpoint, never
//! the path), the method (one of a fixed list) and the status code, so
//! the number of series stays bounded whatever clients send: no
//! repository name, digest or session id ever becomes a label.
//!
//! The text exposition format is written here by hand rather than with
//! the `prometheus-client` crate: five families whose label values all
//! come from fixed lists (nothing to escape), counted with atomics on the
//! request path, take a few dozen lines, where the crate would bring its
//! registry types and their dependencies for the same output.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State as AxumState};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use crate::Storage;

mod body;
mod kind;

use kind::kind;

/// The API endpoint a request went to: a bounded set, used as the
/// `route` label (Distribution's route names, plus `referrers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RouteKind {
    /// `/v2/`.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest,
    /// `/v2/<name>/blobs/<digest>`.
    Blob,
    /// `/v2/<name>/blobs/uploads/`: starting an upload.
    BlobUpload,
    /// `/v2/<name>/blobs/uploads/<id>`: a session's requests.
    BlobUploadChunk,
    /// `/v2/<name>/referrers/<digest>`.
    Referrers,
    /// Any other path.
    Unknown,
}

impl RouteKind {
    const ALL: [RouteKind; 9] = [
        RouteKind::Base,
        RouteKind::Catalog,
        RouteKind::Tags,
        RouteKind::Manifest,
        RouteKind::Blob,
        RouteKind::BlobUpload,
        RouteKind::BlobUploadChunk,
        RouteKind::Referrers,
        RouteKind::Unknown,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RouteKind::Base => "base",
            RouteKind::Catalog => "catalog",
            RouteKind::Tags => "tags",
            RouteKind::Manifest => "manifest",
            RouteKind::Blob => "blob",
            RouteKind::BlobUpload => "blob_upload",
            RouteKind::BlobUploadChunk => "blob_upload_chunk",
            RouteKind::Referrers => "referrers",
            RouteKind::Unknown => "unknown",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether `method` on this route receives a blob's bytes.
    fn is_upload(self, method: &Method) -> bool {
        match self {
            RouteKind::BlobUpload => method == Method::POST,
            RouteKind::BlobUploadChunk => method == Method::PATCH || method == Method::PUT,
            _ => false,
        }
    }
}

/// The method as a label: one of the methods the API uses, or `other`.
fn method_label(m: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .iter()
    .find(|k| *k == m)
    .map_or("other", |k| k.as_str())
}

/// The registry's counters, shared by every request.
#[derive(Debug)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(RouteKind, &'static str, u16), u64>>,
    received: [AtomicU64; RouteKind::ALL.len()],
    sent: [AtomicU64; RouteKind::ALL.len()],
    in_flight: AtomicI64,
    uploads: AtomicI64,
    /// The storage's size and when it was measured.
    storage_size: tokio::sync::Mutex<Option<(Instant, Option<u64>)>>,
    storage_size_interval: Duration,
}

impl Metrics {
    pub(crate) fn new(storage_size_interval: Duration) -> Self {
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            received: Default::default(),
            sent: Default::default(),
            in_flight: AtomicI64::new(0),
            uploads: AtomicI64::new(0),
            storage_size: tokio::sync::Mutex::new(None),
            storage_size_interval,
        }
    }

    fn answered(&self, route: RouteKind, method: &Method, status: u16) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((route, method_label(method), status))
            .or_default() += 1;
    }

    /// The storage's size, measured again when the last measure is older
    /// than the interval; `None` when the backend cannot tell.
    async fn storage_size(&self, storage: &Arc<dyn Storage>) -> Option<u64> {
        let mut cached = self.storage_size.lock().await;
        if let Some((at, size)) = *cached {
            if at.elapsed() < self.storage_size_interval {
                return size;
            }
        }
        let size = match crate::storage::run(storage, |s| s.usage()).await {
            Ok(size) => size,
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure the storage's size");
                None
            }
        };
        *cached = Some((Instant::now(), size));
        size
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter.
    pub(crate) async fn render(&self, storage: &Arc<dyn Storage>) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "ocikit_registry_http_requests_total",
            "counter",
            "HTTP requests answered, by route kind, method and status code.",
        );
        for ((route, method, code), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "ocikit_registry_http_requests_total{{route=\"{}\",method=\"{method}\",code=\"{code}\"}} {n}",
                route.as_str()
            );
        }
        for (name, help, counters) in [
            (
                "ocikit_registry_http_received_bytes_total",
                "Request body bytes received, by route kind.",
                &self.received,
            ),
            (
                "ocikit_registry_http_sent_bytes_total",
                "Response body bytes sent, by route kind.",
                &self.sent,
            ),
        ] {
            family(&mut out, name, "counter", help);
            for route in RouteKind::ALL {
                let n = counters[route.index()].load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{route=\"{}\"}} {n}", route.as_str());
            }
        }
        for (name, help, v) in [
            (
                "ocikit_registry_http_requests_in_flight",
                "Requests being handled.",
                &self.in_flight,
            ),
            (
                "ocikit_registry_uploads_in_progress",
                "Upload requests (POST, PATCH, PUT on uploads) receiving blob bytes.",
                &self.uploads,
            ),
        ] {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        if let Some(size) = self.storage_size(storage).await {
            let name = "ocikit_registry_storage_bytes";
            family(
                &mut out,
                name,
                "gauge",
                "Bytes the storage holds (blobs, manifests, uploads), measured at most once per interval.",
            );
            let _ = writeln!(out, "{name} {size}");
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Adds one to a gauge until dropped.
struct Gauge<'a>(&'a AtomicI64);

impl<'a> Gauge<'a> {
    fn up(g: &'a AtomicI64) -> Self {
        g.fetch_add(1, Ordering::Relaxed);
        Gauge(g)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the request middleware shares: the counters and the token that
/// cuts requests still running at the drain deadline.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) cut: CancellationToken,
}

/// Counts, logs and (at the drain deadline) cuts every request.
pub(crate) async fn track(AxumState(t): AxumState<Tracker>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let (route, repository) = kind(req.uri().path());
    let repository = repository.map(str::to_owned);
    let method = req.method().clone();
    let metrics = &t.metrics;
    let received = Arc::new(AtomicU64::new(0));
    let req = req.map(|b| body::Counted::request(b, t.metrics.clone(), route, received.clone()));
    let resp = {
        let _in_flight = Gauge::up(&metrics.in_flight);
        let _upload = route
            .is_upload(&method)
            .then(|| Gauge::up(&metrics.uploads));
        tokio::select! {
            resp = next.run(req) => resp,
            () = t.cut.cancelled() => cut_reply(),
        }
    };
    let status = resp.status().as_u16();
    metrics.answered(route, &method, status);
    let access = body::Access {
        method,
        route,
        repository,
        status,
        received,
        start,
    };
    resp.map(|b| body::Counted::response(b, t.metrics.clone(), route, access, t.cut.clone()))
}

/// The answer to a request cut at the drain deadline.
fn cut_reply() -> Response {
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [("connection", "close")],
        "the server is shutting down",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_api_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn labels_name_the_route_never_the_path() {
        assert_eq!(kind("/v2/"), (RouteKind::Base, None));
        assert_eq!(kind("/v2"), (RouteKind::Base, None));
        assert_eq!(kind("/v2/_catalog"), (RouteKind::Catalog, None));
        assert_eq!(kind("/v2/a/b/tags/list"), (RouteKind::Tags, Some("a/b")));
        assert_eq!(
            kind("/v2/a/blobs/uploads/0b8e4f52-0000-4000-8000-000000000000"),
            (RouteKind::BlobUploadChunk, Some("a"))
        );
        assert_eq!(
            kind("/v2/a/blobs/uploads/"),
            (RouteKind::BlobUpload, Some("a"))
        );
        assert_eq!(kind("/v2/A!/manifests/x"), (RouteKind::Manifest, None));
        assert_eq!(kind("/metrics"), (RouteKind::Unknown, None));
        assert_eq!(kind("/v2_catalog"), (RouteKind::Unknown, None));
    }

    #[test]
    fn route_kinds_index_their_counters() {
        for (i, r) in RouteKind::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        assert!(RouteKind::BlobUploadChunk.is_upload(&Method::PUT));
        assert!(!RouteKind::BlobUploadChunk.is_upload(&Method::GET));
        assert!(!RouteKind::Blob.is_upload(&Method::PUT));
    }
}
