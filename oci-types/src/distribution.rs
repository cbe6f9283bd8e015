//! Documents of the distribution specification: error bodies, tag lists,
//! catalogs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::document::Document;
use crate::error::Validator;
use crate::{DocumentKind, Error};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $s:literal,)*) => {
        /// An error code of a registry error body (distribution-spec, "Error
        /// Codes"), plus the codes CNCF Distribution also sends. Unknown
        /// codes are kept in [`ErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this crate does not know.
            Other(String),
        }

        impl ErrorCode {
            /// The code as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $s,)*
                    ErrorCode::Other(s) => s,
                }
            }
        }

        impl FromStr for ErrorCode {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($s => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_owned()),
                })
            }
        }
    };
}

error_codes! {
    /// Blob unknown to registry.
    BlobUnknown => "BLOB_UNKNOWN",
    /// Blob upload invalid.
    BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
    /// Blob upload unknown to registry.
    BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
    /// Provided digest did not match uploaded content.
    DigestInvalid => "DIGEST_INVALID",
    /// Manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
    /// Manifest invalid.
    ManifestInvalid => "MANIFEST_INVALID",
    /// Manifest unknown to registry.
    ManifestUnknown => "MANIFEST_UNKNOWN",
    /// Manifest failed signature verification (CNCF Distribution).
    ManifestUnverified => "MANIFEST_UNVERIFIED",
    /// Invalid repository name.
    NameInvalid => "NAME_INVALID",
    /// Repository name not known to registry.
    NameUnknown => "NAME_UNKNOWN",
    /// Provided length did not match content length.
    SizeInvalid => "SIZE_INVALID",
    /// Manifest tag did not match URI (CNCF Distribution).
    TagInvalid => "TAG_INVALID",
    /// Authentication required.
    Unauthorized => "UNAUTHORIZED",
    /// Requested access to the resource is denied.
    Denied => "DENIED",
    /// The operation is unsupported.
    Unsupported => "UNSUPPORTED",
    /// Too many requests.
    TooManyRequests => "TOOMANYREQUESTS",
    /// Invalid number of results requested (CNCF Distribution).
    PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
    /// Invalid content range (CNCF Distribution).
    RangeInvalid => "RANGE_INVALID",
    /// Service unavailable (CNCF Distribution).
    Unavailable => "UNAVAILABLE",
    /// Unknown error (CNCF Distribution).
    Unknown => "UNKNOWN",
}

impl ErrorCode {
    /// True for codes that a later retry may cure.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ErrorCode::TooManyRequests | ErrorCode::Unavailable)
    }

    /// True for codes that mean the named thing does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ErrorCode::BlobUnknown
                | ErrorCode::BlobUploadUnknown
                | ErrorCode::ManifestUnknown
                | ErrorCode::NameUnknown
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        let Ok(code) = s.parse();
        Ok(code)
    }
}

/// One error of a registry error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegistryError {
    /// REQUIRED. The error code.
    pub code: ErrorCode,
    /// OPTIONAL. A message for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// OPTIONAL. Unstructured detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl RegistryError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RegistryError {
            code,
            message: Some(message.into()),
            detail: None,
            extra: BTreeMap::new(),
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {}", self.code, m),
            None => write!(f, "{}", self.code),
        }
    }
}

/// The error body a registry sends with a 4xx or 5xx status:
/// `{"errors":[{"code":...,"message":...,"detail":...}]}`.
///
/// ```
/// use ocikit_types::{Document, ErrorCode, ErrorResponse};
/// let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v9"}}]}"#;
/// let e = ErrorResponse::from_slice(body)?;
/// assert_eq!(e.errors[0].code, ErrorCode::ManifestUnknown);
/// assert!(e.errors[0].code.is_not_found());
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// REQUIRED. The errors.
    pub errors: Vec<RegistryError>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ErrorResponse {
    /// A body with these errors.
    pub fn new(errors: Vec<RegistryError>) -> Self {
        ErrorResponse {
            errors,
            extra: BTreeMap::new(),
        }
    }
}

impl Document for ErrorResponse {
    const KIND: DocumentKind = DocumentKind::RegistryError;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        v.field("errors", |v| {
            for (i, e) in self.errors.iter().enumerate() {
                if e.code.as_str().is_empty() {
                    v.index(i, |v| {
                        v.report_field("code", "a non-empty error code", "\"\"")
                    });
                }
            }
        });
        v.finish(Self::KIND)
    }
}

/// The answer to `GET /v2/<name>/tags/list`.
///
/// ```
/// use ocikit_types::{Document, TagList};
/// let t = TagList::from_slice(br#"{"name":"library/busybox","tags":["1.36","latest"]}"#)?;
/// assert_eq!(t.tags, ["1.36", "latest"]);
/// // Some registries send `"tags": null` for an empty repository.
/// assert!(TagList::from_slice(br#"{"name":"x","tags":null}"#)?.tags.is_empty());
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagList {
    /// REQUIRED. The repository name.
    pub name: String,
    /// REQUIRED. The tags, in lexical order.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl TagList {
    /// A tag list for `name`.
    pub fn new(name: impl Into<String>, tags: Vec<String>) -> Self {
        TagList {
            name: name.into(),
            tags,
            extra: BTreeMap::new(),
        }
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl Document for TagList {
    const KIND: DocumentKind = DocumentKind::TagList;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        if self.name.is_empty() {
            v.report_field("name", "a repository name", "\"\"");
        }
        v.field("tags", |v| {
            for (i, t) in self.tags.iter().enumerate() {
                if !is_tag(t) {
                    v.index(i, |v| {
                        v.report(
                            "a tag matching [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
                            format!("{t:?}"),
                        )
                    });
                }
            }
        });
        v.finish(Self::KIND)
    }
}

/// The answer to `GET /v2/_catalog`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Catalog {
    /// The repository names.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repositories: Vec<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Catalog {
    /// A catalog of these repositories.
    pub fn new(repositories: Vec<String>) -> Self {
        Catalog {
            repositories,
            extra: BTreeMap::new(),
        }
    }
}

impl Document for Catalog {
    const KIND: DocumentKind = DocumentKind::Catalog;

    fn validate(&self) -> Result<(), Error> {
        Validator::new().finish(Self::KIND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_and_fields_are_kept() {
        let body = br#"{"errors":[{"code":"QUOTA_EXCEEDED","message":"m","x":1}],"y":true}"#;
        let e = ErrorResponse::from_slice(body).unwrap();
        assert_eq!(e.errors[0].code, ErrorCode::Other("QUOTA_EXCEEDED".into()));
        assert_eq!(e.to_canonical_vec(), body.to_vec());
    }

    #[test]
    fn tag_validation() {
        let t = TagList::new("a", vec!["ok".into(), ".bad".into(), "x".repeat(129)]);
        let err = t.validate().unwrap_err();
        let paths: Vec<_> = err.violations().iter().map(|v| v.path.clone()).collect();
        assert_eq!(paths, ["$.tags[1]", "$.tags[2]"]);
    }
}
