//! Docker image manifest schema 2 and manifest lists, and their OCI forms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Validator;
use crate::{Descriptor, DocumentKind, Error, ImageIndex, ImageManifest, MediaType};

/// A Docker image manifest, schema 2
/// (`application/vnd.docker.distribution.manifest.v2+json`).
///
/// Registries still serve these for most images built with Docker;
/// [`DockerManifest::to_oci`] gives the equivalent OCI manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DockerManifest {
    /// REQUIRED. MUST be `2`.
    pub schema_version: u32,
    /// REQUIRED. `application/vnd.docker.distribution.manifest.v2+json`.
    pub media_type: MediaType,
    /// REQUIRED. The container configuration.
    pub config: Descriptor,
    /// REQUIRED. The layers, base first.
    pub layers: Vec<Descriptor>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn oci_descriptor(d: &Descriptor) -> Descriptor {
    let mut d = d.clone();
    d.media_type = d.media_type.to_oci();
    d
}

impl DockerManifest {
    /// The OCI image manifest with the same content: media types mapped to
    /// their OCI equivalents, digests and sizes unchanged.
    ///
    /// The result serialises to different bytes, so it has a different
    /// digest than the Docker manifest it came from.
    pub fn to_oci(&self) -> ImageManifest {
        let mut m = ImageManifest::new(
            oci_descriptor(&self.config),
            self.layers.iter().map(oci_descriptor).collect(),
        );
        m.extra = self.extra.clone();
        m
    }
}

impl Document for DockerManifest {
    const KIND: DocumentKind = DocumentKind::DockerManifest;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        if self.schema_version != 2 {
            v.report_field("schemaVersion", "2", self.schema_version.to_string());
        }
        if self.media_type != MediaType::DockerManifest {
            v.report_field(
                "mediaType",
                MediaType::DockerManifest.as_str(),
                self.media_type.as_str(),
            );
        }
        v.field("config", |v| self.config.check(v));
        v.field("layers", |v| {
            for (i, d) in self.layers.iter().enumerate() {
                v.index(i, |v| d.check(v));
            }
        });
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::DockerManifest)
    }
}

/// A Docker manifest list
/// (`application/vnd.docker.distribution.manifest.list.v2+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DockerManifestList {
    /// REQUIRED. MUST be `2`.
    pub schema_version: u32,
    /// REQUIRED. `application/vnd.docker.distribution.manifest.list.v2+json`.
    pub media_type: MediaType,
    /// REQUIRED. One manifest per platform.
    pub manifests: Vec<Descriptor>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl DockerManifestList {
    /// The OCI image index with the same entries, media types mapped.
    pub fn to_oci(&self) -> ImageIndex {
        let mut idx = ImageIndex::new(self.manifests.iter().map(oci_descriptor).collect());
        idx.extra = self.extra.clone();
        idx
    }
}

impl Document for DockerManifestList {
    const KIND: DocumentKind = DocumentKind::DockerManifestList;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        if self.schema_version != 2 {
            v.report_field("schemaVersion", "2", self.schema_version.to_string());
        }
        if self.media_type != MediaType::DockerManifestList {
            v.report_field(
                "mediaType",
                MediaType::DockerManifestList.as_str(),
                self.media_type.as_str(),
            );
        }
        v.field("manifests", |v| {
            for (i, d) in self.manifests.iter().enumerate() {
                v.index(i, |v| d.check(v));
            }
        });
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::DockerManifestList)
    }
}

