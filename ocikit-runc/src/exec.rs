//! `exec`: like runc-exec(8), a new process in a running container.
//!
//! `exec [OPTIONS] ID COMMAND [ARGS...]` builds the process from the
//! container's own `process` with the flags applied (as runc does);
//! `exec --process FILE ID` takes a whole process.json instead. Without
//! `--detach` it waits and exits with the process's status.

use ocikit_runtime::{ExecOptions, Runtime};
use ocikit_types::runtime::{Capability, Process, User};

use crate::args::{flag, Args, Flag};
use crate::failure::Step;
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("console-socket", None, true),
    flag("cwd", None, true),
    flag("env", Some('e'), true),
    flag("tty", Some('t'), false),
    flag("user", Some('u'), true),
    flag("additional-gids", Some('g'), true),
    flag("process", Some('p'), true),
    flag("detach", Some('d'), false),
    flag("pid-file", None, true),
    flag("process-label", None, true),
    flag("apparmor", None, true),
    flag("no-new-privs", None, false),
    flag("cap", Some('c'), true),
    flag("preserve-fds", None, true),
    flag("cgroup", None, true),
    flag("ignore-paused", None, false),
    flag("no-subreaper", None, false),
];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("exec")?;
    let process = match a.value("process") {
        Some(path) => {
            let bytes = std::fs::read(path).step(|| format!("read process file {path}"))?;
            serde_json::from_slice::<Process>(&bytes)
                .step(|| format!("parse process file {path}"))?
        }
        None => from_flags(rt, id, &a)?,
    };
    if !a.values("cgroup").is_empty() {
        return Err("--cgroup (exec into a sub-cgroup) is not supported".into());
    }
    let mut o = ExecOptions::new();
    if let Some(p) = a.value("pid-file") {
        o.pid_file(std::env::current_dir()?.join(p));
    }
    if let Some(sock) = a.value("console-socket") {
        o.console_socket(sock);
    } else if process.terminal {
        return Err("exec with a terminal needs --console-socket \
                    (ocikit-runc does not relay terminals itself)"
            .into());
    }
    if let Some(n) = a.value("preserve-fds") {
        let n: u32 = n
            .parse()
            .map_err(|_| format!("--preserve-fds: expected a number, found {n:?}"))?;
        o.preserve_fds(n);
    }
    let child = rt.exec(id, &process, o)?;
    if a.has("detach") {
        return Ok(0);
    }
    let forwarder = ocikit_runtime::SignalRelay::to(child.pid()).step(|| "relay signals".into())?;
    let status = child.wait();
    drop(forwarder);
    Ok(status?.code())
}

/// The container's process with runc's flags applied.
fn from_flags(rt: &Runtime, id: &str, a: &Args) -> Result<Process, Failure> {
    let container = rt.container(id)?;
    let mut p = container
        .process()
        .cloned()
        .unwrap_or_else(|| Process::new("/"));
    p.args = a.positional[1..].to_vec();
    if p.args.is_empty() {
        return Err("exec: a command to run is required after the container id".into());
    }
    p.terminal = a.has("tty");
    p.console_size = None;
    for kv in a.values("env") {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        p.env
            .retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        p.env.push(kv.clone());
    }
    if let Some(cwd) = a.value("cwd") {
        p.cwd = cwd.to_owned();
    }
    if let Some(u) = a.value("user") {
        let (uid, gid) = u.split_once(':').unwrap_or((u, ""));
        let num = |s: &str, what: &str| -> Result<u32, String> {
            s.parse()
                .map_err(|_| format!("--user: expected a numeric {what}, found {s:?}"))
        };
        let mut user = p.user.clone().unwrap_or_else(|| User::new(0, 0));
        user.uid = num(uid, "uid")?;
        if !gid.is_empty() {
            user.gid = num(gid, "gid")?;
        }
        p.user = Some(user);
    }
    for g in a.values("additional-gids") {
        let gid: u32 = g
            .parse()
            .map_err(|_| format!("--additional-gids: expected a number, found {g:?}"))?;
        p.user
            .get_or_insert_with(|| User::new(0, 0))
            .additional_gids
            .push(gid);
    }
    if a.has("no-new-privs") {
        p.no_new_privileges = true;
    }
    if let Some(label) = a.value("process-label") {
        p.selinux_label = label.to_owned();
    }
    if let Some(profile) = a.value("apparmor") {
        p.apparmor_profile = profile.to_owned();
    }
    let caps = a.values("cap");
    if !caps.is_empty() {
        let set = p.capabilities.get_or_insert_with(Default::default);
        for c in caps {
            let name = if c.starts_with("CAP_") {
                c.clone()
            } else {
                format!("CAP_{}", c.to_uppercase())
            };
            let cap = Capability::from(name.as_str());
            if cap.number().is_none() {
                return Err(format!("--cap: unknown capability {c:?}").into());
            }
            for list in [&mut set.bounding, &mut set.effective, &mut set.permitted] {
                if !list.contains(&cap) {
                    list.push(cap.clone());
                }
            }
            // As runc: ambient only where the spec already has inheritable
            // capabilities (ambient needs them).
            if !set.inheritable.is_empty() && !set.ambient.contains(&cap) {
                set.ambient.push(cap.clone());
            }
        }
    }
    Ok(p)
}
