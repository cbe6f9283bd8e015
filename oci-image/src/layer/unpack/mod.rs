//! Applying a layer to a directory: Linux only, since every path is
//! resolved inside the root with `openat2(RESOLVE_IN_ROOT)` and entries are
//! made with `mknodat`, `fchownat` and `fsetxattr` as Linux has them.

mod overlay;
mod path;
mod root;
mod tripwire;
mod whiteout;

pub use overlay::WhiteoutMode;
pub(crate) use overlay::{is_overlay_xattr, opaque_xattr};
pub(crate) use root::{remove_any, Root};

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc;

use ocikit_types::{Algorithm, Compression, Digest, Digester};
use rustix::fs::{self as rfs, AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid};
use rustix::io::Errno;
use tar::EntryType;

use self::path::{clean_path, split_parent};
use self::tripwire::Tripwire;
use self::whiteout::Kind;
use super::{os, Decompressor, BUF_SIZE};
use crate::{Error, LayerDigestKind};

/// Whether unpacking may do what only root can (set any owner, make device
/// nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Privileges {
    /// Root when the effective user id is 0, rootless otherwise.
    #[default]
    Auto,
    /// Set owners from the archive and create device nodes; failures are
    /// errors.
    Root,
    /// Owners are mapped through the [`IdMap`] when one is given and left as
    /// the current user otherwise; device nodes are skipped with a warning
    /// and counted in [`UnpackReport::skipped`]; extended attributes the
    /// kernel refuses are skipped with a warning.
    Rootless,
}

/// One contiguous range of a user or group id mapping: the runtime-spec's
/// `LinuxIDMapping`, so a container's `linux.uidMappings` can be used as
/// they are.
pub use ocikit_types::runtime::IdMapping;

fn map_id(m: &IdMapping, id: u32) -> Option<u32> {
    let off = id.checked_sub(m.container_id)?;
    (off < m.size).then(|| m.host_id.checked_add(off)).flatten()
}

/// How the owners recorded in a layer become owners on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    uids: Vec<IdMapping>,
    gids: Vec<IdMapping>,
}

impl IdMap {
    /// A map of user ids and one of group ids. An id no range covers makes
    /// unpacking fail with [`Error::BadEntry`].
    pub fn new(uids: Vec<IdMapping>, gids: Vec<IdMapping>) -> Self {
        IdMap { uids, gids }
    }

    /// The host user id for a user id in the image.
    pub fn uid(&self, id: u32) -> Option<u32> {
        self.uids.iter().find_map(|m| map_id(m, id))
    }

    /// The host group id for a group id in the image.
    pub fn gid(&self, id: u32) -> Option<u32> {
        self.gids.iter().find_map(|m| map_id(m, id))
    }
}

/// Settings for [`unpack`].
///
/// ```
/// use ocikit_image::{Privileges, UnpackOptions};
/// let mut options = UnpackOptions::new();
/// options.privileges(Privileges::Rootless).max_entries(1_000);
/// ```
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    blob_digest: Option<Digest>,
    diff_id: Option<Digest>,
    compression: Option<Compression>,
    privileges: Privileges,
    id_map: Option<IdMap>,
    max_size: u64,
    max_entries: u64,
    whiteout_mode: WhiteoutMode,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions::new()
    }
}

impl UnpackOptions {
    /// Default settings: no expected digests, compression detected from the
    /// first bytes, privileges [`Privileges::Auto`], no id map, at most
    /// 64 GiB of uncompressed data and 10 million entries, whiteouts
    /// applied ([`WhiteoutMode::Apply`]).
    pub fn new() -> Self {
        UnpackOptions {
            blob_digest: None,
            diff_id: None,
            compression: None,
            privileges: Privileges::Auto,
            id_map: None,
            max_size: 64 << 30,
            max_entries: 10_000_000,
            whiteout_mode: WhiteoutMode::Apply,
        }
    }

    /// The digest the blob (the bytes as read) must have, usually the layer
    /// descriptor's `digest`. Its algorithm is the one computed. Default:
    /// none (the SHA-256 digest is computed and reported, not checked).
    pub fn expected_blob_digest(&mut self, digest: Digest) -> &mut Self {
        self.blob_digest = Some(digest);
        self
    }

    /// The diff ID the uncompressed tar stream must have, from the image
    /// configuration's `rootfs.diff_ids`. Default: none (computed with
    /// SHA-256 and reported, not checked).
    pub fn expected_diff_id(&mut self, digest: Digest) -> &mut Self {
        self.diff_id = Some(digest);
        self
    }

    /// The compression of the blob, for instance from the layer's media type
    /// ([`ocikit_types::MediaType::layer_compression`]). Default: detected from
    /// the first bytes with [`super::detect_compression`].
    pub fn compression(&mut self, compression: Compression) -> &mut Self {
        self.compression = Some(compression);
        self
    }

    /// Root or rootless behaviour. Default: [`Privileges::Auto`].
    pub fn privileges(&mut self, privileges: Privileges) -> &mut Self {
        self.privileges = privileges;
        self
    }

    /// Maps the owners in the layer to host ids, as root or rootless.
    /// Default: none (as root the layer's ids are used; rootless, files
    /// stay owned by the current user).
    pub fn id_map(&mut self, map: IdMap) -> &mut Self {
        self.id_map = Some(map);
        self
    }

    /// The most uncompressed bytes (the whole tar stream, headers and
    /// padding included) unpacking reads. Default: 64 GiB.
    pub fn max_size(&mut self, bytes: u64) -> &mut Self {
        self.max_size = bytes;
        self
    }

    /// The most archive entries unpacking accepts. Default: 10 million.
    pub fn max_entries(&mut self, entries: u64) -> &mut Self {
        self.max_entries = entries;
        self
    }

    /// Whether whiteouts delete what they name or are written in the
    /// overlay format for a layer directory of an overlayfs mount.
    /// Default: [`WhiteoutMode::Apply`].
    pub fn whiteout_mode(&mut self, mode: WhiteoutMode) -> &mut Self {
        self.whiteout_mode = mode;
        self
    }

