//! Storage in memory, for tests and short-lived registries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use ocikit_types::{Descriptor, Digest};

use super::{BlobContent, Storage, StoredBlob, StoredManifest, UploadSession};
use crate::{Error, RepositoryName};

/// Everything in memory, lost when dropped.
///
/// ```
/// use ocikit_registry::{MemoryStorage, Storage};
/// assert!(MemoryStorage::new().repositories()?.is_empty());
/// # Ok::<(), ocikit_registry::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStorage {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    blobs: HashMap<Digest, Arc<Vec<u8>>>,
    repos: BTreeMap<String, Repo>,
    uploads: HashMap<String, Upload>,
    /// When each blob was last promised to a client (see
    /// [`Storage::promise_blob`]).
    promised: HashMap<Digest, SystemTime>,
}

#[derive(Debug, Default)]
struct Repo {
    blobs: HashSet<Digest>,
    manifests: HashMap<Digest, StoredManifest>,
    tags: BTreeMap<String, Digest>,
    referrers: HashMap<Digest, BTreeMap<Digest, Descriptor>>,
}

#[derive(Debug)]
struct Upload {
    session: UploadSession,
    data: Vec<u8>,
}

fn gone(id: &str) -> Error {
    Error::io(
        "find upload session",
        id,
        std::io::ErrorKind::NotFound.into(),
    )
}

mod gc;

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while locked leaves whole values behind (each method
        // changes the maps with single inserts and removes), so the data
        // stays usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn repo(&self, name: &RepositoryName) -> Option<&Repo> {
        self.repos.get(name.as_str())
    }

    fn repo_mut(&mut self, name: &RepositoryName) -> &mut Repo {
        self.repos.entry(name.as_str().to_owned()).or_default()
    }
}

impl Storage for MemoryStorage {
    fn blob_size(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        let inner = self.lock();
        Ok(inner
            .repo(repo)
            .filter(|r| r.blobs.contains(digest))
            .and_then(|_| inner.blobs.get(digest))
            .map(|b| b.len() as u64))
    }

    fn has_any_blob(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(self.lock().blobs.contains_key(digest))
    }

    fn open_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(BlobContent, u64)>, Error> {
        let inner = self.lock();
        Ok(inner
            .repo(repo)
            .filter(|r| r.blobs.contains(digest))
            .and_then(|_| inner.blobs.get(digest))
            .map(|b| (BlobContent::Memory(b.clone()), b.len() as u64)))
    }

