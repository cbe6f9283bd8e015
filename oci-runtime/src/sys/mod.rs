//! The only module with `unsafe` code: thin wrappers over system calls
//! that neither rustix nor std offers in the shape the engine needs.
//!
//! Each wrapper converts its arguments to C strings before the call and
//! reports failure as `std::io::Error` from `errno`.

pub(crate) mod syscalls;

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

/// clone3(2) without a new stack, as [`clone_process`], whose child
/// starts in the cgroup2 group open at `cgroup` (`CLONE_INTO_CGROUP`,
/// Linux 5.7): the kernel places it there during the fork, under the read
/// side of its global cgroup migration lock, where writing a pid to
/// `cgroup.procs` takes the write side and can wait for an RCU grace
/// period (milliseconds).
///
/// Fails with `ENOSYS` where the kernel (or a seccomp filter around the
/// runtime) has no clone3, and `E2BIG`/`EINVAL` where it has no
/// `CLONE_INTO_CGROUP`.
///
/// # Safety
/// As for [`clone_process`]: the calling process must be single-threaded.
pub(crate) unsafe fn clone_into_cgroup(flags: u64, cgroup: RawFd) -> io::Result<Forked> {
    /// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let fd = u64::try_from(cgroup).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        // clone3 refuses one with CLONE_PARENT: the child gets its
        // parent's (SIGCHLD here), as clone(2) gives it.
        exit_signal: if flags & libc::CLONE_PARENT as u64 != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: fd,
    };
    // SAFETY: `args` is a valid clone_args of the size passed, alive for
    // the call; without a stack the child duplicates the address space as
    // fork(2) does, and the caller guarantees that no other thread exists.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}

/// Sends descriptor `fd` over `socket` (SCM_RIGHTS) with `payload` as
/// the message's data.
pub(crate) fn send_fd(
    socket: &std::os::unix::net::UnixStream,
    fd: std::os::fd::BorrowedFd<'_>,
    payload: &[u8],
) -> io::Result<()> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
    }
    rustix::net::sendmsg(
        socket,
        &[io::IoSlice::new(payload)],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}

/// Receives one descriptor sent with [`send_fd`]; `UnexpectedEof` if the
/// peer closed the socket without sending one.
pub(crate) fn recv_fd(socket: &std::os::unix::net::UnixStream) -> io::Result<std::os::fd::OwnedFd> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 64];
    rustix::net::recvmsg(
        socket,
        &mut [io::IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "no descriptor received",
    ))
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

/// Installs `handler` for `sig` (SA_RESTART, nothing blocked); returns
/// the previous disposition.
pub(crate) fn set_signal_handler(
    sig: i32,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<libc::sigaction> {
    // SAFETY: zeroed sigaction is a valid "default, empty mask" value.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler as usize;
    new.sa_flags = libc::SA_RESTART;
    // SAFETY: zeroed sigaction is valid; sigaction writes the old one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live sigaction values; the handler
    // only calls async-signal-safe functions (see signal.rs).
    check(unsafe { libc::sigaction(sig, &new, &mut old) })?;
    Ok(old)
}

/// Puts back a disposition [`set_signal_handler`] returned.
pub(crate) fn restore_signal_handler(sig: i32, old: &libc::sigaction) {
    // SAFETY: `old` came from sigaction(2) for this signal.
    unsafe { libc::sigaction(sig, old, std::ptr::null_mut()) };
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

/// bpf(2) commands and values the device filter uses (linux/bpf.h).
pub(crate) mod bpf {
    /// `BPF_PROG_LOAD`.
    pub(crate) const PROG_LOAD: i32 = 5;
    /// `BPF_PROG_ATTACH`.
    pub(crate) const PROG_ATTACH: i32 = 8;
    /// `BPF_PROG_DETACH`.
    pub(crate) const PROG_DETACH: i32 = 9;
    /// `BPF_PROG_GET_FD_BY_ID`.
    pub(crate) const PROG_GET_FD_BY_ID: i32 = 13;
    /// `BPF_PROG_QUERY`.
    pub(crate) const PROG_QUERY: i32 = 16;
    /// `BPF_PROG_TYPE_CGROUP_DEVICE`.
    pub(crate) const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    /// `BPF_CGROUP_DEVICE`, the attach type.
    pub(crate) const CGROUP_DEVICE: u32 = 6;
    /// `BPF_F_ALLOW_MULTI`: programs of descendants and of this group all run.
    pub(crate) const F_ALLOW_MULTI: u32 = 2;
}

/// The `BPF_PROG_LOAD` member of `union bpf_attr`, up to
/// `expected_attach_type` (the kernel zero-fills what we leave out).
#[repr(C)]
#[derive(Debug, Default)]
struct BpfProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` member of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Default)]
struct BpfAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` member of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Default)]
struct BpfQueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` member of `union bpf_attr`.
#[repr(C)]
#[derive(Debug, Default)]
struct BpfGetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with `attr` as its argument.
///
/// # Safety
/// `T` must be the `#[repr(C)]` layout of the member of `union bpf_attr`
/// that `cmd` reads, and every address in it must point to memory valid
/// for the access `cmd` makes, for the whole call.
unsafe fn bpf_call<T>(cmd: i32, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: the caller guarantees `attr` is what `cmd` expects; the
    // size passed is that of `*attr`, so the kernel reads and writes only
    // inside it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// bpf(2) `BPF_PROG_LOAD`: loads `insns` (encoded `struct bpf_insn`s) as a
/// program of `prog_type` with `expected_attach_type`. With a `log`, the
/// kernel writes the verifier's report there (NUL-terminated).
pub(crate) fn bpf_prog_load(
    prog_type: u32,
    expected_attach_type: u32,
    insns: &[u64],
    license: &std::ffi::CStr,
    log: Option<&mut [u8]>,
) -> io::Result<std::os::fd::OwnedFd> {
    let einval = || io::Error::from_raw_os_error(libc::EINVAL);
    let mut attr = BpfProgLoadAttr {
        prog_type,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| einval())?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type,
        ..BpfProgLoadAttr::default()
    };
    if let Some(log) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(log.len()).map_err(|_| einval())?;
        attr.log_buf = log.as_mut_ptr() as u64;
    }
    // SAFETY: `attr` is the PROG_LOAD layout; `insns`, `license` and `log`
    // are borrowed for the call and sized as the attr says (the kernel
    // writes at most `log_size` bytes of log).
    let fd = unsafe { bpf_call(bpf::PROG_LOAD, &mut attr)? };
    // SAFETY: PROG_LOAD returns a new descriptor that nothing else owns.
    Ok(unsafe { take_fd(fd as RawFd) })
}

