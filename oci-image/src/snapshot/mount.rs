//! A container root from layer directories: an overlayfs mount where it
//! can be used, a copy otherwise.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{mount, MountFlags};

use super::copy::copy_layer;
use crate::Error;

/// The most lower layers overlayfs stacks (`OVL_MAX_STACK`).
pub(super) const MAX_OVERLAY_LAYERS: usize = 500;
/// The most bytes of mount options the classic `mount(2)` call takes: one
/// page, of which the last byte ends the string (4 KiB pages assumed, the
/// smallest Linux has).
pub(super) const MAX_MOUNT_DATA: usize = 4095;

/// How [`super::SnapshotStore::prepare`] should make a container root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RootStrategy {
    /// An overlayfs mount, or a copy where overlayfs cannot be used.
    #[default]
    OverlayOrCopy,
    /// Always a copy (for filesystems or kernels known not to work, and
    /// for tests of the copy path).
    Copy,
}

/// How a container root was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootMethod {
    /// An overlayfs mount of the layer directories (read-only lowers,
    /// topmost first) with the container's own upper and work directory:
    /// the container's writes land in its upper directory only.
    Overlay,
    /// A copy of the layer directories, bottom first, whiteouts applied;
    /// the copy is the container's alone.
    Copy(CopyReason),
}

/// Why a container root is a copy rather than an overlayfs mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyReason {
    /// [`RootStrategy::Copy`] asked for it.
    Requested,
    /// The image has no layers (overlayfs needs at least one lower).
    NoLayers,
    /// The kernel has no overlay filesystem (none in `/proc/filesystems`,
    /// or `mount` said `ENODEV`).
    NoKernelSupport,
    /// More layers than overlayfs stacks.
    TooManyLayers {
        /// The image's layer count.
        layers: usize,
        /// The most overlayfs takes (500).
        max: usize,
    },
    /// The mount options (the layer paths) are longer than `mount(2)`
    /// takes.
    MountDataTooLong {
        /// Their length.
        bytes: usize,
        /// The most taken (4095 bytes).
        max: usize,
    },
    /// A layer path holds a character the overlay options cannot carry
    /// (`:`, `,`, `\`, or a NUL byte).
    UnusablePath,
    /// The kernel refused the mount: `EPERM` (rootless without overlay
    /// in user namespaces), `EINVAL` (a filesystem overlayfs cannot use
    /// as upper), `EOPNOTSUPP`.
    MountRefused {
        /// The error number.
        errno: i32,
    },
}

/// The directories of one container.
pub(super) struct ContainerDirs {
    pub(super) rootfs: PathBuf,
    pub(super) upper: PathBuf,
    pub(super) work: PathBuf,
}

/// Makes `dirs.rootfs` from `layers` (bottom first), as `strategy` asks.
pub(super) fn make_root(
    layers: &[PathBuf],
    dirs: &ContainerDirs,
    strategy: RootStrategy,
    rootless: bool,
) -> Result<RootMethod, Error> {
    let reason = match strategy {
        RootStrategy::Copy => CopyReason::Requested,
        RootStrategy::OverlayOrCopy => match try_overlay(layers, dirs, rootless)? {
            None => return Ok(RootMethod::Overlay),
            Some(reason) => reason,
        },
    };
    tracing::debug!(?reason, rootfs = %dirs.rootfs.display(), "copying the layers");
    for layer in layers {
        copy_layer(layer, &dirs.rootfs, rootless)?;
    }
    Ok(RootMethod::Copy(reason))
}

/// The overlay mount options for `layers` (bottom first).
pub(super) fn overlay_data(
    layers: &[PathBuf],
    dirs: &ContainerDirs,
    rootless: bool,
) -> Result<String, CopyReason> {
    let text = |p: &Path| -> Result<String, CopyReason> {
        let s = p.to_str().ok_or(CopyReason::UnusablePath)?;
        if s.contains([':', ',', '\\', '\0']) {
            return Err(CopyReason::UnusablePath);
        }
        Ok(s.to_owned())
    };
    // overlayfs wants the topmost lower first.
    let lowers = layers
        .iter()
        .rev()
        .map(|p| text(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        text(&dirs.upper)?,
        text(&dirs.work)?
    );
    if rootless {
        data.push_str(",userxattr");
    }
    Ok(data)
}

/// Mounts the overlay; `Some(reason)` when it cannot be used.
fn try_overlay(
    layers: &[PathBuf],
    dirs: &ContainerDirs,
    rootless: bool,
) -> Result<Option<CopyReason>, Error> {
    if layers.is_empty() {
        return Ok(Some(CopyReason::NoLayers));
    }
    if layers.len() > MAX_OVERLAY_LAYERS {
        return Ok(Some(CopyReason::TooManyLayers {
            layers: layers.len(),
            max: MAX_OVERLAY_LAYERS,
        }));
    }
    if !kernel_has_overlay() {
        return Ok(Some(CopyReason::NoKernelSupport));
    }
    let data = match overlay_data(layers, dirs, rootless) {
        Ok(d) => d,
        Err(reason) => return Ok(Some(reason)),
    };
    if data.len() > MAX_MOUNT_DATA {
        return Ok(Some(CopyReason::MountDataTooLong {
            bytes: data.len(),
            max: MAX_MOUNT_DATA,
        }));
    }
    let cdata = CString::new(data).map_err(|_| {
        Error::io(
            "mount overlay",
            &dirs.rootfs,
            std::io::Error::from(std::io::ErrorKind::InvalidInput),
        )
    })?;
    match mount(
        "overlay",
        &dirs.rootfs,
        "overlay",
        MountFlags::empty(),
        cdata.as_c_str(),
    ) {
        Ok(()) => {
            tracing::debug!(rootfs = %dirs.rootfs.display(), layers = layers.len(), "overlay mounted");
            Ok(None)
        }
        Err(Errno::NODEV) => Ok(Some(CopyReason::NoKernelSupport)),
        Err(e @ (Errno::PERM | Errno::INVAL | Errno::OPNOTSUPP)) => {
            tracing::debug!(error = %e, "overlay mount refused");
            Ok(Some(CopyReason::MountRefused {
                errno: e.raw_os_error(),
            }))
        }
        Err(e) => Err(Error::io("mount overlay", &dirs.rootfs, e.into())),
    }
}

fn kernel_has_overlay() -> bool {
    // Unreadable (no /proc): let mount(2) say.
    std::fs::read_to_string("/proc/filesystems")
        .map(|s| {
            s.lines()
                .any(|l| l.split_whitespace().last() == Some("overlay"))
        })
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> ContainerDirs {
        ContainerDirs {
            rootfs: "/s/c/rootfs".into(),
            upper: "/s/c/upper".into(),
            work: "/s/c/work".into(),
        }
    }

    #[test]
    fn lowers_are_topmost_first() {
        let layers = ["/s/l/base".into(), "/s/l/top".into()];
        assert_eq!(
            overlay_data(&layers, &dirs(), false).unwrap(),
            "lowerdir=/s/l/top:/s/l/base,upperdir=/s/c/upper,workdir=/s/c/work"
        );
        assert!(overlay_data(&layers, &dirs(), true)
            .unwrap()
            .ends_with(",userxattr"));
    }

    #[test]
    fn separators_in_paths_are_refused() {
        for bad in ["/a:b", "/a,b", "/a\\b"] {
            assert_eq!(
                overlay_data(&[bad.into()], &dirs(), false),
                Err(CopyReason::UnusablePath)
            );
        }
    }
}
