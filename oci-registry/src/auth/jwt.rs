//! JSON Web Tokens as Distribution's token auth uses them: compact JWS
//! (`header.claims.signature`, base64url without padding), signed with
//! ES256, ES384, RS256, RS384 or RS512, carrying the granted `access`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The longest token read.
const MAX_TOKEN: usize = 16 * 1024;

/// Why a token was refused. Shown to the operator at debug level, never
/// to the client beyond `invalid_token`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    #[error("the token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the token's algorithm {0:?} is not ES256, ES384, RS256, RS384 or RS512")]
    Algorithm(String),
    #[error("the token names no trusted key (by x5c or kid)")]
    UnknownKey,
    #[error("the token's x5c certificate chain does not lead to a trusted root")]
    Chain,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token expired at {exp}, it is {now}")]
    Expired { exp: u64, now: u64 },
    #[error("the token is valid from {nbf}, it is {now}")]
    NotYet { nbf: u64, now: u64 },
    #[error("the token's issuer is {found:?}, expected {expected:?}")]
    Issuer { expected: String, found: String },
    #[error("the token's audience {found:?} does not include {expected:?}")]
    Audience {
        expected: String,
        found: Vec<String>,
    },
}

/// The JOSE header fields used.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) x5c: Vec<String>,
}

/// One granted resource: `{"type": "repository", "name": "a/b",
/// "actions": ["pull"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResourceAccess {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) actions: Vec<String>,
}

/// `aud`: one string or a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims Distribution's tokens carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    #[serde(default)]
    pub(crate) sub: String,
    pub(crate) aud: Audience,
    pub(crate) exp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jti: Option<String>,
    #[serde(default)]
    pub(crate) access: Vec<ResourceAccess>,
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) signing_input: &'a str,
    pub(crate) header: Header,
    pub(crate) claims: Claims,
    pub(crate) signature: Vec<u8>,
}

fn b64(s: &str) -> Result<Vec<u8>, JwtError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwtError::Malformed("a part is not base64url"))
}

/// Splits and decodes a compact JWS.
pub(crate) fn decode(token: &str) -> Result<Jws<'_>, JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed("longer than 16 KiB"));
    }
    let (signing_input, sig) = token
        .rsplit_once('.')
        .ok_or(JwtError::Malformed("no signature part"))?;
    let (header, claims) = signing_input
        .split_once('.')
        .ok_or(JwtError::Malformed("no claims part"))?;
    let header: Header = serde_json::from_slice(&b64(header)?)
        .map_err(|_| JwtError::Malformed("the header is not the expected JSON"))?;
    let claims: Claims = serde_json::from_slice(&b64(claims)?)
        .map_err(|_| JwtError::Malformed("the claims are not the expected JSON"))?;
    Ok(Jws {
        signing_input,
        header,
        claims,
        signature: b64(sig)?,
    })
}

/// Checks what the signature does not: issuer, audience and validity
/// period, with a minute's leeway for clock skew as Distribution allows.
pub(crate) fn check_claims(
    claims: &Claims,
    issuer: &str,
    service: &str,
    now: u64,
) -> Result<(), JwtError> {
    const LEEWAY: f64 = 60.0;
    if claims.iss != issuer {
        return Err(JwtError::Issuer {
            expected: issuer.to_owned(),
            found: claims.iss.clone(),
        });
    }
    let aud = match &claims.aud {
        Audience::One(a) => vec![a.clone()],
        Audience::Many(a) => a.clone(),
    };
    if !aud.iter().any(|a| a == service) {
        return Err(JwtError::Audience {
            expected: service.to_owned(),
            found: aud,
        });
    }
    let t = now as f64;
    if claims.exp.is_nan() || claims.exp + LEEWAY <= t {
        return Err(JwtError::Expired {
            exp: claims.exp.max(0.0) as u64,
            now,
        });
    }
    if let Some(nbf) = claims.nbf {
        if nbf - LEEWAY > t {
            return Err(JwtError::NotYet {
                nbf: nbf as u64,
                now,
            });
        }
    }
    Ok(())
}

/// `header.claims` of a token to sign, base64url-encoded.
pub(crate) fn signing_input(header: &serde_json::Value, claims: &Claims) -> String {
    let e = |v: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}",
        e(header.to_string().into_bytes()),
        e(serde_json::to_vec(claims).unwrap_or_default())
    )
}

/// A signed token: the input, a dot and the signature.
pub(crate) fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!(
        "{signing_input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature)
    )
}

/// JWS's ECDSA signature (`r || s`, fixed width) in the DER form X.509
/// verifiers take.
pub(crate) fn ecdsa_der(fixed: &[u8]) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, mut x: &[u8]) {
        while x.len() > 1 && x[0] == 0 {
            x = &x[1..];
        }
        let pad = x.first().is_some_and(|b| b & 0x80 != 0);
        out.push(0x02);
        out.push((x.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(x);
    }
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let mut body = Vec::with_capacity(fixed.len() + 8);
    int(&mut body, r);
    int(&mut body, s);
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims(iss: &str, aud: Audience, exp: f64, nbf: Option<f64>) -> Claims {
        Claims {
            iss: iss.into(),
            sub: "alice".into(),
            aud,
            exp,
            nbf,
            iat: None,
            jti: None,
            access: vec![],
        }
    }

    #[test]
    fn tokens_are_decoded_and_claims_checked() {
        let c = claims("me", Audience::One("reg".into()), 1000.0, Some(10.0));
        let input = signing_input(&serde_json::json!({"alg": "ES256", "kid": "k"}), &c);
        let token = assemble(&input, b"sig");
        let jws = decode(&token).unwrap();
        assert_eq!(jws.header.alg, "ES256");
        assert_eq!(jws.header.kid.as_deref(), Some("k"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input, input);
        assert_eq!(check_claims(&jws.claims, "me", "reg", 500), Ok(()));
        assert!(matches!(
            check_claims(&jws.claims, "other", "reg", 500),
            Err(JwtError::Issuer { .. })
        ));
        assert!(matches!(
            check_claims(&jws.claims, "me", "x", 500),
            Err(JwtError::Audience { .. })
        ));
        assert!(matches!(
            check_claims(&jws.claims, "me", "reg", 1061),
            Err(JwtError::Expired { .. })
        ));
        let early = claims(
            "me",
            Audience::Many(vec!["x".into(), "reg".into()]),
            1e9,
            Some(900.0),
        );
        assert!(matches!(
            check_claims(&early, "me", "reg", 800),
            Err(JwtError::NotYet { .. })
        ));
        assert_eq!(check_claims(&early, "me", "reg", 850), Ok(()));
    }

    #[test]
    fn malformed_tokens_say_why() {
        assert_eq!(
            decode("abc").unwrap_err(),
            JwtError::Malformed("no signature part")
        );
        assert_eq!(
            decode("a.b").unwrap_err(),
            JwtError::Malformed("no claims part")
        );
        assert_eq!(
            decode("!.b.c").unwrap_err(),
            JwtError::Malformed("a part is not base64url")
        );
    }

    #[test]
    fn ecdsa_signatures_convert_to_der() {
        let mut fixed = vec![0u8; 64];
        fixed[0] = 0x80;
        fixed[63] = 1;
        let der = ecdsa_der(&fixed);
        assert_eq!(&der[..5], &[0x30, 38, 0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
    }

    proptest! {
        #[test]
        fn decoding_never_panics(s in ".{0,300}") {
            let _ = decode(&s);
        }

        #[test]
        fn decoding_three_base64_parts_never_panics(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,60}") {
            let _ = decode(&format!("{a}.{b}.{c}"));
        }
    }
}
