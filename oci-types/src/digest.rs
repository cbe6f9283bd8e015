//! Content digests (`algorithm:encoded`) and a streaming hasher.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::Error;

/// A digest algorithm registered by the image specification.
///
/// Unregistered algorithms that follow the grammar are still valid in a
/// [`Digest`]; they are only not computable here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256, 64 lowercase hex characters. The default and the one every
    /// implementation must support.
    Sha256,
    /// SHA-512, 128 lowercase hex characters.
    Sha512,
    /// BLAKE3 with a 256-bit output, 64 lowercase hex characters.
    Blake3,
}

impl Algorithm {
    /// The name as it appears in a digest string.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake3 => "blake3",
        }
    }

    /// Length of the hex-encoded part.
    pub fn encoded_len(self) -> usize {
        match self {
            Algorithm::Sha256 | Algorithm::Blake3 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The registered algorithm called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            "blake3" => Some(Algorithm::Blake3),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A content identifier: `algorithm ":" encoded`, per the image-spec grammar.
///
/// ```
/// use ocikit_types::Digest;
/// let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse()?;
/// assert_eq!(d.algorithm(), "sha256");
/// d.verify(b"")?;
/// assert!(d.verify(b"tampered").is_err());
/// # Ok::<(), ocikit_types::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    value: String,
    colon: usize,
}

fn is_alg_component(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_alg_separator(b: u8) -> bool {
    matches!(b, b'+' | b'.' | b'_' | b'-')
}

fn is_encoded(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-')
}

impl Digest {
    fn parse_str(s: &str) -> Result<Self, Error> {
        let bad = |expected| Error::InvalidDigest {
            input: s.to_owned(),
            expected,
        };
        let colon = s
            .find(':')
            .ok_or_else(|| bad("`algorithm:encoded` with a colon"))?;
        let (alg, enc) = (&s[..colon], &s[colon + 1..]);
        if alg.is_empty() {
            return Err(bad("an algorithm before the colon"));
        }
        let mut prev_sep = true;
        for &b in alg.as_bytes() {
            if is_alg_component(b) {
                prev_sep = false;
            } else if is_alg_separator(b) {
                if prev_sep {
                    return Err(bad(
                        "algorithm components of [a-z0-9]+ joined by single separators [+._-]",
                    ));
                }
                prev_sep = true;
            } else {
                return Err(bad("algorithm characters [a-z0-9+._-]"));
            }
        }
        if prev_sep {
            return Err(bad("an algorithm that ends with [a-z0-9]"));
        }
        if enc.is_empty() {
            return Err(bad("an encoded part after the colon"));
        }
        if !enc.bytes().all(is_encoded) {
            return Err(bad("encoded characters [a-zA-Z0-9=_-]"));
        }
        if let Some(a) = Algorithm::from_name(alg) {
            if enc.len() != a.encoded_len() {
                return Err(bad(match a {
                    Algorithm::Sha512 => "128 hex characters for sha512",
                    Algorithm::Sha256 => "64 hex characters for sha256",
                    Algorithm::Blake3 => "64 hex characters for blake3",
                }));
            }
            if !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(bad("lowercase hex [a-f0-9] for a registered algorithm"));
            }
        }
        Ok(Digest {
            value: s.to_owned(),
            colon,
        })
    }

    /// Builds a digest from a registered algorithm and its raw hash bytes.
    fn from_raw(algorithm: Algorithm, hash: &[u8]) -> Self {
        let name = algorithm.as_str();
        let mut value = String::with_capacity(name.len() + 1 + hash.len() * 2);
        value.push_str(name);
        value.push(':');
        value.push_str(&hex::encode(hash));
        Digest {
            value,
            colon: name.len(),
        }
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Self {
        Digest::compute(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` under `algorithm`.
    pub fn compute(algorithm: Algorithm, bytes: &[u8]) -> Self {
        let mut d = Digester::new(algorithm);
        d.update(bytes);
        d.finalize()
    }

    /// The algorithm part, such as `sha256` or `sha256+b64u`.
    pub fn algorithm(&self) -> &str {
        &self.value[..self.colon]
    }

    /// The registered algorithm, when it is one.
    pub fn registered_algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_name(self.algorithm())
    }

    /// The encoded part after the colon.
    pub fn encoded(&self) -> &str {
        &self.value[self.colon + 1..]
    }

    /// The whole digest string.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// A hasher for this digest's algorithm.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for an unregistered algorithm.
    pub fn digester(&self) -> Result<Digester, Error> {
        self.registered_algorithm()
            .map(Digester::new)
            .ok_or_else(|| Error::UnsupportedAlgorithm {
                algorithm: self.algorithm().to_owned(),
            })
    }

    /// Checks that `bytes` hash to this digest.
    ///
    /// # Errors
    /// [`Error::DigestMismatch`] when they do not, and
    /// [`Error::UnsupportedAlgorithm`] for an unregistered algorithm.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut d = self.digester()?;
        d.update(bytes);
        d.finalize().check(self)
    }

    /// Checks that `self` (a computed digest) equals `expected`.
    ///
    /// # Errors
    /// [`Error::DigestMismatch`] carrying both values.
    pub fn check(&self, expected: &Digest) -> Result<(), Error> {
        if self == expected {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                expected: expected.to_string(),
                found: self.to_string(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({:?})", self.value)
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Digest::parse_str(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        let d = Digest::parse_str(&s)?;
        Ok(Digest {
            value: s,
            colon: d.colon,
        })
    }
}

impl TryFrom<&str> for Digest {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Digest::parse_str(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.value
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Digest::parse_str(&s).map_err(serde::de::Error::custom)
    }
}

enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Blake3(Box<blake3::Hasher>),
}

/// A streaming hasher for a registered [`Algorithm`].
///
/// Implements [`std::io::Write`], so it can sit in an `io::copy` or a tee.
///
/// ```
/// use ocikit_types::{Algorithm, Digest, Digester};
/// let mut d = Digester::new(Algorithm::Sha256);
/// d.update(b"hello ");
/// d.update(b"world");
/// assert_eq!(d.bytes(), 11);
/// assert_eq!(d.finalize(), Digest::sha256(b"hello world"));
/// ```
pub struct Digester {
    state: State,
    bytes: u64,
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digester")
            .field("algorithm", &self.algorithm())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Digester {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
            Algorithm::Blake3 => State::Blake3(Box::new(blake3::Hasher::new())),
        };
        Digester { state, bytes: 0 }
    }

    /// The algorithm being computed.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
            State::Blake3(_) => Algorithm::Blake3,
        }
    }

    /// Feeds more content.
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Blake3(h) => {
                h.update(data);
            }
        }
    }

    /// How many bytes were fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Digest {
        match self.state {
            State::Sha256(h) => Digest::from_raw(Algorithm::Sha256, &h.finalize()),
            State::Sha512(h) => Digest::from_raw(Algorithm::Sha512, &h.finalize()),
            State::Blake3(h) => Digest::from_raw(Algorithm::Blake3, h.finalize().as_bytes()),
        }
    }
}

