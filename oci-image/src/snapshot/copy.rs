//! The copy fallback: a layer directory (overlay whiteout format) copied
//! onto a container root, whiteouts and opaque directories applied, as
//! overlayfs would have shown it.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat, Timespec, Timestamps};
use rustix::io::Errno;

use crate::layer::{is_overlay_xattr, list_dir, opaque_xattr, os, remove_any, xattrs};
use crate::Error;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Copies the layer directory `src` onto `dest`. Every path below `dest`
/// is reached from a directory handle without following symlinks, so a
/// symlink a lower layer left is replaced, never written through.
pub(super) fn copy_layer(src: &Path, dest: &Path, rootless: bool) -> Result<(), Error> {
    let open = |p: &Path| {
        rfs::open(p, DIR_FLAGS, Mode::empty()).map_err(|e| Error::io("open", p, e.into()))
    };
    let mut copy = Copy {
        rootless,
        links: HashMap::new(),
        src: src.to_owned(),
        dest: dest.to_owned(),
    };
    let (s, d) = (open(src)?, Rc::new(open(dest)?));
    copy.dir(&s, &d, &mut PathBuf::new())?;
    let st = rfs::fstat(&s).map_err(|e| copy.err("stat", Path::new(""), e))?;
    copy.attributes(&d, &s, &st, Path::new(""))
}

struct Copy {
    rootless: bool,
    /// Hard links: the first copy of each multiply linked source file.
    links: HashMap<(u64, u64), (Rc<OwnedFd>, Vec<u8>)>,
    src: PathBuf,
    dest: PathBuf,
}

