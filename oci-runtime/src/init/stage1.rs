//! Stage 1: in the runtime's namespaces, enters the cgroup, makes
//! idmapped mounts, joins or unshares namespaces, clones stage 2 and
//! exits.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use super::stage2::{exec_process, stage2};
use super::{Channel, InitConfig, ToInit, ToRuntime, EXEC_SOCKET};
use crate::setup::error::{SetupError, Step};
use crate::setup::{lsm, rootfs, seccomp};
use crate::sys;

pub(super) fn stage1(ch: &mut Channel, single: &sys::SingleThreaded) -> Result<(), SetupError> {
    let mut cfg: InitConfig = match ch.recv() {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            return Err(SetupError::Protocol {
                broken: "runtime closed the init socket",
            })
        }
        Err(e) => return Err(SetupError::os("read init config", e)),
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
        .step(|| "open oom_score_adj".into())?;
        std::fs::File::from(fd)
            .write_all(adj.to_string().as_bytes())
            .step(|| format!("set oom_score_adj {adj}"))?;
    }
    // Bind the exec socket while still the runtime's user: a new user
    // namespace's root may not write to the state directory. Relative
    // name: the state directory may be too long a path for sockaddr_un.
    let listener = if cfg.exec.is_none() {
        std::env::set_current_dir(&cfg.state_dir)
            .step(|| format!("enter state directory {}", cfg.state_dir.display()))?;
        Some(UnixListener::bind(EXEC_SOCKET).step(|| "bind exec socket".into())?)
    } else {
        None
    };
    // Likewise connect to the console socket while its path is reachable.
    let console = match &cfg.console_socket {
        Some(p) => Some(
            UnixStream::connect(p).step(|| format!("connect to console socket {}", p.display()))?,
        ),
        None => None,
    };
    // And to the seccomp agent's socket, used just before execve.
    let agent = match cfg.spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        Some(profile) if seccomp::notifies(profile) => {
            let p = &profile.listener_path;
            Some(UnixStream::connect(p).step(|| format!("connect to seccomp listener {p}"))?)
        }
        _ => None,
    };
    // Idmapped mounts, made while still in the runtime's namespaces: their
    // maps name host ids, and only the host is privileged over the
    // filesystems. Stage 2 inherits the detached mounts through the clone.
    let requests = rootfs::idmap_requests(&cfg.spec)?;
    let mut idmapped = Vec::new();
    for r in requests {
        let what = || format!("idmapped mount of {}", r.source.display());
        let userns = sys::userns_with_maps(single, &r.uid_map, &r.gid_map)
            .step(|| format!("user namespace for {}", what()))?;
        let tree = rootfs::idmapped_tree(&r, &cfg.rootfs.bundle, &userns).step(what)?;
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
                .step(|| format!("open container root {}", t.root.display()))?,
        ),
        None => None,
    };
    let mut namespaces = Vec::with_capacity(cfg.join.len());
    for (path, nstype) in &cfg.join {
        let f = std::fs::File::open(path).step(|| format!("open namespace {}", path.display()))?;
        namespaces.push((f, path, *nstype));
    }
    for (f, path, nstype) in &namespaces {
        sys::setns(std::os::fd::AsRawFd::as_raw_fd(f), *nstype)
            .step(|| format!("join namespace {}", path.display()))?;
    }
    drop(namespaces);
    if let Some(root) = exec_root {
        rustix::process::fchdir(&root)
            .and_then(|()| rustix::process::chroot("."))
            .and_then(|()| rustix::process::chdir("/"))
            .step(|| "enter the container's root".into())?;
    }
    if cfg.new_userns {
        sys::unshare(libc::CLONE_NEWUSER).step(|| "unshare user namespace".into())?;
        ch.send(&ToRuntime::UserNs)
            .step(|| "write to the runtime".into())?;
        match ch.recv::<ToInit>() {
            Ok(Some(ToInit::Continue { .. })) => {}
            _ => {
                return Err(SetupError::Protocol {
                    broken: "runtime did not map the user namespace",
                })
            }
        }
        sys::set_ids(0, 0).step(|| "become root in the user namespace".into())?;
    }
    // After the user namespace, which then owns the time namespace.
    crate::setup::timens::setup(&cfg.spec)?;
    // From here on no process of the container may ptrace us or open
    // our /proc files (we hold host descriptors); execve of the user
    // program restores the default. After the id maps: a non-dumpable
    // process's /proc files belong to root, and a rootless runtime must
    // write them.
    sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).step(|| "set non-dumpable".into())?;
    // Stage 2 must not talk to the runtime before stage 1 has reported
    // its pid: it waits for EOF on this pair, which comes once stage 1
    // has.
    let (gate_r, gate_w) = UnixStream::pair().step(|| "create gate".into())?;
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
    .step(|| "create network namespace channel".into())?;
    let flags = match net_later {
        Some(_) => cfg.clone_flags & !newnet,
        None => cfg.clone_flags,
    };
    let forked = clone_stage2(single, flags, cgroup_v2)?;
    match forked {
        sys::Forked::Parent(pid) => {
            ch.send(&ToRuntime::Pid { pid })
                .step(|| "write to the runtime".into())?;
            drop(gate_w);
            if let Some((tx, _)) = net_later {
                sys::unshare(libc::CLONE_NEWNET).step(|| "unshare network namespace".into())?;
                let ns = rustix::fs::openat(
                    &host_proc,
                    "thread-self/ns/net",
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .step(|| "open new network namespace".into())?;
                sys::send_fd(&tx, std::os::fd::AsFd::as_fd(&ns), b"net")
                    .step(|| "hand over network namespace".into())?;
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
                (None, None) => Err(SetupError::Protocol {
                    broken: "no exec socket",
                }),
            };
            let failure = match result {
                Ok(never) => match never {},
                Err(e) => e.report(),
            };
            let _ = ch.send(&ToRuntime::Error { failure });
            std::process::exit(1);
        }
    }
}

