//! `linux.seccomp`: a runtime-spec profile compiled to a classic BPF
//! program (no libseccomp), installed with seccomp(2) as the init's last
//! step before execve.
//!
//! The program has one section per ABI, as libseccomp builds a
//! multi-architecture filter:
//! 1. A dispatch on `seccomp_data.arch`: `AUDIT_ARCH_X86_64` without the
//!    x32 bit (`0x40000000`) in the syscall number goes to the x86_64
//!    section, which is always there (the native architecture);
//!    `AUDIT_ARCH_X86_64` with the bit goes to the x32 section when the
//!    profile lists `SCMP_ARCH_X32`; `AUDIT_ARCH_I386` goes to the i386
//!    section when it lists `SCMP_ARCH_X86`. Anything else, an unlisted
//!    ABI included, is killed (`SECCOMP_RET_KILL_PROCESS`, libseccomp's
//!    default bad-architecture action). Other architectures are refused in
//!    the profile.
//! 2. In each section, each rule in profile order: the syscall number on
//!    that ABI, then every argument condition (ANDed), then the rule's
//!    action. The first matching rule wins, so several rules for one
//!    syscall are ORed. A name without a number on an ABI is skipped there
//!    (a warning when no filtered ABI knows it, as runc does; a debug
//!    event otherwise, since most profiles mix 64- and 32-bit names).
//! 3. The section ends with the default action.
//!
//! x86_64 numbers come from libc's `SYS_*`. i386 and x32 numbers come
//! from the kernel headers of the build machine (`unistd_32.h` and
//! `unistd_x32.h`, read by `build.rs`; `OCIKIT_UNISTD_32_H` and
//! `OCIKIT_UNISTD_X32_H` override their paths). Built without them, the
//! tables are empty (cargo prints a warning) and i386 and x32 syscalls
//! are killed even when listed (with a `tracing` warning), rather than
//! let through unfiltered.
//! i386's multiplexed calls are filtered by their own numbers only: a rule
//! on `socket` does not reach `socketcall(SYS_SOCKET, ...)` as libseccomp's
//! rewriting does, so profiles name `socketcall` and `ipc` themselves (as
//! Docker's does).
//!
//! On x86_64, arguments are 64-bit and compared as two 32-bit halves (high
//! half first). On i386 and x32 only the low 32 bits are compared, as
//! libseccomp does for its 32-bit architectures: the high half of a 64-bit
//! `value` is dropped without an error, and a masked comparison whose
//! mask has no low bits always holds. `SCMP_CMP_MASKED_EQ` takes the mask
//! from `value` and the expected result from `valueTwo`, as libseccomp and
//! runc do.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use ocikit_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall,
};

use crate::setup::rootfs::{SetupError, Step};
use crate::sys::syscalls::Syscalls;
use crate::Error;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub(crate) code: u16,
    pub(crate) jt: u8,
    pub(crate) jf: u8,
    pub(crate) k: u32,
}

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub(crate) const MAX_INSNS: usize = 4096;

// Classic BPF opcodes (linux/filter.h): class | size/op | mode/source.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
const BPF_ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K (0)
const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA (0)
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGT_K: u16 = 0x05 | 0x20;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K (0)

// struct seccomp_data offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

/// `AUDIT_ARCH_X86_64`.
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// Return values (linux/seccomp.h).
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_KILL_THREAD: u32 = 0x0000_0000;
pub(crate) const RET_TRAP: u32 = 0x0003_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;
pub(crate) const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub(crate) const RET_TRACE: u32 = 0x7ff0_0000;
pub(crate) const RET_LOG: u32 = 0x7ffc_0000;
pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;

// seccomp(2) filter flags.
pub(crate) const FLAG_TSYNC: u32 = 1;
pub(crate) const FLAG_LOG: u32 = 2;
pub(crate) const FLAG_SPEC_ALLOW: u32 = 4;
pub(crate) const FLAG_NEW_LISTENER: u32 = 8;
pub(crate) const FLAG_TSYNC_ESRCH: u32 = 16;
pub(crate) const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A compiled profile, ready for seccomp(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The BPF program.
    pub(crate) program: Vec<Insn>,
    /// `SECCOMP_FILTER_FLAG_*` bits.
    pub(crate) flags: u32,
    /// Whether an action is `SCMP_ACT_NOTIFY` (the install returns a
    /// listener descriptor).
    pub(crate) notify: bool,
}

macro_rules! syscall_table {
    ($($name:ident => $nr:ident),* $(,)?) => {
        /// The x86_64 number of syscall `name`, from libc's `SYS_*`.
        pub(crate) fn syscall_number(name: &str) -> Option<u32> {
            match name {
                $(stringify!($name) => Some(libc::$nr as u32),)*
                _ => None,
            }
        }
    };
}

#[cfg(not(target_arch = "x86_64"))]
/// No table off x86_64: `create` refuses seccomp there.
pub(crate) fn syscall_number(_name: &str) -> Option<u32> {
    None
}

