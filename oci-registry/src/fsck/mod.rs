//! A consistency check of a registry's storage (`ocikit-registry fsck`):
//! what every stored manifest references, every blob's digest, tags,
//! the referrers index and orphans, with repairs of what can be rebuilt.
//!
//! The check goes through the [`Storage`](crate::Storage) trait only, so
//! it works on every backend; what it can see depends on what the backend
//! lists (see [`fsck`]).

use ocikit_types::Digest;
use serde::Serialize;

mod check;
mod rehash;

pub use check::fsck;

/// Whether [`fsck`] only looks, or also repairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsckMode {
    /// Report, change nothing.
    Check,
    /// Report, and rebuild what can be rebuilt: a blob a manifest needs
    /// that is stored but not linked into the manifest's repository is
    /// linked again, a missing referrers entry is added and an entry for
    /// a manifest that is not stored (or has another subject) is removed.
    /// Data (blobs, manifests, tags) is never deleted or rewritten:
    /// orphans are the garbage collector's job.
    Repair,
}

/// One thing [`fsck`] found. Everything but [`Finding::OrphanBlob`] and
/// [`Finding::AbsentSubject`] is damage ([`Finding::is_damage`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// A manifest names a blob (its config or a layer) that is not stored
    /// at all. Not repairable: the bytes are gone.
    MissingBlob {
        /// The repository of the manifest.
        repository: String,
        /// The manifest.
        manifest: Digest,
        /// The blob it names.
        blob: Digest,
    },
    /// A manifest names a blob that is stored but not linked into the
    /// manifest's repository, so pulls of it fail there. Repairable: the
    /// link is made again.
    UnlinkedBlob {
        /// The repository of the manifest.
        repository: String,
        /// The manifest.
        manifest: Digest,
        /// The blob it names.
        blob: Digest,
    },
    /// An index names a manifest its repository does not hold. Not
    /// repairable.
    MissingManifest {
        /// The repository of the index.
        repository: String,
        /// The index.
        index: Digest,
        /// The manifest it names.
        manifest: Digest,
    },
    /// A stored blob or manifest whose bytes hash to another digest (or
    /// whose size differs from what a manifest says). Not repairable.
    CorruptBlob {
        /// The digest it is stored under.
        digest: Digest,
        /// The digest of its bytes.
        found: Digest,
        /// Its size in bytes.
        size: u64,
    },
    /// A stored blob or manifest whose bytes could not be read.
    UnreadableBlob {
        /// The digest it is stored under.
        digest: Digest,
        /// Why (the storage's error and its causes).
        reason: String,
    },
    /// A manifest the repository lists whose bytes are not its manifest
    /// (the storage's error says why).
    UnreadableManifest {
        /// The repository.
        repository: String,
        /// The manifest.
        digest: Digest,
        /// Why (the storage's error and its causes).
        reason: String,
    },
    /// A stored manifest that does not parse as the media type it was
    /// pushed with; its references cannot be checked.
    UnparsableManifest {
        /// The repository.
        repository: String,
        /// The manifest.
        digest: Digest,
        /// The media type it was stored with.
        media_type: String,
    },
    /// A tag pointing at a manifest the repository does not hold. Not
    /// repaired: which manifest it meant is unknown.
    DanglingTag {
        /// The repository.
        repository: String,
        /// The tag.
        tag: String,
        /// What it points at.
        digest: Digest,
    },
    /// A manifest with a `subject` that the referrers index does not list
    /// under that subject. Repairable: the entry is added.
    MissingReferrer {
        /// The repository.
        repository: String,
        /// The subject.
        subject: Digest,
        /// The manifest naming it.
        referrer: Digest,
    },
    /// A referrers index entry for a manifest that is not stored, or
    /// whose subject is another. Repairable: the entry is removed.
    StaleReferrer {
        /// The repository.
        repository: String,
        /// The subject it is listed under.
        subject: Digest,
        /// The manifest it names.
        referrer: Digest,
    },
    /// A manifest whose `subject` is not stored in its repository. The
    /// distribution spec allows it (a referrer may be pushed first), so
    /// it is not damage.
    AbsentSubject {
        /// The repository.
        repository: String,
        /// The manifest.
        manifest: Digest,
        /// Its subject.
        subject: Digest,
    },
    /// A stored blob no manifest of any repository references: garbage
    /// for the collector (or a push in progress), not damage.
    OrphanBlob {
        /// Its digest.
        digest: Digest,
        /// Its size in bytes.
        size: u64,
    },
}