/// The container's cgroup2 group, open while stage 1 still has the
/// runtime's credentials.
pub(super) struct CgroupV2 {
    dir: OwnedFd,
    /// Its `cgroup.procs`, for kernels without `CLONE_INTO_CGROUP`: the
    /// kernel checks a write against the credentials of the opener.
    procs: (std::fs::File, PathBuf),
}

/// Moves this (single-threaded) process into the group of every v1
/// hierarchy by writing `0` to its `tasks` file, and opens the cgroup2
/// group for [`clone_stage2`]; see [`crate::cgroup::Entry`] for why.
pub(super) fn enter_cgroup(entry: &crate::cgroup::Entry) -> Result<Option<CgroupV2>, SetupError> {
    for tasks in &entry.v1_tasks {
        std::fs::write(tasks, "0").step(|| format!("enter cgroup {}", tasks.display()))?;
    }
    let Some(dir) = &entry.v2_dir else {
        return Ok(None);
    };
    let open_err = |p: &std::path::Path, e: std::io::Error| {
        SetupError::os(format!("open cgroup {}", p.display()), e)
    };
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
pub(super) fn clone_stage2(
    single: &sys::SingleThreaded,
    flags: u64,
    cgroup_v2: Option<CgroupV2>,
) -> Result<sys::Forked, SetupError> {
    let flags = flags | libc::CLONE_PARENT as u64;
    if let Some(CgroupV2 {
        dir,
        procs: (mut file, procs),
    }) = cgroup_v2
    {
        use std::os::fd::AsRawFd;
        match sys::clone_into_cgroup(single, flags, dir.as_raw_fd()) {
            Ok(forked) => return Ok(forked),
            Err(e) => {
                tracing::debug!(error = %e, "clone3 into cgroup; writing cgroup.procs instead");
                file.write_all(b"0").map_err(|w| {
                    SetupError::os(
                        format!("enter cgroup {}", procs.display()),
                        std::io::Error::new(w.kind(), format!("{w} (clone3 into it: {e})")),
                    )
                })?;
            }
        }
    }
    sys::clone_process(single, flags).step(|| "clone container init".into())
}
