//! `linux.seccomp`: a runtime-spec profile compiled to a classic BPF
//! program (no libseccomp), installed with seccomp(2) as the init's last
//! step before execve.
//!
//! The program has one section per ABI, as libseccomp builds a
//! multi-architecture filter:
//! 1. A dispatch on `seccomp_data.arch`: each filtered ABI's
//!    `AUDIT_ARCH_*` value jumps to its section. The filtered ABIs are the
//!    native one (always, as libseccomp's native architecture) and every
//!    one in `architectures`: x86, x86_64, x32, ARM, AArch64, the six MIPS
//!    ABIs, PPC, PPC64, PPC64LE, S390, S390X, RISCV64 and LOONGARCH64
//!    (M68K, SH and PARISC are refused). x32 shares `AUDIT_ARCH_X86_64`
//!    and is told apart by the x32 bit (`0x40000000`) in the syscall
//!    number. Anything else, an unlisted ABI included, is killed
//!    (`SECCOMP_RET_KILL_PROCESS`, libseccomp's default bad-architecture
//!    action).
//! 2. In each section, each rule in profile order: the syscall number on
//!    that ABI, then every argument condition (ANDed), then the rule's
//!    action. The first matching rule wins, so several rules for one
//!    syscall are ORed. A name without a number on an ABI is skipped there
//!    (a warning when no table of any ABI knows it, as runc does, never an
//!    error; a debug event otherwise, since most profiles mix ABIs' names).
//! 3. The section ends with the default action.
//!
//! Syscall numbers come from the `syscalls` crate (tables generated from
//! the kernel's, through Linux 6.18) with a small supplement for the ABIs
//! it has no module for; `table.rs` says why that crate and how.
//! i386's multiplexed calls are filtered by their own numbers only: a rule
//! on `socket` does not reach `socketcall(SYS_SOCKET, ...)` as libseccomp's
//! rewriting does, so profiles name `socketcall` and `ipc` themselves (as
//! Docker's does).
//!
//! On 64-bit ABIs, arguments are compared as two 32-bit halves (high half
//! first), each loaded from where the ABI's byte order puts it. On the
//! 32-bit ABIs (x86, x32, ARM, MIPS o32 and n32, PPC, S390) only the low
//! 32 bits are compared, as libseccomp does for its 32-bit architectures:
//! the high half of a 64-bit `value` is dropped without an error, and a masked comparison whose
//! mask has no low bits always holds. `SCMP_CMP_MASKED_EQ` takes the mask
//! from `value` and the expected result from `valueTwo`, as libseccomp and
//! runc do.

mod action;
mod compile;
mod program;
mod supplement;
mod table;
#[cfg(any(test, feature = "__fuzz"))]
pub(crate) mod verify;

pub(crate) use crate::setup::seccomp::compile::compile;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use ocikit_types::runtime::{Seccomp, SeccompAction, SeccompArch};

use crate::setup::error::{SetupError, Step};
use crate::sys::syscalls::Syscalls;
use crate::sys::Insn;

// seccomp(2) filter flags.
pub(crate) const FLAG_TSYNC: u32 = 1;
pub(crate) const FLAG_LOG: u32 = 2;
pub(crate) const FLAG_SPEC_ALLOW: u32 = 4;
pub(crate) const FLAG_NEW_LISTENER: u32 = 8;
pub(crate) const FLAG_TSYNC_ESRCH: u32 = 16;
pub(crate) const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// Whether the engine has syscall tables for the host's architecture, so
/// it can filter at all.
pub(crate) fn host_supported() -> bool {
    table::Arch::native().is_some()
}

/// The `SCMP_ARCH_*` values a profile may list, for `features`.
pub(crate) fn architectures() -> Vec<SeccompArch> {
    table::Arch::ALL.iter().map(|a| a.to_spec()).collect()
}

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
        return Err(SetupError::os(
            "install seccomp filter: no listener descriptor returned",
            io::Error::from_raw_os_error(libc::EBADF),
        ));
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
mod refusals;
#[cfg(all(test, target_arch = "x86_64"))]
mod tests;
