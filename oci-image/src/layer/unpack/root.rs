//! A directory handle for a root, and path resolution that cannot leave it.
//!
//! Every parent directory is resolved with `openat2(RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)` relative to the root's handle: `..`, absolute
//! symlinks and symlinks climbing out are all clamped to the root by the
//! kernel. The final component is then handled with `*at` calls that never
//! follow it.
//!
//! A path the kernel cannot take in one call (`PATH_MAX`, 4,096 bytes with
//! its NUL) is walked in pieces below that size instead, each resolved from
//! the directory reached so far with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`. A piece that meets a symlink is walked one
//! component at a time, and the symlink is followed here, as
//! `RESOLVE_IN_ROOT` would: its target is taken from the root when
//! absolute, from the directory holding it otherwise, with `..` stopping at
//! the root; the walk then starts again from the root's handle. So no
//! piece can leave the root, whatever a later piece holds.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::layer::dir::list_dir;
use crate::layer::os;
use crate::Error;

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// How one piece of a long path is resolved: never above the directory it
/// starts from, and no symlink followed by the kernel.
const PIECE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// The kernel's limit on a path given to one call, NUL included.
const PATH_MAX: usize = 4096;

/// The most bytes of a path resolved in one call when walking a long path.
const MAX_PIECE: usize = 3072;

/// Symlinks followed while walking a long path before giving up with
/// `ELOOP`, as the kernel does.
const MAX_SYMLINKS: u32 = 40;

/// `openat2`, retried when the kernel asks (a rename raced the lookup).
fn openat2_retry(
    dir: impl AsFd,
    path: &[u8],
    flags: OFlags,
    resolve: ResolveFlags,
) -> rustix::io::Result<OwnedFd> {
    let dir = dir.as_fd();
    let mut tries = 0;
    loop {
        match rfs::openat2(
            dir,
            os(path),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            resolve,
        ) {
            Err(Errno::AGAIN) if tries < 16 => tries += 1,
            r => return r,
        }
    }
}

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
        if path.len() < PATH_MAX {
            return openat2_retry(self.fd.as_fd(), path, flags, RESOLVE);
        }
        self.resolve_long(path, flags)
    }

    fn open_self(&self) -> rustix::io::Result<OwnedFd> {
        rfs::openat(
            self.fd.as_fd(),
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    }

    /// [`Root::resolve`] for a path too long for one call: pieces below
    /// `MAX_PIECE` bytes, symlinks followed here (see the module docs).
    fn resolve_long(&self, path: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let mut todo: VecDeque<Vec<u8>> = components(path).collect();
        // The components of `dir`'s path from the root, no symlink among them.
        let mut here: Vec<Vec<u8>> = Vec::new();
        let mut dir = self.open_self()?;
        let mut links = 0;
        let step = |last: bool| {
            if last {
                flags
            } else {
                OFlags::PATH | OFlags::DIRECTORY
            }
        };
        'walk: while !todo.is_empty() {
            let mut n = 0;
            let mut len = 0;
            for c in &todo {
                let add = c.len() + usize::from(n > 0);
                if n > 0 && len + add > MAX_PIECE {
                    break;
                }
                len += add;
                n += 1;
            }
            let last = n == todo.len();
            if !todo.iter().take(n).any(|c| c == b"..") {
                let piece = todo.iter().take(n).cloned().collect::<Vec<_>>().join(&b'/');
                match openat2_retry(&dir, &piece, step(last), PIECE) {
                    Ok(fd) if last => return Ok(fd),
                    Ok(fd) => {
                        here.extend(todo.drain(..n));
                        dir = fd;
                        continue;
                    }
                    // A symlink in the piece: walk it component by component.
                    Err(Errno::LOOP) => {}
                    Err(e) => return Err(e),
                }
            }
            for _ in 0..n {
                let name = todo.pop_front().expect("n components are left");
                let last = todo.is_empty();
                let restart = if name == b".." {
                    // The parent: walk again from the root (clamped there).
                    here.pop();
                    Vec::new()
                } else {
                    match openat2_retry(&dir, &name, step(last), PIECE) {
                        Ok(fd) if last => return Ok(fd),
                        Ok(fd) => {
                            here.push(name);
                            dir = fd;
                            continue;
                        }
                        // O_NOFOLLOW on the last component: the kernel's ELOOP.
                        Err(Errno::LOOP) if last && flags.contains(OFlags::NOFOLLOW) => {
                            return Err(Errno::LOOP)
                        }
                        Err(Errno::LOOP) => {
                            let target = match rfs::readlinkat(&dir, os(&name), Vec::new()) {
                                Ok(t) => t.into_bytes(),
                                // Not a symlink: the kernel's own ELOOP.
                                Err(Errno::INVAL) => return Err(Errno::LOOP),
                                Err(e) => return Err(e),
                            };
                            links += 1;
                            if links > MAX_SYMLINKS {
                                return Err(Errno::LOOP);
                            }
                            if target.starts_with(b"/") {
                                here.clear();
                            }
                            // `..` in the target is walked, not cleaned away:
                            // it must climb from where the symlinks before it
                            // really lead.
                            components(&target).collect()
                        }
                        Err(e) => return Err(e),
                    }
                };
                // Start again from the root: `here`, then `restart`, then
                // what is left.
                let rest = std::mem::take(&mut todo);
                todo = here.drain(..).chain(restart).chain(rest).collect();
                dir = self.open_self()?;
                continue 'walk;
            }
        }
        // The path named the root itself (a symlink to `/`, say).
        rfs::openat(self.fd.as_fd(), ".", flags | OFlags::CLOEXEC, Mode::empty())
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

/// The components of a path, without empty ones and `.`.
fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
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
