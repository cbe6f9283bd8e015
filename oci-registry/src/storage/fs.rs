//! Storage on a filesystem.
//!
//! ```text
//! ROOT/blobs/<alg>/<hex>                      every blob, stored once
//! ROOT/repositories/<name>/_layout/           an OCI image layout per repository:
//!     oci-layout, index.json                  its manifests, tags as ref.name annotations
//!     blobs/<alg>/<hex>                       hard links to ROOT/blobs (the repository's links)
//! ROOT/repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>.json
//!                                             descriptors of the manifests whose subject is <hex>
//! ROOT/_uploads/<id>/{data,session.json}      upload sessions, kept across restarts
//! ROOT/_tmp/                                  files being written
//! ROOT/_open.lock, ROOT/_gc.lock              see below
//! ```
//!
//! Repository name components never start with `_`, so the `_layout`,
//! `_referrers` and `_uploads` folders cannot clash with a repository.
//! Every file is written to a temp file, synced and renamed into place;
//! links are hard links, made in one step. Skopeo and umoci read
//! `ROOT/repositories/<name>/_layout` as an `oci:` layout.
//!
//! A process that opens the store alone removes the temp files a crash
//! left (see `recover`); the garbage collector's promises and removals
//! exclude each other with `_gc.lock` (see `gc`).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ocikit_types::{Descriptor, Digest};

use super::{BlobContent, Storage, StoredBlob, StoredManifest, UploadSession};
use crate::{Error, RepositoryName};

mod gc;
mod manifests;
mod recover;
mod uploads;
mod usage;

use gc::Lock;

/// Storage in a directory, durable across restarts.
///
/// ```
/// use ocikit_registry::{FsStorage, Storage};
/// let dir = tempfile::tempdir()?;
/// let storage = FsStorage::open(dir.path())?;
/// assert!(storage.repositories()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
    /// Held (shared) while the store is open; see `recover`.
    _open: File,
}

impl FsStorage {
    /// Opens the storage in `root`, creating the directory when missing.
    /// When no other process has it open, the temp files and unfinished
    /// upload folders a crash left are removed first.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created.
    pub fn open(root: impl AsRef<Path>) -> Result<FsStorage, Error> {
        let root = root.as_ref().to_owned();
        for dir in ["blobs", "repositories", "_uploads", "_tmp"] {
            let p = root.join(dir);
            fs::create_dir_all(&p).map_err(|e| Error::io("create directory", &p, e))?;
        }
        let open = recover::hold_open_lock(&root)?;
        Ok(FsStorage { root, _open: open })
    }

    /// The storage's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn shared_blob(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    fn repo_dir(&self, repo: &RepositoryName) -> PathBuf {
        self.root.join("repositories").join(repo.as_str())
    }

    fn layout_dir(&self, repo: &RepositoryName) -> PathBuf {
        self.repo_dir(repo).join("_layout")
    }

    fn linked_blob(&self, repo: &RepositoryName, digest: &Digest) -> PathBuf {
        self.layout_dir(repo)
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    /// Hard-links the shared blob into `repo`'s layout (creating the
    /// layout) and promises it; false when the shared blob is missing.
    /// The caller holds the collector's lock shared.
    fn link(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let shared = self.shared_blob(digest);
        if !shared.is_file() {
            return Ok(false);
        }
        if !self.layout_dir(repo).join("oci-layout").is_file() {
            self.layout(repo)?;
        }
        let link = self.linked_blob(repo, digest);
        let dir = parent(&link);
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        match fs::hard_link(&shared, &link) {
            Ok(()) => sync_dir(dir)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("link blob", &link, e)),
        }
        gc::touch(&shared)?;
        gc::touch(&link)?;
        Ok(true)
    }

    /// Moves the complete, synced file `src` to the shared blob `digest`,
    /// unless a copy is already there.
    fn install_shared(&self, src: &Path, digest: &Digest) -> Result<(), Error> {
        let dest = self.shared_blob(digest);
        if dest.is_file() {
            return remove_file(src);
        }
        let dir = parent(&dest);
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        fs::rename(src, &dest).map_err(|e| Error::io("rename into place", &dest, e))?;
        sync_dir(dir)
    }

    /// Writes `bytes` to a synced temp file and returns its path.
    fn write_temp(&self, bytes: &[u8]) -> Result<PathBuf, Error> {
        use std::io::Write;
        let path = self
            .root
            .join("_tmp")
            .join(uuid::Uuid::new_v4().to_string());
        let mut f = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("write", &path, e))?;
        Ok(path)
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

