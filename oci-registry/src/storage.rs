//! Where a registry keeps its content: the [`Storage`] trait and its
//! backends, [`MemoryStorage`], [`FsStorage`] and [`S3Storage`].
//!
//! A backend only stores and lists; the server checks every byte (digests
//! are computed as uploads arrive, manifests are validated) before it asks
//! a backend to keep anything. Methods are blocking: the server calls them
//! on tokio's blocking threads.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use ocikit_types::{Descriptor, Digest};

use crate::{Error, RepositoryName};

mod blocking;
mod fs;
mod memory;
#[cfg(feature = "s3")]
pub(crate) mod s3;

pub(crate) use blocking::run;
pub use fs::FsStorage;
pub use memory::MemoryStorage;
#[cfg(feature = "s3")]
pub use s3::{S3Options, S3Storage};

/// The content of a stored blob, ready to be sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum BlobContent {
    /// Bytes held in memory.
    Memory(Arc<Vec<u8>>),
    /// An open file, read from its start.
    File(std::fs::File),
    /// A blob kept elsewhere (an object store), read in ranges.
    Remote(Box<dyn RemoteBlob>),
}

/// A blob a backend keeps elsewhere, such as in an object store.
pub trait RemoteBlob: Send + fmt::Debug {
    /// A blocking reader of `len` bytes from `start`.
    ///
    /// # Errors
    /// When the blob cannot be read.
    fn read_range(&self, start: u64, len: u64) -> Result<Box<dyn Read + Send>, Error>;

    /// A URL clients may fetch the blob from instead of the registry (a
    /// presigned URL), when the backend redirects. It is called on a
    /// runtime's thread, so it must not block.
    fn redirect_url(&self) -> Option<String>;
}

/// An upload session: the bytes received so far belong to `repository`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSession {
    /// The session's id, as it appears in the upload URL.
    pub id: String,
    /// The repository the blob is pushed to.
    pub repository: RepositoryName,
    /// Bytes received so far.
    pub size: u64,
    /// When the session started.
    pub started: SystemTime,
    /// When bytes were last added (the start, before any): an upload idle
    /// since longer than its purge age is removed.
    pub updated: SystemTime,
}

/// A stored blob as the garbage collector sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredBlob {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The last time it was promised to a client (stored, found by
    /// `HEAD`, mounted, or named by a manifest that was put): the
    /// collector keeps it for a grace period after that.
    pub promised: SystemTime,
}

/// A manifest as it was pushed: its exact bytes and `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredManifest {
    /// The digest of `bytes`.
    pub digest: Digest,
    /// The `Content-Type` it was pushed with.
    pub media_type: String,
    /// The bytes, exactly as pushed.
    pub bytes: Arc<Vec<u8>>,
}

impl StoredManifest {
    /// A manifest of these bytes and media type, whose digest the caller
    /// computed.
    pub fn new(digest: Digest, media_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        StoredManifest {
            digest,
            media_type: media_type.into(),
            bytes: Arc::new(bytes),
        }
    }
}

