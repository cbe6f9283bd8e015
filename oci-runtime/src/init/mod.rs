//! The container init, and the protocol between it and the runtime.
//!
//! The runtime never forks and then keeps running Rust code in the child:
//! it spawns a fresh copy of a program (by default `/proc/self/exe`) with
//! [`std::process::Command`], whose child side only does async-signal-safe
//! `dup2`/`fcntl` before `execve`. That program calls
//! [`init_if_requested`] first thing in `main`, while it is still
//! single-threaded, and becomes the init:
//!
//! 1. stage 1 reads its [`InitConfig`] from the socket it inherited,
//!    enters the container's cgroup (see [`crate::cgroup::Entry`]), joins
//!    namespaces given by path, unshares a new user namespace (the runtime
//!    writes the id maps), then clones stage 2 with the remaining
//!    namespace flags and `CLONE_PARENT`, so stage 2 is a child of the
//!    runtime (which can therefore `waitpid` it), reports its pid, makes
//!    the new network namespace if there is one and hands it to stage 2,
//!    and exits;
//! 2. stage 2 (pid 1 of the new pid namespace) sets up the rootfs (joining
//!    the network namespace before anything depends on it) and the
//!    process, reports `ready`, waits for `start` on its exec socket, runs
//!    the startContainer hooks and execs the user program.
//!
//! Cloning in stage 1 is sound because stage 1 is single-threaded: it was
//! just exec'd and has started no threads.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use ocikit_types::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::engine::container::EXEC_SOCKET;
use crate::setup::rootfs::{self, RootfsOptions};
use crate::setup::{hook, lsm, process, seccomp};
use crate::sys;
use crate::sys::syscalls::Linux;

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
    Error { message: String },
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

/// Runs the container init and never returns if this process was started
/// by the engine as one; returns at once otherwise.
///
/// Programs that create containers through [`Runtime`](crate::Runtime)
/// must call this first thing in `main`, before starting threads (an async
/// runtime included): the engine re-executes the current program to become
/// the container's init (see the crate documentation, "How the init is
/// started").
///
/// ```no_run
/// // First thing in `main`:
/// ocikit_runtime::init_if_requested();
/// // ... the program proper, tokio and all ...
/// ```
pub fn init_if_requested() {
    let Some(fd) = std::env::var_os(ENV_FD) else {
        return;
    };
    std::env::remove_var(ENV_FD);
    let fd: i32 = match fd.to_str().and_then(|s| s.parse().ok()) {
        Some(fd) if fd > 2 && sys::fd_is_open(fd) => fd,
        _ => {
            eprintln!("ocikit init: {ENV_FD} is not an open descriptor");
            std::process::exit(2);
        }
    };
    // The runtime places the preserved descriptors at 3..fd and the init
    // socket at fd; anything above was inherited by accident (a caller's
    // descriptor opened without O_CLOEXEC) and must not reach the
    // container: a host directory still open in the init can become the
    // process's cwd through `process.cwd` = /proc/self/fd/N
    // (CVE-2024-21626). Closing, not just marking close-on-exec, because
    // the chdir happens before exec.
    // SAFETY: first thing in main: nothing in this process owns a
    // descriptor above `fd` yet.
    if let Err(e) = unsafe { sys::close_from(fd as u32 + 1) } {
        eprintln!("ocikit init: close inherited descriptors: {e}");
        std::process::exit(2);
    }
    // SAFETY: the runtime passed `fd` to us and nothing else owns it.
    let sock = UnixStream::from(unsafe { sys::take_fd(fd) });
    let mut ch = match Channel::new(sock) {
        Ok(ch) => ch,
        Err(_) => std::process::exit(2),
    };
    let code = match stage1(&mut ch) {
        Ok(()) => 0,
        Err(message) => {
            let _ = ch.send(&ToRuntime::Error { message });
            1
        }
    };
    std::process::exit(code);
}

