//! Linux security module labels: `process.apparmorProfile` and
//! `process.selinuxLabel`, applied where the host enforces the module.
//!
//! As runc does, a label for a module the host does not run is skipped
//! (with a debug log): a config written for an AppArmor host stays
//! runnable on a host without AppArmor, which confines nothing by that
//! module anyway. Where the module runs, the label is set for the next
//! execve(2) by writing `/proc/thread-self/attr/apparmor/exec` (`exec
//! PROFILE`; the older `attr/exec` where that is missing) or
//! `/proc/thread-self/attr/exec` (the SELinux context), through a procfs
//! handle the init opened on the host before entering the container, so
//! that no mount inside the container can redirect the write
//! (CVE-2025-52881).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;

use ocikit_types::runtime::Process;
use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::setup::error::{SetupError, Step};
use crate::sys::{self, Confine};

/// Which security modules the host enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostLsm {
    pub(crate) apparmor: bool,
    pub(crate) selinux: bool,
}

impl HostLsm {
    /// Reads the host's state: AppArmor from
    /// `/sys/module/apparmor/parameters/enabled`, SELinux from a mounted
    /// selinuxfs.
    pub(crate) fn probe() -> HostLsm {
        HostLsm {
            apparmor: std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.starts_with('Y')),
            selinux: Path::new("/sys/fs/selinux/enforce").exists(),
        }
    }
}

/// One write to a procfs file, relative to the procfs root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LabelWrite {
    /// Candidates, the first that exists is written.
    pub(crate) files: &'static [&'static str],
    pub(crate) data: String,
}

/// The writes that label `process`'s next execve on a host with `host`.
pub(crate) fn label_writes(host: HostLsm, process: &Process) -> Vec<LabelWrite> {
    let mut writes = Vec::new();
    if !process.apparmor_profile.is_empty() {
        if host.apparmor {
            writes.push(LabelWrite {
                files: &["thread-self/attr/apparmor/exec", "thread-self/attr/exec"],
                data: format!("exec {}", process.apparmor_profile),
            });
        } else {
            tracing::debug!(profile = %process.apparmor_profile, "AppArmor is not enabled on this host; profile skipped");
        }
    }
    if !process.selinux_label.is_empty() {
        if host.selinux {
            writes.push(LabelWrite {
                files: &["thread-self/attr/exec"],
                data: process.selinux_label.clone(),
            });
        } else {
            tracing::debug!(label = %process.selinux_label, "SELinux is not enabled on this host; label skipped");
        }
    }
    writes
}

/// Applies [`label_writes`] through `proc_root`, a handle on the host's
/// procfs.
pub(crate) fn apply(
    proc_root: &OwnedFd,
    host: HostLsm,
    process: &Process,
) -> Result<(), SetupError> {
    for w in label_writes(host, process) {
        let mut last = None;
        for file in w.files {
            // thread-self is an ordinary procfs symlink to
            // <tgid>/task/<tid>, resolved in the host's procfs.
            match sys::open_in(proc_root, file, OFlags::WRONLY, Confine::Mount) {
                Ok(fd) => {
                    let mut f = std::fs::File::from(fd);
                    f.write_all(w.data.as_bytes())
                        .step(|| format!("set security label {:?} in {file}", w.data))?;
                    last = None;
                    break;
                }
                Err(e) => last = Some((file, e)),
            }
        }
        if let Some((file, e)) = last {
            return Err(SetupError::os(
                format!("open /proc/{file} to set {:?}", w.data),
                e,
            ));
        }
    }
    Ok(())
}

/// A handle on the host's procfs, opened before the init enters the
/// container.
pub(crate) fn open_host_proc() -> Result<OwnedFd, SetupError> {
    let fd = rustix::fs::open(
        "/proc",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .step(|| "open /proc".into())?;
    let st = rustix::fs::fstatfs(&fd).step(|| "statfs /proc".into())?;
    if st.f_type as i64 != libc::PROC_SUPER_MAGIC {
        return Err(SetupError::NotProcfs {
            found: st.f_type as u64,
        });
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled() -> Process {
        let mut p = Process::new("/");
        p.apparmor_profile = "docker-default".into();
        p.selinux_label = "system_u:system_r:container_t:s0".into();
        p
    }

    #[test]
    fn skipped_where_the_host_lacks_the_module() {
        assert!(label_writes(HostLsm::default(), &labelled()).is_empty());
        assert!(label_writes(
            HostLsm {
                apparmor: true,
                selinux: true
            },
            &Process::new("/")
        )
        .is_empty());
    }

    #[test]
    fn written_where_the_host_has_it() {
        let w = label_writes(
            HostLsm {
                apparmor: true,
                selinux: true,
            },
            &labelled(),
        );
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].data, "exec docker-default");
        assert_eq!(w[0].files[0], "thread-self/attr/apparmor/exec");
        assert_eq!(w[1].data, "system_u:system_r:container_t:s0");
        assert_eq!(w[1].files, ["thread-self/attr/exec"]);
    }

    #[test]
    fn host_proc_is_procfs() {
        open_host_proc().unwrap();
    }
}
