//! Image references: `[registry[:port]/]repository[:tag][@digest]`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Digest, Error};

/// The registry that names without a registry refer to.
const DOCKER_HUB: &str = "docker.io";
/// The old name of Docker Hub, normalised to [`DOCKER_HUB`].
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The host that serves Docker Hub's registry API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
const DEFAULT_TAG: &str = "latest";
/// The longest name (`registry/repository`) Docker accepts.
const NAME_MAX: usize = 255;
/// The longest tag the distribution specification allows.
const TAG_MAX: usize = 128;

/// An image reference, normalised as Docker does.
///
/// The grammar is the one of `github.com/distribution/reference`:
///
/// ```text
/// reference  := [domain "/"] path [":" tag] ["@" digest]
/// domain     := host [":" port]
/// host       := component ("." component)* | "[" [0-9A-Fa-f:]+ "]"
/// component  := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
/// port       := [0-9]+
/// path       := path-component ("/" path-component)*
/// path-component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
/// tag        := [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
/// digest     := see [`Digest`]
/// ```
///
/// The part before the first `/` names a registry only if it contains a
/// `.` or a `:`, is `localhost`, or contains an uppercase letter; otherwise
/// the whole name is a Docker Hub repository. Then, as Docker does:
/// - a missing registry, and `index.docker.io`, become `docker.io`;
/// - a Docker Hub repository with a single component gets `library/`;
/// - a reference with neither tag nor digest gets the tag `latest`;
/// - a bare 64-character hexadecimal string is rejected, since Docker
///   reads it as an image ID;
/// - `registry/repository` may be at most 255 characters long, counted
///   after normalisation.
///
/// [`Display`](fmt::Display) writes the canonical form, which always names
/// the registry; [`Reference::familiar`] writes Docker's short form.
///
/// ```
/// use ocikit_types::Reference;
/// let r: Reference = "busybox".parse()?;
/// assert_eq!(r.registry(), "docker.io");
/// assert_eq!(r.repository(), "library/busybox");
/// assert_eq!(r.tag(), Some("latest"));
/// assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
/// assert_eq!(r.familiar(), "busybox:latest");
/// assert_eq!(r.api_host(), "registry-1.docker.io");
///
/// let r: Reference = "localhost:5000/team/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse()?;
/// assert_eq!(r.registry(), "localhost:5000");
/// assert_eq!(r.tag(), None);
/// assert!(r.digest().is_some());
///
/// let err = "team/App".parse::<Reference>().unwrap_err();
/// assert_eq!(err.to_string(), "invalid reference \"team/App\" at byte 5: expected a lowercase repository component");
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `registry/repository[:tag][@digest]`. Ordering, equality and hashing
    /// depend on this first; the other fields follow from it.
    canonical: String,
    registry_len: usize,
    name_len: usize,
    /// 0 when there is no tag (a tag is never empty).
    tag_len: usize,
    digest: Option<Digest>,
}

/// A parse failure: byte offset and what the grammar wanted there.
type Failure = (usize, &'static str);

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_tag_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_tag_char(b: u8) -> bool {
    is_tag_start(b) || b == b'.' || b == b'-'
}

/// Docker's rule for whether the first `/`-separated part names a registry.
fn names_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// Checks `b[start..end]` as `host[:port]`.
fn parse_domain(b: &[u8], start: usize, end: usize) -> Result<(), Failure> {
    let mut i = start;
    if b.get(i) == Some(&b'[') {
        i += 1;
        let first = i;
        while i < end && (b[i].is_ascii_hexdigit() || b[i] == b':') {
            i += 1;
        }
        if i == first {
            return Err((i, "an IPv6 address of [0-9A-Fa-f:] inside the brackets"));
        }
        if i >= end || b[i] != b']' {
            return Err((i, "a closing bracket after the IPv6 address"));
        }
        i += 1;
    } else {
        loop {
            if i >= end || !b[i].is_ascii_alphanumeric() {
                return Err((
                    i,
                    "a registry host component starting with a letter or digit",
                ));
            }
            while i < end && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                i += 1;
            }
            if b[i - 1] == b'-' {
                return Err((
                    i - 1,
                    "a registry host component ending with a letter or digit",
                ));
            }
            if i < end && b[i] == b'.' {
                i += 1;
            } else {
                break;
            }
        }
    }
    if i < end && b[i] == b':' {
        i += 1;
        let first = i;
        while i < end && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == first {
            return Err((i, "a port number after the colon"));
        }
    }
    if i != end {
        return Err((i, "a registry host and optional :port before the /"));
    }
    Ok(())
}

