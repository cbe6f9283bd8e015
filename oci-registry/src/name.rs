//! The grammars of repository names and tags (distribution-spec, "Pulling
//! manifests"): checked before any storage path is formed, so a name can
//! never point outside its repository's directory.

use std::fmt;

/// The longest repository name accepted. The spec lets registries limit
/// names; 255 keeps `host/name` references within Distribution's limit.
pub const MAX_NAME_LEN: usize = 255;

/// A repository name that matches
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

impl RepositoryName {
    /// Checks `name` against the grammar and the length limit.
    pub fn parse(name: &str) -> Option<RepositoryName> {
        (name.len() <= MAX_NAME_LEN && name.split('/').all(component_ok))
            .then(|| RepositoryName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or one or more `-`.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
}

/// True for a tag of `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_grammar() {
        for ok in ["a", "library/busybox", "a.b/c_d/e__f/g--h", "0x/9"] {
            assert!(RepositoryName::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "..", "a/../b", "a/./b", "-a", "a-", "a___b", "a._b",
            "a b", "a%2fb",
        ] {
            assert!(RepositoryName::parse(bad).is_none(), "{bad}");
        }
        assert!(RepositoryName::parse(&"a".repeat(MAX_NAME_LEN + 1)).is_none());
    }

    proptest::proptest! {
        #[test]
        fn accepted_names_stay_inside_their_folder(s in "[a-z0-9._/-]{0,40}|\\PC{0,40}") {
            if let Some(n) = RepositoryName::parse(&s) {
                for c in n.as_str().split('/') {
                    proptest::prop_assert!(!c.is_empty() && !c.starts_with(['.', '_', '-']));
                }
                proptest::prop_assert_eq!(n.to_string(), s);
            }
        }
    }

    #[test]
    fn tags_follow_the_grammar() {
        assert!(is_tag("latest") && is_tag("_v1.0-rc") && is_tag(&"a".repeat(128)));
        assert!(!is_tag("") && !is_tag(".x") && !is_tag("-x") && !is_tag(&"a".repeat(129)));
        assert!(!is_tag("a/b") && !is_tag("a:b"));
    }
}
