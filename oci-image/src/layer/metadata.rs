//! What reading a file's metadata differs in between the Unix systems:
//! the width of `st_mode` and `st_dev` (16 and 32 bits on macOS and the
//! BSDs), and extended attributes, which a layer records on Linux only.
//!
//! Extended attributes are a Linux matter in images: the names layers carry
//! (`security.capability`, `user.*`, `trusted.*`) mean something only to the
//! Linux kernel a container runs on, while macOS's (`com.apple.*`) are
//! Finder and quarantine records no container wants; FreeBSD's `extattr`
//! interface has another namespace model and no safe wrapper. So packing
//! elsewhere records none.

use std::os::fd::OwnedFd;

use rustix::fs::Stat;

/// Extended attributes as (name, value) pairs, sorted by name.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// The permission bits (with setuid, setgid and sticky) of `st`.
// `st_mode` is a u32 on Linux and a u16 on macOS and the BSDs.
#[allow(clippy::useless_conversion)]
pub(crate) fn permissions(st: &Stat) -> u32 {
    u32::from(st.st_mode) & 0o7777
}

/// What tells files apart within one system: (device, inode).
// `st_dev` is a u64 on Linux and an i32 on macOS: only its bits matter here.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn file_id(st: &Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// The extended attributes of an open file, sorted by name.
#[cfg(target_os = "linux")]
pub(crate) fn xattrs(fd: &OwnedFd) -> rustix::io::Result<Xattrs> {
    use rustix::fs as rfs;
    use rustix::io::Errno;

    let mut list = vec![0u8; 4096];
    let len = loop {
        match rfs::flistxattr(fd, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) if list.len() < 1 << 20 => list.resize(list.len() * 4, 0),
            Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    let mut value = vec![0u8; 64 * 1024];
    for name in list[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        match rfs::fgetxattr(fd, super::os(name), &mut value[..]) {
            Ok(n) => out.push((name.to_vec(), value[..n].to_vec())),
            // Removed meanwhile.
            Err(Errno::NODATA) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok(out)
}

/// Extended attributes are recorded on Linux only (see the module docs).
#[cfg(not(target_os = "linux"))]
pub(crate) fn xattrs(_fd: &OwnedFd) -> rustix::io::Result<Xattrs> {
    Ok(Vec::new())
}