/// Any manifest-like document a registry may return for a reference,
/// chosen by its `mediaType`.
///
/// ```
/// use ocikit_types::AnyManifest;
/// let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
/// let m = AnyManifest::from_slice(bytes, None)?;
/// assert!(matches!(m, AnyManifest::Index(_)));
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyManifest {
    /// An OCI image manifest.
    Manifest(Box<ImageManifest>),
    /// An OCI image index.
    Index(Box<ImageIndex>),
    /// A Docker schema 2 manifest.
    DockerManifest(Box<DockerManifest>),
    /// A Docker manifest list.
    DockerManifestList(Box<DockerManifestList>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    config: Option<serde::de::IgnoredAny>,
}

impl AnyManifest {
    /// Parses `bytes`, choosing the document type from `content_type` (an
    /// HTTP `Content-Type`, parameters ignored) when given, else from the
    /// document's `mediaType`, else from its shape (`manifests` means an
    /// index, `config` a manifest).
    ///
    /// # Errors
    /// [`Error::MalformedJson`] for bytes that are not such a document, and
    /// [`Error::UnexpectedMediaType`] for another media type.
    pub fn from_slice(bytes: &[u8], content_type: Option<&str>) -> Result<Self, Error> {
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| Error::json::<Probe>(DocumentKind::ImageManifest, bytes, &e))?;
        let declared = content_type
            .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
            .filter(|c| !c.is_empty() && c != "application/json")
            .or(probe.media_type);
        let kind = match declared.as_deref() {
            Some(s) if s == MediaType::ImageManifest.as_str() => 0,
            Some(s) if s == MediaType::ImageIndex.as_str() => 1,
            Some(s) if s == MediaType::DockerManifest.as_str() => 2,
            Some(s) if s == MediaType::DockerManifestList.as_str() => 3,
            None if probe.manifests.is_some() => 1,
            None if probe.config.is_some() => 0,
            other => {
                return Err(Error::UnexpectedMediaType {
                    document: DocumentKind::ImageManifest,
                    expected: "an OCI or Docker schema 2 manifest or index".to_owned(),
                    found: other.unwrap_or("no media type").to_owned(),
                })
            }
        };
        Ok(match kind {
            0 => AnyManifest::Manifest(Box::new(ImageManifest::from_slice(bytes)?)),
            1 => AnyManifest::Index(Box::new(ImageIndex::from_slice(bytes)?)),
            2 => AnyManifest::DockerManifest(Box::new(DockerManifest::from_slice(bytes)?)),
            _ => AnyManifest::DockerManifestList(Box::new(DockerManifestList::from_slice(bytes)?)),
        })
    }

    /// The media type of this document.
    pub fn media_type(&self) -> MediaType {
        match self {
            AnyManifest::Manifest(_) => MediaType::ImageManifest,
            AnyManifest::Index(_) => MediaType::ImageIndex,
            AnyManifest::DockerManifest(_) => MediaType::DockerManifest,
            AnyManifest::DockerManifestList(_) => MediaType::DockerManifestList,
        }
    }

    /// Validates whichever document this is.
    ///
    /// # Errors
    /// [`Error::Invalid`] with every violation.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            AnyManifest::Manifest(m) => m.validate(),
            AnyManifest::Index(m) => m.validate(),
            AnyManifest::DockerManifest(m) => m.validate(),
            AnyManifest::DockerManifestList(m) => m.validate(),
        }
    }

    /// The descriptors this document points to, in document order: the
    /// manifests of an index or manifest list, the config then the layers
    /// of a manifest. A manifest's `subject` is not a child (it is pushed
    /// and pulled on its own).
    ///
    /// ```
    /// use ocikit_types::{AnyManifest, Descriptor, ImageManifest};
    /// let m = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()]);
    /// let any = AnyManifest::Manifest(Box::new(m));
    /// assert_eq!(any.children().len(), 2);
    /// ```
    pub fn children(&self) -> Vec<&Descriptor> {
        match self {
            AnyManifest::Manifest(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            AnyManifest::DockerManifest(m) => std::iter::once(&m.config).chain(&m.layers).collect(),
            AnyManifest::Index(i) => i.manifests.iter().collect(),
            AnyManifest::DockerManifestList(l) => l.manifests.iter().collect(),
        }
    }

    /// True for indexes and manifest lists.
    pub fn is_index(&self) -> bool {
        matches!(
            self,
            AnyManifest::Index(_) | AnyManifest::DockerManifestList(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_manifest_converts_to_oci() {
        let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
          "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,
            "digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
          "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,
            "digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]}"#;
        let m = AnyManifest::from_slice(
            bytes,
            Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
        )
        .unwrap();
        m.validate().unwrap();
        let AnyManifest::DockerManifest(d) = m else {
            panic!("expected a docker manifest")
        };
        let oci = d.to_oci();
        oci.validate().unwrap();
        assert_eq!(oci.config.media_type, MediaType::ImageConfig);
        assert_eq!(oci.layers[0].media_type, MediaType::ImageLayerGzip);
        assert_eq!(oci.layers[0].digest, d.layers[0].digest);
    }

    #[test]
    fn rejects_unknown_manifest_types() {
        let err = AnyManifest::from_slice(br#"{"mediaType":"text/plain"}"#, None).unwrap_err();
        assert!(matches!(err, Error::UnexpectedMediaType { .. }), "{err}");
        assert!(AnyManifest::from_slice(b"[", None).is_err());
    }
}
