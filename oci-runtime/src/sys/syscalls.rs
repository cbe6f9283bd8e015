//! The seam for privileged operations of the container init: the logic in
//! `rootfs` and `process` calls these methods, never the kernel directly,
//! so it is unit-tested with the recording fake in `syscall::fake`.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::sys;
use crate::sys::Insn;

use super::resolve::{parent_in_root, resolve_in};
pub(crate) use super::resolve::{Create, Resolved};

/// Privileged operations the container init performs.
pub(crate) trait Syscalls: fmt::Debug {
    /// Resolves `path` as if `root` were `/`: symlinks and `..` never leave
    /// `root`.
    fn resolve(&self, root: &Path, path: &str, create: Create) -> io::Result<Resolved>;
    /// mount(2); `target` is usually a [`Resolved::path`].
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// Creates a device node at `path` inside `root`.
    fn mknod(&self, root: &Path, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()>;
    /// Changes the owner of `path` inside `root` (not following a final
    /// symlink).
    fn chown(&self, root: &Path, path: &str, uid: u32, gid: u32) -> io::Result<()>;
    /// Creates a symlink at `link` inside `root` pointing to `target`.
    fn symlink(&self, root: &Path, target: &str, link: &str) -> io::Result<()>;
    /// Creates directory `name` in `dir`, a [`Resolved::path`] of a
    /// filesystem the init made itself and nothing else can have touched
    /// (its fresh tmpfs), so no resolution inside the root is needed.
    fn mkdir_in_fresh(&self, dir: &Path, name: &str) -> io::Result<PathBuf>;
    /// Makes `root` the root of the mount namespace with pivot_root(2) and
    /// detaches the old root.
    fn pivot_root(&self, root: &Path) -> io::Result<()>;
    /// Moves `root` over `/` and chroots into it (the `--no-pivot` way).
    fn move_root(&self, root: &Path) -> io::Result<()>;
    /// chroot(2) into `root`, then chdir to `/`: for a container in the
    /// runtime's mount namespace, whose root must not move.
    fn chroot(&self, root: &Path) -> io::Result<()>;
    /// Writes `data` to an existing file (sysctl, oom_score_adj).
    fn write_file(&self, path: &Path, data: &str) -> io::Result<()>;
    /// sethostname(2).
    fn sethostname(&self, name: &str) -> io::Result<()>;
    /// setdomainname(2).
    fn setdomainname(&self, name: &str) -> io::Result<()>;
    /// setrlimit(2) with the resource's kernel number.
    fn setrlimit(&self, resource: i32, soft: u64, hard: u64) -> io::Result<()>;
    /// Removes a capability from the bounding set.
    fn drop_bounding(&self, cap: u8) -> io::Result<()>;
    /// PR_SET_KEEPCAPS, so that changing uid keeps the permitted set.
    fn keep_caps(&self) -> io::Result<()>;
    /// setgroups(2).
    fn setgroups(&self, gids: &[u32]) -> io::Result<()>;
    /// setresgid then setresuid.
    fn set_ids(&self, uid: u32, gid: u32) -> io::Result<()>;
    /// capset(2) with bit masks.
    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()>;
    /// Raises a capability in the ambient set.
    fn raise_ambient(&self, cap: u8) -> io::Result<()>;
    /// PR_SET_NO_NEW_PRIVS.
    fn no_new_privs(&self) -> io::Result<()>;
    /// umask(2).
    fn umask(&self, mask: u32);
    /// chdir(2).
    fn chdir(&self, path: &Path) -> io::Result<()>;
    /// seccomp(2) `SECCOMP_SET_MODE_FILTER` with `flags`; returns the
    /// notify listener when `flags` has `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
    fn seccomp(&self, flags: u32, program: &[Insn]) -> io::Result<Option<OwnedFd>>;
    /// sched_setattr(2) on the calling thread.
    fn sched_setattr(&self, attr: &sys::SchedAttr) -> io::Result<()>;
    /// ioprio_set(2) on the calling process (`class << 13 | level`).
    fn ioprio_set(&self, value: u32) -> io::Result<()>;
    /// personality(2).
    fn personality(&self, persona: u64) -> io::Result<()>;
    /// set_mempolicy(2) with `mode | flags` and a node bit mask.
    fn set_mempolicy(&self, mode: i32, nodes: &[u64]) -> io::Result<()>;
    /// sched_setaffinity(2) of the calling thread to these CPUs.
    fn sched_setaffinity(&self, cpus: &[usize]) -> io::Result<()>;
    /// Attaches the detached mount `tree` (from open_tree(2)) at `target`
    /// with move_mount(2).
    fn attach_tree(&self, tree: std::os::fd::RawFd, target: &Path) -> io::Result<()>;
    /// mount_setattr(2): sets and clears `MOUNT_ATTR_*` bits on the mount at
    /// `target`, and on every mount below it when `recursive`.
    fn mount_setattr(&self, target: &Path, recursive: bool, set: u64, clear: u64)
        -> io::Result<()>;
}

/// The real kernel.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Linux;

impl Syscalls for Linux {
    fn resolve(&self, root: &Path, path: &str, create: Create) -> io::Result<Resolved> {
        resolve_in(root, path, create, 0)
    }

    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()> {
        let mut flags = flags;
        if flags & (MS_BIND | MS_REMOUNT) == MS_BIND | MS_REMOUNT {
            // A bind remount must repeat the flags the kernel locked on the
            // mount (nosuid, nodev, noexec, atime), or it fails with EPERM in
            // a user namespace. The ST_* bits equal the MS_* ones on Linux.
            if let Ok(st) = rustix::fs::statvfs(target) {
                let locked =
                    MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;
                flags |= st.f_flag.bits() & locked;
            }
        }
        sys::mount(source, target, fstype, flags, data)
    }

