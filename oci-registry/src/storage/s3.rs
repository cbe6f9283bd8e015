//! Storage in an S3-compatible object store: [`S3Storage`] and its
//! [`S3Options`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::Error;

pub(crate) mod config;
mod gc;
mod keys;
mod manifests;
mod read;
mod uploads;

use keys::Keys;

/// How long one request to the store may wait for an answer (or for the
/// next bytes of one) before it fails.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a presigned URL of a redirect is valid (Distribution's 20
/// minutes).
const REDIRECT_VALIDITY: Duration = Duration::from_secs(20 * 60);

/// The default part size of a blob's multipart upload: 10 MiB, as
/// Distribution's `chunksize`.
pub(crate) const DEFAULT_CHUNK_SIZE: u64 = 10 << 20;

/// Where and how to reach an S3 bucket: Distribution's `storage.s3` keys.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Options {
    /// `bucket`: the bucket's name.
    pub bucket: String,
    /// `region`: the bucket's region (`us-east-1` when the store has none).
    pub region: String,
    /// `regionendpoint`: the store's URL (`http://127.0.0.1:8333`); AWS's
    /// endpoint for the region when `None`.
    pub endpoint: Option<String>,
    /// `accesskey`: the access key id of the identity signing requests.
    pub access_key: Option<String>,
    /// `secretkey`: its secret.
    pub secret_key: Option<String>,
    /// `rootdirectory`: the key prefix everything is stored under.
    pub root: String,
    /// `chunksize`: the part size of multipart uploads, at least 5 MiB;
    /// default 10 MiB.
    pub chunk_size: u64,
    /// Whether blob `GET`s are answered with a `307` to a presigned URL
    /// of the store, so the bytes bypass the registry (Distribution's
    /// `storage.redirect`).
    pub redirect: bool,
}

impl S3Options {
    /// Options for `bucket` in `region`, with the default chunk size, no
    /// root directory, no redirects, and credentials to set.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        S3Options {
            bucket: bucket.into(),
            region: region.into(),
            endpoint: None,
            access_key: None,
            secret_key: None,
            root: String::new(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            redirect: false,
        }
    }

    /// The store's URL (`regionendpoint`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The identity signing requests.
    pub fn credentials(mut self, access_key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.access_key = Some(access_key.into());
        self.secret_key = Some(secret.into());
        self
    }

    /// The key prefix everything is stored under.
    pub fn root(mut self, root: impl Into<String>) -> Self {
        self.root = root.into();
        self
    }

    /// Whether blob `GET`s redirect to presigned URLs.
    pub fn redirect(mut self, redirect: bool) -> Self {
        self.redirect = redirect;
        self
    }
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret key is never printed.
        f.debug_struct("S3Options")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("root", &self.root)
            .field("chunk_size", &self.chunk_size)
            .field("redirect", &self.redirect)
            .finish_non_exhaustive()
    }
}

