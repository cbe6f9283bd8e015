//! `memory.kernelTCP`: the limit on kernel memory for TCP buffers. The
//! runtime spec deprecates `memory.kernel` only; cgroup v1 has this limit
//! as `memory.kmem.tcp.limit_in_bytes`, cgroup v2 has no equivalent (its
//! memory.max counts socket memory with the rest).

use super::{write, Cgroup};
use crate::error::{Error, Result};

/// The v1 file that holds the limit.
const FILE: &str = "memory.kmem.tcp.limit_in_bytes";

impl Cgroup {
    /// Sets `memory.kernelTCP` to `limit` bytes (-1: unlimited) in the v1
    /// memory controller's group.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the memory controller is not on a v1
    /// hierarchy, or the kernel has no TCP memory limit file (built
    /// without kernel memory accounting, or booted with
    /// `cgroup.memory=nokmem`); [`Error::Io`] if the write fails.
    pub(super) fn apply_kernel_tcp(&self, limit: i64) -> Result<()> {
        let v1 = self
            .dirs
            .iter()
            .find(|(h, _)| !h.v2 && h.controllers.iter().any(|c| c == "memory"));
        let Some((_, dir)) = v1 else {
            return Err(Error::Unsupported {
                feature: "linux.resources.memory.kernelTCP without a cgroup v1 memory controller (cgroup v2 has no TCP memory limit)",
            });
        };
        let path = dir.join(FILE);
        if !path.exists() {
            return Err(Error::Unsupported {
                feature: "linux.resources.memory.kernelTCP on this kernel (its v1 memory controller has no memory.kmem.tcp.limit_in_bytes)",
            });
        }
        write(&path, &limit.to_string())
    }
}
