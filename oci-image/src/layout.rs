//! OCI image layouts (`image-layout.md`): the `oci-layout` marker,
//! `index.json`, and a content-addressed blob store under `blobs/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ocikit_types::{
    annotation, Algorithm, Descriptor, Digest, Digester, Document, ImageIndex, MediaType,
    OciLayout, Raw,
};

use crate::Error;

/// Where ocikit keeps its own files inside a layout: the index lock and
/// temp files of writes under way. Other tools ignore it.
const PRIVATE_DIR: &str = ".ocikit";

/// How much a blob read checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Verification {
    /// Size and digest (the default): a reader never gets content that is
    /// not the content described.
    #[default]
    Full,
    /// Size only: cheaper, but a blob altered without changing its length
    /// goes unnoticed. For callers that verified the content by other means.
    SizeOnlyUnverified,
}

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

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

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

    fn temp_dir(&self) -> PathBuf {
        self.private_dir().join("tmp")
    }

    fn ensure_private_dirs(&self) -> Result<(), Error> {
        let tmp = self.temp_dir();
        fs::create_dir_all(&tmp).map_err(|e| Error::io("create directory", tmp, e))
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

    /// Creates a new temp file inside the layout.
    fn temp_file(&self) -> Result<(PathBuf, File), Error> {
        self.ensure_private_dirs()?;
        loop {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let name = format!(
                "{}-{}-{nanos}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = self.temp_dir().join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => return Ok((path, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create", path, e)),
            }
        }
    }

    /// Writes a small file atomically: temp file, sync, rename, sync dir.
    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
        let (tmp, mut f) = self.temp_file()?;
        let result = f
            .write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("write", &tmp, e))
            .and_then(|()| self.commit(&tmp, dest));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn commit(&self, tmp: &Path, dest: &Path) -> Result<(), Error> {
        fs::rename(tmp, dest).map_err(|e| Error::io("rename into", dest, e))?;
        if let Some(parent) = dest.parent() {
            // Make the rename durable; failure here is not worth failing the write.
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Stores `bytes` as a blob and returns its descriptor.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write_blob(&self, media_type: MediaType, bytes: &[u8]) -> Result<Descriptor, Error> {
        let (digest, size) = self.write_blob_from(bytes, Algorithm::Sha256, None)?;
        Ok(Descriptor::new(media_type, digest, size))
    }

    /// Streams `reader` into the store, hashing with `algorithm`, and
    /// returns the digest and size. When `expected` is given, the content
    /// must have exactly that digest and size, or nothing is stored.
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
        let mut w = self.blob_writer(algorithm)?;
        copy_limited(reader, &mut w, expected).map_err(|e| match e {
            CopyError::Read(e) => Error::io("read content for", &w.tmp, e),
            CopyError::Write(e) => Error::io("write", &w.tmp, e),
            CopyError::TooLong(digest, size) => Error::Integrity {
                digest,
                source: ocikit_types::Error::SizeMismatch {
                    expected: size,
                    found: size + 1,
                },
            },
        })?;
        w.commit(expected)
    }

    /// A writer that stores a blob when committed.
    ///
    /// # Errors
    /// [`Error::Io`] when the temp file cannot be created.
    pub fn blob_writer(&self, algorithm: Algorithm) -> Result<BlobWriter<'_>, Error> {
        let (tmp, file) = self.temp_file()?;
        Ok(BlobWriter {
            layout: self,
            tmp,
            file: Some(io::BufWriter::with_capacity(1 << 20, file)),
            digester: Digester::new(algorithm),
        })
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
        let digester = match verification {
            Verification::Full => {
                Some(desc.digest.digester().map_err(|source| Error::Integrity {
                    digest: desc.digest.clone(),
                    source,
                })?)
            }
            Verification::SizeOnlyUnverified => None,
        };
        Ok(BlobReader {
            file,
            path,
            expected: desc.digest.clone(),
            remaining: desc.size,
            read: 0,
            digester,
        })
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

    /// Stores a document's exact bytes and returns its descriptor.
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
            self.write_blob_from(
                doc.bytes(),
                Algorithm::Sha256,
                Some((&desc.digest, desc.size)),
            )?;
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

    /// Finds the `index.json` entry for a tag or a digest (`sha256:...`).
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

enum CopyError {
    Read(io::Error),
    Write(io::Error),
    /// More than the expected size arrived (the size is a lower bound).
    TooLong(Digest, u64),
}

fn copy_limited(
    mut reader: impl Read,
    w: &mut BlobWriter<'_>,
    expected: Option<(&Digest, u64)>,
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        total += n as u64;
        if let Some((digest, size)) = expected {
            if total > size {
                return Err(CopyError::TooLong(digest.clone(), size));
            }
        }
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}

/// A blob being written: content goes to a temp file through the hasher;
/// [`BlobWriter::commit`] verifies it and moves it into place. Dropping the
/// writer without committing removes the temp file.
#[derive(Debug)]
pub struct BlobWriter<'a> {
    layout: &'a Layout,
    tmp: PathBuf,
    file: Option<io::BufWriter<File>>,
    digester: Digester,
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob writer already committed"))?;
        let n = file.write(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl BlobWriter<'_> {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.digester.bytes()
    }

    /// Checks the content against `expected` (digest and size) when given,
    /// syncs it and moves it into the store. Returns the digest and size.
    ///
    /// # Errors
    /// [`Error::Integrity`] on a mismatch (nothing is stored), [`Error::Io`].
    pub fn commit(mut self, expected: Option<(&Digest, u64)>) -> Result<(Digest, u64), Error> {
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::io("commit", &self.tmp, io::Error::other("already committed")))?;
        let size = self.digester.bytes();
        let algorithm = self.digester.algorithm();
        let digester = std::mem::replace(&mut self.digester, Digester::new(algorithm));
        let digest = digester.finalize();
        if let Some((want, want_size)) = expected {
            if size != want_size {
                return Err(Error::Integrity {
                    digest: want.clone(),
                    source: ocikit_types::Error::SizeMismatch {
                        expected: want_size,
                        found: size,
                    },
                });
            }
            digest.check(want).map_err(|source| Error::Integrity {
                digest: want.clone(),
                source,
            })?;
        }
        let file = file
            .into_inner()
            .map_err(|e| Error::io("write", &self.tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("sync", &self.tmp, e))?;
        drop(file);
        let dest = self.layout.blob_path(&digest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
        }
        self.layout.commit(&self.tmp, &dest)?;
        Ok((digest, size))
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        // Committed writers have renamed the file away; this only cleans up
        // abandoned ones.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// A verifying blob reader, from [`Layout::open_blob`].
#[derive(Debug)]
pub struct BlobReader {
    file: File,
    path: PathBuf,
    expected: Digest,
    remaining: u64,
    read: u64,
    digester: Option<Digester>,
}

impl BlobReader {
    /// Turns an I/O error from this reader back into the crate's error.
    pub fn error(&self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::InvalidData {
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<IntegrityError>()) {
                return Error::Integrity {
                    digest: self.expected.clone(),
                    source: inner.0.clone(),
                };
            }
        }
        Error::io("read", &self.path, e)
    }
}

/// Carries an integrity failure through `io::Error`.
#[derive(Debug)]
struct IntegrityError(ocikit_types::Error);

impl std::fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IntegrityError {}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // At the end: the file must end here too, and the digest match.
            let mut probe = [0u8; 1];
            if self.file.read(&mut probe)? != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    IntegrityError(ocikit_types::Error::SizeMismatch {
                        expected: self.read,
                        found: self.read + 1,
                    }),
                ));
            }
            if let Some(d) = self.digester.take() {
                d.finalize()
                    .check(&self.expected)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, IntegrityError(e)))?;
            }
            return Ok(0);
        }
        let max = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                IntegrityError(ocikit_types::Error::SizeMismatch {
                    expected: self.remaining + self.read,
                    found: self.read,
                }),
            ));
        }
        self.remaining -= n as u64;
        self.read += n as u64;
        if let Some(d) = &mut self.digester {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}
