//! OCI image layouts on disk: a content-addressed blob store that verifies
//! on read and write, layer packing and unpacking, and image building.
//!
//! **Status:** this crate is being written (issue 3). Today it only
//! re-exports [`oci_types`], which models the documents it will store.
//!
//! ```
//! use oci_image::oci_types::{Digest, Document, OciLayout};
//! let marker = OciLayout::new();
//! marker.validate()?;
//! assert_eq!(Digest::sha256(b"").algorithm(), "sha256");
//! # Ok::<(), oci_image::oci_types::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

pub use oci_types;
