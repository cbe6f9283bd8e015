//! Configuring a client: [`ClientBuilder`] and the [`Progress`] events it
//! can deliver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Credentials;

/// The default of [`ClientBuilder::connect_timeout`].
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default of [`ClientBuilder::progress_timeout`].
pub(crate) const DEFAULT_PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);
/// The default of [`ClientBuilder::request_timeout`].
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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

/// Configures a [`Client`](crate::Client).
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
    pub(crate) connect_timeout: Duration,
    pub(crate) progress_timeout: Duration,
    pub(crate) request_timeout: Duration,
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
            .field("connect_timeout", &self.connect_timeout)
            .field("progress_timeout", &self.progress_timeout)
            .field("request_timeout", &self.request_timeout)
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
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            progress_timeout: DEFAULT_PROGRESS_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
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
    pub fn credential_files(&mut self, files: impl Into<crate::CredentialFiles>) -> &mut Self {
        self.credential_files = Some(files.into());
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

    /// A timeout for each whole request, blob transfers included.
    /// Default: none (large blobs take as long as they take; stalls are
    /// caught by [`ClientBuilder::progress_timeout`]).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long establishing a connection (TCP and TLS) may take.
    /// Default: 30 s. A connection that times out is retried like a
    /// refused one.
    pub fn connect_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a blob download may go without progress: waiting for the
    /// answer to start, or for the next bytes of its body. Default: 60 s.
    /// A stalled body is treated like a cut connection (resumed with
    /// `Range`, up to [`ClientBuilder::max_retries`] times), then fails
    /// with [`Error::Timeout`](crate::Error::Timeout).
    pub fn progress_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.progress_timeout = timeout;
        self
    }

    /// How long a whole small request may take, from sending it to the end
    /// of its body: manifests, token requests, tag lists, existence checks,
    /// upload sessions. Default: 60 s. A timed-out request is retried like
    /// a cut connection, then fails with [`Error::Timeout`](crate::Error::Timeout).
    pub fn request_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.request_timeout = timeout;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_secrets() {
        let c = Credentials::basic("me", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let b = ClientBuilder::new().credentials("r", c).clone();
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
