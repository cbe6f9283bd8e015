//! The crate's error type: what can go wrong starting a registry, opening
//! its storage, or reading its configuration. Failures of a request are
//! answered to the client with the spec's error codes instead.

use std::path::PathBuf;

/// An error of the registry server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory of the storage could not be used.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done (`read`, `rename into place`...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the storage holds something other than expected.
    #[error("{} holds {found}, expected {expected}", path.display())]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What it should hold.
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// An image layout of the filesystem storage could not be used.
    #[error("cannot use the image layout of repository {repository}")]
    Layout {
        /// The repository whose layout failed.
        repository: String,
        /// The layout's error (boxed: it is large, and rare).
        #[source]
        source: Box<ocikit_image::Error>,
    },
    /// The address to listen on could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server on {addr} failed")]
    Serve {
        /// The address it listened on.
        addr: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file could not be read.
    #[error("cannot read the configuration {}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid YAML of the expected shape.
    #[error("invalid configuration {}: {location}", path.display())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// Where in the file (line and column), or the key path.
        location: String,
        /// The parser's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A configuration value is out of its allowed set.
    #[error("configuration key {key}: expected {expected}, found {found:?}")]
    ConfigValue {
        /// The key path, such as `http.addr`.
        key: String,
        /// What the key accepts.
        expected: &'static str,
        /// What the file says.
        found: String,
    },
    /// The storage did not answer the health check in time.
    #[error("the storage did not answer the health check within {waited:?}")]
    StorageTimeout {
        /// How long the check waited.
        waited: std::time::Duration,
    },
    /// A TLS certificate or key file does not hold what it should.
    #[error("{} does not hold {expected}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What it should hold (`PEM certificates`, `a PEM private key`).
        expected: &'static str,
        /// The PEM parser's error, when it found a malformed block rather
        /// than none.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A TLS key cannot be used with its certificate (a key of another
    /// certificate, or of an unsupported kind).
    #[error("the key {} cannot serve the certificate {}", key.display(), certificate.display())]
    TlsKey {
        /// The certificate chain file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The TLS library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A TLS reload was asked of a registry that serves plain HTTP.
    #[error("this registry serves plain HTTP: there is no certificate to reload")]
    TlsOff,
    /// A file or value of the access control (htpasswd, keys,
    /// certificates) could not be used.
    #[error("cannot use {what} {origin}: expected {expected}")]
    AuthFile {
        /// What it is (`htpasswd file`, `token signing key`...).
        what: &'static str,
        /// Its path, or where it came from.
        origin: String,
        /// What was expected of it.
        expected: &'static str,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A pull-through cache's upstream URL is not one it can use.
    #[cfg(feature = "proxy")]
    #[error("upstream URL {url:?}: expected {expected}")]
    UpstreamUrl {
        /// The URL as given.
        url: String,
        /// What the URL must look like.
        expected: &'static str,
    },
    /// The client of a pull-through cache's upstream could not start.
    #[cfg(feature = "proxy")]
    #[error("cannot set up the client of upstream {url}")]
    Upstream {
        /// The upstream's URL.
        url: String,
        /// The client's error (boxed: it is large, and rare).
        #[source]
        source: Box<ocikit_distribution::Error>,
    },
    /// A request to the S3 object store failed.
    #[cfg(feature = "s3")]
    #[error("cannot {action} {key} in the S3 bucket")]
    S3 {
        /// What was being done (`read`, `write`, `list`...).
        action: &'static str,
        /// The object's key.
        key: String,
        /// The store client's error (boxed: it is large).
        #[source]
        source: Box<object_store::Error>,
    },
    /// The S3 storage's settings were refused.
    #[cfg(feature = "s3")]
    #[error("invalid S3 storage settings: {problem}")]
    S3Config {
        /// What is wrong.
        problem: String,
        /// The store client's error, when it refused them.
        #[source]
        source: Option<Box<object_store::Error>>,
    },
    /// A blocking storage task panicked or was cancelled.
    #[error("a storage task ended without an answer")]
    TaskFailed,
}

impl Error {
    pub(crate) fn auth_file(
        what: &'static str,
        origin: String,
        expected: &'static str,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Error::AuthFile {
            what,
            origin,
            expected,
            source,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
