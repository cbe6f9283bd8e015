//! CNCF Distribution's `config.yml`, for the keys this registry serves:
//! `http.addr`, `http.tls.certificate`, `http.tls.key`,
//! `http.http2.disabled`, `storage.filesystem.rootdirectory`, with the
//! `s3` feature `storage.s3` (`bucket`, `region`, `regionendpoint`,
//! `accesskey`, `secretkey`, `rootdirectory`, `chunksize`, `secure`,
//! `v4auth`, `forcepathstyle`) and `storage.redirect.disable`,
//! `storage.delete.enabled`, `log.level`, `http.debug.addr`,
//! `http.debug.prometheus.enabled`, `http.debug.prometheus.path` and
//! `http.draintimeout`, and our own `http.limits` (see
//! [`Limits`](crate::Limits): `headertimeout`, `bodytimeout`,
//! `uploadsperclient`, `smallbodylimit`, `blobsizelimit`, `maxconnections`,
//! `connectionsperclient`, `ratelimit.persecond`,
//! `ratelimit.burst`), `storage.maintenance.uploadpurging.*` and our own
//! `storage.maintenance.garbagecollect.*` (`enabled`, `interval`,
//! `graceperiod`, `deleteuntagged`, `dryrun`: periodic online garbage
//! collection, off by default), and access control:
//! `auth.htpasswd.{realm,path}`, `auth.token.{realm,service,issuer,
//! rootcertbundle}` and this registry's `auth.ocikit` keys (see
//! [`AuthConfig`]; an `auth` key it cannot honour is an error); or the
//! pull-through cache's `proxy.remoteurl`, `proxy.username`,
//! `proxy.password` and `proxy.ttl` (with the `proxy` feature); or the
//! same keys in TOML (a file named `*.toml`). Other keys are reported by
//! name in [`Config::warnings`], so an operator sees what is ignored.
//!
//! `proxy.ttl` (a Go duration such as `5m`) is read as how long a cached
//! tag is served before the upstream is asked whether it moved (see
//! `Upstream::tag_ttl`); Distribution reads it as when cached content
//! is deleted, which this registry does not do: cached content stays.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::Value;

use crate::settings::{bad, text_of};
#[cfg(feature = "proxy")]
use crate::Upstream;
use crate::{
    AuthConfig, Deletes, Error, GcOptions, GcSchedule, Http2, Limits, RegistryBuilder,
    UploadPurging,
};

mod toml;

