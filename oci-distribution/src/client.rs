//! The registry client: its shared state, the base URL of a repository,
//! and the version check. Its operations live in the files named for
//! their subject: `transport` (sending, retries), `auth`, `manifest`,
//! `blob`, `listing`, `copy` and `artifact`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ocikit_types::Reference;
use reqwest::Method;

use crate::auth::{AuthCache, Credentials};
use crate::builder::{ClientBuilder, Progress};
use crate::Error;

pub(crate) type FileCreds = Arc<tokio::sync::OnceCell<Option<Credentials>>>;

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) cfg: ClientBuilder,
    pub(crate) auth: Mutex<AuthCache>,
    /// Credentials found in the credential files, per registry, each
    /// looked up once (see `Client::load_creds`).
    pub(crate) file_creds: Mutex<HashMap<String, FileCreds>>,
    /// Held while a token is fetched, so concurrent requests that need the
    /// same token wait for one fetch instead of each making their own.
    pub(crate) token_fetch: tokio::sync::Mutex<()>,
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

impl ClientBuilder {
    /// The client.
    ///
    /// # Errors
    /// [`Error::Config`] for a root certificate that is not PEM, or when the
    /// HTTP stack cannot start.
    pub fn build(&self) -> Result<Client, Error> {
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(10));
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        #[cfg(any(feature = "rustls", feature = "native-tls"))]
        for pem in &self.root_certs {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| Error::Config {
                reason: "a root certificate is not PEM".into(),
                source: Some(e.into()),
            })?;
            http = http.add_root_certificate(cert);
        }
        #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
        if !self.root_certs.is_empty() {
            return Err(Error::Config {
                reason: "root certificates need TLS: enable the `rustls` or `native-tls` feature"
                    .into(),
                source: None,
            });
        }
        let http = http.build().map_err(|e| Error::Config {
            reason: "cannot start the HTTP client".into(),
            source: Some(e.into()),
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

    /// True when `host` (`name` or `name:port`) was marked insecure, by
    /// itself or by its bare name.
    pub(crate) fn is_insecure(&self, host: &str) -> bool {
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

    /// `location` (a `Location` or `Link` target) resolved against the URL
    /// it came with.
    pub(crate) fn absolute(&self, base: &str, location: &str) -> String {
        match reqwest::Url::parse(base).and_then(|b| b.join(location)) {
            Ok(u) => u.to_string(),
            Err(_) => location.to_owned(),
        }
    }

    /// Checks that the registry speaks the protocol (`GET /v2/`), logging
    /// in when it asks.
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Auth`], [`Error::Transport`].
    pub async fn ping(&self, r: &Reference) -> Result<(), Error> {
        let base = self.base(r);
        let url = format!("{}/", &base[..base.len() - r.repository().len() - 1]);
        self.send_ok(r, &[], Method::GET, &url, &|b| b).await?;
        Ok(())
    }
}

/// Runs blocking file work (writes, fsync, renames, directory walks) on
/// tokio's blocking threads, so it never holds up an async worker.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down, which cancels the caller too.
        Err(e) => panic!("blocking file work did not run: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
