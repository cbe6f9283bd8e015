//! Reading and writing documents: parse, validate, canonical bytes, and the
//! raw bytes kept beside a parsed value.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Algorithm, Descriptor, Digest, DocumentKind, Error, MediaType};

/// A JSON document of one of the specifications.
///
/// Parsing is lenient where a specification says SHOULD and keeps fields it
/// does not know; [`Document::validate`] is strict where it says MUST and
/// reports every violation at once.
pub trait Document: Serialize + DeserializeOwned {
    /// Which document this is, for error messages.
    const KIND: DocumentKind;

    /// Checks every MUST of the specification.
    ///
    /// # Errors
    /// [`Error::Invalid`] with each violation's JSON path, expectation and
    /// finding.
    fn validate(&self) -> Result<(), Error>;

    /// The media type this document declares or is known by, if any.
    fn media_type(&self) -> Option<MediaType> {
        None
    }

    /// Parses JSON bytes, keeping unknown fields. Does not validate.
    ///
    /// # Errors
    /// [`Error::MalformedJson`] with the line, column and what went wrong.
    fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::json::<Self>(Self::KIND, bytes, &e))
    }

    /// Parses and validates.
    ///
    /// # Errors
    /// As [`Document::from_slice`] and [`Document::validate`].
    fn from_slice_validated(bytes: &[u8]) -> Result<Self, Error> {
        let doc = Self::from_slice(bytes)?;
        doc.validate()?;
        Ok(doc)
    }

    /// Serialises deterministically: object keys sorted, no insignificant
    /// whitespace. Building the same document twice yields the same bytes and
    /// so the same digest.
    fn to_canonical_vec(&self) -> Vec<u8> {
        to_canonical_vec(self)
    }

    /// Serialises with indentation, for people.
    fn to_pretty_string(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// Serialises any value as canonical JSON: object keys sorted by their
/// bytes, no insignificant white space.
///
/// The form does not depend on serde_json's features: keys are sorted
/// here, not by serde_json's map, which keeps insertion order when any
/// crate in the build enables `preserve_order`; so the same document has
/// the same bytes, and digest, in every program.
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serialising our own types cannot fail: keys are strings, no NaN floats.
    let Ok(value) = serde_json::to_value(value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    write_canonical(&value, &mut out);
    out
}

/// Writes `value` with sorted keys; scalars as serde_json writes them.
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &serde_json::Value, out: &mut Vec<u8>) {
    // Writing a string, number, bool or null into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A parsed document together with the exact bytes it came from and their
/// digest.
///
/// A document's digest is the digest of its bytes, never of a
/// re-serialisation: keep a `Raw` wherever the digest matters (manifests
/// pulled by digest, configs referenced by a manifest).
///
/// ```
/// use ocikit_types::{ImageManifest, Raw};
/// let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
///   "config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,
///   "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
///   "layers":[{"mediaType":"application/vnd.oci.empty.v1+json","size":2,
///   "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}]}"#;
/// let raw: Raw<ImageManifest> = Raw::parse(bytes.to_vec())?;
/// assert_eq!(raw.digest(), &ocikit_types::Digest::sha256(bytes));
/// assert_eq!(raw.value().layers.len(), 1);
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Raw<T> {
    bytes: Vec<u8>,
    digest: Digest,
    value: T,
}

impl<T: Document> Raw<T> {
    /// Parses `bytes` (without validating) and computes their SHA-256 digest.
    ///
    /// # Errors
    /// [`Error::MalformedJson`].
    pub fn parse(bytes: Vec<u8>) -> Result<Self, Error> {
        Raw::parse_with(bytes, Algorithm::Sha256)
    }

    /// Parses `bytes`, hashing them with `algorithm`.
    ///
    /// # Errors
    /// [`Error::MalformedJson`].
    pub fn parse_with(bytes: Vec<u8>, algorithm: Algorithm) -> Result<Self, Error> {
        let value = T::from_slice(&bytes)?;
        let digest = Digest::compute(algorithm, &bytes);
        Ok(Raw {
            bytes,
            digest,
            value,
        })
    }

    /// Parses `bytes` that must match `expected` (size and digest), such as
    /// content fetched for a descriptor.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`], [`Error::DigestMismatch`],
    /// [`Error::UnsupportedAlgorithm`] or [`Error::MalformedJson`].
    pub fn parse_verified(bytes: Vec<u8>, expected: &Descriptor) -> Result<Self, Error> {
        if bytes.len() as u64 != expected.size {
            return Err(Error::SizeMismatch {
                expected: expected.size,
                found: bytes.len() as u64,
            });
        }
        let mut d = expected.digest.digester()?;
        d.update(&bytes);
        let digest = d.finalize();
        digest.check(&expected.digest)?;
        let value = T::from_slice(&bytes)?;
        Ok(Raw {
            bytes,
            digest,
            value,
        })
    }

    /// Serialises `value` canonically and keeps those bytes.
    pub fn from_value(value: T) -> Self {
        let bytes = value.to_canonical_vec();
        let digest = Digest::sha256(&bytes);
        Raw {
            bytes,
            digest,
            value,
        }
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The parsed value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// A descriptor pointing at these bytes. The media type is the one the
    /// document declares, else `fallback`.
    pub fn descriptor(&self, fallback: MediaType) -> Descriptor {
        let media_type = self.value.media_type().unwrap_or(fallback);
        Descriptor::new(media_type, self.digest.clone(), self.size())
    }

    /// Splits into bytes, digest and value.
    pub fn into_parts(self) -> (Vec<u8>, Digest, T) {
        (self.bytes, self.digest, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        #[derive(Serialize)]
        struct Doc {
            zeta: u32,
            alpha: Vec<std::collections::BTreeMap<String, String>>,
            #[serde(rename = "Mid")]
            mid: Option<&'static str>,
        }
        let mut inner = std::collections::BTreeMap::new();
        inner.insert("b".to_owned(), "\"quoted\"\n".to_owned());
        inner.insert("a".to_owned(), "é".to_owned());
        let doc = Doc {
            zeta: 7,
            alpha: vec![inner],
            mid: None,
        };
        assert_eq!(
            String::from_utf8(to_canonical_vec(&doc)).unwrap(),
            r#"{"Mid":null,"alpha":[{"a":"é","b":"\"quoted\"\n"}],"zeta":7}"#
        );
    }

    #[test]
    fn canonical_form_of_an_insertion_ordered_map_is_sorted() {
        // What a `preserve_order` build hands the writer: keys in
        // insertion order.
        let value = serde_json::json!({"b": 1, "a": {"d": [1.5, true], "c": null}});
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        assert_eq!(out, br#"{"a":{"c":null,"d":[1.5,true]},"b":1}"#);
    }
}
