//! Typed, validated and byte-faithful models of every document of the three
//! Open Container Initiative specifications.
//!
//! `ocikit-types` is the foundation of ocikit: it parses, validates and writes
//! the JSON documents of the [image-spec], [distribution-spec] and
//! [runtime-spec], and the small grammars they use (digests, media types,
//! image references, platforms). Its only I/O is a bundle's `config.json`
//! ([`runtime::Spec::load`] and [`runtime::Spec::save`], through `std::fs`):
//! image layouts, registries and running containers belong to
//! `ocikit-image`, `ocikit-distribution` and `ocikit-runtime`.
//!
//! Three promises hold for every document type:
//! - **Nothing is lost.** Fields this crate does not know are kept in an
//!   `extra` map and written back. [`Raw`] keeps the exact bytes a document
//!   was read from, so its digest is always the digest of those bytes.
//! - **Deterministic output.** [`Document::to_canonical_vec`] writes sorted
//!   keys without whitespace: the same document always has the same digest.
//! - **All violations at once.** Parsing is lenient where a specification
//!   says SHOULD; [`Document::validate`] checks every MUST and reports each
//!   violation with its JSON path, what was expected and what was found.
//!
//! # Example
//!
//! ```
//! use ocikit_types::{Descriptor, Digest, Document, ImageManifest, MediaType, Raw};
//!
//! // Describe a config blob and a layer, build a manifest, and serialise it.
//! let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
//! let config = Descriptor::new(MediaType::ImageConfig, Digest::sha256(config), config.len() as u64);
//! let manifest = ImageManifest::new(config, vec![Descriptor::empty()]);
//! manifest.validate()?;
//! let raw = Raw::from_value(manifest);
//!
//! // Reading the bytes back yields an equal document with the same digest.
//! let again: Raw<ImageManifest> = Raw::parse(raw.bytes().to_vec())?;
//! assert_eq!(again.value(), raw.value());
//! assert_eq!(again.digest(), raw.digest());
//!
//! // A tampered document fails validation with a precise account.
//! let bad = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":3,
//!   "digest":"sha256:5B0BCABD1ED22E9FB1310CF6C2DEC7CDEF19F0AD69EFA1F392E94A4333501270"}"#;
//! let err = Descriptor::from_slice(bad).unwrap_err();
//! assert!(err.to_string().contains("lowercase hex"));
//! # Ok::<(), ocikit_types::Error>(())
//! ```
//!
//! [image-spec]: https://github.com/opencontainers/image-spec
//! [distribution-spec]: https://github.com/opencontainers/distribution-spec
//! [runtime-spec]: https://github.com/opencontainers/runtime-spec
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

pub mod annotation;
mod challenge;
mod config;
mod descriptor;
mod digest;
mod distribution;
mod docker;
mod document;
mod error;
#[cfg(test)]
mod error_chain_tests;
mod io_error;
mod layout;
mod manifest;
mod media_type;
mod platform;
mod reference;
pub mod rfc3339;
pub mod runtime;
mod uri;

pub use challenge::Challenge;
pub use config::{Config, History, ImageConfiguration, RootFs};
pub use descriptor::{Descriptor, MAX_SIZE};
pub use digest::{Algorithm, Digest, Digester};
pub use distribution::{Catalog, ErrorCode, ErrorResponse, RegistryError, TagList};
pub use docker::{AnyManifest, DockerManifest, DockerManifestList};
pub use document::{to_canonical_vec, Document, Raw};
pub use error::{DocumentKind, Error, Violation, Violations};
pub use io_error::IoError;
pub use layout::{OciLayout, LAYOUT_VERSION};
pub use manifest::{ImageIndex, ImageManifest};
pub use media_type::{Compression, MediaType};
pub use platform::Platform;
pub use reference::Reference;
