//! Users and their bcrypt password hashes, from an Apache `htpasswd`
//! file (`htpasswd -B`), as Distribution's `auth.htpasswd` reads it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::Error;

/// How many verified credentials are remembered before the memory is
/// cleared.
const REMEMBERED: usize = 4096;

/// Users and their bcrypt password hashes.
///
/// # Security
/// Only bcrypt hashes (`$2a$`, `$2b$`, `$2y$`) are accepted: other
/// `htpasswd` formats (MD5, SHA-1, crypt, plain) are refused when the
/// file is read. A checked password is remembered as a SHA-256 of the
/// user, the password and the stored hash (which holds bcrypt's salt),
/// so repeated requests with the same credentials cost one bcrypt
/// computation, not one each; a wrong password is never remembered.
/// Passwords and hashes are never logged nor shown in errors.
#[derive(Clone, Default)]
pub struct Htpasswd {
    users: Arc<BTreeMap<String, String>>,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

/// Shows the user names only.
impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Htpasswd")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Htpasswd {
    fn eq(&self, other: &Self) -> bool {
        self.users == other.users
    }
}

impl Eq for Htpasswd {}

impl Htpasswd {
    /// No users.
    pub fn new() -> Self {
        Htpasswd::default()
    }

    /// Reads an `htpasswd` file: `user:hash` lines; empty lines and
    /// lines starting with `#` are skipped.
    ///
    /// # Errors
    /// [`Error::AuthFile`] when the file cannot be read or a line is not
    /// `user:bcrypt-hash`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::auth_file(
                "htpasswd file",
                path.display().to_string(),
                "a readable file",
                Some(Box::new(e)),
            )
        })?;
        Htpasswd::parse(&text, path)
    }

    /// Reads `htpasswd` text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::AuthFile`] naming the first line that is not
    /// `user:bcrypt-hash` (the line's text is not shown: it holds a hash).
    pub fn parse(text: &str, origin: &Path) -> Result<Self, Error> {
        let mut h = Htpasswd::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                Error::auth_file(
                    "htpasswd file",
                    format!("{} line {}", origin.display(), i + 1),
                    "user:bcrypt-hash",
                    None,
                )
            };
            let (user, hash) = line.split_once(':').ok_or_else(bad)?;
            if user.is_empty() || !is_bcrypt(hash) {
                return Err(bad());
            }
            Arc::make_mut(&mut h.users).insert(user.to_owned(), hash.to_owned());
        }
        Ok(h)
    }

    /// Adds or replaces `user`, hashing `password` with bcrypt at `cost`
    /// (4 to 31; 10 or more for real use, 4 makes tests fast).
    ///
    /// # Errors
    /// [`Error::AuthFile`] when `cost` is out of bcrypt's range.
    pub fn insert(&mut self, user: &str, password: &str, cost: u32) -> Result<&mut Self, Error> {
        let hash = bcrypt::hash(password, cost).map_err(|e| {
            Error::auth_file(
                "bcrypt cost",
                cost.to_string(),
                "4 to 31",
                Some(Box::new(e)),
            )
        })?;
        Arc::make_mut(&mut self.users).insert(user.to_owned(), hash);
        Ok(self)
    }

    /// Whether `user` is known.
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Whether `password` is `user`'s.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = remembered_key(user, password, hash);
        let mut seen = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&key) {
            return true;
        }
        drop(seen);
        if !bcrypt::verify(password, hash).unwrap_or(false) {
            return false;
        }
        seen = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(key);
        true
    }
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| hash.starts_with(p))
        && hash.len() == 60
}

fn remembered_key(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_lines_are_read_and_verified() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let text = format!("# users\n\nalice:{hash}\n");
        let h = Htpasswd::parse(&text, Path::new("htpasswd")).unwrap();
        assert!(h.contains("alice"));
        assert!(h.verify("alice", "s3cret"));
        assert!(h.verify("alice", "s3cret"), "remembered");
        assert!(!h.verify("alice", "wrong"));
        assert!(!h.verify("bob", "s3cret"));
    }

    #[test]
    fn other_hash_formats_are_refused_without_showing_them() {
        let e = Htpasswd::parse("x\nbob:{SHA}secrethash=\n", Path::new("/etc/h")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use htpasswd file /etc/h line 1: expected user:bcrypt-hash"
        );
        let e = Htpasswd::parse("bob:{SHA}secrethash=\n", Path::new("/etc/h")).unwrap_err();
        assert!(!e.to_string().contains("secrethash"));
    }

    #[test]
    fn inserted_users_verify() {
        let mut h = Htpasswd::new();
        h.insert("bob", "pw", 4).unwrap();
        assert!(h.verify("bob", "pw"));
        assert!(h.insert("bob", "pw", 99).is_err());
    }
}
