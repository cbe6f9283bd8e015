//! Copying images: registry to layout, layout to registry, registry to
//! registry.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use futures_util::TryStreamExt as _;
use ocikit_image::Layout;
use ocikit_types::{
    AnyManifest, Descriptor, Digest, Document as _, ImageConfiguration, MediaType, Platform,
    Reference,
};

use crate::client::blocking;
use crate::manifest::{by_digest, PulledManifest};
use crate::{Client, Error};

/// Which platforms of a multi-platform image to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Platforms {
    /// Every platform: the index and all its manifests.
    All,
    /// Only the best match for this platform (see
    /// [`Platform::best_match`]); the copy is that single manifest. An
    /// image that is a single manifest of another platform is refused
    /// ([`Error::PlatformNotFound`] names the platform it has).
    Only(Platform),
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Client {
    /// Pulls the image `r` names into `layout` and returns the descriptor
    /// of what was stored at the top (an index for [`Platforms::All`], the
    /// chosen manifest for [`Platforms::Only`]). Blobs download
    /// concurrently; a manifest is stored only after all its blobs, so the
    /// layout never holds a manifest with missing content. The caller tags
    /// the result with [`Layout::tag`].
    ///
    /// # Errors
    /// [`Error::PlatformNotFound`], and the errors of
    /// [`Client::pull_manifest`] and [`Client::pull_blob`].
    pub async fn pull_image(
        &self,
        r: &Reference,
        layout: &Layout,
        platforms: &Platforms,
    ) -> Result<Descriptor, Error> {
        let top = self.pull_manifest(r).await?;
        self.check_platform(r, &top, platforms).await?;
        self.pull_tree(r, top, layout, platforms, None).await
    }

    /// For [`Platforms::Only`] and an image that is a single manifest (no
    /// index to choose from): the platform its configuration declares
    /// must be the one wanted, else [`Error::PlatformNotFound`] names the
    /// one found. Artifacts (configs of other types) have no platform and
    /// pass.
    async fn check_platform(
        &self,
        r: &Reference,
        top: &PulledManifest,
        platforms: &Platforms,
    ) -> Result<(), Error> {
        let Platforms::Only(want) = platforms else {
            return Ok(());
        };
        let config = match &top.manifest {
            AnyManifest::Manifest(m) => &m.config,
            AnyManifest::DockerManifest(m) => &m.config,
            _ => return Ok(()),
        };
        if !config.media_type.is_config() {
            return Ok(());
        }
        let bytes = self.pull_blob_bytes(r, config).await?;
        let parsed = ImageConfiguration::from_slice(&bytes).map_err(|source| Error::Document {
            url: format!("{}/blobs/{}", self.base(r), config.digest),
            source,
        })?;
        let found = crate::image_config::platform_of(&parsed);
        if want.matches(&found) {
            return Ok(());
        }
        Err(Error::PlatformNotFound {
            reference: r.to_string(),
            source: ocikit_types::Error::PlatformNotFound {
                wanted: Box::new(want.clone()),
                available: vec![found],
            },
        })
    }

    /// Pulls the image `r` names into the image layout at `dir` (created
    /// if needed) and returns the layout and the descriptor of what was
    /// stored at the top, as [`Client::pull_image`].
    ///
    /// The layout is created only once the registry has sent the image's
    /// manifest, so an unreachable registry, a refused login or an unknown
    /// image leave nothing behind. When the pull fails later, what this
    /// call created is removed again: the directories it made (up to the
    /// first that existed), or the layout files it added to an empty
    /// directory. An existing layout is left as it was (blobs already
    /// stored stay, and are checked on the next pull).
    ///
    /// # Errors
    /// [`Error::Layout`] when `dir` cannot be made a layout, and the
    /// errors of [`Client::pull_image`].
    pub async fn pull_image_to(
        &self,
        r: &Reference,
        dir: impl AsRef<Path>,
        platforms: &Platforms,
    ) -> Result<(Layout, Descriptor), Error> {
        self.pull_image_to_inner(r, dir.as_ref().to_owned(), platforms)
            .await
    }

    async fn pull_image_to_inner(
        &self,
        r: &Reference,
        dir: PathBuf,
        platforms: &Platforms,
    ) -> Result<(Layout, Descriptor), Error> {
        let top = self.pull_manifest(r).await?;
        self.check_platform(r, &top, platforms).await?;
        let (layout, created) = blocking(move || {
            let created = Created::before_creating(&dir);
            match Layout::create(&dir) {
                Ok(layout) => Ok((layout, created)),
                Err(e) => {
                    created.undo();
                    Err(e)
                }
            }
        })
        .await?;
        match self.pull_tree(r, top, &layout, platforms, None).await {
            Ok(desc) => Ok((layout, desc)),
            Err(e) => {
                blocking(move || created.undo()).await;
                Err(e)
            }
        }
    }

    fn pull_tree<'a>(
        &'a self,
        r: &'a Reference,
        pulled: PulledManifest,
        layout: &'a Layout,
        platforms: &'a Platforms,
        mount_into: Option<&'a Reference>,
    ) -> BoxFuture<'a, Result<Descriptor, Error>> {
        Box::pin(async move {
            let children: Vec<Descriptor> =
                pulled.manifest.children().into_iter().cloned().collect();
            if pulled.manifest.is_index() {
                if let Platforms::Only(want) = platforms {
                    let chosen =
                        want.select(&children)
                            .map_err(|source| Error::PlatformNotFound {
                                reference: r.to_string(),
                                source,
                            })?;
                    let child = self.pull_manifest(&by_digest(r, &chosen.digest)?).await?;
                    let mut d = self
                        .pull_tree(r, child, layout, platforms, mount_into)
                        .await?;
                    d.platform = chosen.platform.clone();
                    return Ok(d);
                }
                for c in &children {
                    if !(c.media_type.is_manifest() || c.media_type.is_index()) {
                        continue;
                    }
                    let child = self.pull_manifest(&by_digest(r, &c.digest)?).await?;
                    self.pull_tree(r, child, layout, platforms, mount_into)
                        .await?;
                }
            } else {
                futures_util::stream::iter(children.iter().map(Ok::<_, Error>))
                    .try_for_each_concurrent(self.cfg().concurrency, |d| async move {
                        if let Some(dst) = mount_into {
                            // Same registry: the destination gets the blob by
                            // mount; it need not travel through here.
                            if self.blob_exists(dst, &d.digest).await?
                                || self.mount_blob(dst, r.repository(), &d.digest).await?
                            {
                                return Ok(());
                            }
                        }
                        self.pull_blob(r, d, layout).await
                    })
                    .await?;
            }
            let desc = pulled.descriptor();
            let (layout, bytes, d) = (layout.clone(), pulled.bytes, desc.clone());
            blocking(move || {
                layout.write_blob_from(
                    &bytes[..],
                    ocikit_types::Algorithm::Sha256,
                    Some((&d.digest, d.size)),
                )
            })
            .await?;
            Ok(desc)
        })
    }

    /// Pushes the image `desc` describes (a manifest or an index, with
    /// everything it refers to) from `layout` to `r`, children first. Blobs
    /// the repository already has are skipped. When a manifest has a
    /// `subject` and the registry does not maintain referrers itself, the
    /// fallback tag index (`sha256-<hex>`) is updated.
    ///
    /// Digests are kept whatever their algorithm: a manifest or index
    /// under another digest than SHA-256 (sha512) is pushed by that digest
    /// first, then by `r`'s tag, since a registry names what it gets by
    /// tag by its own canonical digest.
    ///
    /// # Errors
    /// [`Error::Layout`] for missing or corrupt local content, and the
    /// errors of [`Client::push_blob`] and [`Client::push_manifest`]; a
    /// registry that cannot store a manifest under its sha512 digest
    /// refuses it with [`Error::Status`] naming the digest
    /// (docker-registry 2.8: 400 `DIGEST_INVALID`).
    pub async fn push_image(
        &self,
        layout: &Layout,
        desc: &Descriptor,
        r: &Reference,
    ) -> Result<Digest, Error> {
        self.push_tree(layout, desc, r).await
    }

    fn push_tree<'a>(
        &'a self,
        layout: &'a Layout,
        desc: &'a Descriptor,
        r: &'a Reference,
    ) -> BoxFuture<'a, Result<Digest, Error>> {
        Box::pin(async move {
            let bytes = {
                let (layout, desc) = (layout.clone(), desc.clone());
                blocking(move || layout.read_blob(&desc)).await?
            };
            let manifest = AnyManifest::from_slice(&bytes, Some(desc.media_type.as_str()))
                .map_err(|source| Error::Document {
                    url: desc.digest.to_string(),
                    source,
                })?;
            if manifest.is_index() {
                for c in manifest.children() {
                    // Indexes may list platforms that were not copied locally.
                    if layout.has_blob(&c.digest)
                        && (c.media_type.is_manifest() || c.media_type.is_index())
                    {
                        self.push_tree(layout, c, &by_digest(r, &c.digest)?).await?;
                    }
                }
            } else {
                futures_util::stream::iter(manifest.children().into_iter().map(Ok::<_, Error>))
                    .try_for_each_concurrent(self.cfg().concurrency, |d| async move {
                        self.push_blob(r, d, layout).await
                    })
                    .await?;
            }
            let media_type = manifest.media_type();
            if r.digest().is_none() && desc.digest.algorithm() != "sha256" {
                // Pushed by tag alone, it would be stored under the
                // registry's canonical digest (sha256) only: push it by its
                // own digest first, so that the registry serves it under
                // the digest the layout knows it by, or refuses it (a typed
                // error naming the digest) rather than losing it.
                self.push_manifest(&by_digest(r, &desc.digest)?, &bytes, &media_type)
                    .await?;
            }
            let pushed = self
                .push_manifest_as(r, &bytes, &media_type, Some(&desc.digest))
                .await?;
            if let AnyManifest::Manifest(m) = &manifest {
                if let Some(subject) = &m.subject {
                    if !pushed.subject_processed {
                        let mut entry = Descriptor::new(
                            MediaType::ImageManifest,
                            pushed.digest.clone(),
                            bytes.len() as u64,
                        );
                        entry.artifact_type = Some(m.effective_artifact_type().clone());
                        entry.annotations = m.annotations.clone();
                        self.add_fallback_referrer(r, &subject.digest, entry)
                            .await?;
                    }
                }
            }
            Ok(pushed.digest)
        })
    }

    /// Adds `entry` to the referrers tag-schema index of `subject`.
    async fn add_fallback_referrer(
        &self,
        r: &Reference,
        subject: &Digest,
        entry: Descriptor,
    ) -> Result<(), Error> {
        let mut index = self
            .referrers_tag_index(r, subject)
            .await?
            .unwrap_or_else(|| ocikit_types::ImageIndex::new(Vec::new()));
        if index.manifests.iter().any(|d| d.digest == entry.digest) {
            return Ok(());
        }
        index.manifests.push(entry);
        let bytes = ocikit_types::Document::to_canonical_vec(&index);
        let tag = format!("{}-{}", subject.algorithm(), subject.encoded());
        let tr = r.with_tag(&tag).map_err(|source| Error::Document {
            url: tag.clone(),
            source,
        })?;
        let tr = Reference::try_from(format!("{}/{}:{tag}", tr.registry(), tr.repository()))
            .map_err(|source| Error::Document { url: tag, source })?;
        self.push_manifest(&tr, &bytes, &MediaType::ImageIndex)
            .await?;
        Ok(())
    }

    /// Copies an image between repositories, within one registry (blobs are
    /// mounted, not transferred) or across registries (through a temporary
    /// layout). Digests are preserved.
    ///
    /// # Errors
    /// The errors of pulling and pushing.
    pub async fn copy_image(
        &self,
        src: &Reference,
        dst: &Reference,
        platforms: &Platforms,
    ) -> Result<Digest, Error> {
        let (staging, layout) = blocking(|| crate::artifact::staging_layout(None)).await?;
        let copied = async {
            let top = self.pull_manifest(src).await?;
            self.check_platform(src, &top, platforms).await?;
            let mount_into = (src.registry() == dst.registry()).then_some(dst);
            let desc = self
                .pull_tree(src, top, &layout, platforms, mount_into)
                .await?;
            self.push_image(&layout, &desc, dst).await
        }
        .await;
        // Removing the staging tree is a directory walk.
        blocking(move || drop(staging)).await;
        copied
    }
}