fn remove_file(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))
}

fn file_size(path: &Path) -> Result<Option<u64>, Error> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m.len())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read metadata of", path, e)),
    }
}

impl Storage for FsStorage {
    fn blob_size(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        file_size(&self.linked_blob(repo, digest))
    }

    fn has_any_blob(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(file_size(&self.shared_blob(digest))?.is_some())
    }

    fn open_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(BlobContent, u64)>, Error> {
        let path = self.linked_blob(repo, digest);
        match File::open(&path) {
            Ok(f) => {
                let len = f
                    .metadata()
                    .map_err(|e| Error::io("read metadata of", &path, e))?
                    .len();
                Ok(Some((BlobContent::File(f), len)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("open", &path, e)),
        }
    }

    fn link_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let _lock = self.gc_lock(Lock::Shared)?;
        self.link(repo, digest)
    }

    fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let path = self.linked_blob(repo, digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }

    fn create_upload(&self, repo: &RepositoryName) -> Result<UploadSession, Error> {
        self.create_session(repo)
    }

    fn upload(&self, id: &str) -> Result<Option<UploadSession>, Error> {
        self.session(id)
    }

    fn append_upload(&self, id: &str, bytes: &[u8]) -> Result<u64, Error> {
        self.append(id, bytes)
    }

    fn append_upload_parts(&self, id: &str, parts: &[&[u8]]) -> Result<u64, Error> {
        self.append_parts(id, parts)
    }

    fn read_upload(&self, id: &str) -> Result<Box<dyn Read + Send>, Error> {
        let path = self.upload_data(id)?;
        let f = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        Ok(Box::new(io::BufReader::with_capacity(1 << 20, f)))
    }

    fn commit_upload(&self, id: &str, repo: &RepositoryName, digest: &Digest) -> Result<(), Error> {
        self.commit(id, repo, digest)
    }

    fn cancel_upload(&self, id: &str) -> Result<bool, Error> {
        self.remove_session(id)
    }

    fn usage(&self) -> Result<Option<u64>, Error> {
        self.walk_usage().map(Some)
    }

    fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &StoredManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        self.store_manifest(repo, manifest, tag)
    }

    fn manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, Error> {
        self.load_manifest(repo, digest)
    }

    fn resolve_tag(&self, repo: &RepositoryName, tag: &str) -> Result<Option<Digest>, Error> {
        self.find_tag(repo, tag)
    }

    fn tags(&self, repo: &RepositoryName) -> Result<Option<Vec<String>>, Error> {
        self.list_tags(repo)
    }

    fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        self.remove_manifest(repo, digest)
    }

    fn delete_tag(&self, repo: &RepositoryName, tag: &str) -> Result<bool, Error> {
        self.remove_tag(repo, tag)
    }

    fn repositories(&self) -> Result<Vec<String>, Error> {
        self.list_repositories()
    }

    fn add_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Descriptor,
    ) -> Result<(), Error> {
        self.store_referrer(repo, subject, referrer)
    }

    fn remove_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), Error> {
        remove_file(&self.referrer_path(repo, subject, referrer))
    }

    fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Descriptor>, Error> {
        self.list_referrers(repo, subject)
    }

    fn promise_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        self.promise(repo, digest)
    }

    fn stored_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        self.list_blobs()
    }

    fn manifest_digests(&self, repo: &RepositoryName) -> Result<Vec<Digest>, Error> {
        self.list_manifests(repo)
    }

    fn remove_blobs(
        &self,
        digests: &[Digest],
        unpromised_since: std::time::SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        self.sweep(digests, unpromised_since)
    }

    fn remove_untagged_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        unpromised_since: std::time::SystemTime,
    ) -> Result<bool, Error> {
        self.sweep_manifest(repo, digest, unpromised_since)
    }

    fn uploads(&self) -> Result<Vec<UploadSession>, Error> {
        self.list_uploads()
    }
}

#[cfg(test)]
mod tests;
