//! The crate's error type.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use ocikit_types::runtime::Status;

/// Everything that can go wrong in the engine.
///
/// Messages follow runc's wording where callers match on it
/// (`does not exist`, `container not running`, `container with id exists`).
/// No variant captures a backtrace: `state` and `kill` fail routinely and
/// must stay cheap even with `RUST_BACKTRACE=1`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A container ID that does not follow the ID grammar.
    #[error("invalid container id {found:?}: expected {expected}")]
    InvalidId {
        /// What the grammar requires.
        expected: &'static str,
        /// The ID as given.
        found: String,
    },
    /// `create` with an ID that is already in use.
    #[error("container with id exists: {id}")]
    AlreadyExists {
        /// The ID.
        id: String,
    },
    /// No container with this ID is recorded in the state directory.
    #[error("container \"{id}\" does not exist")]
    NotFound {
        /// The ID.
        id: String,
    },
    /// The operation needs a live container process and there is none.
    #[error("container not running: {id}")]
    NotRunning {
        /// The ID.
        id: String,
    },
    /// `resume` of a container that is not paused.
    #[error("container not paused: {id}")]
    NotPaused {
        /// The ID.
        id: String,
    },
    /// The container is in the wrong state for the operation.
    #[error("cannot {operation} container {id}: expected status {expected}, found {found}")]
    WrongStatus {
        /// The ID.
        id: String,
        /// The operation refused (`start`, `delete`, ...).
        operation: &'static str,
        /// The status the operation needs.
        expected: &'static str,
        /// The status the container has.
        found: Status,
    },
    /// The bundle's `config.json` cannot be read or is invalid.
    #[error("bundle config {}", path.display())]
    Config {
        /// Path of the config.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ocikit_types::Error,
    },
    /// The config is valid but asks for something this engine refuses.
    #[error("config {field}: expected {expected}, found {found}")]
    BadConfig {
        /// The JSON path of the field.
        field: &'static str,
        /// What the engine accepts.
        expected: &'static str,
        /// What the config says.
        found: String,
    },
    /// A feature this engine does not implement.
    #[error("{feature} is not supported")]
    Unsupported {
        /// What was asked for.
        feature: &'static str,
    },
    /// A resource limit needs a cgroup controller this host does not offer.
    #[error("cgroup controller {controller} is not available on this host (needed for {setting})")]
    ControllerMissing {
        /// The controller (`memory`, `pids`, ...).
        controller: &'static str,
        /// The config setting that needs it.
        setting: &'static str,
    },
    /// A file operation failed.
    #[error("{operation} {}", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A system call on behalf of a container failed.
    #[error("{operation} for container {id}")]
    Sys {
        /// What was being done.
        operation: &'static str,
        /// The container.
        id: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The container's init process reported a failure while setting up.
    #[error("container init for {id} failed: {message}")]
    InitFailed {
        /// The container.
        id: String,
        /// What kind of step failed (the init reports it across its socket).
        kind: InitFailureKind,
        /// The init's own message: the failing step and each of its causes
        /// (they happened in the init process, so they arrive as text).
        message: String,
    },
    /// newuidmap(1) or newgidmap(1) refused the id maps of a rootless
    /// container's user namespace (ids outside the user's /etc/subuid or
    /// /etc/subgid ranges, or the helper is not installed).
    #[error("{tool} for pid {pid} failed{}", helper_said(.message))]
    IdMapHelper {
        /// `newuidmap` or `newgidmap`.
        tool: &'static str,
        /// The process whose namespace was being mapped.
        pid: u32,
        /// The helper's complaint and exit status; empty when it could
        /// not run (the source says why).
        message: String,
        /// Why the helper could not run, when it could not.
        #[source]
        source: Option<io::Error>,
    },
    /// A recorded state file cannot be parsed.
    #[error("state file {} is corrupt", path.display())]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A signal name or number that is not a known signal.
    #[error(
        "invalid signal: expected a name like SIGKILL or KILL or a number 1-64, found {found:?}"
    )]
    InvalidSignal {
        /// The signal as given.
        found: String,
    },
    /// A lifecycle hook failed.
    #[error("{hook} hook {}", path.display())]
    Hook {
        /// The hook list (`createRuntime`, `poststart`, ...).
        hook: &'static str,
        /// The hook program.
        path: PathBuf,
        /// How it failed.
        #[source]
        failure: HookFailure,
    },
}

/// How a hook failed (the source of [`Error::Hook`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookFailure {
    /// It could not be started; the source says why.
    #[error("could not start")]
    Spawn(#[source] io::Error),
    /// It exited with a non-zero code.
    #[error("expected exit code 0, found {0}")]
    Exit(i32),
    /// A signal killed it.
    #[error("killed by signal {0}")]
    Signal(i32),
    /// It ran longer than its timeout and was killed.
    #[error("timed out after {}s", .0.as_secs())]
    Timeout(Duration),
}

fn helper_said(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl Error {
    /// Whether the container does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether the container has no live process.
    pub fn is_not_running(&self) -> bool {
        matches!(self, Error::NotRunning { .. })
    }

    /// Whether the container is not paused (see `Runtime::resume`).
    pub fn is_not_paused(&self) -> bool {
        matches!(self, Error::NotPaused { .. })
    }

    /// Whether an ID is already taken.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sys(operation: &'static str, id: &str, source: io::Error) -> Self {
        Error::Sys {
            operation,
            id: id.to_owned(),
            source,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of step a container's init failed at ([`Error::InitFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum InitFailureKind {
    /// A system call or file operation (a mount, a namespace, a write).
    System,
    /// A config value the init refused.
    Config,
    /// `process.args[0]` was not found in the container.
    ProgramNotFound,
    /// A hook the init ran failed.
    Hook,
    /// The init broke off: it exited, or the runtime <-> init exchange
    /// failed.
    Protocol,
}

#[cfg(test)]
mod tests;