/// bpf(2) `BPF_PROG_ATTACH`: attaches program `prog` to cgroup `target`.
pub(crate) fn bpf_prog_attach(
    target: std::os::fd::BorrowedFd<'_>,
    prog: std::os::fd::BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut attr = BpfAttachAttr {
        target_fd: target.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: flags,
        ..BpfAttachAttr::default()
    };
    // SAFETY: `attr` is the PROG_ATTACH layout and holds no addresses.
    unsafe { bpf_call(bpf::PROG_ATTACH, &mut attr) }.map(drop)
}

/// bpf(2) `BPF_PROG_DETACH`: detaches program `prog` from cgroup `target`.
pub(crate) fn bpf_prog_detach(
    target: std::os::fd::BorrowedFd<'_>,
    prog: std::os::fd::BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut attr = BpfAttachAttr {
        target_fd: target.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        ..BpfAttachAttr::default()
    };
    // SAFETY: `attr` is the PROG_DETACH layout and holds no addresses.
    unsafe { bpf_call(bpf::PROG_DETACH, &mut attr) }.map(drop)
}

/// bpf(2) `BPF_PROG_QUERY`: the ids of the programs attached to cgroup
/// `target` itself (not inherited ones) for `attach_type`.
pub(crate) fn bpf_prog_query(
    target: std::os::fd::BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<Vec<u32>> {
    use std::os::fd::AsRawFd;
    let mut ids: Vec<u32> = Vec::new();
    loop {
        let mut attr = BpfQueryAttr {
            target_fd: target.as_raw_fd() as u32,
            attach_type,
            prog_ids: if ids.is_empty() {
                0
            } else {
                ids.as_mut_ptr() as u64
            },
            prog_cnt: ids.len() as u32,
            ..BpfQueryAttr::default()
        };
        // SAFETY: `attr` is the PROG_QUERY layout; `prog_ids` is null or
        // points to `prog_cnt` writable u32s that outlive the call.
        match unsafe { bpf_call(bpf::PROG_QUERY, &mut attr) } {
            Ok(_) if ids.is_empty() && attr.prog_cnt > 0 => {
                ids = vec![0; attr.prog_cnt as usize];
            }
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // More programs appeared between the two calls.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                ids = vec![0; attr.prog_cnt.max(ids.len() as u32 + 1) as usize];
            }
            Err(e) => return Err(e),
        }
    }
}

/// bpf(2) `BPF_PROG_GET_FD_BY_ID`: a descriptor for loaded program `id`.
pub(crate) fn bpf_prog_get_fd_by_id(id: u32) -> io::Result<std::os::fd::OwnedFd> {
    let mut attr = BpfGetFdAttr {
        prog_id: id,
        ..BpfGetFdAttr::default()
    };
    // SAFETY: `attr` is the PROG_GET_FD_BY_ID layout and holds no addresses.
    let fd = unsafe { bpf_call(bpf::PROG_GET_FD_BY_ID, &mut attr)? };
    // SAFETY: the command returns a new descriptor that nothing else owns.
    Ok(unsafe { take_fd(fd as RawFd) })
}