impl Finding {
    /// True for damage: everything but orphans and absent subjects.
    pub fn is_damage(&self) -> bool {
        !matches!(
            self,
            Finding::OrphanBlob { .. } | Finding::AbsentSubject { .. }
        )
    }

    /// True when [`FsckMode::Repair`] fixes it.
    pub fn is_repairable(&self) -> bool {
        matches!(
            self,
            Finding::UnlinkedBlob { .. }
                | Finding::MissingReferrer { .. }
                | Finding::StaleReferrer { .. }
        )
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::MissingBlob { repository: r, manifest: m, blob: b } => {
                write!(f, "blob {b} named by manifest {r}@{m} is not stored")
            }
            Finding::UnlinkedBlob { repository: r, manifest: m, blob: b } => write!(
                f,
                "blob {b} named by manifest {r}@{m} is stored but not linked in {r}"
            ),
            Finding::MissingManifest { repository: r, index: i, manifest: m } => {
                write!(f, "manifest {m} named by index {r}@{i} is not stored in {r}")
            }
            Finding::CorruptBlob { digest, found, size } => write!(
                f,
                "blob {digest} holds {size} bytes whose digest is {found}"
            ),
            Finding::UnreadableBlob { digest, reason } => {
                write!(f, "blob {digest} cannot be read: {reason}")
            }
            Finding::UnreadableManifest { repository: r, digest, reason } => {
                write!(f, "manifest {r}@{digest} cannot be read: {reason}")
            }
            Finding::UnparsableManifest { repository: r, digest, media_type } => {
                write!(f, "manifest {r}@{digest} does not parse as {media_type}")
            }
            Finding::DanglingTag { repository: r, tag, digest } => {
                write!(f, "tag {r}:{tag} points at {digest}, which is not stored")
            }
            Finding::MissingReferrer { repository: r, subject, referrer } => write!(
                f,
                "manifest {r}@{referrer} has subject {subject} but the referrers index does not list it"
            ),
            Finding::StaleReferrer { repository: r, subject, referrer } => write!(
                f,
                "the referrers index of {r}@{subject} lists {referrer}, which is not stored with that subject"
            ),
            Finding::AbsentSubject { repository: r, manifest, subject } => {
                write!(f, "manifest {r}@{manifest} has subject {subject}, which is not stored (allowed)")
            }
            Finding::OrphanBlob { digest, size } => {
                write!(f, "blob {digest} ({size} bytes) is referenced by no manifest")
            }
        }
    }
}

/// What [`fsck`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FsckReport {
    /// What is wrong (or notable) after the run, in the order found.
    pub findings: Vec<Finding>,
    /// What was wrong and was repaired ([`FsckMode::Repair`] only).
    pub repaired: Vec<Finding>,
    /// Repositories checked.
    pub repositories: usize,
    /// Manifests checked.
    pub manifests: usize,
    /// Blobs and manifests whose bytes were hashed, each once.
    pub blobs_verified: usize,
    /// The bytes hashed.
    pub bytes_verified: u64,
    /// False when the storage does not list its blobs, so orphans could
    /// not be looked for.
    pub orphans_listed: bool,
}

impl FsckReport {
    /// The findings that are damage.
    pub fn damage(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_damage())
    }

    /// True when no damage is left.
    pub fn is_clean(&self) -> bool {
        self.damage().next().is_none()
    }
}

/// An error and its causes, each once, for a finding's `reason`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests;
