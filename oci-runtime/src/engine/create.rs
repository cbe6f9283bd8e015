//! `create`, `start` and `run`: the handshake with the init that sets a
//! container up, and the signal that starts its program.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ocikit_types::runtime::{NamespaceType, Spec, State, Status};
use ocikit_types::Document;

use super::check::check_spec;
use super::container::{now_rfc3339, proc_stat, write_atomic, Container, ExecContext, Record};
use super::host_mount;
use super::kill::kill_and_wait;
use super::namespace::{namespace_plan, NamespacePlan};
use super::options::{CreateOptions, DeleteMode, ExitStatus, RootEntry};
use super::spawn::write_id_maps;
use super::Runtime;
use crate::cgroup::{self, Cgroup};
use crate::engine::id::ContainerId;
use crate::error::{Error, InitFailureKind, Result};
use crate::init::{self, Channel, InitConfig, ToInit, ToRuntime, EXEC_SOCKET};
use crate::setup::hook;
use crate::setup::rootfs::{Pivot, RootfsOptions};
use crate::sys;

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

impl Runtime {
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
        options: impl Into<CreateOptions>,
    ) -> Result<Container> {
        self.create_inner(id, bundle.as_ref(), options.into())
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
            rootfs_bind: None,
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
        // Without a mount namespace the init mounts in the runtime's:
        // remember what was on top of the rootfs to undo only its own.
        let shares_mount_ns = !linux
            .namespaces
            .iter()
            .any(|n| n.kind == NamespaceType::Mount);
        let mount_before = if shares_mount_ns {
            let before = host_mount::top_mount_id(&rootfs);
            cleanup.rootfs_bind = Some((rootfs.clone(), before));
            before
        } else {
            None
        };
        let userns = linux
            .namespaces
            .iter()
            .any(|n| n.kind == NamespaceType::User);
        let cfg = InitConfig {
            rootfs: RootfsOptions {
                rootfs: rootfs.clone(),
                bundle: bundle.clone(),
                pivot: match options.root_entry {
                    _ if shares_mount_ns => Pivot::Chroot,
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
            console_socket: options.console_socket.as_deref().map(super::absolute),
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
        if shares_mount_ns {
            host_mount::record(dir, &rootfs, mount_before)
                .map_err(|e| Error::io("record the rootfs bind", &rootfs, e))?;
        }

        let start_time = proc_stat(pid)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::InitFailed {
                id: id.to_string(),
                kind: InitFailureKind::Protocol,
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
            exec: ExecContext {
                namespaces: linux.namespaces.iter().map(|n| n.kind.clone()).collect(),
                seccomp: linux.seccomp.clone(),
                process: cfg.spec.process.clone(),
            },
        };
        record.save(dir)?;
        if let Some(p) = &options.pid_file {
            write_atomic(p, pid.to_string().as_bytes()).map_err(|e| Error::io("write", p, e))?;
        }
        tracing::debug!(pid, "container created");
        Ok(Container {
            record,
            dir: dir.to_owned(),
        })
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
                Some(ToRuntime::Error { failure }) => return Err(failure.into_error(id.as_str())),
                None => {
                    return Err(Error::InitFailed {
                        id: id.to_string(),
                        kind: InitFailureKind::Protocol,
                        message: "the init exited without reporting why".into(),
                    })
                }
            }
        }
        pid.ok_or_else(|| Error::InitFailed {
            id: id.to_string(),
            kind: InitFailureKind::Protocol,
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
        if let Err(failure) = answer {
            return Err(failure.into_error(id));
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
        options: impl Into<CreateOptions>,
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
}

/// Undoes a half-done create unless disarmed.
#[derive(Debug)]
pub(crate) struct Cleanup {
    dir: Option<PathBuf>,
    cgroup: Option<Cgroup>,
    pid: Option<u32>,
    /// Without a mount namespace: the rootfs and the mount that was on top
    /// of it before the init ran.
    rootfs_bind: Option<(PathBuf, Option<u64>)>,
}

impl Cleanup {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.pid = None;
        self.rootfs_bind = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            kill_and_wait(pid, None);
        }
        if let Some((rootfs, before)) = &self.rootfs_bind {
            host_mount::detach_new(rootfs, *before);
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
