//! Setting up the container from inside: rootfs, process attributes,
//! seccomp, network devices, time namespace, security labels, console
//! and hooks.

pub(crate) mod console;
pub(crate) mod error;
pub(crate) mod hook;
pub(crate) mod lsm;
pub(crate) mod netdev;
pub(crate) mod process;
pub(crate) mod rootfs;
pub(crate) mod seccomp;
pub(crate) mod timens;