    fn mknod(&self, root: &Path, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        let (parent, name) = parent_in_root(root, path)?;
        match rustix::fs::unlinkat(&parent, name, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let dir = PathBuf::from(format!("/proc/self/fd/{}/{name}", parent.as_raw_fd()));
        // The mode is exact: no umask (/dev/null must stay 0666).
        let old = rustix::process::umask(Mode::empty());
        let r = sys::mknod(&dir, mode, major, minor);
        rustix::process::umask(old);
        r
    }

    fn chown(&self, root: &Path, path: &str, uid: u32, gid: u32) -> io::Result<()> {
        let (parent, name) = parent_in_root(root, path)?;
        Ok(rustix::fs::chownat(
            &parent,
            name,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )?)
    }

    fn mkdir_in_fresh(&self, dir: &Path, name: &str) -> io::Result<PathBuf> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let path = dir.join(name);
        rustix::fs::mkdir(&path, Mode::from_raw_mode(0o755))?;
        Ok(path)
    }

    fn symlink(&self, root: &Path, target: &str, link: &str) -> io::Result<()> {
        let (parent, name) = parent_in_root(root, link)?;
        match rustix::fs::symlinkat(target, &parent, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn pivot_root(&self, root: &Path) -> io::Result<()> {
        let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
        let new_root = rustix::fs::open(root, flags, Mode::empty())?;
        let old_root = rustix::fs::open("/", flags, Mode::empty())?;
        rustix::process::fchdir(&new_root)?;
        rustix::process::pivot_root(".", ".")?;
        // The old root is now stacked under the new one at ".": make sure
        // unmounting it does not propagate to the host, then detach it.
        rustix::process::fchdir(&old_root)?;
        sys::mount(None, Path::new("."), None, MS_SLAVE | MS_REC, None)?;
        sys::umount2(Path::new("."), libc::MNT_DETACH)?;
        rustix::process::chdir("/")?;
        Ok(())
    }

    fn move_root(&self, root: &Path) -> io::Result<()> {
        rustix::process::chdir(root)?;
        sys::mount(Some(root), Path::new("/"), None, MS_MOVE, None)?;
        rustix::process::chroot(".")?;
        rustix::process::chdir("/")?;
        Ok(())
    }

    fn chroot(&self, root: &Path) -> io::Result<()> {
        rustix::process::chroot(root)?;
        rustix::process::chdir("/")?;
        Ok(())
    }

    fn write_file(&self, path: &Path, data: &str) -> io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(data.as_bytes())
    }

    fn sethostname(&self, name: &str) -> io::Result<()> {
        Ok(rustix::system::sethostname(name.as_bytes())?)
    }

    fn setdomainname(&self, name: &str) -> io::Result<()> {
        Ok(rustix::system::setdomainname(name.as_bytes())?)
    }

    fn setrlimit(&self, resource: i32, soft: u64, hard: u64) -> io::Result<()> {
        sys::setrlimit(resource, soft, hard)
    }

    fn drop_bounding(&self, cap: u8) -> io::Result<()> {
        sys::prctl(libc::PR_CAPBSET_DROP, u64::from(cap), 0)
    }

    fn keep_caps(&self) -> io::Result<()> {
        sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0)
    }

    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        match sys::setgroups(gids) {
            // A user namespace whose gid map an unprivileged user wrote
            // has setgroups(2) disabled: clearing the groups is then
            // impossible, and unneeded (they are unmapped already).
            Err(e)
                if e.raw_os_error() == Some(libc::EPERM)
                    && gids.is_empty()
                    && std::fs::read_to_string("/proc/self/setgroups")
                        .is_ok_and(|s| s.trim() == "deny") =>
            {
                Ok(())
            }
            r => r,
        }
    }

