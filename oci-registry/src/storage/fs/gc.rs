//! The garbage collector's side of [`FsStorage`]: promises, listings and
//! removals.
//!
//! A blob's *promise time* is the modification time of its inode (the
//! shared file and its hard links are one inode; a link left from an
//! older copy counts too): storing, linking, a `HEAD` answered 200 and a
//! manifest put naming the blob set it to now. Those steps hold a shared
//! `flock` on `ROOT/_gc.lock` while they check and touch; a removal holds
//! it exclusively while it checks the promise time and unlinks. Locks of
//! `flock` belong to an open file, so the server's threads and a
//! `garbage-collect` process running beside it exclude each other alike.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use ocikit_types::{annotation::REF_NAME, Digest};
use rustix::fs::FlockOperation;

use super::{remove_file, sync_dir, FsStorage};
use crate::storage::{StoredBlob, UploadSession};
use crate::{Error, RepositoryName};

/// How [`FsStorage::gc_lock`] locks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lock {
    /// Steps that promise blobs: any number at once.
    Shared,
    /// A removal: alone.
    Exclusive,
}

/// A blob's size and promise time, from its file's metadata; `None` when
/// the file is missing.
fn stat(path: &Path) -> Result<Option<(u64, SystemTime)>, Error> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some((m.len(), m.modified().unwrap_or(UNIX_EPOCH)))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read metadata of", path, e)),
    }
}

/// Sets the promise time of the file at `path` to now; its size, or
/// `None` when it is missing.
pub(super) fn touch(path: &Path) -> Result<Option<u64>, Error> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    f.set_modified(SystemTime::now())
        .map_err(|e| Error::io("set the modification time of", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| Error::io("read metadata of", path, e))?
        .len();
    Ok(Some(len))
}

/// The digests of the files in `dir/<alg>/<hex>`, with their metadata.
fn blob_files(dir: &Path, out: &mut HashMap<Digest, StoredBlob>) -> Result<(), Error> {
    for alg in list(dir)? {
        let alg_dir = dir.join(&alg);
        for hex in list(&alg_dir)? {
            let Ok(digest) = format!("{alg}:{hex}").parse::<Digest>() else {
                continue; // not a blob (a stray file)
            };
            let Some((size, promised)) = stat(&alg_dir.join(&hex))? else {
                continue;
            };
            let e = out.entry(digest.clone()).or_insert(StoredBlob {
                digest,
                size,
                promised,
            });
            e.promised = e.promised.max(promised);
        }
    }
    Ok(())
}

/// The names in `dir`; none when it is missing.
fn list(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

impl FsStorage {
    /// Takes the collector's lock; it is released when the file drops.
    pub(super) fn gc_lock(&self, lock: Lock) -> Result<File, Error> {
        let path = self.root.join("_gc.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        let op = match lock {
            Lock::Shared => FlockOperation::LockShared,
            Lock::Exclusive => FlockOperation::LockExclusive,
        };
        rustix::fs::flock(&f, op).map_err(|e| Error::io("lock", &path, e.into()))?;
        Ok(f)
    }

    pub(super) fn promise(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<u64>, Error> {
        let _lock = self.gc_lock(Lock::Shared)?;
        touch(&self.linked_blob(repo, digest))
    }

    pub(super) fn list_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        let mut found = HashMap::new();
        blob_files(&self.root.join("blobs"), &mut found)?;
        for repo in self.list_repositories()? {
            let Some(repo) = RepositoryName::parse(&repo) else {
                continue;
            };
            blob_files(&self.layout_dir(&repo).join("blobs"), &mut found)?;
        }
        Ok(found.into_values().collect())
    }

    pub(super) fn list_manifests(&self, repo: &RepositoryName) -> Result<Vec<Digest>, Error> {
        let mut out: Vec<Digest> = self
            .entries(repo)?
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.digest)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Removes each of `digests` not promised since `since`, each under
    /// the exclusive lock (held briefly, so pushes wait little).
    pub(super) fn sweep(
        &self,
        digests: &[Digest],
        since: SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        // A repository made after this listing got its blobs by linking,
        // which promises them: they are skipped below.
        let repos: Vec<RepositoryName> = self
            .list_repositories()?
            .iter()
            .filter_map(|r| RepositoryName::parse(r))
            .collect();
        let mut removed = Vec::new();
        for d in digests {
            let _lock = self.gc_lock(Lock::Exclusive)?;
            let shared = self.shared_blob(d);
            let mut paths = vec![shared.clone()];
            paths.extend(repos.iter().map(|r| self.linked_blob(r, d)));
            let mut present = Vec::new();
            let mut young = false;
            for p in paths {
                if let Some((_, promised)) = stat(&p)? {
                    young |= promised >= since;
                    present.push(p);
                }
            }
            if young || present.is_empty() {
                continue;
            }
            // Links first: a crash in between leaves a shared file that
            // the next run removes, never a link another repository
            // could no longer be given.
            for p in present.iter().filter(|p| **p != shared) {
                remove_file(p)?;
            }
            remove_file(&shared)?;
            if let Some(dir) = shared.parent() {
                sync_dir(dir)?;
            }
            removed.push(d.clone());
        }
        Ok(removed)
    }

    pub(super) fn sweep_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        since: SystemTime,
    ) -> Result<bool, Error> {
        let _lock = self.gc_lock(Lock::Exclusive)?;
        let Some(entries) = self.entries(repo)? else {
            return Ok(false);
        };
        let tagged = entries
            .iter()
            .any(|e| &e.digest == digest && e.annotation(REF_NAME).is_some());
        if tagged {
            return Ok(false);
        }
        for p in [self.linked_blob(repo, digest), self.shared_blob(digest)] {
            if stat(&p)?.is_some_and(|(_, promised)| promised >= since) {
                return Ok(false);
            }
        }
        self.remove_manifest(repo, digest)
    }

    pub(super) fn list_uploads(&self) -> Result<Vec<UploadSession>, Error> {
        let mut out = Vec::new();
        for id in list(&self.root.join("_uploads"))? {
            if let Some(s) = self.session(&id)? {
                out.push(s);
            }
        }
        Ok(out)
    }
}