#[cfg(target_arch = "x86_64")]
syscall_table! {
    read => SYS_read,
    write => SYS_write,
    open => SYS_open,
    close => SYS_close,
    stat => SYS_stat,
    fstat => SYS_fstat,
    lstat => SYS_lstat,
    poll => SYS_poll,
    lseek => SYS_lseek,
    mmap => SYS_mmap,
    mprotect => SYS_mprotect,
    munmap => SYS_munmap,
    brk => SYS_brk,
    rt_sigaction => SYS_rt_sigaction,
    rt_sigprocmask => SYS_rt_sigprocmask,
    rt_sigreturn => SYS_rt_sigreturn,
    ioctl => SYS_ioctl,
    pread64 => SYS_pread64,
    pwrite64 => SYS_pwrite64,
    readv => SYS_readv,
    writev => SYS_writev,
    access => SYS_access,
    pipe => SYS_pipe,
    select => SYS_select,
    sched_yield => SYS_sched_yield,
    mremap => SYS_mremap,
    msync => SYS_msync,
    mincore => SYS_mincore,
    madvise => SYS_madvise,
    shmget => SYS_shmget,
    shmat => SYS_shmat,
    shmctl => SYS_shmctl,
    dup => SYS_dup,
    dup2 => SYS_dup2,
    pause => SYS_pause,
    nanosleep => SYS_nanosleep,
    getitimer => SYS_getitimer,
    alarm => SYS_alarm,
    setitimer => SYS_setitimer,
    getpid => SYS_getpid,
    sendfile => SYS_sendfile,
    socket => SYS_socket,
    connect => SYS_connect,
    accept => SYS_accept,
    sendto => SYS_sendto,
    recvfrom => SYS_recvfrom,
    sendmsg => SYS_sendmsg,
    recvmsg => SYS_recvmsg,
    shutdown => SYS_shutdown,
    bind => SYS_bind,
    listen => SYS_listen,
    getsockname => SYS_getsockname,
    getpeername => SYS_getpeername,
    socketpair => SYS_socketpair,
    setsockopt => SYS_setsockopt,
    getsockopt => SYS_getsockopt,
    clone => SYS_clone,
    fork => SYS_fork,
    vfork => SYS_vfork,
    execve => SYS_execve,
    exit => SYS_exit,
    wait4 => SYS_wait4,
    kill => SYS_kill,
    uname => SYS_uname,
    semget => SYS_semget,
    semop => SYS_semop,
    semctl => SYS_semctl,
    shmdt => SYS_shmdt,
    msgget => SYS_msgget,
    msgsnd => SYS_msgsnd,
    msgrcv => SYS_msgrcv,
    msgctl => SYS_msgctl,
    fcntl => SYS_fcntl,
    flock => SYS_flock,
    fsync => SYS_fsync,
    fdatasync => SYS_fdatasync,
    truncate => SYS_truncate,
    ftruncate => SYS_ftruncate,
    getdents => SYS_getdents,
    getcwd => SYS_getcwd,
    chdir => SYS_chdir,
    fchdir => SYS_fchdir,
    rename => SYS_rename,
    mkdir => SYS_mkdir,
    rmdir => SYS_rmdir,
    creat => SYS_creat,
    link => SYS_link,
    unlink => SYS_unlink,
    symlink => SYS_symlink,
    readlink => SYS_readlink,
    chmod => SYS_chmod,
    fchmod => SYS_fchmod,
    chown => SYS_chown,
    fchown => SYS_fchown,
    lchown => SYS_lchown,
    umask => SYS_umask,
    gettimeofday => SYS_gettimeofday,
    getrlimit => SYS_getrlimit,
    getrusage => SYS_getrusage,
    sysinfo => SYS_sysinfo,
    times => SYS_times,
    ptrace => SYS_ptrace,
    getuid => SYS_getuid,
    syslog => SYS_syslog,
    getgid => SYS_getgid,
    setuid => SYS_setuid,
    setgid => SYS_setgid,
    geteuid => SYS_geteuid,
    getegid => SYS_getegid,
    setpgid => SYS_setpgid,
    getppid => SYS_getppid,
    getpgrp => SYS_getpgrp,
    setsid => SYS_setsid,
    setreuid => SYS_setreuid,
    setregid => SYS_setregid,
    getgroups => SYS_getgroups,
    setgroups => SYS_setgroups,
    setresuid => SYS_setresuid,
    getresuid => SYS_getresuid,
    setresgid => SYS_setresgid,
    getresgid => SYS_getresgid,
    getpgid => SYS_getpgid,
    setfsuid => SYS_setfsuid,
    setfsgid => SYS_setfsgid,
    getsid => SYS_getsid,
    capget => SYS_capget,
    capset => SYS_capset,
    rt_sigpending => SYS_rt_sigpending,
    rt_sigtimedwait => SYS_rt_sigtimedwait,
    rt_sigqueueinfo => SYS_rt_sigqueueinfo,
    rt_sigsuspend => SYS_rt_sigsuspend,
    sigaltstack => SYS_sigaltstack,
    utime => SYS_utime,
    mknod => SYS_mknod,
    uselib => SYS_uselib,
    personality => SYS_personality,
    ustat => SYS_ustat,
    statfs => SYS_statfs,
    fstatfs => SYS_fstatfs,
    sysfs => SYS_sysfs,
    getpriority => SYS_getpriority,
    setpriority => SYS_setpriority,
    sched_setparam => SYS_sched_setparam,
    sched_getparam => SYS_sched_getparam,
    sched_setscheduler => SYS_sched_setscheduler,
    sched_getscheduler => SYS_sched_getscheduler,
    sched_get_priority_max => SYS_sched_get_priority_max,
    sched_get_priority_min => SYS_sched_get_priority_min,
    sched_rr_get_interval => SYS_sched_rr_get_interval,
    mlock => SYS_mlock,
    munlock => SYS_munlock,
    mlockall => SYS_mlockall,
    munlockall => SYS_munlockall,
    vhangup => SYS_vhangup,
    modify_ldt => SYS_modify_ldt,
    pivot_root => SYS_pivot_root,
    _sysctl => SYS__sysctl,
    prctl => SYS_prctl,
    arch_prctl => SYS_arch_prctl,
    adjtimex => SYS_adjtimex,
    setrlimit => SYS_setrlimit,
    chroot => SYS_chroot,
    sync => SYS_sync,
    acct => SYS_acct,
    settimeofday => SYS_settimeofday,
    mount => SYS_mount,
    umount2 => SYS_umount2,
    swapon => SYS_swapon,
    swapoff => SYS_swapoff,
    reboot => SYS_reboot,
    sethostname => SYS_sethostname,
    setdomainname => SYS_setdomainname,
    iopl => SYS_iopl,
    ioperm => SYS_ioperm,
    init_module => SYS_init_module,
    delete_module => SYS_delete_module,
    quotactl => SYS_quotactl,
    nfsservctl => SYS_nfsservctl,
    getpmsg => SYS_getpmsg,
    putpmsg => SYS_putpmsg,
    afs_syscall => SYS_afs_syscall,
    tuxcall => SYS_tuxcall,
    security => SYS_security,
    gettid => SYS_gettid,
    readahead => SYS_readahead,
    setxattr => SYS_setxattr,
    lsetxattr => SYS_lsetxattr,
    fsetxattr => SYS_fsetxattr,
    getxattr => SYS_getxattr,
    lgetxattr => SYS_lgetxattr,
    fgetxattr => SYS_fgetxattr,
    listxattr => SYS_listxattr,
    llistxattr => SYS_llistxattr,
    flistxattr => SYS_flistxattr,
    removexattr => SYS_removexattr,
    lremovexattr => SYS_lremovexattr,
    fremovexattr => SYS_fremovexattr,
    tkill => SYS_tkill,
    time => SYS_time,
    futex => SYS_futex,
    sched_setaffinity => SYS_sched_setaffinity,
    sched_getaffinity => SYS_sched_getaffinity,
    set_thread_area => SYS_set_thread_area,
    io_setup => SYS_io_setup,
    io_destroy => SYS_io_destroy,
    io_getevents => SYS_io_getevents,
    io_submit => SYS_io_submit,
    io_cancel => SYS_io_cancel,
    get_thread_area => SYS_get_thread_area,
    lookup_dcookie => SYS_lookup_dcookie,
    epoll_create => SYS_epoll_create,
    epoll_ctl_old => SYS_epoll_ctl_old,
    epoll_wait_old => SYS_epoll_wait_old,
    remap_file_pages => SYS_remap_file_pages,
    getdents64 => SYS_getdents64,
    set_tid_address => SYS_set_tid_address,
    restart_syscall => SYS_restart_syscall,
    semtimedop => SYS_semtimedop,
    fadvise64 => SYS_fadvise64,
    timer_create => SYS_timer_create,
    timer_settime => SYS_timer_settime,
    timer_gettime => SYS_timer_gettime,
    timer_getoverrun => SYS_timer_getoverrun,
    timer_delete => SYS_timer_delete,
    clock_settime => SYS_clock_settime,
    clock_gettime => SYS_clock_gettime,
    clock_getres => SYS_clock_getres,
    clock_nanosleep => SYS_clock_nanosleep,
    exit_group => SYS_exit_group,
    epoll_wait => SYS_epoll_wait,
    epoll_ctl => SYS_epoll_ctl,
    tgkill => SYS_tgkill,
    utimes => SYS_utimes,
    vserver => SYS_vserver,
    mbind => SYS_mbind,
    set_mempolicy => SYS_set_mempolicy,
    get_mempolicy => SYS_get_mempolicy,
    mq_open => SYS_mq_open,
    mq_unlink => SYS_mq_unlink,
    mq_timedsend => SYS_mq_timedsend,
    mq_timedreceive => SYS_mq_timedreceive,
    mq_notify => SYS_mq_notify,
    mq_getsetattr => SYS_mq_getsetattr,
    kexec_load => SYS_kexec_load,
    waitid => SYS_waitid,
    add_key => SYS_add_key,
    request_key => SYS_request_key,
    keyctl => SYS_keyctl,
    ioprio_set => SYS_ioprio_set,
    ioprio_get => SYS_ioprio_get,
    inotify_init => SYS_inotify_init,
    inotify_add_watch => SYS_inotify_add_watch,
    inotify_rm_watch => SYS_inotify_rm_watch,
    migrate_pages => SYS_migrate_pages,
    openat => SYS_openat,
    mkdirat => SYS_mkdirat,
    mknodat => SYS_mknodat,
    fchownat => SYS_fchownat,
    futimesat => SYS_futimesat,
    newfstatat => SYS_newfstatat,
    unlinkat => SYS_unlinkat,
    renameat => SYS_renameat,
    linkat => SYS_linkat,
    symlinkat => SYS_symlinkat,
    readlinkat => SYS_readlinkat,
    fchmodat => SYS_fchmodat,
    faccessat => SYS_faccessat,
    pselect6 => SYS_pselect6,
    ppoll => SYS_ppoll,
    unshare => SYS_unshare,
    set_robust_list => SYS_set_robust_list,
    get_robust_list => SYS_get_robust_list,
    splice => SYS_splice,
    tee => SYS_tee,
    sync_file_range => SYS_sync_file_range,
    vmsplice => SYS_vmsplice,
    move_pages => SYS_move_pages,
    utimensat => SYS_utimensat,
    epoll_pwait => SYS_epoll_pwait,
    signalfd => SYS_signalfd,
    timerfd_create => SYS_timerfd_create,
    eventfd => SYS_eventfd,
    fallocate => SYS_fallocate,
    timerfd_settime => SYS_timerfd_settime,
    timerfd_gettime => SYS_timerfd_gettime,
    accept4 => SYS_accept4,
    signalfd4 => SYS_signalfd4,
    eventfd2 => SYS_eventfd2,
    epoll_create1 => SYS_epoll_create1,
    dup3 => SYS_dup3,
    pipe2 => SYS_pipe2,
    inotify_init1 => SYS_inotify_init1,
    preadv => SYS_preadv,
    pwritev => SYS_pwritev,
    rt_tgsigqueueinfo => SYS_rt_tgsigqueueinfo,
    perf_event_open => SYS_perf_event_open,
    recvmmsg => SYS_recvmmsg,
    fanotify_init => SYS_fanotify_init,
    fanotify_mark => SYS_fanotify_mark,
    prlimit64 => SYS_prlimit64,
    name_to_handle_at => SYS_name_to_handle_at,
    open_by_handle_at => SYS_open_by_handle_at,
    clock_adjtime => SYS_clock_adjtime,
    syncfs => SYS_syncfs,
    sendmmsg => SYS_sendmmsg,
    setns => SYS_setns,
    getcpu => SYS_getcpu,
    process_vm_readv => SYS_process_vm_readv,
    process_vm_writev => SYS_process_vm_writev,
    kcmp => SYS_kcmp,
    finit_module => SYS_finit_module,
    sched_setattr => SYS_sched_setattr,
    sched_getattr => SYS_sched_getattr,
    renameat2 => SYS_renameat2,
    seccomp => SYS_seccomp,
    getrandom => SYS_getrandom,
    memfd_create => SYS_memfd_create,
    kexec_file_load => SYS_kexec_file_load,
    bpf => SYS_bpf,
    execveat => SYS_execveat,
    userfaultfd => SYS_userfaultfd,
    membarrier => SYS_membarrier,
    mlock2 => SYS_mlock2,
    copy_file_range => SYS_copy_file_range,
    preadv2 => SYS_preadv2,
    pwritev2 => SYS_pwritev2,
    pkey_mprotect => SYS_pkey_mprotect,
    pkey_alloc => SYS_pkey_alloc,
    pkey_free => SYS_pkey_free,
    statx => SYS_statx,
    rseq => SYS_rseq,
    pidfd_send_signal => SYS_pidfd_send_signal,
    io_uring_setup => SYS_io_uring_setup,
    io_uring_enter => SYS_io_uring_enter,
    io_uring_register => SYS_io_uring_register,
    open_tree => SYS_open_tree,
    move_mount => SYS_move_mount,
    fsopen => SYS_fsopen,
    fsconfig => SYS_fsconfig,
    fsmount => SYS_fsmount,
    fspick => SYS_fspick,
    pidfd_open => SYS_pidfd_open,
    clone3 => SYS_clone3,
    close_range => SYS_close_range,
    openat2 => SYS_openat2,
    pidfd_getfd => SYS_pidfd_getfd,
    faccessat2 => SYS_faccessat2,
    process_madvise => SYS_process_madvise,
    epoll_pwait2 => SYS_epoll_pwait2,
    mount_setattr => SYS_mount_setattr,
    quotactl_fd => SYS_quotactl_fd,
    landlock_create_ruleset => SYS_landlock_create_ruleset,
    landlock_add_rule => SYS_landlock_add_rule,
    landlock_restrict_self => SYS_landlock_restrict_self,
    memfd_secret => SYS_memfd_secret,
    process_mrelease => SYS_process_mrelease,
    futex_waitv => SYS_futex_waitv,
    set_mempolicy_home_node => SYS_set_mempolicy_home_node,
    fchmodat2 => SYS_fchmodat2,
    mseal => SYS_mseal,
}