fn stage1(ch: &mut Channel) -> Result<(), String> {
    let mut cfg: InitConfig = match ch.recv() {
        Ok(Some(cfg)) => cfg,
        Ok(None) => return Err("runtime closed the init socket".into()),
        Err(e) => return Err(format!("read init config: {e}")),
    };
    // Into the cgroup before anything else (a cgroup namespace made
    // later is rooted at it), and before joining any namespace, while its
    // paths resolve on the host.
    let cgroup_v2 = match &cfg.cgroup {
        Some(entry) => enter_cgroup(entry)?,
        None => None,
    };
    // The host's procfs, for writes that no mount in the container may
    // redirect (CVE-2025-52881).
    let host_proc = lsm::open_host_proc()?;
    if let (Some(_), Some(adj)) = (
        &cfg.exec,
        cfg.spec.process.as_ref().and_then(|p| p.oom_score_adj),
    ) {
        // An exec process inherits it from stage 1 (the container's init
        // sets its own while it sets up the rootfs).
        let fd = rustix::fs::openat(
            &host_proc,
            format!("{}/oom_score_adj", std::process::id()),
            rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| format!("open oom_score_adj: {e}"))?;
        std::fs::File::from(fd)
            .write_all(adj.to_string().as_bytes())
            .map_err(|e| format!("set oom_score_adj {adj}: {e}"))?;
    }
    // Bind the exec socket while still the runtime's user: a new user
    // namespace's root may not write to the state directory. Relative
    // name: the state directory may be too long a path for sockaddr_un.
    let listener = if cfg.exec.is_none() {
        std::env::set_current_dir(&cfg.state_dir)
            .map_err(|e| format!("enter state directory {}: {e}", cfg.state_dir.display()))?;
        Some(UnixListener::bind(EXEC_SOCKET).map_err(|e| format!("bind exec socket: {e}"))?)
    } else {
        None
    };
    // Likewise connect to the console socket while its path is reachable.
    let console = match &cfg.console_socket {
        Some(p) => Some(
            UnixStream::connect(p)
                .map_err(|e| format!("connect to console socket {}: {e}", p.display()))?,
        ),
        None => None,
    };
    // And to the seccomp agent's socket, used just before execve.
    let agent = match cfg.spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        Some(profile) if seccomp::notifies(profile) => {
            let p = &profile.listener_path;
            Some(
                UnixStream::connect(p)
                    .map_err(|e| format!("connect to seccomp listener {p}: {e}"))?,
            )
        }
        _ => None,
    };
    // Idmapped mounts, made while still in the runtime's namespaces: their
    // maps name host ids, and only the host is privileged over the
    // filesystems. Stage 2 inherits the detached mounts through the clone.
    let requests =
        rootfs::idmap_requests(&cfg.spec).map_err(|i| crate::Error::from(i).to_string())?;
    let mut idmapped = Vec::new();
    for r in requests {
        let what = || format!("idmapped mount of {}", r.source.display());
        // SAFETY: stage 1 is single-threaded (see `clone_process` below).
        let userns = unsafe { sys::userns_with_maps(&r.uid_map, &r.gid_map) }
            .map_err(|e| format!("user namespace for {}: {e}", what()))?;
        let tree = rootfs::idmapped_tree(&r, &cfg.rootfs.bundle, &userns)
            .map_err(|e| format!("{}: {e}", what()))?;
        cfg.rootfs
            .idmapped
            .push((r.index, std::os::fd::AsRawFd::as_raw_fd(&tree)));
        idmapped.push(tree);
    }
    // Open every namespace (and an exec's root) before joining any: once
    // in the container's mount namespace, paths resolve in its /proc.
    let exec_root = match &cfg.exec {
        Some(t) => Some(
            std::fs::File::open(&t.root)
                .map_err(|e| format!("open container root {}: {e}", t.root.display()))?,
        ),
        None => None,
    };
    let mut namespaces = Vec::with_capacity(cfg.join.len());
    for (path, nstype) in &cfg.join {
        let f = std::fs::File::open(path)
            .map_err(|e| format!("open namespace {}: {e}", path.display()))?;
        namespaces.push((f, path, *nstype));
    }
    for (f, path, nstype) in &namespaces {
        sys::setns(std::os::fd::AsRawFd::as_raw_fd(f), *nstype)
            .map_err(|e| format!("join namespace {}: {e}", path.display()))?;
    }
    drop(namespaces);
    if let Some(root) = exec_root {
        rustix::process::fchdir(&root)
            .and_then(|()| rustix::process::chroot("."))
            .and_then(|()| rustix::process::chdir("/"))
            .map_err(|e| format!("enter the container's root: {e}"))?;
    }
    if cfg.new_userns {
        sys::unshare(libc::CLONE_NEWUSER).map_err(|e| format!("unshare user namespace: {e}"))?;
        ch.send(&ToRuntime::UserNs).map_err(|e| e.to_string())?;
        match ch.recv::<ToInit>() {
            Ok(Some(ToInit::Continue { .. })) => {}
            _ => return Err("runtime did not map the user namespace".into()),
        }
        sys::set_ids(0, 0).map_err(|e| format!("become root in the user namespace: {e}"))?;
    }
    // After the user namespace, which then owns the time namespace.
    crate::setup::timens::setup(&cfg.spec)?;
    // From here on no process of the container may ptrace us or open
    // our /proc files (we hold host descriptors); execve of the user
    // program restores the default. After the id maps: a non-dumpable
    // process's /proc files belong to root, and a rootless runtime must
    // write them.
    sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(|e| format!("set non-dumpable: {e}"))?;
    // Stage 2 must not talk to the runtime before stage 1 has reported
    // its pid: it waits for EOF on this pair, which comes once stage 1
    // has.
    let (gate_r, gate_w) = UnixStream::pair().map_err(|e| format!("create gate: {e}"))?;
    // A new network namespace takes half a millisecond to make (more
    // than the clone): stage 1 makes it after the clone, while stage 2
    // sets up the rootfs, and hands it over on this pair. Not with
    // netDevices, which the runtime moves in once it has the pid.
    let newnet = libc::CLONE_NEWNET as u64;
    let net_later = (cfg.exec.is_none()
        && cfg.clone_flags & newnet != 0
        && cfg
            .spec
            .linux
            .as_ref()
            .is_none_or(|l| l.net_devices.is_empty()))
    .then(UnixStream::pair)
    .transpose()
    .map_err(|e| format!("create network namespace channel: {e}"))?;
    let flags = match net_later {
        Some(_) => cfg.clone_flags & !newnet,
        None => cfg.clone_flags,
    };
    let forked = clone_stage2(flags, cgroup_v2)?;
    match forked {
        sys::Forked::Parent(pid) => {
            ch.send(&ToRuntime::Pid { pid })
                .map_err(|e| e.to_string())?;
            drop(gate_w);
            if let Some((tx, _)) = net_later {
                sys::unshare(libc::CLONE_NEWNET)
                    .map_err(|e| format!("unshare network namespace: {e}"))?;
                let ns = rustix::fs::openat(
                    &host_proc,
                    "thread-self/ns/net",
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| format!("open new network namespace: {e}"))?;
                sys::send_fd(&tx, std::os::fd::AsFd::as_fd(&ns), b"net")
                    .map_err(|e| format!("hand over network namespace: {e}"))?;
            }
            Ok(())
        }
        sys::Forked::Child => {
            drop(gate_w);
            let mut gate_r = gate_r;
            let _ = gate_r.read_to_end(&mut Vec::new());
            let netns = net_later.map(|(_, rx)| rx);
            let result = match (listener, &cfg.exec) {
                (_, Some(target)) => {
                    exec_process(ch, &cfg, &target.state, console, agent, &host_proc)
                }
                (Some(listener), None) => {
                    stage2(ch, &cfg, listener, console, agent, &host_proc, netns)
                }
                (None, None) => Err("no exec socket".into()),
            };
            let message = match result {
                Ok(never) => match never {},
                Err(m) => m,
            };
            let _ = ch.send(&ToRuntime::Error { message });
            std::process::exit(1);
        }
    }
}

