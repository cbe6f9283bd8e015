//! Stage 2, the container's init (or an exec process): sets up the
//! rootfs and the process, waits for `start`, execs the user program.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use super::{Channel, InitConfig, Never, ToInit, ToRuntime};
use crate::setup::error::{SetupError, Step};
use crate::setup::{hook, lsm, process, rootfs, seccomp};
use crate::sys;
use crate::sys::syscalls::Linux;

pub(super) fn stage2(
    ch: &mut Channel,
    cfg: &InitConfig,
    listener: UnixListener,
    console: Option<UnixStream>,
    agent: Option<UnixStream>,
    host_proc: &std::os::fd::OwnedFd,
    netns: Option<UnixStream>,
) -> Result<Never, SetupError> {
    let _ = rustix::process::setsid();

    let spec = &cfg.spec;
    let profile = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    let filter = profile.map(seccomp::compile).transpose()?;
    // Joins the network namespace stage 1 makes, once the rootfs setup
    // needs it.
    let mut join_net = || match &netns {
        Some(rx) => {
            let ns = sys::recv_fd(rx)?;
            sys::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET)
        }
        None => Ok(()),
    };
    rootfs::prepare_joining_net(&Linux, spec, &cfg.rootfs, &mut join_net)?;
    ch.send(&ToRuntime::Hooks)
        .step(|| "write to the runtime".into())?;
    let state = match ch.recv::<ToInit>() {
        Ok(Some(ToInit::Continue { state })) => state,
        _ => std::process::exit(1),
    };
    if let Some(h) = &spec.hooks {
        hook::run_all("createContainer", &h.create_container, state.as_bytes())?;
    }
    rootfs::enter(&Linux, spec, &cfg.rootfs)?;
    let default_process = ocikit_types::runtime::Process::new("/");
    let proc_ = spec.process.as_ref().unwrap_or(&default_process);
    if let Some(sock) = console {
        // After entering the root: the pty must come from the container's
        // devpts instance.
        crate::setup::console::setup(&sock, proc_.console_size.as_ref())
            .step(|| "set up console".into())?;
    }
    // While the init still has every capability it was given, and before
    // a seccomp filter that may forbid these calls.
    process::setup_attributes(&Linux, spec)?;
    lsm::apply(host_proc, cfg.lsm, proc_)?;
    let (filter, program) = setup_process(proc_, filter, profile, agent.as_ref(), &state)?;
    ch.send(&ToRuntime::Ready)
        .step(|| "write to the runtime".into())?;

    // Wait for `start`: it connects, sends the state, and reads our answer
    // until EOF; exec closes the (close-on-exec) connection.
    let (mut conn, _) = listener.accept().step(|| "wait for start".into())?;
    drop(listener);
    let mut state = String::new();
    let _ = BufReader::new(&mut conn).read_line(&mut state);
    let fail = |conn: &mut UnixStream, e: SetupError| -> ! {
        if let Ok(report) = serde_json::to_vec(&e.report()) {
            let _ = conn.write_all(&report);
        }
        std::process::exit(1);
    };
    if let Some(h) = &spec.hooks {
        if let Err(e) = hook::run_all("startContainer", &h.start_container, state.as_bytes()) {
            fail(&mut conn, e.into());
        }
    }
    if let Err(e) = sys::cloexec_from(3 + cfg.preserve_fds) {
        fail(
            &mut conn,
            SetupError::os("mark descriptors close-on-exec", e),
        );
    }
    // The init is in its cgroup; before seccomp, which may forbid the
    // call.
    if let Err(e) = process::final_affinity(&Linux, proc_) {
        fail(&mut conn, e);
    }
    if let (Some(f), Some(p)) = (&filter, profile) {
        if let Err(e) = install_seccomp(f, p, agent.as_ref(), &state) {
            fail(&mut conn, e);
        }
    }
    let err = exec_program(&program, proc_);
    fail(
        &mut conn,
        SetupError::os(format!("exec {}", program.display()), err),
    );
}

