//! The pull-through cache: a registry that mirrors an [`Upstream`],
//! fetching what it lacks on a miss, verifying it, storing it and serving
//! it (Distribution's `proxy` mode).
//!
//! What it does, request by request (decided after Distribution's
//! `registry/proxy` and zot's on-demand sync):
//! - A manifest by digest never changes: fetched once (verified against
//!   the digest), then served from storage forever.
//! - A manifest by tag is served from storage while the tag was checked
//!   upstream less than the tag TTL ago; after that the upstream is asked
//!   with `HEAD` which manifest the tag names, and the manifest is fetched
//!   when it moved. An upstream that cannot be reached leaves the cached
//!   tag in service; one that answers 404 removes the tag from the cache.
//! - A blob is fetched on a miss and streamed to the client while it is
//!   stored; every client missing the same blob of the same repository
//!   meanwhile reads the same single upstream fetch (`blobs`). Its last
//!   byte goes out only once the whole blob has matched its digest: a
//!   blob that does not match is never stored, and its clients see the
//!   connection cut short. `HEAD` of a missing blob is answered from the
//!   upstream's `HEAD`, without fetching. A `Range` asked of a blob being
//!   fetched is answered with the whole blob (200), as HTTP allows; once
//!   stored, ranges are served as usual. A blob stored for another
//!   repository is linked into this one once the upstream's `HEAD` says
//!   this repository has it too. Fetches are shared per repository: the
//!   same blob missed in two repositories at once is fetched twice.
//! - Pushes, uploads, mounts and deletes are refused with 405
//!   `UNSUPPORTED`, as Distribution does in proxy mode.
//! - The tag list comes from the upstream (from the cache when the
//!   upstream cannot be reached); the catalog and the referrers API list
//!   what the cache holds (a referrer is not recorded when its manifest is
//!   cached).
//! - Cached content never expires; a blob being fetched is kept in a
//!   temp file (in the system's temp dir) besides the storage's upload
//!   session until it is committed.

mod blobs;
mod manifests;
mod tags;
mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use ocikit_distribution::Client;
use ocikit_types::{Digest, ErrorCode, Reference};

use crate::api_error::ApiError;
use crate::api_path::Route;
use crate::{Error, RepositoryName, Storage};

pub use upstream::Upstream;

/// A running pull-through cache: the upstream's client, when each tag was
/// last checked, and the blob fetches in progress.
#[derive(Debug)]
pub(crate) struct Proxy {
    upstream: Upstream,
    client: Client,
    checked: Mutex<HashMap<(RepositoryName, String), Instant>>,
    fetches: Mutex<HashMap<(RepositoryName, Digest), Arc<blobs::Fetch>>>,
}

/// What a request needs besides its route.
pub(crate) struct Req<'a> {
    pub(crate) storage: &'a Arc<dyn Storage>,
    pub(crate) method: &'a Method,
    pub(crate) query: &'a [(String, String)],
}

impl Proxy {
    pub(crate) fn new(upstream: Upstream) -> Result<Proxy, Error> {
        Ok(Proxy {
            client: upstream.client()?,
            upstream,
            checked: Mutex::new(HashMap::new()),
            fetches: Mutex::new(HashMap::new()),
        })
    }

    /// Answers the request itself, or prepares the storage (fetches a
    /// missing manifest) and returns `None` so the usual handler answers
    /// from it.
    pub(crate) async fn intercept(
        self: &Arc<Self>,
        req: Req<'_>,
        route: &Route<'_>,
    ) -> Option<Result<Response, ApiError>> {
        let read = *req.method == Method::GET || *req.method == Method::HEAD;
        let name = |n: &str| RepositoryName::parse(n);
        match *route {
            Route::Catalog | Route::Referrers(..) => None,
            Route::Uploads(_) | Route::Upload(..) => Some(Err(self.refuse("uploads"))),
            Route::Tags(n) if read => tags::list(self, req, name(n)?).await,
            Route::Manifest(n, r) if read => {
                let n = name(n)?;
                manifests::ensure(self, req.storage, n, r)
                    .await
                    .err()
                    .map(Err)
            }
            Route::Blob(n, d) if read => blobs::serve(self, req, name(n)?, d).await,
            Route::Manifest(..) if *req.method == Method::PUT => {
                Some(Err(self.refuse("manifest pushes")))
            }
            Route::Manifest(..) | Route::Blob(..) if *req.method == Method::DELETE => {
                Some(Err(self.refuse("deletes")))
            }
            _ => None,
        }
    }

    fn refuse(&self, what: &str) -> ApiError {
        ApiError::unsupported(format!(
            "{what} are not supported: this registry is a pull-through cache of {}",
            self.upstream.url()
        ))
    }

    /// `repo` of the upstream at `target` (`:tag` or `@digest`).
    fn reference(&self, repo: &RepositoryName, target: &str) -> Result<Reference, ApiError> {
        format!("{}/{repo}{target}", self.upstream.host())
            .parse()
            .map_err(|_| ApiError::name_invalid(repo.as_str()))
    }

    /// The answer to a client when the upstream failed: 502 `UNAVAILABLE`
    /// naming it (the whole chain goes to the log).
    fn failed(&self, what: &str, e: &ocikit_distribution::Error) -> ApiError {
        tracing::warn!(
            upstream = self.upstream.url(),
            error = e as &dyn std::error::Error,
            "{what} from the upstream failed"
        );
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::Unavailable,
            format!("{what} from upstream {} failed: {e}", self.upstream.url()),
        )
    }

    fn is_fresh(&self, repo: &RepositoryName, tag: &str) -> bool {
        let ttl = self.upstream.ttl();
        lock(&self.checked)
            .get(&(repo.clone(), tag.to_owned()))
            .is_some_and(|at| at.elapsed() < ttl)
    }

    fn mark_checked(&self, repo: &RepositoryName, tag: &str, fresh: bool) {
        let key = (repo.clone(), tag.to_owned());
        let mut checked = lock(&self.checked);
        if fresh {
            checked.insert(key, Instant::now());
        } else {
            checked.remove(&key);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