    fn link_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let mut inner = self.lock();
        if !inner.blobs.contains_key(digest) {
            return Ok(false);
        }
        inner.repo_mut(repo).blobs.insert(digest.clone());
        inner.promise(digest);
        Ok(true)
    }

    fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let mut inner = self.lock();
        Ok(inner
            .repos
            .get_mut(repo.as_str())
            .is_some_and(|r| r.blobs.remove(digest)))
    }

    fn create_upload(&self, repo: &RepositoryName) -> Result<UploadSession, Error> {
        let session = UploadSession {
            id: uuid::Uuid::new_v4().to_string(),
            repository: repo.clone(),
            size: 0,
            started: SystemTime::now(),
            updated: SystemTime::now(),
        };
        self.lock().uploads.insert(
            session.id.clone(),
            Upload {
                session: session.clone(),
                data: Vec::new(),
            },
        );
        Ok(session)
    }

    fn upload(&self, id: &str) -> Result<Option<UploadSession>, Error> {
        Ok(self.lock().uploads.get(id).map(|u| u.session.clone()))
    }

    fn append_upload(&self, id: &str, bytes: &[u8]) -> Result<u64, Error> {
        let mut inner = self.lock();
        let u = inner.uploads.get_mut(id).ok_or_else(|| gone(id))?;
        u.data.extend_from_slice(bytes);
        u.session.size = u.data.len() as u64;
        u.session.updated = SystemTime::now();
        Ok(u.session.size)
    }

    fn read_upload(&self, id: &str) -> Result<Box<dyn Read + Send>, Error> {
        let inner = self.lock();
        let u = inner.uploads.get(id).ok_or_else(|| gone(id))?;
        Ok(Box::new(std::io::Cursor::new(u.data.clone())))
    }

    fn commit_upload(&self, id: &str, repo: &RepositoryName, digest: &Digest) -> Result<(), Error> {
        let mut inner = self.lock();
        let u = inner.uploads.remove(id).ok_or_else(|| gone(id))?;
        inner
            .blobs
            .entry(digest.clone())
            .or_insert_with(|| Arc::new(u.data));
        inner.repo_mut(repo).blobs.insert(digest.clone());
        inner.promise(digest);
        Ok(())
    }

    fn cancel_upload(&self, id: &str) -> Result<bool, Error> {
        Ok(self.lock().uploads.remove(id).is_some())
    }

    /// Blobs (manifests are stored as blobs too) and upload sessions.
    fn usage(&self) -> Result<Option<u64>, Error> {
        let inner = self.lock();
        let blobs: usize = inner.blobs.values().map(|b| b.len()).sum();
        let uploads: usize = inner.uploads.values().map(|u| u.data.len()).sum();
        Ok(Some((blobs + uploads) as u64))
    }

    fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &StoredManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        let mut inner = self.lock();
        inner
            .blobs
            .entry(manifest.digest.clone())
            .or_insert_with(|| manifest.bytes.clone());
        inner.promise(&manifest.digest);
        let r = inner.repo_mut(repo);
        r.blobs.insert(manifest.digest.clone());
        r.manifests
            .insert(manifest.digest.clone(), manifest.clone());
        if let Some(tag) = tag {
            r.tags.insert(tag.to_owned(), manifest.digest.clone());
        }
        Ok(())
    }

    fn manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, Error> {
        Ok(self
            .lock()
            .repo(repo)
            .and_then(|r| r.manifests.get(digest).cloned()))
    }

    fn resolve_tag(&self, repo: &RepositoryName, tag: &str) -> Result<Option<Digest>, Error> {
        Ok(self
            .lock()
            .repo(repo)
            .and_then(|r| r.tags.get(tag).cloned()))
    }

    fn tags(&self, repo: &RepositoryName) -> Result<Option<Vec<String>>, Error> {
        Ok(self
            .lock()
            .repo(repo)
            .map(|r| r.tags.keys().cloned().collect()))
    }

    fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let mut inner = self.lock();
        let Some(r) = inner.repos.get_mut(repo.as_str()) else {
            return Ok(false);
        };
        if r.manifests.remove(digest).is_none() {
            return Ok(false);
        }
        r.blobs.remove(digest);
        r.tags.retain(|_, d| d != digest);
        Ok(true)
    }

    fn delete_tag(&self, repo: &RepositoryName, tag: &str) -> Result<bool, Error> {
        let mut inner = self.lock();
        Ok(inner
            .repos
            .get_mut(repo.as_str())
            .is_some_and(|r| r.tags.remove(tag).is_some()))
    }

    fn repositories(&self) -> Result<Vec<String>, Error> {
        Ok(self.lock().repos.keys().cloned().collect())
    }

    fn add_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Descriptor,
    ) -> Result<(), Error> {
        self.lock()
            .repo_mut(repo)
            .referrers
            .entry(subject.clone())
            .or_default()
            .insert(referrer.digest.clone(), referrer.clone());
        Ok(())
    }

    fn remove_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), Error> {
        if let Some(r) = self.lock().repos.get_mut(repo.as_str()) {
            if let Some(set) = r.referrers.get_mut(subject) {
                set.remove(referrer);
            }
        }
        Ok(())
    }

    fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Descriptor>, Error> {
        Ok(self
            .lock()
            .repo(repo)
            .and_then(|r| r.referrers.get(subject))
            .map(|set| set.values().cloned().collect())
            .unwrap_or_default())
    }

    fn promise_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        Ok(self.lock().promise_in(repo, digest))
    }

    fn stored_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        Ok(self.lock().stored_blobs())
    }

    fn manifest_digests(&self, repo: &RepositoryName) -> Result<Vec<Digest>, Error> {
        Ok(self
            .lock()
            .repo(repo)
            .map(|r| r.manifests.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn remove_blobs(
        &self,
        digests: &[Digest],
        unpromised_since: SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        Ok(self.lock().remove_blobs(digests, unpromised_since))
    }

    fn remove_untagged_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        unpromised_since: SystemTime,
    ) -> Result<bool, Error> {
        Ok(self
            .lock()
            .remove_untagged_manifest(repo, digest, unpromised_since))
    }

    fn uploads(&self) -> Result<Vec<UploadSession>, Error> {
        Ok(self
            .lock()
            .uploads
            .values()
            .map(|u| u.session.clone())
            .collect())
    }
}
