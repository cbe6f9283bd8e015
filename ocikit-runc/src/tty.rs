//! `run` in the foreground with `process.terminal` true and no
//! `--console-socket`: as runc, ocikit-runc takes the container's
//! pseudo-terminal itself and proxies it to its own stdio.
//!
//! It listens on a socket in a private (0700) directory under the temp
//! directory, hands that to the engine as the console socket, receives
//! the pty master once `create` returns (the init sent it during
//! `create`), then copies stdin to the master and the master to stdout.
//! When stdin is a terminal it is put in raw mode (restored on drop) and
//! its window size is given to the container's terminal; size changes
//! later (SIGWINCH) are not passed on.

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::termios::{OptionalActions, Termios};

use crate::failure::Step;
use crate::Failure;

/// How long the output copy may go on after the container is deleted
/// (it ends once every holder of the terminal's other side is gone).
const DRAIN: Duration = Duration::from_secs(2);

/// Whether the bundle's config asks for a terminal.
pub(crate) fn wants_terminal(bundle: &Path) -> bool {
    let path = bundle.join("config.json");
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["process"]["terminal"].as_bool())
        .unwrap_or(false)
}

/// The console socket `run` listens on before `create`.
pub(crate) struct ConsoleSocket {
    dir: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Binds `console.sock` in a new private directory.
    pub(crate) fn bind(id: &str) -> Result<ConsoleSocket, Failure> {
        let dir = std::env::temp_dir().join(format!("ocikit-runc-{}-{id}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .step(|| format!("create console socket directory {}", dir.display()))?;
        let path = dir.join("console.sock");
        let listener = match UnixListener::bind(&path)
            .step(|| format!("bind console socket {}", path.display()))
        {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        Ok(ConsoleSocket { dir, listener })
    }

    /// The path to give the engine.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("console.sock")
    }

    /// Takes the pty master the init sent during `create`.
    pub(crate) fn receive(&self) -> Result<OwnedFd, Failure> {
        self.listener
            .set_nonblocking(true)
            .step(|| "console socket".into())?;
        let (conn, _) = self
            .listener
            .accept()
            .step(|| "accept the container's terminal on the console socket".into())?;
        conn.set_nonblocking(false)
            .step(|| "console socket".into())?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .step(|| "console socket".into())?;
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut name = [0u8; 256];
        rustix::net::recvmsg(
            &conn,
            &mut [IoSliceMut::new(&mut name)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )
        .step(|| "receive the container's terminal".into())?;
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
                if let Some(fd) = fds.next() {
                    return Ok(fd);
                }
            }
        }
        Err("the container's init sent no terminal on the console socket".into())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The proxy between this program's stdio and the container's terminal.
pub(crate) struct Proxy {
    output: mpsc::Receiver<()>,
    restore: Option<Termios>,
}

impl Proxy {
    /// Starts copying: stdin to `master`, `master` to stdout.
    pub(crate) fn start(master: OwnedFd) -> Result<Proxy, Failure> {
        let stdin = io::stdin();
        let mut restore = None;
        if rustix::termios::isatty(stdin.as_fd()) {
            if let Ok(size) = rustix::termios::tcgetwinsize(stdin.as_fd()) {
                let _ = rustix::termios::tcsetwinsize(&master, size);
            }
            let saved = rustix::termios::tcgetattr(stdin.as_fd())
                .step(|| "read the terminal settings of stdin".into())?;
            let mut raw = saved.clone();
            raw.make_raw();
            rustix::termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw)
                .step(|| "put stdin in raw mode".into())?;
            restore = Some(saved);
        }
        let master = File::from(master);
        let mut to_master = master.try_clone().step(|| "terminal".into())?;
        // Never joined: it blocks in a read of stdin until the program exits.
        std::thread::spawn(move || {
            let _ = io::copy(&mut io::stdin().lock(), &mut to_master);
        });
        let (done, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut from = master;
            // Ends with EIO once no process holds the terminal any more.
            let _ = io::copy(&mut from, &mut io::stdout().lock());
            let _ = done.send(());
        });
        Ok(Proxy { output, restore })
    }

    /// Waits (briefly) for the container's last output to be copied.
    pub(crate) fn finish(self) {
        let _ = self.output.recv_timeout(DRAIN);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = &self.restore {
            let _ = rustix::termios::tcsetattr(io::stdin().as_fd(), OptionalActions::Now, t);
        }
    }
}
