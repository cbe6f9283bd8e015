//! `WWW-Authenticate` challenges (RFC 7235), as registries send them.

use std::collections::BTreeMap;

use crate::Error;

/// One authentication challenge from a `WWW-Authenticate` header, such as
/// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
///
/// ```
/// use ocikit_types::Challenge;
/// let c = Challenge::parse_header(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#)?;
/// assert_eq!(c[0].scheme, "bearer");
/// assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// The scheme, lowercased (`bearer`, `basic`).
    pub scheme: String,
    /// The parameters, names lowercased.
    pub params: BTreeMap<String, String>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Largest header this parser accepts.
const MAX_HEADER: usize = 16 << 10;

impl Challenge {
    /// The value of parameter `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Parses every challenge in a header value. Registries send one; RFC
    /// 7235 allows several separated by commas.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming what was expected where the header
    /// goes wrong.
    pub fn parse_header(header: &str) -> Result<Vec<Challenge>, Error> {
        let bad = |expected| Error::InvalidValue {
            what: "www-authenticate header",
            input: header.chars().take(200).collect(),
            expected,
        };
        if header.len() > MAX_HEADER {
            return Err(bad("a header of at most 16 KiB"));
        }
        let b = header.as_bytes();
        let mut i = 0;
        let mut out: Vec<Challenge> = Vec::new();
        let skip_ws = |i: &mut usize| {
            while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
                *i += 1;
            }
        };
        loop {
            skip_ws(&mut i);
            while i < b.len() && b[i] == b',' {
                i += 1;
                skip_ws(&mut i);
            }
            if i >= b.len() {
                break;
            }
            // A token: either a new scheme or a parameter name.
            let start = i;
            while i < b.len() && is_tchar(b[i]) {
                i += 1;
            }
            if i == start {
                return Err(bad("a scheme or parameter name"));
            }
            let token = header[start..i].to_ascii_lowercase();
            let after = i;
            skip_ws(&mut i);
            if i < b.len() && b[i] == b'=' && !out.is_empty() {
                i += 1;
                skip_ws(&mut i);
                let value = if i < b.len() && b[i] == b'"' {
                    i += 1;
                    let mut v = Vec::new();
                    loop {
                        match b.get(i) {
                            None => return Err(bad("a closing quote")),
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(b'\\') if i + 1 < b.len() => {
                                v.push(b[i + 1]);
                                i += 2;
                            }
                            Some(&c) => {
                                v.push(c);
                                i += 1;
                            }
                        }
                    }
                    String::from_utf8(v).map_err(|_| bad("UTF-8 in a quoted value"))?
                } else {
                    let vs = i;
                    while i < b.len() && (is_tchar(b[i]) || b[i] == b'/' || b[i] == b':') {
                        i += 1;
                    }
                    header[vs..i].to_owned()
                };
                if let Some(last) = out.last_mut() {
                    last.params.insert(token, value);
                }
            } else {
                // token68 credentials (`Basic abc==`) are not used by
                // registries; a bare token starts a new challenge.
                i = after;
                out.push(Challenge {
                    scheme: token,
                    params: BTreeMap::new(),
                });
            }
        }
        if out.is_empty() {
            return Err(bad("at least one challenge"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_registry_challenges() {
        let c = Challenge::parse_header(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].param("scope"), Some("repository:a/b:pull,push"));
        let c = Challenge::parse_header(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c[0].scheme, "basic");
        let c = Challenge::parse_header(
            r#"Basic realm="x", Bearer realm="https://a/t",service=reg, error="invalid_token""#,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].param("service"), Some("reg"));
        assert_eq!(c[1].param("error"), Some("invalid_token"));
        let c = Challenge::parse_header(r#"Bearer realm="a\"b""#).unwrap();
        assert_eq!(c[0].param("realm"), Some("a\"b"));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "   ", "Bearer realm=\"open", "=x", "\u{1}"] {
            assert!(Challenge::parse_header(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = Challenge::parse_header(&s);
        }
    }
}
