//! Media types of OCI and Docker documents and layers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// How a layer's tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878).
    Zstd,
}

macro_rules! media_types {
    ($($(#[$doc:meta])* $variant:ident => $s:literal,)*) => {
        /// A media type: every one the OCI and Docker formats define, a few
        /// well-known artifact types, and [`MediaType::Other`] for the rest.
        ///
        /// Parsing checks the RFC 6838 grammar the image-spec schema uses
        /// (`type/subtype`, each 1 to 127 characters of
        /// `[A-Za-z0-9!#$&^_.+-]` starting with a letter or digit).
        ///
        /// ```
        /// use ocikit_types::{Compression, MediaType};
        /// let m: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd".parse()?;
        /// assert_eq!(m, MediaType::ImageLayerZstd);
        /// assert_eq!(m.layer_compression(), Some(Compression::Zstd));
        /// let other: MediaType = "application/vnd.example+type".parse()?;
        /// assert!(matches!(other, MediaType::Other(_)));
        /// assert!("application".parse::<MediaType>().is_err());
        /// # Ok::<(), ocikit_types::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum MediaType {
            $($(#[$doc])* $variant,)*
            /// Any other media type that follows the grammar.
            Other(String),
        }

        impl MediaType {
            /// The media type string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(MediaType::$variant => $s,)*
                    MediaType::Other(s) => s,
                }
            }

            fn known(s: &str) -> Option<Self> {
                match s {
                    $($s => Some(MediaType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

media_types! {
    /// `application/vnd.oci.descriptor.v1+json`
    Descriptor => "application/vnd.oci.descriptor.v1+json",
    /// `application/vnd.oci.layout.header.v1+json`, the `oci-layout` file.
    LayoutHeader => "application/vnd.oci.layout.header.v1+json",
    /// `application/vnd.oci.image.index.v1+json`
    ImageIndex => "application/vnd.oci.image.index.v1+json",
    /// `application/vnd.oci.image.manifest.v1+json`
    ImageManifest => "application/vnd.oci.image.manifest.v1+json",
    /// `application/vnd.oci.image.config.v1+json`
    ImageConfig => "application/vnd.oci.image.config.v1+json",
    /// `application/vnd.oci.image.layer.v1.tar`
    ImageLayer => "application/vnd.oci.image.layer.v1.tar",
    /// `application/vnd.oci.image.layer.v1.tar+gzip`
    ImageLayerGzip => "application/vnd.oci.image.layer.v1.tar+gzip",
    /// `application/vnd.oci.image.layer.v1.tar+zstd`
    ImageLayerZstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar` (deprecated)
    ImageLayerNonDistributable => "application/vnd.oci.image.layer.nondistributable.v1.tar",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+gzip` (deprecated)
    ImageLayerNonDistributableGzip => "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+zstd` (deprecated)
    ImageLayerNonDistributableZstd => "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    /// `application/vnd.oci.empty.v1+json`, the `{}` blob of artifacts.
    EmptyJson => "application/vnd.oci.empty.v1+json",
    /// `application/vnd.docker.distribution.manifest.v2+json`
    DockerManifest => "application/vnd.docker.distribution.manifest.v2+json",
    /// `application/vnd.docker.distribution.manifest.list.v2+json`
    DockerManifestList => "application/vnd.docker.distribution.manifest.list.v2+json",
    /// `application/vnd.docker.distribution.manifest.v1+json` (schema 1, read-only history)
    DockerManifestSchema1 => "application/vnd.docker.distribution.manifest.v1+json",
    /// `application/vnd.docker.distribution.manifest.v1+prettyjws` (signed schema 1)
    DockerManifestSchema1Signed => "application/vnd.docker.distribution.manifest.v1+prettyjws",
    /// `application/vnd.docker.container.image.v1+json`
    DockerConfig => "application/vnd.docker.container.image.v1+json",
    /// `application/vnd.docker.image.rootfs.diff.tar.gzip`
    DockerLayerGzip => "application/vnd.docker.image.rootfs.diff.tar.gzip",
    /// `application/vnd.docker.image.rootfs.foreign.diff.tar.gzip`
    DockerForeignLayerGzip => "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    /// `application/vnd.docker.plugin.v1+json`
    DockerPluginConfig => "application/vnd.docker.plugin.v1+json",
    /// `application/vnd.cncf.helm.config.v1+json`
    HelmConfig => "application/vnd.cncf.helm.config.v1+json",
    /// `application/vnd.cncf.helm.chart.content.v1.tar+gzip`
    HelmChartContent => "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    /// `application/vnd.cncf.helm.chart.provenance.v1.prov`
    HelmChartProvenance => "application/vnd.cncf.helm.chart.provenance.v1.prov",
    /// `application/vnd.dev.cosign.simplesigning.v1+json`, a cosign signature payload.
    CosignSimpleSigning => "application/vnd.dev.cosign.simplesigning.v1+json",
    /// `application/vnd.dev.cosign.artifact.sig.v1+json`, cosign's signature artifact type.
    CosignSignature => "application/vnd.dev.cosign.artifact.sig.v1+json",
    /// `application/vnd.dev.sigstore.bundle.v0.3+json`, a sigstore bundle.
    SigstoreBundle => "application/vnd.dev.sigstore.bundle.v0.3+json",
    /// `application/vnd.cncf.notary.signature`, a Notation signature artifact.
    NotarySignature => "application/vnd.cncf.notary.signature",
    /// `application/vnd.in-toto+json`, an in-toto attestation.
    InToto => "application/vnd.in-toto+json",
    /// `application/spdx+json`, an SPDX SBOM.
    SpdxJson => "application/spdx+json",
    /// `application/vnd.cyclonedx+json`, a CycloneDX SBOM.
    CycloneDxJson => "application/vnd.cyclonedx+json",
}

fn check_part(part: &str) -> bool {
    let b = part.as_bytes();
    !b.is_empty()
        && b.len() <= 127
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
}

/// Checks the RFC 6838 grammar used by the image-spec schema.
pub(crate) fn check_grammar(s: &str) -> Result<(), Error> {
    let ok = match s.split_once('/') {
        Some((t, sub)) => check_part(t) && check_part(sub),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidMediaType {
            input: s.to_owned(),
            expected: "`type/subtype`, each 1-127 of [A-Za-z0-9!#$&^_.+-] starting alphanumeric",
        })
    }
}

impl MediaType {
    /// True for image manifests (OCI or Docker schema 2).
    pub fn is_manifest(&self) -> bool {
        matches!(self, MediaType::ImageManifest | MediaType::DockerManifest)
    }

    /// True for indexes (OCI image index or Docker manifest list).
    pub fn is_index(&self) -> bool {
        matches!(self, MediaType::ImageIndex | MediaType::DockerManifestList)
    }

    /// True for image configurations (OCI or Docker).
    pub fn is_config(&self) -> bool {
        matches!(self, MediaType::ImageConfig | MediaType::DockerConfig)
    }

    /// True for filesystem layers: the OCI and Docker layer types, and any
    /// other `application/vnd.oci.image.layer.*` type.
    pub fn is_layer(&self) -> bool {
        self.layer_compression().is_some()
            || matches!(self, MediaType::Other(s) if s.starts_with("application/vnd.oci.image.layer."))
    }

    /// True for the deprecated non-distributable (foreign) layer types, whose
    /// blobs may live only at the descriptor's `urls`.
    pub fn is_non_distributable(&self) -> bool {
        matches!(
            self,
            MediaType::ImageLayerNonDistributable
                | MediaType::ImageLayerNonDistributableGzip
                | MediaType::ImageLayerNonDistributableZstd
                | MediaType::DockerForeignLayerGzip
        )
    }

    /// The compression of a known layer type, or `None` when this is not a
    /// layer type this crate knows.
    pub fn layer_compression(&self) -> Option<Compression> {
        match self {
            MediaType::ImageLayer | MediaType::ImageLayerNonDistributable => {
                Some(Compression::None)
            }
            MediaType::ImageLayerGzip
            | MediaType::ImageLayerNonDistributableGzip
            | MediaType::DockerLayerGzip
            | MediaType::DockerForeignLayerGzip => Some(Compression::Gzip),
            MediaType::ImageLayerZstd | MediaType::ImageLayerNonDistributableZstd => {
                Some(Compression::Zstd)
            }
            _ => None,
        }
    }

    /// True for Docker-defined media types.
    pub fn is_docker(&self) -> bool {
        self.as_str().starts_with("application/vnd.docker.")
    }

    /// The OCI media type that corresponds to a Docker schema 2 one (manifest,
    /// manifest list, config, layers); `self` for everything else.
    pub fn to_oci(&self) -> MediaType {
        match self {
            MediaType::DockerManifest => MediaType::ImageManifest,
            MediaType::DockerManifestList => MediaType::ImageIndex,
            MediaType::DockerConfig => MediaType::ImageConfig,
            MediaType::DockerLayerGzip => MediaType::ImageLayerGzip,
            MediaType::DockerForeignLayerGzip => MediaType::ImageLayerNonDistributableGzip,
            other => other.clone(),
        }
    }

    /// The OCI layer media type for a compression.
    pub fn layer(compression: Compression) -> MediaType {
        match compression {
            Compression::None => MediaType::ImageLayer,
            Compression::Gzip => MediaType::ImageLayerGzip,
            Compression::Zstd => MediaType::ImageLayerZstd,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(m) = MediaType::known(s) {
            return Ok(m);
        }
        check_grammar(s)?;
        Ok(MediaType::Other(s.to_owned()))
    }
}

impl TryFrom<String> for MediaType {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        if let Some(m) = MediaType::known(&s) {
            return Ok(m);
        }
        check_grammar(&s)?;
        Ok(MediaType::Other(s))
    }
}

impl TryFrom<&str> for MediaType {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        s.parse()
    }
}

impl AsRef<str> for MediaType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if let Some(m) = MediaType::known(&s) {
            return Ok(m);
        }
        check_grammar(&s).map_err(serde::de::Error::custom)?;
        Ok(MediaType::Other(s.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classifies() {
        assert!(MediaType::DockerManifestList.is_index());
        assert!(MediaType::DockerLayerGzip.is_layer());
        assert_eq!(
            MediaType::DockerForeignLayerGzip.to_oci(),
            MediaType::ImageLayerNonDistributableGzip
        );
        assert!(!MediaType::ImageConfig.is_layer());
        let m: MediaType = "application/vnd.oci.image.layer.v1.tar+foo"
            .parse()
            .unwrap();
        assert!(m.is_layer());
        assert_eq!(m.layer_compression(), None);
    }

    #[test]
    fn grammar() {
        for bad in [
            "application",
            "/json",
            "application/",
            "foo/.bar",
            "a/b/c",
            "ä/b",
            "",
        ] {
            assert!(bad.parse::<MediaType>().is_err(), "{bad:?}");
        }
        let long = format!("a/{}", "b".repeat(128));
        assert!(long.parse::<MediaType>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(s in "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,20}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,40}") {
            let m: MediaType = s.parse().unwrap();
            prop_assert_eq!(m.to_string(), s.clone());
            let j = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<MediaType>(&j).unwrap(), m);
        }

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<MediaType>();
        }
    }
}