    /// Whether unpacking with these options is rootless.
    pub(crate) fn is_rootless(&self) -> bool {
        match self.privileges {
            Privileges::Auto => !rustix::process::geteuid().is_root(),
            Privileges::Root => false,
            Privileges::Rootless => true,
        }
    }
}

/// What [`unpack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackReport {
    /// Entries created or updated (files, directories, links, nodes).
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Whiteouts and opaque whiteouts applied.
    pub whiteouts: u64,
    /// Entries skipped: device nodes when rootless, unknown entry types,
    /// AUFS metadata and whiteouts of paths from the same layer.
    pub skipped: u64,
    /// The compression that was undone.
    pub compression: Compression,
    /// The digest of the blob as read.
    pub blob_digest: Digest,
    /// The digest of the uncompressed tar stream.
    pub diff_id: Digest,
}

/// Applies a layer (a possibly compressed tar changeset) to the directory
/// `root`, which must exist.
///
/// The stream is read to its very end, so that the blob digest and the
/// diff ID computed on the way cover every byte; they are checked against
/// the expected values of `options` when given.
///
/// Entries are applied as layer.md says: an entry over an existing path
/// replaces it (removing a directory tree if needed), except a directory
/// over a directory, whose attributes are replaced; `.wh.NAME` deletes NAME
/// and `.wh..wh..opq` deletes the lower layers' children of its directory,
/// in both cases sparing what this same layer wrote. Contents come first,
/// then owner, mode, extended attributes (`SCHILY.xattr.*`) and
/// modification time; directories get their mode and time once the whole
/// layer is applied, deepest first (as GNU tar does on leaving a
/// directory), so a read-only directory still takes the entries after it
/// without `CAP_DAC_OVERRIDE`, and creating its children does not change
/// its time.
///
/// # Security
/// Guaranteed, for any input stream:
/// - Nothing outside `root` is created, changed or deleted. The root is
///   opened once; every parent directory is resolved from that handle with
///   `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so `..`, absolute
///   symlinks and escaping symlinks met on the way resolve inside the root.
///   A parent longer than `PATH_MAX` is resolved in pieces, each from the
///   directory reached with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, and
///   symlinks met are followed by the same rules from the root's handle,
///   so no piece can lead out of the root either;
///   the final component is handled with `*at` calls that do not follow it
///   (`O_NOFOLLOW | O_EXCL` creation after removal, `AT_SYMLINK_NOFOLLOW`
///   for owners and times). No path is ever built by joining strings onto
///   `root`.
/// - Names are cleaned lexically: absolute names become relative, a `..`
///   that would climb above the root is refused with
///   [`Error::PathEscapesRoot`], as are the whiteouts `.wh..` and `.wh...`;
///   names with NUL bytes are refused.
/// - Symlink targets are stored as written (absolute or escaping) but never
///   followed as a final component; a symlink at a written path is replaced.
/// - Hard link targets resolve inside the root and must be regular files.
/// - The uncompressed size and the entry count are bounded
///   ([`UnpackOptions::max_size`], [`UnpackOptions::max_entries`]).
///
/// Not guaranteed:
/// - Atomicity: on error (digest mismatch included, which is only known at
///   the end) the root holds a partly applied layer. Unpack into a fresh
///   directory and discard it on error.
/// - Protection against other processes changing the root concurrently.
///   In particular the mode of a device node or FIFO is set by name
///   (`fchmodat` cannot refuse symlinks on this kernel interface) right
///   after it was created.
/// - Memory: PAX and GNU long-name records are held in memory by the tar
///   reader; they are bounded only by the size limit.
/// - Extended attributes on symlinks, device nodes and FIFOs are skipped
///   with a warning (they need a path-based call).
///
/// # Errors
/// [`Error::LayerDigestMismatch`] when a digest differs (the blob's is
/// checked first), [`Error::PathEscapesRoot`] and [`Error::BadEntry`] for
/// hostile or malformed entries, [`Error::LimitExceeded`],
/// [`Error::Decompress`] for a corrupt compressed stream (naming the
/// expected blob digest when given), [`Error::Archive`] for a malformed
/// tar stream, [`Error::Io`] when the
/// filesystem refuses an operation, [`Error::CompressionUnsupported`] and
/// [`Error::UnsupportedAlgorithm`].
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ocikit_image::{pack, unpack, PackOptions, UnpackOptions};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("hello"), "world")?;
/// let mut blob = Vec::new();
/// let packed = pack(src.path(), &mut blob, &PackOptions::new())?;
///
/// let dst = tempfile::tempdir()?;
/// let mut options = UnpackOptions::new();
/// options.expected_diff_id(packed.diff_id.clone());
/// let report = unpack(&blob[..], dst.path(), &options)?;
/// assert_eq!(report.blob_digest, packed.blob_digest);
/// assert_eq!(std::fs::read_to_string(dst.path().join("hello"))?, "world");
/// # Ok(()) }
/// ```
pub fn unpack(
    reader: impl Read + Send,
    root: impl AsRef<Path>,
    options: &UnpackOptions,
) -> Result<UnpackReport, Error> {
    unpack_inner(
        &mut { reader } as &mut (dyn Read + Send),
        root.as_ref(),
        options,
    )
}

fn digester_for(expected: Option<&Digest>) -> Result<Digester, Error> {
    match expected {
        None => Ok(Digester::new(Algorithm::Sha256)),
        Some(d) => d
            .digester()
            .map_err(|_| Error::UnsupportedAlgorithm { digest: d.clone() }),
    }
}

