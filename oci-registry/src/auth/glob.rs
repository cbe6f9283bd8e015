//! Glob patterns over repository and user names.
//!
//! Written by hand: the grammar is three tokens over names of a known
//! alphabet, and the general crates (globset, glob) bring a regex engine
//! or match file system paths.

/// A pattern: `*` matches any run of characters except `/`, `**` any run
/// including `/`, `?` one character except `/`; every other character
/// matches itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob(String);

impl Glob {
    pub(crate) fn new(pattern: &str) -> Self {
        Glob(pattern.to_owned())
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches the whole pattern.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let p: Vec<char> = self.0.chars().collect();
        let n: Vec<char> = name.chars().collect();
        // Dynamic programming over (pattern position, name position):
        // quadratic at worst, never exponential on hostile patterns.
        let mut reach = vec![false; n.len() + 1];
        reach[0] = true;
        let mut i = 0;
        while i < p.len() {
            let mut next = vec![false; n.len() + 1];
            match p[i] {
                '*' if p.get(i + 1) == Some(&'*') => {
                    let mut on = false;
                    for (slot, r) in next.iter_mut().zip(&reach) {
                        on |= r;
                        *slot = on;
                    }
                    i += 1;
                }
                '*' => {
                    let mut on = false;
                    for (j, slot) in next.iter_mut().enumerate() {
                        on = reach[j] || (on && j > 0 && n[j - 1] != '/');
                        *slot = on;
                    }
                }
                c => {
                    for (j, slot) in next.iter_mut().enumerate().skip(1) {
                        let fits = if c == '?' {
                            n[j - 1] != '/'
                        } else {
                            n[j - 1] == c
                        };
                        *slot = reach[j - 1] && fits;
                    }
                }
            }
            reach = next;
            i += 1;
        }
        reach[n.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, n: &str) -> bool {
        Glob::new(p).matches(n)
    }

    #[test]
    fn stars_stop_at_slashes_and_double_stars_do_not() {
        assert!(m("library/*", "library/busybox"));
        assert!(!m("library/*", "library/a/b"));
        assert!(m("library/**", "library/a/b"));
        assert!(m("**", "a/b/c"));
        assert!(m("*", "alice"));
        assert!(!m("*", "a/b"));
        assert!(m("team-?/app", "team-a/app"));
        assert!(!m("team-?/app", "team-ab/app"));
        assert!(m("exact", "exact"));
        assert!(!m("exact", "exactly"));
        assert!(m("a/**/z", "a/b/c/z"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    proptest! {
        #[test]
        fn a_name_matches_itself_and_double_star(name in "[a-z0-9/._-]{0,40}") {
            prop_assert!(m(&name, &name));
            prop_assert!(m("**", &name));
        }

        #[test]
        fn hostile_patterns_never_panic(p in ".{0,60}", n in ".{0,60}") {
            let _ = m(&p, &n);
        }
    }
}
