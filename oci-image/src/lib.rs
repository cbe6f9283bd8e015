//! OCI images on disk: image layouts with a content-addressed blob store
//! that verifies on read and write, layer packing and unpacking, image
//! building, runtime bundles, and the tar forms images travel in.
//!
//! - [`Layout`]: create, open and check an [image layout]; blobs are written
//!   through the hasher to a temp file, verified, synced and renamed into
//!   place, and verified again on read; `index.json` changes are atomic and
//!   locked between processes; tags, resolution, [`Layout::gc`], and
//!   [`Layout::verify`], which checks every blob and reference.
//! - [`pack`] / [`unpack`]: layers as tar, gzip or zstd streams, with both
//!   the blob digest and the diff ID computed in the same pass, whiteouts
//!   applied per [layer.md], and every filesystem operation confined to the
//!   root directory (see the Security section of [`unpack`]).
//! - [`ImageBuilder`], [`write_index`]: images from scratch or on a base,
//!   and multi-platform indexes.
//! - [`create_bundle`], [`create_bundle_with`]: an image (or the platform's
//!   image of an index) as an OCI runtime bundle (`rootfs` and a
//!   `config.json` converted as [conversion.md] says), made all or nothing.
//! - [`SnapshotStore`]: layer snapshots, each layer unpacked once into a
//!   directory named by its diff ID (whiteouts in the overlay format,
//!   [`WhiteoutMode::Overlay`]) under a per-layer file lock, into a
//!   temporary directory that is synced and renamed only once both digests
//!   verified; container roots as overlayfs mounts of those directories
//!   with a fresh upper and work directory, or a copy where overlayfs
//!   cannot be used ([`RootMethod`] says which and why); reference files
//!   per image and container, and [`SnapshotStore::gc`].
//! - [`export_layout`] / [`import_layout`], [`export_docker`] /
//!   [`import_docker`]: layouts in a tar and the `docker save` format.
//!
//! Not here: registries (`ocikit-distribution`) and running containers
//! (`ocikit-runtime`).
//!
//! Not yet: unpacking a layer into its snapshot while it downloads, and
//! collecting snapshots from [`Layout::gc`] (the store has its own gc).
//!
//! Platforms: unpacking ([`unpack`] and its options), bundles
//! ([`create_bundle`]) and snapshots ([`SnapshotStore`]) are Linux-only,
//! as they resolve every path with `openat2(RESOLVE_IN_ROOT)` (snapshots
//! mount overlayfs too); everything else builds on any Unix, and
//! [`pack`] records extended attributes on Linux only.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `gzip` | yes | gzip layers (flate2 with the zlib-rs backend) |
//! | `zstd` | yes | zstd layers |
//!
//! # Example
//!
//! Build an image from a directory, store it in a layout, and unpack it
//! again with both of its digests checked:
//!
//! ```
//! use ocikit_image::{create_bundle, ImageBuilder, Layout, PackOptions, UnpackOptions};
//! use ocikit_types::Platform;
//!
//! let tmp = tempfile::tempdir()?;
//! let src = tmp.path().join("src");
//! std::fs::create_dir_all(src.join("etc"))?;
//! std::fs::write(src.join("etc/motd"), "hello from an image\n")?;
//!
//! let layout = Layout::create(tmp.path().join("layout"))?;
//! let mut image = ImageBuilder::new(&layout, Platform::new("linux", "amd64"));
//! image.add_layer_from_dir(&src, &PackOptions::new(), Some("COPY src /"))?;
//! image.config_mut().cmd = Some(vec!["/bin/sh".into()]);
//! let manifest = image.write()?;
//! layout.tag("v1", manifest)?;
//!
//! let bundle = tmp.path().join("bundle");
//! let report = create_bundle(&layout, &layout.resolve("v1")?, &bundle, &UnpackOptions::new())?;
//! assert_eq!(std::fs::read_to_string(bundle.join("rootfs/etc/motd"))?, "hello from an image\n");
//! assert_eq!(report.spec.process.unwrap().args, ["/bin/sh"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [image layout]: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
//! [layer.md]: https://github.com/opencontainers/image-spec/blob/main/layer.md
//! [conversion.md]: https://github.com/opencontainers/image-spec/blob/main/conversion.md
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod archive;
mod atomic;
mod blob;
mod build;
#[cfg(target_os = "linux")]
mod bundle;
mod error;
mod gc;
mod layer;
mod layout;
#[cfg(target_os = "linux")]
mod snapshot;
mod verify;

pub use archive::{export_docker, export_layout, import_docker, import_layout};
pub use atomic::{install_file, write_atomic};
pub use blob::{BlobReader, BlobWriter, Verification, Verifier};
pub use build::{rfc3339_utc, write_index, ImageBuilder};
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub use bundle::{create_bundle, create_bundle_with, runtime_config, BundleOptions, BundleReport};
pub use error::{Error, LayerDigestKind};
pub use gc::{GcMode, GcReport, DEFAULT_TEMP_MIN_AGE};
pub use layer::{
    detect_compression, pack, pack_diff, source_date_epoch, Decompressor, Ownership, PackOptions,
    PackReport, WhiteoutStyle,
};
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub use layer::{unpack, IdMap, IdMapping, Privileges, UnpackOptions, UnpackReport, WhiteoutMode};
pub use layout::Layout;
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub use snapshot::{
    CopyReason, ImageSnapshot, PreparedRoot, RootMethod, RootStrategy, SnapshotGcReport,
    SnapshotOptions, SnapshotStore,
};
pub use verify::{Problem, Referrer, VerifyReport};
