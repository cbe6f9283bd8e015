//! Content descriptors (`descriptor.md`).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::Validator;
use crate::{Digest, DocumentKind, Error, MediaType, Platform};

/// The largest size a descriptor may declare (the schema's int64 maximum).
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// A reference to content: its media type, digest and size, and optional
/// details (`descriptor.md`).
///
/// ```
/// use ocikit_types::{Descriptor, Digest, Document, MediaType};
/// let blob = b"{}";
/// let d = Descriptor::new(MediaType::EmptyJson, Digest::sha256(blob), blob.len() as u64)
///     .with_data(blob);
/// d.validate()?;
/// assert_eq!(d.data.as_deref(), Some("e30="));
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Descriptor {
    /// REQUIRED. The media type of the referenced content.
    pub media_type: MediaType,
    /// REQUIRED. The digest of the referenced content.
    pub digest: Digest,
    /// REQUIRED. The size of the content in bytes; MUST be at most 2^63-1.
    pub size: u64,
    /// OPTIONAL. URLs the content may be fetched from; each MUST be an RFC 3986 URI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// OPTIONAL. Arbitrary metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// OPTIONAL. The content itself, padded standard base64; its decoded length
    /// and digest MUST match `size` and `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// OPTIONAL. The platform, for manifests in an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// OPTIONAL. The artifact type, for manifests of artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// Fields this crate does not know, kept so that nothing is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Descriptor {
    /// A descriptor with the three required fields.
    pub fn new(media_type: MediaType, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type,
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            platform: None,
            artifact_type: None,
            extra: BTreeMap::new(),
        }
    }

    /// The descriptor of the empty JSON blob `{}` used by artifacts
    /// (`application/vnd.oci.empty.v1+json`, with its data embedded).
    pub fn empty() -> Self {
        Descriptor::new(MediaType::EmptyJson, Digest::sha256(b"{}"), 2).with_data(b"{}")
    }

    /// Embeds `bytes` as the `data` field.
    pub fn with_data(mut self, bytes: &[u8]) -> Self {
        self.data = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        self
    }

    /// The embedded data, decoded and verified against size and digest.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for bad base64, [`Error::SizeMismatch`] or
    /// [`Error::DigestMismatch`] when the data is not the described content.
    pub fn decoded_data(&self) -> Result<Option<Vec<u8>>, Error> {
        let Some(data) = &self.data else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| Error::InvalidValue {
                what: "descriptor data",
                input: data.clone(),
                expected: "padded standard base64 (RFC 4648 section 4)",
            })?;
        if bytes.len() as u64 != self.size {
            return Err(Error::SizeMismatch {
                expected: self.size,
                found: bytes.len() as u64,
            });
        }
        if self.digest.registered_algorithm().is_some() {
            self.digest.verify(&bytes)?;
        }
        Ok(Some(bytes))
    }

    /// The value of annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    pub(crate) fn check(&self, v: &mut Validator) {
        if self.size > MAX_SIZE {
            v.report_field("size", "a size of at most 2^63-1", self.size.to_string());
        }
        for (i, u) in self.urls.iter().enumerate() {
            if !crate::uri::is_uri(u) {
                v.field("urls", |v| {
                    v.index(i, |v| {
                        v.report("an absolute RFC 3986 URI", format!("{u:?}"))
                    })
                });
            }
        }
        if let Err(e) = self.decoded_data() {
            let found = match &e {
                Error::SizeMismatch { found, .. } => format!("{found} bytes of data"),
                Error::DigestMismatch { found, .. } => format!("data hashing to {found}"),
                _ => "data that is not padded standard base64".to_owned(),
            };
            v.report_field(
                "data",
                format!(
                    "padded base64 of {} bytes hashing to {}",
                    self.size, self.digest
                ),
                found,
            );
        }
        if let Some(p) = &self.platform {
            v.field("platform", |v| p.check(v));
        }
    }
}

impl Document for Descriptor {
    const KIND: DocumentKind = DocumentKind::Descriptor;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        self.check(&mut v);
        v.finish(Self::KIND)
    }

    fn media_type(&self) -> Option<MediaType> {
        Some(MediaType::Descriptor)
    }
}
