//! The errors of the container setup, made in the init (stage 1, stage 2
//! or an exec process) and reported to the runtime.
//!
//! What crosses the init socket is [`SetupError::report`]: its kind (a
//! [`FailureKind`]) and the text of the whole chain, which the runtime
//! turns back into a typed [`InitFailure`] and then into the crate's
//! [`Error::InitFailed`](crate::error::Error::InitFailed), whose message
//! is that text (kept as it was: callers and runc-compatible tools match
//! on its words).

use std::io;

use serde::{Deserialize, Serialize};

/// A failed step of the container setup.
///
/// Display is this layer only; the cause is [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// A system call or file operation failed; `step` says what was
    /// being done and on which path.
    #[error("{step}")]
    Os {
        /// What was being done (`mount proc on /proc`, `chdir to cwd /x`).
        step: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A config value the kernel would refuse or misread, found by the
    /// init (the same checks `create` runs).
    #[error("config {field}: expected {expected}, found {found}")]
    Invalid {
        /// The JSON path of the field.
        field: &'static str,
        /// What the engine accepts.
        expected: &'static str,
        /// What the config says.
        found: String,
    },
    /// `process.args[0]` is not an executable file in the container's
    /// `PATH`.
    #[error("exec: {program:?}: executable file not found in $PATH")]
    ProgramNotFound {
        /// `process.args[0]`.
        program: String,
    },
    /// `/proc` is not a procfs mount.
    #[error("/proc is not procfs (filesystem magic {found:#x})")]
    NotProcfs {
        /// The filesystem magic found (expected `PROC_SUPER_MAGIC`).
        found: u64,
    },
    /// The runtime broke the protocol: it closed the socket or did not
    /// answer as expected.
    #[error("{broken}")]
    Protocol {
        /// What went wrong (`runtime closed the init socket`).
        broken: &'static str,
    },
    /// A hook the init runs (createContainer, startContainer) failed, or
    /// the seccomp profile does not compile: errors of the crate's own
    /// kinds, reported as they are.
    #[error(transparent)]
    Engine(#[from] Box<crate::error::Error>),
}

impl SetupError {
    /// The kind of failure, for the report sent to the runtime.
    pub(crate) fn kind(&self) -> FailureKind {
        match self {
            SetupError::Os { .. } | SetupError::NotProcfs { .. } => FailureKind::System,
            SetupError::Invalid { .. } => FailureKind::Config,
            SetupError::ProgramNotFound { .. } => FailureKind::ProgramNotFound,
            SetupError::Protocol { .. } => FailureKind::Protocol,
            SetupError::Engine(e) => match **e {
                crate::error::Error::Hook { .. } => FailureKind::Hook,
                _ => FailureKind::Config,
            },
        }
    }

    /// What the init sends the runtime: the kind, and the message of the
    /// whole chain (`step: cause: cause`), as the runtime shows it.
    pub(crate) fn report(&self) -> InitFailure {
        let mut message = self.to_string();
        let mut cause = std::error::Error::source(self);
        // Each layer's message once (`Engine` is transparent: its message
        // and causes are the engine error's, a hook's failure among them).
        while let Some(c) = cause {
            message.push_str(": ");
            message.push_str(&c.to_string());
            cause = c.source();
        }
        InitFailure {
            kind: self.kind(),
            message,
        }
    }

    /// An `Os` error for the step `step`.
    pub(crate) fn os(step: impl Into<String>, source: impl Into<io::Error>) -> SetupError {
        SetupError::Os {
            step: step.into(),
            source: source.into(),
        }
    }
}

impl From<crate::error::Error> for SetupError {
    fn from(e: crate::error::Error) -> Self {
        SetupError::Engine(Box::new(e))
    }
}

/// What kind of failure the init reports (it crosses the init socket).
pub(crate) use crate::error::InitFailureKind as FailureKind;

/// A setup failure as the runtime receives it over the init socket: its
/// kind and the message of its whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InitFailure {
    /// What kind of failure.
    pub(crate) kind: FailureKind,
    /// What failed, with every cause (`chdir to cwd /x: No such file or
    /// directory (os error 2)`).
    pub(crate) message: String,
}

impl InitFailure {
    /// A failure the runtime notices itself: the init vanished or broke
    /// the protocol.
    pub(crate) fn protocol(message: impl Into<String>) -> InitFailure {
        InitFailure {
            kind: FailureKind::Protocol,
            message: message.into(),
        }
    }

    /// The failure as the crate's error for container `id`.
    pub(crate) fn into_error(self, id: &str) -> crate::error::Error {
        tracing::debug!(id, kind = ?self.kind, "container init failed");
        crate::error::Error::InitFailed {
            id: id.to_owned(),
            kind: self.kind,
            message: self.message,
        }
    }
}

/// `?` for a setup step: an OS error becomes [`SetupError::Os`] with what
/// was being done.
pub(crate) trait Step<T> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, SetupError>;
}

impl<T, E: Into<io::Error>> Step<T> for Result<T, E> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(|source| SetupError::os(what(), source))
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
        SetupError::Invalid {
            field: i.field,
            expected: i.expected,
            found: i.found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_keeps_the_chain_and_the_kind() {
        let enoent = || io::Error::from_raw_os_error(libc::ENOENT);
        let e = SetupError::os("chdir to cwd /x", enoent());
        assert_eq!(e.to_string(), "chdir to cwd /x");
        let r = e.report();
        assert_eq!(r.kind, FailureKind::System);
        assert_eq!(r.message, format!("chdir to cwd /x: {}", enoent()));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<InitFailure>(&json).unwrap(), r);

        let e = SetupError::ProgramNotFound {
            program: "nope".into(),
        };
        assert_eq!(e.report().kind, FailureKind::ProgramNotFound);
        assert_eq!(
            e.report().message,
            "exec: \"nope\": executable file not found in $PATH"
        );

        let e = SetupError::from(Invalid {
            field: "process.ioPriority",
            expected: "a class",
            found: "x".into(),
        });
        assert_eq!(e.report().kind, FailureKind::Config);
        let e = e.report().into_error("c1");
        assert_eq!(
            e.to_string(),
            "container init for c1 failed: config process.ioPriority: expected a class, found x"
        );
    }
}