/// Keys Distribution knows that this registry does not act on yet.
const NOT_YET: &[&str] = &[
    "http.tls.clientcas",
    "http.tls.letsencrypt",
    "http.tls.minimumtls",
    "http.tls.ciphersuites",
    "http.host",
    "http.prefix",
    "http.secret",
    "http.headers",
    "http.relativeurls",
    "http.net",
    "http.http2",
    #[cfg(not(feature = "proxy"))]
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
    "storage.maintenance.readonly",
    #[cfg(not(feature = "s3"))]
    "storage.redirect",
    #[cfg(not(feature = "s3"))]
    "storage.s3",
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
    #[cfg(feature = "s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
    pub s3: Option<crate::S3Options>,
    /// `storage.delete.enabled`; default disabled.
    pub deletes: Deletes,
    /// `log.level`: `error`, `warn`, `info` (default) or `debug`.
    pub log_level: String,
    /// `http.debug.addr`: where to serve `/debug/health` and the
    /// metrics; default none.
    pub debug_addr: Option<String>,
    /// Where the debug address serves Prometheus metrics:
    /// `http.debug.prometheus.path` (default `/metrics`) when
    /// `http.debug.prometheus.enabled` is true; `None` (the default)
    /// serves none.
    pub metrics_path: Option<String>,
    /// `http.draintimeout` (a Go duration such as `30s`): how long a
    /// SIGTERM lets requests in flight finish; default
    /// [`DEFAULT_DRAIN_TIMEOUT`](crate::DEFAULT_DRAIN_TIMEOUT).
    pub drain_timeout: Duration,
    /// `http.tls.certificate` and `http.tls.key`: the PEM certificate
    /// chain and key files, when TLS is on.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `http.http2.disabled`; default HTTP/2 enabled.
    pub http2: Http2,
    /// Our `http.limits` keys; default [`Limits::default`].
    pub limits: Limits,
    /// `storage.maintenance.uploadpurging`: on by default, with
    /// [`UploadPurging::new`]'s settings; `None` when disabled.
    pub upload_purging: Option<UploadPurging>,
    /// `storage.maintenance.garbagecollect` when `enabled`: periodic
    /// collection while serving; `None` (the default) otherwise.
    pub garbage_collection: Option<GcSchedule>,
    /// The collection options of `storage.maintenance.garbagecollect`
    /// (`graceperiod`, `deleteuntagged`, `dryrun`), enabled or not: what
    /// `ocikit-registry garbage-collect` starts from.
    pub gc_options: GcOptions,
    /// `auth`: access control (see [`AuthConfig`]).
    pub auth: AuthConfig,
    /// `proxy.*`: the upstream when the registry is a pull-through cache.
    #[cfg(feature = "proxy")]
    #[cfg_attr(docsrs, doc(cfg(feature = "proxy")))]
    pub proxy: Option<Upstream>,
    /// One line per key that was ignored, naming it.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the file at `path`: TOML when its name ends in `.toml`,
    /// YAML otherwise.
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
        if path.extension().is_some_and(|e| e == "toml") {
            Config::from_toml(&text, path)
        } else {
            Config::from_yaml(&text, path)
        }
    }

    /// Reads TOML text with the YAML file's keys as tables; `path` only
    /// names it in errors.
    ///
    /// ```
    /// use ocikit_registry::Config;
    /// let c = Config::from_toml("[http]\naddr = \"127.0.0.1:5001\"\ndraintimeout = \"5s\"\n", "c.toml".as_ref())?;
    /// assert_eq!(c.addr, "127.0.0.1:5001");
    /// assert_eq!(c.drain_timeout, std::time::Duration::from_secs(5));
    /// # Ok::<(), ocikit_registry::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ConfigSyntax`] and [`Error::ConfigValue`].
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, Error> {
        Config::from_value(&toml::parse(text, path)?)
    }

    /// Reads YAML text; `path` only names it in errors.
    ///
    /// ```
    /// use ocikit_registry::Config;
    /// let c = Config::from_yaml("version: 0.1\nhttp:\n  addr: 127.0.0.1:5001\nredis: {}\n", "config.yml".as_ref())?;
    /// assert_eq!(c.addr, "127.0.0.1:5001");
    /// assert_eq!(c.warnings, ["redis is not supported yet and is ignored"]);
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
        Config::from_value(&value)
    }

    /// Reads the settings from a parsed file.
    fn from_value(value: &Value) -> Result<Config, Error> {
        let mut c = Config {
            addr: ":5000".into(),
            root: "/var/lib/registry".into(),
            #[cfg(feature = "s3")]
            s3: None,
            deletes: Deletes::Disabled,
            log_level: "info".into(),
            debug_addr: None,
            metrics_path: None,
            drain_timeout: crate::DEFAULT_DRAIN_TIMEOUT,
            tls: None,
            http2: Http2::Enabled,
            limits: Limits::default(),
            upload_purging: None,
            garbage_collection: None,
            gc_options: GcOptions::new(),
            auth: AuthConfig::default(),
            #[cfg(feature = "proxy")]
            proxy: None,
            warnings: Vec::new(),
        };
        #[cfg(feature = "proxy")]
        let (mut remote, mut user, mut password, mut ttl) = (None, None, None, None);
        let mut maintenance = crate::gc::config::Keys::default();
        let (mut prometheus, mut prometheus_path) = (false, "/metrics".to_owned());
        let (mut tls_cert, mut tls_key) = (None, None);
        let mut leaves = Vec::new();
        flatten("", value, &mut leaves);
        #[cfg(feature = "s3")]
        let mut s3 = crate::storage::s3::config::S3Keys::default();
        for (key, v) in leaves {
            #[cfg(feature = "s3")]
            if s3.take(&key, v)? {
                continue;
            }
            match key.as_str() {
                "version" => {}
                "http.addr" => c.addr = text_of(&key, v)?,
                "storage.filesystem.rootdirectory" => {
                    #[cfg(feature = "s3")]
                    {
                        s3.filesystem = true;
                    }
                    c.root = text_of(&key, v)?.into();
                }
                "storage.filesystem.maxthreads" => {}
                "http.debug.addr" => c.debug_addr = Some(text_of(&key, v)?),
                "http.debug.prometheus.enabled" => prometheus = bool_of(&key, v)?,
                "http.debug.prometheus.path" => {
                    prometheus_path = text_of(&key, v)?;
                    if !prometheus_path.starts_with('/') {
                        return Err(bad(&key, "a path starting with /", v));
                    }
                }
                "http.draintimeout" => {
                    c.drain_timeout = text_of(&key, v)
                        .ok()
                        .and_then(|t| crate::duration::parse(&t))
                        .ok_or_else(|| bad(&key, "a duration such as 30s", v))?;
                }
                "http.tls.certificate" => tls_cert = Some(PathBuf::from(text_of(&key, v)?)),
                "http.tls.key" => tls_key = Some(PathBuf::from(text_of(&key, v)?)),
                "http.http2.disabled" => {
                    c.http2 = match v {
                        Value::Bool(true) => Http2::Disabled,
                        Value::Bool(false) => Http2::Enabled,
                        other => return Err(bad(&key, "true or false", other)),
                    }
                }
                k if crate::limits::configure(&mut c.limits, k, v)? => {}
                "storage.delete.enabled" => {
                    c.deletes = match v {
                        Value::Bool(true) => Deletes::Enabled,
                        Value::Bool(false) => Deletes::Disabled,
                        other => return Err(bad(&key, "true or false", other)),
                    }
                }
                #[cfg(feature = "proxy")]
                "proxy.remoteurl" => remote = Some(text_of(&key, v)?),
                #[cfg(feature = "proxy")]
                "proxy.username" => user = Some(text_of(&key, v)?),
                #[cfg(feature = "proxy")]
                "proxy.password" => password = Some(text_of(&key, v)?),
                #[cfg(feature = "proxy")]
                "proxy.ttl" => {
                    let text = text_of(&key, v)?;
                    let d = crate::duration::parse(&text)
                        .ok_or_else(|| bad(&key, "a duration such as 10m or 168h", v))?;
                    ttl = Some(d);
                }
                "log.level" => {
                    let level = text_of(&key, v)?;
                    if !["error", "warn", "info", "debug"].contains(&level.as_str()) {
                        return Err(bad(&key, "error, warn, info or debug", v));
                    }
                    c.log_level = level;
                }
                k if maintenance.apply(k, v)? => {}
                k if crate::auth::read_key(&mut c.auth, k, v)? => {}
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
        c.metrics_path = prometheus.then_some(prometheus_path);
        c.tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => return Err(bad("http.tls.key", "a key file", &Value::Null)),
            (None, Some(_)) => {
                return Err(bad(
                    "http.tls.certificate",
                    "a certificate file",
                    &Value::Null,
                ))
            }
        };
        c.upload_purging = maintenance.upload_purging();
        let (gc, enabled) = maintenance.garbage_collection();
        c.gc_options = gc.options.clone();
        c.garbage_collection = enabled.then_some(gc);
        #[cfg(feature = "proxy")]
        if let Some(url) = remote {
            let mut up = Upstream::new(&url)?;
            if let Some(user) = user {
                up = up.credentials(user, password.unwrap_or_default());
            }
            c.proxy = Some(up.tag_ttl(ttl.unwrap_or_default()));
        } else if user.is_some() || password.is_some() || ttl.is_some() {
            c.warnings
                .push("proxy keys without proxy.remoteurl are ignored".to_owned());
        }
        #[cfg(feature = "s3")]
        {
            c.s3 = s3.finish()?;
        }
        Ok(c)
    }

    /// A registry builder with these settings (S3 storage when
    /// `storage.s3` is set, else the filesystem; a pull-through cache
    /// when `proxy.remoteurl` is set).
    pub fn builder(&self) -> RegistryBuilder {
        let mut b = crate::Registry::builder();
        b.filesystem(&self.root);
        #[cfg(feature = "s3")]
        if let Some(s3) = &self.s3 {
            b.s3(s3.clone());
        }
        b.deletes(self.deletes)
            .http2(self.http2)
            .limits(self.limits.clone());
        b.metrics_path(self.metrics_path.as_deref())
            .drain_timeout(self.drain_timeout);
        if let Some((cert, key)) = &self.tls {
            b.tls(cert, key);
        }
        if let Some(addr) = &self.debug_addr {
            b.debug_addr(listen_addr(addr));
        }
        b.upload_purging(self.upload_purging.clone())
            .garbage_collection(self.garbage_collection.clone());
        if self.auth.is_enabled() || self.auth.access.is_some() {
            b.auth_config(self.auth.clone());
        }
        #[cfg(feature = "proxy")]
        if let Some(up) = &self.proxy {
            b.pull_through(up.clone());
        }
        b
    }

    /// The address to bind: `:5000` means every address.
    pub fn bind_addr(&self) -> String {
        listen_addr(&self.addr)
    }
}

