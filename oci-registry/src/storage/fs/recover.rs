//! What a crash leaves behind, removed when a store is opened by the only
//! process using it.
//!
//! Every opener holds a shared `flock` on `ROOT/_open.lock` while its
//! `FsStorage` lives. An opener that can take it exclusively is alone,
//! so no write is in progress: it removes the temp files of writes a
//! crash cut short (`_tmp/*`, the layouts' `.ocikit/tmp/*` and every
//! `.ocikit-*` temp name beside a destination) and upload folders that
//! never got their `session.json`, then keeps its lock shared. A
//! `garbage-collect` run beside a live server is not alone and cleans
//! nothing.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use rustix::fs::FlockOperation;

use crate::Error;

/// The name prefix of ocikit-image's temp files.
const TEMP_PREFIX: &str = ".ocikit-";

/// Opens and locks `ROOT/_open.lock`, cleaning the store first when no
/// other process has it open.
pub(super) fn hold_open_lock(root: &Path) -> Result<File, Error> {
    let path = root.join("_open.lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    let lock = |op| rustix::fs::flock(&f, op).map_err(|e| Error::io("lock", &path, e.into()));
    match rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            clean(root)?;
            lock(FlockOperation::LockShared)?;
        }
        Err(rustix::io::Errno::WOULDBLOCK) => lock(FlockOperation::LockShared)?,
        Err(e) => return Err(Error::io("lock", &path, e.into())),
    }
    Ok(f)
}

fn clean(root: &Path) -> Result<(), Error> {
    let mut removed = 0usize;
    for entry in entries(&root.join("_tmp"))? {
        removed += remove(&entry)?;
    }
    for id in entries(&root.join("_uploads"))? {
        if !id.join("session.json").is_file() {
            removed += remove(&id)?;
            continue;
        }
        removed += remove_temp_names(&id)?;
    }
    removed += clean_repositories(&root.join("repositories"))?;
    if removed > 0 {
        tracing::debug!(removed, root = %root.display(), "removed what a crash left");
    }
    Ok(())
}

/// Walks the repositories' folders (not their blobs, which hold no temp
/// files) removing temp files.
fn clean_repositories(dir: &Path) -> Result<usize, Error> {
    let mut removed = remove_temp_names(dir)?;
    for entry in entries(dir)? {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !entry.is_dir() || (name == "blobs" && dir.ends_with("_layout")) {
            continue;
        }
        if name == "tmp" && dir.ends_with(".ocikit") {
            for t in entries(&entry)? {
                removed += remove(&t)?;
            }
            continue;
        }
        removed += clean_repositories(&entry)?;
    }
    Ok(removed)
}

/// Removes the files of `dir` named as temp files.
fn remove_temp_names(dir: &Path) -> Result<usize, Error> {
    let mut removed = 0;
    for entry in entries(dir)? {
        let temp = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(TEMP_PREFIX));
        if temp && !entry.is_dir() {
            removed += remove(&entry)?;
        }
    }
    Ok(removed)
}

fn entries(dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    match fs::read_dir(dir) {
        Ok(list) => list
            .map(|e| e.map(|e| e.path()).map_err(|e| Error::io("list", dir, e)))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io("list", dir, e)),
    }
}

fn remove(path: &Path) -> Result<usize, Error> {
    let r = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Ok(()) => Ok(1),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}
