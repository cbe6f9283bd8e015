//! Sending requests: authentication on 401, retries of transient failures
//! with backoff and `Retry-After`, bounded bodies and error statuses.

use ocikit_types::{Document, ErrorResponse, Reference};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::client::{scope, Access, Client};
use crate::retry::{
    is_permanent_failure, is_plain_http_answer, is_transient, retry_after, Failure,
};
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

/// `s` percent-encoded for a query string or form value: every byte but
/// RFC 3986's unreserved characters escaped, so that `+` (in media types
/// such as `application/spdx+json`) is not read as a space.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::urlencode;

    #[test]
    fn a_media_type_keeps_its_plus_in_a_query() {
        assert_eq!(
            urlencode("application/spdx+json"),
            "application%2Fspdx%2Bjson"
        );
        assert_eq!(urlencode("a-b._~c d"), "a-b._~c%20d");
    }
}
