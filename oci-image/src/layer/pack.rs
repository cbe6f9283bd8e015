//! Making layers from directories.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use ocikit_types::{Algorithm, Compression, Digest, Digester, MediaType};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use tar::{EntryType, Header};

use super::compression::{Compressor, HashWriter};
use super::dir::list_dir;
use super::metadata::{self, Xattrs};
use super::{os, BUF_SIZE, OPAQUE_WHITEOUT as OPAQUE, WHITEOUT_PREFIX as PREFIX};
use crate::Error;

/// Whose ownership a packed layer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ownership {
    /// The owners found on disk.
    #[default]
    Preserve,
    /// Everything owned by 0:0, as most images expect.
    Root,
}

/// How [`pack_diff`] records deleted paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhiteoutStyle {
    /// One `.wh.NAME` per deleted path, which the image-spec recommends.
    #[default]
    Explicit,
    /// An opaque whiteout (`.wh..wh..opq`) for a directory none of whose
    /// former children remain (it was emptied or replaced), explicit
    /// whiteouts elsewhere.
    Opaque,
}

/// Settings for [`pack`] and [`pack_diff`].
///
/// ```
/// use ocikit_image::{source_date_epoch, Ownership, PackOptions};
/// use ocikit_types::Compression;
/// let mut options = PackOptions::new();
/// options.compression(Compression::Zstd).ownership(Ownership::Root);
/// if let Some(epoch) = source_date_epoch() {
///     options.source_date_epoch(epoch);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PackOptions {
    compression: Compression,
    level: Option<u32>,
    epoch: Option<u64>,
    ownership: Ownership,
    whiteouts: WhiteoutStyle,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions::new()
    }
}

impl PackOptions {
    /// Default settings: gzip at its default level, modification times as
    /// found, owners preserved, explicit whiteouts.
    pub fn new() -> Self {
        PackOptions {
            compression: Compression::Gzip,
            level: None,
            epoch: None,
            ownership: Ownership::Preserve,
            whiteouts: WhiteoutStyle::Explicit,
        }
    }

    /// The compression of the blob. Default: gzip.
    pub fn compression(&mut self, compression: Compression) -> &mut Self {
        self.compression = compression;
        self
    }

    /// The compression level: 0 to 9 for gzip (default 6), 1 to 22 for zstd
    /// (default 3); values out of range are clamped. Default: the
    /// algorithm's own.
    pub fn compression_level(&mut self, level: u32) -> &mut Self {
        self.level = Some(level);
        self
    }

    /// Clamps every modification time to at most `epoch` (seconds since
    /// 1970), for reproducible builds; see [`source_date_epoch`]. Default:
    /// times as found.
    pub fn source_date_epoch(&mut self, epoch: u64) -> &mut Self {
        self.epoch = Some(epoch);
        self
    }

    /// Whose owners the layer records. Default: [`Ownership::Preserve`].
    pub fn ownership(&mut self, ownership: Ownership) -> &mut Self {
        self.ownership = ownership;
        self
    }

    /// How [`pack_diff`] records deletions. Default:
    /// [`WhiteoutStyle::Explicit`].
    pub fn whiteouts(&mut self, style: WhiteoutStyle) -> &mut Self {
        self.whiteouts = style;
        self
    }
}

/// The `SOURCE_DATE_EPOCH` environment variable, when set to a number of
/// seconds (see <https://reproducible-builds.org/specs/source-date-epoch/>).
/// A malformed value is ignored with a warning.
pub fn source_date_epoch() -> Option<u64> {
    let value = std::env::var_os("SOURCE_DATE_EPOCH")?;
    match value.to_str().and_then(|s| s.trim().parse().ok()) {
        Some(v) => Some(v),
        None => {
            tracing::warn!(
                ?value,
                "ignoring SOURCE_DATE_EPOCH: expected a decimal integer"
            );
            None
        }
    }
}

/// What [`pack`] or [`pack_diff`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackReport {
    /// The digest of the blob as written: the layer descriptor's `digest`.
    pub blob_digest: Digest,
    /// The size of the blob: the layer descriptor's `size`.
    pub size: u64,
    /// The digest of the uncompressed tar stream: the configuration's diff ID.
    pub diff_id: Digest,
    /// The size of the uncompressed tar stream.
    pub uncompressed_size: u64,
    /// Entries written, whiteouts excluded.
    pub entries: u64,
    /// Whiteouts written (opaque ones included).
    pub whiteouts: u64,
    /// Files skipped (sockets).
    pub skipped: u64,
    /// The layer media type for the compression used: the layer
    /// descriptor's `mediaType`.
    pub media_type: MediaType,
}

