//! Who may do what to which repositories: [`Access`], a list of rules
//! with glob patterns over user and repository names.

use std::fmt;
use std::str::FromStr;

use super::glob::Glob;

/// What a request does to a repository: the actions of Distribution's
/// token scopes (`repository:NAME:pull,push,delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Action {
    /// `GET` and `HEAD` of manifests, blobs, tags and referrers.
    Pull,
    /// Uploads and manifest `PUT`s.
    Push,
    /// `DELETE` of manifests, tags and blobs.
    Delete,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];

    /// The action's name in scopes: `pull`, `push` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action name other than `pull`, `push` and `delete`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected pull, push or delete, found {found:?}")]
pub struct UnknownAction {
    /// The name given.
    pub found: String,
}

impl FromStr for Action {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pull" => Ok(Action::Pull),
            "push" => Ok(Action::Push),
            "delete" => Ok(Action::Delete),
            other => Err(UnknownAction {
                found: other.to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    users: Glob,
    repositories: Glob,
    actions: Vec<Action>,
}

/// Access rules: which users may pull, push and delete in which
/// repositories, and which repositories anyone may pull without
/// credentials.
///
/// Patterns are globs: `*` matches any run of characters except `/`,
/// `**` any run including `/`, `?` one character except `/`. A request
/// is allowed when any rule allows it; with no rule, nothing is allowed.
///
/// What each request needs: `pull` for `GET` and `HEAD` of manifests,
/// blobs, tags and referrers; `push` for uploads (including their status
/// and cancel) and manifest `PUT`; `delete` for `DELETE` of manifests,
/// tags and blobs; a mount also needs `pull` on its source, or on some
/// repository holding the blob when no `from` is given (without it the
/// client gets an upload session, as if the blob were absent). `/v2/`
/// needs valid credentials (also with anonymous pull, so clients learn
/// the challenge). The catalog: with Basic auth, any authenticated user,
/// listing only the repositories they may pull; with tokens, a token
/// granting `registry:catalog:*` (the built-in service grants it to any
/// authenticated user), listing all, as Distribution does.
///
/// ```
/// use ocikit_registry::{Access, Action};
/// let mut access = Access::new();
/// access
///     .allow("*", "**", &[Action::Pull])
///     .allow("alice", "team/**", &Action::ALL)
///     .anonymous_pull("public/**");
/// assert!(access.permits(Some("bob"), "team/app", Action::Pull));
/// assert!(!access.permits(Some("bob"), "team/app", Action::Push));
/// assert!(access.permits(Some("alice"), "team/app", Action::Push));
/// assert!(access.permits(None, "public/base", Action::Pull));
/// assert!(!access.permits(None, "team/app", Action::Pull));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    rules: Vec<Rule>,
    anonymous: Vec<Glob>,
}

impl Access {
    /// No rules: nothing is allowed.
    pub fn new() -> Self {
        Access::default()
    }

    /// Every authenticated user may do everything, and clients without
    /// credentials nothing: what Distribution's htpasswd and token auth
    /// do, and the registry's rules when none are given.
    pub fn any_user() -> Self {
        let mut a = Access::new();
        a.allow("*", "**", &Action::ALL);
        a
    }

    /// Lets users whose names match `users` do `actions` in repositories
    /// whose names match `repositories`.
    pub fn allow(&mut self, users: &str, repositories: &str, actions: &[Action]) -> &mut Self {
        self.rules.push(Rule {
            users: Glob::new(users),
            repositories: Glob::new(repositories),
            actions: actions.to_vec(),
        });
        self
    }

    /// Lets clients without credentials pull from repositories whose
    /// names match `repositories`; default none.
    pub fn anonymous_pull(&mut self, repositories: &str) -> &mut Self {
        self.anonymous.push(Glob::new(repositories));
        self
    }

    /// Whether `user` (`None`: a client without credentials) may do
    /// `action` in `repository`.
    pub fn permits(&self, user: Option<&str>, repository: &str, action: Action) -> bool {
        match user {
            None => action == Action::Pull && self.anonymous.iter().any(|g| g.matches(repository)),
            Some(user) => self.rules.iter().any(|r| {
                r.actions.contains(&action)
                    && r.users.matches(user)
                    && r.repositories.matches(repository)
            }),
        }
    }

    /// The patterns, for the configuration's round trip in tests.
    #[cfg(test)]
    pub(crate) fn anonymous_patterns(&self) -> Vec<&str> {
        self.anonymous.iter().map(Glob::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_add_up_and_default_is_deny() {
        let mut a = Access::new();
        assert!(!a.permits(Some("alice"), "x", Action::Pull));
        a.allow("alice", "x", &[Action::Pull]);
        a.allow("a*", "x", &[Action::Push]);
        assert!(a.permits(Some("alice"), "x", Action::Pull));
        assert!(a.permits(Some("alice"), "x", Action::Push));
        assert!(!a.permits(Some("alice"), "x", Action::Delete));
        assert!(!a.permits(Some("bob"), "x", Action::Pull));
        assert!(!a.permits(None, "x", Action::Pull));
    }

    #[test]
    fn anonymous_clients_only_ever_pull() {
        let mut a = Access::any_user();
        a.anonymous_pull("**");
        assert!(a.permits(None, "a/b", Action::Pull));
        assert!(!a.permits(None, "a/b", Action::Push));
        assert!(!a.permits(None, "a/b", Action::Delete));
        assert!(a.permits(Some("anyone"), "a/b", Action::Delete));
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
        assert_eq!(
            "write".parse::<Action>().unwrap_err().to_string(),
            "expected pull, push or delete, found \"write\""
        );
    }
}