enum Never {}

/// The container's cgroup2 group, open while stage 1 still has the
/// runtime's credentials.
struct CgroupV2 {
    dir: OwnedFd,
    /// Its `cgroup.procs`, for kernels without `CLONE_INTO_CGROUP`: the
    /// kernel checks a write against the credentials of the opener.
    procs: (std::fs::File, PathBuf),
}

/// Moves this (single-threaded) process into the group of every v1
/// hierarchy by writing `0` to its `tasks` file, and opens the cgroup2
/// group for [`clone_stage2`]; see [`crate::cgroup::Entry`] for why.
fn enter_cgroup(entry: &crate::cgroup::Entry) -> Result<Option<CgroupV2>, String> {
    for tasks in &entry.v1_tasks {
        std::fs::write(tasks, "0").map_err(|e| format!("enter cgroup {}: {e}", tasks.display()))?;
    }
    let Some(dir) = &entry.v2_dir else {
        return Ok(None);
    };
    let open_err =
        |p: &std::path::Path, e: std::io::Error| format!("open cgroup {}: {e}", p.display());
    let fd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| open_err(dir, e.into()))?;
    let procs = dir.join("cgroup.procs");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&procs)
        .map_err(|e| open_err(&procs, e))?;
    Ok(Some(CgroupV2 {
        dir: fd,
        procs: (file, procs),
    }))
}

