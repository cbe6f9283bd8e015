//! The per-request limits: a token bucket and a count of uploads in
//! progress per client address, and the small-body cap.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ocikit_types::ErrorCode;

use super::{Limits, Rate};
use crate::api_error::ApiError;

/// Client addresses tracked before idle ones are forgotten.
const MAX_TRACKED: usize = 1 << 16;

/// The limits' state across requests.
#[derive(Debug)]
pub(crate) struct Guard {
    limits: Limits,
    uploads: Mutex<HashMap<IpAddr, u32>>,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Guard {
    pub(crate) fn new(limits: Limits) -> Self {
        Guard {
            limits,
            uploads: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of `ip`'s bucket, or says how long until one is due.
    fn take_token(&self, ip: IpAddr, rate: Rate, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            // A full bucket is the same as a new one: forget those.
            buckets.retain(|_, b| !b.is_full(rate, now));
        }
        buckets
            .entry(ip)
            .or_insert(Bucket {
                tokens: f64::from(rate.burst),
                at: now,
            })
            .take(rate, now)
    }

    /// Counts an upload of `ip` until the slot drops; `None` when `ip`
    /// has `max` in progress.
    fn upload_slot(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<UploadSlot> {
        let mut uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        let n = uploads.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(UploadSlot {
            guard: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn uploads_of(&self, ip: IpAddr) -> u32 {
        let uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        uploads.get(&ip).copied().unwrap_or(0)
    }
}

/// An upload in progress, counted until dropped.
struct UploadSlot {
    guard: Arc<Guard>,
    ip: IpAddr,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut uploads = self.guard.uploads.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = uploads.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                uploads.remove(&self.ip);
            }
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * f64::from(rate.per_second)).min(f64::from(rate.burst));
        self.at = now;
    }

    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / f64::from(rate.per_second),
            ))
        }
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * f64::from(rate.per_second) >= f64::from(rate.burst)
    }
}

/// What a request's body is for.
#[derive(Debug, PartialEq)]
enum Kind {
    /// Blob bytes into an upload.
    Upload,
    /// A manifest, capped by the manifest limit.
    Manifest,
    /// Nothing: the API takes no body here.
    Small,
}

fn kind(method: &Method, path: &str) -> Kind {
    let path = path.strip_suffix('/').unwrap_or(path);
    let upload_path = path.ends_with("/blobs/uploads") || path.contains("/blobs/uploads/");
    let is_write = [Method::POST, Method::PATCH, Method::PUT].contains(method);
    if upload_path && is_write {
        Kind::Upload
    } else if *method == Method::PUT && path.contains("/manifests/") {
        Kind::Manifest
    } else {
        Kind::Small
    }
}

/// 429 `TOOMANYREQUESTS`, to retry after `wait` (whole seconds, at least 1).
fn too_many(wait: Duration, message: String) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyRequests,
        message,
    )
    .header(RETRY_AFTER, secs.max(1).to_string())
    .into_response()
}

/// Applies the rate limit, the small-body cap and the upload count to a
/// request; the client's address comes from the listener's
/// [`ConnectInfo`] (without it, the per-client limits do not apply).
pub(crate) async fn enforce(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(ip), Some(rate)) = (ip, guard.limits.rate) {
        if let Err(wait) = guard.take_token(ip, rate, Instant::now()) {
            tracing::debug!(%ip, "rate limit reached");
            return too_many(
                wait,
                format!(
                    "more than {} requests a second (bursts of {}) from {ip}",
                    rate.per_second, rate.burst
                ),
            );
        }
    }
    let kind = kind(req.method(), req.uri().path());
    let limit = guard.limits.small_body_limit;
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if kind == Kind::Small && length.is_some_and(|l| l > limit) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::SizeInvalid,
            format!(
                "{} {} takes no body; found {} bytes, more than {limit}",
                req.method(),
                req.uri().path(),
                length.unwrap_or(0)
            ),
        )
        .into_response();
    }
    let _slot = match (kind, ip, guard.limits.uploads_per_client) {
        (Kind::Upload, Some(ip), Some(max)) => match guard.upload_slot(ip, max) {
            Some(slot) => Some(slot),
            None => {
                tracing::debug!(%ip, "upload limit reached");
                return too_many(
                    Duration::from_secs(1),
                    format!("{ip} has {max} uploads in progress, the most allowed"),
                );
            }
        },
        _ => None,
    };
    // The slot lasts until the handler returns, which is after it has
    // read the whole body.
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let guard = Guard::new(Limits::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let rate = Rate::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(guard.take_token(ip, rate, t0).is_ok());
        }
        assert_eq!(
            guard.take_token(ip, rate, t0),
            Err(Duration::from_millis(500))
        );
        // Another address has its own bucket.
        assert!(guard
            .take_token("192.0.2.2".parse().unwrap(), rate, t0)
            .is_ok());
        let t1 = t0 + Duration::from_millis(500);
        assert!(guard.take_token(ip, rate, t1).is_ok());
        assert!(guard.take_token(ip, rate, t1).is_err());
        // After a long pause, never more than the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(guard.take_token(ip, rate, t2).is_ok());
        }
        assert!(guard.take_token(ip, rate, t2).is_err());
    }

    #[test]
    fn upload_slots_are_counted_and_given_back() {
        let guard = Arc::new(Guard::new(Limits::default()));
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let a = guard.upload_slot(ip, 2).unwrap();
        let b = guard.upload_slot(ip, 2).unwrap();
        assert!(guard.upload_slot(ip, 2).is_none());
        drop(a);
        assert_eq!(guard.uploads_of(ip), 1);
        let c = guard.upload_slot(ip, 2).unwrap();
        drop((b, c));
        assert_eq!(guard.uploads_of(ip), 0);
        assert!(guard.uploads.lock().unwrap().is_empty());
    }

    #[test]
    fn routes_are_told_apart() {
        assert_eq!(
            kind(&Method::PATCH, "/v2/a/b/blobs/uploads/x"),
            Kind::Upload
        );
        assert_eq!(kind(&Method::POST, "/v2/a/blobs/uploads/"), Kind::Upload);
        assert_eq!(kind(&Method::PUT, "/v2/a/blobs/uploads/x"), Kind::Upload);
        assert_eq!(kind(&Method::GET, "/v2/a/blobs/uploads/x"), Kind::Small);
        assert_eq!(kind(&Method::PUT, "/v2/a/manifests/v1"), Kind::Manifest);
        assert_eq!(kind(&Method::GET, "/v2/a/manifests/v1"), Kind::Small);
        assert_eq!(kind(&Method::POST, "/v2/_catalog"), Kind::Small);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let r = too_many(Duration::from_millis(1500), "x".into());
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[RETRY_AFTER], "2");
        let r = too_many(Duration::from_millis(10), "x".into());
        assert_eq!(r.headers()[RETRY_AFTER], "1");
    }
}
