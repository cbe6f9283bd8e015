//! The only module with `unsafe` code: thin wrappers over system calls
//! that neither rustix nor std offers in the shape the engine needs.
//!
//! Each wrapper converts its arguments to C strings before the call and
//! reports failure as `std::io::Error` from `errno`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// mount(2).
pub(crate) fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(|s| cstr(s.as_os_str().as_bytes())).transpose()?;
    let target = cstr(target.as_os_str().as_bytes())?;
    let fstype = fstype.map(|s| cstr(s.as_bytes())).transpose()?;
    let data = data.map(|s| cstr(s.as_bytes())).transpose()?;
    // SAFETY: every pointer is either null or points to a NUL-terminated
    // CString that outlives the call; mount(2) only reads them.
    let rc = unsafe {
        libc::mount(
            source.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags as libc::c_ulong,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr().cast::<libc::c_void>()),
        )
    };
    check(rc)
}

/// umount2(2).
pub(crate) fn umount2(target: &Path, flags: i32) -> io::Result<()> {
    let target = cstr(target.as_os_str().as_bytes())?;
    // SAFETY: `target` is a valid NUL-terminated string for the call.
    check(unsafe { libc::umount2(target.as_ptr(), flags) })
}

/// mknod(2).
pub(crate) fn mknod(path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let path = cstr(path.as_os_str().as_bytes())?;
    let dev = libc::makedev(major, minor);
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    check(unsafe { libc::mknod(path.as_ptr(), mode as libc::mode_t, dev) })
}

/// Result of [`clone_process`] as seen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forked {
    /// In the parent, with the child's pid.
    Parent(i32),
    /// In the new child.
    Child,
}

/// clone(2) without a new stack, as fork(2) does, with namespace and
/// `CLONE_PARENT` flags.
///
/// # Safety
/// The calling process must be single-threaded: the child continues
/// running Rust code (allocating, locking) after the call, which is only
/// sound when no other thread could have held a lock at the time of the
/// clone. The engine calls this only from the freshly exec'd init helper.
pub(crate) unsafe fn clone_process(flags: u64) -> io::Result<Forked> {
    // SAFETY: a raw clone with a null stack duplicates the address space
    // like fork(2); the caller guarantees that no other thread exists.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD as u64) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}

/// Makes `command` hand `fd` to its child as descriptor `target`, and keep
/// descriptors `3..target` (the preserved ones) open across exec.
///
/// The closure runs between fork and exec in the child of a possibly
/// multi-threaded process, so it calls only `dup2` and `fcntl`, which are
/// async-signal-safe, and allocates nothing.
pub(crate) fn pass_fd(command: &mut Command, fd: RawFd, target: RawFd) {
    let hook = move || -> io::Result<()> {
        let mut f = 3;
        while f < target {
            // SAFETY: fcntl on an integer fd has no memory effects; a closed
            // fd just fails with EBADF, which is ignored.
            unsafe {
                let flags = libc::fcntl(f, libc::F_GETFD);
                if flags >= 0 {
                    libc::fcntl(f, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                }
            }
            f += 1;
        }
        if fd == target {
            // SAFETY: as above; clears close-on-exec on our own descriptor.
            check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })
        } else {
            // SAFETY: dup2 between two integer fds; the new fd has no
            // close-on-exec flag, which is what we want.
            check(unsafe { libc::dup2(fd, target) })
        }
    };
    // SAFETY: the hook is async-signal-safe (see above).
    unsafe {
        command.pre_exec(hook);
    }
}

/// Makes `command`'s child run on `cpus` (sched_setaffinity(2)) from
/// before it execs, so the affinity holds from the process's first
/// instruction (`process.execCPUAffinity.initial`).
///
/// The set is built here; the hook between fork and exec makes only the
/// system call, which is async-signal-safe, and allocates nothing.
pub(crate) fn affinity_before_exec(command: &mut Command, cpus: &[usize]) -> io::Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    for &cpu in cpus {
        if cpu >= rustix::thread::CpuSet::MAX_CPU {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        set.set(cpu);
    }
    let hook = move || -> io::Result<()> { Ok(rustix::thread::sched_setaffinity(None, &set)?) };
    // SAFETY: the hook is async-signal-safe (see above).
    unsafe {
        command.pre_exec(hook);
    }
    Ok(())
}

/// Marks every descriptor from `first` upwards close-on-exec
/// (close_range(2) with `CLOSE_RANGE_CLOEXEC`).
///
/// A seccomp filter installed earlier may refuse close_range (profiles
/// that predate it answer EPERM), so on failure this falls back, as runc
/// does, to `fcntl` on each descriptor listed in /proc/self/fd.
pub(crate) fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes only integers and affects our own fd table.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &RawFd| fd >= first as RawFd)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on an integer fd has no memory effects; the
        // directory's own descriptor, closed by now, fails with EBADF.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 {
            // SAFETY: as above.
            check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
        }
    }
    Ok(())
}

