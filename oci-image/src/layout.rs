//! OCI image layouts (`image-layout.md`): the `oci-layout` marker,
//! `index.json`, and a content-addressed blob store under `blobs/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ocikit_types::{
    annotation, Algorithm, Descriptor, Digest, Document, ImageIndex, MediaType, OciLayout, Raw,
};

use crate::blob::{BlobReader, BlobWriter, Verification, Verifier};
use crate::{atomic, Error};

/// Where ocikit keeps its own files inside a layout: the index lock and
/// temp files of writes under way. Other tools ignore it.
const PRIVATE_DIR: &str = ".ocikit";

/// An OCI image layout on disk.
///
/// Writes are crash-safe and never expose a partial or wrong blob: content
/// streams through the hasher into a temp file inside the layout, is checked
/// for size and digest, synced, and renamed into place. `index.json` is
/// replaced atomically under an exclusive lock, so concurrent writers in
/// other processes do not lose each other's updates. A crash leaves at
/// most temp files, which [`Layout::gc`] removes.
///
/// ```
/// use ocikit_image::Layout;
/// use ocikit_types::MediaType;
/// let dir = tempfile::tempdir()?;
/// let layout = Layout::create(dir.path().join("img"))?;
/// let desc = layout.write_blob(MediaType::ImageLayer, b"not really a tar")?;
/// assert_eq!(layout.read_blob(&desc)?, b"not really a tar");
/// layout.tag("v1", desc.clone())?;
/// assert_eq!(layout.resolve("v1")?.digest, desc.digest);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io("read", path, e))
}

impl Layout {
    /// Creates a layout at `path` (and its parents), or opens the layout
    /// already there.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be written, and the errors of
    /// [`Layout::open`] when something else is already there.
    pub fn create(path: impl AsRef<Path>) -> Result<Layout, Error> {
        Layout::create_inner(path.as_ref())
    }

    fn create_inner(path: &Path) -> Result<Layout, Error> {
        let marker = path.join("oci-layout");
        if marker.exists() {
            return Layout::open_inner(path);
        }
        fs::create_dir_all(path.join("blobs").join("sha256"))
            .map_err(|e| Error::io("create directory", path, e))?;
        let layout = Layout {
            root: path.to_owned(),
        };
        layout.ensure_private_dirs()?;
        let index = path.join("index.json");
        if !index.exists() {
            layout.write_atomic(&index, &ImageIndex::new(Vec::new()).to_canonical_vec())?;
        }
        layout.write_atomic(&marker, &OciLayout::new().to_canonical_vec())?;
        Ok(layout)
    }

    /// Opens an existing layout, checking its `oci-layout` marker and
    /// `index.json`.
    ///
    /// # Errors
    /// [`Error::NotALayout`] when the marker or index is missing, and
    /// [`Error::Document`] when either is malformed.
    pub fn open(path: impl AsRef<Path>) -> Result<Layout, Error> {
        Layout::open_inner(path.as_ref())
    }

    fn open_inner(path: &Path) -> Result<Layout, Error> {
        let marker = path.join("oci-layout");
        if !marker.is_file() {
            return Err(Error::NotALayout {
                path: path.to_owned(),
                expected: "an `oci-layout` file",
            });
        }
        let bytes = read_file(&marker)?;
        OciLayout::from_slice_validated(&bytes).map_err(|source| Error::Document {
            path: marker.display().to_string(),
            source,
        })?;
        let layout = Layout {
            root: path.to_owned(),
        };
        if !layout.index_path().is_file() {
            return Err(Error::NotALayout {
                path: path.to_owned(),
                expected: "an `index.json` file",
            });
        }
        layout.index()?;
        Ok(layout)
    }

