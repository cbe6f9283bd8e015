//! Access control: who may pull, push and delete, checked in one place
//! (`routes::dispatch` asks [`Authorizer::check`] before any handler
//! runs).
//!
//! - `htpasswd`: Basic auth against bcrypt hashes ([`Htpasswd`]).
//! - `token`: Distribution's token auth: clients get a JWT from a token
//!   service and send it as `Bearer`; the registry checks its signature
//!   (an `x5c` chain to the trusted roots, or a `kid`), issuer, audience,
//!   validity and the `access` it grants ([`TokenAuth`]). The service is
//!   external, or built in ([`TokenService`], at [`TOKEN_PATH`]).
//! - [`Access`] rules cap what each user may do, and which repositories
//!   anyone may pull without credentials.

use std::sync::Arc;

use crate::Error;

mod check;
mod config;
mod glob;
mod header;
mod htpasswd;
mod jwt;
mod keys;
mod rules;
mod token_auth;
mod token_service;

pub(crate) use check::{may_mount, Grant, Need};
#[cfg(feature = "__fuzz")]
pub(crate) mod fuzz_parts {
    pub(crate) use super::header::{credentials, Credentials, Scope};
    pub(crate) use super::jwt::decode;
}
pub(crate) use config::read_key;
pub use config::AuthConfig;
pub use htpasswd::Htpasswd;
pub use rules::{Access, Action, UnknownAction};
pub use token_auth::TokenAuth;
pub(crate) use token_service::handle as token_endpoint;
pub use token_service::{TokenService, TOKEN_PATH};

/// How requests are authenticated.
#[derive(Debug, Clone, Default)]
pub(crate) enum Mode {
    /// Everyone may do everything.
    #[default]
    Open,
    /// Basic auth with these users, challenged with this realm.
    Basic { realm: String, users: Htpasswd },
    /// Bearer tokens.
    Token(TokenAuth),
}

/// What a builder was told about access control, turned into an
/// [`Authorizer`] when the registry is built (files are read then).
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    pub(crate) mode: Mode,
    pub(crate) access: Option<Access>,
    pub(crate) config: Option<AuthConfig>,
}

impl Setup {
    pub(crate) fn load(&self) -> Result<Arc<Authorizer>, Error> {
        let (mode, access) = match &self.config {
            Some(c) => c.load()?,
            None => (self.mode.clone(), None),
        };
        let access = self
            .access
            .clone()
            .or(access)
            .unwrap_or_else(Access::any_user);
        Ok(Arc::new(Authorizer { mode, access }))
    }
}

/// The registry's access control, shared by every request.
#[derive(Debug, Default)]
pub(crate) struct Authorizer {
    pub(crate) mode: Mode,
    pub(crate) access: Access,
}
