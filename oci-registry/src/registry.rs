//! The registry: its builder, and the server started from it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::gc::{Maintenance, Scope};
use crate::metrics::Metrics;
use crate::serve::{Net, NetOptions};
use crate::state::{Options, State};
use crate::{
    Access, AuthConfig, Error, FsStorage, GcOptions, GcReport, GcSchedule, Htpasswd, Http2, Limits,
    MemoryStorage, Storage, TokenAuth, UploadPurging,
};

mod ops;

pub(crate) use ops::OpsOptions;
pub use ops::{DEFAULT_DRAIN_TIMEOUT, DEFAULT_STORAGE_SIZE_INTERVAL};

/// Whether the registry accepts `DELETE` of manifests, tags and blobs
/// (Distribution's `storage.delete.enabled`). When disabled, deletes are
/// answered 405 with the `UNSUPPORTED` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deletes {
    /// Deletes are refused.
    Disabled,
    /// Deletes are carried out.
    Enabled,
}

/// Whether a manifest's references must be in the repository when it is
/// pushed: the config and layers of an image manifest (except
/// non-distributable layers), the manifests of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum References {
    /// A manifest whose references are missing is refused with
    /// `MANIFEST_BLOB_UNKNOWN`.
    Required,
    /// Manifests are stored whatever they reference ("sparse" manifests,
    /// such as an index of which only some platforms are mirrored).
    Unchecked,
}

/// The default cap on a manifest's size: 4 MiB, as the distribution spec
/// suggests registries accept at least.
pub const DEFAULT_MANIFEST_LIMIT: u64 = 4 << 20;

#[derive(Debug, Clone)]
enum Backend {
    Memory,
    Filesystem(PathBuf),
    #[cfg(feature = "s3")]
    S3(crate::S3Options),
    Custom(Arc<dyn Storage>),
}

/// Configures a [`Registry`]: storage, deletes, limits and access
/// control.
#[derive(Debug, Clone)]
pub struct RegistryBuilder {
    backend: Backend,
    options: Options,
    ops: OpsOptions,
    maintenance: Maintenance,
    #[cfg(feature = "proxy")]
    upstream: Option<crate::Upstream>,
    net: NetOptions,
    auth: crate::auth::Setup,
}

impl RegistryBuilder {
    /// Stores everything in memory (the default).
    pub fn in_memory(&mut self) -> &mut Self {
        self.backend = Backend::Memory;
        self
    }

    /// Stores everything under `root` (see [`FsStorage`]), created when
    /// missing.
    pub fn filesystem(&mut self, root: impl Into<PathBuf>) -> &mut Self {
        self.backend = Backend::Filesystem(root.into());
        self
    }

    /// Stores everything in an S3 bucket (see [`S3Storage`](crate::S3Storage)),
    /// which other registry processes may share.
    #[cfg(feature = "s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
    pub fn s3(&mut self, options: crate::S3Options) -> &mut Self {
        self.backend = Backend::S3(options);
        self
    }

    /// Stores everything in `storage`.
    pub fn storage(&mut self, storage: Arc<dyn Storage>) -> &mut Self {
        self.backend = Backend::Custom(storage);
        self
    }

    /// Whether deletes are carried out; default [`Deletes::Enabled`] (an
    /// embedded registry is usually a test's, which cleans up;
    /// `ocikit-registry serve` follows the config file, off by default).
    pub fn deletes(&mut self, deletes: Deletes) -> &mut Self {
        self.options.deletes = deletes;
        self
    }

    /// The largest manifest accepted, in bytes; default
    /// [`DEFAULT_MANIFEST_LIMIT`]. Larger ones are answered 413.
    pub fn manifest_limit(&mut self, bytes: u64) -> &mut Self {
        self.options.manifest_limit = bytes;
        self
    }

    /// The smallest chunk clients should send in chunked uploads,
    /// advertised with `OCI-Chunk-Min-Length`; default none.
    pub fn chunk_min_length(&mut self, bytes: Option<u64>) -> &mut Self {
        self.options.chunk_min_length = bytes;
        self
    }

    /// Whether a manifest's blobs and child manifests must be in the
    /// repository; default [`References::Required`].
    pub fn references(&mut self, references: References) -> &mut Self {
        self.options.references = references;
        self
    }

    /// Removes idle upload sessions periodically while serving (see
    /// [`UploadPurging`]); default `None` (`ocikit-registry serve` follows
    /// the config file, on by default as Distribution).
    pub fn upload_purging(&mut self, purging: Option<UploadPurging>) -> &mut Self {
        self.maintenance.uploads = purging;
        self
    }

    /// Collects garbage periodically while serving (see
    /// [`Registry::collect_garbage`]); default `None`.
    pub fn garbage_collection(&mut self, schedule: Option<GcSchedule>) -> &mut Self {
        self.maintenance.gc = schedule;
        self
    }