fn unpack_inner(
    reader: &mut (dyn Read + Send),
    root_path: &Path,
    options: &UnpackOptions,
) -> Result<UnpackReport, Error> {
    let span =
        tracing::debug_span!("unpack", root = %root_path.display(), layer = ?options.blob_digest);
    let _enter = span.enter();

    let rootless = options.is_rootless();
    tracing::debug!(rootless, "unpacking layer");
    let mut root = Root::open(root_path)?;

    let tripwire = Tripwire::default();
    let blob_digester = digester_for(options.blob_digest.as_ref())?;
    let diff_digester = digester_for(options.diff_id.as_ref())?;
    // zstd decodes fast, so its stage has room for the tar stream's hash
    // while the applying stage takes the (smaller) blob's; for gzip the
    // decompressing stage is the slower one and keeps only the blob's.
    let swap = matches!(options.compression, Some(Compression::Zstd));
    let (blob_tx, blob_rx) = mpsc::sync_channel::<Vec<u8>>(PIPELINE_DEPTH);
    let (blob_digester, blob_side) = if swap {
        (None, Some((blob_rx, blob_digester)))
    } else {
        (Some(blob_digester), None)
    };
    let blob_reader = BlobTap {
        inner: reader,
        digester: blob_digester,
        tee: swap.then_some(blob_tx),
    };
    let decompressor = match options.compression {
        Some(c) => Decompressor::new(blob_reader, c)?,
        None => Decompressor::detect(blob_reader)?,
    };
    let compression = decompressor.compression();
    // An uncompressed layer's tar stream is its blob: one hash gives both
    // digests, when both use the same algorithm.
    let same_bytes = compression == Compression::None
        && options
            .diff_id
            .as_ref()
            .and_then(Digest::registered_algorithm)
            == options
                .blob_digest
                .as_ref()
                .and_then(Digest::registered_algorithm);
    let (producer_diff, consumer_diff) = match (same_bytes, swap) {
        (true, _) => (None, None),
        (false, true) => (Some(diff_digester), None),
        (false, false) => (None, Some(diff_digester)),
    };
    let diff_reader = Limited {
        inner: decompressor,
        read: 0,
        limit: options.max_size,
        tripwire: tripwire.clone(),
        digester: producer_diff,
    };

    // Two stages on two threads: reading and decompressing on one; parsing
    // the tar stream and writing files on this one; the two hashes placed
    // to balance them (above). Both digests cover every byte in one pass.
    // (A third thread for a hash measured no faster on two cores.)
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(PIPELINE_DEPTH);
    // Spent chunks go back to the first stage: fresh 1 MiB buffers would
    // cost a zeroing or a run of page faults each.
    let (spent_tx, spent_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let layer = options.blob_digest.as_ref();
        let producer = scope.spawn(move || produce(diff_reader, tx, spent_rx, layer));
        let consumed = consume(
            ChannelReader::new(rx, consumer_diff, blob_side, spent_tx),
            &mut root,
            options,
            rootless,
            &tripwire,
        );
        let produced = producer.join().map_err(|_| Error::Archive {
            source: io::Error::other("decompression thread panicked"),
        })?;
        // A corrupt stream is the cause of whatever the tar reader made
        // of its end.
        if let Err(e @ Error::Decompress { .. }) = produced {
            return Err(e);
        }
        let (counts, consumer_diff, consumer_blob) = consumed?;
        let (producer_blob, producer_diff) = produced?;
        let blob_digest = producer_blob
            .or(consumer_blob)
            .ok_or_else(|| Error::Archive {
                source: io::Error::other("no stage hashed the blob"),
            })?;
        let diff_id = producer_diff
            .or(consumer_diff)
            .unwrap_or_else(|| blob_digest.clone());
        Ok::<_, Error>((counts, blob_digest, diff_id))
    })
    .and_then(|(counts, blob_digest, diff_id)| {
        finish_report(options, compression, counts, blob_digest, diff_id)
    })
}

/// Chunks in flight between the two stages.
const PIPELINE_DEPTH: usize = 8;

/// Counts the decompressed bytes and refuses more than the limit.
struct Limited<R> {
    inner: R,
    read: u64,
    limit: u64,
    tripwire: Tripwire,
    /// Hashes the decompressed stream here, when this stage does.
    digester: Option<Digester>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            self.tripwire.trip();
            return Err(io::Error::other("layer size limit exceeded"));
        }
        if let Some(d) = &mut self.digester {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Reads the blob, hashing it here or handing copies to the applying stage.
struct BlobTap<R> {
    inner: R,
    digester: Option<Digester>,
    tee: Option<mpsc::SyncSender<Vec<u8>>>,
}

/// An error of the blob's own reader, told apart from the decompressor's
/// on its way through it.
#[derive(Debug)]
struct SourceRead(io::Error);

impl std::fmt::Display for SourceRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceRead {}

impl<R: Read> Read for BlobTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceRead(e)))?;
        if let Some(d) = &mut self.digester {
            d.update(&buf[..n]);
        }
        if let Some(t) = &self.tee {
            if n > 0 && t.send(buf[..n].to_vec()).is_err() {
                // The applying stage stopped (it reports why); stop reading.
                return Err(io::Error::other("unpacking stopped"));
            }
        }
        Ok(n)
    }
}

/// The first stage: reads the decompressed stream to its very end in
/// chunks and hands them on; returns the digests it computed (blob, tar
/// stream).
fn produce<R: Read>(
    mut diff_reader: Limited<Decompressor<BlobTap<R>>>,
    tx: mpsc::SyncSender<io::Result<Vec<u8>>>,
    spent: mpsc::Receiver<Vec<u8>>,
    layer: Option<&Digest>,
) -> Result<(Option<Digest>, Option<Digest>), Error> {
    loop {
        let mut chunk = spent.try_recv().unwrap_or_default();
        // A recycled chunk is full already: this fills only a new one.
        chunk.resize(BUF_SIZE, 0);
        let mut filled = 0;
        while filled < chunk.len() {
            match diff_reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The consumer sees a copy; if it already hung up, it
                    // has an error of its own.
                    let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(stage_error(e, &diff_reader, layer));
                }
            }
        }
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            // The consumer stopped (an error it reports); nothing to hash for.
            return Err(Error::Archive {
                source: io::Error::other("unpacking stopped"),
            });
        }
    }
    drop(tx);
    let diff = diff_reader.digester.map(Digester::finalize);
    let blob_reader = diff_reader
        .inner
        .finish()
        .map_err(|source| Error::Archive { source })?;
    Ok((blob_reader.digester.map(Digester::finalize), diff))
}

