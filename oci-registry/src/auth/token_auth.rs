//! [`TokenAuth`]: how the registry checks bearer tokens.

use std::path::Path;

use super::jwt::{check_claims, decode, Claims, JwtError};
use super::keys::TrustedKeys;
use super::TokenService;
use crate::Error;

/// Distribution's token auth: clients that are challenged with `realm`
/// and `service` get a token there and send it as `Bearer`.
///
/// A token is accepted when it is signed with ES256, ES384, RS256,
/// RS384 or RS512 by a trusted key: its `x5c` header holds a chain
/// leading to a trusted certificate, or its `kid` is the libtrust key id
/// of one (or of the built-in service's key); its `iss` is `issuer`; its
/// `aud` includes `service`; and `exp`/`nbf` hold the current time, with
/// a minute's leeway. Its `access` claim says what it grants.
///
/// ```
/// use ocikit_registry::{Htpasswd, Registry, TokenAuth, TokenService};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut users = Htpasswd::new();
/// users.insert("alice", "secret", 4)?;
/// let mut auth = TokenAuth::new("http://127.0.0.1:5000/auth/token", "registry", "registry");
/// auth.token_service(TokenService::generate(users)?);
/// let reg = Registry::builder().token_auth(auth).spawn("127.0.0.1:0").await?;
/// # drop(reg); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub(crate) realm: String,
    pub(crate) service: String,
    pub(crate) issuer: String,
    keys: TrustedKeys,
    pub(crate) issuer_service: Option<TokenService>,
}

impl TokenAuth {
    /// Tokens from `realm` (the token service's URL, as clients reach
    /// it), for audience `service`, issued by `issuer`; no key is
    /// trusted yet.
    pub fn new(realm: &str, service: &str, issuer: &str) -> Self {
        TokenAuth {
            realm: realm.to_owned(),
            service: service.to_owned(),
            issuer: issuer.to_owned(),
            keys: TrustedKeys::default(),
            issuer_service: None,
        }
    }

    /// Trusts the certificates of a PEM bundle (Distribution's
    /// `rootcertbundle`) as token signers or their roots.
    ///
    /// # Errors
    /// [`Error::AuthFile`] when it holds no certificate or a bad one.
    pub fn trust_certificates(&mut self, pem: &[u8]) -> Result<&mut Self, Error> {
        self.keys.add_pem(pem, "(given PEM)")?;
        Ok(self)
    }

    /// As [`TokenAuth::trust_certificates`], from a file.
    ///
    /// # Errors
    /// [`Error::AuthFile`] when it cannot be read or holds no certificate.
    pub fn trust_certificate_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| {
            Error::auth_file(
                "root certificate bundle",
                origin.clone(),
                "a readable file",
                Some(Box::new(e)),
            )
        })?;
        self.keys.add_pem(&pem, &origin)?;
        Ok(self)
    }

    /// Serves the built-in token service at [`super::TOKEN_PATH`] and
    /// trusts its key; `realm` should be that path's URL.
    pub fn token_service(&mut self, service: TokenService) -> &mut Self {
        self.keys.add_p256(service.public_point());
        self.issuer_service = Some(service);
        self
    }

    /// The claims of `token` when it is valid now.
    pub(crate) fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        let jws = decode(token)?;
        self.keys.verify(&jws, now)?;
        check_claims(&jws.claims, &self.issuer, &self.service, now)?;
        Ok(jws.claims)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
