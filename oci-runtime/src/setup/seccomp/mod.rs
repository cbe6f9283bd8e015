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

mod compile;
mod program;
mod table;

pub(crate) use crate::setup::seccomp::compile::compile;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use ocikit_types::runtime::{Seccomp, SeccompAction};

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
mod tests;