/// Writes the directory `dir` as a layer: a tar stream, compressed as
/// asked, holding everything below `dir` (not `dir` itself).
///
/// The output is deterministic: entries are sorted by name within each
/// directory (parents before children), times are clamped to
/// [`PackOptions::source_date_epoch`] when set, no access or change times
/// nor user and group names are written, and the gzip header carries no
/// time or file name. Names or link targets longer than 100 bytes and
/// extended attributes (`SCHILY.xattr.*`) go in PAX headers. Files sharing
/// an inode become hard link entries to the first one written. Sockets are
/// skipped with a warning, and extended attributes of symlinks and special
/// files are not read.
///
/// Both digests are computed while writing.
///
/// # Errors
/// [`Error::Io`] when reading the tree or writing fails (a file that
/// shrinks while being read included), and [`Error::CompressionUnsupported`].
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ocikit_image::{pack, PackOptions};
/// use ocikit_types::{Compression, Descriptor, MediaType};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("app.conf"), "debug = false\n")?;
/// let mut options = PackOptions::new();
/// options.compression(Compression::Zstd).source_date_epoch(0);
/// let mut blob = Vec::new();
/// let report = pack(dir.path(), &mut blob, &options)?;
/// let layer = Descriptor::new(MediaType::ImageLayerZstd, report.blob_digest, report.size);
/// assert_eq!(layer.size, blob.len() as u64);
/// # Ok(()) }
/// ```
pub fn pack(
    dir: impl AsRef<Path>,
    writer: impl Write,
    options: &PackOptions,
) -> Result<PackReport, Error> {
    let dir = dir.as_ref();
    let span = tracing::debug_span!("pack", dir = %dir.display());
    let _enter = span.enter();
    let mut writer = writer;
    let mut packer = Packer::new(&mut writer, options, dir)?;
    let fd = open_dir(dir)?;
    let mut path = Vec::new();
    packer.walk(&fd, &mut path)?;
    packer.finish()
}

/// Writes the changes from `lower` to `upper` as a layer: what was added
/// or modified in `upper` in its entirety, and a whiteout for each path
/// `upper` no longer has (or opaque whiteouts, see [`WhiteoutStyle`]).
///
/// A path counts as modified when its type, mode, owner, modification
/// time, size, contents, link target, device number or (for files and
/// directories) extended attributes differ. Within a directory the
/// whiteouts come before the other entries. Output is deterministic as for
/// [`pack`].
///
/// # Errors
/// As for [`pack`].
pub fn pack_diff(
    lower: impl AsRef<Path>,
    upper: impl AsRef<Path>,
    writer: impl Write,
    options: &PackOptions,
) -> Result<PackReport, Error> {
    let (lower, upper) = (lower.as_ref(), upper.as_ref());
    let span =
        tracing::debug_span!("pack_diff", lower = %lower.display(), upper = %upper.display());
    let _enter = span.enter();
    let mut writer = writer;
    let mut packer = Packer::new(&mut writer, options, upper)?;
    let lfd = open_dir(lower)?;
    let ufd = open_dir(upper)?;
    let mut path = Vec::new();
    packer.diff(&lfd, &ufd, &mut path, lower)?;
    packer.finish()
}

fn open_dir(dir: &Path) -> Result<OwnedFd, Error> {
    rfs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", dir, e.into()))
}

