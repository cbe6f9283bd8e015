//! OCI image layouts on disk: a content-addressed blob store that verifies
//! on read and write, layer packing and unpacking, and image building.
//!
//! **Status:** being written (issue 3).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod archive;
mod build;
mod bundle;
mod error;
mod gc;
mod layer;
mod layout;

pub use archive::{export_docker, export_layout, import_docker, import_layout};
pub use build::{rfc3339_utc, write_index, ImageBuilder};
pub use bundle::{create_bundle, runtime_config, BundleReport};
pub use error::{Error, LayerDigestKind};
pub use gc::{GcMode, GcReport, DEFAULT_TEMP_MIN_AGE};
pub use layer::{
    detect_compression, pack, pack_diff, source_date_epoch, unpack, Decompressor, IdMap, IdMapping,
    Ownership, PackOptions, PackReport, Privileges, UnpackOptions, UnpackReport, WhiteoutStyle,
};
pub use layout::{BlobReader, BlobWriter, Layout, Verification};
pub use oci_types;
