//! Starting the init program: a read-only (or sealed) copy of this
//! program, the init socket, and the id maps of its user namespace.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::Runtime;
use crate::error::{Error, Result};
use crate::init::ENV_FD;
use crate::sys;

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
pub(super) fn sealed_copy(path: &Path) -> io::Result<OwnedFd> {
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
            message: String::new(),
            source: Some(e),
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
                source: None,
            });
        }
    }
    Ok(())
}

impl Runtime {
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
}
