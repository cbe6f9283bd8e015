//! The store itself: opening it, images, containers and collection.

use std::path::{Path, PathBuf};

use ocikit_types::{Descriptor, Digest, ImageConfiguration, ImageManifest, MediaType, Raw};

use super::layer::{self, container_holder, image_holder, key, list};
use super::mount::{make_root, ContainerDirs, RootMethod, RootStrategy};
use crate::{Error, Layout, UnpackOptions};

/// Settings for [`SnapshotStore::add_image`] and [`SnapshotStore::prepare`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    unpack: UnpackOptions,
    strategy: RootStrategy,
}

impl SnapshotOptions {
    /// Default settings: [`UnpackOptions::new`] and
    /// [`RootStrategy::OverlayOrCopy`].
    pub fn new() -> Self {
        SnapshotOptions::default()
    }

    /// How layers are unpacked (privileges, id map, limits). The expected
    /// digests come from the image and the whiteout mode is always
    /// [`WhiteoutMode::Overlay`](crate::WhiteoutMode::Overlay), whatever is
    /// set here. Default: [`UnpackOptions::new`].
    pub fn unpack_options(&mut self, options: UnpackOptions) -> &mut Self {
        self.unpack = options;
        self
    }

    /// How container roots are made. Default:
    /// [`RootStrategy::OverlayOrCopy`].
    pub fn root_strategy(&mut self, strategy: RootStrategy) -> &mut Self {
        self.strategy = strategy;
        self
    }
}

/// The layers of an image in a [`SnapshotStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageSnapshot {
    /// The image manifest's digest.
    pub manifest: Digest,
    /// The diff IDs of its layers, bottom first.
    pub layers: Vec<Digest>,
    /// The layer directories, bottom first.
    pub layer_dirs: Vec<PathBuf>,
    /// The diff IDs this call unpacked (the others were there already).
    pub unpacked: Vec<Digest>,
}

/// A container root made by [`SnapshotStore::prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedRoot {
    /// The container's id.
    pub id: String,
    /// The root filesystem, to be a bundle's `root.path`.
    pub rootfs: PathBuf,
    /// Where the container's writes land, for [`RootMethod::Overlay`].
    pub upper: Option<PathBuf>,
    /// How the root was made.
    pub method: RootMethod,
    /// The image's layers.
    pub image: ImageSnapshot,
}

/// What [`SnapshotStore::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotGcReport {
    /// The diff IDs of the layer directories removed.
    pub layers: Vec<Digest>,
    /// Leftovers of interrupted unpacks removed from `tmp/`.
    pub temporaries: usize,
    /// References of containers whose directory is gone, removed.
    pub stale_refs: usize,
}

/// A directory of layer snapshots and the container roots made of them.
///
/// On disk, under the store's directory:
/// - `layers/<algorithm>-<hex>/`: one layer's changes, whiteouts in the
///   overlay format ([`WhiteoutMode::Overlay`](crate::WhiteoutMode::Overlay));
///   only ever made whole by a rename from `tmp/`.
/// - `refs/<algorithm>-<hex>/`: one empty file per user of the layer,
///   `image-<algorithm>-<hex>` for an image manifest and `container-<id>`
///   for a container; a layer with none is collected by [`SnapshotStore::gc`].
/// - `locks/<algorithm>-<hex>.lock`: the `flock` taken while a layer is
///   unpacked, referenced or collected, so processes sharing the store
///   never unpack a layer twice nor collect one being referenced.
/// - `containers/<id>/`: `rootfs` (the overlay mount point or the copy),
///   `upper` and `work` for overlayfs, and `method`, which says which.
/// - `tmp/`: unpacks in progress; what an interrupted one left is removed
///   by [`SnapshotStore::gc`].
///
/// One store belongs to one user: a root store records opaque
/// directories in `trusted.overlay.opaque`, a rootless one in
/// `user.overlay.opaque`.
///
/// # Security
/// Layers are unpacked by [`unpack`](crate::unpack), with its guarantees,
/// into a temporary directory, synced and renamed into place only when
/// both the blob digest and the diff ID verified: a layer directory is
/// never partial. Extended attributes of overlayfs that a layer carries
/// are dropped, so a layer cannot set redirects or metacopy. Layer
/// directories are shared read-only lowers: nothing this type does writes
/// to one after it is committed, but a caller with the path can.
///
/// # Example
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ocikit_image::{Layout, SnapshotOptions, SnapshotStore};
/// let layout = Layout::open("layout")?;
/// let store = SnapshotStore::open("/var/lib/example/snapshots")?;
/// let root = store.prepare(&layout, &layout.resolve("v1")?, "web-1", &SnapshotOptions::new())?;
/// println!("{} ({:?})", root.rootfs.display(), root.method);
/// store.remove_container("web-1")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    pub(super) root: PathBuf,
}