/// Clones stage 2 with namespace `flags` and
/// `CLONE_PARENT`, into the cgroup2 group `cgroup_v2` when given (the
/// kernel roots a new cgroup namespace at that group).
///
/// Where the kernel has no clone3 or no `CLONE_INTO_CGROUP`, stage 1
/// writes itself into the group's `cgroup.procs` first, as runtimes
/// always did.
fn clone_stage2(flags: u64, cgroup_v2: Option<CgroupV2>) -> Result<sys::Forked, String> {
    let flags = flags | libc::CLONE_PARENT as u64;
    if let Some(CgroupV2 {
        dir,
        procs: (mut file, procs),
    }) = cgroup_v2
    {
        use std::os::fd::AsRawFd;
        // SAFETY: this process was exec'd moments ago by the runtime and
        // has started no threads (init_if_requested runs first in main).
        match unsafe { sys::clone_into_cgroup(flags, dir.as_raw_fd()) } {
            Ok(forked) => return Ok(forked),
            Err(e) => {
                tracing::debug!(error = %e, "clone3 into cgroup; writing cgroup.procs instead");
                file.write_all(b"0").map_err(|w| {
                    format!(
                        "enter cgroup {}: {w} (clone3 into it: {e})",
                        procs.display()
                    )
                })?;
            }
        }
    }
    // SAFETY: as above.
    unsafe { sys::clone_process(flags) }.map_err(|e| format!("clone container init: {e}"))
}

