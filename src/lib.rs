//! ocikit: the Open Container Initiative image format, registry protocol and
//! container runtime, as an embeddable Rust library.
//!
//! This facade only re-exports the workspace's crates, one path to each
//! type (`ocikit::types::Digest`):
//!
//! | module | crate | feature | what it does |
//! |---|---|---|---|
//! | [`types`] | `ocikit-types` | always | typed, validated models of every OCI document |
//! | `image` | `ocikit-image` | `image` | image layouts, blob store, layers, image building |
//! | `distribution` | `ocikit-distribution` | `distribution` | registry client |
//! | `registry` | `ocikit-registry` | `registry` | registry server, embeddable or as a binary |
//! | `runtime` | `ocikit-runtime` | `runtime` | Linux container runtime engine |
//!
//! The default features are `full` (`image`, `distribution` and `runtime`),
//! `gzip`, `zstd` and `rustls`. With `default-features = false`, each
//! feature builds only what it needs:
//!
//! | feature | brings |
//! |---|---|
//! | `image` | `ocikit::image`, with uncompressed layers only |
//! | `gzip`, `zstd` | layers in that compression (and `image`) |
//! | `distribution` | `ocikit::distribution` (and `image`); plain HTTP only without a TLS feature |
//! | `rustls` | TLS for the registry client through rustls and the webpki roots |
//! | `native-tls` | TLS through the platform's library (OpenSSL on Linux) instead |
//! | `blocking` | `ocikit::distribution::blocking`, a client without an async runtime |
//! | `registry` | `ocikit::registry`, the registry server (not in `full`) |
//! | `registry-proxy` | the registry server's pull-through cache (and `registry`, `rustls`) |
//! | `registry-s3` | the registry server's S3-compatible storage (and `registry`) |
//! | `runtime` | `ocikit::runtime`, the Linux container engine |
//! | `runtime-tokio` | `ocikit::runtime::AsyncRuntime`, the engine's lifecycle as futures on tokio (and `runtime`) |
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

pub use ocikit_types as types;

#[cfg(feature = "image")]
#[cfg_attr(docsrs, doc(cfg(feature = "image")))]
pub use ocikit_image as image;

#[cfg(feature = "distribution")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
pub use ocikit_distribution as distribution;

#[cfg(feature = "registry")]
#[cfg_attr(docsrs, doc(cfg(feature = "registry")))]
pub use ocikit_registry as registry;

#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub use ocikit_runtime as runtime;