/// What a read error of the first stage means: the blob's reader failed
/// (its error as it was), the size limit was hit, or the decompressor
/// found the stream corrupt.
fn stage_error<R: Read>(
    e: io::Error,
    reader: &Limited<Decompressor<BlobTap<R>>>,
    layer: Option<&Digest>,
) -> Error {
    if e.get_ref().is_some_and(|r| r.is::<SourceRead>()) {
        let source = match e.into_inner().map(|r| r.downcast::<SourceRead>()) {
            Some(Ok(r)) => r.0,
            _ => io::Error::other("the layer's reader failed"),
        };
        return Error::Archive { source };
    }
    if reader.tripwire.tripped() {
        return Error::LimitExceeded {
            what: "total size",
            limit: reader.limit,
        };
    }
    match reader.inner.compression() {
        Compression::Gzip => Error::Decompress {
            compression: "gzip",
            layer: layer.cloned(),
            source: e,
        },
        Compression::Zstd => Error::Decompress {
            compression: "zstd",
            layer: layer.cloned(),
            source: e,
        },
        _ => Error::Archive { source: e },
    }
}

/// Reads the chunks the first stage sends, hashing them (the diff ID)
/// when given a digester.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    digester: Option<Digester>,
    /// Copies of the blob to hash here, when this stage does.
    blob: Option<(mpsc::Receiver<Vec<u8>>, Digester)>,
    /// Where read chunks go back for reuse.
    spent: mpsc::Sender<Vec<u8>>,
}

