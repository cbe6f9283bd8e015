//! `exec`: a new process in a running container (runc-exec(8)).
//!
//! The engine starts its init program again, as for `create`, with an
//! exec request: stage 1 opens the container init's namespaces
//! (`/proc/<pid>/ns/*`, the user namespace first) and its root
//! (`/proc/<pid>/root`) before joining any of them, joins them, chroots
//! into that root, and clones the exec process with `CLONE_PARENT` (so it
//! is the caller's child, which [`ExecProcess::wait`] reaps). Stage 1 was
//! put in the container's cgroup before it read its request, so the exec
//! process is born there. The exec process then takes the same steps as
//! the container's own process before its execve: oom_score_adj, the
//! terminal, the container's seccomp profile, rlimits, user and groups,
//! capabilities, no_new_privs, umask and cwd (checked to lie inside the
//! root).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use ocikit_types::runtime::{Linux, NamespaceType, Process, Spec, Status};
use ocikit_types::Document;

use super::container::write_atomic;
use super::kill::kill_and_wait;
use super::namespace::ns_flag;
use super::options::{process_io_setters, ExitStatus};
use super::Runtime;
use crate::error::{Error, Result};
use crate::init::{Channel, ExecTarget, InitConfig, ToRuntime};
use crate::setup::error::InitFailure;
use crate::setup::rootfs::{Pivot, RootfsOptions};
use crate::sys;

/// Settings for [`Runtime::exec`].
#[derive(Debug, Default)]
pub struct ExecOptions {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pid_file: Option<PathBuf>,
    preserve_fds: u32,
    console_socket: Option<PathBuf>,
}

impl ExecOptions {
    /// Defaults: the process shares the caller's stdio, no pid file, no
    /// preserved descriptors, no console socket.
    pub fn new() -> Self {
        ExecOptions::default()
    }

    process_io_setters!("process", "process");
}

/// Takes the settings out of a chain of setters, so that
/// `ExecOptions::new().pid_file(p)` can be passed where the options are
/// wanted; the borrowed value is left with the defaults.
impl From<&mut ExecOptions> for ExecOptions {
    fn from(options: &mut ExecOptions) -> Self {
        std::mem::take(options)
    }
}

/// A process started by [`Runtime::exec`]: a child of the calling
/// process until that exits.
///
/// Reap it with [`ExecProcess::wait`]: while it is an unreaped zombie in
/// a container with its own pid namespace, the kernel keeps that
/// namespace's init from finishing its exit, so [`Runtime::delete`] waits
/// for it (up to 10 seconds). After the caller exits it is reparented to
/// the nearest subreaper or init, as with runc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecProcess {
    pid: u32,
}

impl ExecProcess {
    /// Its host pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for it to exit and returns how it ended. Only the process
    /// that called [`Runtime::exec`] can wait.
    ///
    /// # Errors
    /// [`Error::Sys`] (ECHILD) if it is not this process's child.
    pub fn wait(&self) -> Result<ExitStatus> {
        let id = self.pid.to_string();
        match sys::waitpid(self.pid as i32, false) {
            Ok(Some(sys::Exit::Code(c))) => Ok(ExitStatus::Code(c)),
            Ok(Some(sys::Exit::Signal(s))) => Ok(ExitStatus::Signal(s)),
            Ok(None) => Err(Error::sys(
                "wait for exec process",
                &id,
                std::io::Error::from_raw_os_error(libc::ECHILD),
            )),
            Err(e) => Err(Error::sys("wait for exec process", &id, e)),
        }
    }
}

/// The name under `/proc/<pid>/ns/` of a namespace kind.
fn proc_ns_name(kind: &NamespaceType) -> Option<&'static str> {
    Some(match kind {
        NamespaceType::Mount => "mnt",
        NamespaceType::Pid => "pid",
        NamespaceType::Network => "net",
        NamespaceType::Uts => "uts",
        NamespaceType::Ipc => "ipc",
        NamespaceType::User => "user",
        NamespaceType::Cgroup => "cgroup",
        NamespaceType::Time => "time",
        _ => return None,
    })
}

