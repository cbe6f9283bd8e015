//! Credentials from docker's `config.json` and containers' `auth.json`,
//! including `docker-credential-*` helpers.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::{Credentials, Error};

/// A docker `config.json` or containers `auth.json`: the parts that hold
/// credentials (other keys are ignored).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    pub(crate) creds_store: Option<String>,
    #[serde(default)]
    pub(crate) cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Where to look for stored credentials, in order: containers' `auth.json`
/// files, then docker's `config.json`.
///
/// Per file, a registry's `credHelpers` entry wins over its `auths` entry,
/// which wins over the file's `credsStore`. Docker Hub is also looked up
/// under the keys docker uses (`https://index.docker.io/v1/`).
///
/// ```
/// use ocikit_distribution::CredentialFiles;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("config.json");
/// // "me:secret" in base64
/// std::fs::write(&path, r#"{"auths":{"ghcr.io":{"auth":"bWU6c2VjcmV0"}}}"#)?;
/// let files = CredentialFiles::new(vec![path]);
/// assert!(files.lookup("ghcr.io")?.is_some());
/// assert!(files.lookup("quay.io")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
/// - A helper runs with the caller's privileges; only plain names are
///   accepted (`docker-credential-NAME`, no `/`), looked up on `PATH` or
///   in [`CredentialFiles::helper_dir`].
/// - A helper gets at most [`CredentialFiles::helper_timeout`] to answer;
///   then it is killed.
/// - Errors name the file, helper and registry, never a secret: a helper's
///   output is not quoted in them.
#[derive(Debug, Clone)]
pub struct CredentialFiles {
    files: Vec<PathBuf>,
    helper_dir: Option<PathBuf>,
    helper_timeout: Duration,
}

impl Default for CredentialFiles {
    fn default() -> Self {
        CredentialFiles::new(Vec::new())
    }
}

/// Takes the settings out of a chain of setters, so that they can be
/// written inline:
/// `builder.credential_files(CredentialFiles::standard().helper_timeout(t))`.
/// The borrowed value is left with no files.
impl From<&mut CredentialFiles> for CredentialFiles {
    fn from(files: &mut CredentialFiles) -> Self {
        std::mem::take(files)
    }
}

impl CredentialFiles {
    /// These files, in this order.
    pub fn new(files: Vec<PathBuf>) -> Self {
        CredentialFiles {
            files,
            helper_dir: None,
            helper_timeout: Duration::from_secs(30),
        }
    }

