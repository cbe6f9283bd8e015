//! Processes and their attributes: clone, exec glue, wait, ids,
//! namespaces, limits and scheduling.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::{check, kill};

/// Proof that this process is single-threaded, which makes cloning it
/// without exec and running Rust code in the child sound (no other thread
/// can hold a lock the child would inherit held). Only the init makes
/// one, before `main` (see `premain`); it is neither `Send` nor `Clone`,
/// and the init starts no thread while it lives.
#[derive(Debug)]
pub(crate) struct SingleThreaded {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Checks that the calling process has exactly one thread (field 20,
    /// `num_threads`, of `/proc/self/stat`).
    ///
    /// # Errors
    /// `EINVAL` when it has more: something started a thread before the
    /// init ran (a library constructor, or a program calling
    /// `init_if_requested` after starting an async runtime).
    pub(crate) fn check() -> io::Result<SingleThreaded> {
        let stat = std::fs::read_to_string("/proc/self/stat")?;
        // The command name may contain spaces and ')': split after the
        // last one; `num_threads` is then the 18th field.
        let threads = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(17))
            .and_then(|n| n.parse::<u64>().ok());
        match threads {
            Some(1) => Ok(SingleThreaded {
                _not_send: std::marker::PhantomData,
            }),
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
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
/// The child continues running Rust code (allocating, locking) after the
/// call, which is only sound when no other thread could have held a lock
/// at the time of the clone: `single` proves there is none.
pub(crate) fn clone_process(_single: &SingleThreaded, flags: u64) -> io::Result<Forked> {
    // SAFETY: a raw clone with a null stack duplicates the address space
    // like fork(2); `SingleThreaded` proves that no other thread exists.
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
/// As for [`clone_process`], `single` proves that no other thread exists.
pub(crate) fn clone_into_cgroup(
    _single: &SingleThreaded,
    flags: u64,
    cgroup: RawFd,
) -> io::Result<Forked> {
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
    // fork(2) does, and `SingleThreaded` proves that no other thread exists.
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

/// setrlimit(2) for resource number `resource`.
pub(crate) fn setrlimit(resource: i32, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit struct that outlives the call.
    check(unsafe { libc::setrlimit(resource as _, &lim) })
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

/// A user namespace with the given `uid_map` and `gid_map` contents, for
/// idmapped mounts: a child is cloned into a new user namespace, its maps
/// are written, its namespace opened, and the child killed (runc's way).
///
/// As for [`clone_process`], `single` proves that no other thread exists.
pub(crate) fn userns_with_maps(
    single: &SingleThreaded,
    uid_map: &str,
    gid_map: &str,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::io::Read;
    let (mut hold, release) = std::os::unix::net::UnixStream::pair()?;
    match clone_process(single, libc::CLONE_NEWUSER as u64)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_threaded_is_refused_with_a_second_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        assert_eq!(
            SingleThreaded::check().unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
        drop(tx);
        let _ = other.join();
    }
}
