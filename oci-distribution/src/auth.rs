//! Credentials, bearer tokens and their cache: the data of registry
//! authentication (`login.rs` is how the client answers a challenge).

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A user name and password (or personal access token), used for Basic
    /// auth and to obtain bearer tokens.
    Basic {
        /// The user name.
        username: String,
        /// The password or access token.
        password: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged for
    /// access tokens with `grant_type=refresh_token`.
    IdentityToken(String),
    /// A ready bearer token sent as it is.
    BearerToken(String),
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }
}

/// Never prints secrets.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Credentials::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// A token endpoint's answer (distribution's token auth, and OAuth2's
/// `access_token` form).
///
/// `issued_at` is not read: the lifetime is counted from when the answer
/// arrived, which holds whatever the skew between this machine's clock
/// and the token server's.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

/// The default lifetime of a token that states none (distribution-spec
/// token auth: 60 seconds).
const DEFAULT_TOKEN_LIFETIME: u64 = 60;

/// The longest a token is cached, whatever lifetime it states: a day
/// (and no `Instant` arithmetic that can overflow on a huge `expires_in`).
const MAX_TOKEN_LIFETIME: u64 = 24 * 60 * 60;

/// Tokens are renewed this long before they expire.
const EXPIRY_SLACK: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) header: String,
    pub(crate) expires: Instant,
}

impl Token {
    /// The token in a token endpoint's answer `body`, or why there is none
    /// (the reason never quotes the body: it may hold a secret).
    pub(crate) fn from_body(body: &[u8]) -> Result<Token, &'static str> {
        let parsed: TokenResponse =
            serde_json::from_slice(body).map_err(|_| "token response is not the expected JSON")?;
        Token::from_response(parsed).ok_or("token response carries no token")
    }

    pub(crate) fn from_response(r: TokenResponse) -> Option<Token> {
        let value = r.token.or(r.access_token).filter(|t| !t.is_empty())?;
        // A bearer token (RFC 6750's b64token, or an opaque string) is
        // visible ASCII without spaces; anything else cannot be sent as a
        // header value and would fail every request it went with.
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let lifetime = r
            .expires_in
            .unwrap_or(DEFAULT_TOKEN_LIFETIME)
            .clamp(1, MAX_TOKEN_LIFETIME);
        let lifetime = Duration::from_secs(lifetime);
        Some(Token {
            header: format!("Bearer {value}"),
            expires: Instant::now()
                + lifetime
                    .saturating_sub(EXPIRY_SLACK)
                    .max(Duration::from_secs(1)),
        })
    }
}

/// What the client knows about authenticating to each registry.
#[derive(Default)]
pub(crate) struct AuthCache {
    /// Bearer tokens per (registry, scope).
    pub(crate) tokens: HashMap<(String, String), Token>,
    /// Registries that asked for Basic auth.
    pub(crate) basic: HashMap<String, bool>,
    /// The bearer challenge each registry sent, so that tokens for new
    /// scopes (or expired ones) are fetched before a request instead of
    /// after a 401 that may have cost a whole blob upload.
    pub(crate) bearer: HashMap<String, ocikit_types::Challenge>,
}

impl AuthCache {
    pub(crate) fn header(&self, registry: &str, scope: &str) -> Option<String> {
        if let Some(t) = self.tokens.get(&(registry.to_owned(), scope.to_owned())) {
            if t.expires > Instant::now() {
                return Some(t.header.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_14_token_responses() {
        let t = Token::from_body(
            br#"{"token":"abc","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(t.header, "Bearer abc");
        let left = t.expires - Instant::now();
        assert!(
            left > Duration::from_secs(280) && left <= Duration::from_secs(290),
            "{left:?}"
        );
        // OAuth2's form; `token` wins when both are there.
        let t = Token::from_body(br#"{"access_token":"x"}"#).unwrap();
        assert_eq!(t.header, "Bearer x");
        let t = Token::from_body(br#"{"token":"a","access_token":"b"}"#).unwrap();
        assert_eq!(t.header, "Bearer a");
        // A lifetime too long for the clock is capped at a day, not a panic.
        let t = Token::from_body(br#"{"token":"a","expires_in":18446744073709551615}"#).unwrap();
        assert!(t.expires - Instant::now() <= Duration::from_secs(MAX_TOKEN_LIFETIME));
        let t = Token::from_body(br#"{"token":"a","expires_in":0}"#).unwrap();
        assert!(t.expires > Instant::now());
        for bad in [
            &br#"{"token":""}"#[..],
            br#"{}"#,
            br#"{"token":"a\nb"}"#,
            br#"{"token":"a b"}"#,
            // Found by the fuzzer: a token with a non-ASCII character.
            "{\"token\":\"eyJhbGci\u{65c}2ln\"}".as_bytes(),
            br#"{"token":"secret","expires_in":-1}"#,
            b"[",
        ] {
            let why = Token::from_body(bad).err().expect("refused");
            assert!(!why.contains("secret"), "{why}");
        }
    }
}
