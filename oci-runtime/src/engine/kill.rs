//! `kill`, `wait` and `delete`.

use std::io;
use std::time::Duration;

use ocikit_types::runtime::Status;
use ocikit_types::Document;

use super::container::proc_stat;
use super::options::{DeleteMode, ExitStatus, KillScope};
use super::Runtime;
use crate::cgroup::FreezerState;
use crate::engine::signal::Signal;
use crate::error::{Error, Result};
use crate::setup::hook;
use crate::sys;

/// Kills `pid` and waits for it to be gone (reaped if it is our child).
pub(crate) fn kill_and_wait(pid: u32, start_time: Option<u64>) {
    let _ = sys::kill(pid as i32, libc::SIGKILL);
    for _ in 0..2000 {
        match sys::waitpid(pid as i32, true) {
            Ok(Some(_)) => return,
            Ok(None) => {}
            // Not our child: watch /proc instead.
            Err(_) => match (proc_stat(pid), start_time) {
                (None, _) => return,
                (Some(('Z', _)), _) => return,
                (Some((_, t)), Some(s)) if t != s => return,
                _ => {}
            },
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Runtime {
    /// Sends `signal` to container `id`.
    ///
    /// # Errors
    /// [`Error::NotRunning`] if its process is gone.
    pub fn kill(&self, id: &str, signal: Signal, scope: KillScope) -> Result<()> {
        let c = self.container(id)?;
        if !c.is_alive() {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let mut pids = vec![c.record.pid];
        if scope == KillScope::All {
            if let Some(cg) = &c.record.cgroup {
                pids.extend(cg.procs()?.into_iter().filter(|p| *p != c.record.pid));
            }
        }
        for pid in pids {
            match sys::kill(pid as i32, signal.number()) {
                Err(e) if e.raw_os_error() != Some(libc::ESRCH) => {
                    return Err(Error::sys("send signal", id, e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Waits for container `id`'s process to exit and returns how it
    /// ended. Only a process that created the container can wait for it
    /// (its init is this process's child).
    ///
    /// # Errors
    /// [`Error::Sys`] with ECHILD if the container is not this process's
    /// child.
    pub fn wait(&self, id: &str) -> Result<ExitStatus> {
        let c = self.container(id)?;
        match sys::waitpid(c.record.pid as i32, false) {
            Ok(Some(sys::Exit::Code(c))) => Ok(ExitStatus::Code(c)),
            Ok(Some(sys::Exit::Signal(s))) => Ok(ExitStatus::Signal(s)),
            Ok(None) => Err(Error::sys(
                "wait",
                id,
                io::Error::from_raw_os_error(libc::ECHILD),
            )),
            Err(e) => Err(Error::sys("wait", id, e)),
        }
    }

    /// Deletes container `id`: its cgroup, its record, and for a container
    /// without a mount namespace of its own the mounts it made in the
    /// runtime's; then runs the poststop hooks (failures are logged).
    ///
    /// # Errors
    /// [`Error::WrongStatus`] if it is not stopped and `mode` is
    /// [`DeleteMode::Stopped`] (runtime.md: deleting a container that is
    /// not stopped MUST fail), or if it is running or paused and `mode`
    /// is [`DeleteMode::StoppedOrCreated`].
    pub fn delete(&self, id: &str, mode: DeleteMode) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("delete", id = %id).entered();
        let status = c.status();
        let allowed = match mode {
            DeleteMode::Force => true,
            DeleteMode::Stopped => status == Status::Stopped,
            DeleteMode::StoppedOrCreated => status == Status::Stopped || status == Status::Created,
        };
        if !allowed {
            return Err(Error::WrongStatus {
                id: id.to_owned(),
                operation: "delete",
                expected: if mode == DeleteMode::Stopped {
                    "stopped"
                } else {
                    "stopped or created"
                },
                found: status,
            });
        }
        if let Some(cg) = &c.record.cgroup {
            if status != Status::Stopped || !cg.procs().unwrap_or_default().is_empty() {
                for p in cg.procs().unwrap_or_default() {
                    let _ = sys::kill(p as i32, libc::SIGKILL);
                }
            }
            // A frozen task (cgroup v1) acts on SIGKILL only once thawed.
            if cg.is_frozen() {
                cg.freeze(FreezerState::Thawed)?;
            }
        }
        if status != Status::Stopped {
            kill_and_wait(c.record.pid, Some(c.record.start_time));
        } else {
            // Reap it if it is our zombie.
            let _ = sys::waitpid(c.record.pid as i32, true);
        }
        // A container in the runtime's mount namespace leaves no mount.
        super::host_mount::detach_recorded(&c.dir, &c.record.rootfs)
            .map_err(|e| Error::io("detach the rootfs bind", &c.record.rootfs, e))?;
        if let Some(cg) = &c.record.cgroup {
            cg.remove()?;
        }
        let mut st = c.state();
        st.status = Status::Stopped;
        std::fs::remove_dir_all(&c.dir)
            .map_err(|e| Error::io("remove container state", &c.dir, e))?;
        if let Some(h) = &c.record.hooks {
            hook::run_logged("poststop", &h.poststop, &st.to_canonical_vec());
        }
        Ok(())
    }
}
