//! The settings of `create` and `run`, and the small enums the operations take.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// The setters [`CreateOptions`] and [`ExecOptions`](crate::ExecOptions) share (their fields
/// have the same names); in their documentation `$who` names what the
/// settings are for and `$pid` whose pid the pid file gets.
#[rustfmt::skip] // rustfmt indents the `concat!` arguments oddly, and not idempotently.
macro_rules! process_io_setters {
    ($who:literal, $pid:literal) => {
        #[doc = concat!("The ", $who, "'s stdin (default: the caller's).")]
        pub fn stdin(&mut self, fd: impl Into<OwnedFd>) -> &mut Self {
            self.stdin = Some(fd.into());
            self
        }

        #[doc = concat!("The ", $who, "'s stdout (default: the caller's).")]
        pub fn stdout(&mut self, fd: impl Into<OwnedFd>) -> &mut Self {
            self.stdout = Some(fd.into());
            self
        }

        #[doc = concat!("The ", $who, "'s stderr (default: the caller's).")]
        pub fn stderr(&mut self, fd: impl Into<OwnedFd>) -> &mut Self {
            self.stderr = Some(fd.into());
            self
        }

        #[doc = concat!(
            "Writes the ", $pid, "'s host pid to this file, atomically ",
            "(default: no file)."
        )]
        pub fn pid_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
            self.pid_file = Some(path.into());
            self
        }

        #[doc = concat!(
            "The AF_UNIX socket that receives the master of the ", $who, "'s ",
            "pseudo-terminal (SCM_RIGHTS, with the pty's name as the message) ",
            "when `process.terminal` is true; required then, refused otherwise ",
            "(default: none)."
        )]
        pub fn console_socket(&mut self, path: impl Into<PathBuf>) -> &mut Self {
            self.console_socket = Some(path.into());
            self
        }

        #[doc = concat!(
            "Passes the caller's descriptors 3 to 3+n-1 to the ", $who,
            " (default 0: only stdio). They must be open and must not be ",
            "closed until the call returns."
        )]
        pub fn preserve_fds(&mut self, n: u32) -> &mut Self {
            self.preserve_fds = n;
            self
        }
    };
}
pub(crate) use process_io_setters;

/// How the container's init enters its root filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RootEntry {
    /// pivot_root(2), then detach the old root (the default).
    #[default]
    PivotRoot,
    /// Move the rootfs mount over `/` and chroot into it (`runc
    /// --no-pivot`): for roots on ramfs, where pivot_root fails. Less
    /// isolated: the old root stays reachable to a process that can escape
    /// the chroot.
    MoveRoot,
}

/// Which processes [`Runtime::kill`](crate::Runtime::kill) signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillScope {
    /// Only the container's init (the user program).
    Init,
    /// Every process in the container's cgroup (`runc kill --all`).
    All,
}

/// Whether [`Runtime::delete`](crate::Runtime::delete) may stop a live container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteMode {
    /// Refuse unless the container is stopped, as the runtime spec's
    /// `delete` requires.
    Stopped,
    /// Refuse unless the container is stopped or only created, killing a
    /// created one: what `runc delete` without `--force` does, and what
    /// containerd's runc shim relies on to delete a task it created but
    /// never started.
    StoppedOrCreated,
    /// Kill it first (`runc delete --force`).
    Force,
}

/// How a container's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl ExitStatus {
    /// The status as a shell reports it: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

/// Settings for [`Runtime::create`](crate::Runtime::create) and [`Runtime::run`](crate::Runtime::run).
#[derive(Debug, Default)]
pub struct CreateOptions {
    pub(super) stdin: Option<OwnedFd>,
    pub(super) stdout: Option<OwnedFd>,
    pub(super) stderr: Option<OwnedFd>,
    pub(super) pid_file: Option<PathBuf>,
    pub(super) root_entry: RootEntry,
    pub(super) preserve_fds: u32,
    pub(super) listen_fds: u32,
    pub(super) console_socket: Option<PathBuf>,
}

impl CreateOptions {
    /// Defaults: the container shares the caller's stdio, no pid file,
    /// pivot_root, no preserved descriptors, no console socket.
    pub fn new() -> Self {
        CreateOptions::default()
    }

    process_io_setters!("container", "init");

    /// How the init enters the rootfs (default [`RootEntry::PivotRoot`]).
    pub fn root_entry(&mut self, entry: RootEntry) -> &mut Self {
        self.root_entry = entry;
        self
    }

    /// Socket activation (`sd_listen_fds(3)`): passes the caller's
    /// descriptors 3 to 3+n-1 to the container as listening sockets, and
    /// adds `LISTEN_FDS=n` and `LISTEN_PID=1` to its environment, as runc
    /// does when started with `LISTEN_FDS` (default 0). Descriptors
    /// preserved with [`CreateOptions::preserve_fds`] follow them.
    pub fn listen_fds(&mut self, n: u32) -> &mut Self {
        self.listen_fds = n;
        self
    }
}

/// Takes the settings out of a chain of setters, so that options are
/// written inline where they are wanted:
/// `rt.create("c1", bundle, CreateOptions::new().stdout(file))`. The
/// borrowed value is left with the defaults.
impl From<&mut CreateOptions> for CreateOptions {
    fn from(options: &mut CreateOptions) -> Self {
        std::mem::take(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_21_options_are_written_inline() {
        fn takes(options: impl Into<CreateOptions>) -> CreateOptions {
            options.into()
        }
        let o = takes(
            CreateOptions::new()
                .pid_file("/run/c.pid")
                .listen_fds(2)
                .root_entry(RootEntry::MoveRoot),
        );
        assert_eq!(
            o.pid_file.as_deref(),
            Some(std::path::Path::new("/run/c.pid"))
        );
        assert_eq!((o.listen_fds, o.root_entry), (2, RootEntry::MoveRoot));
        // A value built step by step is passed as it is.
        let mut o = CreateOptions::new();
        o.preserve_fds(1);
        assert_eq!(takes(o).preserve_fds, 1);
        // The same for exec.
        fn takes_exec(options: impl Into<crate::ExecOptions>) -> crate::ExecOptions {
            options.into()
        }
        let o = takes_exec(crate::ExecOptions::new().pid_file("/run/e.pid"));
        assert!(format!("{o:?}").contains("/run/e.pid"), "{o:?}");
    }
}
