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

/// A token endpoint's answer.
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

/// Tokens are renewed this long before they expire.
const EXPIRY_SLACK: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) header: String,
    pub(crate) expires: Instant,
}

impl Token {
    pub(crate) fn from_response(r: TokenResponse) -> Option<Token> {
        let value = r.token.or(r.access_token).filter(|t| !t.is_empty())?;
        let lifetime = Duration::from_secs(r.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME).max(1));
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