// `i386_number` and `x32_number`, generated by build.rs from the kernel
// headers (empty when they were missing at build time).
include!(concat!(env!("OUT_DIR"), "/syscalls_32.rs"));

/// An ABI the filter has a section for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abi {
    X86_64,
    X32,
    I386,
}

impl Abi {
    fn number(self, name: &str) -> Option<u32> {
        match self {
            Abi::X86_64 => syscall_number(name),
            Abi::X32 => x32_number(name),
            Abi::I386 => i386_number(name),
        }
    }

    /// How many names the ABI's table knows (0: built without it).
    fn table_len(self) -> usize {
        match self {
            Abi::X86_64 => usize::MAX,
            Abi::X32 => X32_NAMES,
            Abi::I386 => I386_NAMES,
        }
    }

    /// Whether arguments are compared on their low 32 bits only, as
    /// libseccomp does for its 32-bit architectures (i386 and x32).
    fn narrow(self) -> bool {
        self != Abi::X86_64
    }

    fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::X32 => "x32",
            Abi::I386 => "x86",
        }
    }
}

fn bad(field: &'static str, expected: &'static str, found: impl Into<String>) -> Error {
    Error::BadConfig {
        field,
        expected,
        found: found.into(),
    }
}

/// The `SECCOMP_RET_*` value of `action`; `errno` is `errnoRet` (or
/// `defaultErrnoRet`), named `field` in errors.
fn ret_value(
    action: &SeccompAction,
    errno: Option<u32>,
    field: &'static str,
) -> crate::Result<u32> {
    let data = || -> crate::Result<u32> {
        let e = errno.unwrap_or(libc::EPERM as u32);
        if e > 0xffff {
            return Err(bad(field, "an errno that fits 16 bits", e.to_string()));
        }
        Ok(e)
    };
    if errno.is_some() && !matches!(action, SeccompAction::Errno | SeccompAction::Trace) {
        return Err(bad(
            field,
            "errnoRet only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            action.to_string(),
        ));
    }
    Ok(match action {
        SeccompAction::Kill | SeccompAction::KillThread => RET_KILL_THREAD,
        SeccompAction::KillProcess => RET_KILL_PROCESS,
        SeccompAction::Trap => RET_TRAP,
        SeccompAction::Errno => RET_ERRNO | data()?,
        SeccompAction::Trace => RET_TRACE | data()?,
        SeccompAction::Allow => RET_ALLOW,
        SeccompAction::Log => RET_LOG,
        SeccompAction::Notify => RET_USER_NOTIF,
        other => {
            return Err(bad(
                "linux.seccomp action",
                "a known SCMP_ACT_* action",
                other.to_string(),
            ))
        }
    })
}

