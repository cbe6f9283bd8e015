//! A busybox image built by ocikit's own image builder, as an OCI layout
//! and as archives, for the engines to import.

use std::path::{Path, PathBuf};

use ocikit_image::Layout;
use ocikit_types::Descriptor;

/// The tag of the image in its layout.
pub(crate) const TAG: &str = "latest";

/// A one-layer busybox image in an OCI layout in a temp dir.
pub(crate) struct BusyboxImage {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) layout: Layout,
    pub(crate) manifest: Descriptor,
}

impl BusyboxImage {
    pub(crate) fn build(test: &str) -> BusyboxImage {
        let (dir, layout) = testkit::temp::layout(&format!("{test}-image"));
        let manifest = testkit::busybox::image(&layout, dir.path(), |_| {});
        layout.tag(TAG, manifest.clone()).unwrap();
        BusyboxImage {
            dir,
            layout,
            manifest,
        }
    }

    pub(crate) fn layout_dir(&self) -> &Path {
        self.layout.path()
    }

    /// A `docker save` archive naming the image `name` (`repo:tag`).
    pub(crate) fn docker_archive(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join("docker-archive.tar");
        let f = std::fs::File::create(&path).unwrap();
        ocikit_image::export_docker(&self.layout, &self.manifest, &[name.to_owned()], f).unwrap();
        path
    }

    /// The layout as an OCI archive (a tar of the layout).
    #[allow(dead_code)]
    pub(crate) fn oci_archive(&self) -> PathBuf {
        let path = self.dir.path().join("oci-archive.tar");
        let f = std::fs::File::create(&path).unwrap();
        ocikit_image::export_layout(&self.layout, f).unwrap();
        path
    }
}
