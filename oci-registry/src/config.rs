//! CNCF Distribution's `config.yml`, for the keys this registry serves:
//! `http.addr`, `storage.filesystem.rootdirectory`,
//! `storage.s3` (`bucket`, `region`, `regionendpoint`, `accesskey`,
//! `secretkey`, `rootdirectory`, `chunksize`, `secure`, `v4auth`,
//! `forcepathstyle`), `storage.redirect.disable`,
//! `storage.delete.enabled` and `log.level`. Other keys are reported by
//! name in [`Config::warnings`], so an operator sees what is ignored.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::{Deletes, Error, RegistryBuilder};

/// Keys Distribution knows that this registry does not act on yet.
const NOT_YET: &[&str] = &[
    "http.tls",
    "http.host",
    "http.prefix",
    "http.secret",
    "http.headers",
    "http.debug",
    "http.relativeurls",
    "http.draintimeout",
    "http.net",
    "http.http2",
    "auth",
    "proxy",
    "notifications",
    "redis",
    "health",
    "middleware",
    "validation",
    "compatibility",
    "reporting",
    "log.formatter",
    "log.fields",
    "log.accesslog",
    "log.hooks",
    "storage.cache",
    "storage.maintenance",
    "storage.tag",
    "storage.inmemory",
    "storage.gcs",
    "storage.azure",
];

/// The settings read from a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `http.addr`: where to listen; default `:5000` (every address).
    pub addr: String,
    /// `storage.filesystem.rootdirectory`; default
    /// `/var/lib/registry`, as Distribution's.
    pub root: PathBuf,
    /// `storage.s3`: the bucket to store in instead of the filesystem;
    /// blob `GET`s redirect to it unless `storage.redirect.disable` is
    /// true, as Distribution's.
    pub s3: Option<crate::S3Options>,
    /// `storage.delete.enabled`; default disabled.
    pub deletes: Deletes,
    /// `log.level`: `error`, `warn`, `info` (default) or `debug`.
    pub log_level: String,
    /// One line per key that was ignored, naming it.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the file at `path`.
    ///
    /// # Errors
    /// [`Error::ConfigRead`], [`Error::ConfigSyntax`] and
    /// [`Error::ConfigValue`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Config::from_yaml(&text, path)
    }

    /// Reads YAML text; `path` only names it in errors.
    ///
    /// ```
    /// use ocikit_registry::Config;
    /// let c = Config::from_yaml("version: 0.1\nhttp:\n  addr: 127.0.0.1:5001\nauth: {}\n", "config.yml".as_ref())?;
    /// assert_eq!(c.addr, "127.0.0.1:5001");
    /// assert_eq!(c.warnings, ["auth is not supported yet and is ignored"]);
    /// # Ok::<(), ocikit_registry::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] and [`Error::ConfigValue`].
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, Error> {
        let value: Value = serde_norway::from_str(text).map_err(|e| Error::ConfigSyntax {
            path: path.to_owned(),
            location: e.location().map_or("document".into(), |l| {
                format!("line {} column {}", l.line(), l.column())
            }),
            source: Box::new(e),
        })?;
        let mut c = Config {
            addr: ":5000".into(),
            root: "/var/lib/registry".into(),
            s3: None,
            deletes: Deletes::Disabled,
            log_level: "info".into(),
            warnings: Vec::new(),
        };
        let mut leaves = Vec::new();
        flatten("", &value, &mut leaves);
        let mut s3 = crate::storage::s3::config::S3Keys::default();
        for (key, v) in leaves {
            if s3.take(&key, v)? {
                continue;
            }
            match key.as_str() {
                "version" => {}
                "http.addr" => c.addr = text_of(&key, v)?,
                "storage.filesystem.rootdirectory" => {
                    s3.filesystem = true;
                    c.root = text_of(&key, v)?.into();
                }
                "storage.filesystem.maxthreads" => {}
                "storage.delete.enabled" => {
                    c.deletes = match v {
                        Value::Bool(true) => Deletes::Enabled,
                        Value::Bool(false) => Deletes::Disabled,
                        other => return Err(bad(&key, "true or false", other)),
                    }
                }
                "log.level" => {
                    let level = text_of(&key, v)?;
                    if !["error", "warn", "info", "debug"].contains(&level.as_str()) {
                        return Err(bad(&key, "error, warn, info or debug", v));
                    }
                    c.log_level = level;
                }
                other => {
                    let known = NOT_YET
                        .iter()
                        .find(|k| other == **k || other.starts_with(&format!("{k}.")));
                    let line = match known {
                        Some(k) => format!("{k} is not supported yet and is ignored"),
                        None => format!("unknown key {other} is ignored"),
                    };
                    if !c.warnings.contains(&line) {
                        c.warnings.push(line);
                    }
                }
            }
        }
        c.s3 = s3.finish()?;
        Ok(c)
    }

    /// A registry builder with these settings (S3 or filesystem
    /// storage).
    pub fn builder(&self) -> RegistryBuilder {
        let mut b = crate::Registry::builder();
        match &self.s3 {
            Some(s3) => b.s3(s3.clone()),
            None => b.filesystem(&self.root),
        };
        b.deletes(self.deletes);
        b
    }

    /// The address to bind: `:5000` means every address.
    pub fn bind_addr(&self) -> String {
        match self.addr.strip_prefix(':') {
            Some(port) => format!("0.0.0.0:{port}"),
            None => self.addr.clone(),
        }
    }
}

/// The leaves of a YAML tree as dotted keys; an empty mapping is a leaf.
fn flatten<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                let key = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => out.push((prefix.to_owned(), v)),
    }
}

pub(crate) fn bad(key: &str, expected: &'static str, found: &Value) -> Error {
    Error::ConfigValue {
        key: key.to_owned(),
        expected,
        found: serde_norway::to_string(found)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

pub(crate) fn text_of(key: &str, v: &Value) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(bad(key, "a string", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_config_is_read() {
        let yaml = "version: 0.1\nlog:\n  level: debug\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: /tmp/r\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:5123\n  headers:\n    X-Content-Type-Options: [nosniff]\nfoo: 1\n";
        let c = Config::from_yaml(yaml, Path::new("c.yml")).unwrap();
        assert_eq!(c.addr, "127.0.0.1:5123");
        assert_eq!(c.root, Path::new("/tmp/r"));
        assert_eq!(c.deletes, Deletes::Enabled);
        assert_eq!(c.log_level, "debug");
        assert_eq!(
            c.warnings,
            [
                "log.formatter is not supported yet and is ignored",
                "http.headers is not supported yet and is ignored",
                "unknown key foo is ignored"
            ]
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = Config::from_yaml(
            "storage:\n  delete:\n    enabled: yes please\n",
            Path::new("c"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key storage.delete.enabled: expected true or false, found \"yes please\""
        );
        assert!(Config::from_yaml("a: [", Path::new("c")).is_err());
    }

    #[test]
    fn default_address_binds_everywhere() {
        let c = Config::from_yaml("version: 0.1\n", Path::new("c")).unwrap();
        assert_eq!(c.bind_addr(), "0.0.0.0:5000");
    }
}