/// setrlimit(2) for resource number `resource`.
pub(crate) fn setrlimit(resource: i32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit struct that outlives the call.
    check(unsafe { libc::setrlimit(resource as _, &lim) })
}

/// kill(2).
pub(crate) fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes only integers.
    check(unsafe { libc::kill(pid, signal) })
}

/// How a waited-for process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// exit(2) with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// waitpid(2) for one specific child, retrying on EINTR. `None` with
/// `nohang` means it is still running.
pub(crate) fn waitpid(pid: i32, nohang: bool) -> io::Result<Option<Exit>> {
    loop {
        let mut status: libc::c_int = 0;
        let flags = if nohang { libc::WNOHANG } else { 0 };
        // SAFETY: `status` is a valid out-pointer for the call.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if rc == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some(Exit::Code(libc::WEXITSTATUS(status))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some(Exit::Signal(libc::WTERMSIG(status))));
        }
    }
}

/// prctl(2) options used for capabilities.
pub(crate) fn prctl(option: i32, arg2: u64, arg3: u64) -> io::Result<()> {
    // SAFETY: these prctl options take only integer arguments.
    check(unsafe {
        libc::prctl(
            option,
            arg2 as libc::c_ulong,
            arg3 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    })
}

/// setgroups(2) for the calling thread (the init is single-threaded).
pub(crate) fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice of gid_t (u32).
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, gids.len(), gids.as_ptr()) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// setresuid(2)/setresgid(2) as raw system calls on the calling thread
/// (the init is single-threaded, so this is the whole process).
pub(crate) fn set_ids(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: integer-only system calls.
    let rc = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: integer-only system call.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The current umask is replaced by `mask`.
pub(crate) fn umask(mask: u32) {
    // SAFETY: umask takes an integer and cannot fail.
    unsafe {
        libc::umask(mask as libc::mode_t);
    }
}

/// setns(2) on an open namespace file.
pub(crate) fn setns(fd: RawFd, nstype: i32) -> io::Result<()> {
    // SAFETY: integer-only system call; `fd` is owned by the caller.
    check(unsafe { libc::setns(fd, nstype) })
}

/// unshare(2).
pub(crate) fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: integer-only system call.
    check(unsafe { libc::unshare(flags) })
}

/// Takes ownership of descriptor `fd` handed to this process by its
/// parent.
///
/// # Safety
/// `fd` must be open and owned by nothing else in this process.
pub(crate) unsafe fn take_fd(fd: RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller guarantees `fd` is open and unowned.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// Whether `fd` is an open descriptor.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on an integer fd has no memory effects.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// seccomp(2) `SECCOMP_SET_MODE_FILTER`: installs `filter` on the calling
/// thread (the init is single-threaded). With
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `flags` the kernel returns the
/// notify listener, which is returned here.
pub(crate) fn seccomp_set_filter(
    flags: u32,
    filter: &[libc::sock_filter],
) -> io::Result<Option<std::os::fd::OwnedFd>> {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 8;
    let len = libc::c_ushort::try_from(filter.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = libc::sock_fprog {
        len,
        // The kernel only reads the program; the cast to *mut is what the
        // C struct's type asks for.
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to `len` valid sock_filter structs that
    // outlive the call; the kernel copies them and does not keep the
    // pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_uint,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the return value is a new descriptor
        // that nothing else owns.
        Ok(Some(unsafe { take_fd(rc as RawFd) }))
    } else {
        Ok(None)
    }
}

/// Whether the kernel knows seccomp filter flag `flag`: installing a null
/// program fails with EFAULT once the flags are accepted, and with EINVAL
/// before (the probe runc uses). Nothing is installed either way.
pub(crate) fn seccomp_flag_supported(flag: u32) -> bool {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    // SAFETY: a null program pointer makes the kernel fail with EFAULT
    // before it installs anything; no memory of ours is touched.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flag as libc::c_uint,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    rc < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// Makes the detached mount `fd` (from open_tree(2) with
/// `OPEN_TREE_CLONE`) read-only with mount_setattr(2).
pub(crate) fn mount_setattr_readonly(fd: &impl std::os::fd::AsRawFd) -> io::Result<()> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NOSUID: u64 = 0x2;
    mount_setattr(
        fd.as_raw_fd(),
        libc::AT_EMPTY_PATH,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
        0,
    )
}

/// Makes the detached mount `fd` idmapped with the mappings of the user
/// namespace `userns` (mount_setattr(2) `MOUNT_ATTR_IDMAP`), its whole
/// tree when `recursive`.
pub(crate) fn mount_setattr_idmap(
    fd: &impl std::os::fd::AsRawFd,
    userns: &impl std::os::fd::AsRawFd,
    recursive: bool,
) -> io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    mount_setattr(
        fd.as_raw_fd(),
        flags,
        MOUNT_ATTR_IDMAP,
        userns.as_raw_fd() as u64,
    )
}

fn mount_setattr(fd: RawFd, flags: libc::c_int, attr_set: u64, userns_fd: u64) -> io::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd,
    };
    let empty = c"";
    // SAFETY: `empty` is a NUL-terminated string and `attr` a live
    // `struct mount_attr` whose exact size is passed; the kernel only reads
    // them during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// move_mount(2) of the detached mount `tree` onto `target`, following
