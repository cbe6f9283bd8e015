//! The crate's one error type.

use ocikit_types::{Digest, RegistryError};

/// A boxed foreign error kept as a source without exposing its type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every failure `ocikit-distribution` reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or its answer not received (DNS,
    /// connection, TLS, timeout, redirect loop, a body cut off).
    #[error("request to {url} failed")]
    Transport {
        /// The URL requested.
        url: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
    /// The registry answered with an error status.
    #[error("registry answered {status} for {method} {url}{}", registry_errors(.errors))]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The errors of the body, when it was a registry error body.
        errors: Vec<RegistryError>,
    },
    /// Authentication failed or was refused.
    #[error("authentication to {registry} failed: {reason}")]
    Auth {
        /// The registry.
        registry: String,
        /// What went wrong.
        reason: String,
        /// The failure behind it, when there is one (an unreadable
        /// credentials file, a helper that cannot run, a token request).
        #[source]
        source: Option<BoxError>,
    },
    /// A credential helper did not answer in time and was killed (see
    /// [`crate::CredentialFiles::helper_timeout`]).
    #[error("credential helper {helper} did not answer for {registry} within {after:?}")]
    CredentialHelperTimeout {
        /// The helper program.
        helper: String,
        /// The registry whose credentials were asked for.
        registry: String,
        /// The time limit.
        after: std::time::Duration,
    },
    /// A response is larger than allowed (manifest, token, error body).
    #[error("{what} from {url} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The registry sent content that is not what was asked for.
    #[error("content from {url} does not verify")]
    Integrity {
        /// The URL.
        url: String,
        /// The mismatch, with expected and found values.
        #[source]
        source: ocikit_types::Error,
    },
    /// The registry broke the protocol (a missing header, a bad answer).
    #[error("protocol violation by {url}: expected {expected}, found {found}")]
    Protocol {
        /// The URL.
        url: String,
        /// What the protocol requires.
        expected: &'static str,
        /// What came.
        found: String,
    },
    /// A document from the registry is malformed or invalid.
    #[error("document from {url}")]
    Document {
        /// The URL.
        url: String,
        /// What is wrong.
        #[source]
        source: ocikit_types::Error,
    },
    /// Reading or writing the local image layout failed.
    #[error(transparent)]
    Layout(#[from] ocikit_image::Error),
    /// A transient failure persisted through every retry.
    #[error("giving up on {url} after {attempts} attempts")]
    RetriesExhausted {
        /// The URL.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure, with its own causes (a refused connection,
        /// a TLS error, an error status).
        #[source]
        last: Box<Error>,
    },
    /// An `https://` request reached a server that answered in plain
    /// HTTP: the registry is a plain-HTTP one, which the client reaches
    /// only when told to. Not retried.
    #[error(
        "{host} answered the TLS handshake of {url} in plain HTTP; if it is a plain-HTTP \
         registry, allow it with ClientBuilder::insecure_http_host(\"{host}\")"
    )]
    PlainHttp {
        /// The URL requested.
        url: String,
        /// The host to mark insecure.
        host: String,
        /// The TLS failure.
        #[source]
        source: BoxError,
    },
    /// A request made no progress within its configured time (see
    /// [`crate::ClientBuilder::connect_timeout`],
    /// [`crate::ClientBuilder::progress_timeout`] and
    /// [`crate::ClientBuilder::request_timeout`]).
    #[error("{stage} of {url} timed out after {after:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// What timed out: `connection`, `answer` (of a blob download),
        /// `body` (of a blob download), `request` or `token request`.
        stage: &'static str,
        /// The configured time that passed.
        after: std::time::Duration,
    },
    /// No manifest of an index matches the wanted platform; the source
    /// ([`ocikit_types::Error::PlatformNotFound`]) lists what it offers.
    #[error("{reference} has no manifest for the wanted platform")]
    PlatformNotFound {
        /// The image.
        reference: String,
        /// What was wanted and what the index offers.
        #[source]
        source: ocikit_types::Error,
    },
    /// The client was configured wrongly.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
        /// The failure behind it, when there is one (a certificate that
        /// does not parse, an HTTP client that cannot start).
        #[source]
        source: Option<BoxError>,
    },
}

fn registry_errors(errors: &[RegistryError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!(": {}", list.join("; "))
}

impl Error {
    /// The HTTP status, for [`Error::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the thing asked for does not exist (404, or an
    /// `*_UNKNOWN` error code).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Status { status, errors, .. } => {
                *status == 404 || errors.iter().any(|e| e.code.is_not_found())
            }
            Error::Layout(e) => e.is_not_found(),
            _ => false,
        }
    }

    /// True for [`Error::Timeout`], also when it is the last failure of
    /// [`Error::RetriesExhausted`].
    pub fn is_timeout(&self) -> bool {
        let mut e: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(x) = e {
            if matches!(
                x.downcast_ref::<Error>(),
                Some(Error::Timeout { .. } | Error::CredentialHelperTimeout { .. })
            ) || x
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout)
            {
                return true;
            }
            e = x.source();
        }
        false
    }

    /// True when the registry sent content that failed verification.
    pub fn is_integrity(&self) -> bool {
        matches!(self, Error::Integrity { .. })
            || matches!(self, Error::Layout(e) if e.is_integrity())
    }

    pub(crate) fn transport(url: &str, e: impl Into<BoxError>) -> Self {
        Error::Transport {
            url: url.to_owned(),
            source: e.into(),
        }
    }

    pub(crate) fn digest(url: &str, expected: &Digest, found: &Digest) -> Self {
        Error::Integrity {
            url: url.to_owned(),
            source: ocikit_types::Error::DigestMismatch {
                expected: expected.to_string(),
                found: found.to_string(),
            },
        }
    }
}
