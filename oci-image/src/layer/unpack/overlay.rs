//! The overlay whiteout format: what [`WhiteoutMode::Overlay`] writes
//! instead of deleting, so a layer's directory can be a lower layer of an
//! overlayfs mount (the kernel's `Documentation/filesystems/overlayfs.rst`,
//! "whiteouts and opaque directories").

use rustix::fs::{self as rfs, FileType, Mode, OFlags, XattrFlags};

use super::path::split_parent;
use super::{os, State};
use crate::Error;

/// What unpacking does with a layer's whiteouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhiteoutMode {
    /// Delete what they name from the directory, as layer.md says: the
    /// directory holds the whole filesystem after this layer.
    #[default]
    Apply,
    /// Record them as overlayfs does, for a directory holding this layer
    /// only: `.wh.NAME` becomes a character device 0/0 named NAME, and
    /// `.wh..wh..opq` sets the `trusted.overlay.opaque` extended attribute
    /// of its directory to `y` (`user.overlay.opaque` when rootless, for
    /// overlay's `userxattr` mounts). Extended attributes in the
    /// `trusted.overlay.` and `user.overlay.` namespaces that the layer
    /// itself carries are dropped with a warning, so a layer cannot
    /// steer the overlay mount (redirects, metacopy).
    Overlay,
}

/// The opaque-directory attribute name for root or rootless mounts.
pub(crate) fn opaque_xattr(rootless: bool) -> &'static str {
    if rootless {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    }
}

/// Whether an extended attribute belongs to overlayfs.
pub(crate) fn is_overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

impl State<'_> {
    /// `.wh.NAME` as a 0/0 character device named NAME.
    pub(super) fn overlay_whiteout(&mut self, victim: &[u8]) -> Result<(), Error> {
        let (parent, name) = split_parent(victim);
        let dir = self.root.parent(parent)?;
        self.replace(victim, &dir, name, "mknod", || {
            rfs::mknodat(
                &dir,
                os(name),
                FileType::CharacterDevice,
                Mode::empty(),
                rfs::makedev(0, 0),
            )
        })?;
        tracing::trace!(path = %String::from_utf8_lossy(victim), "overlay whiteout");
        self.report.whiteouts += 1;
        Ok(())
    }

    /// `.wh..wh..opq` as the opaque attribute of its directory (made when
    /// absent).
    pub(super) fn overlay_opaque(&mut self, parent: &[u8]) -> Result<(), Error> {
        self.root.parent(parent)?;
        let dir = self
            .root
            .resolve_dir(parent, OFlags::RDONLY)
            .map_err(|e| self.io_err("open directory", parent, e))?;
        rfs::fsetxattr(&dir, opaque_xattr(self.rootless), b"y", XattrFlags::empty())
            .map_err(|e| self.io_err("setxattr", parent, e))?;
        self.mark(parent);
        tracing::trace!(dir = %String::from_utf8_lossy(parent), "overlay opaque directory");
        self.report.whiteouts += 1;
        Ok(())
    }
}
