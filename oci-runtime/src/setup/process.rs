//! The container process's own settings: rlimits, user, capabilities,
//! no_new_privileges, umask and working directory; and the attributes
//! applied around them: personality, memory policy, I/O priority,
//! scheduler and CPU affinity.

use std::path::Path;

use ocikit_types::runtime::{Capability, Process, RlimitType};

use crate::setup::error::{SetupError, Step};
use crate::sys::syscalls::Syscalls;

mod attributes;
pub(crate) use crate::setup::process::attributes::{
    check_attributes, final_affinity, parse_list, setup_attributes,
};

/// The highest capability number this engine knows (CAP_CHECKPOINT_RESTORE).
const LAST_CAP: u8 = 40;

/// The kernel's number for an rlimit type.
pub(crate) fn rlimit_number(kind: &RlimitType) -> Option<i32> {
    let n = match kind {
        RlimitType::Cpu => libc::RLIMIT_CPU,
        RlimitType::Fsize => libc::RLIMIT_FSIZE,
        RlimitType::Data => libc::RLIMIT_DATA,
        RlimitType::Stack => libc::RLIMIT_STACK,
        RlimitType::Core => libc::RLIMIT_CORE,
        RlimitType::Rss => libc::RLIMIT_RSS,
        RlimitType::Nproc => libc::RLIMIT_NPROC,
        RlimitType::Nofile => libc::RLIMIT_NOFILE,
        RlimitType::Memlock => libc::RLIMIT_MEMLOCK,
        RlimitType::As => libc::RLIMIT_AS,
        RlimitType::Locks => libc::RLIMIT_LOCKS,
        RlimitType::Sigpending => libc::RLIMIT_SIGPENDING,
        RlimitType::Msgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitType::Nice => libc::RLIMIT_NICE,
        RlimitType::Rtprio => libc::RLIMIT_RTPRIO,
        RlimitType::Rttime => libc::RLIMIT_RTTIME,
        _ => return None,
    };
    Some(n as i32)
}

/// A bit mask of capabilities; unknown names are an error.
pub(crate) fn cap_mask(caps: &[Capability]) -> Result<u64, String> {
    let mut mask = 0u64;
    for c in caps {
        let n = c.number().ok_or_else(|| c.to_string())?;
        mask |= 1 << n;
    }
    Ok(mask)
}

fn unknown(what: &str) -> SetupError {
    SetupError::os(what, std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// Applies `process` to the calling (single-threaded) init, in the order
/// that keeps the privileges each step needs: rlimits, bounding set (needs
/// CAP_SETPCAP), groups and ids (keeping capabilities), the other sets,
/// no_new_privs, umask, cwd.
pub(crate) fn setup(sys: &dyn Syscalls, process: &Process) -> Result<(), SetupError> {
    for r in &process.rlimits {
        let n =
            rlimit_number(&r.kind).ok_or_else(|| unknown(&format!("unknown rlimit {}", r.kind)))?;
        sys.setrlimit(n, r.soft, r.hard)
            .step(|| format!("set {} to {}:{}", r.kind, r.soft, r.hard))?;
    }
    let caps = match &process.capabilities {
        Some(c) => {
            let m = |v: &[Capability]| {
                cap_mask(v).map_err(|n| unknown(&format!("unknown capability {n}")))
            };
            Some((
                m(&c.bounding)?,
                m(&c.effective)?,
                m(&c.permitted)?,
                m(&c.inheritable)?,
                m(&c.ambient)?,
            ))
        }
        None => None,
    };
    if let Some((bounding, ..)) = caps {
        for cap in 0..=LAST_CAP {
            if bounding & (1 << cap) == 0 {
                match sys.drop_bounding(cap) {
                    // Older kernels do not know the newest capabilities.
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                    r => r.step(|| format!("drop capability {cap} from the bounding set"))?,
                }
            }
        }
    }
    let (uid, gid, groups, umask) = match &process.user {
        Some(u) => (u.uid, u.gid, u.additional_gids.clone(), u.umask),
        None => (0, 0, Vec::new(), None),
    };
    sys.keep_caps()
        .step(|| "keep capabilities across setuid".into())?;
    sys.setgroups(&groups)
        .step(|| format!("set additional gids {groups:?}"))?;
    sys.set_ids(uid, gid)
        .step(|| format!("set uid {uid} and gid {gid}"))?;
    if let Some((_, effective, permitted, inheritable, ambient)) = caps {
        sys.capset(effective, permitted, inheritable)
            .step(|| "set capabilities".into())?;
        for cap in 0..=LAST_CAP {
            if ambient & (1 << cap) != 0 {
                match sys.raise_ambient(cap) {
                    // The kernel raises only what is both permitted and
                    // inheritable. runc and crun skip the others: runc's
                    // own `runc spec` lists ambient capabilities that are
                    // not inheritable. Skipping only takes privilege away.
                    Err(e)
                        if e.raw_os_error() == Some(libc::EPERM)
                            && permitted & inheritable & (1 << cap) == 0 =>
                    {
                        tracing::warn!(
                            cap,
                            "ambient capability not raised: not both permitted and inheritable"
                        );
                    }
                    r => r.step(|| format!("raise ambient capability {cap}"))?,
                }
            }
        }
    }
    if process.no_new_privileges {
        sys.no_new_privs().step(|| "set no_new_privs".into())?;
    }
    sys.umask(umask.unwrap_or(0o022));
    let cwd = if process.cwd.is_empty() {
        "/"
    } else {
        &process.cwd
    };
    sys.chdir(Path::new(cwd))
        .step(|| format!("chdir to cwd {cwd}"))?;
    Ok(())
}

/// Finds `program` as execvp(3) would with `env`'s PATH, inside the current
/// root (the init has already entered the container's).
pub(crate) fn find_program(program: &str, env: &[String]) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = Path::new(program);
        return executable(p).then(|| p.to_owned());
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(program))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests;
