//! A Linux container runtime engine for the OCI [runtime specification]:
//! create, start, state, kill, delete and run containers from OCI bundles,
//! exec processes into them ([`Runtime::exec`]), pause and resume them,
//! list their processes, read their resource usage ([`Stats`]) and OOM
//! kills, and change their limits while they run. The `ocikit-runc`
//! package is a runc-compatible command line over it.
//!
//! Implemented: namespaces (user included, new or joined by path, and
//! time namespaces with offsets; a type not listed is the runtime's, a
//! missing mount namespace included: the rootfs is then entered with
//! chroot and its mounts are detached on delete); rootless containers
//! (the user's own ids, or subordinate ids through newuidmap/newgidmap);
//! rootfs mounts (runtime-spec 1.1's recursive options such as `rro`
//! applied to the whole tree with `mount_setattr`), devices,
//! masked and read-only paths, pivot_root or `--no-pivot`; idmapped bind
//! mounts; capabilities, rlimits, users and groups, scheduler, I/O
//! priority, personality, CPU affinity and memory policy; network devices
//! moved into the container; cgroups v1, v2 and hybrid with their limits
//! and device rules (`memory.kernelTCP` on v1 only); lifecycle hooks; console sockets; seccomp compiled to
//! BPF in Rust, with notify; AppArmor and SELinux process labels where the
//! host runs the module (skipped, as in runc, where it does not).
//!
//! Non-goals (today): checkpoint/restore (the features document says so
//! with runc's `org.opencontainers.runc.checkpoint.enabled` annotation),
//! systemd cgroups, Intel RDT, and `linux.mountLabel` on an SELinux host.
//! Configs asking for them are refused with [`Error::Unsupported`] rather
//! than run half-isolated; so is `memory.kernelTCP` without a v1 memory
//! controller that has it. Values the engine cannot apply (an unknown
//! rlimit or capability, a sysctl outside the container's namespaces) are
//! refused by `create` before anything is set up.
//!
//! ```no_run
//! use ocikit_runtime::{CreateOptions, DeleteMode, Runtime};
//!
//! fn main() -> Result<(), ocikit_runtime::Error> {
//!     let rt = Runtime::new("/run/ocikit");
//!     // Run a bundle (config.json + rootfs/) to completion, like `runc run`.
//!     let status = rt.run("demo", "/srv/bundles/busybox", CreateOptions::new())?;
//!     println!("exited with {}", status.code());
//!
//!     // Or step by step, like `runc create` / `start` / `delete`.
//!     rt.create("web", "/srv/bundles/web", CreateOptions::new())?;
//!     println!("{:?}", rt.state("web")?.status); // created
//!     rt.start("web")?;
//!     rt.delete("web", DeleteMode::Force)?;
//!     Ok(())
//! }
//! ```
//!
//! # How the init is started
//!
//! The engine is meant to be embedded in multi-threaded programs (tokio),
//! where a forked child may only do async-signal-safe work. So the runtime
//! never runs Rust code after fork: it spawns a fresh copy of the current
//! program (`/proc/self/exe`, see [`Runtime::set_init_program`]) with
//! [`std::process::Command`], whose pre-exec step only calls `dup2` and
//! `fcntl` to hand over a socket. In that copy a function this crate
//! registers in the executable's `.init_array` finds the engine's marker
//! (an environment variable naming the socket) before `main` runs, so
//! before the program starts any thread (a `#[tokio::main]` runtime
//! included) and without the program's own code ever running in the
//! init: nothing needs to be called from `main` ([`init_if_requested`],
//! which programs once had to call first, is kept for them and does
//! nothing more). The copy, still single-threaded, receives the config
//! over the socket and becomes the init: it enters the container's cgroup
//! itself (`0` to each v1 `tasks` file; clone3 with `CLONE_INTO_CGROUP`
//! for cgroup2), never through the kernel's global migration lock whose
//! first taker waits for an RCU grace period; it unshares a user namespace
//! if asked (the runtime writes the id maps), clones the container process
//! with the other namespace flags and `CLONE_PARENT` (so it is the
//! runtime's child, which `run` reaps with waitpid(2) on its pid), makes a
//! new network namespace while that process sets up the rootfs, hands it
//! over and exits. The container process joins it, finishes the rootfs and
//! process, and waits on `exec.sock` in the state directory until
//! [`Runtime::start`] connects.
//!
//! # State
//!
//! Each container has a directory `<root>/<id>` holding `state.json`
//! (written to a temporary file and renamed) and, until started,
//! `exec.sock`. Status is derived on every call: `stopped` when the pid is
//! gone, a zombie, or has a different start time (field 22 of
//! `/proc/<pid>/stat`, so a reused pid is not mistaken for the container);
//! `paused` (runc's status) while its cgroup's freezer is frozen or
//! freezing; `created` while `exec.sock` exists; `running` otherwise.
//!
//! # Security
//!
//! Guaranteed:
//! - every path inside the rootfs (mount destinations, device nodes,
//!   masked and read-only paths, cgroup mount points) is resolved with
//!   `openat2(RESOLVE_IN_ROOT)` and mounted through the opened handle
//!   (`/proc/self/fd/N`), so a symlink in the rootfs cannot redirect a
//!   mount onto the host; dangling symlinks met while creating a
//!   destination are followed inside the rootfs only;
//! - in a mount namespace of its own, mounts never propagate to the host
//!   (the container's mount tree is made slave before anything is
//!   mounted); a config that asks for the runtime's mount namespace gets
//!   its mounts under the rootfs, detached on delete;
//! - procfs and sysfs are mounted only on real directories, never through
//!   a symlink in the rootfs (CVE-2019-19921);
//! - descriptors other than stdio and `preserve_fds` are close-on-exec when
//!   the user program starts, and the init closes any other descriptor it
//!   inherited before it touches the container; `process.cwd` must be
//!   reachable from the container's root (a `/proc/self/fd/N` path naming
//!   a host directory is refused, CVE-2024-21626);
//! - the init is executed from a read-only, detached bind mount of the
//!   init program (a sealed memfd copy where the new mount API is
//!   missing), so a container process reaching `/proc/<pid>/exe` of an
//!   init cannot write the host binary (CVE-2019-5736);
//! - sysctls are written before `pivot_root` through the host's procfs,
//!   which config mounts cannot cover, and only well-formed names of a
//!   namespace the container has (ipc, net, uts) are accepted;
//! - a `linux.seccomp` profile is compiled to classic BPF by the engine
//!   itself (no libseccomp) and installed with seccomp(2) as the last step
//!   before the user program's execve, or before the capabilities are
//!   dropped when `noNewPrivileges` is false (seccomp(2) then needs
//!   CAP_SYS_ADMIN, as in runc); a profile it cannot compile faithfully
//!   fails `create` (see "Seccomp" below);
//! - `linux.resources.devices` rules are written to the v1 devices
//!   controller where the host has one, and on pure cgroup v2 are compiled
//!   to an eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the
//!   container's group (as runc does); a host with neither refuses them;
//! - config fields the engine does not implement (Intel RDT, systemd
//!   cgroups, `linux.mountLabel` on an SELinux host, ...) make `create`
//!   fail instead of being ignored; [`Runtime::features`] lists what is
//!   supported.
//!
//! Not guaranteed: bind mount *sources* are host paths taken as given (the
//! bundle author is trusted for them, as in runc); a rootless container
//! on a delegated cgroup2 group gets no device program (an unprivileged
//! user cannot load one, nor create device nodes); the state directory
//! must be writable by root only.
//!
//! # Seccomp
//!
//! The filter first checks `seccomp_data.arch`, as libseccomp's
//! multi-architecture filters do: x86_64 syscalls always reach the x86_64
//! rules, i386 and x32 syscalls reach rules compiled for their own numbers
//! when the profile lists `SCMP_ARCH_X86` / `SCMP_ARCH_X32`, and anything
//! else is killed (`SECCOMP_RET_KILL_PROCESS`, libseccomp's default for a
//! foreign architecture); other architectures are refused. The i386 and
//! x32 numbers come from the build machine's kernel headers: built
//! without them, those ABIs stay killed. On i386 and x32, arguments are
//! compared on their low 32 bits, as libseccomp does. Rules are tried in
//! profile order and the first match wins (several rules for one syscall
//! are ORed, the conditions of one rule ANDed); names unknown on an ABI
//! are skipped there, with a `tracing` warning when no filtered ABI knows
//! them, as runc does. Every action and operator of the
//! spec is supported; `errnoRet` defaults to EPERM. With `SCMP_ACT_NOTIFY`
//! the init connects to `listenerPath` during `create` and, after
//! installing the filter, sends the notify descriptor (SCM_RIGHTS) with
//! runc's `ContainerProcessState` JSON (`ociVersion`, `fds`, `pid`,
//! `metadata`, `state`); `sendmsg` itself may not be notified. The engine
//! refuses seccomp on other host architectures.
//!
//! # Feature flags
//!
//! The crate is Linux-only. Off by default:
//!
//! | feature | brings |
//! |---------|--------|
//! | `tokio` | `AsyncRuntime`: `create`, `start`, `wait`, `delete` and `run` as `Send` futures that run the blocking operations on tokio's blocking pool |
//!
//! [runtime specification]: https://github.com/opencontainers/runtime-spec
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]