impl ChannelReader {
    fn new(
        rx: mpsc::Receiver<io::Result<Vec<u8>>>,
        digester: Option<Digester>,
        blob: Option<(mpsc::Receiver<Vec<u8>>, Digester)>,
        spent: mpsc::Sender<Vec<u8>>,
    ) -> Self {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            digester,
            blob,
            spent,
        }
    }

    /// Hashes the blob copies that have arrived, without waiting.
    fn drain_blob(&mut self) {
        if let Some((rx, d)) = &mut self.blob {
            while let Ok(c) = rx.try_recv() {
                d.update(&c);
            }
        }
    }

    /// Hashes every blob copy until the first stage is done; the blob
    /// digest, when this stage computes it.
    fn finish_blob(self) -> Option<Digest> {
        let (rx, mut d) = self.blob?;
        for c in rx {
            d.update(&c);
        }
        Some(d.finalize())
    }

    /// The next tar chunk. While waiting, blob copies are hashed, so a
    /// first stage blocked on handing them over always gets going again.
    fn next_chunk(&mut self) -> Result<io::Result<Vec<u8>>, mpsc::RecvError> {
        if self.blob.is_none() {
            return self.rx.recv();
        }
        loop {
            self.drain_blob();
            match self.rx.recv_timeout(std::time::Duration::from_millis(2)) {
                Ok(c) => return Ok(c),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(mpsc::RecvError),
            }
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.next_chunk() {
                Ok(Ok(chunk)) => {
                    if let Some(d) = &mut self.digester {
                        d.update(&chunk);
                    }
                    let old = std::mem::replace(&mut self.chunk, chunk);
                    if old.capacity() == BUF_SIZE {
                        // The first stage may be gone (end of stream).
                        let _ = self.spent.send(old);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The second stage: applies the tar stream, then drains it so the first
/// stage reaches the end.
fn consume(
    reader: ChannelReader,
    root: &mut Root,
    options: &UnpackOptions,
    rootless: bool,
    tripwire: &Tripwire,
) -> Result<(Counts, Option<Digest>, Option<Digest>), Error> {
    let mut archive = tar::Archive::new(reader);
    let mut state = State {
        root,
        options,
        rootless,
        this_layer: HashSet::new(),
        dirs: Vec::new(),
        buf: vec![0; BUF_SIZE],
        report: Counts::default(),
        tripwire,
        umask: current_umask(),
        creator: (rustix::process::geteuid(), rustix::process::getegid()),
        sgid_cache: None,
    };
    let entries = archive.entries().map_err(|e| state.archive_err(e))?;
    let mut seen = 0u64;
    for entry in entries {
        seen += 1;
        if seen > options.max_entries {
            return Err(Error::LimitExceeded {
                what: "entry count",
                limit: options.max_entries,
            });
        }
        let entry = entry.map_err(|e| state.archive_err(e))?;
        state.apply(entry)?;
    }
    state.finish_dirs()?;
    let counts = state.report;
    let buf = &mut state.buf;

    // Read to the end: tar's trailing zero blocks and anything after them
    // belong to the diff ID, and the rest of the blob to the blob digest.
    let mut rest = archive.into_inner();
    loop {
        match rest.read(buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(archive_err(e, tripwire, options.max_size)),
        }
    }
    let diff = rest.digester.take().map(Digester::finalize);
    let blob = rest.finish_blob();
    Ok((counts, diff, blob))
}

fn finish_report(
    options: &UnpackOptions,
    compression: Compression,
    counts: Counts,
    blob_digest: Digest,
    diff_id: Digest,
) -> Result<UnpackReport, Error> {
    if let Some(expected) = &options.blob_digest {
        if *expected != blob_digest {
            return Err(Error::LayerDigestMismatch {
                layer: expected.clone(),
                kind: LayerDigestKind::Blob,
                expected: expected.clone(),
                found: blob_digest,
            });
        }
    }
    if let Some(expected) = &options.diff_id {
        if *expected != diff_id {
            return Err(Error::LayerDigestMismatch {
                layer: options.blob_digest.clone().unwrap_or(blob_digest),
                kind: LayerDigestKind::DiffId,
                expected: expected.clone(),
                found: diff_id,
            });
        }
    }
    tracing::debug!(
        entries = counts.entries,
        bytes = counts.bytes,
        whiteouts = counts.whiteouts,
        skipped = counts.skipped,
        %diff_id,
        "layer unpacked"
    );
    Ok(UnpackReport {
        entries: counts.entries,
        bytes: counts.bytes,
        whiteouts: counts.whiteouts,
        skipped: counts.skipped,
        compression,
        blob_digest,
        diff_id,
    })
}

fn archive_err(e: io::Error, tripwire: &Tripwire, limit: u64) -> Error {
    if tripwire.tripped() {
        Error::LimitExceeded {
            what: "total size",
            limit,
        }
    } else {
        Error::Archive { source: e }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    entries: u64,
    bytes: u64,
    whiteouts: u64,
    skipped: u64,
}

/// A directory whose mode and time are set once the layer is applied.
struct PendingDir {
    path: Vec<u8>,
    mode: u32,
    times: Timestamps,
}

/// The attributes of one entry.
struct Meta {
    mode: u32,
    owner: Option<(Uid, Gid)>,
    times: Timestamps,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct State<'a> {
    root: &'a mut Root,
    options: &'a UnpackOptions,
    rootless: bool,
    /// Every path this layer wrote, with its ancestors: whiteouts spare them.
    this_layer: HashSet<Vec<u8>>,
    dirs: Vec<PendingDir>,
    buf: Vec<u8>,
    report: Counts,
    tripwire: &'a Tripwire,
    /// The process's umask, when known: a regular file created with a
    /// mode the umask leaves alone needs no chmod.
    umask: Option<u32>,
    /// The effective ids a new file gets (unless its directory is
    /// set-group-ID): a file owned by them already needs no chown.
    creator: (Uid, Gid),
    /// The last parent directory looked at, and whether it is
    /// set-group-ID (its new files take its group).
    sgid_cache: Option<(Vec<u8>, bool)>,
}

/// The calling process's umask, from `/proc/self/status` (umask(2) can
/// only read it by changing it, which would race with other threads).
fn current_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let value = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(value.trim(), 8).ok()
}

/// The mode to create a regular file with, and whether it is final: a
/// mode without set-id or sticky bits that the umask leaves alone is
/// given at creation (it grants nothing the finished file does not);
/// otherwise the file starts private (0600) and is chmod'ed after its
/// owner is set, since chown clears set-id bits.
fn create_mode(mode: u32, umask: Option<u32>) -> (u32, bool) {
    match umask {
        Some(mask) if mode & 0o7000 == 0 && mode & 0o777 & mask == 0 => (mode & 0o777, true),
        _ => (0o600, false),
    }
}

/// How many directories deep a cleaned path is (the root is 0).
fn depth(path: &[u8]) -> usize {
    if path.is_empty() {
        0
    } else {
        1 + path.iter().filter(|&&b| b == b'/').count()
    }
}

fn name_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn bad(raw: &[u8], expected: &'static str) -> Error {
    Error::BadEntry {
        entry: name_of(raw),
        expected,
    }
}

fn copy_times(t: &Timestamps) -> Timestamps {
    Timestamps {
        last_access: t.last_access,
        last_modification: t.last_modification,
    }
}

fn timespec_from_pax(value: &[u8]) -> Option<Timespec> {
    let s = std::str::from_utf8(value).ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let tv_sec: i64 = secs.parse().ok()?;
    let mut nanos = 0i64;
    let digits: String = frac.chars().take(9).collect();
    if !digits.is_empty() {
        nanos = digits.parse().ok()?;
        for _ in digits.len()..9 {
            nanos *= 10;
        }
    }
    if tv_sec < 0 && nanos > 0 {
        // "-1.5" is one and a half seconds before the epoch.
        return Some(Timespec {
            tv_sec: tv_sec - 1,
            tv_nsec: (1_000_000_000 - nanos) as _,
        });
    }
    Some(Timespec {
        tv_sec,
        tv_nsec: nanos as _,
    })
}

impl State<'_> {
    fn archive_err(&self, e: io::Error) -> Error {
        archive_err(e, self.tripwire, self.options.max_size)
    }

    fn io_err(&self, op: &'static str, path: &[u8], e: Errno) -> Error {
        Error::io(op, self.root.display(path), e.into())
    }

    fn mark(&mut self, path: &[u8]) {
        if !self.this_layer.insert(path.to_vec()) {
            return;
        }
        let mut p = path;
        while let Some(i) = p.iter().rposition(|&b| b == b'/') {
            p = &p[..i];
            if !self.this_layer.insert(p.to_vec()) {
                break;
            }
        }
    }

    fn owner(&self, raw: &[u8], uid: u64, gid: u64) -> Result<Option<(Uid, Gid)>, Error> {
        let uid = u32::try_from(uid).map_err(|_| bad(raw, "a user id below 2^32"))?;
        let gid = u32::try_from(gid).map_err(|_| bad(raw, "a group id below 2^32"))?;
        match &self.options.id_map {
            Some(map) => {
                let u = map
                    .uid(uid)
                    .ok_or_else(|| bad(raw, "a user id covered by the id map"))?;
                let g = map
                    .gid(gid)
                    .ok_or_else(|| bad(raw, "a group id covered by the id map"))?;
                Ok(Some((Uid::from_raw(u), Gid::from_raw(g))))
            }
            None if self.rootless => Ok(None),
            None => Ok(Some((Uid::from_raw(uid), Gid::from_raw(gid)))),
        }
    }

    fn meta<R: Read>(&self, raw: &[u8], entry: &mut tar::Entry<'_, R>) -> Result<Meta, Error> {
        let header = entry.header();
        let mode = header.mode().map_err(|_| bad(raw, "a valid mode field"))? & 0o7777;
        let uid = header.uid().map_err(|_| bad(raw, "a valid uid field"))?;
        let gid = header.gid().map_err(|_| bad(raw, "a valid gid field"))?;
        let mtime = header
            .mtime()
            .map_err(|_| bad(raw, "a valid mtime field"))?;
        let mut time = Timespec {
            tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(|e| self.archive_err(e))? {
            for ext in pax {
                let ext = ext.map_err(|e| self.archive_err(e))?;
                let key = ext.key_bytes();
                if key == b"mtime" {
                    time = timespec_from_pax(ext.value_bytes())
                        .ok_or_else(|| bad(raw, "a decimal PAX mtime"))?;
                } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                    if name.is_empty() || name.contains(&0) {
                        return Err(bad(raw, "extended attribute names without NUL bytes"));
                    }
                    if self.options.whiteout_mode == WhiteoutMode::Overlay
                        && overlay::is_overlay_xattr(name)
                    {
                        tracing::warn!(entry = %name_of(raw), "dropping an overlayfs extended attribute the layer carries");
                        continue;
                    }
                    xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
        Ok(Meta {
            mode,
            owner: self.owner(raw, uid, gid)?,
            times: Timestamps {
                last_access: time,
                last_modification: time,
            },
            xattrs,
        })
    }

    fn apply<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), Error> {
        let raw = entry.path_bytes().into_owned();
        let path = clean_path(&raw)?;
        let mut kind = entry.header().entry_type();
        if kind == EntryType::Regular && raw.ends_with(b"/") {
            // Pre-POSIX archives mark directories with a trailing slash.
            kind = EntryType::Directory;
        }
        tracing::trace!(entry = %String::from_utf8_lossy(&raw), ?kind, "applying");
        let (parent, name) = split_parent(&path);

        match whiteout::kind(name) {
            Kind::Plain => {}
            Kind::Invalid => {
                return Err(Error::PathEscapesRoot {
                    entry: name_of(&raw),
                    reason: "a whiteout of `.` or `..` would delete the directory or its parent",
                })
            }
            Kind::Meta => {
                tracing::debug!(entry = %name_of(&raw), "ignoring AUFS metadata entry");
                self.report.skipped += 1;
                return Ok(());
            }
            Kind::Opaque => return self.opaque(&raw, parent),
            Kind::Whiteout(target) => {
                let mut victim = parent.to_vec();
                if !victim.is_empty() {
                    victim.push(b'/');
                }
                victim.extend_from_slice(target);
                return self.whiteout(&raw, parent, target, &victim);
            }
        }

        if path.is_empty() {
            if kind != EntryType::Directory {
                return Err(bad(&raw, "the root entry to be a directory"));
            }
            let meta = self.meta(&raw, &mut entry)?;
            return self.directory(&raw, &path, meta);
        }

        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let meta = self.meta(&raw, &mut entry)?;
                self.regular(&raw, &path, meta, &mut entry)?;
            }
            EntryType::Directory => {
                let meta = self.meta(&raw, &mut entry)?;
                self.directory(&raw, &path, meta)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad(&raw, "a symlink with a target"))?
                    .into_owned();
                if target.is_empty() || target.contains(&0) {
                    return Err(bad(&raw, "a non-empty symlink target without NUL bytes"));
                }
                let meta = self.meta(&raw, &mut entry)?;
                self.symlink(&raw, &path, &target, meta)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad(&raw, "a hard link with a target"))?
                    .into_owned();
                self.hardlink(&raw, &path, &target)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                if kind != EntryType::Fifo && self.rootless {
                    tracing::warn!(entry = %name_of(&raw), "skipping a device node: not root");
                    self.report.skipped += 1;
                    return Ok(());
                }
                let header = entry.header();
                let (major, minor) = if kind == EntryType::Fifo {
                    (0, 0)
                } else {
                    let major = header
                        .device_major()
                        .map_err(|_| bad(&raw, "a valid device major"))?
                        .unwrap_or(0);
                    let minor = header
                        .device_minor()
                        .map_err(|_| bad(&raw, "a valid device minor"))?
                        .unwrap_or(0);
                    (major, minor)
                };
                let meta = self.meta(&raw, &mut entry)?;
                let ft = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                self.node(&raw, &path, ft, rfs::makedev(major, minor), meta)?;
            }
            EntryType::XGlobalHeader => {
                tracing::debug!("ignoring a PAX global header");
                return Ok(());
            }
            other => {
                tracing::warn!(entry = %name_of(&raw), kind = ?other, "skipping an entry of unknown type");
                self.report.skipped += 1;
                return Ok(());
            }
        }
        self.report.entries += 1;
        self.mark(&path);
        Ok(())
    }

    /// Runs `create` for `name` in `dir`; if something is in the way,
    /// removes it (a directory with its contents) and tries once more.
    fn replace(
        &mut self,
        path: &[u8],
        dir: &OwnedFd,
        name: &[u8],
        op: &'static str,
        mut create: impl FnMut() -> rustix::io::Result<()>,
    ) -> Result<(), Error> {
        match create() {
            Err(Errno::EXIST) => {
                remove_any(dir, name).map_err(|e| self.io_err("remove", path, e))?;
                self.root.invalidate();
                create().map_err(|e| self.io_err(op, path, e))
            }
            r => r.map_err(|e| self.io_err(op, path, e)),
        }
    }

    fn regular<R: Read>(
        &mut self,
        raw: &[u8],
        path: &[u8],
        meta: Meta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), Error> {
        let size = entry.size();
        if size > self.options.max_size {
            return Err(Error::LimitExceeded {
                what: "total size",
                limit: self.options.max_size,
            });
        }
        let (parent, name) = split_parent(path);
        let dir = self.root.parent(parent)?;
        let (mode, final_mode) = create_mode(meta.mode, self.umask);
        // Owned as asked from creation on: no chown. (Sorted layers list a
        // directory's files together, so one fstat per directory.)
        let mut meta = meta;
        if meta.owner == Some(self.creator) {
            let sgid = match &self.sgid_cache {
                Some((p, sgid)) if p.as_slice() == parent => *sgid,
                _ => {
                    let sgid = rfs::fstat(dir.as_fd())
                        .map_err(|e| self.io_err("stat", parent, e))?
                        .st_mode
                        & 0o2000
                        != 0;
                    self.sgid_cache = Some((parent.to_vec(), sgid));
                    sgid
                }
            };
            if !sgid {
                meta.owner = None;
            }
        }
        let mut fd = None;
        self.replace(path, &dir, name, "create", || {
            fd = Some(rfs::openat(
                dir.as_fd(),
                os(name),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode),
            )?);
            Ok(())
        })?;
        let mut file = File::from(fd.expect("set on success"));
        let mut written = 0u64;
        while written < size {
            let want = (size - written).min(self.buf.len() as u64) as usize;
            let n = match entry.read(&mut self.buf[..want]) {
                Ok(0) => {
                    return Err(Error::Archive {
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                            "entry {:?} declares {size} bytes but the archive ends after {written}",
                            name_of(raw)
                        ),
                        ),
                    })
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.archive_err(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| Error::io("write", self.root.display(path), e))?;
            written += n as u64;
        }
        self.report.bytes += written;
        let fd = OwnedFd::from(file);
        self.attributes_fd(path, &fd, &meta, final_mode)?;
        rfs::futimens(&fd, &meta.times).map_err(|e| self.io_err("set times", path, e))
    }

    /// Owner, mode (unless `mode_set` at creation) and extended attributes
    /// through an open handle, in that order: `chown` clears set-id bits
    /// and file capabilities.
    fn attributes_fd(
        &self,
        path: &[u8],
        fd: &OwnedFd,
        meta: &Meta,
        mode_set: bool,
    ) -> Result<(), Error> {
        if let Some((u, g)) = meta.owner {
            rfs::fchown(fd, Some(u), Some(g)).map_err(|e| self.io_err("chown", path, e))?;
        }
        if !mode_set {
            rfs::fchmod(fd, Mode::from_raw_mode(meta.mode))
                .map_err(|e| self.io_err("chmod", path, e))?;
        }
        for (key, value) in &meta.xattrs {
            match rfs::fsetxattr(fd, os(key), value, rfs::XattrFlags::empty()) {
                Ok(()) => {}
                Err(e @ (Errno::PERM | Errno::OPNOTSUPP | Errno::ACCESS)) if self.rootless => {
                    tracing::warn!(
                        path = %String::from_utf8_lossy(path),
                        xattr = %String::from_utf8_lossy(key),
                        error = %e,
                        "skipping an extended attribute the kernel refuses"
                    );
                }
                Err(e) => return Err(self.io_err("setxattr", path, e)),
            }
        }
        Ok(())
    }

    fn warn_xattrs(path: &[u8], meta: &Meta) {
        if !meta.xattrs.is_empty() {
            tracing::warn!(
                path = %String::from_utf8_lossy(path),
                count = meta.xattrs.len(),
                "skipping extended attributes on a symlink or special file"
            );
        }
    }

    fn directory(&mut self, _raw: &[u8], path: &[u8], meta: Meta) -> Result<(), Error> {
        let fd = if path.is_empty() {
            self.root
                .resolve_dir(b"", OFlags::RDONLY)
                .map_err(|e| self.io_err("open", path, e))?
        } else {
            let (parent, name) = split_parent(path);
            let dir = self.root.parent(parent)?;
            match rfs::mkdirat(&dir, os(name), Mode::from_raw_mode(0o700)) {
                Ok(()) => {}
                Err(Errno::EXIST) => {
                    let st = rfs::statat(&dir, os(name), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| self.io_err("stat", path, e))?;
                    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                        self.replace(path, &dir, name, "mkdir", || {
                            rfs::mkdirat(&dir, os(name), Mode::from_raw_mode(0o700))
                        })?;
                        // `replace` only removes on EEXIST, which the first
                        // attempt inside it gets again; nothing else to do.
                    }
                }
                Err(e) => return Err(self.io_err("mkdir", path, e)),
            }
            rfs::openat(
                &dir,
                os(name),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.io_err("open", path, e))?
        };
        if let Some((u, g)) = meta.owner {
            rfs::fchown(&fd, Some(u), Some(g)).map_err(|e| self.io_err("chown", path, e))?;
        }
        // The mode waits for the end (a read-only directory must still
        // take its children), but extended attributes need not.
        let times = copy_times(&meta.times);
        let later = Meta {
            mode: 0o700,
            owner: None,
            times: copy_times(&meta.times),
            xattrs: meta.xattrs,
        };
        self.attributes_fd(path, &fd, &later, false)?;
        self.dirs.push(PendingDir {
            path: path.to_vec(),
            mode: meta.mode,
            times,
        });
        Ok(())
    }

    /// Sets the deferred modes and times of directories, deepest first,
    /// as GNU tar does when it leaves a directory: a directory whose mode
    /// takes away search or write permission is changed only after all
    /// below it, so unpacking needs no `CAP_DAC_OVERRIDE`, and nothing
    /// changes a directory's contents after its time is set. A directory
    /// listed twice gets its later entry's attributes.
    fn finish_dirs(&mut self) -> Result<(), Error> {
        let mut dirs = std::mem::take(&mut self.dirs);
        // Stable: entries of one path keep their archive order.
        dirs.sort_by_key(|d| std::cmp::Reverse(depth(&d.path)));
        for d in &dirs {
            let fd = if d.path.is_empty() {
                self.root.resolve_dir(b"", OFlags::RDONLY)
            } else {
                let (parent, name) = split_parent(&d.path);
                self.root.resolve_dir(parent, OFlags::PATH).and_then(|dir| {
                    rfs::openat(
                        &dir,
                        os(name),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                })
            };
            let fd = match fd {
                Ok(fd) => fd,
                // Replaced or removed later in the layer.
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => continue,
                Err(e) => return Err(self.io_err("open", &d.path, e)),
            };
            rfs::fchmod(&fd, Mode::from_raw_mode(d.mode))
                .map_err(|e| self.io_err("chmod", &d.path, e))?;
            rfs::futimens(&fd, &d.times).map_err(|e| self.io_err("set times", &d.path, e))?;
        }
        Ok(())
    }

    fn symlink(
        &mut self,
        _raw: &[u8],
        path: &[u8],
        target: &[u8],
        meta: Meta,
    ) -> Result<(), Error> {
        let (parent, name) = split_parent(path);
        let dir = self.root.parent(parent)?;
        self.replace(path, &dir, name, "symlink", || {
            rfs::symlinkat(os(target), &dir, os(name))
        })?;
        // A directory may have become a symlink: cached handles are stale.
        self.root.invalidate();
        self.attributes_at(path, &dir, name, &meta, false)
    }

    /// Owner and times by name, never following the final component.
    fn attributes_at(
        &self,
        path: &[u8],
        dir: &OwnedFd,
        name: &[u8],
        meta: &Meta,
        chmod: bool,
    ) -> Result<(), Error> {
        if let Some((u, g)) = meta.owner {
            rfs::chownat(dir, os(name), Some(u), Some(g), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.io_err("chown", path, e))?;
        }
        if chmod {
            rfs::chmodat(
                dir,
                os(name),
                Mode::from_raw_mode(meta.mode),
                AtFlags::empty(),
            )
            .map_err(|e| self.io_err("chmod", path, e))?;
        }
        Self::warn_xattrs(path, meta);
        rfs::utimensat(dir, os(name), &meta.times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.io_err("set times", path, e))
    }

    fn node(
        &mut self,
        _raw: &[u8],
        path: &[u8],
        ft: FileType,
        dev: rfs::Dev,
        meta: Meta,
    ) -> Result<(), Error> {
        let (parent, name) = split_parent(path);
        let dir = self.root.parent(parent)?;
        self.replace(path, &dir, name, "mknod", || {
            rfs::mknodat(&dir, os(name), ft, Mode::from_raw_mode(0o600), dev)
        })?;
        self.attributes_at(path, &dir, name, &meta, true)
    }

    fn hardlink(&mut self, raw: &[u8], path: &[u8], target_raw: &[u8]) -> Result<(), Error> {
        let target = clean_path(target_raw).map_err(|e| match e {
            Error::PathEscapesRoot { .. } => Error::PathEscapesRoot {
                entry: name_of(raw),
                reason: "the hard link's target climbs above the root",
            },
            other => other,
        })?;
        if target.is_empty() || target == path {
            return Err(bad(raw, "a hard link to another file"));
        }
        let (tparent, tname) = split_parent(&target);
        let tdir = self.root.parent(tparent)?;
        let st = rfs::statat(&tdir, os(tname), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.io_err("stat", &target, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(bad(raw, "a hard link to a regular file"));
        }
        let (parent, name) = split_parent(path);
        let dir = self.root.parent(parent)?;
        // A different handle than `tdir` may be cached by now, which is
        // fine: both stay valid until something is removed.
        self.replace(path, &dir, name, "link", || {
            rfs::linkat(&tdir, os(tname), &dir, os(name), AtFlags::empty())
        })
    }

    fn whiteout(
        &mut self,
        raw: &[u8],
        parent: &[u8],
        target: &[u8],
        victim: &[u8],
    ) -> Result<(), Error> {
        if self.this_layer.contains(victim) {
            tracing::warn!(
                entry = %name_of(raw),
                "whiteout of a path from the same layer ignored (whiteouts apply to lower layers only)"
            );
            self.report.skipped += 1;
            return Ok(());
        }
        if self.options.whiteout_mode == WhiteoutMode::Overlay {
            return self.overlay_whiteout(victim);
        }
        let dir = match self.root.resolve_dir(parent, OFlags::PATH) {
            Ok(dir) => dir,
            // Nothing below to delete.
            Err(Errno::NOENT | Errno::NOTDIR) => {
                self.report.whiteouts += 1;
                return Ok(());
            }
            Err(e) => return Err(self.io_err("open directory", parent, e)),
        };
        tracing::trace!(path = %String::from_utf8_lossy(victim), "whiteout");
        remove_any(&dir, target).map_err(|e| self.io_err("remove", victim, e))?;
        self.root.invalidate();
        self.report.whiteouts += 1;
        Ok(())
    }

    fn opaque(&mut self, _raw: &[u8], parent: &[u8]) -> Result<(), Error> {
        if self.options.whiteout_mode == WhiteoutMode::Overlay {
            return self.overlay_opaque(parent);
        }
        let dir = match self.root.resolve_dir(parent, OFlags::RDONLY) {
            Ok(dir) => dir,
            Err(Errno::NOENT) => {
                // Nothing lower to hide; make the directory the marker names.
                self.root.parent(parent)?;
                self.report.whiteouts += 1;
                return Ok(());
            }
            Err(e) => return Err(self.io_err("open directory", parent, e)),
        };
        let mut prefix = parent.to_vec();
        let removed = whiteout::clear_lower(&dir, &mut prefix, &self.this_layer)
            .map_err(|e| self.io_err("remove", parent, e))?;
        tracing::trace!(dir = %String::from_utf8_lossy(parent), removed, "opaque whiteout");
        self.root.invalidate();
        self.report.whiteouts += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_modes() {
        assert_eq!(create_mode(0o644, Some(0o022)), (0o644, true));
        assert_eq!(create_mode(0o755, Some(0o022)), (0o755, true));
        // The umask would take bits: chmod afterwards.
        assert_eq!(create_mode(0o666, Some(0o022)), (0o600, false));
        // Set-id bits only after chown; unknown umask: always chmod.
        assert_eq!(create_mode(0o4755, Some(0o022)), (0o600, false));
        assert_eq!(create_mode(0o1644, Some(0)), (0o600, false));
        assert_eq!(create_mode(0o644, None), (0o600, false));
        assert!(current_umask().is_some());
    }

    #[test]
    fn parses_pax_times() {
        let t = timespec_from_pax(b"1700000000.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 500_000_000));
        let t = timespec_from_pax(b"12").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (12, 0));
        let t = timespec_from_pax(b"-1.25").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 750_000_000));
        assert!(timespec_from_pax(b"x").is_none());
    }

    #[test]
    fn id_maps_cover_ranges() {
        let map = IdMap::new(
            vec![IdMapping::new(0, 100_000, 65_536)],
            vec![IdMapping::new(0, 200_000, 10)],
        );
        assert_eq!(map.uid(0), Some(100_000));
        assert_eq!(map.uid(65_535), Some(165_535));
        assert_eq!(map.uid(65_536), None);
        assert_eq!(map.gid(9), Some(200_009));
        assert_eq!(map.gid(10), None);
    }
}
