//! The container init, and the protocol between it and the runtime.
//!
//! The runtime never forks and then keeps running Rust code in the child:
//! it spawns a fresh copy of a program (by default `/proc/self/exe`) with
//! [`std::process::Command`], whose child side only does async-signal-safe
//! `dup2`/`fcntl` before `execve`. That copy finds the engine's marker
//! (the init socket's number in [`ENV_FD`]) in a function the crate
//! registers in `.init_array` (`sys::premain`), which runs before `main`
//! and so before the program starts any thread, and becomes the init:
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
//! just exec'd, `main` has not run, and it checks that no thread exists.

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
/// Calling it is no longer needed: the crate runs the same check from a
/// function in the executable's `.init_array`, before `main` and before
/// any thread, so a program's own code (a `#[tokio::main]` runtime
/// included) never runs in a container's init. This function stays for
/// programs written for earlier versions, where it was required first
/// thing in `main`; there it finds nothing to do and returns. It still
/// works as the entry point where the pre-main hook cannot run (see the
/// crate documentation, "How the init is started").
///
/// ```
/// // Harmless anywhere, unnecessary since the pre-main hook:
/// ocikit_runtime::init_if_requested();
/// ```
pub fn init_if_requested() {
    let Some(fd) = std::env::var_os(ENV_FD) else {
        return;
    };
    std::env::remove_var(ENV_FD);
    // Clone without exec (stage 2, idmapped mounts) is sound only in a
    // single-threaded process. The pre-main hook runs before `main` can
    // start a thread; only another library's constructor, or a call of
    // this function from a threaded program where the hook did not run,
    // can get here with threads.
    let single = match sys::SingleThreaded::check() {
        Ok(single) => single,
        Err(_) => {
            eprintln!(
                "ocikit init: the container init must start before any thread, but this \
                 process already runs several (started by a library constructor, or \
                 init_if_requested called after threads started); call \
                 ocikit_runtime::init_if_requested() first thing in main"
            );
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