/// A jump target while a block is being built.
#[derive(Clone, Copy)]
enum To {
    /// Skip this many instructions.
    Skip(u8),
    /// The end of the block: the rule does not match.
    Fail,
}

/// The instructions of one rule for one syscall; `Fail` jumps are patched
/// to the block's end when it is finished.
#[derive(Default)]
struct Block {
    insns: Vec<Insn>,
    fails: Vec<(usize, bool)>,
}

impl Block {
    fn stmt(&mut self, code: u16, k: u32) {
        self.insns.push(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        });
    }

    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        let at = self.insns.len();
        let mut off = |t: To, is_jt: bool| match t {
            To::Skip(n) => n,
            To::Fail => {
                self.fails.push((at, is_jt));
                0
            }
        };
        let (jt, jf) = (off(jt, true), off(jf, false));
        self.insns.push(Insn { code, jt, jf, k });
    }

    /// As [`Block::arg`] on a 32-bit ABI: only the low halves of the
    /// argument, `value` and `valueTwo` are compared, as libseccomp does
    /// (it truncates 64-bit operands without an error, and drops a masked
    /// comparison whose low mask is zero as always true).
    fn arg32(&mut self, index: u32, op: &SeccompOperator, value: u64, value_two: u64) {
        let (v, two) = (value as u32, value_two as u32);
        let lo_off = off_arg_lo(index);
        let (code, matches) = match op {
            SeccompOperator::Equal => (BPF_JMP_JEQ_K, true),
            SeccompOperator::NotEqual => (BPF_JMP_JEQ_K, false),
            SeccompOperator::GreaterThan => (BPF_JMP_JGT_K, true),
            SeccompOperator::GreaterOrEqual => (BPF_JMP_JGE_K, true),
            // x < v is !(x >= v); x <= v is !(x > v).
            SeccompOperator::LessThan => (BPF_JMP_JGE_K, false),
            SeccompOperator::LessOrEqual => (BPF_JMP_JGT_K, false),
            _ => {
                // MaskedEqual (other operators are refused before this).
                if v != 0 {
                    self.stmt(BPF_LD_W_ABS, lo_off);
                    self.stmt(BPF_ALU_AND_K, v);
                    self.jump(BPF_JMP_JEQ_K, two & v, To::Skip(0), To::Fail);
                }
                return;
            }
        };
        self.stmt(BPF_LD_W_ABS, lo_off);
        if matches {
            self.jump(code, v, To::Skip(0), To::Fail);
        } else {
            self.jump(code, v, To::Fail, To::Skip(0));
        }
    }

    /// Falls through when argument `index` satisfies `op`, jumps to the
    /// block's end otherwise.
    fn arg(&mut self, index: u32, op: &SeccompOperator, value: u64, value_two: u64) {
        let (hi, lo) = ((value >> 32) as u32, value as u32);
        let (lo_off, hi_off) = (off_arg_lo(index), off_arg_lo(index) + 4);
        match op {
            SeccompOperator::Equal => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.jump(BPF_JMP_JEQ_K, lo, To::Skip(0), To::Fail);
            }
            SeccompOperator::NotEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Skip(2));
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.jump(BPF_JMP_JEQ_K, lo, To::Fail, To::Skip(0));
            }
            SeccompOperator::GreaterThan | SeccompOperator::GreaterOrEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JGT_K, hi, To::Skip(3), To::Skip(0));
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                let code = if *op == SeccompOperator::GreaterThan {
                    BPF_JMP_JGT_K
                } else {
                    BPF_JMP_JGE_K
                };
                self.jump(code, lo, To::Skip(0), To::Fail);
            }
            SeccompOperator::LessThan | SeccompOperator::LessOrEqual => {
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.jump(BPF_JMP_JGT_K, hi, To::Fail, To::Skip(0));
                self.jump(BPF_JMP_JEQ_K, hi, To::Skip(0), To::Skip(2));
                self.stmt(BPF_LD_W_ABS, lo_off);
                // lo < L is !(lo >= L); lo <= L is !(lo > L).
                let code = if *op == SeccompOperator::LessThan {
                    BPF_JMP_JGE_K
                } else {
                    BPF_JMP_JGT_K
                };
                self.jump(code, lo, To::Fail, To::Skip(0));
            }
            _ => {
                // MaskedEqual (other operators are refused before this).
                let (want_hi, want_lo) = ((value_two >> 32) as u32, value_two as u32);
                self.stmt(BPF_LD_W_ABS, hi_off);
                self.stmt(BPF_ALU_AND_K, hi);
                self.jump(BPF_JMP_JEQ_K, want_hi, To::Skip(0), To::Fail);
                self.stmt(BPF_LD_W_ABS, lo_off);
                self.stmt(BPF_ALU_AND_K, lo);
                self.jump(BPF_JMP_JEQ_K, want_lo, To::Skip(0), To::Fail);
            }
        }
    }

    fn finish(mut self, out: &mut Vec<Insn>) {
        let len = self.insns.len();
        for (at, is_jt) in self.fails {
            // Blocks hold one syscall's conditions: at most about 40
            // instructions, so the offset always fits.
            let off = u8::try_from(len - at - 1).expect("seccomp block fits a jump");
            if is_jt {
                self.insns[at].jt = off;
            } else {
                self.insns[at].jf = off;
            }
        }
        out.append(&mut self.insns);
    }
}

