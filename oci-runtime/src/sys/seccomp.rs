//! seccomp(2).

use std::io;
use std::os::fd::RawFd;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub(crate) code: u16,
    pub(crate) jt: u8,
    pub(crate) jf: u8,
    pub(crate) k: u32,
}

use super::take_fd;

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
