//! When and how long to retry: which failures are transient, the
//! registry's `Retry-After`, and the client's own backoff.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};

use crate::client::Client;
use crate::Error;

impl Client {
    /// The wait after failed attempt `attempt` (from 0): the configured
    /// backoff doubled per attempt up to its maximum, with jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let cfg = &self.inner.cfg;
        let base = cfg
            .backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(cfg.max_backoff);
        // Jitter in [50%, 100%] from the clock's low bits: enough to spread
        // clients apart without a random number generator.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.5 + f64::from(nanos % 1000) / 2000.0;
        base.mul_f64(factor)
    }
}

/// An attempt that failed, perhaps transiently.
pub(crate) enum Failure {
    /// A download whose answer did not start in time.
    NoAnswer(Error),
    /// The request could not be sent or its answer not received.
    Transport(reqwest::Error),
    /// 429 or a 5xx other than 501.
    Status(Response),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoAnswer(e) => write!(f, "{e}"),
            Failure::Transport(e) => write!(f, "{e}"),
            Failure::Status(resp) => write!(f, "{}", resp.status()),
        }
    }
}

/// Statuses worth another attempt: 429 and server errors (but 501, which
/// says the request will never be served).
pub(crate) fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// True when a request failed in the TLS handshake (an untrusted or
/// mismatched certificate, a protocol alert), or its body failed with
/// `InvalidData` (a local blob that does not match its digest, see
/// the push body's verifier): no retry changes that.
pub(crate) fn is_permanent_failure(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
        }
        if s.to_string().contains("certificate") {
            return true;
        }
        source = s.source();
    }
    false
}

/// True when a TLS handshake got a plain-HTTP answer: what rustls
/// ("corrupt message of type InvalidContentType") and OpenSSL ("wrong
/// version number", "packet length too long") say when the first bytes
/// back are `HTTP/1.1 400` instead of a TLS record.
pub(crate) fn is_plain_http_answer(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if [
            "InvalidContentType",
            "wrong version number",
            "packet length too long",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Seconds or an HTTP date; odd forms (fractions, negative, far future)
/// are clamped to at most five minutes.
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let cap = Duration::from_secs(300);
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() {
            return Some(Duration::from_secs_f64(secs.clamp(0.0, 300.0)));
        }
        return None;
    }
    let when = httpdate(v)?;
    let now = std::time::SystemTime::now();
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(cap))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    // Fields out of their ranges are no date (and keep the arithmetic
    // below far from overflowing on hostile numbers).
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok().filter(|y| (1..=9999).contains(y))?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, se] = hms.as_slice() else {
        return None;
    };
    if !(0..24).contains(h) || !(0..60).contains(mi) || !(0..=60).contains(se) {
        return None;
    }
    let days = ocikit_types::rfc3339::days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    let secs = u64::try_from(secs).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientBuilder;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("-4"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(300)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        // Out-of-range fields are no date, and never an overflow.
        for bad in [
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, -9223372036854775808 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 9223372036854775807:00:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(retry_after(&h), None, "{bad}");
        }
        assert_eq!(
            httpdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = ClientBuilder::new()
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
            .build()
            .unwrap();
        assert!(c.backoff(0) <= Duration::from_millis(100));
        assert!(c.backoff(0) >= Duration::from_millis(50));
        assert!(c.backoff(10) <= Duration::from_secs(1));
        assert!(c.backoff(10) >= Duration::from_millis(500));
    }
}
