//! [`Upstream`]: the registry a pull-through cache mirrors, and the
//! parsing of its URL.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// The registry a pull-through cache mirrors (Distribution's
/// `proxy.remoteurl`, `proxy.username`, `proxy.password`, `proxy.ttl`),
/// given to [`RegistryBuilder::pull_through`](crate::RegistryBuilder::pull_through).
///
/// ```
/// use std::time::Duration;
/// use ocikit_registry::Upstream;
/// let up = Upstream::new("https://registry-1.docker.io")?
///     .credentials("me", "token")
///     .tag_ttl(Duration::from_secs(300));
/// assert_eq!(up.host(), "registry-1.docker.io");
/// assert!(!format!("{up:?}").contains("token"));
/// # Ok::<(), ocikit_registry::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Upstream {
    url: String,
    host: String,
    https: bool,
    credentials: Option<(String, String)>,
    tag_ttl: Duration,
    root_certs: Vec<Vec<u8>>,
}

impl Upstream {
    /// The upstream at `url`: `https://host[:port]` or `http://host[:port]`
    /// (plain HTTP, for a registry on a trusted network), without a path.
    /// Anonymous, with a tag TTL of zero (every pull by tag asks upstream
    /// which manifest the tag names, as Distribution does).
    ///
    /// # Errors
    /// [`Error::UpstreamUrl`] for another scheme, a path, or no host.
    pub fn new(url: &str) -> Result<Upstream, Error> {
        let bad = |expected| Error::UpstreamUrl {
            url: url.to_owned(),
            expected,
        };
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad("a URL starting with https:// or http://"));
        };
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() {
            return Err(bad("a host after the scheme"));
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
        if !host.chars().all(valid) {
            return Err(bad(
                "only host[:port] after the scheme, no path, user or query",
            ));
        }
        Ok(Upstream {
            url: url.to_owned(),
            host: host.to_owned(),
            https,
            credentials: None,
            tag_ttl: Duration::ZERO,
            root_certs: Vec::new(),
        })
    }

    /// Logs in to the upstream with this user and password (Basic auth,
    /// or to obtain bearer tokens when the upstream asks for them).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    /// How long a tag's manifest is served from the cache before the
    /// upstream is asked (`HEAD`) whether the tag moved. Default zero:
    /// asked on every pull by tag. Manifests pulled by digest and blobs
    /// never change and are never asked for again.
    pub fn tag_ttl(mut self, ttl: Duration) -> Self {
        self.tag_ttl = ttl;
        self
    }

    /// Trusts an extra root certificate (PEM) for the upstream's TLS, for
    /// an upstream with a private CA.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.root_certs.push(pem.to_vec());
        self
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `host[:port]`, as references to the upstream name it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The tag TTL (see [`Upstream::tag_ttl`]).
    pub fn ttl(&self) -> Duration {
        self.tag_ttl
    }

    /// The client of the upstream: plain HTTP when the URL says so, the
    /// credentials and root certificates given, few quick retries (a
    /// client of the cache is waiting).
    pub(crate) fn client(&self) -> Result<ocikit_distribution::Client, Error> {
        let mut b = ocikit_distribution::ClientBuilder::new();
        b.max_retries(2)
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(10));
        if !self.https {
            b.insecure_http_host(&self.host);
        }
        if let Some((user, password)) = &self.credentials {
            b.credentials(
                &self.host,
                ocikit_distribution::Credentials::basic(user, password),
            );
        }
        for pem in &self.root_certs {
            b.add_root_certificate_pem(pem);
        }
        b.build().map_err(|source| Error::Upstream {
            url: self.url.clone(),
            source: Box::new(source),
        })
    }
}

/// Never prints the password.
impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("url", &self.url)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("tag_ttl", &self.tag_ttl)
            .field("root_certs", &self.root_certs.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_a_scheme_and_a_host() {
        let u = Upstream::new("http://127.0.0.1:5000/").unwrap();
        assert_eq!((u.host(), u.https), ("127.0.0.1:5000", false));
        assert!(Upstream::new("https://ghcr.io").unwrap().https);
        for bad in ["ftp://x", "https://", "https://a/b", "x", "https://u@h"] {
            let e = Upstream::new(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn urls_never_panic(s in "\\PC{0,40}") {
            let _ = Upstream::new(&s);
        }
    }
}
