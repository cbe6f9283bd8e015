//! Sending requests: authentication on 401, retries of transient failures
//! with backoff and `Retry-After`, bounded bodies and error statuses.

use std::time::Duration;

use ocikit_types::{Document, ErrorResponse, Reference};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::client::{scope, Access, Client};
use crate::Error;

/// Largest error body or token response read.
pub(crate) const MAX_SMALL_BODY: u64 = 1 << 20;

/// How long a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// A small request, whole (sending to the end of the body) within the
    /// request timeout.
    Whole,
    /// A blob download: its answer must start within the progress
    /// timeout; the caller watches the body's progress.
    Download,
    /// A blob upload: as long as the body takes to send.
    Upload,
}

type Make<'a> = &'a (dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync);

impl Client {
    /// Sends a small request built by `make` (called again for each
    /// attempt), authenticating on 401 and retrying transient failures.
    pub(crate) async fn send(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: Make<'_>,
    ) -> Result<Response, Error> {
        self.send_within(r, scopes, method, url, make, Budget::Whole)
            .await
    }

    /// [`Client::send`] with the time limits of `budget`. Every attempt
    /// that fails transiently (no answer in time for a download, 429 or a
    /// 5xx, a connection or body failure) goes through one retry step:
    /// wait (`Retry-After` or backoff) and try again, or give up with the
    /// typed error of the last failure.
    pub(crate) async fn send_within(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: Make<'_>,
        budget: Budget,
    ) -> Result<Response, Error> {
        let registry = r.registry().to_owned();
        self.load_creds(&registry).await;
        let scope_key = scopes.join(" ");
        let mut attempt = 0u32;
        let mut authenticated = false;
        loop {
            let mut req = make(self.inner.http.request(method.clone(), url));
            if budget == Budget::Whole {
                req = req.timeout(self.cfg().request_timeout);
            }
            let sent = match self.auth_header(&registry, &scope_key) {
                Some(h) => Some(h),
                None => self.renew_token(r, scopes).await?,
            };
            if let Some(h) = &sent {
                req = req.header(AUTHORIZATION, h);
            }
            let failure = match self.attempt(req, url, budget).await {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    let challenge =
                        header_str(resp.headers(), WWW_AUTHENTICATE.as_str()).map(str::to_owned);
                    if authenticated {
                        return Err(self.refused(r, &scope_key, challenge.as_deref()));
                    }
                    authenticated = true;
                    self.authenticate(r, scopes, challenge.as_deref(), sent.as_deref())
                        .await?;
                    continue;
                }
                Ok(resp) if is_transient(resp.status()) => Failure::Status(resp),
                Ok(resp) => return Ok(resp),
                Err(Failure::Transport(e)) => {
                    if url.starts_with("https://") && is_plain_http_answer(&e) {
                        return Err(Error::PlainHttp {
                            url: url.to_owned(),
                            host: r.api_host().to_owned(),
                            source: e.into(),
                        });
                    }
                    let transient =
                        e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
                    if !transient || e.is_redirect() || is_permanent_failure(&e) {
                        return Err(Error::transport(url, e));
                    }
                    Failure::Transport(e)
                }
                Err(failure) => failure,
            };
            if attempt >= self.inner.cfg.retries {
                return Err(self.give_up(failure, &method, url, attempt, budget).await);
            }
            let wait = match &failure {
                Failure::Status(resp) => {
                    retry_after(resp.headers()).unwrap_or_else(|| self.backoff(attempt))
                }
                _ => self.backoff(attempt),
            };
            tracing::debug!(%url, failure = %failure, ?wait, attempt, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Sends one attempt within `budget`: a download's answer must start
    /// within the progress timeout.
    async fn attempt(
        &self,
        req: RequestBuilder,
        url: &str,
        budget: Budget,
    ) -> Result<Response, Failure> {
        let result = match budget {
            Budget::Download => {
                let wait = self.cfg().progress_timeout;
                tokio::time::timeout(wait, req.send()).await.map_err(|_| {
                    Failure::NoAnswer(Error::Timeout {
                        url: url.to_owned(),
                        stage: "answer",
                        after: wait,
                    })
                })?
            }
            Budget::Whole | Budget::Upload => req.send().await,
        };
        result.map_err(Failure::Transport)
    }

    /// The error that ends a request whose last attempt failed
    /// transiently.
    async fn give_up(
        &self,
        failure: Failure,
        method: &Method,
        url: &str,
        attempt: u32,
        budget: Budget,
    ) -> Error {
        let last = match failure {
            Failure::NoAnswer(e) => return e,
            Failure::Transport(e) if e.is_timeout() => return self.timeout_error(url, &e, budget),
            Failure::Transport(e) => Error::transport(url, e),
            Failure::Status(resp) => match check(resp, method_name(method), url).await {
                Err(e) => e,
                Ok(resp) => Error::Protocol {
                    url: url.to_owned(),
                    expected: "an error status",
                    found: resp.status().to_string(),
                },
            },
        };
        Error::RetriesExhausted {
            url: url.to_owned(),
            attempts: attempt + 1,
            last: Box::new(last),
        }
    }

    /// The typed timeout for a request that timed out in `reqwest`.
    fn timeout_error(&self, url: &str, e: &reqwest::Error, budget: Budget) -> Error {
        let (stage, after) = if e.is_connect() {
            ("connection", self.cfg().connect_timeout)
        } else if budget == Budget::Whole {
            ("request", self.cfg().request_timeout)
        } else {
            ("request", self.cfg().timeout.unwrap_or_default())
        };
        Error::Timeout {
            url: url.to_owned(),
            stage,
            after,
        }
    }

    /// Sends a small request and checks for a success status, turning
    /// error statuses into [`Error::Status`] with the registry's error
    /// body.
    pub(crate) async fn send_ok(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: Make<'_>,
    ) -> Result<Response, Error> {
        self.send_ok_within(r, scopes, method, url, make, Budget::Whole)
            .await
    }

    /// [`Client::send_ok`] with the time limits of `budget`.
    pub(crate) async fn send_ok_within(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: Make<'_>,
        budget: Budget,
    ) -> Result<Response, Error> {
        let m = method_name(&method);
        let resp = self
            .send_within(r, scopes, method, url, make, budget)
            .await?;
        check(resp, m, url).await
    }

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

    pub(crate) async fn delete(&self, r: &Reference, path: &str) -> Result<(), Error> {
        let url = format!("{}/{path}", self.base(r));
        let scopes = [
            format!("repository:{}:delete", r.repository()),
            scope(r.repository(), Access::Push),
        ];
        self.send_ok(r, &scopes, Method::DELETE, &url, &|b| b)
            .await?;
        Ok(())
    }
}

/// An attempt that failed, perhaps transiently.
enum Failure {
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
fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
}

/// True when a request failed in the TLS handshake (an untrusted or
/// mismatched certificate, a protocol alert), or its body failed with
/// `InvalidData` (a local blob that does not match its digest, see
/// the push body's verifier): no retry changes that.
fn is_permanent_failure(e: &reqwest::Error) -> bool {
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
fn is_plain_http_answer(e: &reqwest::Error) -> bool {
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

pub(crate) fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "request",
    }
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

/// Reads a whole body, refusing more than `limit` bytes (by
/// `Content-Length` up front, or as it arrives).
pub(crate) async fn read_limited(
    mut resp: Response,
    limit: u64,
    what: &'static str,
    url: &str,
) -> Result<Vec<u8>, Error> {
    let too_large = || Error::TooLarge {
        what,
        url: url.to_owned(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Error::transport(url, e))? {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Turns an error status into [`Error::Status`] with the parsed error body.
pub(crate) async fn check(
    resp: Response,
    method: &'static str,
    url: &str,
) -> Result<Response, Error> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let errors = match read_limited(resp, MAX_SMALL_BODY, "error body", url).await {
        Ok(body) => ErrorResponse::from_slice(&body)
            .map(|e| e.errors)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Err(Error::Status {
        method,
        url: url.to_owned(),
        status,
        errors,
    })
}

pub(crate) fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v: &HeaderValue| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientBuilder;

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
