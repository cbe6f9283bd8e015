//! A Linux container runtime engine for the OCI runtime specification:
//! lifecycle, namespaces, mounts, cgroups, seccomp, hooks and terminals.
//!
//! **Status:** this crate is being written (issue 5). Today it only
//! re-exports [`oci_types`], which models the bundle configuration it will
//! run.
//!
//! ```
//! use oci_runtime::oci_types::Digest;
//! assert!("sha256:x".parse::<Digest>().is_err());
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

pub use oci_types;