/// Storage in an S3-compatible object store (AWS S3, SeaweedFS, MinIO...),
/// shared by any number of registry processes.
///
/// The layout follows CNCF Distribution's: blobs once under
/// `blobs/<algorithm>/<hex>/data`, and per repository small *link*
/// objects naming what it holds (`_layers/`, `_manifests/revisions/`,
/// `_manifests/tags/<tag>/current/link`, `_referrers/`). Every change is a
/// single object put or delete, so a reader never sees a torn state and
/// two writers of one tag end with the last one's: no coordination service
/// is needed between replicas.
///
/// An upload session is `_uploads/<id>/info` and one *segment* object per
/// batch of bytes received, named by its offset, so any replica can read,
/// continue or complete it. Committing a verified session copies its
/// segments into the blob with a multipart upload of `chunk_size` parts
/// (one server-side copy when there is one segment): the bytes pass the
/// registry again, one part at a time, never whole. An open S3 multipart
/// upload cannot serve as the session itself: its parts cannot be read
/// back (a replica resuming the hash needs them) and must be at least
/// 5 MiB, while a chunk may be one byte.
///
/// The running hash of a session is kept in the memory of the replica
/// that received its last bytes (sha2 0.10 cannot save its state): a
/// request arriving at another replica first reads back and hashes the
/// bytes stored so far, so each switch of replica costs one read of the
/// session. Clients send a session's requests one after the other, and
/// behind a round-robin balancer a chunked upload of N chunks reads its
/// bytes up to N times; a monolithic or streamed upload (one request)
/// never does. Committing reads the segments once more and checks the
/// digest again as they are copied, so a blob never holds bytes another
/// replica appended after the check.
///
/// The store's client is asynchronous: it runs on a small runtime of its
/// own, which the blocking [`Storage`](crate::Storage) methods wait on,
/// so they may be called from any thread but a runtime's worker.
pub struct S3Storage {
    store: Arc<AmazonS3>,
    keys: Keys,
    options: S3Options,
    runtime: Option<tokio::runtime::Runtime>,
    /// The size of each session this process appended to last, so an
    /// append needs no listing; refreshed by every session lookup.
    sizes: Mutex<std::collections::HashMap<String, u64>>,
    /// This process's name in the collector's lease.
    id: String,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl S3Storage {
    /// A client of the bucket `options` names; nothing is requested yet.
    ///
    /// # Errors
    /// [`Error::S3Config`] when the options are refused, [`Error::Io`]
    /// when the client's runtime cannot start.
    pub fn open(options: &S3Options) -> Result<S3Storage, Error> {
        if options.chunk_size < 5 << 20 {
            return Err(Error::S3Config {
                problem: format!(
                    "chunksize is {}, the store's smallest part is 5 MiB (5242880)",
                    options.chunk_size
                ),
                source: None,
            });
        }
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(10))
            // Downloads last as long as their client reads: each wait for
            // bytes is bounded by IO_TIMEOUT instead.
            .with_timeout_disabled()
            .with_allow_http(true);
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&options.bucket)
            .with_region(&options.region)
            // `If-None-Match: *` for the collector's lease (see gc.rs).
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
            .with_client_options(client)
            .with_retry(RetryConfig {
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
                ..RetryConfig::default()
            });
        if let Some(e) = &options.endpoint {
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let (Some(a), Some(s)) = (&options.access_key, &options.secret_key) {
            b = b.with_access_key_id(a).with_secret_access_key(s);
        }
        let store = b.build().map_err(|e| Error::S3Config {
            problem: format!("bucket {} cannot be used", options.bucket),
            source: Some(Box::new(e)),
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ocikit-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::io("start the S3 client's runtime", "", e))?;
        Ok(S3Storage {
            store: Arc::new(store),
            keys: Keys::new(&options.root),
            options: options.clone(),
            runtime: Some(runtime),
            sizes: Mutex::default(),
            id: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &S3Options {
        &self.options
    }

    /// Runs `fut` on the client's runtime and waits for it, at most
    /// [`IO_TIMEOUT`].
    fn wait<T>(
        &self,
        action: &'static str,
        key: &Path,
        fut: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, Error> {
        let handle = self.handle();
        match handle.block_on(async { tokio::time::timeout(IO_TIMEOUT, fut).await }) {
            Ok(r) => r.map_err(|e| store_error(action, key, e)),
            Err(_) => Err(Error::io(
                action,
                key.as_ref(),
                std::io::ErrorKind::TimedOut.into(),
            )),
        }
    }

    /// As [`S3Storage::wait`], with a missing object as `None`.
    fn wait_found<T>(
        &self,
        action: &'static str,
        key: &Path,
        fut: impl Future<Output = object_store::Result<T>>,
    ) -> Result<Option<T>, Error> {
        match self.wait(action, key, fut) {
            Ok(v) => Ok(Some(v)),
            Err(Error::S3 { source, .. })
                if matches!(*source, object_store::Error::NotFound { .. }) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn handle(&self) -> tokio::runtime::Handle {
        match &self.runtime {
            Some(r) => r.handle().clone(),
            None => unreachable!("the runtime is only taken on drop"),
        }
    }

    /// The object at `key`, whole (small objects only: links, info).
    fn get_small(&self, key: &Path) -> Result<Option<bytes::Bytes>, Error> {
        let store = self.store.clone();
        let k = key.clone();
        self.wait_found(
            "read",
            key,
            async move { store.get(&k).await?.bytes().await },
        )
    }

    fn put_small(&self, key: &Path, bytes: impl Into<bytes::Bytes>) -> Result<(), Error> {
        let payload = object_store::PutPayload::from_bytes(bytes.into());
        self.wait("write", key, self.store.put(key, payload))
            .map(drop)
    }

    fn exists(&self, key: &Path) -> Result<Option<u64>, Error> {
        Ok(self
            .wait_found("look up", key, self.store.head(key))?
            .map(|m| m.size))
    }

    /// Deletes `key`; a missing object is not an error.
    fn delete(&self, key: &Path) -> Result<(), Error> {
        self.wait_found("delete", key, self.store.delete(key))
            .map(drop)
    }

    /// Every object under `prefix`, with its size, sorted by key.
    fn list_all(&self, prefix: &Path) -> Result<Vec<(Path, u64)>, Error> {
        use futures_util::TryStreamExt;
        let store = self.store.clone();
        let p = prefix.clone();
        let mut all: Vec<(Path, u64)> = self.wait("list", prefix, async move {
            store
                .list(Some(&p))
                .map_ok(|m| (m.location, m.size))
                .try_collect()
                .await
        })?;
        all.sort();
        Ok(all)
    }

    /// The names of the "directories" right under `prefix`.
    fn list_dirs(&self, prefix: &Path) -> Result<Vec<String>, Error> {
        let found = self.wait("list", prefix, self.store.list_with_delimiter(Some(prefix)))?;
        let mut names: Vec<String> = found
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }
}

impl Drop for S3Storage {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which a runtime's
        // worker (where the last registry handle may go) must not do.
        if let Some(r) = self.runtime.take() {
            r.shutdown_background();
        }
    }
}

fn store_error(action: &'static str, key: &Path, e: object_store::Error) -> Error {
    Error::S3 {
        action,
        key: key.to_string(),
        source: Box::new(e),
    }
}
