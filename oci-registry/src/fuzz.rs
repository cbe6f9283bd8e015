//! Entry points for the fuzz targets in the workspace's `fuzz/` folder:
//! built only with the internal feature `__fuzz`, not part of the API.
//! Each takes untrusted bytes a client sends and must neither panic nor
//! hang on any of them.

use std::sync::OnceLock;

use crate::auth::fuzz_parts::{credentials, decode, Credentials, Scope};
use crate::{Htpasswd, TokenAuth, TokenService};

fn auth() -> &'static TokenAuth {
    static AUTH: OnceLock<TokenAuth> = OnceLock::new();
    AUTH.get_or_init(|| {
        let mut a = TokenAuth::new("http://127.0.0.1/auth/token", "svc", "iss");
        let service = TokenService::generate(Htpasswd::new()).expect("a generated key");
        a.token_service(service);
        a
    })
}

/// An `Authorization` header's value: Basic credentials are split, a
/// bearer token is decoded and checked (and, as nobody can sign with the
/// fuzzer's fresh key, always refused); each space-separated word is also
/// read as a token scope.
pub fn authorization(data: &[u8]) {
    match credentials(Some(data)) {
        Credentials::Basic { user, .. } => assert!(!user.is_empty()),
        Credentials::Bearer(token) => {
            let _ = decode(&token);
            assert!(
                auth().verify(&token, 0).is_err(),
                "a forged token was accepted"
            );
        }
        Credentials::None | Credentials::Malformed => {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for word in text.split(' ') {
            if let Some(s) = Scope::parse(word) {
                assert!(!s.name.is_empty() && !s.kind.is_empty());
            }
        }
    }
}
