//! The protocol between the runtime and the init: newline-delimited
//! JSON messages over the init socket, and the `start` signal on the
//! exec socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use ocikit_types::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::setup::error::{FailureKind, InitFailure};
use crate::setup::lsm;
use crate::setup::rootfs::RootfsOptions;

/// The socket in the state directory on which a created container's
/// init waits for `start`.
pub(crate) const EXEC_SOCKET: &str = "exec.sock";

/// The environment variable carrying the init socket's descriptor number.
pub(crate) const ENV_FD: &str = "_OCIKIT_INIT_FD";

/// What the runtime tells the init.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InitConfig {
    pub(crate) spec: Spec,
    pub(crate) rootfs: RootfsOptions,
    pub(crate) state_dir: PathBuf,
    /// CLONE_NEW* flags for stage 2 (not CLONE_NEWUSER).
    pub(crate) clone_flags: u64,
    pub(crate) new_userns: bool,
    /// Namespaces to join first: (path, CLONE_NEW* type); user first.
    pub(crate) join: Vec<(PathBuf, i32)>,
    pub(crate) preserve_fds: u32,
    /// Where to send the pty master when `process.terminal` is set.
    pub(crate) console_socket: Option<PathBuf>,
    /// Set for `exec`: start a process in an existing container (whose
    /// namespaces are in `join`) instead of creating one.
    #[serde(default)]
    pub(crate) exec: Option<ExecTarget>,
    /// The security modules the host enforces (labels for others are
    /// skipped).
    #[serde(default)]
    pub(crate) lsm: lsm::HostLsm,
    /// The container's cgroup, which stage 1 enters itself, first thing
    /// (`None`: no cgroup, or the runtime moved stage 1 already).
    #[serde(default)]
    pub(crate) cgroup: Option<crate::cgroup::Entry>,
}

/// The container an `exec` process joins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecTarget {
    /// `/proc/<pid>/root` of the container's init: the exec process
    /// chroots there after joining the namespaces (right for pivot_root
    /// and `--no-pivot` containers alike).
    pub(crate) root: PathBuf,
    /// The container's state JSON, for the seccomp agent.
    pub(crate) state: String,
}

/// Messages from the init to the runtime.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum ToRuntime {
    /// Stage 1 has unshared a user namespace: write its id maps.
    UserNs,
    /// Stage 2's pid in the runtime's pid namespace.
    Pid { pid: i32 },
    /// Namespaces and mounts are ready: run prestart/createRuntime hooks
    /// and send the state for createContainer hooks.
    Hooks,
    /// Set up, waiting for `start`.
    Ready,
    /// Setup failed.
    Error { failure: InitFailure },
}

/// Messages from the runtime to the init.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum ToInit {
    /// Continue; `state` is the container state JSON for hooks.
    Continue { state: String },
    /// Give up (a runtime-side step failed).
    Abort,
}

/// Newline-delimited JSON over a socket.
#[derive(Debug)]
pub(crate) struct Channel {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Channel {
    pub(crate) fn new(sock: UnixStream) -> std::io::Result<Channel> {
        Ok(Channel {
            writer: sock.try_clone()?,
            reader: BufReader::new(sock),
        })
    }

    pub(crate) fn send<T: Serialize>(&mut self, msg: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(msg)?;
        line.push(b'\n');
        self.writer.write_all(&line)
    }

    /// The next message, or `None` at end of stream.
    pub(crate) fn recv<T: for<'de> Deserialize<'de>>(&mut self) -> std::io::Result<Option<T>> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        // from_slice, like the bundle's config.json: one copy of the spec's
        // deserializers in the binary instead of two (one per input type)
        // keeps every container start from paging in another 200 KiB.
        Ok(Some(serde_json::from_slice(&line)?))
    }

    pub(crate) fn set_timeout(&self, t: std::time::Duration) -> std::io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(t))
    }
}

/// Connects to a created container's exec socket, sends `state`, and waits
/// for the init to exec: `Ok` at EOF without a message, `Err(failure)`
/// when the init reported one.
pub(crate) fn signal_start(
    sock: &std::path::Path,
    state: &[u8],
) -> std::io::Result<Result<(), InitFailure>> {
    let mut conn = UnixStream::connect(sock)?;
    conn.write_all(state)?;
    conn.write_all(b"\n")?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(if answer.is_empty() {
        Ok(())
    } else {
        Err(serde_json::from_str(&answer).unwrap_or(InitFailure {
            kind: FailureKind::System,
            message: answer,
        }))
    })
}
