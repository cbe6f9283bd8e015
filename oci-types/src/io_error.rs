//! [`IoError`]: an operating-system error that [`crate::Error`] can carry
//! as a source while staying `Clone` and `Eq`.

use std::fmt;
use std::sync::Arc;

/// An I/O error from reading or writing a document's file (the source of
/// [`crate::Error::Io`]).
///
/// Shared, so that the error holding it can be cloned; two are equal when
/// their kind and OS error code are.
#[derive(Debug, Clone)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The kind of failure (`NotFound`, `PermissionDenied`, ...).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }

    /// The operating system's error.
    pub fn as_io(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> Self {
        IoError(Arc::new(e))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.0.raw_os_error() == other.0.raw_os_error()
    }
}

impl Eq for IoError {}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    // The OS error itself, shown by Display: its own sources follow.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