/// A Go listen address as tokio binds it: `:5000` means every address.
fn listen_addr(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_owned(),
    }
}

fn bool_of(key: &str, v: &Value) -> Result<bool, Error> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(bad(key, "true or false", other)),
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
    #[cfg(feature = "proxy")]
    fn proxy_keys_make_a_pull_through_cache() {
        let yaml = "proxy:\n  remoteurl: https://registry-1.docker.io\n  username: me\n  password: secret\n  ttl: 1h30m\n";
        let c = Config::from_yaml(yaml, Path::new("c")).unwrap();
        let up = c.proxy.unwrap();
        assert_eq!(up.host(), "registry-1.docker.io");
        assert_eq!(up.ttl(), std::time::Duration::from_secs(5400));
        assert!(c.warnings.is_empty());
        let e = Config::from_yaml("proxy:\n  remoteurl: x\n  ttl: 10\n", Path::new("c"));
        assert_eq!(
            e.unwrap_err().to_string(),
            "configuration key proxy.ttl: expected a string, found \"10\""
        );
        let e = Config::from_yaml("proxy:\n  remoteurl: ftp://x\n", Path::new("c"));
        assert!(e.unwrap_err().to_string().contains("ftp://x"));
        let c = Config::from_yaml("proxy:\n  ttl: 5m\n", Path::new("c")).unwrap();
        assert_eq!(c.proxy, None);
        assert_eq!(
            c.warnings,
            ["proxy keys without proxy.remoteurl are ignored"]
        );
    }

    #[test]
    fn default_address_binds_everywhere() {
        let c = Config::from_yaml("version: 0.1\n", Path::new("c")).unwrap();
        assert_eq!(c.bind_addr(), "0.0.0.0:5000");
    }
}