/// The steps both the container init and an exec process take once in
/// the container: seccomp where it must precede the capability drop, the
/// process settings, and the lookup of the program. Returns the filter
/// still to install just before execve, and the program's path.
pub(super) fn setup_process(
    proc_: &ocikit_types::runtime::Process,
    mut filter: Option<seccomp::Filter>,
    profile: Option<&ocikit_types::runtime::Seccomp>,
    agent: Option<&UnixStream>,
    state: &str,
) -> Result<(Option<seccomp::Filter>, PathBuf), SetupError> {
    // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: install
    // before the capabilities go (as runc does). Otherwise it is the last
    // step before execve.
    if filter.is_some() && seccomp::before_caps(proc_.no_new_privileges) {
        if let (Some(f), Some(p)) = (filter.take(), profile) {
            install_seccomp(&f, p, agent, state)?;
        }
    }
    process::setup(&Linux, proc_)?;
    let arg0 = proc_.args.first().ok_or(SetupError::Invalid {
        field: "process.args",
        expected: "at least one argument",
        found: "[]".into(),
    })?;
    let program =
        process::find_program(arg0, &proc_.env).ok_or_else(|| SetupError::ProgramNotFound {
            program: arg0.clone(),
        })?;
    Ok((filter, program))
}

/// execve(2) of the user program with exactly `proc_.env`; returns only
/// on failure.
pub(super) fn exec_program(
    program: &std::path::Path,
    proc_: &ocikit_types::runtime::Process,
) -> std::io::Error {
    let env = proc_
        .env
        .iter()
        .map(|e| e.split_once('=').unwrap_or((e.as_str(), "")));
    Command::new(program)
        .arg0(&proc_.args[0])
        .args(&proc_.args[1..])
        .env_clear()
        .envs(env)
        .exec()
}

/// The process of `exec`, already in the container's namespaces, cgroup
/// and root: sets itself up as the container init's process would be
/// (oom_score_adj, terminal, seccomp, rlimits, user, capabilities,
/// no_new_privs, umask, cwd), reports `Ready` and execs. A failure after
/// `Ready` is reported as an `Error` message before the socket closes;
/// success closes the socket (close-on-exec) without one.
pub(super) fn exec_process(
    ch: &mut Channel,
    cfg: &InitConfig,
    state: &str,
    console: Option<UnixStream>,
    agent: Option<UnixStream>,
    host_proc: &std::os::fd::OwnedFd,
) -> Result<Never, SetupError> {
    let _ = rustix::process::setsid();
    let spec = &cfg.spec;
    let proc_ = spec.process.as_ref().ok_or(SetupError::Invalid {
        field: "process",
        expected: "a process to exec",
        found: "none".into(),
    })?;
    let profile = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    let filter = profile.map(seccomp::compile).transpose()?;
    if let Some(sock) = console {
        crate::setup::console::setup(&sock, proc_.console_size.as_ref())
            .step(|| "set up console".into())?;
    }
    process::setup_attributes(&Linux, spec)?;
    lsm::apply(host_proc, cfg.lsm, proc_)?;
    let (filter, program) = setup_process(proc_, filter, profile, agent.as_ref(), state)?;
    sys::cloexec_from(3 + cfg.preserve_fds).step(|| "mark descriptors close-on-exec".into())?;
    process::final_affinity(&Linux, proc_)?;
    if let (Some(f), Some(p)) = (&filter, profile) {
        install_seccomp(f, p, agent.as_ref(), state)?;
    }
    ch.send(&ToRuntime::Ready)
        .step(|| "write to the runtime".into())?;
    let err = exec_program(&program, proc_);
    Err(SetupError::os(format!("exec {}", program.display()), err))
}

/// Installs `filter` and hands its notify listener, if any, to the agent
/// connected on `agent` with the container `state` JSON.
pub(super) fn install_seccomp(
    filter: &seccomp::Filter,
    profile: &ocikit_types::runtime::Seccomp,
    agent: Option<&UnixStream>,
    state: &str,
) -> Result<(), SetupError> {
    let listener = seccomp::install(&Linux, filter)?;
    if let (Some(fd), Some(sock)) = (listener, agent) {
        seccomp::send_listener(sock, fd, &profile.listener_metadata, state)
            .step(|| format!("send seccomp listener to {}", profile.listener_path))?;
    }
    Ok(())
}
