//! A `cgroup` mount inside the container: cgroup2 on a pure v2 host,
//! else a tmpfs with the container's groups bound in.

use std::io;
use std::path::Path;

use ocikit_types::runtime::Mount;

use super::MountOptions;
use crate::setup::rootfs::RootfsOptions;
use crate::sys::syscalls::{
    Create, Syscalls, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT,
};

/// A `cgroup` mount: cgroup2 on a pure v2 host; otherwise a tmpfs holding
/// a bind of the container's own cgroup directory of every hierarchy.
pub(super) fn mount_cgroup(
    sys: &dyn Syscalls,
    m: &Mount,
    o: &MountOptions,
    opts: &RootfsOptions,
) -> io::Result<()> {
    let root = opts.rootfs.as_path();
    let target = sys.resolve(root, &m.destination, Create::Dir)?;
    if opts.cgroup_v2 {
        return sys.mount(
            Some(Path::new("cgroup2")),
            &target.path,
            Some("cgroup2"),
            o.flags,
            None,
        );
    }
    let ro = o.flags & MS_RDONLY;
    let base = o.flags & !(MS_RDONLY | MS_BIND | MS_REC);
    sys.mount(
        Some(Path::new("tmpfs")),
        &target.path,
        Some("tmpfs"),
        base,
        Some("mode=755"),
    )?;
    // The tmpfs is ours and empty: its directories need no resolution in
    // the root (the kernel resolves `<tmpfs>/<name>` again at each call,
    // so the remount finds the bind on top).
    let tmpfs = sys.resolve(root, &m.destination, Create::No)?;
    for b in &opts.cgroup_binds {
        let sub = sys.mkdir_in_fresh(&tmpfs.path, &b.name)?;
        sys.mount(Some(&b.host_dir), &sub, None, MS_BIND | MS_REC, None)?;
        sys.mount(
            None,
            &sub,
            None,
            base | ro | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_BIND | MS_REMOUNT | MS_REC,
            None,
        )?;
        if b.name.contains(',') {
            for alias in b.name.split(',') {
                let link = format!("{}/{alias}", m.destination.trim_end_matches('/'));
                sys.symlink(root, &b.name, &link)?;
            }
        }
    }
    if ro != 0 {
        sys.mount(
            None,
            &tmpfs.path,
            Some("tmpfs"),
            base | ro | MS_REMOUNT,
            None,
        )?;
    }
    Ok(())
}
