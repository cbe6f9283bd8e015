//! OCI artifacts: files pushed and pulled as manifests of their own, and
//! attached to images through `subject` (what ORAS, Helm, Notation and
//! Cosign do with registries).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ocikit_image::Layout;
use ocikit_types::{
    annotation, AnyManifest, Descriptor, Document, ImageManifest, MediaType, Raw, Reference,
};

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

fn temp_layout() -> Result<(PathBuf, Layout), Error> {
    let dir = std::env::temp_dir().join(format!(
        "ocikit-artifact-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let layout = Layout::create(&dir)?;
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
        let (dir, layout) = temp_layout()?;
        let result = async {
            let mut layers = Vec::new();
            for f in files {
                let file = std::fs::File::open(&f.path).map_err(|e| ocikit_image::Error::Io {
                    op: "open",
                    path: f.path.clone(),
                    source: e,
                })?;
                let (digest, size) =
                    layout.write_blob_from(file, ocikit_types::Algorithm::Sha256, None)?;
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
            let mut desc = layout.write_document(&raw, MediaType::ImageManifest)?;
            self.push_image(&layout, &desc, r).await?;
            desc.artifact_type = Some(artifact_type.clone());
            Ok(desc)
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Pulls the artifact `r` names and writes each titled layer into `dir`
    /// under its title, returning the paths written. Titles that are not
    /// plain file names (with `/`, or `.`/`..`) are refused, so an
    /// artifact cannot write outside `dir`.
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
        let (tmp, layout) = temp_layout()?;
        let result = async {
            let desc = self.pull_image(r, &layout, &Platforms::All).await?;
            let bytes = layout.read_blob(&desc)?;
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
            std::fs::create_dir_all(&dir).map_err(|e| ocikit_image::Error::Io {
                op: "create directory",
                path: dir.clone(),
                source: e,
            })?;
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
                let mut reader = layout.open_blob(layer, ocikit_image::Verification::Full)?;
                let tmp_path = dir.join(format!(".{title}.ocikit-tmp"));
                let mut out =
                    std::fs::File::create(&tmp_path).map_err(|e| ocikit_image::Error::Io {
                        op: "create",
                        path: tmp_path.clone(),
                        source: e,
                    })?;
                std::io::copy(&mut reader, &mut out).map_err(|e| reader.error(e))?;
                std::fs::rename(&tmp_path, &path).map_err(|e| ocikit_image::Error::Io {
                    op: "rename into",
                    path: path.clone(),
                    source: e,
                })?;
                written.push(path);
            }
            Ok(written)
        }
        .await;
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }
}
