//! Whiteout names (`.wh.NAME`, `.wh..wh..opq`) and applying them.

use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};

use super::root::remove_any;
use crate::layer::dir::list_dir;
use crate::layer::{os, OPAQUE_WHITEOUT as OPAQUE, WHITEOUT_PREFIX as PREFIX};
/// The prefix of the AUFS metadata names, which are not whiteouts.
const META_PREFIX: &[u8] = b".wh..wh.";

/// What a final path component means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    /// Not a whiteout.
    Plain,
    /// `.wh.NAME`: delete NAME from the lower layers.
    Whiteout(&'a [u8]),
    /// `.wh..wh..opq`: hide the lower layers' children of the directory.
    Opaque,
    /// Another `.wh..wh.` name (AUFS metadata): ignored.
    Meta,
    /// `.wh.`, `.wh..` or `.wh...`: would delete the directory itself or
    /// its parent.
    Invalid,
}

pub(crate) fn kind(name: &[u8]) -> Kind<'_> {
    if !name.starts_with(PREFIX) {
        Kind::Plain
    } else if name == OPAQUE {
        Kind::Opaque
    } else if name.starts_with(META_PREFIX) {
        Kind::Meta
    } else {
        match &name[PREFIX.len()..] {
            b"" | b"." | b".." => Kind::Invalid,
            target => Kind::Whiteout(target),
        }
    }
}

/// Removes every child of the directory `dir` (at cleaned path `path`)
/// that was not written by the current layer (`this_layer`), descending
/// into the directories the layer did write. Returns how many were removed.
pub(crate) fn clear_lower(
    dir: &OwnedFd,
    path: &mut Vec<u8>,
    this_layer: &HashSet<Vec<u8>>,
) -> rustix::io::Result<u64> {
    let mut removed = 0;
    for child in list_dir(dir)? {
        let len = path.len();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&child);
        if !this_layer.contains(path.as_slice()) {
            remove_any(dir.as_fd(), &child)?;
            removed += 1;
        } else {
            let st = rfs::statat(dir, os(&child), AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                let sub = rfs::openat(
                    dir,
                    os(&child),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                removed += clear_lower(&sub, path, this_layer)?;
            }
        }
        path.truncate(len);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(kind(b"file"), Kind::Plain);
        assert_eq!(kind(b".wh.file"), Kind::Whiteout(b"file"));
        assert_eq!(kind(b".wh..hidden"), Kind::Whiteout(b".hidden"));
        assert_eq!(kind(b".wh..wh..opq"), Kind::Opaque);
        assert_eq!(kind(b".wh..wh.plnk"), Kind::Meta);
        assert_eq!(kind(b".wh."), Kind::Invalid);
        assert_eq!(kind(b".wh.."), Kind::Invalid);
        assert_eq!(kind(b".wh..."), Kind::Invalid);
    }
}
