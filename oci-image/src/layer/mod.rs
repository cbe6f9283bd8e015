//! Layers: image filesystem changesets as (compressed) tar streams.
//!
//! [`unpack`] applies a layer to a directory, [`pack`] and [`pack_diff`]
//! make one, and [`Decompressor`] reads any supported compression. The rules
//! follow the image-spec's [layer.md]: changesets, whiteouts (`.wh.NAME`),
//! opaque whiteouts (`.wh..wh..opq`) and the semantics of applying an entry
//! over an existing path.
//!
//! Packing and decompressing build on every Unix; unpacking onto a disk is
//! Linux only (`unpack/`, see its module docs), and [`metadata`] holds
//! what reading a file's metadata differs in between the Unix systems.
//!
//! [layer.md]: https://github.com/opencontainers/image-spec/blob/main/layer.md

mod compression;
mod dir;
mod metadata;
mod pack;
#[cfg(target_os = "linux")]
mod unpack;

#[cfg(target_os = "linux")]
pub(crate) use unpack::{is_overlay_xattr, opaque_xattr, remove_any, Root};
#[cfg(target_os = "linux")]
pub(crate) use {dir::list_dir, metadata::xattrs};

pub use compression::{detect_compression, Decompressor};
pub use pack::{
    pack, pack_diff, source_date_epoch, Ownership, PackOptions, PackReport, WhiteoutStyle,
};
#[cfg(target_os = "linux")]
pub use unpack::{unpack, IdMap, IdMapping, Privileges, UnpackOptions, UnpackReport, WhiteoutMode};

/// Size of the buffers used for reading layers and copying file contents.
pub(crate) const BUF_SIZE: usize = 1 << 20;

/// The prefix of a whiteout file's name.
pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// The name of an opaque whiteout.
pub(crate) const OPAQUE_WHITEOUT: &[u8] = b".wh..wh..opq";

/// A byte path as an `OsStr`, for the syscalls.
pub(crate) fn os(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}