/// What [`Client::pull_image_to`] is about to create at a path, to be
/// undone when the pull fails.
#[derive(Debug)]
enum Created {
    /// The layout existed: nothing to undo.
    Nothing,
    /// This directory (the topmost missing one) and all below it.
    Tree(PathBuf),
    /// The layout's files in this directory, which was empty.
    Contents(PathBuf),
}

/// Removes `top` and everything below it. Blob writers of the failed
/// pull that are still ending on their blocking threads may add or remove
/// a temp file meanwhile (they never recreate the layout itself), so a
/// removal that meets a changing tree is tried again, a few times.
fn remove_tree(top: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..10 {
        last = match std::fs::remove_dir_all(top) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        if last.is_ok() && !top.exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    last
}

/// Empties `dir`, tried again as [`remove_tree`] is while writers end.
fn clear_dir(dir: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..10 {
        last = std::fs::read_dir(dir).and_then(|entries| {
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    remove_tree(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
            Ok(())
        });
        if last.is_ok() && std::fs::read_dir(dir)?.next().is_none() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    last
}

impl Created {
    fn before_creating(dir: &Path) -> Created {
        if !dir.exists() {
            let mut top = dir;
            while let Some(parent) = top.parent() {
                if parent.as_os_str().is_empty() || parent.exists() {
                    break;
                }
                top = parent;
            }
            return Created::Tree(top.to_owned());
        }
        let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
        if empty {
            Created::Contents(dir.to_owned())
        } else {
            Created::Nothing
        }
    }

    /// Best effort: what cannot be removed is logged.
    fn undo(self) {
        let result = match &self {
            Created::Nothing => Ok(()),
            Created::Tree(top) => remove_tree(top),
            Created::Contents(dir) => clear_dir(dir),
        };
        if let Err(e) = result {
            tracing::warn!(?self, error = %e, "cannot remove what a failed pull created");
        }
    }
}