impl std::io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_registered_and_unregistered() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.registered_algorithm(), Some(Algorithm::Sha256));
        assert_eq!(d.encoded().len(), 64);
        for ok in [
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
            "sha256+b64u.unknownlength:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564=",
            "sha256.foo-bar:x",
        ] {
            let d: Digest = ok.parse().unwrap();
            assert_eq!(d.registered_algorithm(), None, "{ok}");
            assert_eq!(d.to_string(), ok);
        }
    }

    #[test]
    fn rejects_bad_grammar_and_bad_registered_encodings() {
        for bad in [
            "",
            "sha256",
            ":abc",
            "sha256:",
            "SHA256:abc",
            "sha256+foo+-b:abc",
            "sha256+:abc",
            "+sha256:abc",
            "sha256:abc",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "foo:a b",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn hashers_match_known_values() {
        assert_eq!(Digest::sha256(b"").as_str(), EMPTY);
        let d = Digest::compute(Algorithm::Sha512, b"abc");
        assert!(d.as_str().starts_with("sha512:ddaf35a193617aba"));
        let d = Digest::compute(Algorithm::Blake3, b"");
        assert_eq!(
            d.encoded(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn verify_reports_both_digests() {
        let d: Digest = EMPTY.parse().unwrap();
        let err = d.verify(b"x").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(EMPTY) && msg.contains(Digest::sha256(b"x").as_str()));
        let other: Digest = "foo:bar".parse().unwrap();
        assert!(matches!(
            other.verify(b""),
            Err(Error::UnsupportedAlgorithm { .. })
        ));
    }

    proptest! {
        #[test]
        fn display_round_trips(alg in "[a-z0-9]{1,5}([+._-][a-z0-9]{1,5}){0,2}", enc in "[a-zA-Z0-9=_-]{1,80}") {
            let s = format!("{alg}:{enc}");
            if let Ok(d) = s.parse::<Digest>() {
                prop_assert_eq!(d.to_string(), s.clone());
                let j = serde_json::to_string(&d).unwrap();
                let back: Digest = serde_json::from_str(&j).unwrap();
                prop_assert_eq!(back, d);
            } else {
                prop_assert!(Algorithm::from_name(&alg).is_some());
            }
        }

        #[test]
        fn computed_digests_parse(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for a in [Algorithm::Sha256, Algorithm::Sha512, Algorithm::Blake3] {
                let d = Digest::compute(a, &bytes);
                prop_assert_eq!(d.as_str().parse::<Digest>().unwrap(), d.clone());
                prop_assert!(d.verify(&bytes).is_ok());
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,100}") {
            let _ = s.parse::<Digest>();
        }
    }
}