/// Syscall numbers tested by one `jeq` chain before its `ret`: jump
/// offsets are 8 bits.
const CHAIN: usize = 200;

/// The rules for one ABI, in profile order, then `default`. Names without
/// a number on `abi` are skipped and recorded in `unknown`.
fn section<'a>(
    abi: Abi,
    rules: &[(&'a Syscall, u32)],
    default: u32,
    unknown: &mut BTreeMap<&'a str, Vec<Abi>>,
) -> Vec<Insn> {
    let mut program = Vec::new();
    for &(rule, ret) in rules {
        let mut numbers = Vec::new();
        for name in &rule.names {
            match abi.number(name) {
                Some(nr) => numbers.push(nr),
                None => {
                    let missing = unknown.entry(name.as_str()).or_default();
                    if !missing.contains(&abi) {
                        missing.push(abi);
                    }
                }
            }
        }
        if rule.args.is_empty() {
            for chain in numbers.chunks(CHAIN) {
                program.push(Insn {
                    code: BPF_LD_W_ABS,
                    jt: 0,
                    jf: 0,
                    k: OFF_NR,
                });
                let n = chain.len();
                for (i, nr) in chain.iter().enumerate() {
                    // Matches jump over the rest of the chain and the `ja`
                    // to the `ret`.
                    let jt = u8::try_from(n - i).expect("chain fits a jump");
                    program.push(Insn {
                        code: BPF_JMP_JEQ_K,
                        jt,
                        jf: 0,
                        k: *nr,
                    });
                }
                program.push(Insn {
                    code: BPF_JMP_JA,
                    jt: 0,
                    jf: 0,
                    k: 1,
                });
                program.push(Insn {
                    code: BPF_RET_K,
                    jt: 0,
                    jf: 0,
                    k: ret,
                });
            }
        } else {
            for nr in numbers {
                let mut b = Block::default();
                b.stmt(BPF_LD_W_ABS, OFF_NR);
                b.jump(BPF_JMP_JEQ_K, nr, To::Skip(0), To::Fail);
                for arg in &rule.args {
                    if abi.narrow() {
                        b.arg32(arg.index, &arg.op, arg.value, arg.value_two);
                    } else {
                        b.arg(arg.index, &arg.op, arg.value, arg.value_two);
                    }
                }
                b.stmt(BPF_RET_K, ret);
                b.finish(&mut program);
            }
        }
    }
    program.push(Insn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: default,
    });
    program
}

