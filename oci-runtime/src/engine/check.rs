//! Checks of a config before anything is set up: what this engine
//! cannot run faithfully is refused, never ignored.

use ocikit_types::runtime::{NamespaceType, Spec};

use crate::error::{Error, Result};

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
    super::check_values::check_process_values(process)?;
    let linux = spec.linux.clone().unwrap_or_default();
    let has = |k: NamespaceType| linux.namespaces.iter().any(|n| n.kind == k);
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
        if crate::setup::seccomp::host_supported() {
            // Compiled again by the init; done here so a bad profile fails
            // `create` with a config error before anything is set up.
            crate::setup::seccomp::compile(profile)?;
        } else {
            return Err(Error::Unsupported {
                feature:
                    "linux.seccomp on this architecture (the engine has no syscall table for it)",
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
pub(crate) fn check_sysctl(key: &str, has: &dyn Fn(NamespaceType) -> bool) -> Result<()> {
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
