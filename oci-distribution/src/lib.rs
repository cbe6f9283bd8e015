//! An async client of the OCI distribution specification: pull, push,
//! mount, referrers and tags against any registry.
//!
//! **Status:** this crate is being written (issue 4). Today it only
//! re-exports [`oci_types`], which models the documents it will exchange.
//!
//! ```
//! use oci_distribution::oci_types::MediaType;
//! assert!(MediaType::ImageManifest.is_manifest());
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

pub use oci_types;
