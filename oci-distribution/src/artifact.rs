//! OCI artifacts: files pushed and pulled as manifests of their own, and
//! attached to images through `subject` (what ORAS, Helm, Notation and
//! Cosign do with registries).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ocikit_image::Layout;
use ocikit_types::{
    annotation, AnyManifest, Descriptor, Document, ImageManifest, MediaType, Raw, Reference,
};

use crate::client::blocking;
use crate::{Client, Error, Platforms};

/// One file of an artifact.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ArtifactFile {
    /// The file to upload.
    pub path: PathBuf,
    /// Its media type (ORAS uses `application/vnd.oci.image.layer.v1.tar`
    /// when none is given).
    pub media_type: MediaType,
}

impl ArtifactFile {
    /// A file with a media type.
    pub fn new(path: impl Into<PathBuf>, media_type: MediaType) -> Self {
        ArtifactFile {
            path: path.into(),
            media_type,
        }
    }
}

/// A layout in a new directory with an unpredictable name under `parent`
/// (the system's temp directory when `None`), removed with the guard.
pub(crate) fn staging_layout(parent: Option<&Path>) -> Result<(tempfile::TempDir, Layout), Error> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ocikit-staging-");
    let dir = match parent {
        Some(p) => builder.tempdir_in(p),
        None => builder.tempdir(),
    }
    .map_err(|e| ocikit_image::Error::Io {
        op: "create staging directory in",
        path: parent.map_or_else(std::env::temp_dir, Path::to_owned),
        source: e,
    })?;
    let layout = Layout::create(dir.path())?;
    Ok((dir, layout))
}

impl Client {
    /// Pushes `files` as an artifact of `artifact_type` to `r`: the empty
    /// config descriptor, one layer per file titled with its file name
    /// (`org.opencontainers.image.title`), `annotations` on the manifest,
    /// and `subject` when the artifact describes another manifest (a
    /// signature, an SBOM). Returns the artifact manifest's descriptor,
    /// with its `artifactType` set.
    ///
    /// # Errors
    /// [`Error::Layout`] when a file cannot be read, and the errors of
    /// [`Client::push_image`].
    pub async fn push_artifact(
        &self,
        r: &Reference,
        artifact_type: &MediaType,
        files: &[ArtifactFile],
        subject: Option<Descriptor>,
        annotations: BTreeMap<String, String>,
    ) -> Result<Descriptor, Error> {
        let (staging, layout, desc) = {
            let (files, artifact_type, r) = (files.to_vec(), artifact_type.clone(), r.clone());
            // Hashing and staging the files is file work: off the workers.
            blocking(move || stage_artifact(&files, &artifact_type, subject, annotations, &r))
                .await?
        };
        let pushed = self.push_image(&layout, &desc, r).await;
        blocking(move || drop(staging)).await;
        pushed?;
        let mut desc = desc;
        desc.artifact_type = Some(artifact_type.clone());
        Ok(desc)
    }

    /// Pulls the artifact `r` names and writes each titled layer into `dir`
    /// under its title, returning the paths written. Titles that are not
    /// plain file names (with `/`, or `.`/`..`) are refused, so an
    /// artifact cannot write outside `dir`.
    ///
    /// The blobs are pulled (and verified, once) into a staging layout in
    /// a hidden directory of `dir` with an unpredictable name, then linked
    /// into place under their titles, each replacing any file of that name
    /// atomically; the staging directory is removed at the end.
    ///
    /// # Errors
    /// [`Error::Protocol`] for a title that is not a plain file name or for
    /// an index, and the errors of [`Client::pull_image`].
    pub async fn pull_artifact(
        &self,
        r: &Reference,
        dir: impl AsRef<Path>,
    ) -> Result<Vec<PathBuf>, Error> {
        let dir = dir.as_ref().to_owned();
        let (staging, layout) = {
            let dir = dir.clone();
            blocking(move || {
                std::fs::create_dir_all(&dir).map_err(|e| ocikit_image::Error::Io {
                    op: "create directory",
                    path: dir.clone(),
                    source: e,
                })?;
                // Staged inside `dir`, so that verified blobs are linked into
                // place, never hashed or copied a second time.
                staging_layout(Some(&dir))
            })
            .await?
        };
        let pulled = match self.pull_image(r, &layout, &Platforms::All).await {
            Ok(desc) => {
                let r = r.clone();
                blocking(move || install_artifact(&r, &layout, &desc, &dir)).await
            }
            Err(e) => Err(e),
        };
        // Removing the staging tree is a directory walk.
        blocking(move || drop(staging)).await;
        pulled
    }
}

/// Installs the titled layers of the artifact `desc` (pulled into
/// `layout`) into `dir`.
fn install_artifact(
    r: &Reference,
    layout: &Layout,
    desc: &Descriptor,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let bytes = layout.read_blob(desc)?;
    let manifest = match AnyManifest::from_slice(&bytes, Some(desc.media_type.as_str())) {
        Ok(AnyManifest::Manifest(m)) => m,
        Ok(_) => {
            return Err(Error::Protocol {
                url: r.to_string(),
                expected: "an artifact manifest",
                found: "an index".to_owned(),
            })
        }
        Err(source) => {
            return Err(Error::Document {
                url: r.to_string(),
                source,
            })
        }
    };
    let mut written = Vec::new();
    for layer in &manifest.layers {
        let Some(title) = layer.annotation(annotation::TITLE) else {
            continue;
        };
        if title.is_empty()
            || title.contains('/')
            || title == "."
            || title == ".."
            || title.contains('\0')
        {
            return Err(Error::Protocol {
                url: r.to_string(),
                expected: "a layer title that is a plain file name",
                found: title.to_owned(),
            });
        }
        let path = dir.join(title);
        ocikit_image::install_file(layout.blob_path(&layer.digest), &path)?;
        written.push(path);
    }
    Ok(written)
}

/// Stores `files` and the artifact manifest over them in a new staging
/// layout; returns it with the manifest's descriptor.
fn stage_artifact(
    files: &[ArtifactFile],
    artifact_type: &MediaType,
    subject: Option<Descriptor>,
    annotations: BTreeMap<String, String>,
    r: &Reference,
) -> Result<(tempfile::TempDir, Layout, Descriptor), Error> {
    let (staging, layout) = staging_layout(None)?;
    let mut layers = Vec::new();
    for f in files {
        let file = std::fs::File::open(&f.path).map_err(|e| ocikit_image::Error::Io {
            op: "open",
            path: f.path.clone(),
            source: e,
        })?;
        let (digest, size) = layout.write_blob_from(file, ocikit_types::Algorithm::Sha256, None)?;
        let mut d = Descriptor::new(f.media_type.clone(), digest, size);
        let title = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        d.annotations.insert(annotation::TITLE.to_owned(), title);
        layers.push(d);
    }
    layout.write_blob(MediaType::EmptyJson, b"{}")?;
    if layers.is_empty() {
        layers.push(Descriptor::empty());
    }
    let mut m = ImageManifest::new(Descriptor::empty(), layers);
    m.artifact_type = Some(artifact_type.clone());
    m.subject = subject;
    m.annotations = annotations;
    m.validate().map_err(|source| Error::Document {
        url: r.to_string(),
        source,
    })?;
    let raw = Raw::from_value(m);
    let desc = layout.write_document(&raw, MediaType::ImageManifest)?;
    Ok((staging, layout, desc))
}
