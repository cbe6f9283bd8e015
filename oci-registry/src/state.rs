//! What every request handler shares: the storage, the options, and the
//! hash state of upload sessions in progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ocikit_image::Verifier;
use ocikit_types::Algorithm;

use crate::{Deletes, Error, References, Storage};

/// The settings request handlers read, as the builder or the config file
/// set them.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) deletes: Deletes,
    pub(crate) manifest_limit: u64,
    pub(crate) chunk_min_length: Option<u64>,
    /// [`Limits::blob_size_limit`](crate::Limits::blob_size_limit).
    pub(crate) blob_size_limit: Option<u64>,
    pub(crate) references: References,
    pub(crate) auth: Arc<crate::auth::Authorizer>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) options: Options,
    /// The pull-through cache, when the registry is one.
    #[cfg(feature = "proxy")]
    pub(crate) proxy: Option<Arc<crate::proxy::Proxy>>,
    /// The running hash of each upload session, kept between its requests
    /// so no byte is read twice. Lost on restart: a session resumed after
    /// one is hashed again from its stored bytes (sha2 0.10 cannot save
    /// its state).
    hashers: Mutex<HashMap<String, Hasher>>,
    /// One lock per upload session in use: its requests run one after
    /// the other, each seeing the size the previous one left.
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A session's running hash and the algorithm it computes.
#[derive(Debug)]
pub(crate) struct Hasher {
    pub(crate) algorithm: Algorithm,
    pub(crate) verifier: Verifier,
}

impl Hasher {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        Hasher {
            algorithm,
            verifier: Verifier::computing(algorithm, u64::MAX),
        }
    }
}

/// The algorithm an upload session hashes with until its final digest
/// says otherwise.
pub(crate) const SESSION_ALGORITHM: Algorithm = Algorithm::Sha256;

impl State {
    pub(crate) fn new(storage: Arc<dyn Storage>, options: Options) -> Self {
        State {
            storage,
            options,
            #[cfg(feature = "proxy")]
            proxy: None,
            hashers: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` with the storage on a blocking thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Storage) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        crate::storage::run(&self.storage, f).await
    }

    /// Takes the session's hash state out (one request at a time uses it).
    pub(crate) fn take_hasher(&self, id: &str) -> Option<Hasher> {
        self.hashers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    pub(crate) fn put_hasher(&self, id: &str, v: Hasher) {
        self.hashers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), v);
    }

    /// Forgets a session that ended: its hash state and its lock.
    pub(crate) fn forget_session(&self, id: &str) {
        self.take_hasher(id);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// True while a request holds session `id` (the upload purge leaves
    /// it alone).
    pub(crate) fn session_busy(&self, id: &str) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.get(id).is_some_and(|l| l.try_lock().is_err())
    }

    /// The sessions whose hash state or lock is kept in memory.
    pub(crate) fn known_sessions(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .hashers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.extend(
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned(),
        );
        ids.sort();
        ids.dedup();
        ids
    }

    /// Waits until no other request uses session `id`, and holds it until
    /// the guard drops.
    pub(crate) async fn lock_session(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }
}
