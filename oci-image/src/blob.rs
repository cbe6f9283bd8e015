//! The one digest path: every blob that enters a layout passes a
//! [`BlobWriter`], every verified read a [`BlobReader`], and both (with
//! the registry client's uploads) hash through one [`Verifier`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ocikit_types::{Algorithm, Descriptor, Digest, Digester};

use crate::{atomic, Error, Layout};

/// Hashes bytes as they pass and checks them against an expected digest
/// and size: the sans-I/O core that [`BlobWriter`], [`BlobReader`] and the
/// registry client's uploads share, so each byte is hashed exactly once
/// wherever it goes.
///
/// A verifier refuses a byte beyond the expected size (or its cap) before
/// hashing it, and [`Verifier::finish`] reports a short or altered content
/// as [`Error::Integrity`] with the expected and found values.
///
/// ```
/// use ocikit_image::Verifier;
/// use ocikit_types::Digest;
/// let digest = Digest::sha256(b"hello");
/// let mut v = Verifier::new(&digest, 5)?;
/// v.update(b"hel")?;
/// v.update(b"lo")?;
/// assert!(v.is_complete());
/// assert_eq!(v.finish()?, (digest.clone(), 5));
///
/// let mut v = Verifier::new(&digest, 5)?;
/// assert!(v.update(b"hello!").unwrap_err().is_integrity());
/// # Ok::<(), ocikit_image::Error>(())
/// ```
#[derive(Debug)]
pub struct Verifier {
    digester: Digester,
    /// The digest and size the content must have, when known.
    expected: Option<(Digest, u64)>,
    /// The most bytes accepted.
    cap: u64,
}

impl Verifier {
    /// A verifier for content that must be exactly `size` bytes hashing to
    /// `digest`, with `digest`'s own algorithm (sha256, sha512 or blake3).
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for an algorithm this crate cannot
    /// compute.
    pub fn new(digest: &Digest, size: u64) -> Result<Verifier, Error> {
        let algorithm =
            digest
                .registered_algorithm()
                .ok_or_else(|| Error::UnsupportedAlgorithm {
                    digest: digest.clone(),
                })?;
        Ok(Verifier {
            digester: Digester::new(algorithm),
            expected: Some((digest.clone(), size)),
            cap: size,
        })
    }

    /// A verifier for a descriptor's content: [`Verifier::new`] with its
    /// digest and size.
    ///
    /// # Errors
    /// As [`Verifier::new`].
    pub fn for_descriptor(desc: &Descriptor) -> Result<Verifier, Error> {
        Verifier::new(&desc.digest, desc.size)
    }

    /// A verifier that only computes the digest of content not known in
    /// advance (a layer being packed, a file being imported), accepting at
    /// most `cap` bytes.
    pub fn computing(algorithm: Algorithm, cap: u64) -> Verifier {
        Verifier {
            digester: Digester::new(algorithm),
            expected: None,
            cap,
        }
    }

    /// Lowers the most bytes accepted to `cap` (never raises it above an
    /// expected size).
    pub fn limit(&mut self, cap: u64) {
        self.cap = self.cap.min(cap);
    }

    /// Bytes hashed so far.
    pub fn written(&self) -> u64 {
        self.digester.bytes()
    }

    /// True when the expected size has been reached (never for a computing
    /// verifier): the caller can [`finish`](Verifier::finish) before it
    /// hands the last bytes on.
    pub fn is_complete(&self) -> bool {
        self.expected
            .as_ref()
            .is_some_and(|(_, size)| self.written() == *size)
    }

    /// Hashes `bytes`, unless they would take the content past its
    /// expected size or cap.
    ///
    /// # Errors
    /// [`Error::Integrity`] (a size mismatch) past the expected size,
    /// [`Error::BlobTooLarge`] past the cap of a computing verifier.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.admit(bytes.len())?;
        self.digester.update(bytes);
        Ok(())
    }

    /// Checks that `len` more bytes stay within the expected size and cap,
    /// without hashing them (the caller then passes them to `hash`).
    fn admit(&mut self, len: usize) -> Result<(), Error> {
        let total = self.written().saturating_add(len as u64);
        if total > self.cap {
            return Err(match &self.expected {
                Some((digest, size)) if total > *size => Error::Integrity {
                    digest: digest.clone(),
                    source: ocikit_types::Error::SizeMismatch {
                        expected: *size,
                        found: total,
                    },
                },
                _ => Error::BlobTooLarge { limit: self.cap },
            });
        }
        Ok(())
    }

    /// The digest and size of what passed, checked against the expected
    /// ones.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the size or the digest differs.
    pub fn finish(self) -> Result<(Digest, u64), Error> {
        let size = self.written();
        let found = self.digester.finalize();
        if let Some((want, want_size)) = self.expected {
            if size != want_size {
                return Err(Error::Integrity {
                    digest: want,
                    source: ocikit_types::Error::SizeMismatch {
                        expected: want_size,
                        found: size,
                    },
                });
            }
            if found != want {
                return Err(Error::Integrity {
                    source: ocikit_types::Error::DigestMismatch {
                        expected: want.to_string(),
                        found: found.to_string(),
                    },
                    digest: want,
                });
            }
        }
        Ok((found, size))
    }
}