    /// How long a credential helper may take to answer before it is killed
    /// and the lookup fails with [`Error::CredentialHelperTimeout`].
    /// Default: 30 s.
    pub fn helper_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.helper_timeout = timeout;
        self
    }

    /// The standard locations: `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// `~/.config/containers/auth.json`, then `$DOCKER_CONFIG/config.json`
    /// or `~/.docker/config.json`.
    pub fn standard() -> Self {
        let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
        let home = env("HOME");
        let mut files = Vec::new();
        if let Some(f) = env("REGISTRY_AUTH_FILE") {
            files.push(f);
        }
        if let Some(d) = env("XDG_RUNTIME_DIR") {
            files.push(d.join("containers/auth.json"));
        }
        if let Some(h) = &home {
            files.push(h.join(".config/containers/auth.json"));
        }
        match (env("DOCKER_CONFIG"), &home) {
            (Some(d), _) => files.push(d.join("config.json")),
            (None, Some(h)) => files.push(h.join(".docker/config.json")),
            _ => {}
        }
        CredentialFiles::new(files)
    }

    /// Runs credential helpers from this directory instead of `PATH`.
    pub fn helper_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The stored credentials for `registry` (as in references:
    /// `docker.io`, `ghcr.io`, `localhost:5000`), if any.
    ///
    /// This blocks while a credential helper runs (up to the helper
    /// timeout); [`crate::Client`] calls it on a blocking thread.
    ///
    /// # Errors
    /// [`Error::Auth`] for a file that is not valid JSON, an `auth` that is
    /// not base64 `user:password`, or a helper that fails for another
    /// reason than "credentials not found";
    /// [`Error::CredentialHelperTimeout`] for a helper that does not answer
    /// in time.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        for path in &self.files {
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(_) => continue,
            };
            let file = parse_file(&bytes).map_err(|e| Error::Auth {
                registry: registry.to_owned(),
                // serde's message quotes the values it met, which may be
                // secrets: only where it went wrong.
                reason: format!(
                    "{} is not a credentials file (invalid JSON at line {}, column {})",
                    path.display(),
                    e.line(),
                    e.column()
                ),
                source: None,
            })?;
            if let Some(c) = self.lookup_in(&file, path, registry)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    fn lookup_in(
        &self,
        file: &ConfigFile,
        path: &Path,
        registry: &str,
    ) -> Result<Option<Credentials>, Error> {
        let keys = keys_for(registry);
        for k in &keys {
            if let Some(helper) = file.cred_helpers.get(k) {
                return self.run_helper(helper, k, registry);
            }
        }
        for k in &keys {
            if let Some(entry) = file.auths.get(k) {
                if let Some(c) = entry_credentials(entry, path, registry)? {
                    return Ok(Some(c));
                }
            }
        }
        match &file.creds_store {
            Some(store) => self.run_helper(store, &keys[0], registry),
            None => Ok(None),
        }
    }

    fn run_helper(
        &self,
        helper: &str,
        server: &str,
        registry: &str,
    ) -> Result<Option<Credentials>, Error> {
        let err = |reason: String| Error::Auth {
            registry: registry.to_owned(),
            reason,
            source: None,
        };
        let err_from = |reason: String, e: std::io::Error| Error::Auth {
            registry: registry.to_owned(),
            reason,
            source: Some(e.into()),
        };
        let program = helper_program(self.helper_dir.as_deref(), helper).ok_or_else(|| {
            err(format!(
                "credential helper name {helper:?} is not a plain name"
            ))
        })?;
        let name = program.display().to_string();
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err_from(format!("cannot run {name}"), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(server.as_bytes());
        }
        // Read on another thread, so that the time limit holds whatever the
        // helper does with its output.
        let reader = child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = out.by_ref().take(1 << 20).read_to_end(&mut buf);
                buf
            })
        });
        let deadline = Instant::now() + self.helper_timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::CredentialHelperTimeout {
                        helper: name,
                        registry: registry.to_owned(),
                        after: self.helper_timeout,
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(err_from(format!("waiting for {name} failed"), e)),
            }
        };
        let stdout = reader.and_then(|r| r.join().ok()).unwrap_or_default();
        if !status.success() {
            // The output is not quoted: a helper may echo what it was given
            // or hold.
            if String::from_utf8_lossy(&stdout).contains("credentials not found") {
                return Ok(None);
            }
            return Err(err(format!("{name} exited with {status}")));
        }
        let answer: HelperAnswer = serde_json::from_slice(&stdout).map_err(|_| {
            // serde's message may quote the values, secrets included.
            err(format!(
                "{name} answered something other than credentials JSON"
            ))
        })?;
        Ok(Some(if answer.username == "<token>" {
            Credentials::IdentityToken(answer.secret)
        } else {
            Credentials::basic(answer.username, answer.secret)
        }))
    }
}

/// A credentials file's bytes, parsed.
pub(crate) fn parse_file(bytes: &[u8]) -> Result<ConfigFile, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The program of credential helper `helper`: `docker-credential-NAME` in
/// `dir`, or on `PATH` without one; `None` unless `helper` is a plain
/// name (not empty, no `/`, no NUL), so that a credentials file cannot
/// point at any program it likes.
pub(crate) fn helper_program(dir: Option<&Path>, helper: &str) -> Option<PathBuf> {
    if helper.is_empty() || helper.contains(['/', '\0']) {
        return None;
    }
    let program = format!("docker-credential-{helper}");
    Some(match dir {
        Some(d) => d.join(program),
        None => PathBuf::from(program),
    })
}

