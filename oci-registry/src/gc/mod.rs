//! Garbage collection, online: blobs no manifest references, untagged
//! manifests (when asked) and idle upload sessions, removed while the
//! registry serves.
//!
//! The guarantee given to clients pushing meanwhile is on [`GcOptions`].

use std::time::Duration;

use ocikit_types::Digest;

use crate::RepositoryName;

mod collect;
pub(crate) mod config;
mod schedule;
mod uploads;

pub(crate) use collect::{run, Scope};
pub(crate) use schedule::{start, Maintenance};
pub use schedule::{GcSchedule, UploadPurging};

/// The default grace period: one hour, as zot's GC delay.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// What a garbage collection removes.
///
/// # Guarantee
///
/// Every blob carries a *promise time*: the last time it was stored
/// (upload `201`), mounted (`201`), found by `HEAD` (`200`), or named by
/// a manifest that was put (the manifest's own blob included). A run
/// starting at `T` removes a blob only if no manifest of any repository
/// references it and its promise time is before `T - grace`; the check
/// and the removal are one step against promises (a lock in
/// [`FsStorage`](crate::FsStorage), the store's lock in
/// [`MemoryStorage`](crate::MemoryStorage)). So:
///
/// - a blob a client was told exists stays for at least `grace` after
///   it was told, and a manifest put within that time which names it
///   succeeds (the put promises it again before it stores the manifest);
/// - a blob referenced by a stored manifest stays while the manifest
///   does, provided a manifest put takes less than `grace` from its
///   check of the references to its write;
/// - with `delete_untagged`, a manifest is removed only if no tag points
///   at it, no kept index lists it, it is not a referrer (`subject`) of
///   a kept manifest, and it was not promised within `grace` (a client
///   pushing an index's children before the index has that long).
///
/// A `grace` of zero promises nothing: use it only on a registry nobody
/// pushes to during the run. A removed blob goes from every repository
/// it was linked in; links of blobs some manifest references stay, also
/// in repositories whose manifests do not reference them. The lock of
/// [`FsStorage`](crate::FsStorage) is an `flock` on the store, so a
/// `ocikit-registry garbage-collect` process running beside the server
/// is bound by the same guarantee.
///
/// On `S3Storage`, shared by replicas with no lock,
/// the one step is a protocol through the bucket: a replica promising a
/// blob puts a promise object, then looks for the collector's *doom
/// marker* of the blob, then for the blob; the collector puts the
/// marker, then reads the promise, and removes the blob only when it is
/// older than the grace period. One of the two always sees the other's
/// write, so a blob is never removed under a push that relied on it (the
/// push sees the marker, waits for it to go, and stores the bytes anew
/// or answers that the blob is unknown). A lease object created with
/// `If-None-Match: *` lets one collector run at a time. Untagged
/// manifests and upload sessions are not collected there.
///
/// ```
/// use ocikit_registry::GcOptions;
/// let mut options = GcOptions::new();
/// options.dry_run = true;
/// assert_eq!(options.grace, ocikit_registry::DEFAULT_GRACE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcOptions {
    /// List what would be removed, and remove nothing; default false.
    pub dry_run: bool,
    /// Also remove manifests no tag reaches (Distribution's
    /// `--delete-untagged`), with the exceptions listed under
    /// Guarantee; default false.
    pub delete_untagged: bool,
    /// How long a promised blob or manifest is kept although nothing
    /// references it; default [`DEFAULT_GRACE`].
    pub grace: Duration,
    /// Also remove upload sessions idle for at least this long; default
    /// `None` (sessions are left alone).
    pub upload_age: Option<Duration>,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions::new()
    }
}

impl GcOptions {
    /// Removes unreferenced blobs older than [`DEFAULT_GRACE`], keeps
    /// untagged manifests and upload sessions, and is not a dry run.
    pub fn new() -> Self {
        GcOptions {
            dry_run: false,
            delete_untagged: false,
            grace: DEFAULT_GRACE,
            upload_age: None,
        }
    }
}

/// What a garbage collection removed, or would remove in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// The run was a dry run: nothing was removed.
    pub dry_run: bool,
    /// The blobs removed (manifests' own blobs included), by digest.
    pub blobs: Vec<RemovedBlob>,
    /// The untagged manifests removed.
    pub manifests: Vec<RemovedManifest>,
    /// The idle upload sessions removed.
    pub uploads: Vec<RemovedUpload>,
    /// Unreferenced blobs kept because they were promised within the
    /// grace period (or, in a real run, again during it).
    pub kept_in_grace: usize,
    /// The bytes of the removed blobs and upload sessions.
    pub bytes_freed: u64,
}

/// A blob a garbage collection removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct RemovedBlob {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
}

/// An untagged manifest a garbage collection removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct RemovedManifest {
    /// Its repository.
    pub repository: RepositoryName,
    /// Its digest.
    pub digest: Digest,
}

/// An idle upload session a garbage collection removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct RemovedUpload {
    /// The session's id.
    pub id: String,
    /// The repository it pushed to.
    pub repository: RepositoryName,
    /// The bytes it had received.
    pub size: u64,
}