/// Carries an [`Error::Integrity`] through `io::Error` (readers, request
/// bodies), so that it can be recovered typed with
/// [`Error::find_integrity`].
#[derive(Debug, Clone)]
struct IntegrityCarrier {
    digest: Digest,
    source: ocikit_types::Error,
}

impl std::fmt::Display for IntegrityCarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blob {} failed verification", self.digest)
    }
}

impl std::error::Error for IntegrityCarrier {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Error {
    /// This error as an `io::Error`: an integrity failure becomes
    /// `InvalidData` that [`Error::find_integrity`] recovers; other
    /// errors keep their kind where they have one.
    pub fn into_io(self) -> io::Error {
        match self {
            Error::Integrity { digest, source } => io::Error::new(
                io::ErrorKind::InvalidData,
                IntegrityCarrier { digest, source },
            ),
            Error::Io { source, .. } => source,
            other => io::Error::other(other),
        }
    }

    /// The integrity failure somewhere in `e`'s chain of sources (an
    /// `io::Error` from [`Error::into_io`], wrapped by any number of
    /// layers, such as an HTTP client's body error), as
    /// [`Error::Integrity`].
    pub fn find_integrity(e: &(dyn std::error::Error + 'static)) -> Option<Error> {
        let mut next = Some(e);
        while let Some(err) = next {
            let carrier = err.downcast_ref::<IntegrityCarrier>().or_else(|| {
                err.downcast_ref::<io::Error>()
                    .and_then(io::Error::get_ref)
                    .and_then(|inner| inner.downcast_ref::<IntegrityCarrier>())
            });
            if let Some(c) = carrier {
                return Some(Error::Integrity {
                    digest: c.digest.clone(),
                    source: c.source.clone(),
                });
            }
            next = err.source();
        }
        None
    }
}

/// A blob being written into a layout's store: bytes go through a
/// [`Verifier`] into a temp file inside the layout (with a name that
/// cannot be guessed); [`BlobWriter::commit`] checks size and digest,
/// syncs the file and renames it into place. A writer dropped, or whose
/// content does not match, removes its temp file; blobs already stored
/// are never touched.
///
/// Feed it as an [`io::Write`] (sync code: archives, layer packing) or
/// with [`BlobWriter::feed`] (async code: chunks from the network), which
/// returns the crate's typed errors. A write that would pass the expected
/// size or the cap fails before anything of it is written.
///
/// ```
/// use std::io::Write;
/// use ocikit_image::Layout;
/// use ocikit_types::Digest;
/// let dir = tempfile::tempdir()?;
/// let layout = Layout::create(dir.path())?;
/// let digest = Digest::sha256(b"content");
/// let mut w = layout.blob_writer_for(&digest, 7)?;
/// w.write_all(b"content")?;
/// assert_eq!(w.commit()?, (digest.clone(), 7));
/// assert!(layout.has_blob(&digest));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BlobWriter<'a> {
    layout: &'a Layout,
    file: io::BufWriter<tempfile::NamedTempFile>,
    verifier: Verifier,
    /// Set after a failed write: the content is unknown, so it is never
    /// committed.
    broken: bool,
}

impl<'a> BlobWriter<'a> {
    pub(crate) fn new(layout: &'a Layout, verifier: Verifier) -> Result<Self, Error> {
        let file = atomic::temp_file_in(&layout.temp_dir())?;
        Ok(BlobWriter {
            layout,
            file: io::BufWriter::with_capacity(1 << 20, file),
            verifier,
            broken: false,
        })
    }

    /// Lowers the most bytes accepted to `cap` (default: the expected size,
    /// or unlimited for [`Layout::blob_writer`]).
    pub fn limit(&mut self, cap: u64) -> &mut Self {
        self.verifier.limit(cap);
        self
    }

    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.verifier.written()
    }

    fn temp_path(&self) -> &Path {
        self.file.get_ref().path()
    }

