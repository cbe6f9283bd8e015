//! The keys tokens may be signed with: the certificates of
//! `rootcertbundle` (a token names its signer by an `x5c` chain leading
//! to one of them, or by a `kid` that is the libtrust key id of one of
//! their keys), and the built-in token service's own key.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, SubjectPublicKeyInfoDer};
use rustls_pki_types::{TrustAnchor, UnixTime};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter, RawPublicKeyEntity};

use super::jwt::{ecdsa_der, Jws, JwtError};
use crate::Error;

/// The DER prefix of a P-256 public key's SubjectPublicKeyInfo, before
/// its 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Trusted signers of tokens.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedKeys {
    certs: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
    keys: Vec<(String, SubjectPublicKeyInfoDer<'static>)>,
}

/// Any extended key usage: Distribution checks token signers' chains
/// with Go's `ExtKeyUsageAny`.
#[derive(Debug)]
struct AnyUsage;

impl ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

impl TrustedKeys {
    /// Trusts every certificate of a PEM bundle; `origin` names it in
    /// errors.
    pub(crate) fn add_pem(&mut self, pem: &[u8], origin: &str) -> Result<(), Error> {
        let bad = |source: Option<Box<dyn std::error::Error + Send + Sync>>| {
            Error::auth_file(
                "root certificate bundle",
                origin.to_owned(),
                "PEM certificates",
                source,
            )
        };
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| bad(Some(Box::new(e))))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| bad(Some(Box::new(e))))?
                .to_owned();
            let spki = webpki::spki_for_anchor(&anchor);
            self.keys.push((libtrust_kid(spki.as_ref()), spki));
            self.anchors.push(anchor);
            self.certs.push(cert.into_owned());
            n += 1;
        }
        if n == 0 {
            return Err(bad(None));
        }
        Ok(())
    }

    /// Trusts a P-256 public key (its uncompressed point); returns the
    /// key id tokens name it by.
    pub(crate) fn add_p256(&mut self, point: &[u8]) -> String {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(point);
        let kid = libtrust_kid(&der);
        self.keys
            .push((kid.clone(), SubjectPublicKeyInfoDer::from(der)));
        kid
    }

    /// Checks a token's signature against the key it names.
    pub(crate) fn verify(&self, jws: &Jws<'_>, now: u64) -> Result<(), JwtError> {
        let (alg, sig) = algorithm(&jws.header.alg, &jws.signature)?;
        let input = jws.signing_input.as_bytes();
        if let Some((leaf, rest)) = jws.header.x5c.split_first() {
            let der = |s: &String| {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map(CertificateDer::from)
                    .map_err(|_| JwtError::Chain)
            };
            let leaf = der(leaf)?;
            let intermediates = rest.iter().map(der).collect::<Result<Vec<_>, _>>()?;
            let ee = EndEntityCert::try_from(&leaf).map_err(|_| JwtError::Chain)?;
            // A trusted certificate used directly needs no chain (and a
            // self-signed CA cannot be its own end entity for webpki).
            if !self.certs.contains(&leaf) {
                ee.verify_for_usage(
                    ALGORITHMS,
                    &self.anchors,
                    &intermediates,
                    UnixTime::since_unix_epoch(std::time::Duration::from_secs(now)),
                    AnyUsage,
                    None,
                    None,
                )
                .map_err(|_| JwtError::Chain)?;
            }
            return ee
                .verify_signature(alg, input, &sig)
                .map_err(|_| JwtError::Signature);
        }
        let kid = jws.header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
        let (_, spki) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or(JwtError::UnknownKey)?;
        RawPublicKeyEntity::try_from(spki)
            .map_err(|_| JwtError::UnknownKey)?
            .verify_signature(alg, input, &sig)
            .map_err(|_| JwtError::Signature)
    }
}

static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
];

/// The verifier of JWS algorithm `alg`, and the signature in the form it
/// takes. The verifier also checks that the key is of the algorithm's
/// kind, so an RSA key cannot be used for an ECDSA token or the reverse.
fn algorithm(
    alg: &str,
    sig: &[u8],
) -> Result<(&'static dyn SignatureVerificationAlgorithm, Vec<u8>), JwtError> {
    let ec = |width: usize| {
        if sig.len() == width {
            Ok(ecdsa_der(sig))
        } else {
            Err(JwtError::Signature)
        }
    };
    Ok(match alg {
        "ES256" => (webpki::ring::ECDSA_P256_SHA256, ec(64)?),
        "ES384" => (webpki::ring::ECDSA_P384_SHA384, ec(96)?),
        "RS256" => (webpki::ring::RSA_PKCS1_2048_8192_SHA256, sig.to_vec()),
        "RS384" => (webpki::ring::RSA_PKCS1_2048_8192_SHA384, sig.to_vec()),
        "RS512" => (webpki::ring::RSA_PKCS1_2048_8192_SHA512, sig.to_vec()),
        other => return Err(JwtError::Algorithm(other.to_owned())),
    })
}

/// libtrust's key id, which Distribution's token issuers put in `kid`:
/// the SHA-256 of the SubjectPublicKeyInfo, its first 240 bits in
/// base32, in groups of four joined by colons.
pub(crate) fn libtrust_kid(spki: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = ring::digest::digest(&ring::digest::SHA256, spki);
    let bytes = &hash.as_ref()[..30];
    let mut out = String::with_capacity(59);
    let (mut acc, mut bits) = (0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            if !out.is_empty() && out.len() % 5 == 4 {
                out.push(':');
            }
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtrust_key_ids_have_twelve_groups_of_four() {
        let kid = libtrust_kid(b"any key");
        assert_eq!(kid.len(), 59, "{kid}");
        assert_eq!(kid.split(':').count(), 12);
        assert!(kid.split(':').all(|g| g.len() == 4));
    }

    #[test]
    fn an_empty_bundle_is_refused() {
        let e = TrustedKeys::default()
            .add_pem(b"nothing", "b.pem")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use root certificate bundle b.pem: expected PEM certificates"
        );
    }
}
