//! The registry: its builder, and the server started from it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::state::{Options, State};
use crate::{Error, FsStorage, MemoryStorage, Storage};

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
    S3(crate::S3Options),
    Custom(Arc<dyn Storage>),
}

/// Configures a [`Registry`]: storage, deletes and limits.
#[derive(Debug, Clone)]
pub struct RegistryBuilder {
    backend: Backend,
    options: Options,
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

    /// Opens the storage.
    ///
    /// # Errors
    /// [`Error::Io`] when the filesystem storage cannot be created,
    /// [`Error::S3Config`] when the S3 settings are refused.
    pub fn build(&self) -> Result<Registry, Error> {
        let storage: Arc<dyn Storage> = match &self.backend {
            Backend::Memory => Arc::new(MemoryStorage::new()),
            Backend::Filesystem(root) => Arc::new(FsStorage::open(root)?),
            Backend::S3(options) => Arc::new(crate::S3Storage::open(options)?),
            Backend::Custom(s) => s.clone(),
        };
        Ok(Registry {
            state: Arc::new(State::new(storage, self.options.clone())),
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
                references: References::Required,
            },
        }
    }

    /// The registry's storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.state.storage
    }

    fn router(&self) -> axum::Router {
        crate::routes::router(self.state.clone()).layer(axum::middleware::from_fn(log_request))
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
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningRegistry {
            addr: local,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Serves on `addr` until `shutdown` completes, then lets requests in
    /// flight finish.
    ///
    /// # Errors
    /// [`Error::Bind`] and [`Error::Serve`].
    pub async fn serve(
        &self,
        addr: &str,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let listener = bind(addr).await?;
        tracing::debug!(addr = %addr, "serving");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| Error::Serve {
                addr: addr.to_owned(),
                source,
            })
    }
}

async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "request");
    resp
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
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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

    /// `http://host:port`, the registry's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
