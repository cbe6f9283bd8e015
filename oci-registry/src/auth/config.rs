//! The `auth` section of the configuration file: Distribution's
//! `auth.htpasswd` and `auth.token` keys, and this registry's own
//! `auth.ocikit` keys for the built-in token service and the rules.

use std::path::PathBuf;
use std::time::Duration;

use serde_norway::Value;

use super::{Access, Action, Htpasswd, Mode, TokenAuth, TokenService};
use crate::settings::bad;
use crate::Error;

/// The `auth` section of the configuration, as read (files are opened
/// when the registry is built):
///
/// ```yaml
/// auth:
///   htpasswd:            # Basic auth (Distribution's keys)
///     realm: my-registry
///     path: /etc/registry/htpasswd      # bcrypt entries only
///   token:               # or token auth (Distribution's keys)
///     realm: https://registry.example/auth/token
///     service: registry.example
///     issuer: registry.example
///     rootcertbundle: /etc/registry/token-ca.pem  # an external issuer's roots
///   ocikit:              # this registry's own keys
///     signingkey: /etc/registry/token.key  # runs the built-in token service
///                                          # at /auth/token (PKCS#8 P-256 PEM)
///     users: /etc/registry/htpasswd        # who may log in to it
///     tokenlifetime: 300                   # seconds
///     anonymouspull: ["public/**"]         # pullable without credentials
///     rules:                               # default: any user may do anything
///       - users: ["alice", "ci-*"]
///         repositories: ["team/**"]
///         actions: [pull, push, delete]
///       - users: "*"
///         repositories: "**"
///         actions: [pull]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthConfig {
    /// `auth.htpasswd.realm`.
    pub htpasswd_realm: Option<String>,
    /// `auth.htpasswd.path`.
    pub htpasswd_path: Option<PathBuf>,
    /// `auth.token.realm`.
    pub token_realm: Option<String>,
    /// `auth.token.service`.
    pub token_service: Option<String>,
    /// `auth.token.issuer`.
    pub token_issuer: Option<String>,
    /// `auth.token.rootcertbundle`.
    pub token_rootcertbundle: Option<PathBuf>,
    /// `auth.ocikit.signingkey`: the built-in token service's key.
    pub signing_key: Option<PathBuf>,
    /// `auth.ocikit.users`: the built-in token service's htpasswd file.
    pub users: Option<PathBuf>,
    /// `auth.ocikit.tokenlifetime`, in seconds.
    pub token_lifetime: Option<u64>,
    /// `auth.ocikit.rules` and `auth.ocikit.anonymouspull`.
    pub access: Option<Access>,
}

impl AuthConfig {
    /// Whether the section asks for access control.
    pub fn is_enabled(&self) -> bool {
        self.htpasswd_path.is_some() || self.token_realm.is_some()
    }

    /// Reads the files and forms the mode and the rules.
    pub(crate) fn load(&self) -> Result<(Mode, Option<Access>), Error> {
        let missing = |key: &str, expected: &'static str| Error::ConfigValue {
            key: key.to_owned(),
            expected,
            found: String::new(),
        };
        let mode = match (&self.htpasswd_path, &self.token_realm) {
            (Some(_), Some(_)) => {
                return Err(Error::ConfigValue {
                    key: "auth".into(),
                    expected: "one of htpasswd and token",
                    found: "both".into(),
                })
            }
            (Some(path), None) => Mode::Basic {
                realm: self
                    .htpasswd_realm
                    .clone()
                    .ok_or_else(|| missing("auth.htpasswd.realm", "a realm"))?,
                users: Htpasswd::from_file(path)?,
            },
            (None, Some(realm)) => {
                let text =
                    |v: &Option<String>, key| v.clone().ok_or_else(|| missing(key, "a name"));
                let mut t = TokenAuth::new(
                    realm,
                    &text(&self.token_service, "auth.token.service")?,
                    &text(&self.token_issuer, "auth.token.issuer")?,
                );
                if let Some(bundle) = &self.token_rootcertbundle {
                    t.trust_certificate_file(bundle)?;
                }
                if let Some(key) = &self.signing_key {
                    let users = match &self.users {
                        Some(p) => Htpasswd::from_file(p)?,
                        None => Htpasswd::new(),
                    };
                    let mut s = TokenService::from_file(key, users)?;
                    if let Some(secs) = self.token_lifetime {
                        s.lifetime(Duration::from_secs(secs));
                    }
                    t.token_service(s);
                }
                if self.token_rootcertbundle.is_none() && self.signing_key.is_none() {
                    return Err(missing(
                        "auth.token.rootcertbundle",
                        "a certificate bundle, or auth.ocikit.signingkey",
                    ));
                }
                Mode::Token(t)
            }
            (None, None) => Mode::Open,
        };
        Ok((mode, self.access.clone()))
    }
}

