//! bpf(2) commands and values the device filter uses (linux/bpf.h),
//! and the calls that load, attach, detach and query its program.

use std::io;
use std::os::fd::RawFd;

use super::take_fd;

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
    let fd = unsafe { bpf_call(PROG_LOAD, &mut attr)? };
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
    unsafe { bpf_call(PROG_ATTACH, &mut attr) }.map(drop)
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
    unsafe { bpf_call(PROG_DETACH, &mut attr) }.map(drop)
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
        match unsafe { bpf_call(PROG_QUERY, &mut attr) } {
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
    let fd = unsafe { bpf_call(PROG_GET_FD_BY_ID, &mut attr)? };
    // SAFETY: the command returns a new descriptor that nothing else owns.
    Ok(unsafe { take_fd(fd as RawFd) })
}
