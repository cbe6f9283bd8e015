//! An image's configuration for a reference and a platform, in one call.

use ocikit_types::{
    AnyManifest, Document as _, DocumentKind, ImageConfiguration, Platform, Reference,
};

use crate::manifest::{by_digest, PulledManifest};
use crate::{Client, Error};

/// What [`Client::pull_config`] fetched: the image manifest for the
/// platform and the configuration it names, both verified against their
/// digests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PulledConfig {
    /// The image manifest (for an index, the entry chosen for the
    /// platform), with its exact bytes, media type and digest
    /// (`manifest.digest`, to pin the image: `repo@digest`).
    pub manifest: PulledManifest,
    /// The parsed image configuration: entrypoint, command, environment,
    /// working directory, user, labels, diff IDs, history.
    pub config: ImageConfiguration,
}

impl Client {
    /// The configuration of the image `r` names, for `platform`: resolves
    /// an index to its best entry for the platform (see
    /// [`Platform::best_match`]), fetches that manifest and then its
    /// config blob; no layer is downloaded. What oci-client's
    /// `pull_manifest_and_config` and go-containerregistry's
    /// `ConfigFile()` give.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), ocikit_distribution::Error> {
    /// use ocikit_distribution::ClientBuilder;
    /// use ocikit_types::{Platform, Reference};
    ///
    /// let client = ClientBuilder::new().build()?;
    /// let r: Reference = "ghcr.io/org/app:1.0".parse().unwrap();
    /// let image = client.pull_config(&r, &Platform::new("linux", "arm64")).await?;
    /// println!("{} runs {:?}", image.manifest.digest, image.config.config.and_then(|c| c.cmd));
    /// # Ok(()) }
    /// # let _ = f;
    /// ```
    ///
    /// # Errors
    /// [`Error::PlatformNotFound`] when an index has no entry for the
    /// platform, or a single-platform image is of another platform (the
    /// source names what was found); [`Error::Document`] when the manifest
    /// is not an image manifest or its config is not an image
    /// configuration; and the errors of [`Client::pull_manifest`] and
    /// [`Client::pull_blob_bytes`].
    pub async fn pull_config(
        &self,
        r: &Reference,
        platform: &Platform,
    ) -> Result<PulledConfig, Error> {
        let mut manifest = self.pull_manifest(r).await?;
        let mut from_index = false;
        if manifest.manifest.is_index() {
            let children: Vec<_> = manifest.manifest.children().into_iter().cloned().collect();
            let chosen = platform
                .select(&children)
                .map_err(|source| Error::PlatformNotFound {
                    reference: r.to_string(),
                    source,
                })?;
            manifest = self.pull_manifest(&by_digest(r, &chosen.digest)?).await?;
            from_index = true;
        }
        let url = || format!("{}/manifests/{}", self.base(r), manifest.digest);
        let desc = match &manifest.manifest {
            AnyManifest::Manifest(m) => m.config.clone(),
            AnyManifest::DockerManifest(m) => m.config.clone(),
            _ => {
                return Err(Error::Document {
                    url: url(),
                    source: ocikit_types::Error::UnexpectedMediaType {
                        document: DocumentKind::ImageManifest,
                        expected: "an image manifest".to_owned(),
                        found: manifest.media_type.to_string(),
                    },
                })
            }
        };
        let config_url = || format!("{}/blobs/{}", self.base(r), desc.digest);
        if !desc.media_type.is_config() {
            return Err(Error::Document {
                url: config_url(),
                source: ocikit_types::Error::UnexpectedMediaType {
                    document: DocumentKind::ImageConfiguration,
                    expected: "an image configuration media type".to_owned(),
                    found: desc.media_type.to_string(),
                },
            });
        }
        let bytes = self.pull_blob_bytes(r, &desc).await?;
        let config = ImageConfiguration::from_slice(&bytes).map_err(|source| Error::Document {
            url: config_url(),
            source,
        })?;
        // An index entry was chosen for the platform; a lone manifest must
        // be of it.
        let found = platform_of(&config);
        if !from_index && !platform.matches(&found) {
            return Err(Error::PlatformNotFound {
                reference: r.to_string(),
                source: ocikit_types::Error::PlatformNotFound {
                    wanted: Box::new(platform.clone()),
                    available: vec![found],
                },
            });
        }
        Ok(PulledConfig { manifest, config })
    }
}

/// The platform an image configuration declares.
pub(crate) fn platform_of(config: &ImageConfiguration) -> Platform {
    let mut p = Platform::new(config.os.clone(), config.architecture.clone());
    p.variant = config.variant.clone();
    p.os_version = config.os_version.clone();
    p
}