/// What the grammar wants where a `[a-z0-9]` run must start.
fn component_failure(b: &[u8], i: usize, otherwise: &'static str) -> Failure {
    match b.get(i) {
        Some(c) if c.is_ascii_uppercase() => (i, "a lowercase repository component"),
        _ => (i, otherwise),
    }
}

/// Consumes `[a-z0-9]+` at `i`, returning the end.
fn alnum_run(b: &[u8], mut i: usize, otherwise: &'static str) -> Result<usize, Failure> {
    if !b.get(i).copied().is_some_and(is_lower_alnum) {
        return Err(component_failure(b, i, otherwise));
    }
    while b.get(i).copied().is_some_and(is_lower_alnum) {
        i += 1;
    }
    Ok(i)
}

/// Checks the repository path starting at `i`, returning its end.
fn parse_path(b: &[u8], mut i: usize) -> Result<usize, Failure> {
    loop {
        i = alnum_run(b, i, "a repository component starting with [a-z0-9]")?;
        loop {
            match b.get(i) {
                Some(b'.') => i += 1,
                Some(b'_') if b.get(i + 1) == Some(&b'_') => i += 2,
                Some(b'_') => i += 1,
                Some(b'-') => {
                    while b.get(i) == Some(&b'-') {
                        i += 1;
                    }
                }
                _ => break,
            }
            i = alnum_run(b, i, "[a-z0-9] after a separator in the repository name")?;
        }
        if b.get(i) == Some(&b'/') {
            i += 1;
        } else {
            return Ok(i);
        }
    }
}

/// Checks a tag at `b[i..]` that ends at `@` or the end, returning its end.
fn parse_tag(b: &[u8], start: usize) -> Result<usize, Failure> {
    match b.get(start) {
        None | Some(b'@') => return Err((start, "a tag after :")),
        Some(&c) if !is_tag_start(c) => return Err((start, "a tag starting with [A-Za-z0-9_]")),
        Some(_) => {}
    }
    let mut i = start;
    while b.get(i).copied().is_some_and(is_tag_char) {
        i += 1;
    }
    if i - start > TAG_MAX {
        return Err((start, "a tag of at most 128 characters"));
    }
    match b.get(i) {
        None | Some(b'@') => Ok(i),
        Some(_) => Err((i, "tag characters [A-Za-z0-9_.-], then @digest or the end")),
    }
}

