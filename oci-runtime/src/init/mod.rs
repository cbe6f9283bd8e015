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

use crate::sys;

mod protocol;
mod stage1;
mod stage2;
pub(crate) use crate::init::protocol::{
    signal_start, Channel, ExecTarget, InitConfig, ToInit, ToRuntime, ENV_FD, EXEC_SOCKET,
};

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
    // Clone without exec (stage 2, idmapped mounts) is sound only in a
    // single-threaded process: refuse to run as an init after the
    // program started threads.
    let single = match sys::SingleThreaded::check() {
        Ok(single) => single,
        Err(_) => {
            eprintln!("ocikit init: init_if_requested must be called before any thread starts");
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
    let sock = match fd.to_str().and_then(|s| s.parse().ok()) {
        Some(fd) => sys::take_init_socket(&single, fd),
        None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
    };
    let sock = match sock {
        Ok(sock) => sock,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
            eprintln!("ocikit init: {ENV_FD} is not an open descriptor");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("ocikit init: close inherited descriptors: {e}");
            std::process::exit(2);
        }
    };
    let mut ch = match Channel::new(sock) {
        Ok(ch) => ch,
        Err(_) => std::process::exit(2),
    };
    let code = match stage1::stage1(&mut ch, &single) {
        Ok(()) => 0,
        Err(e) => {
            let _ = ch.send(&ToRuntime::Error {
                failure: e.report(),
            });
            1
        }
    };
    std::process::exit(code);
}

enum Never {}
