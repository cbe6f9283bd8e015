//! The engine: container lifecycle operations over a state directory.

pub(crate) mod container;
pub(crate) mod exec;
pub(crate) mod id;
pub(crate) mod signal;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ocikit_types::runtime::{
    CgroupFeatures, Features, LinuxFeatures, MountExtensions, NamespaceType, SeccompFeatures, Spec,
    State, Status, Support,
};
use ocikit_types::Document;

use crate::cgroup::{self, Cgroup, FreezerState};
use crate::engine::container::{now_rfc3339, proc_stat, Container, Record, EXEC_SOCKET};
use crate::init::{self, Channel, InitConfig, ToInit, ToRuntime, ENV_FD};
use crate::setup::hook;
use crate::setup::rootfs::{Pivot, RootfsOptions};
use crate::{sys, ContainerId, Error, Result, Signal};

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

/// Which processes [`Runtime::kill`] signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillScope {
    /// Only the container's init (the user program).
    Init,
    /// Every process in the container's cgroup (`runc kill --all`).
    All,
}

/// Whether [`Runtime::delete`] may stop a live container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteMode {
    /// Refuse unless the container is stopped or only created.
    Stopped,
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

/// Settings for [`Runtime::create`] and [`Runtime::run`].
#[derive(Debug, Default)]
pub struct CreateOptions {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pid_file: Option<PathBuf>,
    root_entry: RootEntry,
    preserve_fds: u32,
    listen_fds: u32,
    console_socket: Option<PathBuf>,
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

pub(crate) fn ns_flag(kind: &NamespaceType) -> Option<i32> {
    Some(match kind {
        NamespaceType::Mount => libc::CLONE_NEWNS,
        NamespaceType::Pid => libc::CLONE_NEWPID,
        NamespaceType::Network => libc::CLONE_NEWNET,
        NamespaceType::Uts => libc::CLONE_NEWUTS,
        NamespaceType::Ipc => libc::CLONE_NEWIPC,
        NamespaceType::User => libc::CLONE_NEWUSER,
        NamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        NamespaceType::Time => libc::CLONE_NEWTIME,
        _ => return None,
    })
}

/// How the init gets its namespaces.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NamespacePlan {
    /// CLONE_NEW* flags for the clone of the container process.
    pub(crate) clone_flags: u64,
    /// Unshare a new user namespace first (its maps written by the runtime).
    pub(crate) new_userns: bool,
    /// Namespaces to join by path, the user namespace first (joining it
    /// grants the rights to join the others).
    pub(crate) join: Vec<(PathBuf, i32)>,
}

pub(crate) fn namespace_plan(namespaces: &[ocikit_types::runtime::Namespace]) -> NamespacePlan {
    let mut plan = NamespacePlan {
        clone_flags: 0,
        new_userns: false,
        join: Vec::new(),
    };
    for ns in namespaces {
        let Some(flag) = ns_flag(&ns.kind) else {
            continue;
        };
        if !ns.path.is_empty() {
            let entry = (PathBuf::from(&ns.path), flag);
            if ns.kind == NamespaceType::User {
                plan.join.insert(0, entry);
            } else {
                plan.join.push(entry);
            }
        } else if ns.kind == NamespaceType::User {
            plan.new_userns = true;
        } else if ns.kind == NamespaceType::Time {
            // clone(2) cannot take CLONE_NEWTIME (it overlaps the exit
            // signal bits): stage 1 unshares it, see `timens::setup`.
        } else {
            plan.clone_flags |= flag as u64;
        }
    }
    plan
}

/// Refuses a process without a program, or whose `terminal` does not
/// match whether a console socket was given (create and exec alike).
pub(crate) fn check_args_and_terminal(
    process: &ocikit_types::runtime::Process,
    console_socket: bool,
) -> Result<()> {
    if process.args.is_empty() {
        return Err(Error::BadConfig {
            field: "process.args",
            expected: "at least one argument",
            found: "[]".into(),
        });
    }
    if process.terminal != console_socket {
        return Err(Error::BadConfig {
            field: "process.terminal",
            expected: if process.terminal {
                "a console socket to send the terminal to (runc's --console-socket)"
            } else {
                "terminal true when a console socket is given"
            },
            found: process.terminal.to_string(),
        });
    }
    Ok(())
}

/// Refuses configs this engine cannot run faithfully.
pub(crate) fn check_spec(spec: &Spec, console_socket: bool) -> Result<()> {
    let process = spec.process.as_ref().ok_or(Error::BadConfig {
        field: "process",
        expected: "a process to run",
        found: "none".into(),
    })?;
    check_args_and_terminal(process, console_socket)?;
    let linux = spec.linux.clone().unwrap_or_default();
    let has = |k: NamespaceType| linux.namespaces.iter().any(|n| n.kind == k);
    if !has(NamespaceType::Mount) {
        return Err(Error::BadConfig {
            field: "linux.namespaces",
            expected: "a mount namespace (the engine mounts the rootfs in it)",
            found: "none".into(),
        });
    }
    if (!spec.hostname.is_empty() || !spec.domainname.is_empty()) && !has(NamespaceType::Uts) {
        return Err(Error::BadConfig {
            field: "hostname",
            expected: "a uts namespace when hostname or domainname is set",
            found: "no uts namespace".into(),
        });
    }
    for key in linux.sysctl.keys() {
        check_sysctl(key, &has)?;
    }
    crate::setup::timens::check(spec)?;
    // Refuse what would otherwise be silently ignored: a container must
    // never run less confined, or differently, than its config says.
    if let Some(profile) = &linux.seccomp {
        if cfg!(target_arch = "x86_64") {
            // Compiled again by the init; done here so a bad profile fails
            // `create` with a config error before anything is set up.
            crate::setup::seccomp::compile(profile)?;
        } else {
            return Err(Error::Unsupported {
                feature: "linux.seccomp on this architecture (the engine filters x86_64 only)",
            });
        }
    }
    let unsupported = [
        (
            !linux.mount_label.is_empty() && crate::setup::lsm::HostLsm::probe().selinux,
            "linux.mountLabel on an SELinux host",
        ),
        (linux.intel_rdt.is_some(), "linux.intelRdt"),
    ];
    if let Some((_, feature)) = unsupported.iter().find(|(present, _)| *present) {
        return Err(Error::Unsupported { feature });
    }
    crate::setup::process::check_attributes(spec)?;
    crate::setup::rootfs::idmap_requests(spec)?;
    crate::setup::netdev::check(spec)?;
    if has(NamespaceType::User)
        && linux
            .namespaces
            .iter()
            .any(|n| n.kind == NamespaceType::User && n.path.is_empty())
        && (linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty())
    {
        return Err(Error::BadConfig {
            field: "linux.uidMappings",
            expected: "uid and gid mappings for a new user namespace",
            found: "none".into(),
        });
    }
    Ok(())
}