fn open_at(dir: &OwnedFd, name: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
    rfs::openat(
        dir,
        os(name),
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn sorted_names(fd: &OwnedFd) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut names = list_dir(fd)?;
    names.sort_unstable();
    Ok(names)
}

type Sink<'w> = HashWriter<Compressor<HashWriter<&'w mut dyn Write>>>;

struct Packer<'o, 'w> {
    builder: tar::Builder<Sink<'w>>,
    options: &'o PackOptions,
    /// The first path written for each (device, inode) with several links.
    links: HashMap<(u64, u64), Vec<u8>>,
    src: PathBuf,
    entries: u64,
    whiteouts: u64,
    skipped: u64,
}

/// Reads exactly `left` bytes of a file, counting what it got.
struct Exact<'a> {
    file: &'a mut File,
    left: u64,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being packed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl<'o, 'w> Packer<'o, 'w> {
    fn new(writer: &'w mut dyn Write, options: &'o PackOptions, src: &Path) -> Result<Self, Error> {
        let blob = HashWriter::new(writer, Digester::new(Algorithm::Sha256));
        let compressor = Compressor::new(blob, options.compression, options.level)?;
        let diff = HashWriter::new(compressor, Digester::new(Algorithm::Sha256));
        Ok(Packer {
            builder: tar::Builder::new(diff),
            options,
            links: HashMap::new(),
            src: src.to_owned(),
            entries: 0,
            whiteouts: 0,
            skipped: 0,
        })
    }

    fn err(&self, op: &'static str, path: &[u8], e: impl Into<io::Error>) -> Error {
        Error::io(op, self.src.join(os(path)), e.into())
    }

    fn finish(self) -> Result<PackReport, Error> {
        let werr = |e| Error::io("write layer", &self.src, e);
        let (compressor, diff) = self.builder.into_inner().map_err(werr)?.into_parts();
        let (writer, blob) = compressor.finish().map_err(werr)?.into_parts();
        writer.flush().map_err(werr)?;
        let report = PackReport {
            size: blob.bytes(),
            blob_digest: blob.finalize(),
            uncompressed_size: diff.bytes(),
            diff_id: diff.finalize(),
            entries: self.entries,
            whiteouts: self.whiteouts,
            skipped: self.skipped,
            media_type: MediaType::layer(self.options.compression),
        };
        tracing::debug!(
            blob = %report.blob_digest,
            diff_id = %report.diff_id,
            entries = report.entries,
            whiteouts = report.whiteouts,
            "layer packed"
        );
        Ok(report)
    }

    fn mtime(&self, st: &Stat) -> u64 {
        let t = u64::try_from(st.st_mtime).unwrap_or(0);
        match self.options.epoch {
            Some(epoch) => t.min(epoch),
            None => t,
        }
    }

    fn base_header(&self, st: &Stat, kind: EntryType) -> Header {
        let mut h = Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(metadata::permissions(st));
        let (uid, gid) = match self.options.ownership {
            Ownership::Preserve => (u64::from(st.st_uid), u64::from(st.st_gid)),
            Ownership::Root => (0, 0),
        };
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(self.mtime(st));
        h.set_size(0);
        h
    }

    /// Writes PAX records when needed, then the header with its name and
    /// link fields filled (truncated when a PAX record holds the full value),
    /// then the data.
    fn append(
        &mut self,
        mut header: Header,
        path: &[u8],
        link: Option<&[u8]>,
        xattrs: &Xattrs,
        data: impl Read,
    ) -> Result<(), Error> {
        let mut pax: Vec<(String, &[u8])> = Vec::new();
        if path.len() > 100 {
            pax.push(("path".to_owned(), path));
        }
        if let Some(link) = link.filter(|l| l.len() > 100) {
            pax.push(("linkpath".to_owned(), link));
        }
        for (name, value) in xattrs {
            match std::str::from_utf8(name) {
                Ok(name) => pax.push((format!("SCHILY.xattr.{name}"), value)),
                Err(_) => tracing::warn!(
                    path = %String::from_utf8_lossy(path),
                    "skipping an extended attribute whose name is not UTF-8"
                ),
            }
        }
        if !pax.is_empty() {
            self.builder
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(|e| self.err("write layer", path, e))?;
        }
        let old = header.as_old_mut();
        let n = path.len().min(old.name.len());
        old.name = [0; 100];
        old.name[..n].copy_from_slice(&path[..n]);
        if let Some(link) = link {
            let n = link.len().min(old.linkname.len());
            old.linkname = [0; 100];
            old.linkname[..n].copy_from_slice(&link[..n]);
        }
        header.set_cksum();
        self.builder
            .append(&header, data)
            .map_err(|e| self.err("write layer", path, e))
    }

    /// Writes the entry for `name` in `dir` (at `path`); for a directory,
    /// returns its open handle.
    fn emit(
        &mut self,
        dir: &OwnedFd,
        name: &[u8],
        st: &Stat,
        path: &[u8],
    ) -> Result<Option<OwnedFd>, Error> {
        let ft = FileType::from_raw_mode(st.st_mode);
        tracing::trace!(path = %String::from_utf8_lossy(path), ?ft, "packing");
        let none = Xattrs::new();
        match ft {
            FileType::RegularFile => {
                let key = metadata::file_id(st);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        let h = self.base_header(st, EntryType::Link);
                        self.append(h, path, Some(&first), &none, io::empty())?;
                        self.entries += 1;
                        return Ok(None);
                    }
                }
                let fd =
                    open_at(dir, name, OFlags::RDONLY).map_err(|e| self.err("open", path, e))?;
                let xattrs = metadata::xattrs(&fd).map_err(|e| self.err("read xattrs", path, e))?;
                let size = u64::try_from(st.st_size).unwrap_or(0);
                let mut h = self.base_header(st, EntryType::Regular);
                h.set_size(size);
                let mut file = File::from(fd);
                let reader = io::BufReader::with_capacity(
                    BUF_SIZE
                        .min(usize::try_from(size).unwrap_or(BUF_SIZE))
                        .max(1),
                    Exact {
                        file: &mut file,
                        left: size,
                    },
                );
                self.append(h, path, None, &xattrs, reader)?;
                if st.st_nlink > 1 {
                    self.links.insert(key, path.to_vec());
                }
            }
            FileType::Directory => {
                let fd = open_at(dir, name, OFlags::RDONLY | OFlags::DIRECTORY)
                    .map_err(|e| self.err("open", path, e))?;
                let xattrs = metadata::xattrs(&fd).map_err(|e| self.err("read xattrs", path, e))?;
                let h = self.base_header(st, EntryType::Directory);
                let mut p = path.to_vec();
                p.push(b'/');
                self.append(h, &p, None, &xattrs, io::empty())?;
                self.entries += 1;
                return Ok(Some(fd));
            }
            FileType::Symlink => {
                let target = rfs::readlinkat(dir, os(name), Vec::new())
                    .map_err(|e| self.err("readlink", path, e))?;
                let h = self.base_header(st, EntryType::Symlink);
                self.append(h, path, Some(target.as_bytes()), &none, io::empty())?;
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                let kind = match ft {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = self.base_header(st, kind);
                if ft != FileType::Fifo {
                    let dev = st.st_rdev;
                    h.set_device_major(rfs::major(dev))
                        .and_then(|()| h.set_device_minor(rfs::minor(dev)))
                        .map_err(|e| self.err("write layer", path, e))?;
                }
                self.append(h, path, None, &none, io::empty())?;
            }
            _ => {
                tracing::warn!(path = %String::from_utf8_lossy(path), ?ft, "skipping a file a layer cannot hold");
                self.skipped += 1;
                return Ok(None);
            }
        }
        self.entries += 1;
        Ok(None)
    }

    fn push(path: &mut Vec<u8>, name: &[u8]) -> usize {
        let len = path.len();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        len
    }

    /// Writes everything below `dir`.
    fn walk(&mut self, dir: &OwnedFd, path: &mut Vec<u8>) -> Result<(), Error> {
        let names = sorted_names(dir).map_err(|e| self.err("read directory", path, e))?;
        for name in names {
            let st = rfs::statat(dir, os(&name), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.err("stat", path, e))?;
            let len = Self::push(path, &name);
            if let Some(sub) = self.emit(dir, &name, &st, path)? {
                self.walk(&sub, path)?;
            }
            path.truncate(len);
        }
        Ok(())
    }

    fn whiteout(&mut self, path: &mut Vec<u8>, name: &[u8]) -> Result<(), Error> {
        let mut wh = PREFIX.to_vec();
        if name != OPAQUE {
            wh.extend_from_slice(name);
        } else {
            wh = OPAQUE.to_vec();
        }
        let len = Self::push(path, &wh);
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        let p = path.clone();
        self.append(h, &p, None, &Xattrs::new(), io::empty())?;
        path.truncate(len);
        self.whiteouts += 1;
        Ok(())
    }

    /// Writes the changes from `lower` to `upper`, two directories at `path`.
    fn diff(
        &mut self,
        lower: &OwnedFd,
        upper: &OwnedFd,
        path: &mut Vec<u8>,
        lower_root: &Path,
    ) -> Result<(), Error> {
        let lerr = |op, e: Errno| Error::io(op, lower_root.join(os(path)), e.into());
        let lnames = sorted_names(lower).map_err(|e| lerr("read directory", e))?;
        let unames = sorted_names(upper).map_err(|e| self.err("read directory", path, e))?;
        let deleted: Vec<&Vec<u8>> = lnames
            .iter()
            .filter(|n| unames.binary_search(n).is_err())
            .collect();
        if self.options.whiteouts == WhiteoutStyle::Opaque
            && !lnames.is_empty()
            && deleted.len() == lnames.len()
        {
            self.whiteout(path, OPAQUE)?;
        } else {
            for name in deleted {
                self.whiteout(path, name)?;
            }
        }
        for name in &unames {
            let ust = rfs::statat(upper, os(name), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.err("stat", path, e))?;
            let len = Self::push(path, name);
            let lst = if lnames.binary_search(name).is_ok() {
                Some(
                    rfs::statat(lower, os(name), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| Error::io("stat", lower_root.join(os(path)), e.into()))?,
                )
            } else {
                None
            };
            let udir = FileType::from_raw_mode(ust.st_mode) == FileType::Directory;
            match lst {
                Some(lst)
                    if udir && FileType::from_raw_mode(lst.st_mode) == FileType::Directory =>
                {
                    let ufd = open_at(upper, name, OFlags::RDONLY | OFlags::DIRECTORY)
                        .map_err(|e| self.err("open", path, e))?;
                    let lfd = open_at(lower, name, OFlags::RDONLY | OFlags::DIRECTORY)
                        .map_err(|e| Error::io("open", lower_root.join(os(path)), e.into()))?;
                    let changed = !same_meta(&lst, &ust)
                        || metadata::xattrs(&lfd).ok() != metadata::xattrs(&ufd).ok();
                    if changed {
                        self.emit(upper, name, &ust, path)?;
                    }
                    self.diff(&lfd, &ufd, path, lower_root)?;
                }
                Some(lst) if !udir => {
                    let same = same_node(lower, upper, name, &lst, &ust)
                        .map_err(|e| self.err("compare", path, e))?;
                    if !same {
                        self.emit(upper, name, &ust, path)?;
                    }
                }
                _ => {
                    if let Some(sub) = self.emit(upper, name, &ust, path)? {
                        self.walk(&sub, path)?;
                    }
                }
            }
            path.truncate(len);
        }
        Ok(())
    }
}