/// Compiles `profile`: x86_64 always, x32 and i386 when listed in
/// `architectures`.
///
/// # Errors
/// [`Error::BadConfig`] for what the engine cannot filter faithfully: an
/// architecture other than x86_64, x86 and x32, an argument index above 5,
/// `errnoRet` on an action without an errno, `SCMP_ACT_NOTIFY` as the
/// default action or without `listenerPath`, and a program longer than
/// [`MAX_INSNS`].
pub(crate) fn compile(profile: &Seccomp) -> crate::Result<Filter> {
    for arch in &profile.architectures {
        if !matches!(
            arch,
            SeccompArch::X86_64 | SeccompArch::X86 | SeccompArch::X32
        ) {
            return Err(bad(
                "linux.seccomp.architectures",
                "SCMP_ARCH_X86_64, SCMP_ARCH_X86 or SCMP_ARCH_X32 (the engine filters the x86 ABIs)",
                arch.to_string(),
            ));
        }
    }
    let mut flags = 0;
    for flag in &profile.flags {
        flags |= match flag {
            SeccompFlag::Tsync => FLAG_TSYNC,
            SeccompFlag::Log => FLAG_LOG,
            SeccompFlag::SpecAllow => FLAG_SPEC_ALLOW,
            SeccompFlag::WaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
            other => {
                return Err(bad(
                    "linux.seccomp.flags",
                    "a known SECCOMP_FILTER_FLAG_*",
                    other.to_string(),
                ))
            }
        };
    }
    if profile.default_action == SeccompAction::Notify {
        return Err(bad(
            "linux.seccomp.defaultAction",
            "an action other than SCMP_ACT_NOTIFY (as in libseccomp)",
            "SCMP_ACT_NOTIFY",
        ));
    }
    let default = ret_value(
        &profile.default_action,
        profile.default_errno_ret,
        "linux.seccomp.defaultErrnoRet",
    )?;

    let mut notify = false;
    let mut rules = Vec::with_capacity(profile.syscalls.len());
    for rule in &profile.syscalls {
        let ret = ret_value(
            &rule.action,
            rule.errno_ret,
            "linux.seccomp.syscalls[].errnoRet",
        )?;
        if rule.action == SeccompAction::Notify {
            notify = true;
            // The init sends the listener descriptor with sendmsg(2) after
            // installing the filter: notifying on it would deadlock.
            if rule.names.iter().any(|n| n == "sendmsg") {
                return Err(bad(
                    "linux.seccomp.syscalls[].names",
                    "no SCMP_ACT_NOTIFY rule for sendmsg (the runtime needs it to hand over the listener)",
                    "sendmsg",
                ));
            }
        }
        for arg in &rule.args {
            if arg.index > 5 {
                return Err(bad(
                    "linux.seccomp.syscalls[].args[].index",
                    "an argument index from 0 to 5",
                    arg.index.to_string(),
                ));
            }
            if !matches!(
                arg.op,
                SeccompOperator::Equal
                    | SeccompOperator::NotEqual
                    | SeccompOperator::LessThan
                    | SeccompOperator::LessOrEqual
                    | SeccompOperator::GreaterThan
                    | SeccompOperator::GreaterOrEqual
                    | SeccompOperator::MaskedEqual
            ) {
                return Err(bad(
                    "linux.seccomp.syscalls[].args[].op",
                    "a known SCMP_CMP_* operator",
                    arg.op.to_string(),
                ));
            }
        }
        rules.push((rule, ret));
    }

    // x86_64 is always filtered (libseccomp's native architecture); x32
    // and i386 only when listed, else their syscalls are killed.
    let mut abis = vec![Abi::X86_64];
    for (arch, abi) in [(SeccompArch::X32, Abi::X32), (SeccompArch::X86, Abi::I386)] {
        if !profile.architectures.contains(&arch) {
            continue;
        }
        if abi.table_len() == 0 {
            // Filtering with an empty table would let every call reach
            // the default action: kill them instead.
            tracing::warn!(
                %arch,
                "seccomp: the engine was built without this ABI's syscall table (kernel headers missing), its syscalls are killed"
            );
            continue;
        }
        abis.push(abi);
    }
    let mut unknown: BTreeMap<&str, Vec<Abi>> = BTreeMap::new();
    let mut sections = Vec::with_capacity(abis.len());
    for &abi in &abis {
        sections.push((abi, section(abi, &rules, default, &mut unknown)));
    }
    for (name, missing) in &unknown {
        if missing.len() == abis.len() {
            tracing::warn!(
                syscall = %name,
                "seccomp: unknown syscall on every filtered architecture, rule skipped for it"
            );
        } else {
            let missing: Vec<&str> = missing.iter().map(|a| a.name()).collect();
            tracing::debug!(
                syscall = %name,
                on = ?missing,
                "seccomp: syscall unknown on some architectures, skipped there"
            );
        }
    }

    // The dispatch on `seccomp_data.arch` (and the x32 bit, since x32
    // shares AUDIT_ARCH_X86_64), then the sections in `abis` order. BPF
    // jumps only forward, so an unlisted ABI gets its `ret` in place.
    let stmt = |code, k| Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let kill = stmt(BPF_RET_K, RET_KILL_PROCESS);
    let mut program = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        // 1: x86_64 or x32 -> 5.
        Insn {
            code: BPF_JMP_JEQ_K,
            jt: 3,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        // 2: i386 -> 3, anything else -> 4.
        Insn {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: AUDIT_ARCH_I386,
        },
        kill, // 3: `ja` to the i386 section when there is one.
        kill,
        stmt(BPF_LD_W_ABS, OFF_NR),
        // 6: x32 -> 7, x86_64 -> 8.
        Insn {
            code: BPF_JMP_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        kill, // 7: `ja` to the x32 section when there is one.
    ];
    for (abi, mut insns) in sections {
        let at = match abi {
            Abi::X86_64 => None,
            Abi::X32 => Some(7),
            Abi::I386 => Some(3),
        };
        if let Some(at) = at {
            let k = u32::try_from(program.len() - at - 1).expect("program offsets fit u32");
            program[at] = stmt(BPF_JMP_JA, k);
        }
        program.append(&mut insns);
    }
    if program.len() > MAX_INSNS {
        return Err(bad(
            "linux.seccomp",
            "a profile that compiles to at most 4096 BPF instructions",
            format!("{} instructions", program.len()),
        ));
    }
    if notify {
        if profile.listener_path.is_empty() {
            return Err(bad(
                "linux.seccomp.listenerPath",
                "a listener socket when an action is SCMP_ACT_NOTIFY",
                "none",
            ));
        }
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless told to
            // report a sync failure as ESRCH (libseccomp does the same).
            flags |= FLAG_TSYNC_ESRCH;
        }
    }
    Ok(Filter {
        program,
        flags,
        notify,
    })
}