impl SnapshotStore {
    /// Opens the store at `path`, creating it and its folders as needed.
    ///
    /// # Errors
    /// [`Error::Io`] when a folder cannot be made.
    pub fn open(path: impl AsRef<Path>) -> Result<SnapshotStore, Error> {
        let root = path.as_ref().to_owned();
        for sub in ["layers", "refs", "locks", "containers", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        }
        Ok(SnapshotStore { root })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory of the layer with diff ID `diff_id` (which may not
    /// exist).
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for a digest algorithm other than
    /// sha256, sha512 and blake3.
    pub fn layer_dir(&self, diff_id: &Digest) -> Result<PathBuf, Error> {
        Ok(self.root.join("layers").join(key(diff_id)?))
    }

    /// The diff IDs of the layers in the store, sorted.
    ///
    /// # Errors
    /// [`Error::Io`] when `layers/` cannot be read.
    pub fn layers(&self) -> Result<Vec<Digest>, Error> {
        Ok(list(&self.root.join("layers"))?
            .iter()
            .filter_map(|p| digest_of(p))
            .collect())
    }

    /// Unpacks the layers of the image manifest `manifest` (a manifest,
    /// not an index: see [`Layout::resolve_platform`]) that the store
    /// lacks, and records the image as a user of each, so [`Self::gc`]
    /// keeps them until [`Self::remove_image`].
    ///
    /// Each layer is unpacked at most once, also when other threads or
    /// processes add images with the same layer at the same time: they
    /// wait on the layer's lock and find it done.
    ///
    /// # Errors
    /// [`Error::Layer`] with the unpack's error (a digest mismatch
    /// included), [`Error::MissingDiffId`], read errors of the layout.
    pub fn add_image(
        &self,
        layout: &Layout,
        manifest: &Descriptor,
        options: &SnapshotOptions,
    ) -> Result<ImageSnapshot, Error> {
        self.add_image_for(layout, manifest, options, None)
    }

    fn add_image_for(
        &self,
        layout: &Layout,
        manifest: &Descriptor,
        options: &SnapshotOptions,
        container: Option<&str>,
    ) -> Result<ImageSnapshot, Error> {
        let span = tracing::debug_span!("snapshot image", manifest = %manifest.digest);
        let _enter = span.enter();
        let m: Raw<ImageManifest> = layout.read_document(manifest)?;
        let config: Raw<ImageConfiguration> = layout.read_document(&m.value().config)?;
        let mut holders = vec![image_holder(&manifest.digest)?];
        holders.extend(container.map(container_holder));
        let mut snap = ImageSnapshot {
            manifest: manifest.digest.clone(),
            layers: Vec::new(),
            layer_dirs: Vec::new(),
            unpacked: Vec::new(),
        };
        for (i, desc) in m.value().layers.iter().enumerate() {
            if desc.media_type == MediaType::EmptyJson {
                continue;
            }
            let diff_id =
                config
                    .value()
                    .rootfs
                    .diff_ids
                    .get(i)
                    .ok_or_else(|| Error::MissingDiffId {
                        manifest: manifest.digest.clone(),
                        layer: desc.digest.clone(),
                    })?;
            if layer::ensure(&self.root, layout, desc, diff_id, &options.unpack, &holders)? {
                snap.unpacked.push(diff_id.clone());
            }
            snap.layer_dirs.push(self.layer_dir(diff_id)?);
            snap.layers.push(diff_id.clone());
        }
        Ok(snap)
    }

    /// Drops the image manifest `manifest`'s claim on its layers; the
    /// layers no image or container uses go at the next [`Self::gc`].
    /// Returns how many layers it was a user of.
    ///
    /// # Errors
    /// [`Error::Io`] when a reference cannot be removed.
    pub fn remove_image(&self, manifest: &Digest) -> Result<usize, Error> {
        layer::drop_refs(&self.root, &image_holder(manifest)?)
    }

    /// Makes the root filesystem of a new container `id` from the image
    /// manifest `manifest`: its layers are added as by [`Self::add_image`]
    /// (and used by the container too), then mounted with overlayfs
    /// (read-only lowers, topmost first, a fresh upper and work directory)
    /// or, where that cannot be used or [`RootStrategy::Copy`] asks, copied
    /// in order with the whiteouts applied. [`PreparedRoot::method`] says
    /// which, and why a copy.
    ///
    /// # Errors
    /// [`Error::BadContainerId`] for an id that is not 1 to 128 of
    /// `[A-Za-z0-9_.-]` starting with a letter or digit, or is in use; the
    /// errors of [`Self::add_image`]; [`Error::Io`] when the directories,
    /// the mount or the copy fail. On error nothing of the container is
    /// left.
    pub fn prepare(
        &self,
        layout: &Layout,
        manifest: &Descriptor,
        id: &str,
        options: &SnapshotOptions,
    ) -> Result<PreparedRoot, Error> {
        check_id(id)?;
        let dir = self.root.join("containers").join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::BadContainerId {
                    id: id.to_owned(),
                    expected: "an id not in use in the snapshot store",
                })
            }
            Err(e) => return Err(Error::io("create directory", &dir, e)),
        }
        self.prepare_in(layout, manifest, id, options, &dir)
            .inspect_err(|_| {
                if let Err(e) = self.remove_container(id) {
                    tracing::warn!(id, error = %e, "cleaning up a failed prepare");
                }
            })
    }

    fn prepare_in(
        &self,
        layout: &Layout,
        manifest: &Descriptor,
        id: &str,
        options: &SnapshotOptions,
        dir: &Path,
    ) -> Result<PreparedRoot, Error> {
        let image = self.add_image_for(layout, manifest, options, Some(id))?;
        let dirs = ContainerDirs {
            rootfs: dir.join("rootfs"),
            upper: dir.join("upper"),
            work: dir.join("work"),
        };
        for (path, mode) in [
            (&dirs.rootfs, 0o755),
            (&dirs.upper, 0o755),
            (&dirs.work, 0o700),
        ] {
            std::fs::create_dir(path).map_err(|e| Error::io("create directory", path, e))?;
            layer::set_mode(path, mode)?;
        }
        let rootless = options.unpack.is_rootless();
        let method = make_root(&image.layer_dirs, &dirs, options.strategy, rootless)?;
        let name = match method {
            RootMethod::Overlay => "overlay",
            RootMethod::Copy(_) => "copy",
        };
        crate::write_atomic(dir.join("method"), name.as_bytes())?;
        Ok(PreparedRoot {
            id: id.to_owned(),
            rootfs: dirs.rootfs,
            upper: (method == RootMethod::Overlay).then_some(dirs.upper),
            method,
            image,
        })
    }

    /// Removes the container `id`: unmounts its root, deletes its
    /// directory (its writes with it) and drops its claim on the layers,
    /// which stay. Returns false when there was no such container.
    ///
    /// # Errors
    /// [`Error::BadContainerId`], and [`Error::Io`] when the root is busy
    /// or a file cannot be removed.
    pub fn remove_container(&self, id: &str) -> Result<bool, Error> {
        check_id(id)?;
        let dir = self.root.join("containers").join(id);
        let existed = dir.exists();
        if existed {
            let rootfs = dir.join("rootfs");
            match rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::empty()) {
                // EINVAL: not a mount point (a copy, or never mounted).
                Ok(()) | Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(Error::io("unmount", &rootfs, e.into())),
            }
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", &dir, e))?;
        }
        layer::drop_refs(&self.root, &container_holder(id))?;
        Ok(existed)
    }
}

/// The diff ID a layer directory is named for.
pub(super) fn digest_of(path: &Path) -> Option<Digest> {
    let name = path.file_name()?.to_str()?;
    let (alg, hex) = name.split_once('-')?;
    format!("{alg}:{hex}").parse().ok()
}

fn check_id(id: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&id.len())
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadContainerId {
            id: id.to_owned(),
            expected: "1 to 128 of [A-Za-z0-9_.-], starting with a letter or digit",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_are_checked() {
        for good in ["a", "web-1", "A.b_c"] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "-x", "a/b", "a b", &"x".repeat(129)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn layer_names_round_trip() {
        let d = Digest::sha256(b"x");
        let path = Path::new("/s/layers").join(key(&d).unwrap());
        assert_eq!(digest_of(&path), Some(d));
    }
}