// Containers are Linux namespaces, cgroups, seccomp and mounts: there is
// nothing of this crate to build elsewhere, and one clear message serves a
// user better than the hundreds of missing-symbol errors it replaces.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "ocikit-runtime is Linux-only (namespaces, cgroups, seccomp): build it for a target_os = \"linux\" target; \
     on other systems use ocikit-types, ocikit-image and ocikit-distribution (the facade `ocikit` with \
     default-features = false and the features image, distribution, gzip, rustls)"
);

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod engine;
#[cfg(target_os = "linux")]
mod error;
#[cfg(all(target_os = "linux", feature = "__fuzz"))]
#[doc(hidden)]
pub mod fuzz;
#[cfg(target_os = "linux")]
mod init;
// The `.init_array` entry into the init: its `link_section` attribute is
// all that the unsafe_code lint counts there (no unsafe block).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod premain;
#[cfg(target_os = "linux")]
mod setup;
// The only room allowed `unsafe`: system call wrappers and clone/exec
// glue, each block with a `// SAFETY:` comment.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sys;

#[cfg(target_os = "linux")]
pub use cgroup::stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, CpusetStats, HugetlbStats, MemoryEntry,
    MemoryStats, PidsStats, Stats, Throttling,
};
#[cfg(all(target_os = "linux", feature = "tokio"))]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use engine::async_api::AsyncRuntime;
#[cfg(target_os = "linux")]
pub use engine::container::Container;
#[cfg(target_os = "linux")]
pub use engine::exec::{ExecOptions, ExecProcess};
#[cfg(target_os = "linux")]
pub use engine::id::ContainerId;
#[cfg(target_os = "linux")]
pub use engine::options::{CreateOptions, DeleteMode, ExitStatus, KillScope, RootEntry};
#[cfg(target_os = "linux")]
pub use engine::signal::{Signal, SignalRelay, RELAYED};
#[cfg(target_os = "linux")]
pub use engine::Runtime;
#[cfg(target_os = "linux")]
pub use error::{Error, HookFailure, InitFailureKind, Result};
#[cfg(target_os = "linux")]
pub use init::init_if_requested;