/// Whether `profile` sends a notify listener to an agent: some rule's
/// action is `SCMP_ACT_NOTIFY` and `listenerPath` is set.
pub(crate) fn notifies(profile: &Seccomp) -> bool {
    !profile.listener_path.is_empty()
        && profile
            .syscalls
            .iter()
            .any(|r| r.action == SeccompAction::Notify)
}

/// Whether the filter goes in before the capabilities are dropped: without
/// no_new_privs, seccomp(2) needs CAP_SYS_ADMIN (as in runc).
pub(crate) fn before_caps(no_new_privileges: bool) -> bool {
    !no_new_privileges
}

/// Installs `filter` on the calling (single-threaded) process; returns the
/// notify listener when the filter has `SCMP_ACT_NOTIFY` rules.
pub(crate) fn install(sys: &dyn Syscalls, filter: &Filter) -> Result<Option<OwnedFd>, SetupError> {
    let fd = sys.seccomp(filter.flags, &filter.program).step(|| {
        format!(
            "install seccomp filter ({} instructions)",
            filter.program.len()
        )
    })?;
    if filter.notify && fd.is_none() {
        return Err(SetupError {
            step: "install seccomp filter: no listener descriptor returned".into(),
            source: io::Error::from_raw_os_error(libc::EBADF),
        });
    }
    Ok(fd)
}

/// Sends the notify `listener` to the seccomp agent over `socket` with
/// SCM_RIGHTS, along with the container process state as runc does
/// (`ContainerProcessState`: ociVersion, fds, pid, metadata, state).
/// `state` is the container state JSON.
pub(crate) fn send_listener(
    socket: &UnixStream,
    listener: OwnedFd,
    metadata: &str,
    state: &str,
) -> io::Result<()> {
    let state: serde_json::Value = serde_json::from_str(state.trim())?;
    let msg = serde_json::json!({
        "ociVersion": state.get("ociVersion").cloned().unwrap_or_default(),
        "fds": ["seccompFd"],
        "pid": state.get("pid").cloned().unwrap_or_default(),
        "metadata": metadata,
        "state": state,
    });
    let bytes = serde_json::to_vec(&msg)?;
    crate::sys::send_fd(socket, listener.as_fd(), &bytes)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;
