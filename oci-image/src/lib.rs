//! OCI image layouts on disk: a content-addressed blob store that verifies
//! on read and write, layer packing and unpacking, and image building.
//!
//! **Status:** being written (issue 3).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod layer;

pub use error::{Error, LayerDigestKind};
pub use layer::{
    detect_compression, pack, pack_diff, source_date_epoch, unpack, Decompressor, IdMap, IdMapping,
    Ownership, PackOptions, PackReport, Privileges, UnpackOptions, UnpackReport, WhiteoutStyle,
};
pub use oci_types;
