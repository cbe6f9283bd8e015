//! The built-in token service: Distribution's token protocol
//! (`GET {realm}?service=S&scope=repository:NAME:pull,push`, with
//! optional Basic credentials), answering ES256 JWTs that grant what the
//! [`crate::Access`] rules allow the user.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

use super::header::{credentials, Credentials, Scope};
use super::jwt::{assemble, signing_input, Audience, Claims, ResourceAccess};
use super::token_auth::now;
use super::{Action, Htpasswd, Mode};
use crate::api_error::ApiError;
use crate::Error;

/// Where the built-in token service answers, on the registry's own
/// address.
pub const TOKEN_PATH: &str = "/auth/token";

/// The built-in token service: its ES256 signing key, its users, and the
/// lifetime of its tokens.
///
/// Clients without credentials get a token granting what anonymous
/// clients may do (see [`crate::Access::anonymous_pull`]); wrong
/// credentials are answered 401. Only `GET` is served (the OAuth2 `POST`
/// form and refresh tokens are not).
#[derive(Debug, Clone)]
pub struct TokenService {
    key: Arc<EcdsaKeyPair>,
    kid: String,
    pub(crate) users: Htpasswd,
    lifetime: Duration,
}

impl TokenService {
    /// Signs with a P-256 private key in PKCS#8 PEM (`openssl genpkey
    /// -algorithm EC -pkeyopt ec_paramgen_curve:P-256`), for `users`.
    ///
    /// # Errors
    /// [`Error::AuthFile`] when the PEM holds no PKCS#8 P-256 key.
    pub fn from_pem(pem: &[u8], users: Htpasswd) -> Result<Self, Error> {
        TokenService::read(pem, "(given PEM)", users)
    }

    /// As [`TokenService::from_pem`], from a file.
    ///
    /// # Errors
    /// [`Error::AuthFile`] when it cannot be read or holds no such key.
    pub fn from_file(path: impl AsRef<Path>, users: Htpasswd) -> Result<Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| {
            Error::auth_file(
                "token signing key",
                origin.clone(),
                "a readable file",
                Some(Box::new(e)),
            )
        })?;
        TokenService::read(&pem, &origin, users)
    }

    /// Signs with a new random key, which lives as long as the registry
    /// (tokens do not survive a restart).
    ///
    /// # Errors
    /// [`Error::AuthFile`] when the system's random source fails.
    pub fn generate(users: Htpasswd) -> Result<Self, Error> {
        let bad = || Error::auth_file("token signing key", "(generated)".into(), "a key", None);
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| bad())?;
        TokenService::from_der(doc.as_ref(), users).ok_or_else(bad)
    }

    fn read(pem: &[u8], origin: &str, users: Htpasswd) -> Result<Self, Error> {
        let bad = |source: Option<Box<dyn std::error::Error + Send + Sync>>| {
            Error::auth_file(
                "token signing key",
                origin.to_owned(),
                "a PKCS#8 P-256 private key in PEM",
                source,
            )
        };
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|e| bad(Some(Box::new(e))))?;
        TokenService::from_der(der.secret_pkcs8_der(), users).ok_or_else(|| bad(None))
    }

    fn from_der(der: &[u8], users: Htpasswd) -> Option<Self> {
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .ok()?;
        let mut keys = super::keys::TrustedKeys::default();
        let kid = keys.add_p256(key.public_key().as_ref());
        debug_assert_eq!(kid.len(), 59);
        Some(TokenService {
            key: Arc::new(key),
            kid,
            users,
            lifetime: Duration::from_secs(300),
        })
    }

    /// How long tokens are valid; default 5 minutes.
    pub fn lifetime(&mut self, lifetime: Duration) -> &mut Self {
        self.lifetime = lifetime;
        self
    }

    pub(crate) fn public_point(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// A signed token for `sub` granting `access`.
    fn sign(
        &self,
        issuer: &str,
        service: &str,
        sub: &str,
        access: Vec<ResourceAccess>,
    ) -> Option<String> {
        let now = now() as f64;
        let claims = Claims {
            iss: issuer.to_owned(),
            sub: sub.to_owned(),
            aud: Audience::One(service.to_owned()),
            exp: now + self.lifetime.as_secs() as f64,
            nbf: Some(now - 1.0),
            iat: Some(now),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            access,
        };
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let input = signing_input(&header, &claims);
        let sig = self.key.sign(&SystemRandom::new(), input.as_bytes()).ok()?;
        Some(assemble(&input, sig.as_ref()))
    }
}