fn is_opaque(fd: &OwnedFd) -> bool {
    let mut v = [0u8; 2];
    [opaque_xattr(false), opaque_xattr(true)]
        .iter()
        .any(|name| matches!(rfs::fgetxattr(fd, *name, &mut v[..]), Ok(1) if v[0] == b'y'))
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

impl Copy {
    fn err(&self, op: &'static str, rel: &Path, e: Errno) -> Error {
        Error::io(op, self.dest.join(rel), e.into())
    }

    fn dir(&mut self, src: &OwnedFd, dest: &Rc<OwnedFd>, rel: &mut PathBuf) -> Result<(), Error> {
        let names = list_dir(src)
            .map_err(|e| Error::io("read directory", self.src.join(&*rel), e.into()))?;
        for name in names {
            rel.push(os(&name));
            self.entry(src, dest, &name, rel)?;
            rel.pop();
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: &OwnedFd,
        dest: &Rc<OwnedFd>,
        name: &[u8],
        rel: &mut PathBuf,
    ) -> Result<(), Error> {
        let st = rfs::statat(src, os(name), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| Error::io("stat", self.src.join(&*rel), e.into()))?;
        let ft = FileType::from_raw_mode(st.st_mode);
        let existing = match rfs::statat(dest.as_fd(), os(name), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(d) => Some(FileType::from_raw_mode(d.st_mode)),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(self.err("stat", rel, e)),
        };
        let whiteout = ft == FileType::CharacterDevice && st.st_rdev == 0;
        let sfd = match ft {
            FileType::Directory => Some(
                rfs::openat(src, os(name), DIR_FLAGS, Mode::empty())
                    .map_err(|e| Error::io("open", self.src.join(&*rel), e.into()))?,
            ),
            _ => None,
        };
        let keep_dir = existing == Some(FileType::Directory)
            && ft == FileType::Directory
            && !sfd.as_ref().is_some_and(is_opaque);
        if existing.is_some() && !keep_dir {
            remove_any(dest.as_fd(), name).map_err(|e| self.err("remove", rel, e))?;
        }
        if whiteout {
            return Ok(());
        }
        let d = dest.as_fd();
        match ft {
            FileType::Directory => {
                let sfd = sfd.expect("opened above");
                if !keep_dir {
                    rfs::mkdirat(d, os(name), Mode::from_raw_mode(0o700))
                        .map_err(|e| self.err("mkdir", rel, e))?;
                }
                let dfd = Rc::new(
                    rfs::openat(d, os(name), DIR_FLAGS, Mode::empty())
                        .map_err(|e| self.err("open", rel, e))?,
                );
                self.dir(&sfd, &dfd, rel)?;
                self.attributes(&dfd, &sfd, &st, rel)
            }
            FileType::RegularFile => self.file(src, dest, name, &st, rel),
            FileType::Symlink => {
                let target = rfs::readlinkat(src, os(name), Vec::new())
                    .map_err(|e| Error::io("read link", self.src.join(&*rel), e.into()))?;
                rfs::symlinkat(target.as_c_str(), d, os(name))
                    .map_err(|e| self.err("symlink", rel, e))?;
                self.owner_at(d, name, &st, rel)?;
                rfs::utimensat(d, os(name), &times(&st), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| self.err("set times", rel, e))
            }
            FileType::Socket => {
                tracing::warn!(path = %rel.display(), "skipping a socket");
                Ok(())
            }
            _ => {
                match rfs::mknodat(d, os(name), ft, Mode::from_raw_mode(0o600), st.st_rdev) {
                    Ok(()) => {}
                    Err(Errno::PERM) if self.rootless => {
                        tracing::warn!(path = %rel.display(), "skipping a device node (rootless)");
                        return Ok(());
                    }
                    Err(e) => return Err(self.err("mknod", rel, e)),
                }
                self.owner_at(d, name, &st, rel)?;
                rfs::chmodat(
                    d,
                    os(name),
                    Mode::from_raw_mode(st.st_mode & 0o7777),
                    AtFlags::empty(),
                )
                .map_err(|e| self.err("chmod", rel, e))?;
                rfs::utimensat(d, os(name), &times(&st), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| self.err("set times", rel, e))
            }
        }
    }

    fn file(
        &mut self,
        src: &OwnedFd,
        dest: &Rc<OwnedFd>,
        name: &[u8],
        st: &Stat,
        rel: &Path,
    ) -> Result<(), Error> {
        let id = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some((dir, first)) = self.links.get(&id) {
                return rfs::linkat(
                    dir.as_fd(),
                    os(first),
                    dest.as_fd(),
                    os(name),
                    AtFlags::empty(),
                )
                .map_err(|e| self.err("link", rel, e));
            }
        }
        let sfd = rfs::openat(
            src,
            os(name),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("open", self.src.join(rel), e.into()))?;
        let dfd = rfs::openat(
            dest.as_fd(),
            os(name),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.err("create", rel, e))?;
        let (mut from, mut to) = (File::from(sfd), File::from(dfd));
        std::io::copy(&mut from, &mut to).map_err(|e| Error::io("copy", self.dest.join(rel), e))?;
        let (sfd, dfd) = (OwnedFd::from(from), OwnedFd::from(to));
        self.attributes(&dfd, &sfd, st, rel)?;
        if st.st_nlink > 1 {
            self.links.insert(id, (dest.clone(), name.to_vec()));
        }
        Ok(())
    }

    /// Owner, extended attributes (overlayfs' own left out), mode and
    /// times of `src` onto `dest`, in that order (chown clears set-id
    /// bits).
    fn attributes(
        &self,
        dest: &OwnedFd,
        src: &OwnedFd,
        st: &Stat,
        rel: &Path,
    ) -> Result<(), Error> {
        if !self.rootless {
            rfs::fchown(
                dest,
                Some(rfs::Uid::from_raw(st.st_uid)),
                Some(rfs::Gid::from_raw(st.st_gid)),
            )
            .map_err(|e| self.err("chown", rel, e))?;
        }
        let list =
            xattrs(src).map_err(|e| Error::io("read xattrs", self.src.join(rel), e.into()))?;
        for (key, value) in list.iter().filter(|(k, _)| !is_overlay_xattr(k)) {
            match rfs::fsetxattr(dest, os(key), value, rfs::XattrFlags::empty()) {
                Ok(()) => {}
                Err(e @ (Errno::PERM | Errno::OPNOTSUPP | Errno::ACCESS)) if self.rootless => {
                    tracing::warn!(path = %rel.display(), error = %e, "skipping an extended attribute");
                }
                Err(e) => return Err(self.err("setxattr", rel, e)),
            }
        }
        rfs::fchmod(dest, Mode::from_raw_mode(st.st_mode & 0o7777))
            .map_err(|e| self.err("chmod", rel, e))?;
        rfs::futimens(dest, &times(st)).map_err(|e| self.err("set times", rel, e))
    }

    fn owner_at(&self, dir: impl AsFd, name: &[u8], st: &Stat, rel: &Path) -> Result<(), Error> {
        if self.rootless {
            return Ok(());
        }
        rfs::chownat(
            dir,
            os(name),
            Some(rfs::Uid::from_raw(st.st_uid)),
            Some(rfs::Gid::from_raw(st.st_gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| self.err("chown", rel, e))
    }
}
