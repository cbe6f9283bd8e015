//! Paths inside a root, resolved without leaving it: the one confined
//! resolver (openat2(2)) that the rootfs setup and the security labels
//! use.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// Whether [`Syscalls::resolve`](super::syscalls::Syscalls::resolve) creates what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// The path must exist.
    No,
    /// Create missing directories, the last one included.
    Dir,
    /// Create missing parent directories and an empty file as the last
    /// component.
    File,
}

/// A path inside a root, resolved without leaving it, held open.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// A path the kernel resolves to the opened file: `/proc/self/fd/N`
    /// (or a plain path in the fake).
    pub(crate) path: PathBuf,
    /// Whether it is a directory.
    pub(crate) is_dir: bool,
    _fd: Option<OwnedFd>,
}

impl Resolved {
    #[cfg(test)]
    pub(crate) fn plain(path: PathBuf, is_dir: bool) -> Self {
        Resolved {
            path,
            is_dir,
            _fd: None,
        }
    }
}

fn open_root(root: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// How far a path opened by [`open_in`] may reach from its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confine {
    /// As if the directory were `/`: symlinks and `..` never leave it (a
    /// container's rootfs).
    Root,
    /// Never onto another mount (a handle on the host's procfs, where a
    /// mount inside the container must not redirect a write).
    Mount,
}

/// The one confined path resolver: opens `rel` below `dir` with
/// openat2(2), magic links (`/proc/self/fd/N` and the like) refused, and
/// `confine` limiting where symlinks and `..` may lead.
pub(crate) fn open_in(
    dir: impl AsFd,
    rel: &str,
    flags: OFlags,
    confine: Confine,
) -> io::Result<OwnedFd> {
    let rel = if rel.is_empty() { "." } else { rel };
    let resolve = ResolveFlags::NO_MAGICLINKS
        | match confine {
            Confine::Root => ResolveFlags::IN_ROOT,
            Confine::Mount => ResolveFlags::NO_XDEV,
        };
    Ok(rustix::fs::openat2(
        dir,
        rel,
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )?)
}

fn in_root(root: &OwnedFd, rel: &str) -> io::Result<OwnedFd> {
    open_in(root, rel, OFlags::PATH, Confine::Root)
}

fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn is_dir_fd(fd: &OwnedFd) -> io::Result<bool> {
    let st = rustix::fs::fstat(fd)?;
    Ok(rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory)
}

/// The path's components with `.` dropped and `..` applied lexically,
/// never above the root.
fn components(path: &str) -> Vec<&str> {
    let mut comps = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                comps.pop();
            }
            c => comps.push(c),
        }
    }
    comps
}

/// Opens the parent directory of `path` inside `root` (creating it) and
/// returns it with the last component's name.
pub(super) fn parent_in_root<'a>(root: &Path, path: &'a str) -> io::Result<(OwnedFd, &'a str)> {
    let comps = components(path);
    let Some((name, parents)) = comps.split_last() else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    let parent = resolve_in(root, &parents.join("/"), Create::Dir, 0)?;
    let fd = parent
        ._fd
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))?;
    Ok((fd, name))
}

/// [`Syscalls::resolve`](super::syscalls::Syscalls::resolve) for the real kernel. Missing components are
/// created one at a time relative to the already resolved parent; a
/// dangling symlink met on the way is followed *inside* the root (its
/// target is resolved again from the root), up to 40 links.
pub(super) fn resolve_in(
    root: &Path,
    path: &str,
    create: Create,
    depth: u32,
) -> io::Result<Resolved> {
    let root_fd = open_root(root)?;
    let comps = components(path);
    let rel = comps.join("/");
    match in_root(&root_fd, &rel) {
        Ok(fd) => {
            return Ok(Resolved {
                path: fd_path(&fd),
                is_dir: is_dir_fd(&fd)?,
                _fd: Some(fd),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && create != Create::No => {}
        Err(e) => return Err(e),
    }
    let mut parent = rustix::io::dup(&root_fd)?;
    for (i, name) in comps.iter().enumerate() {
        let prefix = comps[..=i].join("/");
        let fd = match in_root(&root_fd, &prefix) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Ok(link) = rustix::fs::readlinkat(&parent, *name, Vec::new()) {
                    if depth >= 40 {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let link = link.to_string_lossy().into_owned();
                    let base = if link.starts_with('/') {
                        String::new()
                    } else {
                        comps[..i].join("/")
                    };
                    let rest = comps[i + 1..].join("/");
                    return resolve_in(root, &format!("{base}/{link}/{rest}"), create, depth + 1);
                }
                let last = i + 1 == comps.len();
                if last && create == Create::File {
                    let dir = rustix::fs::openat(
                        &parent,
                        ".",
                        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    drop(rustix::fs::openat(
                        &dir,
                        *name,
                        OFlags::CREATE
                            | OFlags::EXCL
                            | OFlags::WRONLY
                            | OFlags::CLOEXEC
                            | OFlags::NOFOLLOW,
                        Mode::from_raw_mode(0o644),
                    )?);
                } else {
                    match rustix::fs::mkdirat(&parent, *name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                in_root(&root_fd, &prefix)?
            }
            Err(e) => return Err(e),
        };
        parent = fd;
    }
    Ok(Resolved {
        path: fd_path(&parent),
        is_dir: is_dir_fd(&parent)?,
        _fd: Some(parent),
    })
}