/// Reads one `auth.*` key into `c`. Returns `Ok(false)` for keys outside
/// `auth`; an `auth` key this registry cannot honour is an error, never
/// a warning, so a registry is not served open by mistake.
pub(crate) fn read_key(c: &mut AuthConfig, key: &str, v: &Value) -> Result<bool, Error> {
    let Some(rest) = key.strip_prefix("auth.") else {
        return Ok(key == "auth" && matches!(v, Value::Mapping(m) if m.is_empty()));
    };
    let text = || match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(bad(key, "a string", other)),
    };
    match rest {
        "htpasswd.realm" => c.htpasswd_realm = Some(text()?),
        "htpasswd.path" => c.htpasswd_path = Some(text()?.into()),
        "token.realm" => c.token_realm = Some(text()?),
        "token.service" => c.token_service = Some(text()?),
        "token.issuer" => c.token_issuer = Some(text()?),
        "token.rootcertbundle" => c.token_rootcertbundle = Some(text()?.into()),
        "token.autoredirect" if matches!(v, Value::Bool(false)) => {}
        "ocikit.signingkey" => c.signing_key = Some(text()?.into()),
        "ocikit.users" => c.users = Some(text()?.into()),
        "ocikit.tokenlifetime" => {
            c.token_lifetime = Some(
                v.as_u64()
                    .ok_or_else(|| bad(key, "a number of seconds", v))?,
            )
        }
        "ocikit.anonymouspull" => {
            let access = c.access.get_or_insert_with(Access::new);
            for pattern in strings(key, v)? {
                access.anonymous_pull(&pattern);
            }
        }
        "ocikit.rules" => {
            let access = c.access.get_or_insert_with(Access::new);
            let Value::Sequence(rules) = v else {
                return Err(bad(key, "a list of rules", v));
            };
            for rule in rules {
                let field = |name: &str| {
                    rule.get(name)
                        .ok_or_else(|| bad(key, "rules with users, repositories and actions", rule))
                };
                let users = strings(key, field("users")?)?;
                let repos = strings(key, field("repositories")?)?;
                let actions = strings(key, field("actions")?)?
                    .iter()
                    .map(|a| match a.as_str() {
                        "*" => Ok(Action::ALL.to_vec()),
                        a => a.parse().map(|a| vec![a]),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad(key, "actions pull, push, delete or *", rule))?
                    .concat();
                for u in &users {
                    for r in &repos {
                        access.allow(u, r, &actions);
                    }
                }
            }
        }
        _ => return Err(bad(key, "a key this registry supports", v)),
    }
    Ok(true)
}

/// A string, or a list of strings.
fn strings(key: &str, v: &Value) -> Result<Vec<String>, Error> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Sequence(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(key, "strings", other)),
            })
            .collect(),
        other => Err(bad(key, "a string or a list of strings", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use std::path::Path;

    #[test]
    fn auth_keys_are_read() {
        let yaml = "auth:\n  token:\n    realm: http://r/auth/token\n    service: s\n    issuer: i\n  ocikit:\n    signingkey: /k.pem\n    users: /h\n    tokenlifetime: 60\n    anonymouspull: public/**\n    rules:\n      - users: [alice]\n        repositories: \"**\"\n        actions: [pull, push]\n";
        let c = Config::from_yaml(yaml, Path::new("c")).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let a = &c.auth;
        assert!(a.is_enabled());
        assert_eq!(a.token_realm.as_deref(), Some("http://r/auth/token"));
        assert_eq!(a.signing_key.as_deref(), Some(Path::new("/k.pem")));
        assert_eq!(a.token_lifetime, Some(60));
        let access = a.access.as_ref().unwrap();
        assert_eq!(access.anonymous_patterns(), ["public/**"]);
        assert!(access.permits(Some("alice"), "x/y", Action::Push));
        assert!(!access.permits(Some("alice"), "x/y", Action::Delete));
        assert!(!access.permits(Some("bob"), "x/y", Action::Pull));
    }

    #[test]
    fn unknown_auth_keys_are_errors() {
        let e = Config::from_yaml("auth:\n  silly:\n    realm: x\n", Path::new("c")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key auth.silly.realm: expected a key this registry supports, found \"x\""
        );
        let e = Config::from_yaml(
            "auth:\n  ocikit:\n    rules:\n      - users: a\n        repositories: b\n        actions: [write]\n",
            Path::new("c"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("actions pull, push, delete or *"),
            "{e}"
        );
    }

    #[test]
    fn both_kinds_of_auth_are_refused() {
        let c = AuthConfig {
            htpasswd_path: Some("/h".into()),
            token_realm: Some("r".into()),
            ..AuthConfig::default()
        };
        assert!(c.load().is_err());
    }
}
