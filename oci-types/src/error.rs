//! The crate's one error type, and the violations that validation reports.

use std::fmt;

/// Which kind of document or value an error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentKind {
    /// A content descriptor (`descriptor.md`).
    Descriptor,
    /// An image manifest (`manifest.md`).
    ImageManifest,
    /// An image index (`image-index.md`).
    ImageIndex,
    /// An image configuration (`config.md`).
    ImageConfiguration,
    /// The `oci-layout` file of an image layout (`image-layout.md`).
    OciLayout,
    /// A Docker image manifest, schema 2.
    DockerManifest,
    /// A Docker manifest list, schema 2.
    DockerManifestList,
    /// A runtime bundle's `config.json` (runtime-spec `config.md`).
    RuntimeConfig,
    /// A container's state (runtime-spec `runtime.md`).
    RuntimeState,
    /// A runtime's features document (runtime-spec `features.md`).
    RuntimeFeatures,
    /// A registry error body (distribution-spec).
    RegistryError,
    /// A registry tag list (distribution-spec).
    TagList,
    /// A registry catalog listing.
    Catalog,
    /// A `WWW-Authenticate` challenge.
    Challenge,
}

impl DocumentKind {
    /// The name used for this kind in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Descriptor => "descriptor",
            DocumentKind::ImageManifest => "image manifest",
            DocumentKind::ImageIndex => "image index",
            DocumentKind::ImageConfiguration => "image configuration",
            DocumentKind::OciLayout => "oci-layout",
            DocumentKind::DockerManifest => "docker manifest",
            DocumentKind::DockerManifestList => "docker manifest list",
            DocumentKind::RuntimeConfig => "runtime config",
            DocumentKind::RuntimeState => "runtime state",
            DocumentKind::RuntimeFeatures => "runtime features",
            DocumentKind::RegistryError => "registry error body",
            DocumentKind::TagList => "tag list",
            DocumentKind::Catalog => "catalog",
            DocumentKind::Challenge => "www-authenticate challenge",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule a document breaks: where, what the rule expects, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// JSON path of the offending value, such as `$.layers[2].digest`.
    pub path: String,
    /// What the specification requires there.
    pub expected: String,
    /// What the document holds instead.
    pub found: String,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Violation {
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.path, self.expected, self.found
        )
    }
}

/// A list of violations, displayed one after another separated by `; `.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Every failure `ocikit-types` reports.
///
/// Display strings are lowercase, name the offending input and, for
/// mismatches, print both the expected and the found value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest string does not follow the `algorithm:encoded` grammar, or a
    /// registered algorithm's encoding is wrong.
    #[error("invalid digest {input:?}: expected {expected}")]
    InvalidDigest {
        /// The rejected input.
        input: String,
        /// What the grammar requires at the failing point.
        expected: &'static str,
    },
    /// A digest uses an algorithm this crate cannot compute.
    #[error("unsupported digest algorithm {algorithm:?}: expected sha256, sha512 or blake3")]
    UnsupportedAlgorithm {
        /// The algorithm named by the digest.
        algorithm: String,
    },
    /// Content does not hash to the digest it was expected to have.
    #[error("digest mismatch: expected {expected}, found {found}")]
    DigestMismatch {
        /// The digest the content should have.
        expected: String,
        /// The digest the content has.
        found: String,
    },
    /// Content does not have the size it was expected to have.
    #[error("size mismatch: expected {expected} bytes, found {found}")]
    SizeMismatch {
        /// The expected size in bytes.
        expected: u64,
        /// The actual size in bytes.
        found: u64,
    },
    /// A media type does not follow RFC 6838's `type/subtype` grammar.
    #[error("invalid media type {input:?}: expected {expected}")]
    InvalidMediaType {
        /// The rejected input.
        input: String,
        /// What the grammar requires.
        expected: &'static str,
    },
    /// An image reference is malformed.
    #[error("invalid reference {input:?} at byte {position}: expected {expected}")]
    InvalidReference {
        /// The rejected input.
        input: String,
        /// Byte offset of the offending part.
        position: usize,
        /// What the grammar requires there.
        expected: &'static str,
    },
    /// A platform string such as `linux/arm64/v8` is malformed.
    #[error("invalid platform {input:?}: expected {expected}")]
    InvalidPlatform {
        /// The rejected input.
        input: String,
        /// What the grammar requires.
        expected: &'static str,
    },
    /// A value that must follow a grammar does not.
    #[error("invalid {what} {input:?}: expected {expected}")]
    InvalidValue {
        /// The kind of value, such as `container id` or `signal`.
        what: &'static str,
        /// The rejected input.
        input: String,
        /// What the grammar requires.
        expected: &'static str,
    },
    /// The bytes are not a well-formed JSON document of the expected shape.
    #[error("malformed {document} at {path} (line {line} column {column}): {detail}")]
    MalformedJson {
        /// The document that was being read.
        document: DocumentKind,
        /// Where in the document, as a JSON path: `$` for the whole
        /// document, `$.process.args`, `$.mounts[2].type`.
        path: String,
        /// 1-based line of the failure (0 when unknown).
        line: usize,
        /// 1-based column of the failure (0 when unknown).
        column: usize,
        /// The parser's account of what it expected and found.
        detail: String,
    },
    /// A document was read but breaks rules of its specification.
    #[error("invalid {document}: {violations}")]
    Invalid {
        /// The document that was validated.
        document: DocumentKind,
        /// Every rule it breaks, in document order.
        violations: Violations,
    },
    /// A document declares a media type other than the one expected.
    #[error("unexpected media type for {document}: expected {expected}, found {found}")]
    UnexpectedMediaType {
        /// The document that was being read.
        document: DocumentKind,
        /// The media type(s) accepted.
        expected: String,
        /// The media type found.
        found: String,
    },
    /// A document's file could not be read or written
    /// ([`crate::runtime::Spec::load`], [`crate::runtime::Spec::save`]).
    #[error("{op} {}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `write`, `flush`,
        /// `rename into`).
        op: &'static str,
        /// The file concerned.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: crate::IoError,
    },
    /// A file holds a malformed or invalid document; the source says
    /// what is wrong and where in the document (its JSON path).
    #[error("{document} file {}", path.display())]
    InFile {
        /// The document the file should hold.
        document: DocumentKind,
        /// The file.
        path: std::path::PathBuf,
        /// The parse or validation error.
        #[source]
        source: Box<Error>,
    },
    /// No entry of an index matches the wanted platform.
    #[error("no manifest for platform {wanted}: the index offers {}", platform_list(.available))]
    PlatformNotFound {
        /// The platform asked for (boxed: it is large next to the other
        /// variants).
        wanted: Box<crate::Platform>,
        /// The platforms the index's entries declare, in index order.
        available: Vec<crate::Platform>,
    },
}

