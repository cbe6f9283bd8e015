//! The pre-defined annotation keys of `annotations.md`.
//!
//! Annotation maps are `BTreeMap`s throughout this crate, so documents
//! serialise with their annotations in a fixed order.

/// Date and time the image was built, RFC 3339.
pub const CREATED: &str = "org.opencontainers.image.created";
/// Contact details of the people or organisation responsible for the image.
pub const AUTHORS: &str = "org.opencontainers.image.authors";
/// URL to find more information on the image.
pub const URL: &str = "org.opencontainers.image.url";
/// URL to get documentation on the image.
pub const DOCUMENTATION: &str = "org.opencontainers.image.documentation";
/// URL to get the source code for building the image.
pub const SOURCE: &str = "org.opencontainers.image.source";
/// Version of the packaged software.
pub const VERSION: &str = "org.opencontainers.image.version";
/// Source control revision identifier for the packaged software.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// Name of the distributing entity, organisation or individual.
pub const VENDOR: &str = "org.opencontainers.image.vendor";
/// License(s) under which contained software is distributed, SPDX expression.
pub const LICENSES: &str = "org.opencontainers.image.licenses";
/// Name of the reference for a target; in a layout's `index.json`, the tag.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Human-readable title of the image; for artifacts, a layer's file name.
pub const TITLE: &str = "org.opencontainers.image.title";
/// Human-readable description of the software packaged in the image.
pub const DESCRIPTION: &str = "org.opencontainers.image.description";
/// Digest of the image this image is based on.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// Image reference of the image this image is based on.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