    /// Serves HTTPS with the PEM certificate chain at `certificate`
    /// (leaf first) and the PEM private key at `key`, read by
    /// [`build`](Self::build) and again by
    /// [`Registry::reload_tls`]. Default: plain HTTP.
    pub fn tls(&mut self, certificate: impl Into<PathBuf>, key: impl Into<PathBuf>) -> &mut Self {
        self.net.tls = Some((certificate.into(), key.into()));
        self
    }

    /// Whether HTTP/2 is offered; default [`Http2::Enabled`].
    pub fn http2(&mut self, http2: Http2) -> &mut Self {
        self.net.http2 = http2;
        self
    }

    /// Timeouts and per-client limits; default [`Limits::default`].
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.options.blob_size_limit = limits.blob_size_limit;
        self.net.limits = limits;
        self
    }

    /// Asks for Basic auth against `users` (challenged with `realm`);
    /// replaces token auth. Default: no authentication.
    pub fn basic_auth(&mut self, realm: &str, users: Htpasswd) -> &mut Self {
        self.auth.mode = crate::auth::Mode::Basic {
            realm: realm.to_owned(),
            users,
        };
        self
    }

    /// Asks for bearer tokens checked by `auth`; replaces Basic auth.
    pub fn token_auth(&mut self, auth: TokenAuth) -> &mut Self {
        self.auth.mode = crate::auth::Mode::Token(auth);
        self
    }

    /// Who may do what, with Basic or token auth; default
    /// [`Access::any_user`].
    pub fn access(&mut self, access: Access) -> &mut Self {
        self.auth.access = Some(access);
        self
    }

    /// The configuration file's `auth` section, read when built.
    pub(crate) fn auth_config(&mut self, config: AuthConfig) -> &mut Self {
        self.auth.config = Some(config);
        self
    }

    /// Makes the registry a pull-through cache of `upstream`: what it
    /// lacks is fetched from there on a miss, verified, stored and served;
    /// pushes and deletes are refused (see [`Upstream`](crate::Upstream)).
    #[cfg(feature = "proxy")]
    #[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
    pub fn pull_through(&mut self, upstream: crate::Upstream) -> &mut Self {
        self.upstream = Some(upstream);
        self
    }

    /// Opens the storage, and reads the TLS files.
    ///
    /// # Errors
    /// [`Error::Io`] when the filesystem storage cannot be created or a
    /// TLS file cannot be read, [`Error::TlsFile`] and [`Error::TlsKey`];
    /// [`Error::AuthFile`] and [`Error::ConfigValue`] when the access
    /// control files or settings of a configuration cannot be used;
    /// `Error::Upstream` when a pull-through cache's client cannot start;
    /// `Error::S3Config` when the S3 settings are refused.
    pub fn build(&self) -> Result<Registry, Error> {
        let mut options = self.options.clone();
        options.auth = self.auth.load()?;
        let storage: Arc<dyn Storage> = match &self.backend {
            Backend::Memory => Arc::new(MemoryStorage::new()),
            Backend::Filesystem(root) => Arc::new(FsStorage::open(root)?),
            #[cfg(feature = "s3")]
            Backend::S3(options) => Arc::new(crate::S3Storage::open(options)?),
            Backend::Custom(s) => s.clone(),
        };
        #[cfg_attr(not(feature = "proxy"), allow(unused_mut))]
        let mut state = State::new(storage, options);
        #[cfg(feature = "proxy")]
        if let Some(up) = &self.upstream {
            state.proxy = Some(Arc::new(crate::proxy::Proxy::new(up.clone())?));
        }
        Ok(Registry {
            state: Arc::new(state),
            net: Arc::new(Net::open(&self.net)?),
            metrics: Arc::new(Metrics::new(self.ops.storage_size_interval)),
            ops: self.ops.clone(),
            maintenance: self.maintenance.clone(),
        })
    }

    /// Builds the registry and serves it on `addr` (`127.0.0.1:0` picks a
    /// free port) in a background task of the current tokio runtime,
    /// until the returned handle is dropped.
    ///
    /// # Errors
    /// As [`RegistryBuilder::build`], and [`Error::Bind`].
    pub async fn spawn(&self, addr: &str) -> Result<RunningRegistry, Error> {
        self.build()?.spawn(addr).await
    }
}

/// An OCI registry server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ocikit_registry::Registry;
/// let reg = Registry::builder().in_memory().spawn("127.0.0.1:0").await?;
/// assert!(reg.url().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    state: Arc<State>,
    net: Arc<Net>,
    /// The request counters, served at the metrics path.
    metrics: Arc<Metrics>,
    ops: OpsOptions,
    maintenance: Maintenance,
}

