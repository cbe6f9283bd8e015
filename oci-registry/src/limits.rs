//! Limits against slow and greedy clients: timeouts for headers and
//! bodies (applied by the listener, `serve`), and per client address the
//! number of uploads in progress, a request rate, and a body cap on the
//! routes that take no body (applied to each request, `enforce`), and
//! the cap on a blob upload's size (applied by the upload routes, `blob`).
//! The caps on open connections are applied by the listener.

use std::time::Duration;

pub(crate) mod blob;
mod config;
mod enforce;

pub(crate) use config::configure;
pub(crate) use enforce::{enforce, Guard};

/// Limits against abuse, each with the default [`Limits::default`] gives.
///
/// ```
/// use std::time::Duration;
/// use ocikit_registry::{Limits, Rate, Registry};
/// let mut limits = Limits::default();
/// limits.body_timeout = Duration::from_secs(10);
/// limits.rate = Some(Rate::new(50, 100));
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let reg = Registry::builder().limits(limits).spawn("127.0.0.1:0").await?;
/// // A client sending more than 100 requests at once from one address
/// // is answered 429 with Retry-After.
/// reg.shutdown().await;
/// # Ok::<(), ocikit_registry::Error>(())
/// # })?;
/// # Ok::<(), ocikit_registry::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// How long a client has to send a request's headers over HTTP/1.1,
    /// counted from the end of its previous reply (or the connection's
    /// start): slow senders are cut off, and idle keep-alive connections
    /// closed. Also the time a TLS handshake may take. Default 30 s.
    pub header_timeout: Duration,
    /// The longest pause allowed in a request body: a body that brings no
    /// byte for this long ends its request with an error. What arrived
    /// before is kept, so an upload session can resume from it. Also the
    /// longest a client may leave its reply unread: a connection whose
    /// writes make no progress for this long is closed. Default 60 s.
    pub body_timeout: Duration,
    /// Upload requests (`POST`, `PATCH` or `PUT` under
    /// `/v2/<name>/blobs/uploads/`) one client address may have in
    /// progress; more are answered 429 `TOOMANYREQUESTS` with
    /// `Retry-After`. `None` for no limit. Default 16 (clients push 3 to 6
    /// layers at once).
    pub uploads_per_client: Option<u32>,
    /// A request rate per client address; over it, requests are
    /// answered 429 `TOOMANYREQUESTS` with `Retry-After`. Default `None`
    /// (no rate limit): the clients of a registry often share one address
    /// (a CI runner, a NAT), so a good rate depends on the site.
    pub rate: Option<Rate>,
    /// The largest body, by its `Content-Length`, of requests that take
    /// none: every route except upload bodies and manifest `PUT`s (which
    /// have [`RegistryBuilder::manifest_limit`](crate::RegistryBuilder::manifest_limit)).
    /// Larger ones are answered 413 `SIZE_INVALID`. Such bodies are never
    /// read: one without a length is dropped and its connection closed.
    /// Default 4 KiB.
    pub small_body_limit: u64,
    /// The largest blob an upload may make, in bytes, counted over all
    /// of a session's requests; an upload that would pass it is answered
    /// 413 `SIZE_INVALID`. A request announcing too many bytes (by
    /// `Content-Length` or `Content-Range`) is refused before its body is
    /// read and leaves its session as it was; a body without a length
    /// that brings too many cancels its session, so none of it stays
    /// stored. `None` for no limit. Default `None`, as Distribution.
    pub blob_size_limit: Option<u64>,
    /// Connections open at once, in all; at the cap the listener accepts
    /// no more until one closes (new clients wait in the kernel's
    /// backlog). `None` for no limit. Default `None` (the right figure
    /// depends on the file descriptors the process may open).
    pub max_connections: Option<u32>,
    /// Connections one client address may have open at once; more are
    /// closed as soon as they are accepted, before any TLS handshake or
    /// request. `None` for no limit. Default `None`: the clients of a
    /// registry often share one address (a CI runner, a NAT).
    pub connections_per_client: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            uploads_per_client: Some(16),
            rate: None,
            small_body_limit: 4 << 10,
            blob_size_limit: None,
            max_connections: None,
            connections_per_client: None,
        }
    }
}

/// A token bucket: a client may send `burst` requests at once, then
/// `per_second` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rate {
    /// Requests a second, in the long run (at least 1).
    pub per_second: u32,
    /// Requests at once after a quiet time (at least 1).
    pub burst: u32,
}

impl Rate {
    /// `per_second` requests a second with bursts of `burst`; zeros count
    /// as 1.
    pub fn new(per_second: u32, burst: u32) -> Rate {
        Rate {
            per_second: per_second.max(1),
            burst: burst.max(1),
        }
    }
}
