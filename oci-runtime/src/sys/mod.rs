//! The kernel, and the only room with `unsafe` code: thin wrappers over
//! system calls that neither rustix nor std offers in the shape the
//! engine needs (each block with a `// SAFETY:` comment), the one confined
//! path resolver ([`open_in`]), and the [`Syscalls`](syscalls::Syscalls)
//! seam through which the rootfs and process setup reach the kernel (a
//! recording fake stands in for it in unit tests).
//!
//! Each wrapper converts its arguments to C strings before the call and
//! reports failure as `std::io::Error` from `errno`.

pub(crate) mod bpf;
#[cfg(test)]
pub(crate) mod fake;
mod fd;
mod mount;
mod process;
mod resolve;
mod seccomp;
mod signal;
pub(crate) mod syscalls;

pub(crate) use crate::sys::bpf::{
    bpf_prog_attach, bpf_prog_detach, bpf_prog_get_fd_by_id, bpf_prog_load, bpf_prog_query,
};
use crate::sys::fd::take_fd;
pub(crate) use crate::sys::fd::{cloexec_from, recv_fd, send_fd, take_init_socket};
pub(crate) use crate::sys::mount::{
    mknod, mount, mount_setattr_idmap, mount_setattr_path, mount_setattr_readonly, move_mount_tree,
    umount2,
};
pub(crate) use crate::sys::process::{
    affinity_before_exec, clone_into_cgroup, clone_process, ioprio_set, pass_fd, personality,
    prctl, sched_setattr, set_ids, set_mempolicy, setgroups, setns, setrlimit, umask, unshare,
    userns_with_maps, waitpid, Exit, Forked, SchedAttr, SingleThreaded,
};
pub(crate) use crate::sys::resolve::{open_in, Confine};
pub(crate) use crate::sys::seccomp::{seccomp_flag_supported, seccomp_set_filter, Insn};
pub(crate) use crate::sys::signal::{
    install_relay, kill, relay_target, restore_signal_handler, set_relay_target,
};

use std::ffi::CString;
use std::io;

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
