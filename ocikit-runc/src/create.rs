//! `create`: like runc-create(8).

use ocikit_runtime::{CreateOptions, RootEntry, Runtime};

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("bundle", Some('b'), true),
    flag("console-socket", None, true),
    flag("pid-file", None, true),
    flag("no-pivot", None, false),
    flag("no-new-keyring", None, false),
    flag("preserve-fds", None, true),
];

/// The create options common to `create` and `run`.
pub(crate) fn options(a: &Args) -> Result<CreateOptions, Failure> {
    let mut o = CreateOptions::new();
    if let Some(p) = a.value("pid-file") {
        // runc makes a relative pid file absolute against the caller's cwd.
        o.pid_file(std::env::current_dir()?.join(p));
    }
    if a.has("no-pivot") {
        o.root_entry(RootEntry::MoveRoot);
    }
    // --no-new-keyring: the engine never creates session keyrings, so the
    // container always shares the caller's (what this flag asks for).
    if let Some(n) = a.value("preserve-fds") {
        let n: u32 = n
            .parse()
            .map_err(|_| format!("--preserve-fds: expected a number, found {n:?}"))?;
        o.preserve_fds(n);
    }
    if let Some(sock) = a.value("console-socket") {
        o.console_socket(sock);
    }
    // Socket activation, as runc: descriptors from 3 on, when LISTEN_PID
    // names this process.
    let listen = |k| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    if let (Some(n), Some(pid)) = (listen("LISTEN_FDS"), listen("LISTEN_PID")) {
        if pid == std::process::id() && n > 0 {
            o.listen_fds(n);
        }
    }
    Ok(o)
}

pub(crate) fn bundle(a: &Args) -> std::path::PathBuf {
    std::path::PathBuf::from(a.value("bundle").unwrap_or("."))
}

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("create")?;
    rt.create(id, bundle(&a), options(&a)?)?;
    Ok(0)
}