fn stage2(
    ch: &mut Channel,
    cfg: &InitConfig,
    listener: UnixListener,
    console: Option<UnixStream>,
    agent: Option<UnixStream>,
    host_proc: &std::os::fd::OwnedFd,
    netns: Option<UnixStream>,
) -> Result<Never, String> {
    let _ = rustix::process::setsid();

    let spec = &cfg.spec;
    let profile = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    let filter = profile
        .map(seccomp::compile)
        .transpose()
        .map_err(|e| e.to_string())?;
    // Joins the network namespace stage 1 makes, once the rootfs setup
    // needs it.
    let mut join_net = || match &netns {
        Some(rx) => {
            let ns = sys::recv_fd(rx)?;
            sys::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET)
        }
        None => Ok(()),
    };
    rootfs::prepare_joining_net(&Linux, spec, &cfg.rootfs, &mut join_net)
        .map_err(|e| e.to_string())?;
    ch.send(&ToRuntime::Hooks).map_err(|e| e.to_string())?;
    let state = match ch.recv::<ToInit>() {
        Ok(Some(ToInit::Continue { state })) => state,
        _ => std::process::exit(1),
    };
    if let Some(h) = &spec.hooks {
        hook::run_all("createContainer", &h.create_container, state.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    rootfs::enter(&Linux, spec, &cfg.rootfs).map_err(|e| e.to_string())?;
    let default_process = ocikit_types::runtime::Process::new("/");
    let proc_ = spec.process.as_ref().unwrap_or(&default_process);
    if let Some(sock) = console {
        // After entering the root: the pty must come from the container's
        // devpts instance.
        crate::setup::console::setup(&sock, proc_.console_size.as_ref())
            .map_err(|e| format!("set up console: {e}"))?;
    }
    // While the init still has every capability it was given, and before
    // a seccomp filter that may forbid these calls.
    process::setup_attributes(&Linux, spec).map_err(|e| e.to_string())?;
    lsm::apply(host_proc, cfg.lsm, proc_)?;
    let (filter, program) = setup_process(proc_, filter, profile, agent.as_ref(), &state)?;
    ch.send(&ToRuntime::Ready).map_err(|e| e.to_string())?;

    // Wait for `start`: it connects, sends the state, and reads our answer
    // until EOF; exec closes the (close-on-exec) connection.
    let (mut conn, _) = listener
        .accept()
        .map_err(|e| format!("wait for start: {e}"))?;
    drop(listener);
    let mut state = String::new();
    let _ = BufReader::new(&mut conn).read_line(&mut state);
    let fail = |conn: &mut UnixStream, msg: String| -> ! {
        let _ = conn.write_all(msg.as_bytes());
        std::process::exit(1);
    };
    if let Some(h) = &spec.hooks {
        if let Err(e) = hook::run_all("startContainer", &h.start_container, state.as_bytes()) {
            fail(&mut conn, e.to_string());
        }
    }
    if let Err(e) = sys::cloexec_from(3 + cfg.preserve_fds) {
        fail(&mut conn, format!("mark descriptors close-on-exec: {e}"));
    }
    // The init is in its cgroup; before seccomp, which may forbid the
    // call.
    if let Err(e) = process::final_affinity(&Linux, proc_) {
        fail(&mut conn, e.to_string());
    }
    if let (Some(f), Some(p)) = (&filter, profile) {
        if let Err(e) = install_seccomp(f, p, agent.as_ref(), &state) {
            fail(&mut conn, e);
        }
    }
    let err = exec_program(&program, proc_);
    fail(&mut conn, format!("exec {}: {err}", program.display()));
}

/// The steps both the container init and an exec process take once in
/// the container: seccomp where it must precede the capability drop, the
/// process settings, and the lookup of the program. Returns the filter
/// still to install just before execve, and the program's path.
fn setup_process(
    proc_: &ocikit_types::runtime::Process,
    mut filter: Option<seccomp::Filter>,
    profile: Option<&ocikit_types::runtime::Seccomp>,
    agent: Option<&UnixStream>,
    state: &str,
) -> Result<(Option<seccomp::Filter>, PathBuf), String> {
    // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: install
    // before the capabilities go (as runc does). Otherwise it is the last
    // step before execve.
    if filter.is_some() && seccomp::before_caps(proc_.no_new_privileges) {
        if let (Some(f), Some(p)) = (filter.take(), profile) {
            install_seccomp(&f, p, agent, state)?;
        }
    }
    process::setup(&Linux, proc_).map_err(|e| e.to_string())?;
    let arg0 = proc_.args.first().ok_or("process.args is empty")?;
    let program = process::find_program(arg0, &proc_.env)
        .ok_or_else(|| format!("exec: {arg0:?}: executable file not found in $PATH"))?;
    Ok((filter, program))
}

/// execve(2) of the user program with exactly `proc_.env`; returns only
/// on failure.
fn exec_program(
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
fn exec_process(
    ch: &mut Channel,
    cfg: &InitConfig,
    state: &str,
    console: Option<UnixStream>,
    agent: Option<UnixStream>,
    host_proc: &std::os::fd::OwnedFd,
) -> Result<Never, String> {
    let _ = rustix::process::setsid();
    let spec = &cfg.spec;
    let proc_ = spec.process.as_ref().ok_or("no process to exec")?;
    let profile = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    let filter = profile
        .map(seccomp::compile)
        .transpose()
        .map_err(|e| e.to_string())?;
    if let Some(sock) = console {
        crate::setup::console::setup(&sock, proc_.console_size.as_ref())
            .map_err(|e| format!("set up console: {e}"))?;
    }
    process::setup_attributes(&Linux, spec).map_err(|e| e.to_string())?;
    lsm::apply(host_proc, cfg.lsm, proc_)?;
    let (filter, program) = setup_process(proc_, filter, profile, agent.as_ref(), state)?;
    sys::cloexec_from(3 + cfg.preserve_fds)
        .map_err(|e| format!("mark descriptors close-on-exec: {e}"))?;
    process::final_affinity(&Linux, proc_).map_err(|e| e.to_string())?;
    if let (Some(f), Some(p)) = (&filter, profile) {
        install_seccomp(f, p, agent.as_ref(), state)?;
    }
    ch.send(&ToRuntime::Ready).map_err(|e| e.to_string())?;
    let err = exec_program(&program, proc_);
    Err(format!("exec {}: {err}", program.display()))
}

/// Installs `filter` and hands its notify listener, if any, to the agent
/// connected on `agent` with the container `state` JSON.
fn install_seccomp(
    filter: &seccomp::Filter,
    profile: &ocikit_types::runtime::Seccomp,
    agent: Option<&UnixStream>,
    state: &str,
) -> Result<(), String> {
    let listener = seccomp::install(&Linux, filter).map_err(|e| e.to_string())?;
    if let (Some(fd), Some(sock)) = (listener, agent) {
        seccomp::send_listener(sock, fd, &profile.listener_metadata, state)
            .map_err(|e| format!("send seccomp listener to {}: {e}", profile.listener_path))?;
    }
    Ok(())
}

/// Connects to a created container's exec socket, sends `state`, and waits
/// for the init to exec: `Ok` at EOF without a message, `Err(message)`
/// when the init reported a failure.
pub(crate) fn signal_start(
    sock: &std::path::Path,
    state: &[u8],
) -> std::io::Result<Result<(), String>> {
    let mut conn = UnixStream::connect(sock)?;
    conn.write_all(state)?;
    conn.write_all(b"\n")?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(if answer.is_empty() {
        Ok(())
    } else {
        Err(answer)
    })
}
