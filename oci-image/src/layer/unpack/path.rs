//! Entry names cleaned into paths relative to the root.

use crate::Error;

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
