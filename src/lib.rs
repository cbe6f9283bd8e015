//! ocikit: the Open Container Initiative image format, registry protocol and
//! container runtime, as an embeddable Rust library.
//!
//! This facade only re-exports the workspace's crates:
//!
//! | module | crate | feature | what it does |
//! |---|---|---|---|
//! | [`types`] | `oci-types` | always | typed, validated models of every OCI document |
//! | `image` | `oci-image` | `image` | image layouts, blob store, layers, image building |
//! | `distribution` | `oci-distribution` | `distribution` | registry client |
//! | `runtime` | `oci-runtime` | `runtime` | Linux container runtime engine |
//!
//! The `full` feature (the default) enables all of them.
//!
//! ```
//! use ocikit::types::Reference;
//! let r: Reference = "busybox".parse()?;
//! assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
//! # Ok::<(), ocikit::types::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

pub use oci_types as types;

#[cfg(feature = "image")]
#[cfg_attr(docsrs, doc(cfg(feature = "image")))]
pub use oci_image as image;

#[cfg(feature = "distribution")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
pub use oci_distribution as distribution;

#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub use oci_runtime as runtime;