/// `true` when `s` is a 64-character lowercase hex string (an image ID).
fn is_image_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl Reference {
    fn parse_str(s: &str) -> Result<Self, Error> {
        Reference::parse_parts(s).map_err(|(position, expected)| Error::InvalidReference {
            input: s.to_owned(),
            position,
            expected,
        })
    }

    fn parse_parts(s: &str) -> Result<Self, Failure> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err((0, "a repository name"));
        }
        if is_image_id(s) {
            return Err((
                0,
                "a repository name, not a 64-character hexadecimal image id",
            ));
        }
        // Every index used to slice `s` below is that of an ASCII byte or the
        // end, so slicing never splits a character.
        let (registry, path_start) = match b.iter().position(|&c| c == b'/') {
            Some(slash) if names_registry(&s[..slash]) => {
                parse_domain(b, 0, slash)?;
                (&s[..slash], slash + 1)
            }
            _ => (DOCKER_HUB, 0),
        };
        let path_end = parse_path(b, path_start)?;
        let mut i = path_end;
        let mut tag = None;
        let mut digest = None;
        if b.get(i) == Some(&b':') {
            let end = parse_tag(b, i + 1)?;
            tag = Some(&s[i + 1..end]);
            i = end;
        }
        if b.get(i) == Some(&b'@') {
            i += 1;
            if i == b.len() {
                return Err((i, "a digest after @"));
            }
            digest = Some(s[i..].parse::<Digest>().map_err(|e| match e {
                Error::InvalidDigest { expected, .. } => (i, expected),
                _ => (i, "a digest after @"),
            })?);
        } else if i < b.len() {
            return Err(component_failure(
                b,
                i,
                "repository characters [a-z0-9._-], /, :tag or @digest",
            ));
        }

        let registry = if registry == DOCKER_HUB_LEGACY {
            DOCKER_HUB
        } else {
            registry
        };
        let path = &s[path_start..path_end];
        let official = registry == DOCKER_HUB && !path.contains('/');
        let prefix = if official { OFFICIAL_PREFIX } else { "" };
        if registry.len() + 1 + prefix.len() + path.len() > NAME_MAX {
            return Err((0, "a name of at most 255 characters"));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG),
            (tag, _) => tag,
        };
        Ok(Reference::assemble(registry, prefix, path, tag, digest))
    }

    /// Builds a reference from parts that are already valid.
    fn assemble(
        registry: &str,
        prefix: &str,
        path: &str,
        tag: Option<&str>,
        digest: Option<Digest>,
    ) -> Self {
        let mut canonical = String::with_capacity(registry.len() + prefix.len() + path.len() + 80);
        canonical.push_str(registry);
        canonical.push('/');
        canonical.push_str(prefix);
        canonical.push_str(path);
        let name_len = canonical.len();
        if let Some(t) = tag {
            canonical.push(':');
            canonical.push_str(t);
        }
        if let Some(d) = &digest {
            canonical.push('@');
            canonical.push_str(d.as_str());
        }
        Reference {
            canonical,
            registry_len: registry.len(),
            name_len,
            tag_len: tag.map_or(0, str::len),
            digest,
        }
    }

    /// The registry, with its port: `docker.io`, `ghcr.io`, `localhost:5000`,
    /// `[::1]:5000`.
    pub fn registry(&self) -> &str {
        &self.canonical[..self.registry_len]
    }

    /// The repository within the registry: `library/busybox`, `team/app`.
    pub fn repository(&self) -> &str {
        &self.canonical[self.registry_len + 1..self.name_len]
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> &str {
        &self.canonical[..self.name_len]
    }

    /// The tag. `None` only when the reference has a digest and no tag.
    pub fn tag(&self) -> Option<&str> {
        (self.tag_len > 0)
            .then(|| &self.canonical[self.name_len + 1..self.name_len + 1 + self.tag_len])
    }

    /// The digest, when the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same repository with `tag`, keeping any digest.
    ///
    /// # Errors
    /// [`Error::InvalidReference`], with `tag` as the input, when `tag` does
    /// not follow `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, Error> {
        let b = tag.as_bytes();
        let checked = match parse_tag(b, 0) {
            _ if b.is_empty() => Err((0, "a non-empty tag")),
            Ok(end) if end == b.len() => Ok(()),
            Ok(end) => Err((end, "tag characters [A-Za-z0-9_.-]")),
            Err(f) => Err(f),
        };
        checked.map_err(|(position, expected)| Error::InvalidReference {
            input: tag.to_owned(),
            position,
            expected,
        })?;
        Ok(Reference::assemble(
            self.registry(),
            "",
            self.repository(),
            Some(tag),
            self.digest.clone(),
        ))
    }

    /// The same repository pinned to `digest`, keeping any tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference::assemble(
            self.registry(),
            "",
            self.repository(),
            self.tag(),
            Some(digest),
        )
    }

    /// True when the registry is Docker Hub (`docker.io`).
    pub fn is_docker_hub(&self) -> bool {
        self.registry() == DOCKER_HUB
    }

    /// The host and port to send registry API requests to:
    /// `registry-1.docker.io` for Docker Hub, the registry otherwise.
    pub fn api_host(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_API
        } else {
            self.registry()
        }
    }

    /// Docker's short form, as `docker` prints it: Docker Hub's registry is
    /// left out, and so is `library/` before a single-component repository
    /// (`busybox:latest`, `user/app:1.0`, `ghcr.io/o/app@sha256:...`).
    ///
    /// Unlike Docker, the registry is kept when leaving it out would make the
    /// first repository component read as a registry (`docker.io/a.b/c`), so
    /// the short form always parses back to the same reference.
    pub fn familiar(&self) -> String {
        let suffix = &self.canonical[self.name_len..];
        if !self.is_docker_hub() {
            return self.canonical.clone();
        }
        let repository = self.repository();
        let short = match repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest,
            _ => repository,
        };
        match short.split_once('/') {
            Some((first, _)) if names_registry(first) => self.canonical.clone(),
            _ => format!("{short}{suffix}"),
        }
    }

    /// The canonical string, as [`Display`](fmt::Display) writes it.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({:?})", self.canonical)
    }
}

impl FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Reference::parse_str(s)
    }
}

impl TryFrom<String> for Reference {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Reference::parse_str(&s)
    }
}

impl TryFrom<&str> for Reference {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Reference::parse_str(s)
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.canonical
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.canonical
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Reference::parse_str(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