/// A sysctl the init may write: a well-formed name (the init writes
/// `/proc/sys/` + the key with dots made slashes, so a key that is a path
/// or has `..` would name any host file) of a namespaced sysctl whose
/// namespace the container has (any other is the host kernel's), as
/// runc's validator requires.
fn check_sysctl(key: &str, has: &dyn Fn(NamespaceType) -> bool) -> Result<()> {
    let bad = |expected| Error::BadConfig {
        field: "linux.sysctl",
        expected,
        found: key.to_owned(),
    };
    let well_formed = !key.is_empty()
        && key.split(['.', '/']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b':')
        });
    if !well_formed {
        return Err(bad("a sysctl name (dot- or slash-separated words)"));
    }
    let name = key.replace('/', ".");
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let ns = if IPC.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
        NamespaceType::Ipc
    } else if name.starts_with("net.") {
        NamespaceType::Network
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        NamespaceType::Uts
    } else {
        return Err(bad(
            "a sysctl of a namespace the container has (ipc, net, uts)",
        ));
    };
    if !has(ns) {
        return Err(bad(
            "a sysctl of a namespace the container has (ipc, net, uts)",
        ));
    }
    Ok(())
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io("write", path, e))
}

/// A close-on-exec descriptor (numbered `min` or above) for executing
/// `path` as a container init such that no process can ever write the
/// binary through the init's `/proc/<pid>/exe` (CVE-2019-5736: a
/// container process sharing the init's pid namespace opens that link
/// while the init runs, then reopens it for writing once the init has
/// exec'd the user program; a `#!/proc/self/exe` user program re-runs
/// the runtime binary inside the container the same way).
///
/// The binary is bind-mounted into a detached mount (open_tree(2),
/// attached nowhere, so never visible in any mount namespace) made
/// read-only with mount_setattr(2): the init's exe then names a file on a
/// read-only mount, and opening it for writing fails with EROFS, whatever
/// path leads to it. Nothing is copied. Where the new mount API is
/// unavailable, falls back to a copy in a sealed memfd.
pub(crate) fn sealed_program(path: &Path, min: i32) -> io::Result<OwnedFd> {
    use rustix::mount::{open_tree, OpenTreeFlags};
    let tree = open_tree(
        rustix::fs::CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(io::Error::from)
    .and_then(|fd| sys::mount_setattr_readonly(&fd).map(|()| fd));
    let fd = match tree {
        Ok(fd) => fd,
        Err(e) => {
            tracing::debug!(error = %e, "no read-only mount for the init program, copying it to a sealed memfd");
            sealed_copy(path)?
        }
    };
    Ok(rustix::io::fcntl_dupfd_cloexec(&fd, min)?)
}

/// `path` copied into a memfd sealed against any change.
fn sealed_copy(path: &Path) -> io::Result<OwnedFd> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let memfd = rustix::fs::memfd_create(
        "ocikit-init",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut dst = std::fs::File::from(memfd);
    io::copy(&mut std::fs::File::open(path)?, &mut dst)?;
    rustix::fs::fcntl_add_seals(
        &dst,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    Ok(dst.into())
}

/// Whether `r` has a blockIO setting. An empty `blockIO` object asks for
/// nothing (podman writes one when it discards a weight the host's cgroups
/// cannot apply).
fn asks_block_io(r: &ocikit_types::runtime::Resources) -> bool {
    r.block_io
        .as_ref()
        .is_some_and(|b| *b != ocikit_types::runtime::BlockIo::default())
}

/// Whether `r` asks for a limit only a cgroup can enforce (device rules
/// do not count: a user namespace cannot create devices anyway).
fn has_limits(r: &ocikit_types::runtime::Resources) -> bool {
    r.memory.is_some()
        || r.cpu.is_some()
        || r.pids.is_some()
        || asks_block_io(r)
        || !r.hugepage_limits.is_empty()
        || r.network.is_some()
        || !r.rdma.is_empty()
        || !r.unified.is_empty()
}

/// Writes the id maps of the user namespace of process `pid`. Root writes
/// them directly. An unprivileged user may map only its own uid and gid
/// itself (and must first disable setgroups(2) in the namespace); any
/// other map goes through the setuid helpers newuidmap(1) and
/// newgidmap(1), which allow the subordinate ids /etc/subuid and
/// /etc/subgid grant the user.
pub(crate) fn write_id_maps(
    pid: u32,
    uid_map: &[ocikit_types::runtime::IdMapping],
    gid_map: &[ocikit_types::runtime::IdMapping],
) -> Result<()> {
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();
    let only_self = |m: &[ocikit_types::runtime::IdMapping], id: u32| {
        m.len() == 1 && m[0].host_id == id && m[0].size == 1
    };
    let direct = euid == 0 || (only_self(uid_map, euid) && only_self(gid_map, egid));
    if direct {
        if euid != 0 {
            let path = format!("/proc/{pid}/setgroups");
            std::fs::write(&path, "deny").map_err(|e| Error::io("write", path, e))?;
        }
        for (file, m) in [("uid_map", uid_map), ("gid_map", gid_map)] {
            let text: String = m
                .iter()
                .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
                .collect();
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, text).map_err(|e| Error::io("write id map", path, e))?;
        }
        return Ok(());
    }
    for (tool, m) in [("newuidmap", uid_map), ("newgidmap", gid_map)] {
        let mut cmd = Command::new(tool);
        cmd.arg(pid.to_string());
        for m in m {
            cmd.args([
                m.container_id.to_string(),
                m.host_id.to_string(),
                m.size.to_string(),
            ]);
        }
        let out = cmd.output().map_err(|e| Error::IdMapHelper {
            tool,
            pid,
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(Error::IdMapHelper {
                tool,
                pid,
                message: format!(
                    "{} ({})",
                    String::from_utf8_lossy(&out.stderr).trim(),
                    out.status
                ),
            });
        }
    }
    Ok(())
}

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
    /// An engine keeping container state under `root` (runc's `--root`).
    pub fn new(root: impl AsRef<Path>) -> Self {
        Runtime {
            root: root.as_ref().to_owned(),
            init_program: PathBuf::from("/proc/self/exe"),
        }
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The program executed to become a container's init (default
    /// `/proc/self/exe`, this program). It must call
    /// [`init_if_requested`](crate::init_if_requested) first thing in
    /// `main`.
    pub fn set_init_program(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.init_program = path.into();
        self
    }

    /// The container `id`.
    ///
    /// # Errors
    /// [`Error::InvalidId`], [`Error::NotFound`], [`Error::CorruptState`].
    pub fn container(&self, id: &str) -> Result<Container> {
        let id: ContainerId = id.parse()?;
        let dir = self.root.join(id.as_str());
        let record = Record::load(&dir, id.as_str())?;
        Ok(Container { record, dir })
    }

    /// The state of container `id`, as `runc state` prints it.
    ///
    /// # Errors
    /// As [`Runtime::container`].
    pub fn state(&self, id: &str) -> Result<State> {
        Ok(self.container(id)?.state())
    }

    /// The states of every container, sorted by ID.
    ///
    /// # Errors
    /// [`Error::Io`] if the state directory cannot be read. Corrupt
    /// records are skipped with a warning.
    pub fn list(&self) -> Result<Vec<State>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read state directory", &self.root, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            match self.container(&name) {
                Ok(c) => out.push(c.state()),
                Err(e) => tracing::warn!(id = %name, error = %e, "skipping container"),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Creates container `id` from the bundle directory `bundle`: reads and
    /// validates `config.json`, creates the cgroup and namespaces, sets up
    /// the rootfs and process, and leaves the init waiting for
    /// [`Runtime::start`].
    ///
    /// # Errors
    /// [`Error::AlreadyExists`]; [`Error::Config`] or [`Error::BadConfig`]
    /// for the bundle (including a seccomp profile the engine cannot
    /// compile faithfully); [`Error::Unsupported`] (systemd cgroups); [`Error::InitFailed`] with the failing
    /// setup step; [`Error::Hook`] for prestart, createRuntime and
    /// createContainer hooks. Nothing is left behind on failure.
    ///
    /// # Security
    /// Mount destinations, devices and masked paths are resolved inside
    /// the rootfs with `openat2(RESOLVE_IN_ROOT)` and mounted through the
    /// opened handle, so symlinks in the rootfs cannot redirect them to the
    /// host. Bind mount *sources* are host paths taken as given. A
    /// `linux.seccomp` profile is installed as the last step before the
    /// user program's execve (before the capabilities are dropped when
    /// `noNewPrivileges` is false). Device rules go to the v1 devices
    /// controller, or on pure cgroup v2 to an eBPF program attached to the
    /// container's group.
    pub fn create(
        &self,
        id: &str,
        bundle: impl AsRef<Path>,
        options: CreateOptions,
    ) -> Result<Container> {
        self.create_inner(id, bundle.as_ref(), options)
    }

    fn create_inner(&self, id: &str, bundle: &Path, options: CreateOptions) -> Result<Container> {
        let id: ContainerId = id.parse()?;
        let _span = tracing::debug_span!("create", id = %id).entered();
        let bundle =
            std::fs::canonicalize(bundle).map_err(|e| Error::io("open bundle", bundle, e))?;
        let config_path = bundle.join("config.json");
        let bytes = std::fs::read(&config_path).map_err(|e| Error::io("read", &config_path, e))?;
        let mut spec = Spec::from_slice_validated(&bytes).map_err(|source| Error::Config {
            path: config_path.clone(),
            source,
        })?;
        check_spec(&spec, options.console_socket.is_some())?;
        let mut options = options;
        if options.listen_fds > 0 {
            if let Some(p) = spec.process.as_mut() {
                p.env
                    .retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
                p.env.push(format!("LISTEN_FDS={}", options.listen_fds));
                p.env.push("LISTEN_PID=1".into());
            }
            options.preserve_fds += options.listen_fds;
        }
        let root_path = spec.root.as_ref().map_or("rootfs", |r| r.path.as_str());
        let rootfs = bundle.join(root_path);
        let rootfs =
            std::fs::canonicalize(&rootfs).map_err(|e| Error::io("open rootfs", &rootfs, e))?;

        // Only root may read container records or reach their exec sockets.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::io("create state directory", &self.root, e))?;
        let dir = self.root.join(id.as_str());
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists { id: id.to_string() })
            }
            Err(e) => return Err(Error::io("create container directory", &dir, e)),
        }
        let mut cleanup = Cleanup {
            dir: Some(dir.clone()),
            cgroup: None,
            pid: None,
        };
        let container = self.spawn_init(&id, &dir, spec, bundle, rootfs, options, &mut cleanup)?;
        cleanup.disarm();
        Ok(container)
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_init(
        &self,
        id: &ContainerId,
        dir: &Path,
        spec: Spec,
        bundle: PathBuf,
        rootfs: PathBuf,
        options: CreateOptions,
        cleanup: &mut Cleanup,
    ) -> Result<Container> {
        let linux = spec.linux.clone().unwrap_or_default();
        let hierarchies = cgroup::hierarchies()?;
        let rel = cgroup::relative_path(&linux.cgroups_path, id.as_str())?;
        // The init starts up (execve, dynamic linking) while the cgroup is
        // made: it waits for its config, sent once it is in the cgroup.
        let (mut child, ours) = self.spawn_init_program(
            id.as_str(),
            options.preserve_fds,
            [options.stdin, options.stdout, options.stderr],
            spec.process.as_ref(),
        )?;
        let stage1 = child.id();
        cleanup.pid = Some(stage1);
        let rootless = !rustix::process::geteuid().is_root();
        let cg = match Cgroup::create(&hierarchies, &rel) {
            Ok(cg) => Some(cg),
            // Rootless without a delegated cgroup: run without one, as
            // runc does, unless the config asks for limits only a cgroup
            // can enforce.
            Err(Error::Io { source, .. })
                if rootless && source.kind() == io::ErrorKind::PermissionDenied =>
            {
                if linux.resources.as_ref().is_some_and(has_limits) {
                    return Err(Error::Unsupported {
                        feature: "resource limits in a rootless container (no cgroup this user may write)",
                    });
                }
                tracing::debug!("rootless: no cgroup");
                None
            }
            Err(e) => return Err(e),
        };
        cleanup.cgroup = cg.clone();
        if let (Some(cg), Some(r)) = (&cg, &linux.resources) {
            cg.apply(&cgroup::allow_devices(r, &linux.devices))?;
        }

        let NamespacePlan {
            clone_flags,
            new_userns,
            join,
        } = namespace_plan(&linux.namespaces);
        let userns = linux
            .namespaces
            .iter()
            .any(|n| n.kind == NamespaceType::User);
        let cfg = InitConfig {
            rootfs: RootfsOptions {
                rootfs: rootfs.clone(),
                bundle: bundle.clone(),
                pivot: match options.root_entry {
                    RootEntry::PivotRoot => Pivot::PivotRoot,
                    RootEntry::MoveRoot => Pivot::MoveRoot,
                },
                userns,
                cgroup_v2: !hierarchies.is_empty() && hierarchies.iter().all(|h| h.v2),
                cgroup_binds: cg.as_ref().map(Cgroup::binds).unwrap_or_default(),
                idmapped: Vec::new(),
            },
            spec,
            state_dir: dir.to_owned(),
            clone_flags,
            new_userns,
            join,
            preserve_fds: options.preserve_fds,
            console_socket: options.console_socket.clone(),
            exec: None,
            lsm: crate::setup::lsm::HostLsm::probe(),
            cgroup: cg.as_ref().map(Cgroup::entry),
        };

        let res = self.handshake(id, &cfg, stage1, ours, &mut child, cleanup);
        if res.is_err() {
            let _ = child.kill();
        }
        let _ = child.wait();
        let pid = res?;

        let start_time = proc_stat(pid)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::InitFailed {
                id: id.to_string(),
                message: "the init exited before it was started".into(),
            })?;
        let record = Record {
            oci_version: cfg.spec.oci_version.clone(),
            id: id.to_string(),
            pid,
            start_time,
            bundle,
            rootfs,
            created: now_rfc3339(),
            owner: String::new(),
            annotations: cfg.spec.annotations.clone(),
            cgroup: cg,
            hooks: cfg.spec.hooks.clone(),
            exec: crate::engine::container::ExecContext {
                namespaces: linux.namespaces.iter().map(|n| n.kind.clone()).collect(),
                seccomp: linux.seccomp.clone(),
                process: cfg.spec.process.clone(),
            },
        };
        record.save(dir)?;
        if let Some(p) = &options.pid_file {
            write_atomic(p, pid.to_string().as_bytes())?;
        }
        tracing::debug!(pid, "container created");
        Ok(Container {
            record,
            dir: dir.to_owned(),
        })
    }

    /// Starts the init program (stage 1) with the init socket at
    /// descriptor 3 + `preserve_fds` and the given stdio (`None`: the
    /// caller's); returns it and the runtime's end of the socket.
    pub(crate) fn spawn_init_program(
        &self,
        id: &str,
        preserve_fds: u32,
        stdio: [Option<OwnedFd>; 3],
        process: Option<&ocikit_types::runtime::Process>,
    ) -> Result<(std::process::Child, std::os::unix::net::UnixStream)> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| Error::sys("create init socket", id, e))?;
        let target_fd = 3 + preserve_fds as i32;
        // Above every descriptor the child's pre-exec step touches, so
        // that step cannot overwrite it before execve reads it.
        let program = sealed_program(&self.init_program, target_fd + 1)
            .map_err(|e| Error::io("seal container init program", &self.init_program, e))?;
        let mut cmd = Command::new(format!("/proc/self/fd/{}", program.as_raw_fd()));
        cmd.arg0("ocikit-init")
            .env(ENV_FD, target_fd.to_string())
            .current_dir("/");
        let [stdin, stdout, stderr] = stdio;
        let stdio = |fd: Option<OwnedFd>| fd.map_or_else(Stdio::inherit, Stdio::from);
        cmd.stdin(stdio(stdin))
            .stdout(stdio(stdout))
            .stderr(stdio(stderr));
        sys::pass_fd(&mut cmd, theirs.as_raw_fd(), target_fd);
        // Before the init joins the cgroup, whose cpuset (v1) then replaces
        // it; the final affinity is the process's last step before exec.
        if let Some(list) = process
            .and_then(|p| p.exec_cpu_affinity.as_ref())
            .and_then(|a| a.initial.as_deref())
            .filter(|l| !l.trim().is_empty())
        {
            let cpus = crate::setup::process::parse_list("process.execCPUAffinity.initial", list)?;
            sys::affinity_before_exec(&mut cmd, &cpus)
                .map_err(|e| Error::sys("set initial CPU affinity", id, e))?;
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::sys("start container init", id, e))?;
        Ok((child, ours))
    }

    fn handshake(
        &self,
        id: &ContainerId,
        cfg: &InitConfig,
        stage1: u32,
        sock: std::os::unix::net::UnixStream,
        child: &mut std::process::Child,
        cleanup: &mut Cleanup,
    ) -> Result<u32> {
        let sys_err = |op, e| Error::sys(op, id.as_str(), e);
        let mut ch = Channel::new(sock).map_err(|e| sys_err("init socket", e))?;
        ch.set_timeout(Duration::from_secs(120))
            .map_err(|e| sys_err("init socket", e))?;
        ch.send(cfg)
            .map_err(|e| sys_err("send config to init", e))?;
        let linux = cfg.spec.linux.clone().unwrap_or_default();
        let mut pid = None;
        loop {
            let msg = ch
                .recv::<ToRuntime>()
                .map_err(|e| sys_err("read from container init", e))?;
            match msg {
                Some(ToRuntime::UserNs) => {
                    write_id_maps(stage1, &linux.uid_mappings, &linux.gid_mappings)?;
                    ch.send(&ToInit::Continue {
                        state: String::new(),
                    })
                    .map_err(|e| sys_err("write to container init", e))?;
                }
                Some(ToRuntime::Pid { pid: p }) => {
                    let p = p as u32;
                    pid = Some(p);
                    cleanup.pid = Some(p);
                    let _ = child.wait();
                    // Stage 2 waits for stage 1 to exit before it does
                    // anything: its network namespace is ready for them.
                    crate::setup::netdev::move_all(&linux.net_devices, p)?;
                }
                Some(ToRuntime::Hooks) => {
                    // runtime.md's lifecycle runs these hooks after step
                    // 2, the environment's creation, and its state
                    // definitions call that `created` (runc says
                    // `creating`; crun and runtime-tools agree with the
                    // spec).
                    let mut state = State::new(
                        cfg.spec.oci_version.clone(),
                        id.to_string(),
                        Status::Created,
                        cfg.rootfs.bundle.display().to_string(),
                    );
                    state.pid = pid;
                    state.annotations = cfg.spec.annotations.clone();
                    let json = String::from_utf8(state.to_canonical_vec()).unwrap_or_default();
                    if let Some(h) = &cfg.spec.hooks {
                        let r = hook::run_all("prestart", &h.prestart, json.as_bytes()).and_then(
                            |()| hook::run_all("createRuntime", &h.create_runtime, json.as_bytes()),
                        );
                        if let Err(e) = r {
                            let _ = ch.send(&ToInit::Abort);
                            return Err(e);
                        }
                    }
                    ch.send(&ToInit::Continue { state: json })
                        .map_err(|e| sys_err("write to container init", e))?;
                }
                Some(ToRuntime::Ready) => break,
                Some(ToRuntime::Error { message }) => {
                    return Err(Error::InitFailed {
                        id: id.to_string(),
                        message,
                    })
                }
                None => {
                    return Err(Error::InitFailed {
                        id: id.to_string(),
                        message: "the init exited without reporting why".into(),
                    })
                }
            }
        }
        pid.ok_or_else(|| Error::InitFailed {
            id: id.to_string(),
            message: "the init never reported its pid".into(),
        })
    }

    /// Starts the user program of created container `id`, then runs the
    /// poststart hooks (failures are logged).
    ///
    /// # Errors
    /// [`Error::WrongStatus`] unless the container is `created`;
    /// [`Error::InitFailed`] if a startContainer hook or the exec failed.
    pub fn start(&self, id: &str) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("start", id = %id).entered();
        let status = c.status();
        if status != Status::Created {
            return Err(Error::WrongStatus {
                id: id.to_owned(),
                operation: "start",
                expected: "created",
                found: status,
            });
        }
        let state = c.state().to_canonical_vec();
        // Connect through the directory's descriptor: the socket's full
        // path may be longer than sockaddr_un allows.
        let dirfd = std::fs::File::open(&c.dir).map_err(|e| Error::io("open", &c.dir, e))?;
        let sock = PathBuf::from(format!("/proc/self/fd/{}/{EXEC_SOCKET}", dirfd.as_raw_fd()));
        let answer =
            init::signal_start(&sock, &state).map_err(|e| Error::sys("signal start", id, e))?;
        let _ = std::fs::remove_file(c.dir.join(EXEC_SOCKET));
        if let Err(message) = answer {
            return Err(Error::InitFailed {
                id: id.to_owned(),
                message,
            });
        }
        if let Some(h) = &c.record.hooks {
            // The program may already have exited; the hooks still get
            // the state of a started container, its pid included.
            let mut st = c.state();
            st.status = Status::Running;
            st.pid = Some(c.record.pid);
            hook::run_logged("poststart", &h.poststart, &st.to_canonical_vec());
        }
        Ok(())
    }

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

    /// Freezes every process of container `id` (`runc pause`): with the
    /// v1 freezer (`freezer.state`) where the host has one, else with
    /// cgroup2's `cgroup.freeze`; returns once the kernel reports the group
    /// frozen. Its status is then `paused` until [`Runtime::resume`].
    ///
    /// # Errors
    /// [`Error::NotRunning`] unless it is created or running (as runc, a
    /// paused container is not running either);
    /// [`Error::ControllerMissing`] without a freezer; [`Error::Io`] if the
    /// group does not freeze within 10 seconds (it is thawed again).
    pub fn pause(&self, id: &str) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("pause", id = %id).entered();
        let status = c.status();
        if status != Status::Running && status != Status::Created {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "freezer",
            setting: "pause",
        })?;
        cg.freeze(FreezerState::Frozen)
    }

    /// Thaws container `id` after [`Runtime::pause`] (`runc resume`).
    ///
    /// # Errors
    /// [`Error::NotPaused`] unless its status is `paused`.
    pub fn resume(&self, id: &str) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("resume", id = %id).entered();
        match &c.record.cgroup {
            Some(cg) if c.is_alive() && c.is_paused() => cg.freeze(FreezerState::Thawed),
            _ => Err(Error::NotPaused { id: id.to_owned() }),
        }
    }

    /// The host pids of the processes in container `id`'s cgroup (`runc
    /// ps`), read from `cgroup.procs` of its v1 `pids` (else `freezer`)
    /// group, or of its cgroup2 group; processes in sub-groups the
    /// container created itself are not listed. Sorted ascending; empty
    /// once the container has stopped.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::Io`] if the group
    /// cannot be read.
    pub fn ps(&self, id: &str) -> Result<Vec<u32>> {
        let c = self.container(id)?;
        let mut pids = match &c.record.cgroup {
            Some(cg) => cg.procs()?,
            None if c.is_alive() => vec![c.record.pid],
            None => Vec::new(),
        };
        pids.sort_unstable();
        Ok(pids)
    }

    /// The resource usage of container `id` (`runc events --stats`), read
    /// from its cgroup files: v1 controllers where the host has them, else
    /// cgroup2. Counters the host does not provide are 0.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::NotRunning`] once it
    /// has stopped; [`Error::ControllerMissing`] if it has no cgroup.
    pub fn stats(&self, id: &str) -> Result<crate::Stats> {
        let c = self.container(id)?;
        if !c.is_alive() {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "cgroup",
            setting: "stats",
        })?;
        Ok(cg.stats())
    }

    /// How many of container `id`'s processes the kernel's OOM killer has
    /// killed since it was created (what `runc events` reports as `oom`
    /// events), from its memory cgroup.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::ControllerMissing`]
    /// if it has no cgroup.
    pub fn oom_kills(&self, id: &str) -> Result<u64> {
        let c = self.container(id)?;
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "memory",
            setting: "oom events",
        })?;
        Ok(cg.oom_kills())
    }

    /// Changes the limits of a live container (`runc update`): memory,
    /// pids, cpu (shares, quota, period, realtime, idle, cpuset), blockIO,
    /// hugepage, network, rdma and `unified` entries of `resources` are
    /// written to its cgroup, as at
    /// create; fields left out are unchanged. Device rules are not
    /// changed (as in runc), and the limits recorded in the bundle are not
    /// rewritten.
    ///
    /// Caveats: on cgroup v2 a period without a quota writes `max PERIOD`
    /// to `cpu.max`, dropping the quota; on v1 a memory limit above an
    /// existing `memsw` limit is refused by the kernel.
    ///
    /// # Errors
    /// [`Error::NotRunning`] unless created, running or paused;
    /// [`Error::ControllerMissing`] or [`Error::Io`] as at create
    /// (limits before the failing one stay applied).
    pub fn update(&self, id: &str, resources: &ocikit_types::runtime::Resources) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("update", id = %id).entered();
        if !c.is_alive() {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "cgroup",
            setting: "update",
        })?;
        let mut r = resources.clone();
        r.devices.clear();
        cg.apply(&r)
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

    /// Deletes container `id`: its cgroup, its record; then runs the
    /// poststop hooks (failures are logged).
    ///
    /// # Errors
    /// [`Error::WrongStatus`] if it is running and `mode` is
    /// [`DeleteMode::Stopped`].
    pub fn delete(&self, id: &str, mode: DeleteMode) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("delete", id = %id).entered();
        let status = c.status();
        if status != Status::Stopped && status != Status::Created && mode == DeleteMode::Stopped {
            return Err(Error::WrongStatus {
                id: id.to_owned(),
                operation: "delete",
                expected: "stopped",
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

    /// Creates, starts and waits for container `id`, then deletes it:
    /// `runc run` without `--detach`. Returns how its process ended.
    ///
    /// Never hangs on a container that exits at once: it waits with
    /// waitpid(2) on the known pid (the init is this process's child) and
    /// does not depend on SIGCHLD.
    ///
    /// # Errors
    /// As [`Runtime::create`] and [`Runtime::start`]; the container is
    /// deleted on failure.
    pub fn run(
        &self,
        id: &str,
        bundle: impl AsRef<Path>,
        options: CreateOptions,
    ) -> Result<ExitStatus> {
        self.create(id, bundle, options)?;
        if let Err(e) = self.start(id) {
            let _ = self.delete(id, DeleteMode::Force);
            return Err(e);
        }
        let status = self.wait(id);
        self.delete(id, DeleteMode::Force)?;
        status
    }

    /// What this engine supports, as a runtime-spec `features.md`
    /// document (what `runc features` prints).
    pub fn features() -> Features {
        let mut f = Features::new("1.0.0", ocikit_types::runtime::VERSION);
        f.hooks = Some(
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop",
            ]
            .map(String::from)
            .to_vec(),
        );
        f.mount_options = Some(
            crate::setup::rootfs::KNOWN_OPTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        let mut linux = LinuxFeatures::default();
        linux.namespaces = Some(
            [
                NamespaceType::Cgroup,
                NamespaceType::Ipc,
                NamespaceType::Mount,
                NamespaceType::Network,
                NamespaceType::Pid,
                NamespaceType::Time,
                NamespaceType::User,
                NamespaceType::Uts,
            ]
            .to_vec(),
        );
        linux.capabilities = Some(ocikit_types::runtime::Capability::KNOWN.to_vec());
        let mut cg = CgroupFeatures::default();
        cg.v1 = Some(true);
        cg.v2 = Some(true);
        cg.systemd = Some(false);
        cg.systemd_user = Some(false);
        cg.rdma = Some(false);
        linux.cgroup = Some(cg);
        linux.seccomp = Some(seccomp_features());
        let off = || {
            let mut s = Support::default();
            s.enabled = Some(false);
            s
        };
        let host = crate::setup::lsm::HostLsm::probe();
        let support = |enabled| {
            let mut s = Support::default();
            s.enabled = Some(enabled);
            s
        };
        // Labels are applied where the host enforces the module.
        linux.apparmor = Some(support(host.apparmor));
        linux.selinux = Some(support(host.selinux));
        linux.intel_rdt = Some(off());
        let mut net_devices = Support::default();
        net_devices.enabled = Some(true);
        linux.net_devices = Some(net_devices);
        // runtime-spec features-linux.md, "MemoryPolicy".
        let names = |v: &[&str]| serde_json::Value::from(v.to_vec());
        linux.extra.insert(
            "memoryPolicy".into(),
            serde_json::json!({
                "modes": names(&ocikit_types::runtime::MemoryPolicyMode::KNOWN
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()),
                "flags": names(&ocikit_types::runtime::MemoryPolicyFlag::KNOWN
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()),
            }),
        );
        let mut me = MountExtensions::default();
        let mut idmap = Support::default();
        idmap.enabled = Some(true);
        me.idmap = Some(idmap);
        linux.mount_extensions = Some(me);
        f.linux = Some(linux);
        f
    }
}

/// What `linux.seccomp` supports: every action and operator, x86_64, x86
/// and x32 (filtered by their own syscall numbers; killed when the engine
/// was built without their kernel headers), and the filter flags, of which
/// `supportedFlags` are those this kernel takes.
fn seccomp_features() -> SeccompFeatures {
    use crate::setup::seccomp::FLAG_WAIT_KILLABLE_RECV;
    use crate::setup::seccomp::{FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_TSYNC};
    use ocikit_types::runtime::{SeccompAction, SeccompArch, SeccompFlag, SeccompOperator};
    let mut s = SeccompFeatures::default();
    if !cfg!(target_arch = "x86_64") {
        s.enabled = Some(false);
        return s;
    }
    s.enabled = Some(true);
    s.actions = Some(vec![
        SeccompAction::Kill,
        SeccompAction::KillProcess,
        SeccompAction::KillThread,
        SeccompAction::Trap,
        SeccompAction::Errno,
        SeccompAction::Trace,
        SeccompAction::Allow,
        SeccompAction::Log,
        SeccompAction::Notify,
    ]);
    s.operators = Some(vec![
        SeccompOperator::NotEqual,
        SeccompOperator::LessThan,
        SeccompOperator::LessOrEqual,
        SeccompOperator::Equal,
        SeccompOperator::GreaterOrEqual,
        SeccompOperator::GreaterThan,
        SeccompOperator::MaskedEqual,
    ]);
    s.archs = Some(vec![
        SeccompArch::X86_64,
        SeccompArch::X86,
        SeccompArch::X32,
    ]);
    let flags = [
        (SeccompFlag::Tsync, FLAG_TSYNC),
        (SeccompFlag::Log, FLAG_LOG),
        (SeccompFlag::SpecAllow, FLAG_SPEC_ALLOW),
        // Only valid together with NEW_LISTENER, so probed with it.
        (
            SeccompFlag::WaitKillableRecv,
            FLAG_WAIT_KILLABLE_RECV | FLAG_NEW_LISTENER,
        ),
    ];
    s.known_flags = Some(flags.iter().map(|(f, _)| f.clone()).collect());
    s.supported_flags = Some(
        flags
            .iter()
            .filter(|(_, bits)| sys::seccomp_flag_supported(*bits))
            .map(|(f, _)| f.clone())
            .collect(),
    );
    s
}

/// Undoes a half-done create unless disarmed.
#[derive(Debug)]
struct Cleanup {
    dir: Option<PathBuf>,
    cgroup: Option<Cgroup>,
    pid: Option<u32>,
}

impl Cleanup {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.pid = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            kill_and_wait(pid, None);
        }
        if let Some(cg) = &self.cgroup {
            for p in cg.procs().unwrap_or_default() {
                let _ = sys::kill(p as i32, libc::SIGKILL);
            }
            if let Err(e) = cg.remove() {
                tracing::warn!(error = %e, "cannot remove cgroup of failed container");
            }
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocikit_types::runtime::Namespace;

    fn spec() -> Spec {
        let mut s = Spec::default_linux();
        s.process.as_mut().unwrap().terminal = false;
        s
    }

    #[test]
    fn features_document_is_valid_and_honest() {
        let f = Runtime::features();
        f.validate().unwrap();
        let linux = f.linux.as_ref().unwrap();
        let seccomp = linux.seccomp.as_ref().unwrap();
        assert_eq!(seccomp.enabled, Some(true));
        assert_eq!(seccomp.actions.as_ref().unwrap().len(), 9);
        assert_eq!(seccomp.operators.as_ref().unwrap().len(), 7);
        // Kernel 6.18 (HOST.md) knows every flag.
        assert_eq!(seccomp.supported_flags, seccomp.known_flags);
        assert_eq!(linux.cgroup.as_ref().unwrap().systemd, Some(false));
        assert_eq!(
            linux.extra["memoryPolicy"]["modes"][0],
            serde_json::json!("MPOL_DEFAULT")
        );
        let ns = linux.namespaces.as_ref().unwrap();
        assert!(ns.contains(&NamespaceType::Time));
        let idmap = linux.mount_extensions.as_ref().unwrap().idmap.as_ref();
        assert_eq!(idmap.unwrap().enabled, Some(true));
        assert_eq!(linux.net_devices.as_ref().unwrap().enabled, Some(true));
        assert!(f
            .mount_options
            .as_ref()
            .unwrap()
            .contains(&"rbind".to_owned()));
    }

    #[test]
    fn config_checks() {
        check_spec(&spec(), false).unwrap();

        let e = check_spec(&Spec::default_linux(), false).unwrap_err();
        assert!(e.to_string().contains("console socket"), "{e}");
        let e = check_spec(&spec(), true).unwrap_err();
        assert!(e.to_string().contains("terminal true"), "{e}");

        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .retain(|n| n.kind != NamespaceType::Mount);
        let e = check_spec(&s, false).unwrap_err();
        assert!(e.to_string().contains("expected a mount namespace"), "{e}");

        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .retain(|n| n.kind != NamespaceType::Uts);
        assert!(check_spec(&s, false)
            .unwrap_err()
            .to_string()
            .contains("uts namespace"));

        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .push(Namespace::new(NamespaceType::User));
        assert!(check_spec(&s, false)
            .unwrap_err()
            .to_string()
            .contains("mappings"));

        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .push(Namespace::new(NamespaceType::Time));
        check_spec(&s, false).unwrap();
        s.linux.as_mut().unwrap().namespaces.pop();
        s.linux.as_mut().unwrap().time_offsets = Some(Default::default());
        let e = check_spec(&s, false).unwrap_err();
        assert!(e.to_string().starts_with("config linux.timeOffsets"), "{e}");

        let mut s = spec();
        let mut profile =
            ocikit_types::runtime::Seccomp::new(ocikit_types::runtime::SeccompAction::Allow);
        profile.architectures = vec![ocikit_types::runtime::SeccompArch::Aarch64];
        s.linux.as_mut().unwrap().seccomp = Some(profile.clone());
        let e = check_spec(&s, false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config linux.seccomp.architectures"),
            "{e}"
        );
        profile.architectures.clear();
        s.linux.as_mut().unwrap().seccomp = Some(profile);
        check_spec(&s, false).unwrap();

        let mut s = spec();
        s.process.as_mut().unwrap().io_priority = Some(ocikit_types::runtime::IoPriority::new(
            ocikit_types::runtime::IoPriorityClass::Be,
            9,
        ));
        let e = check_spec(&s, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config process.ioPriority.priority: expected 0 to 7, found 9"
        );

        let mut s = spec();
        s.linux.as_mut().unwrap().intel_rdt = Some(Default::default());
        let e = check_spec(&s, false).unwrap_err();
        assert_eq!(e.to_string(), "linux.intelRdt is not supported");

        for (key, ok) in [
            ("net.ipv4.ip_forward", true),
            ("net/ipv4/conf/eth0/forwarding", true),
            ("kernel.shmmax", true),
            ("fs.mqueue.msg_max", true),
            ("kernel.core_pattern", false),
            ("/etc/passwd", false),
            ("net/../../etc/passwd", false),
            ("net..ipv4", false),
            ("", false),
        ] {
            let mut s = spec();
            s.linux
                .as_mut()
                .unwrap()
                .sysctl
                .insert(key.into(), "1".into());
            assert_eq!(check_spec(&s, false).is_ok(), ok, "{key}");
        }
        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .namespaces
            .retain(|n| n.kind != NamespaceType::Network);
        s.linux
            .as_mut()
            .unwrap()
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        assert!(check_spec(&s, false).is_err(), "net sysctl without netns");

        let mut s = spec();
        s.process.as_mut().unwrap().args.clear();
        assert!(check_spec(&s, false)
            .unwrap_err()
            .to_string()
            .contains("process.args"));
    }

    #[test]
    fn namespaces_new_joined_and_user_first() {
        let mut net = Namespace::new(NamespaceType::Network);
        net.path = "/proc/1/ns/net".into();
        let mut user = Namespace::new(NamespaceType::User);
        user.path = "/proc/1/ns/user".into();
        let plan = namespace_plan(&[
            Namespace::new(NamespaceType::Pid),
            net,
            Namespace::new(NamespaceType::Mount),
            user,
            Namespace::new(NamespaceType::Cgroup),
        ]);
        assert_eq!(
            plan.clone_flags,
            (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWCGROUP) as u64
        );
        assert!(!plan.new_userns);
        assert_eq!(
            plan.join,
            [
                (PathBuf::from("/proc/1/ns/user"), libc::CLONE_NEWUSER),
                (PathBuf::from("/proc/1/ns/net"), libc::CLONE_NEWNET)
            ]
        );
        let plan = namespace_plan(&[
            Namespace::new(NamespaceType::User),
            Namespace::new(NamespaceType::Uts),
        ]);
        assert!(plan.new_userns);
        assert_eq!(plan.clone_flags, libc::CLONE_NEWUTS as u64);
    }

    #[test]
    fn sealed_init_program_cannot_be_written() {
        use std::io::Write;
        let copy = sealed_copy(Path::new("/proc/self/exe")).unwrap();
        let path = format!("/proc/self/fd/{}", copy.as_raw_fd());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read("/proc/self/exe").unwrap()
        );
        let w = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"x"));
        assert!(w.is_err(), "a sealed memfd was written");
        // The read-only mount needs root; the fallback runs without it.
        let fd = sealed_program(Path::new("/proc/self/exe"), 50).unwrap();
        assert!(fd.as_raw_fd() >= 50);
        let w = std::fs::OpenOptions::new()
            .append(true)
            .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .and_then(|mut f| f.write_all(b"x"));
        assert!(w.is_err(), "the init program was writable");
    }

    #[test]
    fn exit_status_codes() {
        assert_eq!(ExitStatus::Code(7).code(), 7);
        assert_eq!(ExitStatus::Signal(9).code(), 137);
    }
}