impl Registry {
    /// A builder with memory storage, deletes enabled and a 4 MiB
    /// manifest limit.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            backend: Backend::Memory,
            options: Options {
                deletes: Deletes::Enabled,
                manifest_limit: DEFAULT_MANIFEST_LIMIT,
                chunk_min_length: None,
                blob_size_limit: None,
                references: References::Required,
                auth: Arc::default(),
            },
            ops: OpsOptions::default(),
            maintenance: Maintenance::default(),
            #[cfg(feature = "proxy")]
            upstream: None,
            net: NetOptions::default(),
            auth: crate::auth::Setup::default(),
        }
    }

    /// The registry's storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.state.storage
    }

    /// Reads the TLS certificate and key files again: the next
    /// handshakes present the new certificate, connections already open
    /// keep theirs.
    ///
    /// # Errors
    /// As [`RegistryBuilder::build`] for the files, and [`Error::TlsOff`]
    /// without TLS; the previous certificate stays in use.
    pub fn reload_tls(&self) -> Result<(), Error> {
        self.net.tls.as_ref().ok_or(Error::TlsOff)?.reload()
    }

    /// Removes (or, with [`GcOptions::dry_run`], lists) the blobs no
    /// manifest references, untagged manifests and idle upload sessions
    /// as `options` ask, while the registry serves. See [`GcOptions`] for
    /// the guarantee given to clients pushing meanwhile.
    ///
    /// # Errors
    /// When the storage fails; what was removed until then stays removed.
    pub async fn collect_garbage(&self, options: GcOptions) -> Result<GcReport, Error> {
        crate::gc::run(&self.state, options, Scope::Everything).await
    }

    /// Checks the registry's storage on a blocking thread, repairing what
    /// can be rebuilt with [`FsckMode::Repair`](crate::FsckMode::Repair); see [`fsck`](crate::fsck).
    ///
    /// # Errors
    /// As [`fsck`](crate::fsck), and [`Error::TaskFailed`].
    pub async fn fsck(&self, mode: crate::FsckMode) -> Result<crate::FsckReport, Error> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || crate::fsck(&*state.storage, mode))
            .await
            .map_err(|_| Error::TaskFailed)?
    }

    /// Serves on `addr` in a background task until the handle is dropped
    /// or [`RunningRegistry::shutdown`] is called.
    ///
    /// # Errors
    /// [`Error::Bind`].
    pub async fn spawn(&self, addr: &str) -> Result<RunningRegistry, Error> {
        let listener = bind(addr).await?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_owned(),
            source,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<std::time::Duration>();
        let servers = self.servers(listener).await?;
        let (debug, drain) = (servers.debug_addr(), servers.drain);
        let maintenance = crate::gc::start(&self.state, &self.maintenance);
        let task = tokio::spawn(async move {
            let _maintenance = maintenance;
            let _ = servers.run(async move { rx.await.unwrap_or(drain) }).await;
        });
        Ok(RunningRegistry {
            registry: self.clone(),
            addr: local,
            debug,
            drain,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Serves on `addr` (and the debug address, when set) until
    /// `shutdown` completes, then lets requests in flight finish until
    /// the drain deadline ([`RegistryBuilder::drain_timeout`]) and cuts
    /// those still running.
    ///
    /// # Errors
    /// [`Error::Bind`].
    pub async fn serve(
        &self,
        addr: &str,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let listener = bind(addr).await?;
        tracing::debug!(addr = %addr, "serving");
        let _maintenance = crate::gc::start(&self.state, &self.maintenance);
        let servers = self.servers(listener).await?;
        let drain = servers.drain;
        servers
            .run(async move {
                shutdown.await;
                drain
            })
            .await
            .map_err(|source| Error::Serve {
                addr: addr.to_owned(),
                source,
            })
    }
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind {
            addr: addr.to_owned(),
            source,
        })
}

/// A registry serving in the background; stopped when dropped.
#[derive(Debug)]
pub struct RunningRegistry {
    registry: Registry,
    addr: SocketAddr,
    debug: Option<SocketAddr>,
    drain: std::time::Duration,
    stop: Option<tokio::sync::oneshot::Sender<std::time::Duration>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningRegistry {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port`, as image references name the registry
    /// (`127.0.0.1:PORT/repo:tag`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The registry's base URL: `https://host:port` with TLS, else
    /// `http://host:port`.
    pub fn url(&self) -> String {
        let scheme = if self.registry.net.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The registry served.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Connections open now, TLS handshakes in progress included.
    pub fn connections(&self) -> usize {
        self.registry
            .net
            .open
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting connections and waits for requests in flight,
    /// until the builder's [drain deadline](RegistryBuilder::drain_timeout).
    pub async fn shutdown(self) {
        let drain = self.drain;
        self.shutdown_with_deadline(drain).await;
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(self.drain);
        }
    }
}
