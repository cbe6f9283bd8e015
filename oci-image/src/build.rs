//! Building images: configs, manifests and multi-platform indexes.

use std::collections::BTreeMap;

use ocikit_types::{
    Algorithm, Config, Descriptor, Digest, Document, History, ImageConfiguration, ImageIndex,
    ImageManifest, MediaType, Platform, Raw,
};

use crate::{Error, Layout};

/// Builds an image in a [`Layout`]: from scratch or on top of a base image,
/// layer by layer, with its configuration, history and annotations.
///
/// Nothing is visible in the layout until [`ImageBuilder::write`] stores
/// the config and the manifest (layers are stored as they are added, and
/// are garbage until a manifest refers to them).
///
/// ```
/// use ocikit_image::{ImageBuilder, Layout};
/// use ocikit_types::{Digest, MediaType, Platform};
/// let dir = tempfile::tempdir()?;
/// let layout = Layout::create(dir.path())?;
/// let layer = b"a tar stream would go here";
/// let blob = layout.write_blob(MediaType::ImageLayer, layer)?;
///
/// let mut b = ImageBuilder::new(&layout, Platform::new("linux", "amd64"));
/// b.add_layer(blob, Digest::sha256(layer), Some("ADD rootfs"));
/// b.config_mut().cmd = Some(vec!["/bin/sh".into()]);
/// b.created("2026-01-01T00:00:00Z");
/// let manifest = b.write()?;
/// layout.tag("latest", manifest)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ImageBuilder<'a> {
    layout: &'a Layout,
    config: ImageConfiguration,
    layers: Vec<Descriptor>,
    annotations: BTreeMap<String, String>,
    created: Option<String>,
    algorithm: Algorithm,
}

impl<'a> ImageBuilder<'a> {
    /// An empty image for `platform`.
    pub fn new(layout: &'a Layout, platform: Platform) -> Self {
        let mut config = ImageConfiguration::new(platform.os, platform.architecture);
        config.variant = platform.variant;
        config.os_version = platform.os_version;
        config.os_features = platform.os_features;
        ImageBuilder {
            layout,
            config,
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            created: None,
            algorithm: Algorithm::Sha256,
        }
    }

    /// An image on top of the base image whose manifest `base` describes
    /// (in the same layout): its layers, configuration and history carry
    /// over, and the new manifest records the base in the
    /// `org.opencontainers.image.base.digest` annotation.
    ///
    /// # Errors
    /// [`Error::BlobNotFound`], [`Error::Integrity`] or [`Error::Document`]
    /// when the base cannot be read.
    pub fn from_base(layout: &'a Layout, base: &Descriptor) -> Result<Self, Error> {
        let manifest: Raw<ImageManifest> = layout.read_document(base)?;
        let config: Raw<ImageConfiguration> = layout.read_document(&manifest.value().config)?;
        let mut annotations = BTreeMap::new();
        annotations.insert(
            ocikit_types::annotation::BASE_DIGEST.to_owned(),
            base.digest.to_string(),
        );
        if let Some(name) = base.annotation(ocikit_types::annotation::REF_NAME) {
            annotations.insert(
                ocikit_types::annotation::BASE_NAME.to_owned(),
                name.to_owned(),
            );
        }
        let (_, _, config) = config.into_parts();
        Ok(ImageBuilder {
            layout,
            config,
            layers: manifest.value().layers.clone(),
            annotations,
            created: None,
            algorithm: Algorithm::Sha256,
        })
    }

    /// Appends a layer already stored in the layout, with its diff ID (the
    /// digest of its uncompressed tar) and, optionally, the command that
    /// made it for the history.
    pub fn add_layer(&mut self, blob: Descriptor, diff_id: Digest, created_by: Option<&str>) {
        self.config.rootfs.diff_ids.push(diff_id);
        let mut h = History::default();
        h.created_by = created_by.map(str::to_owned);
        h.created = self.created.clone();
        self.config.history.push(h);
        self.layers.push(blob);
    }

