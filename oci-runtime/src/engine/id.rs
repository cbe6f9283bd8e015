//! Container IDs.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A container ID: 1 to 1024 characters from `[A-Za-z0-9_+.-]`, not
/// starting with `.` (the grammar runc enforces), so that it is always a
/// single, harmless path component of the state directory.
///
/// ```
/// use ocikit_runtime::ContainerId;
/// let id: ContainerId = "web-1".parse()?;
/// assert_eq!(id.as_ref(), "web-1");
/// assert!("../etc".parse::<ContainerId>().is_err());
/// # Ok::<(), ocikit_runtime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

const EXPECTED: &str = "1-1024 characters of [A-Za-z0-9_+.-], not starting with '.'";

impl ContainerId {
    /// The ID as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContainerId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let ok = !s.is_empty()
            && s.len() <= 1024
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
        if ok {
            Ok(ContainerId(s.to_owned()))
        } else {
            Err(Error::InvalidId {
                expected: EXPECTED,
                found: s.to_owned(),
            })
        }
    }
}

impl TryFrom<String> for ContainerId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in ["a", "web-1", "A_b+c.d", &"x".repeat(1024)] {
            assert!(ok.parse::<ContainerId>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "é",
            &"x".repeat(1025),
        ] {
            let e = bad.parse::<ContainerId>().unwrap_err();
            assert!(e.to_string().contains("expected"), "{e}");
        }
    }
}