/// The namespaces to join for an exec into the container whose init is
/// `pid`: each kind it has, as `/proc/<pid>/ns/<name>`, the user
/// namespace first.
pub(crate) fn join_plan(pid: u32, kinds: &[NamespaceType]) -> Vec<(PathBuf, i32)> {
    let mut plan = Vec::new();
    for kind in kinds {
        let (Some(flag), Some(name)) = (ns_flag(kind), proc_ns_name(kind)) else {
            continue;
        };
        let entry = (PathBuf::from(format!("/proc/{pid}/ns/{name}")), flag);
        if plan.iter().any(|(p, _)| *p == entry.0) {
            continue;
        }
        if *kind == NamespaceType::User {
            plan.insert(0, entry);
        } else {
            plan.push(entry);
        }
    }
    plan
}

/// Refuses an exec process this engine cannot run faithfully.
fn check_process(process: &Process, console_socket: bool) -> Result<()> {
    super::check::check_args_and_terminal(process, console_socket)?;
    let mut spec = Spec::default();
    spec.process = Some(process.clone());
    crate::setup::process::check_attributes(&spec)?;
    Ok(())
}

impl Runtime {
    /// Starts `process` in container `id` (`runc exec`): in every
    /// namespace and the cgroup of the container, under its root, with its
    /// seccomp profile, and with `process`'s own user, capabilities,
    /// rlimits, no_new_privs, cwd and terminal. Returns once the program
    /// has been exec'd (or failed to be).
    ///
    /// The process is the caller's child: [`ExecProcess::wait`] reaps it.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::WrongStatus`] unless the container is
    /// created or running (a paused container's cgroup would freeze the
    /// process at once, so it is refused too, as runc does without
    /// `--ignore-paused`); [`Error::BadConfig`] or [`Error::Unsupported`]
    /// for a process it cannot run; [`Error::InitFailed`] with the failing
    /// step (a missing program, a cwd outside the root, ...).
    pub fn exec(
        &self,
        id: &str,
        process: &Process,
        options: impl Into<ExecOptions>,
    ) -> Result<ExecProcess> {
        self.exec_inner(id, process, options.into())
    }

    fn exec_inner(&self, id: &str, process: &Process, options: ExecOptions) -> Result<ExecProcess> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("exec", id = %id).entered();
        let status = c.status();
        if status != Status::Running && status != Status::Created {
            return Err(Error::WrongStatus {
                id: id.to_owned(),
                operation: "exec in",
                expected: "created or running",
                found: status,
            });
        }
        check_process(process, options.console_socket.is_some())?;
        let ctx = &c.record.exec;
        let pid = c.record.pid;
        let mut spec = Spec::default();
        spec.oci_version = c.record.oci_version.clone();
        spec.process = Some(process.clone());
        let mut linux = Linux::default();
        linux.seccomp = ctx.seccomp.clone();
        spec.linux = Some(linux);
        let cfg = InitConfig {
            spec,
            rootfs: RootfsOptions {
                rootfs: PathBuf::from("/"),
                bundle: c.record.bundle.clone(),
                pivot: Pivot::PivotRoot,
                userns: false,
                cgroup_v2: false,
                cgroup_binds: Vec::new(),
                idmapped: Vec::new(),
            },
            state_dir: c.dir.clone(),
            clone_flags: 0,
            new_userns: false,
            join: join_plan(pid, &ctx.namespaces),
            preserve_fds: options.preserve_fds,
            console_socket: options.console_socket.as_deref().map(super::absolute),
            exec: Some(ExecTarget {
                root: PathBuf::from(format!("/proc/{pid}/root")),
                state: String::from_utf8(c.state().to_canonical_vec()).unwrap_or_default(),
            }),
            lsm: crate::setup::lsm::HostLsm::probe(),
            cgroup: None,
        };
        let (mut child, sock) = self.spawn_init_program(
            id,
            options.preserve_fds,
            [options.stdin, options.stdout, options.stderr],
            Some(process),
        )?;
        let stage1 = child.id();
        let res = exec_handshake(id, &cfg, &c.record.cgroup, stage1, sock, &mut child);
        if res.is_err() {
            let _ = child.kill();
        }
        let _ = child.wait();
        let pid = res?;
        if let Some(p) = &options.pid_file {
            if let Err(e) = write_atomic(p, pid.to_string().as_bytes()) {
                kill_and_wait(pid, None);
                return Err(Error::io("write", p, e));
            }
        }
        tracing::debug!(pid, "exec process started");
        Ok(ExecProcess { pid })
    }
}