    /// Packs the directory `dir` as a new layer (see [`crate::pack`]),
    /// stores it and appends it. Returns the layer's descriptor.
    ///
    /// # Errors
    /// The errors of [`crate::pack`] and of storing the blob.
    pub fn add_layer_from_dir(
        &mut self,
        dir: impl AsRef<std::path::Path>,
        options: &crate::PackOptions,
        created_by: Option<&str>,
    ) -> Result<Descriptor, Error> {
        let mut w = self.layout.blob_writer(ocikit_types::Algorithm::Sha256)?;
        let report = crate::pack(dir, &mut w, options)?;
        let (stored, _) = w.commit()?;
        if stored != report.blob_digest {
            return Err(Error::LayerDigestMismatch {
                layer: report.blob_digest.clone(),
                kind: crate::LayerDigestKind::Blob,
                expected: report.blob_digest,
                found: stored,
            });
        }
        let desc = Descriptor::new(report.media_type, report.blob_digest, report.size);
        self.add_layer(desc.clone(), report.diff_id, created_by);
        Ok(desc)
    }

    /// Records a history entry that made no layer (`ENV`, `CMD`, ...).
    pub fn add_history(&mut self, created_by: &str) {
        let mut h = History::default();
        h.created_by = Some(created_by.to_owned());
        h.created = self.created.clone();
        h.empty_layer = Some(true);
        self.config.history.push(h);
    }

    /// The execution defaults (Env, Entrypoint, Cmd, WorkingDir, User,
    /// ExposedPorts, Volumes, Labels, StopSignal), to change in place.
    pub fn config_mut(&mut self) -> &mut Config {
        self.config.config.get_or_insert_with(Config::default)
    }

    /// The whole image configuration, to change in place.
    pub fn image_config_mut(&mut self) -> &mut ImageConfiguration {
        &mut self.config
    }

    /// Sets the creation time (RFC 3339) of the image and of history
    /// entries added after this call. Left unset, the image has no
    /// creation time, which keeps builds reproducible.
    pub fn created(&mut self, rfc3339: &str) {
        self.created = Some(rfc3339.to_owned());
        self.config.created = Some(rfc3339.to_owned());
    }

    /// The digest algorithm of the configuration and the manifest (the
    /// layout stores them under it, `blobs/sha512/...` say). Layers keep
    /// the digests they were stored with. Default: SHA-256, which every
    /// tool reads.
    pub fn digest_algorithm(&mut self, algorithm: Algorithm) {
        self.algorithm = algorithm;
    }

    /// Adds an annotation to the manifest.
    pub fn annotate(&mut self, key: &str, value: &str) {
        self.annotations.insert(key.to_owned(), value.to_owned());
    }

    /// Stores the configuration and the manifest, and returns the
    /// manifest's descriptor with the image's platform (ready for
    /// [`Layout::tag`] or [`write_index`]).
    ///
    /// # Errors
    /// [`Error::Document`] when the configuration or manifest breaks a rule
    /// of the specification (such as an `Env` entry without `=`), and
    /// [`Error::Io`].
    pub fn write(self) -> Result<Descriptor, Error> {
        let invalid = |source| Error::Document {
            path: "image being built".to_owned(),
            source,
        };
        self.config.validate().map_err(invalid)?;
        let platform = {
            let mut p = Platform::new(self.config.os.clone(), self.config.architecture.clone());
            p.variant = self.config.variant.clone();
            p.os_version = self.config.os_version.clone();
            p.os_features = self.config.os_features.clone();
            p
        };
        let algorithm = self.algorithm;
        let config =
            Raw::<ImageConfiguration>::parse_with(self.config.to_canonical_vec(), algorithm)
                .map_err(invalid)?;
        let config_desc = self
            .layout
            .write_document(&config, MediaType::ImageConfig)?;
        let layers = if self.layers.is_empty() {
            // The schema requires a layer; an image with no filesystem
            // content gets the empty descriptor, as artifacts do.
            self.layout.write_blob(MediaType::EmptyJson, b"{}")?;
            vec![Descriptor::empty()]
        } else {
            self.layers
        };
        let mut manifest = ImageManifest::new(config_desc, layers);
        manifest.annotations = self.annotations;
        manifest.validate().map_err(invalid)?;
        let manifest = Raw::<ImageManifest>::parse_with(manifest.to_canonical_vec(), algorithm)
            .map_err(invalid)?;
        let mut desc = self
            .layout
            .write_document(&manifest, MediaType::ImageManifest)?;
        desc.platform = Some(platform);
        Ok(desc)
    }
}