/// `target` if it is a (magic) link.
pub(crate) fn move_mount_tree(tree: RawFd, target: &Path) -> io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_SYMLINKS: libc::c_uint = 0x10;
    let target = cstr(target.as_os_str().as_bytes())?;
    let empty = c"";
    // SAFETY: both strings are NUL-terminated and live for the call; the
    // descriptors are integers the kernel checks.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree,
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A user namespace with the given `uid_map` and `gid_map` contents, for
/// idmapped mounts: a child is cloned into a new user namespace, its maps
/// are written, its namespace opened, and the child killed (runc's way).
///
/// # Safety
/// As [`clone_process`]: the calling process must be single-threaded.
pub(crate) unsafe fn userns_with_maps(
    uid_map: &str,
    gid_map: &str,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::io::Read;
    let (mut hold, release) = std::os::unix::net::UnixStream::pair()?;
    // SAFETY: the caller guarantees that this process is single-threaded.
    match unsafe { clone_process(libc::CLONE_NEWUSER as u64) }? {
        Forked::Child => {
            drop(release);
            // Wait for the parent to be done (EOF) or to kill us.
            let _ = hold.read(&mut [0u8; 1]);
            // SAFETY: _exit ends this copy of the process at once, without
            // running destructors or atexit handlers that belong to the
            // parent's state.
            unsafe { libc::_exit(0) }
        }
        Forked::Parent(pid) => {
            drop(hold);
            let opened = std::fs::write(format!("/proc/{pid}/uid_map"), uid_map)
                .and_then(|()| std::fs::write(format!("/proc/{pid}/gid_map"), gid_map))
                .and_then(|()| std::fs::File::open(format!("/proc/{pid}/ns/user")));
            drop(release);
            let _ = kill(pid, libc::SIGKILL);
            let _ = waitpid(pid, false);
            Ok(opened?.into())
        }
    }
}

/// Closes every descriptor from `first` upwards (close_range(2)).
///
/// # Safety
/// No live Rust object may own a descriptor in that range: the init calls
/// this first thing in `main`, before it has opened anything itself.
pub(crate) unsafe fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: integer-only system call on our own descriptor table; the
    // caller guarantees nothing owns the closed descriptors.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `struct sched_attr` of sched_setattr(2), `SCHED_ATTR_SIZE_VER1`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SchedAttr {
    pub(crate) size: u32,
    pub(crate) policy: u32,
    pub(crate) flags: u64,
    pub(crate) nice: i32,
    pub(crate) priority: u32,
    pub(crate) runtime: u64,
    pub(crate) deadline: u64,
    pub(crate) period: u64,
    pub(crate) util_min: u32,
    pub(crate) util_max: u32,
}

/// sched_setattr(2) on the calling thread (the init is single-threaded).
pub(crate) fn sched_setattr(attr: &SchedAttr) -> io::Result<()> {
    let mut attr = *attr;
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `attr` is a live `struct sched_attr` whose size field says
    // how many bytes the kernel may read; it is only read during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0 as libc::pid_t,
            &attr as *const SchedAttr,
            0 as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// ioprio_set(2) with `IOPRIO_WHO_PROCESS` on the calling process.
pub(crate) fn ioprio_set(value: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: integer-only system call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_int,
            value as libc::c_int,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// personality(2), setting the execution domain and flags.
pub(crate) fn personality(persona: u64) -> io::Result<()> {
    // SAFETY: integer-only call; it returns the previous persona or -1.
    check(unsafe { libc::personality(persona as libc::c_ulong) })
}

/// set_mempolicy(2): `mode` with its flags or'ed in, and the node mask
/// (bit n of word n/64 is node n), empty for no mask.
pub(crate) fn set_mempolicy(mode: i32, nodes: &[u64]) -> io::Result<()> {
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits.
        (nodes.as_ptr(), nodes.len() as libc::c_ulong * 64 + 1)
    };
    // SAFETY: `ptr` is null or points to `nodes`, a live slice of
    // `maxnode - 1` bits that the kernel only reads during the call.
    let rc = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
