//! The one check every request passes: its credentials against what the
//! route needs, answered 401 with a challenge or 403 `DENIED`.

use std::sync::Arc;

use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use ocikit_types::{Digest, ErrorCode};

use super::header::{credentials, Credentials, Scope};
use super::jwt::ResourceAccess;
use super::token_auth::now;
use super::{Action, Authorizer, Mode};
use crate::api_error::ApiError;
use crate::RepositoryName;

/// What a request needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need<'a> {
    /// `/v2/`: any valid credentials.
    Ping,
    /// The catalog: an authenticated user (Basic), or a token granting
    /// `registry:catalog:*`.
    Catalog,
    /// An action on a repository.
    Repository(&'a str, Action),
    /// A cross-repository mount into the first repository from the
    /// second: push on the first. Pull on the second is checked by
    /// [`may_mount`] (when missing, the client gets an upload session);
    /// a token challenge asks for both, as Distribution's does.
    Mount(&'a str, &'a str),
}

/// Who a request comes from, once checked.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    authorizer: Arc<Authorizer>,
    who: Who,
}

#[derive(Debug, Clone)]
enum Who {
    Anyone,
    User(Option<String>),
    Token(Vec<ResourceAccess>),
}

impl Grant {
    /// Whether this client may do `action` in `repository`.
    pub(crate) fn may(&self, repository: &str, action: Action) -> bool {
        match &self.who {
            Who::Anyone => true,
            Who::User(user) => self
                .authorizer
                .access
                .permits(user.as_deref(), repository, action),
            Who::Token(access) => token_allows(access, repository, action),
        }
    }

    /// Whether the catalog shows `repository` to this client: with Basic
    /// auth, the repositories the user may pull; with a token granting
    /// the catalog, all of them (as Distribution).
    pub(crate) fn lists(&self, repository: &str) -> bool {
        match &self.who {
            Who::Token(_) => true,
            _ => self.may(repository, Action::Pull),
        }
    }
}

fn token_allows(access: &[ResourceAccess], repository: &str, action: Action) -> bool {
    access.iter().any(|a| {
        a.kind == "repository"
            && a.name == repository
            && a.actions.iter().any(|x| x == action.as_str() || x == "*")
    })
}

