//! A profile's actions and flags as the kernel takes them: the
//! `SECCOMP_RET_*` value of each action and the `SECCOMP_FILTER_FLAG_*`
//! bits, refusing what the kernel (or libseccomp, which runc and crun go
//! through) would refuse or misread.

use ocikit_types::runtime::{Seccomp, SeccompAction, SeccompFlag};

use super::program::*;
use super::{
    FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_TSYNC, FLAG_TSYNC_ESRCH,
    FLAG_WAIT_KILLABLE_RECV,
};
use crate::error::Error;

/// The largest errno `SECCOMP_RET_ERRNO` returns as it is (the kernel's
/// `MAX_ERRNO`): the kernel caps larger values at it, libseccomp refuses
/// them.
pub(crate) const MAX_ERRNO: u32 = 4095;

pub(super) fn bad(field: &'static str, expected: &'static str, found: impl Into<String>) -> Error {
    Error::BadConfig {
        field,
        expected,
        found: found.into(),
    }
}

/// The `SECCOMP_RET_*` value of `action`; `errno` is `errnoRet` (or
/// `defaultErrnoRet`), named `field` in errors.
pub(super) fn ret_value(
    action: &SeccompAction,
    errno: Option<u32>,
    field: &'static str,
) -> crate::error::Result<u32> {
    if errno.is_some() && !matches!(action, SeccompAction::Errno | SeccompAction::Trace) {
        return Err(bad(
            field,
            "errnoRet only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            action.to_string(),
        ));
    }
    let data = |max: u32, expected: &'static str| -> crate::error::Result<u32> {
        let e = errno.unwrap_or(libc::EPERM as u32);
        if e > max {
            return Err(bad(field, expected, e.to_string()));
        }
        Ok(e)
    };
    Ok(match action {
        SeccompAction::Kill | SeccompAction::KillThread => RET_KILL_THREAD,
        SeccompAction::KillProcess => RET_KILL_PROCESS,
        SeccompAction::Trap => RET_TRAP,
        SeccompAction::Errno => {
            RET_ERRNO
                | data(
                    MAX_ERRNO,
                    "an errno from 0 to 4095 (the kernel caps larger ones at 4095)",
                )?
        }
        // The tracer's message: all 16 data bits are passed on.
        SeccompAction::Trace => RET_TRACE | data(0xffff, "a tracer message that fits 16 bits")?,
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

/// The `SECCOMP_FILTER_FLAG_*` bits of `profile`; `notify` is whether a
/// rule's action is `SCMP_ACT_NOTIFY`, which adds the listener flag.
pub(super) fn flags(profile: &Seccomp, notify: bool) -> crate::error::Result<u32> {
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
    if notify {
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless told to
            // report a sync failure as ESRCH (libseccomp does the same).
            flags |= FLAG_TSYNC_ESRCH;
        }
    } else if flags & FLAG_WAIT_KILLABLE_RECV != 0 {
        // seccomp(2) answers EINVAL: the flag is about the listener.
        return Err(bad(
            "linux.seccomp.flags",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only with an SCMP_ACT_NOTIFY rule (the kernel refuses it without a listener)",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ));
    }
    Ok(flags)
}
