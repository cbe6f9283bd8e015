//! The `Authorization` header and token scopes, as clients send them.

use base64::Engine as _;

use super::Action;

/// Credentials a request carries.
#[derive(PartialEq, Eq)]
pub(crate) enum Credentials {
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
    /// A header this registry cannot read: treated as wrong credentials.
    Malformed,
}

/// Shows the user name only, never a password or token.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user:?}, <password>)"),
            Credentials::Bearer(_) => f.write_str("Bearer(<token>)"),
            Credentials::Malformed => f.write_str("Malformed"),
        }
    }
}

/// The longest `Authorization` value read; longer ones are malformed.
const MAX_HEADER: usize = 16 * 1024;

/// Reads an `Authorization` header's value.
pub(crate) fn credentials(value: Option<&[u8]>) -> Credentials {
    let Some(value) = value else {
        return Credentials::None;
    };
    if value.len() > MAX_HEADER {
        return Credentials::Malformed;
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return Credentials::Malformed;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return Credentials::Malformed;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return Credentials::Malformed;
        };
        if text == ":" {
            // What clients without credentials send to a Basic challenge.
            return Credentials::None;
        }
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Credentials::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            },
            _ => Credentials::Malformed,
        }
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Credentials::Bearer(rest.to_owned())
    } else {
        Credentials::Malformed
    }
}

/// One scope a token request asks for: `repository:NAME:pull,push`, or
/// `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) actions: Vec<String>,
}

impl Scope {
    /// Parses `TYPE[(CLASS)]:NAME:ACTIONS`; the name may hold colons (a
    /// registry host with a port), so the actions are after the last one.
    pub(crate) fn parse(s: &str) -> Option<Scope> {
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        // A resource class (`repository(plugin)`) is accepted and dropped.
        let kind = kind.split_once('(').map_or(kind, |(k, _)| k);
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The scope a challenge names for `action` on repository `name`:
    /// pushing asks for `pull,push`, as clients need both.
    pub(crate) fn challenge(name: &str, action: Action) -> String {
        match action {
            Action::Push => format!("repository:{name}:pull,push"),
            a => format!("repository:{name}:{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn authorization_values_are_read() {
        assert_eq!(credentials(None), Credentials::None);
        assert_eq!(credentials(Some(basic(":").as_bytes())), Credentials::None);
        assert_eq!(
            credentials(Some(basic("alice:pa:ss").as_bytes())),
            Credentials::Basic {
                user: "alice".into(),
                password: "pa:ss".into()
            }
        );
        assert_eq!(
            credentials(Some(b"bearer abc.def.ghi")),
            Credentials::Bearer("abc.def.ghi".into())
        );
        for bad in [
            &b"Basic !!!"[..],
            basic("nocolon").as_bytes(),
            basic(":pw").as_bytes(),
            basic("").as_bytes(),
            b"Bearer ",
            b"Digest x",
            b"\xff\xfe",
        ] {
            assert_eq!(credentials(Some(bad)), Credentials::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn scopes_are_split_at_their_last_colon() {
        let s = Scope::parse("repository:localhost:5000/a/b:pull,push").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(s.name, "localhost:5000/a/b");
        assert_eq!(s.actions, ["pull", "push"]);
        let s = Scope::parse("repository(plugin):a:pull").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().actions, ["*"]);
        assert_eq!(Scope::parse("repository:a").map(|s| s.name), None);
        assert_eq!(Scope::parse("::pull"), None);
    }

    proptest! {
        #[test]
        fn header_and_scope_parsers_never_panic(v in proptest::collection::vec(any::<u8>(), 0..200), s in ".{0,80}") {
            let _ = credentials(Some(&v));
            let _ = credentials(Some(s.as_bytes()));
            let _ = Scope::parse(&s);
        }

        #[test]
        fn basic_credentials_round_trip(user in "[a-z][a-z0-9]{0,10}", pw in "[ -~]{0,20}") {
            let v = basic(&format!("{user}:{pw}"));
            prop_assert_eq!(credentials(Some(v.as_bytes())), Credentials::Basic { user, password: pw });
        }
    }
}
