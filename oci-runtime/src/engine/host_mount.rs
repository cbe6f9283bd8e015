//! A container without a mount namespace of its own shares the runtime's:
//! the init binds the rootfs onto itself there and mounts the config's
//! mounts under that bind, then chroots into it (runtime-spec config-linux
//! "namespaces": a type not listed is inherited from the runtime). The
//! engine records which mount that bind is, and detaches it, and with it
//! every mount under it, on `delete` or a failed `create`, so nothing is
//! left mounted on the host (runc leaves proc, dev and sys behind).
//!
//! The bind is told apart by its mount ID (statx `STX_MNT_ID`), so a mount
//! that was at the rootfs before (an engine's overlay) is never touched.

use std::path::Path;

use rustix::fs::{AtFlags, StatxFlags, CWD};

/// The file in the container's state directory that holds the ID.
const FILE: &str = "host-mount";

/// The ID of the topmost mount at `path`, if it can be read.
pub(super) fn top_mount_id(path: &Path) -> Option<u64> {
    let st = rustix::fs::statx(CWD, path, AtFlags::empty(), StatxFlags::MNT_ID).ok()?;
    StatxFlags::from_bits_retain(st.stx_mask)
        .contains(StatxFlags::MNT_ID)
        .then_some(st.stx_mnt_id)
}

/// Records in `dir` that the mount now on top of `rootfs` is the
/// container's bind, if it differs from `before` (the top mount before the
/// init ran).
pub(super) fn record(dir: &Path, rootfs: &Path, before: Option<u64>) -> std::io::Result<()> {
    match top_mount_id(rootfs) {
        Some(id) if Some(id) != before => std::fs::write(dir.join(FILE), id.to_string()),
        _ => Ok(()),
    }
}

/// Detaches the container's bind at `rootfs` (and every mount under it)
/// if `dir` records one and it is still the top mount there.
pub(super) fn detach_recorded(dir: &Path, rootfs: &Path) -> std::io::Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join(FILE)) else {
        return Ok(());
    };
    let recorded = text.trim().parse::<u64>().ok();
    if recorded.is_some() && top_mount_id(rootfs) == recorded {
        crate::sys::umount2(rootfs, libc::MNT_DETACH)?;
    }
    Ok(())
}

/// After a failed `create`: detaches whatever the init mounted on top of
/// `rootfs`, when the top mount there is not the one found before (`before`).
pub(super) fn detach_new(rootfs: &Path, before: Option<u64>) {
    if let Some(now) = top_mount_id(rootfs) {
        if Some(now) != before {
            if let Err(e) = crate::sys::umount2(rootfs, libc::MNT_DETACH) {
                tracing::warn!(error = %e, rootfs = %rootfs.display(), "cannot detach the rootfs bind of a failed container");
            }
        }
    }
}
