//! Layers: image filesystem changesets as (compressed) tar streams.
//!
//! [`unpack`] applies a layer to a directory, [`pack`] and [`pack_diff`]
//! make one, and [`Decompressor`] reads any supported compression. The rules
//! follow the image-spec's [layer.md]: changesets, whiteouts (`.wh.NAME`),
//! opaque whiteouts (`.wh..wh..opq`) and the semantics of applying an entry
//! over an existing path.
//!
//! [layer.md]: https://github.com/opencontainers/image-spec/blob/main/layer.md

mod compression;
mod pack;
mod root;
mod unpack;
mod whiteout;

pub(crate) use root::Root;

pub use compression::{detect_compression, Decompressor};
pub use pack::{
    pack, pack_diff, source_date_epoch, Ownership, PackOptions, PackReport, WhiteoutStyle,
};
pub use unpack::{unpack, IdMap, IdMapping, Privileges, UnpackOptions, UnpackReport};

use crate::Error;

/// Size of the buffers used for reading layers and copying file contents.
pub(crate) const BUF_SIZE: usize = 1 << 20;

/// Cleans an entry name lexically into a relative path whose components are
/// joined by `/`: leading `/` and `.` components are dropped, `..` pops the
/// previous component. An empty result is the root itself.
///
/// # Errors
/// [`Error::PathEscapesRoot`] when a `..` would climb above the root, and
/// [`Error::BadEntry`] for a name holding a NUL byte.
pub(crate) fn clean_path(raw: &[u8]) -> Result<Vec<u8>, Error> {
    if raw.contains(&0) {
        return Err(Error::BadEntry {
            entry: String::from_utf8_lossy(raw).into_owned(),
            expected: "a name without NUL bytes",
        });
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if out.is_empty() {
                    return Err(Error::PathEscapesRoot {
                        entry: String::from_utf8_lossy(raw).into_owned(),
                        reason: "a `..` component climbs above the root",
                    });
                }
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// Splits a cleaned path into its parent and final component.
pub(crate) fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// A byte path as an `OsStr`, for the syscalls.
pub(crate) fn os(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleans_names() {
        for (raw, want) in [
            (&b"a/b"[..], &b"a/b"[..]),
            (b"./a//b/", b"a/b"),
            (b"/abs/path", b"abs/path"),
            (b"a/../b", b"b"),
            (b"a/b/../../c", b"c"),
            (b"./", b""),
            (b"/", b""),
        ] {
            assert_eq!(clean_path(raw).unwrap(), want, "{raw:?}");
        }
        for bad in [&b"../x"[..], b"a/../../x", b"/..", b"a/../.."] {
            assert!(
                matches!(clean_path(bad), Err(Error::PathEscapesRoot { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(clean_path(b"a\0b"), Err(Error::BadEntry { .. })));
    }

    #[test]
    fn splits_parents() {
        assert_eq!(split_parent(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_parent(b"c"), (&b""[..], &b"c"[..]));
    }

    proptest! {
        #[test]
        fn cleaned_paths_never_climb(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = clean_path(&raw) {
                prop_assert!(!p.starts_with(b"/"));
                for c in p.split(|&b| b == b'/') {
                    prop_assert!(c != b".." && c != b"." && !c.is_empty() || p.is_empty());
                }
            }
        }
    }
}