fn same_meta(a: &Stat, b: &Stat) -> bool {
    a.st_mode == b.st_mode
        && a.st_uid == b.st_uid
        && a.st_gid == b.st_gid
        && a.st_mtime == b.st_mtime
        && a.st_mtime_nsec == b.st_mtime_nsec
}

/// Whether two non-directories are the same file for a changeset.
fn same_node(
    ldir: &OwnedFd,
    udir: &OwnedFd,
    name: &[u8],
    l: &Stat,
    u: &Stat,
) -> rustix::io::Result<bool> {
    if !same_meta(l, u) {
        return Ok(false);
    }
    match FileType::from_raw_mode(u.st_mode) {
        FileType::RegularFile => {
            if l.st_size != u.st_size {
                return Ok(false);
            }
            let lf = open_at(ldir, name, OFlags::RDONLY)?;
            let uf = open_at(udir, name, OFlags::RDONLY)?;
            if metadata::xattrs(&lf)? != metadata::xattrs(&uf)? {
                return Ok(false);
            }
            same_contents(File::from(lf), File::from(uf)).map_err(|e| {
                e.raw_os_error()
                    .map(Errno::from_raw_os_error)
                    .unwrap_or(Errno::IO)
            })
        }
        FileType::Symlink => Ok(rfs::readlinkat(ldir, os(name), Vec::new())?
            == rfs::readlinkat(udir, os(name), Vec::new())?),
        FileType::CharacterDevice | FileType::BlockDevice => Ok(l.st_rdev == u.st_rdev),
        _ => Ok(true),
    }
}

fn same_contents(mut a: File, mut b: File) -> io::Result<bool> {
    let mut ba = vec![0u8; 256 * 1024];
    let mut bb = vec![0u8; 256 * 1024];
    loop {
        let n = read_full(&mut a, &mut ba)?;
        let m = read_full(&mut b, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