impl Error {
    /// The violations, when this is a validation failure.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Error::Invalid { violations, .. } => &violations.0,
            Error::InFile { source, .. } => source.violations(),
            _ => &[],
        }
    }

    /// True when content failed a digest or size check (possible tampering).
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            Error::DigestMismatch { .. } | Error::SizeMismatch { .. }
        )
    }

    /// The error for `bytes` that failed to parse as `T`: parsed once more,
    /// tracking the path, to say where (only on failure, so a document
    /// that parses pays nothing for it).
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        document: DocumentKind,
        bytes: &[u8],
        err: &serde_json::Error,
    ) -> Self {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => json_path(e.path()),
            Ok(_) => "$".to_owned(), // trailing characters after the document
        };
        // serde_json appends " at line L column C"; strip it since we keep both apart.
        let mut detail = err.to_string();
        if let Some(at) = detail.rfind(" at line ") {
            detail.truncate(at);
        }
        Error::MalformedJson {
            document,
            path,
            line: err.line(),
            column: err.column(),
            detail,
        }
    }
}

/// `process.args[1]` as `$.process.args[1]`; keys that are not plain
/// names are quoted: `$["annotations"]["org.example"]`-style as
/// `$.annotations["org.example"]`.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push('.');
                    out.push_str(key);
                } else {
                    out.push_str(&format!("[{key:?}]"));
                }
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

fn platform_list(platforms: &[crate::Platform]) -> String {
    if platforms.is_empty() {
        return "no platforms".to_owned();
    }
    platforms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects violations while walking a document, tracking the JSON path.
#[derive(Debug, Default)]
pub(crate) struct Validator {
    path: Vec<String>,
    violations: Vec<Violation>,
}

impl Validator {
    pub(crate) fn new() -> Self {
        Validator::default()
    }

    /// Runs `f` with `segment` appended to the path (`.name` or `[i]`).
    pub(crate) fn at<R>(
        &mut self,
        segment: impl Into<String>,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        self.path.push(segment.into());
        let r = f(self);
        self.path.pop();
        r
    }

    /// Runs `f` for a named field.
    pub(crate) fn field<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.at(format!(".{name}"), f)
    }

    /// Runs `f` for an array element.
    pub(crate) fn index<R>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        self.at(format!("[{i}]"), f)
    }

    pub(crate) fn current_path(&self) -> String {
        let mut p = String::from("$");
        for s in &self.path {
            p.push_str(s);
        }
        p
    }

    /// Records a violation at the current path.
    pub(crate) fn report(&mut self, expected: impl Into<String>, found: impl Into<String>) {
        let path = self.current_path();
        self.violations.push(Violation::new(path, expected, found));
    }

    /// Records a violation at a child field of the current path.
    pub(crate) fn report_field(
        &mut self,
        name: &str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.field(name, |v| v.report(expected, found));
    }

    pub(crate) fn finish(self, document: DocumentKind) -> Result<(), Error> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid {
                document,
                violations: Violations(self.violations),
            })
        }
    }
}
