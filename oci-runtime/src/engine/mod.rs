//! The engine: container lifecycle operations over a state directory.

#[cfg(feature = "tokio")]
pub(crate) mod async_api;
pub(crate) mod check;
mod check_values;
pub(crate) mod container;
mod control;
mod create;
pub(crate) mod exec;
mod features;
mod host_mount;
pub(crate) mod id;
mod kill;
pub(crate) mod namespace;
pub(crate) mod options;
pub(crate) mod signal;
mod spawn;
mod state;

use std::path::{Path, PathBuf};

/// A container engine keeping its state under one root directory.
///
/// Every operation takes the container ID and reads the persisted record,
/// so separate processes (like successive `runc` commands) can operate on
/// the same containers.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
    init_program: PathBuf,
}

impl Default for Runtime {
    /// State under `/run/ocikit`, init re-executed from `/proc/self/exe`.
    fn default() -> Self {
        Runtime::new("/run/ocikit")
    }
}

impl Runtime {
    /// An engine keeping container state under `root` (runc's `--root`).
    ///
    /// A relative `root` is resolved against the current directory now,
    /// once: the engine and the containers' inits (which run in `/`) then
    /// agree on it, whatever directory the program moves to later. Should
    /// the current directory be unreadable, `root` is kept as given.
    pub fn new(root: impl AsRef<Path>) -> Self {
        Runtime {
            root: absolute(root.as_ref()),
            init_program: PathBuf::from("/proc/self/exe"),
        }
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The program executed to become a container's init (default
    /// `/proc/self/exe`, this program). It must be a program linking this
    /// crate, whose pre-main hook makes it the init, or one that calls
    /// [`init_if_requested`](crate::init_if_requested) first thing in
    /// `main`, before any thread starts.
    pub fn set_init_program(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.init_program = path.into();
        self
    }
}

/// `path` made absolute against the current directory (lexically, as
/// `std::path::absolute`), or as given if that cannot be read. For paths
/// the init uses, which runs in `/`.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests;
