//! The crate's one error type.

use std::path::PathBuf;

use ocikit_types::Digest;

/// Which of a layer's two digests a check concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerDigestKind {
    /// The digest of the blob as stored (compressed).
    Blob,
    /// The diff ID: the digest of the uncompressed tar stream.
    DiffId,
}

impl std::fmt::Display for LayerDigestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LayerDigestKind::Blob => "blob digest",
            LayerDigestKind::DiffId => "diff id",
        })
    }
}

/// Every failure `ocikit-image` reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        /// What was being done (`open`, `write`, `rename`, ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A directory is not an OCI image layout.
    #[error("{path} is not an OCI image layout: expected {expected}")]
    NotALayout {
        /// The directory.
        path: PathBuf,
        /// What was missing or wrong.
        expected: &'static str,
    },
    /// A document in the layout (or given to it) is malformed or invalid.
    #[error("document {path}")]
    Document {
        /// The file, or the blob's digest, that holds the document.
        path: String,
        /// What is wrong with it.
        #[source]
        source: ocikit_types::Error,
    },
    /// A blob is not in the store.
    #[error("blob {digest} not found")]
    BlobNotFound {
        /// The missing blob.
        digest: Digest,
    },
    /// Content failed its digest or size check.
    #[error("blob {digest} does not verify")]
    Integrity {
        /// The digest the content was stored or requested under.
        digest: Digest,
        /// The mismatch (expected and found).
        #[source]
        source: ocikit_types::Error,
    },
    /// No manifest in the layout carries the tag.
    #[error("tag {tag:?} not found in {path}")]
    TagNotFound {
        /// The tag asked for.
        tag: String,
        /// The layout.
        path: PathBuf,
    },
    /// No entry of an index matches the wanted platform; the source
    /// ([`ocikit_types::Error::PlatformNotFound`]) lists what it offers.
    #[error("index {index} has no manifest for the wanted platform")]
    PlatformNotFound {
        /// The index searched.
        index: Digest,
        /// What was wanted and what the index offers.
        #[source]
        source: ocikit_types::Error,
    },
    /// A layer's blob digest or diff ID is not the one expected.
    #[error("layer {layer}: {kind} mismatch: expected {expected}, found {found}")]
    LayerDigestMismatch {
        /// The layer's blob digest as described.
        layer: Digest,
        /// Which digest failed.
        kind: LayerDigestKind,
        /// The expected value.
        expected: Digest,
        /// The computed value.
        found: Digest,
    },
    /// A layer entry would create, change or delete something outside the root.
    #[error("layer entry {entry:?} escapes the root: {reason}")]
    PathEscapesRoot {
        /// The entry's path as written in the archive.
        entry: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A layer entry is malformed or of a kind that cannot be applied.
    #[error("layer entry {entry:?}: expected {expected}")]
    BadEntry {
        /// The entry's path as written in the archive.
        entry: String,
        /// What was expected of it.
        expected: &'static str,
    },
    /// A limit on what a layer may unpack was reached (decompression bombs).
    #[error("layer exceeds the {what} limit: at most {limit}, found more")]
    LimitExceeded {
        /// Which limit (`total size`, `entry count`, ...).
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A layer's tar stream is malformed.
    #[error("malformed layer archive")]
    Archive {
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// A layer's compressed stream cannot be decompressed: it is corrupt
    /// or truncated.
    #[error("corrupt {compression} stream{}", in_layer(.layer.as_ref()))]
    Decompress {
        /// The compression being undone (`gzip`, `zstd`).
        compression: &'static str,
        /// The layer's blob digest, when the caller gave it
        /// ([`crate::UnpackOptions::expected_blob_digest`]).
        layer: Option<Digest>,
        /// The decompressor's error.
        #[source]
        source: std::io::Error,
    },
    /// One layer of an image in a layout could not be applied; the source
    /// says why.
    #[error("unpack layer {digest} from {layout}")]
    Layer {
        /// The layer's blob digest.
        digest: Digest,
        /// The layout holding it.
        layout: PathBuf,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
    /// A compression this build does not support (feature disabled).
    #[error("{compression} layers need the `{feature}` feature of ocikit-image")]
    CompressionUnsupported {
        /// The compression met.
        compression: &'static str,
        /// The feature that adds it.
        feature: &'static str,
    },
    /// The layout's index.json lock could not be taken.
    #[error("lock {path}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Content of unknown digest grew past the size cap of its writer.
    #[error("blob exceeds the size cap: at most {limit} bytes, found more")]
    BlobTooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// A layer of an image has no diff ID in the image configuration.
    #[error("layer {layer} of manifest {manifest} has no diff id: expected one in the configuration's rootfs.diff_ids for each layer")]
    MissingDiffId {
        /// The image manifest.
        manifest: Digest,
        /// The layer's blob digest.
        layer: Digest,
    },
    /// A container id a snapshot store cannot take.
    #[error("container id {id:?}: expected {expected}")]
    BadContainerId {
        /// The id given.
        id: String,
        /// What an id must be.
        expected: &'static str,
    },
    /// An expected digest uses an algorithm this crate cannot compute.
    #[error("cannot compute digest {digest}: expected sha256, sha512 or blake3")]
    UnsupportedAlgorithm {
        /// The digest given.
        digest: Digest,
    },
}

fn in_layer(layer: Option<&Digest>) -> String {
    layer.map(|d| format!(" in layer {d}")).unwrap_or_default()
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// True when something asked for (blob, tag, platform) does not exist.
    pub fn is_not_found(&self) -> bool {
        if let Error::Layer { source, .. } = self {
            return source.is_not_found();
        }
        matches!(
            self,
            Error::BlobNotFound { .. } | Error::TagNotFound { .. } | Error::PlatformNotFound { .. }
        )
    }

    /// True when content did not match its digest or size: a sign of
    /// corruption or tampering.
    pub fn is_integrity(&self) -> bool {
        if let Error::Layer { source, .. } = self {
            return source.is_integrity();
        }
        matches!(
            self,
            Error::Integrity { .. } | Error::LayerDigestMismatch { .. }
        )
    }
}