/// A registry's storage backend.
///
/// Blobs are stored once per digest and *linked* into the repositories
/// that pushed or mounted them: a blob is visible in a repository only
/// when linked there. Every method may block.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// The size of the blob `digest` when it is linked in `repo`.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn blob_size(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error>;

    /// True when the blob `digest` is stored for any repository.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn has_any_blob(&self, digest: &Digest) -> Result<bool, Error>;

    /// The content and size of the blob `digest` when it is linked in `repo`.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn open_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(BlobContent, u64)>, Error>;

    /// Links the stored blob `digest` into `repo` (a mount); false when no
    /// such blob is stored.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn link_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error>;

    /// Removes the blob's link from `repo`; false when it was not linked.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error>;

    /// Starts an upload session for `repo`.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn create_upload(&self, repo: &RepositoryName) -> Result<UploadSession, Error>;

    /// The session `id`, if it exists.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn upload(&self, id: &str) -> Result<Option<UploadSession>, Error>;

    /// Appends `bytes` to the session `id`; returns its new size.
    ///
    /// # Errors
    /// When the session is gone or the backend cannot be written.
    fn append_upload(&self, id: &str, bytes: &[u8]) -> Result<u64, Error>;

    /// Appends `parts`, one after the other, to the session `id`; returns
    /// its new size. The default appends each part with
    /// [`Storage::append_upload`]; a backend may write them at once.
    ///
    /// # Errors
    /// As [`Storage::append_upload`].
    fn append_upload_parts(&self, id: &str, parts: &[&[u8]]) -> Result<u64, Error> {
        let mut size = self.upload(id)?.map_or(0, |s| s.size);
        for p in parts {
            size = self.append_upload(id, p)?;
        }
        Ok(size)
    }

    /// The bytes received by session `id`, from the start.
    ///
    /// # Errors
    /// When the session is gone or the backend cannot be read.
    fn read_upload(&self, id: &str) -> Result<Box<dyn Read + Send>, Error>;

    /// Makes the session's bytes the blob `digest` (which the caller
    /// verified), links it into `repo`, and ends the session.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn commit_upload(&self, id: &str, repo: &RepositoryName, digest: &Digest) -> Result<(), Error>;

    /// Ends the session `id` and drops its bytes; false when it was gone.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn cancel_upload(&self, id: &str) -> Result<bool, Error>;

    /// Stores a manifest (validated by the caller) in `repo`, and points
    /// `tag` at it when given (moving the tag atomically).
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &StoredManifest,
        tag: Option<&str>,
    ) -> Result<(), Error>;

    /// The manifest `digest` of `repo`.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, Error>;

    /// The digest `tag` points at in `repo`.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn resolve_tag(&self, repo: &RepositoryName, tag: &str) -> Result<Option<Digest>, Error>;

    /// The tags of `repo`, sorted; `None` when the repository is unknown.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn tags(&self, repo: &RepositoryName) -> Result<Option<Vec<String>>, Error>;

    /// Removes the manifest `digest` and every tag pointing at it; false
    /// when it was not in `repo`.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error>;

    /// Removes `tag` (its manifest stays); false when it did not exist.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn delete_tag(&self, repo: &RepositoryName, tag: &str) -> Result<bool, Error>;

    /// Every repository's name, sorted.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn repositories(&self) -> Result<Vec<String>, Error>;

    /// Records `referrer` (a descriptor of a manifest of `repo` whose
    /// `subject` is `subject`).
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn add_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Descriptor,
    ) -> Result<(), Error>;

    /// Forgets the referrer `referrer` of `subject`.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn remove_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), Error>;

    /// The referrers of `subject` in `repo`, sorted by digest.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Descriptor>, Error>;

    /// The bytes the storage holds (blobs, manifests, upload sessions),
    /// for the metrics; `None` (the default) when the backend cannot tell.
    /// It may walk the whole storage: the server calls it at most once
    /// per [storage size interval](crate::RegistryBuilder::storage_size_interval).
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn usage(&self) -> Result<Option<u64>, Error> {
        Ok(None)
    }

    /// The size of the blob `digest` when it is linked in `repo`, after
    /// recording that it was promised to a client now (a `HEAD` answered
    /// 200, or a reference of a manifest being put): the garbage collector
    /// keeps it for its grace period from now. The check and the record
    /// are one step against [`Storage::remove_blobs`]. The default only
    /// checks (a backend without collection needs no promises).
    ///
    /// # Errors
    /// When the backend cannot be read or written.
    fn promise_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        self.blob_size(repo, digest)
    }

    /// Every stored blob (manifests included), for the garbage collector.
    /// The default lists none: a backend that does not implement
    /// collection is never swept.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn stored_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        Ok(Vec::new())
    }

    /// The digests of every manifest of `repo`, tagged or not.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn manifest_digests(&self, repo: &RepositoryName) -> Result<Vec<Digest>, Error> {
        let _ = repo;
        Ok(Vec::new())
    }

    /// Removes each blob of `digests` (its data and its links in every
    /// repository) that was not promised since `unpromised_since`,
    /// checking that and removing it in one step against
    /// [`Storage::promise_blob`] and the methods that store or link
    /// blobs; returns the blobs removed. The default removes none.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn remove_blobs(
        &self,
        digests: &[Digest],
        unpromised_since: SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        let _ = (digests, unpromised_since);
        Ok(Vec::new())
    }

    /// Removes the manifest `digest` of `repo` when no tag points at it
    /// and it was not promised since `unpromised_since` (checked in one
    /// step with the removal, as [`Storage::remove_blobs`]); false when
    /// it stays. The default removes none.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn remove_untagged_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        unpromised_since: SystemTime,
    ) -> Result<bool, Error> {
        let _ = (repo, digest, unpromised_since);
        Ok(false)
    }

    /// Called when a garbage collection starts: false when another
    /// collector sharing the storage is running (this one then does
    /// nothing). The default always lets it run.
    ///
    /// # Errors
    /// When the backend cannot be read or written.
    fn begin_collection(&self) -> Result<bool, Error> {
        Ok(true)
    }

    /// Called when a collection that [`Storage::begin_collection`] let
    /// run ends, also when it failed. The default does nothing.
    ///
    /// # Errors
    /// When the backend cannot be written.
    fn end_collection(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Every upload session. The default lists none.
    ///
    /// # Errors
    /// When the backend cannot be read.
    fn uploads(&self) -> Result<Vec<UploadSession>, Error> {
        Ok(Vec::new())
    }
}
