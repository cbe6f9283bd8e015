//! The registry client: configuration, request execution with auth and
//! retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocikit_types::{Challenge, Document, ErrorResponse, Reference};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::auth::{AuthCache, Credentials, Token, TokenResponse};
use crate::Error;

/// What a transfer reports as it goes, for progress bars.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// A blob transfer starts.
    Started {
        /// The blob.
        digest: ocikit_types::Digest,
        /// Its size.
        size: u64,
    },
    /// Bytes moved so far for a blob.
    Bytes {
        /// The blob.
        digest: ocikit_types::Digest,
        /// Bytes done.
        done: u64,
        /// The blob's size.
        size: u64,
    },
    /// A blob is complete and verified.
    Finished {
        /// The blob.
        digest: ocikit_types::Digest,
    },
    /// A blob was already at the destination (or mounted) and skipped.
    Skipped {
        /// The blob.
        digest: ocikit_types::Digest,
    },
}

/// A callback receiving [`Progress`] events from any task.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Configures a [`Client`].
///
/// ```
/// use ocikit_distribution::{ClientBuilder, Credentials};
/// let client = ClientBuilder::new()
///     .insecure_http_host("127.0.0.1:5000")
///     .credentials("ghcr.io", Credentials::basic("me", "token"))
///     .concurrency(8)
///     .build()?;
/// # let _ = client;
/// # Ok::<(), ocikit_distribution::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) insecure: Vec<String>,
    pub(crate) credentials: HashMap<String, Credentials>,
    pub(crate) credential_files: Option<crate::CredentialFiles>,
    pub(crate) root_certs: Vec<Vec<u8>>,
    pub(crate) max_manifest: u64,
    pub(crate) concurrency: usize,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) user_agent: String,
    pub(crate) timeout: Option<Duration>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) chunk_size: Option<u64>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("insecure", &self.insecure)
            .field("credentials", &self.credentials)
            .field("max_manifest", &self.max_manifest)
            .field("concurrency", &self.concurrency)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// A builder with the defaults each setter documents.
    pub fn new() -> Self {
        ClientBuilder {
            insecure: Vec::new(),
            credentials: HashMap::new(),
            credential_files: None,
            root_certs: Vec::new(),
            max_manifest: 4 << 20,
            concurrency: 4,
            retries: 5,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            user_agent: concat!("ocikit/", env!("CARGO_PKG_VERSION")).to_owned(),
            timeout: None,
            progress: None,
            chunk_size: None,
        }
    }

    /// Talks plain HTTP to `host`: `host:port` for that port only, or a
    /// bare `host` (such as `127.0.0.1` or `localhost`) for every port of
    /// it. Default: none; every registry is reached over HTTPS.
    /// Credentials sent to such a host travel in the clear.
    ///
    /// It also marks a token server: credentials go to a plain-HTTP token
    /// realm only when its host is marked, or when the registry itself is
    /// reached over plain HTTP.
    pub fn insecure_http_host(&mut self, host: &str) -> &mut Self {
        self.insecure.push(host.to_owned());
        self
    }

    /// Uses `credentials` for `registry` (as it appears in references:
    /// `docker.io`, `ghcr.io`, `localhost:5000`). Default: anonymous.
    pub fn credentials(&mut self, registry: &str, credentials: Credentials) -> &mut Self {
        self.credentials.insert(registry.to_owned(), credentials);
        self
    }

    /// Looks up credentials for registries without explicit
    /// [`ClientBuilder::credentials`] in these files (docker's
    /// `config.json`, containers' `auth.json`, credential helpers), on first
    /// use of each registry. [`crate::CredentialFiles::standard`] gives the
    /// usual locations. Default: no files are read.
    pub fn credential_files(&mut self, files: crate::CredentialFiles) -> &mut Self {
        self.credential_files = Some(files);
        self
    }

    /// Trusts an extra root certificate (PEM), for registries with a
    /// private CA. Default: the webpki roots only.
    pub fn add_root_certificate_pem(&mut self, pem: &[u8]) -> &mut Self {
        self.root_certs.push(pem.to_vec());
        self
    }

    /// The largest manifest or index accepted. Default: 4 MiB, the limit
    /// the distribution-spec says registries should accept.
    pub fn max_manifest_size(&mut self, bytes: u64) -> &mut Self {
        self.max_manifest = bytes;
        self
    }

    /// How many blobs move at once. Default: 4.
    pub fn concurrency(&mut self, n: usize) -> &mut Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many times a transient failure (429, 5xx, a broken connection)
    /// is retried. Default: 5.
    pub fn max_retries(&mut self, n: u32) -> &mut Self {
        self.retries = n;
        self
    }

    /// The first retry delay, doubled each retry up to `max` with jitter,
    /// unless the registry sends `Retry-After`. Default: 200 ms up to 10 s.
    pub fn backoff(&mut self, first: Duration, max: Duration) -> &mut Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// A timeout for each whole request. Default: none (large blobs take
    /// as long as they take; stalled connections are caught by the OS).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// Receives [`Progress`] events. Default: none.
    pub fn progress(&mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> &mut Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Uploads blobs in chunks of this size (PATCH with `Content-Range`)
    /// instead of one PUT. Default: monolithic uploads, switching to
    /// chunks only when a registry refuses a monolithic one.
    pub fn chunked_upload(&mut self, chunk_size: u64) -> &mut Self {
        self.chunk_size = Some(chunk_size.max(1));
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Config`] for a root certificate that is not PEM, or when the
    /// HTTP stack cannot start.
    pub fn build(&self) -> Result<Client, Error> {
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .redirect(reqwest::redirect::Policy::limited(10));
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        for pem in &self.root_certs {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| Error::Config {
                reason: format!("root certificate is not PEM: {e}"),
            })?;
            http = http.add_root_certificate(cert);
        }
        let http = http.build().map_err(|e| Error::Config {
            reason: format!("cannot start the HTTP client: {e}"),
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                cfg: self.clone(),
                auth: Mutex::new(AuthCache::default()),
                file_creds: Mutex::new(HashMap::new()),
                token_fetch: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) cfg: ClientBuilder,
    auth: Mutex<AuthCache>,
    file_creds: Mutex<HashMap<String, Option<Credentials>>>,
    /// Held while a token is fetched, so concurrent requests that need the
    /// same token wait for one fetch instead of each making their own.
    token_fetch: tokio::sync::Mutex<()>,
}

/// An async client of the OCI distribution specification. Cheap to clone;
/// clones share connections and the token cache.
///
/// Every future it returns is `Send`, so it works from any tokio task.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// Largest error body or token response read.
const MAX_SMALL_BODY: u64 = 1 << 20;

/// What a request may do, for token scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Pull,
    Push,
}

pub(crate) fn scope(repository: &str, access: Access) -> String {
    match access {
        Access::Pull => format!("repository:{repository}:pull"),
        Access::Push => format!("repository:{repository}:pull,push"),
    }
}

impl Client {
    /// A client with the default configuration.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    pub fn new() -> Result<Client, Error> {
        ClientBuilder::new().build()
    }

    pub(crate) fn cfg(&self) -> &ClientBuilder {
        &self.inner.cfg
    }

    pub(crate) fn progress(&self, p: Progress) {
        if let Some(f) = &self.inner.cfg.progress {
            f(p);
        }
    }

    /// True when credentials may travel in the clear to `realm`: the
    /// registry itself is reached over plain HTTP (so they already do), or
    /// the realm's host is marked insecure.
    fn clear_text_allowed(&self, r: &Reference, realm: &reqwest::Url) -> bool {
        if self.base(r).starts_with("http:") {
            return true;
        }
        let host = realm.host_str().unwrap_or("");
        let with_port = match realm.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        self.is_insecure(&with_port)
    }

    /// True when `host` (`name` or `name:port`) was marked insecure, by
    /// itself or by its bare name.
    fn is_insecure(&self, host: &str) -> bool {
        let bare = match host.rsplit_once(':') {
            // Not an IPv6 literal's colon: those are bracketed.
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        self.inner
            .cfg
            .insecure
            .iter()
            .any(|h| h == host || h == bare)
    }

    /// `http://` for hosts marked insecure, else `https://`.
    pub(crate) fn base(&self, r: &Reference) -> String {
        let host = r.api_host();
        let scheme = if self.is_insecure(host) || self.is_insecure(r.registry()) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}/v2/{}", r.repository())
    }

    /// Sends a request built by `make` (called again for each attempt),
    /// authenticating on 401 and retrying transient failures.
    pub(crate) async fn send(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: &(dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync),
    ) -> Result<Response, Error> {
        let registry = r.registry().to_owned();
        let scope_key = scopes.join(" ");
        let mut attempt = 0u32;
        let mut authenticated = false;
        loop {
            let mut req = make(self.inner.http.request(method.clone(), url));
            let sent = match self.auth_header(&registry, &scope_key) {
                Some(h) => Some(h),
                None => self.renew_token(r, scopes).await?,
            };
            if let Some(h) = &sent {
                req = req.header(AUTHORIZATION, h);
            }
            let result = req.send().await;
            let retryable_error = match result {
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::UNAUTHORIZED {
                        let challenge = resp
                            .headers()
                            .get(WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        if authenticated {
                            return Err(self.refused(r, &scope_key, challenge.as_deref()));
                        }
                        authenticated = true;
                        self.authenticate(r, scopes, challenge.as_deref(), sent.as_deref())
                            .await?;
                        continue;
                    }
                    let transient = status == StatusCode::TOO_MANY_REQUESTS
                        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED);
                    if !transient {
                        return Ok(resp);
                    }
                    if attempt >= self.inner.cfg.retries {
                        return Err(Error::RetriesExhausted {
                            url: url.to_owned(),
                            attempts: attempt + 1,
                            last: format!("status {status}"),
                        });
                    }
                    let wait = retry_after(resp.headers()).unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(%url, %status, ?wait, attempt, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => e,
            };
            let e = retryable_error;
            let transient = e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
            if !transient || e.is_redirect() || is_permanent_failure(&e) {
                return Err(Error::transport(url, e));
            }
            if attempt >= self.inner.cfg.retries {
                return Err(Error::RetriesExhausted {
                    url: url.to_owned(),
                    attempts: attempt + 1,
                    last: e.to_string(),
                });
            }
            let wait = self.backoff(attempt);
            tracing::debug!(%url, error = %e, ?wait, attempt, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Sends and checks for a success status, turning error statuses into
    /// [`Error::Status`] with the registry's error body.
    pub(crate) async fn send_ok(
        &self,
        r: &Reference,
        scopes: &[String],
        method: Method,
        url: &str,
        make: &(dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync),
    ) -> Result<Response, Error> {
        let m = method_name(&method);
        let resp = self.send(r, scopes, method, url, make).await?;
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

    /// The credentials for `registry`: explicit ones, else those found in
    /// the credential files (looked up once per registry).
    pub(crate) fn creds(&self, registry: &str) -> Option<Credentials> {
        if let Some(c) = self.inner.cfg.credentials.get(registry) {
            return Some(c.clone());
        }
        let files = self.inner.cfg.credential_files.as_ref()?;
        let mut cache = self.inner.file_creds.lock().ok()?;
        if let Some(found) = cache.get(registry) {
            return found.clone();
        }
        let found = match files.lookup(registry) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(registry, error = %e, "stored credentials unreadable; going anonymous");
                None
            }
        };
        cache.insert(registry.to_owned(), found.clone());
        found
    }

    fn auth_header(&self, registry: &str, scope: &str) -> Option<String> {
        let cache = self.inner.auth.lock().ok()?;
        if let Some(h) = cache.header(registry, scope) {
            return Some(h);
        }
        if cache.basic.get(registry).copied().unwrap_or(false) {
            drop(cache);
            return self.creds(registry)?.basic_header();
        }
        drop(cache);
        if let Some(Credentials::BearerToken(t)) = self.creds(registry) {
            return Some(format!("Bearer {t}"));
        }
        None
    }

    /// The error for a 401 that came although the client authenticated.
    fn refused(&self, r: &Reference, scope_key: &str, challenge: Option<&str>) -> Error {
        let registry = r.registry();
        let who = if self.creds(registry).is_some() {
            "the configured credentials"
        } else {
            "anonymous access"
        };
        let what = if scope_key.is_empty() {
            String::new()
        } else {
            format!(" for {scope_key}")
        };
        let why = challenge
            .and_then(|h| Challenge::parse_header(h).ok())
            .and_then(|cs| cs.iter().find_map(|c| c.param("error").map(str::to_owned)))
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        Error::Auth {
            registry: registry.to_owned(),
            reason: format!("the registry refused {who}{what}{why}"),
        }
    }

    /// Fetches a token before a request when the registry is known to want
    /// one and none is cached for these scopes (new scopes, or expired).
    async fn renew_token(&self, r: &Reference, scopes: &[String]) -> Result<Option<String>, Error> {
        let registry = r.registry();
        let challenge = match self.inner.auth.lock() {
            Ok(cache) => cache.bearer.get(registry).cloned(),
            Err(_) => None,
        };
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        self.bearer(r, scopes, &challenge, None).await?;
        Ok(self.auth_header(registry, &scopes.join(" ")))
    }

    /// Fetches and caches a bearer token for `scopes`, one fetch at a time:
    /// tasks that wait find the token the first one fetched, unless it is
    /// the one the registry just refused (`refused`).
    async fn bearer(
        &self,
        r: &Reference,
        scopes: &[String],
        c: &Challenge,
        refused: Option<&str>,
    ) -> Result<(), Error> {
        let registry = r.registry();
        let key = scopes.join(" ");
        let auth_err = |reason: String| Error::Auth {
            registry: registry.to_owned(),
            reason,
        };
        let _one_at_a_time = self.inner.token_fetch.lock().await;
        if let Some(h) = self.auth_header(registry, &key) {
            if refused != Some(h.as_str()) {
                return Ok(());
            }
        }
        let realm = c
            .param("realm")
            .ok_or_else(|| auth_err("bearer challenge without a realm".to_owned()))?;
        let mut url = reqwest::Url::parse(realm)
            .map_err(|e| auth_err(format!("token realm {realm:?} is not a URL: {e}")))?;
        let creds = self.creds(registry);
        let creds = creds.as_ref();
        let sends_secret = matches!(
            creds,
            Some(Credentials::Basic { .. } | Credentials::IdentityToken(_))
        );
        if sends_secret && url.scheme() != "https" && !self.clear_text_allowed(r, &url) {
            return Err(auth_err(format!(
                "the token realm {realm} is plain HTTP and the registry is not; credentials \
                 are sent there only when its host is marked with insecure_http_host"
            )));
        }
        let token = self.fetch_token(&mut url, c, scopes, creds).await?;
        let mut cache = self
            .inner
            .auth
            .lock()
            .map_err(|_| auth_err("token cache poisoned".into()))?;
        cache.tokens.insert((registry.to_owned(), key), token);
        cache.bearer.insert(registry.to_owned(), c.clone());
        Ok(())
    }

    /// Answers a 401 challenge: fetches a bearer token for the scopes, or
    /// switches the registry to Basic auth. `sent` is the Authorization
    /// header the refused request carried.
    async fn authenticate(
        &self,
        r: &Reference,
        scopes: &[String],
        challenge: Option<&str>,
        sent: Option<&str>,
    ) -> Result<(), Error> {
        let registry = r.registry();
        let auth_err = |reason: String| Error::Auth {
            registry: registry.to_owned(),
            reason,
        };
        let header = challenge
            .ok_or_else(|| auth_err("401 without a WWW-Authenticate challenge".to_owned()))?;
        let challenges = Challenge::parse_header(header).map_err(|e| auth_err(e.to_string()))?;
        let creds = self.creds(registry);
        let creds = creds.as_ref();
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            return self.bearer(r, scopes, c, sent).await;
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            if creds.and_then(Credentials::basic_header).is_none() {
                return Err(auth_err(
                    "the registry asks for a user name and password, and none are configured"
                        .to_owned(),
                ));
            }
            let mut cache = self
                .inner
                .auth
                .lock()
                .map_err(|_| auth_err("token cache poisoned".into()))?;
            // Refused only when this request carried the credentials: other
            // requests may have met the same challenge before any had them.
            if sent.is_some_and(|h| h.starts_with("Basic ")) {
                return Err(auth_err(
                    "the registry refused the configured credentials".to_owned(),
                ));
            }
            cache.basic.insert(registry.to_owned(), true);
            return Ok(());
        }
        Err(auth_err(format!("unsupported challenge {header:?}")))
    }

    async fn fetch_token(
        &self,
        url: &mut reqwest::Url,
        c: &Challenge,
        scopes: &[String],
        creds: Option<&Credentials>,
    ) -> Result<Token, Error> {
        let service = c.param("service").unwrap_or("").to_owned();
        let host = url.host_str().unwrap_or("").to_owned();
        let auth_err = |reason: String| Error::Auth {
            registry: host.clone(),
            reason,
        };
        let scope = scopes.join(" ");
        let base_url = url.clone();
        let oauth = |grant: Vec<(&'static str, String)>| {
            let mut form = grant;
            form.push(("service", service.clone()));
            form.push(("client_id", "ocikit".to_owned()));
            if !scope.is_empty() {
                form.push(("scope", scope.clone()));
            }
            let body = form
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            self.inner
                .http
                .post(base_url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let resp = match creds {
            // OAuth2 refresh-token grant (docker's identity tokens).
            Some(Credentials::IdentityToken(refresh)) => {
                oauth(vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh.clone()),
                ])
                .await
            }
            _ => {
                {
                    let mut q = url.query_pairs_mut();
                    if !service.is_empty() {
                        q.append_pair("service", &service);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                }
                let mut req = self.inner.http.get(url.clone());
                if let Some(h) = creds.and_then(Credentials::basic_header) {
                    req = req.header(AUTHORIZATION, h);
                }
                let resp = req.send().await;
                // Token servers that only speak OAuth2 answer the GET form
                // with 404 or 405: use the password grant with the same
                // credentials.
                match (resp, creds) {
                    (Ok(r), Some(Credentials::Basic { username, password }))
                        if matches!(r.status().as_u16(), 404 | 405) =>
                    {
                        oauth(vec![
                            ("grant_type", "password".to_owned()),
                            ("username", username.clone()),
                            ("password", password.clone()),
                        ])
                        .await
                    }
                    (resp, _) => resp,
                }
            }
        };
        let resp = resp.map_err(|e| auth_err(format!("token request failed: {e}")))?;
        let status = resp.status();
        let body = read_limited(resp, MAX_SMALL_BODY, "token response", url.as_str()).await?;
        if !status.is_success() {
            return Err(auth_err(format!(
                "token endpoint answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| auth_err(format!("token response is not the expected JSON: {e}")))?;
        Token::from_response(parsed)
            .ok_or_else(|| auth_err("token response carries no token".to_owned()))
    }
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

fn urlencode(s: &str) -> String {
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
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
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
    // Days from civil (Howard Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
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

    #[test]
    fn insecure_hosts_match_with_or_without_port() {
        let c = ClientBuilder::new()
            .insecure_http_host("127.0.0.1")
            .insecure_http_host("reg.example:5000")
            .build()
            .unwrap();
        let base = |r: &str| c.base(&r.parse().unwrap());
        assert!(base("127.0.0.1:5099/a:1").starts_with("http://127.0.0.1:5099/v2/a"));
        assert!(base("reg.example:5000/a").starts_with("http://"));
        assert!(base("reg.example:5001/a").starts_with("https://"));
        assert!(base("ghcr.io/a").starts_with("https://ghcr.io/v2/a"));
        assert!(base("busybox").starts_with("https://registry-1.docker.io/v2/library/busybox"));
    }

    #[test]
    fn credentials_never_print_secrets() {
        let c = Credentials::basic("me", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let b = ClientBuilder::new().credentials("r", c).clone();
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
