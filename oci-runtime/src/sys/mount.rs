//! Mounts: mount(2), umount2(2), mknod(2) and the new mount API
//! (mount_setattr(2), move_mount(2)).

use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{check, cstr};

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
    setattr(fd, c"", flags, attr_set, 0, userns_fd)
}

/// Sets and clears the `MOUNT_ATTR_*` bits `set` and `clear` on the mount
/// at `target` (followed if it is a magic link such as
/// `/proc/self/fd/N`), on every mount below it too when `recursive`
/// (mount_setattr(2) `AT_RECURSIVE`).
pub(crate) fn mount_setattr_path(
    target: &Path,
    recursive: bool,
    set: u64,
    clear: u64,
) -> io::Result<()> {
    let path = cstr(target.as_os_str().as_bytes())?;
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    setattr(libc::AT_FDCWD, &path, flags, set, clear, 0)
}

fn setattr(
    fd: RawFd,
    path: &std::ffi::CStr,
    flags: libc::c_int,
    attr_set: u64,
    attr_clr: u64,
    userns_fd: u64,
) -> io::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr,
        propagation: 0,
        userns_fd,
    };
    // SAFETY: `path` is a NUL-terminated string and `attr` a live
    // `struct mount_attr` whose exact size is passed; the kernel only reads
    // them during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            path.as_ptr(),
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