    /// The layout's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn private_dir(&self) -> PathBuf {
        self.root.join(PRIVATE_DIR)
    }

    pub(crate) fn temp_dir(&self) -> PathBuf {
        self.private_dir().join("tmp")
    }

    /// Makes the private and temp folders inside the layout, never the
    /// layout itself: a writer that outlives a layout someone removed
    /// (a failed pull cleaning up) fails instead of bringing it back.
    fn ensure_private_dirs(&self) -> Result<(), Error> {
        for dir in [self.private_dir(), self.temp_dir()] {
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create directory", dir, e)),
            }
        }
        Ok(())
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    ///
    /// The digest grammar admits no `/` and no `..` component, so the path
    /// always stays under `blobs/`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    /// True when the blob exists (its content is not checked).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Writes a small file atomically, staging in the layout's temp
    /// directory (so [`Layout::gc`] finds what a crash leaves).
    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
        atomic::write_in(&self.temp_dir(), dest, bytes)
    }

    /// Stores `bytes` as a blob and returns its descriptor.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write_blob(&self, media_type: MediaType, bytes: &[u8]) -> Result<Descriptor, Error> {
        let (digest, size) = self.write_blob_from(bytes, Algorithm::Sha256, None)?;
        Ok(Descriptor::new(media_type, digest, size))
    }

    /// Streams `reader` into the store through a [`BlobWriter`], hashing
    /// with `algorithm`, and returns the digest and size. When `expected`
    /// is given, the content must have exactly that digest and size (and is
    /// hashed with the digest's own algorithm), or nothing is stored.
    ///
    /// Reading stops with an error as soon as more than the expected size
    /// arrives, so an endless stream cannot fill the disk.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the content is not the expected content,
    /// [`Error::Io`] on read or write failures.
    pub fn write_blob_from(
        &self,
        reader: impl Read,
        algorithm: Algorithm,
        expected: Option<(&Digest, u64)>,
    ) -> Result<(Digest, u64), Error> {
        let w = match expected {
            Some((digest, size)) => self.blob_writer_for(digest, size)?,
            None => self.blob_writer(algorithm)?,
        };
        w.commit_from(reader)
    }

    /// A writer for content not known in advance (a layer being packed, a
    /// config being built), hashed with `algorithm`; see [`BlobWriter`].
    ///
    /// # Errors
    /// [`Error::Io`] when the temp file cannot be created.
    pub fn blob_writer(&self, algorithm: Algorithm) -> Result<BlobWriter<'_>, Error> {
        BlobWriter::new(self, Verifier::computing(algorithm, u64::MAX))
    }

    /// A writer that stores a blob only if it is exactly `size` bytes
    /// hashing to `digest` (with `digest`'s own algorithm); it refuses any
    /// byte past `size`. See [`BlobWriter`].
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`], [`Error::Io`] when the temp file
    /// cannot be created.
    pub fn blob_writer_for(&self, digest: &Digest, size: u64) -> Result<BlobWriter<'_>, Error> {
        BlobWriter::new(self, Verifier::new(digest, size)?)
    }

    /// Reads a whole blob, checking size and digest against `desc`.
    ///
    /// # Errors
    /// [`Error::BlobNotFound`], [`Error::Integrity`] or [`Error::Io`].
    pub fn read_blob(&self, desc: &Descriptor) -> Result<Vec<u8>, Error> {
        let mut r = self.open_blob(desc, Verification::Full)?;
        let mut out = Vec::with_capacity(usize::try_from(desc.size.min(1 << 26)).unwrap_or(0));
        r.read_to_end(&mut out).map_err(|e| r.error(e))?;
        Ok(out)
    }

    /// Opens a blob for streaming. With [`Verification::Full`] the reader
    /// checks size and digest as it reads and fails at the end (an
    /// `io::ErrorKind::InvalidData` error wrapping [`Error::Integrity`])
    /// when they do not match; it never returns more than `desc.size` bytes.
    ///
    /// # Errors
    /// [`Error::BlobNotFound`], [`Error::Integrity`] for a size mismatch
    /// known up front, or [`Error::Io`].
    pub fn open_blob(
        &self,
        desc: &Descriptor,
        verification: Verification,
    ) -> Result<BlobReader, Error> {
        let path = self.blob_path(&desc.digest);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::BlobNotFound {
                    digest: desc.digest.clone(),
                })
            }
            Err(e) => return Err(Error::io("open", path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        if len != desc.size {
            return Err(Error::Integrity {
                digest: desc.digest.clone(),
                source: ocikit_types::Error::SizeMismatch {
                    expected: desc.size,
                    found: len,
                },
            });
        }
        BlobReader::new(file, path, desc, verification)
    }

    /// Reads and parses a document blob, checking size and digest.
    ///
    /// # Errors
    /// As [`Layout::read_blob`], and [`Error::Document`] when the content
    /// is not such a document.
    pub fn read_document<T: Document>(&self, desc: &Descriptor) -> Result<Raw<T>, Error> {
        let bytes = self.read_blob(desc)?;
        Raw::parse_verified(bytes, desc).map_err(|source| Error::Document {
            path: desc.digest.to_string(),
            source,
        })
    }

    /// Stores a document's exact bytes under its digest, whatever its
    /// algorithm ([`Raw::parse_with`]), and returns its descriptor.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write_document<T: Document>(
        &self,
        doc: &Raw<T>,
        media_type: MediaType,
    ) -> Result<Descriptor, Error> {
        let desc = doc.descriptor(media_type);
        if !self.has_blob(&desc.digest) {
            // Hashed with the document's own digest's algorithm.
            self.blob_writer_for(&desc.digest, desc.size)?
                .commit_from(doc.bytes())?;
        }
        Ok(desc)
    }

    /// The current `index.json`.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Document`].
    pub fn index(&self) -> Result<ImageIndex, Error> {
        let path = self.index_path();
        let bytes = read_file(&path)?;
        ImageIndex::from_slice_validated(&bytes).map_err(|source| Error::Document {
            path: path.display().to_string(),
            source,
        })
    }

    /// Changes `index.json` under an exclusive lock: reads the current
    /// index, lets `f` change it, and replaces the file atomically. When `f`
    /// fails, nothing is written.
    ///
    /// # Errors
    /// [`Error::Lock`], the errors of [`Layout::index`], and `f`'s error.
    pub fn update_index<R>(
        &self,
        f: impl FnOnce(&mut ImageIndex) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.ensure_private_dirs()?;
        let lock_path = self.private_dir().join("index.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::Lock {
                path: lock_path.clone(),
                source: e,
            })?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            Error::Lock {
                path: lock_path.clone(),
                source: e.into(),
            }
        })?;
        let mut index = self.index()?;
        let r = f(&mut index)?;
        self.write_atomic(&self.index_path(), &index.to_canonical_vec())?;
        drop(lock);
        Ok(r)
    }

    /// Adds `desc` to `index.json` under `tag` (the
    /// `org.opencontainers.image.ref.name` annotation), replacing any entry
    /// that had the tag.
    ///
    /// # Errors
    /// As [`Layout::update_index`].
    pub fn tag(&self, tag: &str, mut desc: Descriptor) -> Result<(), Error> {
        desc.annotations
            .insert(annotation::REF_NAME.to_owned(), tag.to_owned());
        self.update_index(|index| {
            index
                .manifests
                .retain(|d| d.annotation(annotation::REF_NAME) != Some(tag));
            index.manifests.push(desc);
            Ok(())
        })
    }

    /// Adds `desc` to `index.json` without a tag (unless it is there already).
    ///
    /// # Errors
    /// As [`Layout::update_index`].
    pub fn add_manifest(&self, desc: Descriptor) -> Result<(), Error> {
        self.update_index(|index| {
            if !index.manifests.iter().any(|d| d == &desc) {
                index.manifests.push(desc);
            }
            Ok(())
        })
    }

    /// Removes the entries tagged `tag`; returns how many there were.
    ///
    /// # Errors
    /// As [`Layout::update_index`].
    pub fn untag(&self, tag: &str) -> Result<usize, Error> {
        self.update_index(|index| {
            let before = index.manifests.len();
            index
                .manifests
                .retain(|d| d.annotation(annotation::REF_NAME) != Some(tag));
            Ok(before - index.manifests.len())
        })
    }

    /// The tags of `index.json` with their descriptors, in index order.
    ///
    /// # Errors
    /// As [`Layout::index`].
    pub fn tags(&self) -> Result<Vec<(String, Descriptor)>, Error> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .filter_map(|d| Some((d.annotation(annotation::REF_NAME)?.to_owned(), d)))
            .collect())
    }

    /// Finds the `index.json` entry for a tag or a digest (`sha256:...`,
    /// `sha512:...`).
    /// A digest that is not in `index.json` but whose blob exists resolves
    /// to a descriptor read from the blob's media type.
    ///
    /// # Errors
    /// [`Error::TagNotFound`] or [`Error::BlobNotFound`].
    pub fn resolve(&self, tag_or_digest: &str) -> Result<Descriptor, Error> {
        let index = self.index()?;
        if let Ok(digest) = tag_or_digest.parse::<Digest>() {
            if let Some(d) = index.manifests.iter().find(|d| d.digest == digest) {
                return Ok(d.clone());
            }
            let path = self.blob_path(&digest);
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::BlobNotFound { digest })
                }
                Err(e) => return Err(Error::io("read", path, e)),
            };
            let desc =
                Descriptor::new(MediaType::ImageManifest, digest.clone(), bytes.len() as u64);
            digest.verify(&bytes).map_err(|source| Error::Integrity {
                digest: digest.clone(),
                source,
            })?;
            let any = ocikit_types::AnyManifest::from_slice(&bytes, None).map_err(|source| {
                Error::Document {
                    path: digest.to_string(),
                    source,
                }
            })?;
            let mut desc = desc;
            desc.media_type = any.media_type();
            return Ok(desc);
        }
        index
            .manifests
            .into_iter()
            .rev()
            .find(|d| d.annotation(annotation::REF_NAME) == Some(tag_or_digest))
            .ok_or_else(|| Error::TagNotFound {
                tag: tag_or_digest.to_owned(),
                path: self.root.clone(),
            })
    }

    /// Removes temp files older than `min_age` left by interrupted writes.
    pub(crate) fn stale_temp_files(&self, min_age: Duration) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.temp_dir()) else {
            return Vec::new();
        };
        let now = SystemTime::now();
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .map(|t| now.duration_since(t).unwrap_or_default() >= min_age)
                    .unwrap_or(false)
            })
            .map(|e| e.path())
            .collect()
    }
}