    fn set_ids(&self, uid: u32, gid: u32) -> io::Result<()> {
        sys::set_ids(uid, gid)
    }

    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
        use rustix::thread::{CapabilitySet, CapabilitySets};
        Ok(rustix::thread::set_capabilities(
            None,
            CapabilitySets {
                effective: CapabilitySet::from_bits_retain(effective),
                permitted: CapabilitySet::from_bits_retain(permitted),
                inheritable: CapabilitySet::from_bits_retain(inheritable),
            },
        )?)
    }

    fn raise_ambient(&self, cap: u8) -> io::Result<()> {
        sys::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as u64,
            u64::from(cap),
        )
    }

    fn no_new_privs(&self) -> io::Result<()> {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
    }

    fn umask(&self, mask: u32) {
        sys::umask(mask);
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        rustix::process::chdir(path)?;
        // A path through a magic link (/proc/self/fd/N) can leave the root
        // (CVE-2024-21626): getcwd(3) fails with ENOENT for a directory
        // not reachable from the root, and then the user program must not
        // start there.
        // A seccomp profile installed before this step may refuse getcwd
        // itself; then walk up from "." looking for the root instead.
        let outside = match std::env::current_dir() {
            Ok(cwd) => !cwd.is_absolute(),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => true,
            Err(_) => !cwd_reaches_root()?,
        };
        if outside {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "working directory is outside the container's root",
            ))
        } else {
            Ok(())
        }
    }

    fn seccomp(&self, flags: u32, program: &[Insn]) -> io::Result<Option<OwnedFd>> {
        let filter: Vec<libc::sock_filter> = program
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        sys::seccomp_set_filter(flags, &filter)
    }

    fn sched_setattr(&self, attr: &sys::SchedAttr) -> io::Result<()> {
        sys::sched_setattr(attr)
    }

    fn ioprio_set(&self, value: u32) -> io::Result<()> {
        sys::ioprio_set(value)
    }

    fn personality(&self, persona: u64) -> io::Result<()> {
        sys::personality(persona)
    }

    fn set_mempolicy(&self, mode: i32, nodes: &[u64]) -> io::Result<()> {
        sys::set_mempolicy(mode, nodes)
    }

    fn sched_setaffinity(&self, cpus: &[usize]) -> io::Result<()> {
        let mut set = rustix::thread::CpuSet::new();
        for &cpu in cpus {
            if cpu >= rustix::thread::CpuSet::MAX_CPU {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            set.set(cpu);
        }
        Ok(rustix::thread::sched_setaffinity(None, &set)?)
    }

    fn attach_tree(&self, tree: std::os::fd::RawFd, target: &Path) -> io::Result<()> {
        sys::move_mount_tree(tree, target)
    }

    fn mount_setattr(
        &self,
        target: &Path,
        recursive: bool,
        set: u64,
        clear: u64,
    ) -> io::Result<()> {
        sys::mount_setattr_path(target, recursive, set, clear)
    }
}

// mount(2) flags, as u64 so they combine without casts.
pub(crate) const MS_RDONLY: u64 = libc::MS_RDONLY;

pub(crate) const MS_NOSUID: u64 = libc::MS_NOSUID;

pub(crate) const MS_NODEV: u64 = libc::MS_NODEV;

pub(crate) const MS_NOEXEC: u64 = libc::MS_NOEXEC;

pub(crate) const MS_SYNCHRONOUS: u64 = libc::MS_SYNCHRONOUS;

pub(crate) const MS_REMOUNT: u64 = libc::MS_REMOUNT;

pub(crate) const MS_MANDLOCK: u64 = libc::MS_MANDLOCK;

pub(crate) const MS_DIRSYNC: u64 = libc::MS_DIRSYNC;

pub(crate) const MS_NOATIME: u64 = libc::MS_NOATIME;

pub(crate) const MS_NODIRATIME: u64 = libc::MS_NODIRATIME;

pub(crate) const MS_BIND: u64 = libc::MS_BIND;

pub(crate) const MS_MOVE: u64 = libc::MS_MOVE;

pub(crate) const MS_REC: u64 = libc::MS_REC;

pub(crate) const MS_UNBINDABLE: u64 = libc::MS_UNBINDABLE;

pub(crate) const MS_PRIVATE: u64 = libc::MS_PRIVATE;

pub(crate) const MS_SLAVE: u64 = libc::MS_SLAVE;

pub(crate) const MS_SHARED: u64 = libc::MS_SHARED;

pub(crate) const MS_RELATIME: u64 = libc::MS_RELATIME;

pub(crate) const MS_STRICTATIME: u64 = libc::MS_STRICTATIME;

/// Whether walking up from the working directory through `..` meets the
/// root: `..` stops at the root of a chroot or pivot_root, so a directory
/// outside it climbs instead to a top (its own `..`) that is not our `/`.
fn cwd_reaches_root() -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let id = |m: std::fs::Metadata| (m.dev(), m.ino());
    let root = id(std::fs::metadata("/")?);
    let mut dir = PathBuf::from(".");
    // PATH_MAX bounds the depth the kernel lets us name.
    for _ in 0..1024 {
        let here = id(std::fs::metadata(&dir)?);
        if here == root {
            return Ok(true);
        }
        dir.push("..");
        if id(std::fs::metadata(&dir)?) == here {
            return Ok(false);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cwd_below_the_root_reaches_it() {
        assert!(super::cwd_reaches_root().unwrap());
    }
}
