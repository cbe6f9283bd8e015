//! Image manifests (`manifest.md`) and image indexes (`image-index.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Validator;
use crate::{Descriptor, DocumentKind, Error, MediaType};

/// An image manifest: a configuration and an ordered list of layers, or an
/// artifact (`manifest.md`).
///
/// ```
/// use ocikit_types::{Descriptor, Document, ImageManifest};
/// // An artifact: empty config, one layer, and an artifact type.
/// let mut m = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()]);
/// m.artifact_type = Some("application/vnd.example.sbom+json".parse()?);
/// m.validate()?;
/// assert_eq!(m.effective_artifact_type().as_str(), "application/vnd.example.sbom+json");
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageManifest {
    /// REQUIRED. MUST be `2`.
    pub schema_version: u32,
    /// SHOULD be `application/vnd.oci.image.manifest.v1+json`; when present it
    /// MUST be that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// OPTIONAL. The artifact's type; MUST be set when `config.mediaType` is
    /// the empty media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// REQUIRED. The configuration blob.
    pub config: Descriptor,
    /// The layers, base first. The schema requires at least one entry;
    /// artifacts without content use [`Descriptor::empty`].
    pub layers: Vec<Descriptor>,
    /// OPTIONAL. The manifest this one refers to (referrers API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// OPTIONAL. Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields this crate does not know, kept so that nothing is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ImageManifest {
    /// A manifest with the OCI media type, `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        ImageManifest {
            schema_version: 2,
            media_type: Some(MediaType::ImageManifest),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }

    /// The artifact type as the referrers API reports it: `artifactType`,
    /// else `config.mediaType` (distribution-spec, "Listing Referrers").
    pub fn effective_artifact_type(&self) -> &MediaType {
        self.artifact_type
            .as_ref()
            .unwrap_or(&self.config.media_type)
    }
}

fn check_schema_version(v: &mut Validator, found: u32) {
    if found != 2 {
        v.report_field("schemaVersion", "2", found.to_string());
    }
}

fn check_media_type(v: &mut Validator, found: &Option<MediaType>, expected: &MediaType) {
    if let Some(m) = found {
        if m != expected {
            v.report_field("mediaType", expected.to_string(), m.to_string());
        }
    }
}

fn check_descriptors(v: &mut Validator, name: &str, list: &[Descriptor]) {
    v.field(name, |v| {
        for (i, d) in list.iter().enumerate() {
            v.index(i, |v| d.check(v));
        }
    });
}

impl Document for ImageManifest {
    const KIND: DocumentKind = DocumentKind::ImageManifest;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        check_schema_version(&mut v, self.schema_version);
        check_media_type(&mut v, &self.media_type, &MediaType::ImageManifest);
        v.field("config", |v| self.config.check(v));
        if self.config.media_type == MediaType::EmptyJson && self.artifact_type.is_none() {
            v.report_field(
                "artifactType",
                "an artifact type, since config.mediaType is the empty media type",
                "none",
            );
        }
        if self.layers.is_empty() {
            v.report_field(
                "layers",
                "at least one layer (image-manifest-schema.json minItems 1)",
                "an empty list",
            );
        }
        check_descriptors(&mut v, "layers", &self.layers);
        if let Some(s) = &self.subject {
            v.field("subject", |v| s.check(v));
        }
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::ImageManifest)
    }
}

/// An image index: a list of manifests, typically one per platform
/// (`image-index.md`). Also the shape of a layout's `index.json` and of a
/// referrers API response.
///
/// ```
/// use ocikit_types::{Document, ImageIndex};
/// let idx = ImageIndex::new(vec![]);
/// idx.validate()?;
/// assert_eq!(String::from_utf8(idx.to_canonical_vec()).unwrap(),
///     r#"{"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#);
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageIndex {
    /// REQUIRED. MUST be `2`.
    pub schema_version: u32,
    /// SHOULD be `application/vnd.oci.image.index.v1+json`; when present it
    /// MUST be that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// OPTIONAL. The artifact's type, when the index is an artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// REQUIRED. The manifests (or nested indexes).
    pub manifests: Vec<Descriptor>,
    /// OPTIONAL. The manifest this index refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// OPTIONAL. Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields this crate does not know, kept so that nothing is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ImageIndex {
    /// An index with the OCI media type and these entries.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        ImageIndex {
            schema_version: 2,
            media_type: Some(MediaType::ImageIndex),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl Document for ImageIndex {
    const KIND: DocumentKind = DocumentKind::ImageIndex;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        check_schema_version(&mut v, self.schema_version);
        check_media_type(&mut v, &self.media_type, &MediaType::ImageIndex);
        check_descriptors(&mut v, "manifests", &self.manifests);
        if let Some(s) = &self.subject {
            v.field("subject", |v| s.check(v));
        }
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::ImageIndex)
    }
}