/// Stores an image index of `manifests` (typically one per platform, each
/// with its `platform` set) and returns its descriptor.
///
/// # Errors
/// [`Error::BlobNotFound`] when an entry is not in the layout, and
/// [`Error::Io`].
pub fn write_index(layout: &Layout, manifests: Vec<Descriptor>) -> Result<Descriptor, Error> {
    for m in &manifests {
        if !layout.has_blob(&m.digest) {
            return Err(Error::BlobNotFound {
                digest: m.digest.clone(),
            });
        }
    }
    let index = Raw::from_value(ImageIndex::new(manifests));
    layout.write_document(&index, MediaType::ImageIndex)
}

/// Formats seconds since the Unix epoch as an RFC 3339 UTC time, such as
/// the value of `SOURCE_DATE_EPOCH` (see [`ocikit_types::rfc3339`], which
/// also formats fractions and validates).
///
/// ```
/// assert_eq!(ocikit_image::rfc3339_utc(0), "1970-01-01T00:00:00Z");
/// assert_eq!(ocikit_image::rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
/// ```
pub fn rfc3339_utc(epoch_seconds: i64) -> String {
    ocikit_types::rfc3339::format_utc(epoch_seconds, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_images_reproducibly_and_on_bases() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let build = || {
            let blob = layout.write_blob(MediaType::ImageLayer, b"layer").unwrap();
            let mut b = ImageBuilder::new(&layout, Platform::new("linux", "arm64"));
            b.created(&rfc3339_utc(1_700_000_000));
            b.add_layer(blob, Digest::sha256(b"layer"), Some("ADD ."));
            b.config_mut().env = Some(vec!["A=1".into()]);
            b.add_history("ENV A=1");
            b.write().unwrap()
        };
        let (a, b) = (build(), build());
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.platform.as_ref().unwrap().architecture, "arm64");
        layout.tag("base", a.clone()).unwrap();

        let base = layout.resolve("base").unwrap();
        let blob = layout.write_blob(MediaType::ImageLayer, b"top").unwrap();
        let mut child = ImageBuilder::from_base(&layout, &base).unwrap();
        child.add_layer(blob, Digest::sha256(b"top"), None);
        let child = child.write().unwrap();
        let m: Raw<ImageManifest> = layout.read_document(&child).unwrap();
        assert_eq!(m.value().layers.len(), 2);
        assert_eq!(
            m.value().annotations[ocikit_types::annotation::BASE_DIGEST],
            a.digest.to_string()
        );
        assert_eq!(
            m.value().annotations[ocikit_types::annotation::BASE_NAME],
            "base"
        );
        let c: Raw<ImageConfiguration> = layout.read_document(&m.value().config).unwrap();
        assert_eq!(c.value().rootfs.diff_ids.len(), 2);
        assert_eq!(c.value().history.len(), 3);

        let idx = write_index(&layout, vec![a, child]).unwrap();
        let idx: Raw<ImageIndex> = layout.read_document(&idx).unwrap();
        assert_eq!(idx.value().manifests.len(), 2);
    }

    #[test]
    fn invalid_configs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let mut b = ImageBuilder::new(&layout, Platform::new("linux", "amd64"));
        b.config_mut().env = Some(vec!["NOEQUALS".into()]);
        let err = b.write().unwrap_err();
        // The document, then where in it (its cause, chained).
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            cause.unwrap_or_default().contains("$.config.Env[0]"),
            "{err:?}"
        );
    }

    #[test]
    fn epoch_formatting() {
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }
}
