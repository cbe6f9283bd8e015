//! A directory handle for a root, and path resolution that cannot leave it.
//!
//! Every parent directory is resolved with `openat2(RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)` relative to the root's handle: `..`, absolute
//! symlinks and symlinks climbing out are all clamped to the root by the
//! kernel. The final component is then handled with `*at` calls that never
//! follow it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::os;
use crate::Error;

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// A root directory opened once, with a one-entry cache of the last parent
/// directory resolved (layers list siblings together).
pub(crate) struct Root {
    fd: Rc<OwnedFd>,
    path: PathBuf,
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
}

impl Root {
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let fd = rfs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("open root", path, e.into()))?;
        Ok(Root {
            fd: Rc::new(fd),
            path: path.to_owned(),
            cache: None,
        })
    }

    /// A path for error messages: the root joined with an entry's path.
    /// Only ever displayed, never opened.
    pub(crate) fn display(&self, rel: &[u8]) -> PathBuf {
        self.path.join(os(rel))
    }

    /// Must be called after anything was removed or replaced: a cached
    /// directory may no longer be what its path names.
    pub(crate) fn invalidate(&mut self) {
        self.cache = None;
    }

    /// Opens the directory at `path` (cleaned, relative) inside the root,
    /// following symlinks only within the root.
    pub(crate) fn resolve_dir(&self, path: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
        if path.is_empty() {
            return rfs::openat(
                self.fd.as_fd(),
                ".",
                flags | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
        }
        self.resolve(path, flags | OFlags::DIRECTORY)
    }

    /// Opens `path` (relative) inside the root with `flags`, following
    /// symlinks only within the root: the one confined resolver that
    /// unpacking and bundle creation share.
    pub(crate) fn resolve(&self, path: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let mut tries = 0;
        loop {
            match rfs::openat2(
                self.fd.as_fd(),
                os(path),
                flags | OFlags::CLOEXEC,
                Mode::empty(),
                RESOLVE,
            ) {
                // The kernel asks for a retry when a rename raced the lookup.
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                r => return r,
            }
        }
    }

    /// The directory that holds entries of `parent`, created (mode 0755)
    /// along with its missing ancestors when absent.
    pub(crate) fn parent(&mut self, parent: &[u8]) -> Result<Rc<OwnedFd>, Error> {
        if parent.is_empty() {
            return Ok(self.fd.clone());
        }
        if let Some((p, fd)) = &self.cache {
            if p == parent {
                return Ok(fd.clone());
            }
        }
        let fd = match self.resolve_dir(parent, OFlags::PATH) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => self.create_dirs(parent)?,
            Err(e) => return Err(Error::io("open directory", self.display(parent), e.into())),
        };
        let fd = Rc::new(fd);
        self.cache = Some((parent.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn create_dirs(&self, path: &[u8]) -> Result<OwnedFd, Error> {
        let mut current = rfs::openat(
            self.fd.as_fd(),
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("open root", &self.path, e.into()))?;
        let mut end = 0;
        while end < path.len() {
            let start = if end == 0 { 0 } else { end + 1 };
            end = path[start..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(path.len(), |i| start + i);
            let prefix = &path[..end];
            let name = &path[start..end];
            current = match self.resolve_dir(prefix, OFlags::PATH) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    tracing::trace!(dir = %String::from_utf8_lossy(prefix), "creating missing parent");
                    match rfs::mkdirat(current.as_fd(), os(name), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(Error::io("mkdir", self.display(prefix), e.into())),
                    }
                    self.resolve_dir(prefix, OFlags::PATH)
                        .map_err(|e| Error::io("open directory", self.display(prefix), e.into()))?
                }
                Err(e) => return Err(Error::io("open directory", self.display(prefix), e.into())),
            };
        }
        Ok(current)
    }
}

/// Removes `name` in `dir`, whatever it is; a directory goes with all it
/// holds. Never follows a symlink. A missing `name` is not an error.
pub(crate) fn remove_any(dir: impl AsFd, name: &[u8]) -> rustix::io::Result<()> {
    let dir = dir.as_fd();
    match rfs::unlinkat(dir, os(name), AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) => remove_tree(dir, name),
        Err(e) => Err(e),
    }
}

/// Removes the directory `name` in `dir` and everything below it, through
/// directory handles opened with `O_NOFOLLOW`.
pub(crate) fn remove_tree(dir: impl AsFd, name: &[u8]) -> rustix::io::Result<()> {
    let dir = dir.as_fd();
    let fd = rfs::openat(
        dir,
        os(name),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for child in list_dir(&fd)? {
        remove_any(&fd, &child)?;
    }
    match rfs::unlinkat(dir, os(name), AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The names in a directory, without `.` and `..`, in directory order.
pub(crate) fn list_dir(fd: impl AsFd) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for entry in rfs::Dir::read_from(fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(name.to_vec());
        }
    }
    Ok(out)
}