    /// Adds `chunk` to the blob.
    ///
    /// # Errors
    /// [`Error::Integrity`] past the expected size, [`Error::BlobTooLarge`]
    /// past the cap, [`Error::Io`] when the temp file cannot be written.
    /// After an error the writer cannot be committed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.broken {
            return Err(Error::io(
                "write",
                self.temp_path(),
                io::Error::other("an earlier write failed"),
            ));
        }
        self.broken = true;
        self.verifier.admit(chunk.len())?;
        // Copied first, hashed second: the hash then reads the chunk from
        // cache (measured: hashing first costs a quarter more time).
        self.file
            .write_all(chunk)
            .map_err(|e| Error::io("write", self.file.get_ref().path(), e))?;
        self.verifier.digester.update(chunk);
        self.broken = false;
        Ok(())
    }

    /// Checks size and digest, syncs the content and moves it into the
    /// store. Returns the digest and size.
    ///
    /// # Errors
    /// [`Error::Integrity`] on a mismatch (nothing is stored),
    /// [`Error::Io`].
    pub fn commit(self) -> Result<(Digest, u64), Error> {
        let BlobWriter {
            layout,
            file,
            verifier,
            broken,
        } = self;
        let file = file.into_inner().map_err(|e| {
            let (e, w) = e.into_parts();
            Error::io("write", w.get_ref().path(), e)
        })?;
        if broken {
            return Err(Error::io(
                "commit",
                file.path(),
                io::Error::other("an earlier write failed"),
            ));
        }
        let (digest, size) = verifier.finish()?;
        atomic::persist(file, &layout.blob_path(&digest))?;
        Ok((digest, size))
    }
}

impl BlobWriter<'_> {
    /// Feeds everything `reader` gives, in 1 MiB steps, then commits.
    /// Reading stops at the first byte past the expected size or cap.
    ///
    /// # Errors
    /// As [`BlobWriter::feed`] and [`BlobWriter::commit`], and
    /// [`Error::Io`] when `reader` fails.
    pub fn commit_from(mut self, mut reader: impl Read) -> Result<(Digest, u64), Error> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return self.commit(),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::find_integrity(&e)
                        .unwrap_or_else(|| Error::io("read content for", self.temp_path(), e)))
                }
            };
            self.feed(&buf[..n])?;
        }
    }
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.feed(buf).map_err(Error::into_io)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

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

/// A verifying blob reader, from [`Layout::open_blob`].
///
/// With [`Verification::Full`] the read that reaches the expected size
/// checks the digest before it returns: on a mismatch it fails
/// (`InvalidData`, see [`BlobReader::error`] and [`Error::find_integrity`])
/// instead of handing out the last bytes, so a consumer that forwards what
/// it reads (an upload) never forwards a complete wrong blob.
#[derive(Debug)]
pub struct BlobReader {
    file: File,
    path: PathBuf,
    digest: Digest,
    size: u64,
    read: u64,
    /// Set once the end was checked.
    ended: bool,
    /// Why the end check failed.
    failed: Option<ocikit_types::Error>,
    verifier: Option<Verifier>,
}

impl BlobReader {
    pub(crate) fn new(
        file: File,
        path: PathBuf,
        desc: &Descriptor,
        verification: Verification,
    ) -> Result<Self, Error> {
        let verifier = match verification {
            Verification::Full => Some(Verifier::for_descriptor(desc)?),
            Verification::SizeOnlyUnverified => None,
        };
        Ok(BlobReader {
            file,
            path,
            digest: desc.digest.clone(),
            size: desc.size,
            read: 0,
            ended: false,
            failed: None,
            verifier,
        })
    }

    /// Turns an I/O error from this reader back into the crate's error.
    pub fn error(&self, e: io::Error) -> Error {
        Error::find_integrity(&e).unwrap_or_else(|| Error::io("read", &self.path, e))
    }

    fn mismatch(&self, found: u64) -> io::Error {
        Error::Integrity {
            digest: self.digest.clone(),
            source: ocikit_types::Error::SizeMismatch {
                expected: self.size,
                found,
            },
        }
        .into_io()
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(source) = &self.failed {
            // Keep failing: a consumer that reads on never sees an end.
            return Err(Error::Integrity {
                digest: self.digest.clone(),
                source: source.clone(),
            }
            .into_io());
        }
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        if self.read < self.size {
            let max = usize::try_from(self.size - self.read)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            n = self.file.read(&mut buf[..max])?;
            if n == 0 {
                return Err(self.mismatch(self.read));
            }
            if let Some(v) = &mut self.verifier {
                v.update(&buf[..n]).map_err(Error::into_io)?;
            }
            self.read += n as u64;
            if self.read < self.size {
                return Ok(n);
            }
        }
        // At the expected size: the file must end here too, and the digest
        // match, before the last bytes are handed out.
        self.ended = true;
        let mut probe = [0u8; 1];
        let checked = if self.file.read(&mut probe)? != 0 {
            Err(ocikit_types::Error::SizeMismatch {
                expected: self.size,
                found: self.size + 1,
            })
        } else {
            match self.verifier.take().map(Verifier::finish) {
                Some(Err(Error::Integrity { source, .. })) => Err(source),
                Some(Err(other)) => return Err(other.into_io()),
                _ => Ok(()),
            }
        };
        match checked {
            Ok(()) => Ok(n),
            Err(source) => {
                self.failed = Some(source);
                self.read(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests;