/// `GET /auth/token`.
pub(crate) async fn handle(
    auth: Arc<super::Authorizer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Mode::Token(token) = &auth.mode else {
        return not_here();
    };
    let Some(service) = &token.issuer_service else {
        return not_here();
    };
    if method != Method::GET {
        return ApiError::unsupported(format!("{method} on the token service")).into_response();
    }
    let user = match credentials(headers.get(AUTHORIZATION).map(|v| v.as_bytes())) {
        Credentials::None => None,
        Credentials::Basic { user, password } => {
            let users = service.users.clone();
            let (u, ok) = tokio::task::spawn_blocking(move || {
                let ok = users.verify(&user, &password);
                (user, ok)
            })
            .await
            .unwrap_or_default();
            if !ok {
                return refused();
            }
            Some(u)
        }
        _ => return refused(),
    };
    let query = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let mut access = Vec::new();
    for (_, scopes) in query.iter().filter(|(k, _)| k == "scope") {
        for scope in scopes.split(' ').filter_map(Scope::parse) {
            if let Some(granted) = grant(&auth.access, user.as_deref(), scope) {
                access.push(granted);
            }
        }
    }
    tracing::debug!(
        user = user.as_deref().unwrap_or(""),
        granted = access.len(),
        "token issued"
    );
    let Some(jwt) = service.sign(
        &token.issuer,
        &token.service,
        user.as_deref().unwrap_or(""),
        access,
    ) else {
        return ApiError::from(Error::TaskFailed).into_response();
    };
    let body = serde_json::json!({
        "token": jwt,
        "access_token": jwt,
        "expires_in": service.lifetime.as_secs(),
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// What of `scope` the rules let `user` have.
fn grant(access: &crate::Access, user: Option<&str>, scope: Scope) -> Option<ResourceAccess> {
    let actions: Vec<String> = match scope.kind.as_str() {
        "repository" => {
            let mut v: Vec<Action> = scope
                .actions
                .iter()
                .flat_map(|a| match a.as_str() {
                    "*" => Action::ALL.to_vec(),
                    a => a.parse().into_iter().collect(),
                })
                .filter(|a| access.permits(user, &scope.name, *a))
                .collect();
            v.sort();
            v.dedup();
            v.iter().map(|a| a.as_str().to_owned()).collect()
        }
        "registry" if scope.name == "catalog" && user.is_some() => vec!["*".to_owned()],
        _ => Vec::new(),
    };
    (!actions.is_empty()).then_some(ResourceAccess {
        kind: scope.kind,
        name: scope.name,
        actions,
    })
}

fn not_here() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ocikit_types::ErrorCode::Unsupported,
        "this registry has no built-in token service",
    )
    .into_response()
}

fn refused() -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ocikit_types::ErrorCode::Unauthorized,
        "invalid credentials",
    )
    .into_response();
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"ocikit-registry token service\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_cut_to_the_rules() {
        let mut a = crate::Access::new();
        a.allow("alice", "team/*", &[Action::Pull])
            .anonymous_pull("pub/**");
        let s = |t: &str| Scope::parse(t).unwrap();
        let g = grant(&a, Some("alice"), s("repository:team/app:pull,push")).unwrap();
        assert_eq!(g.actions, ["pull"]);
        assert!(grant(&a, Some("alice"), s("repository:other:pull")).is_none());
        assert_eq!(
            grant(&a, None, s("repository:pub/x:*")).unwrap().actions,
            ["pull"]
        );
        assert!(grant(&a, None, s("registry:catalog:*")).is_none());
        assert!(grant(&a, Some("alice"), s("registry:catalog:*")).is_some());
    }

    #[test]
    fn issued_tokens_verify() {
        let svc = TokenService::generate(Htpasswd::new()).unwrap();
        let mut auth = super::super::TokenAuth::new("r", "svc", "iss");
        auth.token_service(svc.clone());
        let t = svc.sign("iss", "svc", "alice", vec![]).unwrap();
        let c = auth.verify(&t, now()).unwrap();
        assert_eq!(c.sub, "alice");
        let other = TokenService::generate(Htpasswd::new()).unwrap();
        let forged = other.sign("iss", "svc", "alice", vec![]).unwrap();
        assert!(auth.verify(&forged, now()).is_err());
        let mut tampered = t.clone();
        tampered.insert(t.find('.').unwrap() + 2, 'x');
        assert!(auth.verify(&tampered, now()).is_err());
    }
}