/// Sends the exec request to stage 1 and follows the exec process until
/// its program runs: `Pid`, then `Ready`, then end of stream (the socket
/// is close-on-exec). Returns its pid.
fn exec_handshake(
    id: &str,
    cfg: &InitConfig,
    cgroup: &Option<crate::cgroup::Cgroup>,
    stage1: u32,
    sock: std::os::unix::net::UnixStream,
    child: &mut std::process::Child,
) -> Result<u32> {
    let sys_err = |op, e| Error::sys(op, id, e);
    if let Some(cg) = cgroup {
        cg.add(stage1)?;
    }
    let mut ch = Channel::new(sock).map_err(|e| sys_err("init socket", e))?;
    ch.set_timeout(Duration::from_secs(120))
        .map_err(|e| sys_err("init socket", e))?;
    ch.send(cfg)
        .map_err(|e| sys_err("send exec request to init", e))?;
    let mut pid = None;
    let mut ready = false;
    let failed = |pid: Option<u32>, failure: InitFailure| {
        if let Some(p) = pid {
            kill_and_wait(p, None);
        }
        failure.into_error(id)
    };
    loop {
        let msg = match ch.recv::<ToRuntime>() {
            Ok(m) => m,
            Err(e) => {
                if let Some(p) = pid {
                    kill_and_wait(p, None);
                }
                return Err(sys_err("read from exec process", e));
            }
        };
        match msg {
            Some(ToRuntime::Pid { pid: p }) => {
                pid = Some(p as u32);
                let _ = child.wait();
            }
            Some(ToRuntime::Ready) => ready = true,
            Some(ToRuntime::Error { failure }) => return Err(failed(pid, failure)),
            Some(other) => {
                return Err(failed(
                    pid,
                    InitFailure::protocol(format!(
                        "unexpected message from exec process: {other:?}"
                    )),
                ))
            }
            None => break,
        }
    }
    match pid {
        Some(p) if ready => Ok(p),
        p => Err(failed(
            p,
            InitFailure::protocol("the exec process exited without reporting why"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_user_first_and_each_kind_once() {
        let plan = join_plan(
            42,
            &[
                NamespaceType::Pid,
                NamespaceType::Mount,
                NamespaceType::User,
                NamespaceType::Time,
                NamespaceType::Pid,
            ],
        );
        let paths: Vec<_> = plan.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "/proc/42/ns/user",
                "/proc/42/ns/pid",
                "/proc/42/ns/mnt",
                "/proc/42/ns/time"
            ]
        );
        assert_eq!(plan[0].1, libc::CLONE_NEWUSER);
        assert_eq!(plan[3].1, libc::CLONE_NEWTIME);
    }

    #[test]
    fn processes_are_checked() {
        let mut p = Process::new("/");
        assert!(matches!(
            check_process(&p, false),
            Err(Error::BadConfig {
                field: "process.args",
                ..
            })
        ));
        p.args = vec!["sh".into()];
        check_process(&p, false).unwrap();
        assert!(check_process(&p, true).is_err());
        p.terminal = true;
        check_process(&p, true).unwrap();
    }
}