impl Authorizer {
    /// Checks the request's credentials for `need`; the error is the
    /// reply to send.
    pub(crate) async fn check(
        self: &Arc<Self>,
        headers: &HeaderMap,
        need: Need<'_>,
    ) -> Result<Grant, ApiError> {
        let creds = credentials(headers.get(AUTHORIZATION).map(|v| v.as_bytes()));
        let grant = |who| Grant {
            authorizer: self.clone(),
            who,
        };
        match &self.mode {
            Mode::Open => Ok(grant(Who::Anyone)),
            Mode::Basic { realm, users } => {
                let challenge = format!("Basic realm=\"{}\"", quoted(realm));
                let user = match creds {
                    Credentials::None => None,
                    Credentials::Basic { user, password } => {
                        let users = users.clone();
                        let (user, ok) = tokio::task::spawn_blocking(move || {
                            let ok = users.verify(&user, &password);
                            (user, ok)
                        })
                        .await
                        .unwrap_or_default();
                        if !ok {
                            tracing::debug!("Basic credentials refused");
                            return Err(unauthorized(challenge, "invalid credentials"));
                        }
                        Some(user)
                    }
                    _ => return Err(unauthorized(challenge, "Basic credentials required")),
                };
                let allowed = match need {
                    Need::Ping | Need::Catalog => user.is_some(),
                    Need::Repository(name, action) => {
                        self.access.permits(user.as_deref(), name, action)
                    }
                    Need::Mount(name, _) => {
                        self.access.permits(user.as_deref(), name, Action::Push)
                    }
                };
                match (allowed, &user) {
                    (true, _) => Ok(grant(Who::User(user))),
                    (false, None) => Err(unauthorized(challenge, "authentication required")),
                    (false, Some(_)) => Err(denied()),
                }
            }
            Mode::Token(token) => {
                let base = format!(
                    "Bearer realm=\"{}\",service=\"{}\"",
                    quoted(&token.realm),
                    quoted(&token.service)
                );
                let scope = match need {
                    Need::Ping => None,
                    Need::Catalog => Some("registry:catalog:*".to_owned()),
                    Need::Repository(name, action) => Some(Scope::challenge(name, action)),
                    Need::Mount(name, from) => Some(format!(
                        "{} {}",
                        Scope::challenge(name, Action::Push),
                        Scope::challenge(from, Action::Pull)
                    )),
                };
                // The repository written to, and the action.
                let target = match need {
                    Need::Repository(name, action) => Some((name, action)),
                    Need::Mount(name, _) => Some((name, Action::Push)),
                    _ => None,
                };
                let challenge = |error: Option<&str>| {
                    let mut c = base.clone();
                    if let Some(s) = scope.as_deref().filter(|s| is_plain(s, ' ')) {
                        c.push_str(&format!(",scope=\"{s}\""));
                    }
                    if let Some(e) = error {
                        c.push_str(&format!(",error=\"{e}\""));
                    }
                    c
                };
                let claims = match creds {
                    Credentials::Bearer(t) => match token.verify(&t, now()) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::debug!(reason = %e, "token refused");
                            return Err(unauthorized(
                                challenge(Some("invalid_token")),
                                "invalid token",
                            ));
                        }
                    },
                    Credentials::None => {
                        if let Some((name, action)) = target {
                            if self.access.permits(None, name, action) {
                                return Ok(grant(Who::User(None)));
                            }
                        }
                        return Err(unauthorized(challenge(None), "authentication required"));
                    }
                    _ => return Err(unauthorized(challenge(None), "a bearer token is required")),
                };
                let allowed = match need {
                    Need::Ping => true,
                    Need::Catalog => claims
                        .access
                        .iter()
                        .any(|a| a.kind == "registry" && a.name == "catalog"),
                    _ => target.is_some_and(|(n, a)| token_allows(&claims.access, n, a)),
                };
                let user = (!claims.sub.is_empty()).then_some(claims.sub.as_str());
                // A mount whose source the token cannot pull: when the
                // built-in service would grant that, ask the client to
                // fetch a token with both scopes; otherwise the mount is
                // answered with an upload session.
                let renew = match need {
                    Need::Mount(_, from) => {
                        token.issuer_service.is_some()
                            && !token_allows(&claims.access, from, Action::Pull)
                            && self.access.permits(user, from, Action::Pull)
                    }
                    _ => false,
                };
                if allowed && !renew {
                    return Ok(grant(Who::Token(claims.access)));
                }
                // The built-in service applies the rules: when they deny
                // the action, a new token would not grant it either. An
                // anonymous token is answered 401: logging in may help.
                if let (false, Some(_), Some(_), Some((name, action))) =
                    (allowed, &token.issuer_service, user, target)
                {
                    if !self.access.permits(user, name, action) {
                        return Err(denied());
                    }
                }
                Err(unauthorized(
                    challenge(Some("insufficient_scope")),
                    "the token does not grant this access",
                ))
            }
        }
    }
}

/// Whether the client behind `grant` may mount `digest` into a
/// repository: it must be able to pull `from`, or, for an automatic
/// mount, some repository holding the blob. Otherwise the registry
/// opens an upload session instead, as if the blob were not there.
pub(crate) async fn may_mount(
    storage: &Arc<dyn crate::Storage>,
    grant: &Grant,
    from: Option<&RepositoryName>,
    digest: &Digest,
) -> Result<bool, ApiError> {
    if let Some(from) = from {
        return Ok(grant.may(from.as_str(), Action::Pull));
    }
    if matches!(grant.who, Who::Anyone) {
        return Ok(true);
    }
    let (g, d, s) = (grant.clone(), digest.clone(), storage.clone());
    let found = tokio::task::spawn_blocking(move || -> Result<bool, crate::Error> {
        for repo in s.repositories()? {
            if !g.may(&repo, Action::Pull) {
                continue;
            }
            if let Some(name) = RepositoryName::parse(&repo) {
                if s.blob_size(&name, &d)?.is_some() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    })
    .await
    .map_err(|_| crate::Error::TaskFailed)?;
    Ok(found?)
}

/// Text safe inside a quoted challenge parameter.
fn quoted(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\\').collect()
}

/// Scopes whose names are printable and hold no quote.
fn is_plain(s: &str, separator: char) -> bool {
    s.chars()
        .all(|c| c == separator || (c.is_ascii_graphic() && c != '"' && c != '\\'))
}

fn unauthorized(challenge: String, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
        .header(WWW_AUTHENTICATE, challenge)
        .header(
            axum::http::HeaderName::from_static("docker-distribution-api-version"),
            "registry/2.0".to_owned(),
        )
}

fn denied() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::Denied,
        "requested access to the resource is denied",
    )
}
