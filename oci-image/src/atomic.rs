//! Atomic file replacement: the one way ocikit puts a file in place
//! (blobs, `index.json`, a bundle's `config.json`, pulled artifact files).
//!
//! Content goes to a temp file with a random name in a directory on the
//! same filesystem (created exclusively, so a name planted by someone else
//! is never followed), is synced, and renamed over the destination; the
//! directory is synced afterwards. Readers see the old file or the new
//! one, never a part. A temp file that is not renamed is removed when it
//! is dropped; a crash leaves at most that temp file.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::Error;

/// A new temp file in `dir` (created if missing), named unpredictably,
/// with the mode any new file gets (0666 less the umask), since it
/// becomes a blob or a file other tools read.
pub(crate) fn temp_file_in(dir: &Path) -> Result<NamedTempFile, Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let builder = || {
        tempfile::Builder::new()
            .prefix(".ocikit-")
            .rand_bytes(16)
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
    };
    match builder() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_last_dir(dir)?;
            builder().map_err(|e| Error::io("create temp file in", dir, e))
        }
        Err(e) => Err(Error::io("create temp file in", dir, e)),
    }
}

/// Creates `dir` if it is missing, but not its parents: a write into a
/// layout or bundle someone removed meanwhile (a failed pull cleaning up
/// while a blob writer ends) fails instead of bringing the tree back.
fn create_last_dir(dir: &Path) -> Result<(), Error> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("create directory", dir, e)),
    }
}

/// Syncs `tmp` and renames it to `dest` (creating `dest`'s directory, not
/// its parents),
/// then syncs that directory.
pub(crate) fn persist(tmp: NamedTempFile, dest: &Path) -> Result<(), Error> {
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("sync", tmp.path(), e))?;
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        create_last_dir(parent)?;
    }
    tmp.persist(dest)
        .map_err(|e| Error::io("rename into", dest, e.error))?;
    if let Some(parent) = parent {
        // Makes the rename durable; a failure here is not worth failing
        // the write, which is complete.
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` to `dest` atomically, staging in `tmp_dir` (same
/// filesystem as `dest`).
pub(crate) fn write_in(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = temp_file_in(tmp_dir)?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    persist(tmp, dest)
}

fn parent_of(dest: &Path) -> &Path {
    dest.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `bytes` to `dest` atomically: a temp file with a random name in
/// `dest`'s directory, synced, then renamed over `dest`.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("config.json");
/// ocikit_image::write_atomic(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`]; `dest` is then unchanged.
pub fn write_atomic(dest: impl AsRef<Path>, bytes: &[u8]) -> Result<(), Error> {
    let dest = dest.as_ref();
    write_in(parent_of(dest), dest, bytes)
}

/// Puts the content of the file `src` at `dest` atomically, without
/// copying where the filesystem allows: a hard link under a random temp
/// name in `dest`'s directory (a copy when links are refused, such as
/// across filesystems), renamed over `dest`. `src` stays where it is.
///
/// # Errors
/// [`Error::Io`]; `dest` is then unchanged.
pub fn install_file(src: impl AsRef<Path>, dest: impl AsRef<Path>) -> Result<(), Error> {
    let (src, dest) = (src.as_ref(), dest.as_ref());
    let tmp = temp_file_in(parent_of(dest))?;
    // Replace the empty temp file by a link to `src`; the temp name stays
    // ours (created exclusively, removed on drop if anything fails).
    let linked = fs::remove_file(tmp.path()).and_then(|()| fs::hard_link(src, tmp.path()));
    if linked.is_err() {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp.path())
            .map_err(|e| Error::io("create", tmp.path(), e))?;
        let mut input = File::open(src).map_err(|e| Error::io("open", src, e))?;
        std::io::copy(&mut input, &mut out)
            .and_then(|_| out.sync_all())
            .map_err(|e| Error::io("copy into", tmp.path(), e))?;
    }
    let tmp_path = tmp.path().to_owned();
    persist(tmp, dest)?;
    // rename(2) does nothing when both names are links to one file (dest
    // already was this content): the temp name is then left to remove.
    match fs::remove_file(&tmp_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", tmp_path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_install_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        write_atomic(&dest, b"one").unwrap();
        write_atomic(&dest, b"two").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        let copy = dir.path().join("sub").join("g");
        fs::create_dir(dir.path().join("sub")).unwrap();
        install_file(&dest, &copy).unwrap();
        install_file(&dest, &copy).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), b"two");
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        // The mode of any new file, not the private 0600 of temp files.
        use std::os::unix::fs::PermissionsExt as _;
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest), mode(&plain));
        assert_eq!(mode(&copy), mode(&plain));
        fs::remove_file(&plain).unwrap();
        // Nothing but the two files is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }
}