/// The keys a registry may be stored under.
pub(crate) fn keys_for(registry: &str) -> Vec<String> {
    let mut keys = vec![registry.to_owned()];
    if registry == "docker.io" {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "registry-1.docker.io",
            ]
            .map(str::to_owned),
        );
    } else {
        keys.push(format!("https://{registry}"));
        keys.push(format!("http://{registry}"));
    }
    keys
}

/// The credentials of one `auths` entry, if it holds any.
pub(crate) fn entry_credentials(
    entry: &AuthEntry,
    path: &Path,
    registry: &str,
) -> Result<Option<Credentials>, Error> {
    if let Some(t) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::IdentityToken(t.clone())));
    }
    if let Some(t) = entry.registrytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::BearerToken(t.clone())));
    }
    if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let bad = || Error::Auth {
            registry: registry.to_owned(),
            reason: format!(
                "the auth entry in {} is not base64 of user:password",
                path.display()
            ),
            source: None,
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (u, p) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials::basic(u, p)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials::basic(u.clone(), p.clone()))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn docker_and_containers_files() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("auth.json");
        std::fs::write(&auth, r#"{"auths":{"quay.io":{"auth":"YTpi"}}}"#).unwrap();
        let docker = dir.path().join("config.json");
        std::fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},"quay.io":{"auth":"bm90OnVzZWQ="},
                "id.example":{"identitytoken":"refresh"},"tok.example":{"registrytoken":"bearer"}},
               "credHelpers":{"helped.example":"test"}}"#,
        )
        .unwrap();
        let helper = dir.path().join("docker-credential-test");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\nif [ \"$server\" = helped.example ]; then echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"idt\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut files = CredentialFiles::new(vec![auth, docker]);
        files.helper_dir(dir.path());

        assert_eq!(
            files.lookup("quay.io").unwrap(),
            Some(Credentials::basic("a", "b"))
        );
        assert_eq!(
            files.lookup("docker.io").unwrap(),
            Some(Credentials::basic("hub", "pw"))
        );
        assert_eq!(
            files.lookup("id.example").unwrap(),
            Some(Credentials::IdentityToken("refresh".into()))
        );
        assert_eq!(
            files.lookup("tok.example").unwrap(),
            Some(Credentials::BearerToken("bearer".into()))
        );
        assert_eq!(
            files.lookup("helped.example").unwrap(),
            Some(Credentials::IdentityToken("idt".into()))
        );
        assert_eq!(files.lookup("nowhere.example").unwrap(), None);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.json");
        std::fs::write(&f, r#"{"auths":{"r.example":{"auth":"!!!"}}}"#).unwrap();
        let err = CredentialFiles::new(vec![f.clone()])
            .lookup("r.example")
            .unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        std::fs::write(&f, "{").unwrap();
        assert!(CredentialFiles::new(vec![f.clone()])
            .lookup("r.example")
            .is_err());
        // A value of the wrong type: the error says where, and never
        // quotes the value (a secret).
        std::fs::write(&f, r#"{"auths":{"r.example":"bWU6c2VjcmV0"}}"#).unwrap();
        let err = CredentialFiles::new(vec![f.clone()])
            .lookup("r.example")
            .unwrap_err();
        assert!(err.to_string().contains("line 1, column"), "{err}");
        assert!(!format!("{err:?}").contains("bWU6c2VjcmV0"), "{err:?}");
        for name in ["", "../x", "/bin/sh", "a\0b"] {
            assert_eq!(helper_program(None, name), None, "{name:?}");
        }
        assert_eq!(
            helper_program(Some(Path::new("/h")), "pass"),
            Some(PathBuf::from("/h/docker-credential-pass"))
        );
        std::fs::write(&f, r#"{"credsStore":"missing-helper"}"#).unwrap();
        let mut files = CredentialFiles::new(vec![f]);
        files.helper_dir(dir.path());
        let err = files.lookup("r.example").unwrap_err();
        assert!(err.to_string().contains("cannot run"), "{err}");
    }
}
