//! One layer's snapshot: its lock, its unpack into `tmp/` and rename into
//! `layers/`, and its reference files.

use std::fs::File;
use std::path::{Path, PathBuf};

use ocikit_types::{Descriptor, Digest};
use rustix::fs::{self as rfs, FlockOperation};

use crate::{unpack, Error, Layout, UnpackOptions, Verification, WhiteoutMode};

/// The name a diff ID (or a manifest digest) has on disk: the algorithm,
/// a dash and the hex. Only the registered algorithms are accepted, whose
/// names hold no dash, so two digests never share a name.
pub(super) fn key(digest: &Digest) -> Result<String, Error> {
    match digest.registered_algorithm() {
        Some(_) => Ok(format!("{}-{}", digest.algorithm(), digest.encoded())),
        None => Err(Error::UnsupportedAlgorithm {
            digest: digest.clone(),
        }),
    }
}

/// An exclusive `flock` on a layer's lock file, released on drop (when the
/// file closes).
pub(super) struct LayerLock {
    _file: File,
}

/// How to wait for a lock.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    Block,
    NoWait,
}

/// Takes the lock of `key`; `None` when [`Wait::NoWait`] and another
/// process holds it.
pub(super) fn lock(store: &Path, key: &str, wait: Wait) -> Result<Option<LayerLock>, Error> {
    let path = store.join("locks").join(format!("{key}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Lock {
            path: path.clone(),
            source: e,
        })?;
    let op = match wait {
        Wait::Block => FlockOperation::LockExclusive,
        Wait::NoWait => FlockOperation::NonBlockingLockExclusive,
    };
    match rfs::flock(&file, op) {
        Ok(()) => Ok(Some(LayerLock { _file: file })),
        Err(rustix::io::Errno::WOULDBLOCK) if wait == Wait::NoWait => Ok(None),
        Err(e) => Err(Error::Lock {
            path,
            source: e.into(),
        }),
    }
}

/// Makes sure the layer `desc` (diff ID `diff_id`) is unpacked in the
/// store, and records `holders` as its users, all under the layer's lock.
/// Returns whether this call unpacked it.
pub(super) fn ensure(
    store: &Path,
    layout: &Layout,
    desc: &Descriptor,
    diff_id: &Digest,
    options: &UnpackOptions,
    holders: &[String],
) -> Result<bool, Error> {
    let key = key(diff_id)?;
    let _lock = lock(store, &key, Wait::Block)?;
    let dest = store.join("layers").join(&key);
    let unpacked = if dest.is_dir() {
        false
    } else {
        unpack_into(store, layout, desc, diff_id, options, &key, &dest)?;
        true
    };
    let refs = store.join("refs").join(&key);
    std::fs::create_dir_all(&refs).map_err(|e| Error::io("create directory", &refs, e))?;
    for holder in holders {
        let path = refs.join(holder);
        File::create(&path).map_err(|e| Error::io("create", &path, e))?;
    }
    sync_dir(&refs)?;
    Ok(unpacked)
}

fn unpack_into(
    store: &Path,
    layout: &Layout,
    desc: &Descriptor,
    diff_id: &Digest,
    options: &UnpackOptions,
    key: &str,
    dest: &Path,
) -> Result<(), Error> {
    let span = tracing::debug_span!("snapshot layer", %diff_id, blob = %desc.digest);
    let _enter = span.enter();
    let tmp_dir = store.join("tmp");
    // The prefix names the layer, so gc can tell (by its lock) whether an
    // unpack is still running.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{key}."))
        .tempdir_in(&tmp_dir)
        .map_err(|e| Error::io("create temporary directory", &tmp_dir, e))?;
    set_mode(tmp.path(), 0o755)?;
    let mut opts = options.clone();
    opts.expected_blob_digest(desc.digest.clone())
        .expected_diff_id(diff_id.clone())
        .whiteout_mode(WhiteoutMode::Overlay);
    if let Some(c) = desc.media_type.layer_compression() {
        opts.compression(c);
    }
    // unpack() verifies both digests itself while it reads; on any error
    // the temporary directory is dropped and nothing reaches `layers/`.
    layout
        .open_blob(desc, Verification::SizeOnlyUnverified)
        .and_then(|reader| unpack(reader, tmp.path(), &opts))
        .map_err(|e| Error::Layer {
            digest: desc.digest.clone(),
            layout: layout.path().to_owned(),
            source: Box::new(e),
        })?;
    let dir = File::open(tmp.path()).map_err(|e| Error::io("open", tmp.path(), e))?;
    rfs::syncfs(&dir).map_err(|e| Error::io("sync", tmp.path(), e.into()))?;
    let path = tmp.keep();
    std::fs::rename(&path, dest).map_err(|e| Error::io("rename", dest, e))?;
    sync_dir(dest.parent().unwrap_or(store))?;
    tracing::debug!(path = %dest.display(), "layer snapshot committed");
    Ok(())
}

pub(super) fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("chmod", path, e))
}

pub(super) fn sync_dir(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync", path, e))
}

/// The reference file name of an image manifest.
pub(super) fn image_holder(manifest: &Digest) -> Result<String, Error> {
    Ok(format!("image-{}", key(manifest)?))
}

/// The reference file name of a container.
pub(super) fn container_holder(id: &str) -> String {
    format!("container-{id}")
}

/// Removes the reference `holder` from every layer; returns how many.
pub(super) fn drop_refs(store: &Path, holder: &str) -> Result<usize, Error> {
    let mut dropped = 0;
    for dir in list(&store.join("refs"))? {
        let path = dir.join(holder);
        match std::fs::remove_file(&path) {
            Ok(()) => dropped += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path, e)),
        }
    }
    Ok(dropped)
}

/// The entries of a directory, as paths.
pub(super) fn list(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        out.push(
            entry
                .map_err(|e| Error::io("read directory", dir, e))?
                .path(),
        );
    }
    out.sort();
    Ok(out)
}
