//! Checking a whole layout: every blob against its name, every reference
//! against the store.

use std::collections::{BTreeSet, VecDeque};
use std::io::Read;

use ocikit_types::{AnyManifest, Descriptor, Digest, MediaType};

use crate::{Error, Layout, Verification};

/// Documents larger than this are reported rather than parsed.
const MAX_DOCUMENT: u64 = 4 << 20;

/// Who holds a reference to a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Referrer {
    /// The layout's `index.json`.
    IndexJson,
    /// A manifest or index stored in the layout.
    Document(Digest),
}

impl std::fmt::Display for Referrer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Referrer::IndexJson => f.write_str("index.json"),
            Referrer::Document(d) => write!(f, "{d}"),
        }
    }
}

/// One thing wrong in a layout, from [`Layout::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A stored blob's content does not hash to the digest it is stored
    /// under.
    CorruptBlob {
        /// The digest the blob is stored under.
        expected: Digest,
        /// The digest of its content.
        found: Digest,
    },
    /// A referenced blob is not in the store.
    MissingBlob {
        /// The digest referenced.
        digest: Digest,
        /// Who references it.
        referrer: Referrer,
    },
    /// A descriptor's size differs from the stored blob's.
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// Who references it.
        referrer: Referrer,
        /// The size in the descriptor.
        expected: u64,
        /// The size stored.
        found: u64,
    },
    /// A blob referenced as a manifest or index is not a valid one.
    BadDocument {
        /// The blob.
        digest: Digest,
        /// The media type it was referenced with.
        media_type: MediaType,
        /// What is wrong with it.
        error: ocikit_types::Error,
    },
    /// A blob stored under a digest algorithm this crate cannot compute.
    Unverifiable {
        /// The blob.
        digest: Digest,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::CorruptBlob { expected, found } => {
                write!(
                    f,
                    "blob {expected} is corrupt: its content hashes to {found}"
                )
            }
            Problem::MissingBlob { digest, referrer } => {
                write!(f, "blob {digest} referenced by {referrer} is missing")
            }
            Problem::SizeMismatch {
                digest,
                referrer,
                expected,
                found,
            } => write!(
                f,
                "blob {digest} referenced by {referrer}: expected {expected} bytes, found {found}"
            ),
            Problem::BadDocument {
                digest,
                media_type,
                error,
            } => write!(f, "blob {digest} is not a valid {media_type}: {error}"),
            Problem::Unverifiable { digest } => {
                write!(f, "blob {digest}: cannot compute its digest algorithm")
            }
        }
    }
}

