//! The errors of the container setup.

use std::fmt;
use std::io;

/// A failed step of the container setup, reported to the runtime.
#[derive(Debug)]
pub(crate) struct SetupError {
    pub(crate) step: String,
    pub(crate) source: io::Error,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.source)
    }
}

pub(crate) trait Step<T> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, SetupError>;
}

impl<T> Step<T> for io::Result<T> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(|source| SetupError {
            step: what(),
            source,
        })
    }
}

/// A config value the kernel would refuse or misread, found before any
/// system call (by `create`'s checks, and again by the init).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) field: &'static str,
    pub(crate) expected: &'static str,
    pub(crate) found: String,
}

impl From<Invalid> for crate::error::Error {
    fn from(i: Invalid) -> Self {
        crate::error::Error::BadConfig {
            field: i.field,
            expected: i.expected,
            found: i.found,
        }
    }
}

impl From<Invalid> for SetupError {
    fn from(i: Invalid) -> Self {
        SetupError {
            step: format!("{}: expected {}, found {}", i.field, i.expected, i.found),
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        }
    }
}
