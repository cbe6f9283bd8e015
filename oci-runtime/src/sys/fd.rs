//! Descriptors: passing them over sockets (SCM_RIGHTS), taking over an
//! inherited one, closing or marking the rest.

use std::io;
use std::os::fd::RawFd;

use super::check;

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

/// Takes ownership of descriptor `fd` handed to this process by its
/// parent.
///
/// # Safety
/// `fd` must be open and owned by nothing else in this process.
pub(super) unsafe fn take_fd(fd: RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller guarantees `fd` is open and unowned.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}

/// Whether `fd` is an open descriptor.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on an integer fd has no memory effects.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// Takes over the init socket `fd` the runtime handed to this process,
/// after closing every descriptor above it (close_range(2)): those were
/// inherited by accident and must not reach the container.
///
/// Only the init calls this, before `main` (from the pre-main hook, or
/// first thing in `main` through `init_if_requested`), when nothing in the
/// process owns a descriptor yet; `single` shows that no other thread can
/// be opening one.
///
/// # Errors
/// `EBADF` if `fd` is not open; close_range(2)'s error.
pub(crate) fn take_init_socket(
    _single: &super::SingleThreaded,
    fd: RawFd,
) -> io::Result<std::os::unix::net::UnixStream> {
    if fd < 3 || !fd_is_open(fd) {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: nothing in this process owns a descriptor yet (see above).
    unsafe { close_from(fd as u32 + 1) }?;
    // SAFETY: the runtime passed `fd` to us, it is open, and nothing else
    // in this process owns it.
    Ok(unsafe { take_fd(fd) }.into())
}

/// Closes every descriptor from `first` upwards (close_range(2)).
///
/// # Safety
/// No live Rust object may own a descriptor in that range.
unsafe fn close_from(first: u32) -> io::Result<()> {
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