/// What [`Layout::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Blobs whose content was hashed.
    pub blobs: usize,
    /// References followed (from `index.json` and the documents it reaches).
    pub references: usize,
    /// Every problem found, in the order found: blobs first, then
    /// references.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Layout {
    /// Checks the whole layout and lists what is wrong, rather than
    /// stopping at the first problem:
    ///
    /// - every stored blob is hashed with its own digest's algorithm and
    ///   must match the name it is stored under;
    /// - every reference must resolve to a stored blob of the size it
    ///   says: the entries of `index.json` and everything they reach
    ///   (manifests, configs, layers, nested indexes, Docker manifests and
    ///   lists). A `subject` may be absent (the referrers API allows it).
    ///
    /// A corrupt document is reported and not followed.
    ///
    /// # Errors
    /// [`Error::Io`] when the store cannot be read, and the errors of
    /// [`Layout::index`]. Problems with content are in the report, not
    /// errors.
    ///
    /// # Example
    /// ```
    /// use ocikit_image::Layout;
    /// use ocikit_types::MediaType;
    /// let dir = tempfile::tempdir()?;
    /// let layout = Layout::create(dir.path())?;
    /// let blob = layout.write_blob(MediaType::ImageLayer, b"layer")?;
    /// layout.tag("v1", blob.clone())?;
    /// assert!(layout.verify()?.is_ok());
    ///
    /// std::fs::write(layout.blob_path(&blob.digest), b"LAYER")?;
    /// let report = layout.verify()?;
    /// assert_eq!(report.problems.len(), 1);
    /// println!("{}", report.problems[0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<VerifyReport, Error> {
        let span = tracing::debug_span!("verify", layout = %self.path().display());
        let _enter = span.enter();
        let mut report = VerifyReport::default();
        let mut corrupt = BTreeSet::new();
        let stored = self.all_blobs()?;
        for (digest, size) in &stored {
            if let Some(problem) = self.check_blob(digest, *size)? {
                corrupt.insert(digest.clone());
                report.problems.push(problem);
            }
            report.blobs += 1;
        }
        let sizes: std::collections::BTreeMap<&Digest, u64> =
            stored.iter().map(|(d, s)| (d, *s)).collect();

        let mut todo: VecDeque<(Descriptor, Referrer)> = self
            .index()?
            .manifests
            .into_iter()
            .map(|d| (d, Referrer::IndexJson))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some((d, referrer)) = todo.pop_front() {
            report.references += 1;
            let Some(&size) = sizes.get(&d.digest) else {
                report.problems.push(Problem::MissingBlob {
                    digest: d.digest.clone(),
                    referrer,
                });
                continue;
            };
            if size != d.size {
                report.problems.push(Problem::SizeMismatch {
                    digest: d.digest.clone(),
                    referrer,
                    expected: d.size,
                    found: size,
                });
                continue;
            }
            if !(d.media_type.is_manifest() || d.media_type.is_index())
                || corrupt.contains(&d.digest)
                || !seen.insert(d.digest.clone())
            {
                continue;
            }
            let doc = if size > MAX_DOCUMENT {
                Err(ocikit_types::Error::SizeMismatch {
                    expected: MAX_DOCUMENT,
                    found: size,
                })
            } else {
                let bytes = self.read_blob(&d)?;
                AnyManifest::from_slice(&bytes, Some(d.media_type.as_str()))
            };
            let doc = match doc {
                Ok(doc) => doc,
                Err(error) => {
                    report.problems.push(Problem::BadDocument {
                        digest: d.digest.clone(),
                        media_type: d.media_type.clone(),
                        error,
                    });
                    continue;
                }
            };
            let subject = match &doc {
                AnyManifest::Manifest(m) => m.subject.as_ref(),
                AnyManifest::Index(i) => i.subject.as_ref(),
                _ => None,
            };
            let by = Referrer::Document(d.digest.clone());
            for c in doc.children() {
                todo.push_back((c.clone(), by.clone()));
            }
            if let Some(s) = subject.filter(|s| sizes.contains_key(&s.digest)) {
                todo.push_back((s.clone(), by));
            }
        }
        tracing::debug!(
            blobs = report.blobs,
            references = report.references,
            problems = report.problems.len(),
            "verified"
        );
        Ok(report)
    }

    /// Hashes one stored blob through the verifying reader.
    fn check_blob(&self, digest: &Digest, size: u64) -> Result<Option<Problem>, Error> {
        let desc = Descriptor::new(MediaType::ImageLayer, digest.clone(), size);
        let mut r = match self.open_blob(&desc, Verification::Full) {
            Ok(r) => r,
            Err(Error::UnsupportedAlgorithm { .. }) => {
                return Ok(Some(Problem::Unverifiable {
                    digest: digest.clone(),
                }))
            }
            // Changed since it was listed: the reference walk reports it.
            Err(Error::BlobNotFound { .. } | Error::Integrity { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut buf = vec![0; crate::layer::BUF_SIZE];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) => {
                    return match r.error(e) {
                        Error::Integrity {
                            source: ocikit_types::Error::DigestMismatch { found, .. },
                            ..
                        } => Ok(Some(Problem::CorruptBlob {
                            expected: digest.clone(),
                            found: found.parse().map_err(|source| Error::Document {
                                path: digest.to_string(),
                                source,
                            })?,
                        })),
                        Error::Integrity { .. } => Ok(None),
                        other => Err(other),
                    }
                }
            }
        }
    }
}
