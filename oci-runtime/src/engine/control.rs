//! Operations on a live container through its cgroup: `pause`,
//! `resume`, `ps`, `stats` (`runc events`), OOM kills and `update`.

use ocikit_types::runtime::Status;

use super::Runtime;
use crate::cgroup::FreezerState;
use crate::error::{Error, Result};

impl Runtime {
    /// Freezes every process of container `id` (`runc pause`): with the
    /// v1 freezer (`freezer.state`) where the host has one, else with
    /// cgroup2's `cgroup.freeze`; returns once the kernel reports the group
    /// frozen. Its status is then `paused` until [`Runtime::resume`].
    ///
    /// # Errors
    /// [`Error::NotRunning`] unless it is created or running (as runc, a
    /// paused container is not running either);
    /// [`Error::ControllerMissing`] without a freezer; [`Error::Io`] if the
    /// group does not freeze within 10 seconds (it is thawed again).
    pub fn pause(&self, id: &str) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("pause", id = %id).entered();
        let status = c.status();
        if status != Status::Running && status != Status::Created {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "freezer",
            setting: "pause",
        })?;
        cg.freeze(FreezerState::Frozen)
    }

    /// Thaws container `id` after [`Runtime::pause`] (`runc resume`).
    ///
    /// # Errors
    /// [`Error::NotPaused`] unless its status is `paused`.
    pub fn resume(&self, id: &str) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("resume", id = %id).entered();
        match &c.record.cgroup {
            Some(cg) if c.is_alive() && c.is_paused() => cg.freeze(FreezerState::Thawed),
            _ => Err(Error::NotPaused { id: id.to_owned() }),
        }
    }

    /// The host pids of the processes in container `id`'s cgroup (`runc
    /// ps`), read from `cgroup.procs` of its v1 `pids` (else `freezer`)
    /// group, or of its cgroup2 group; processes in sub-groups the
    /// container created itself are not listed. Sorted ascending; empty
    /// once the container has stopped.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::Io`] if the group
    /// cannot be read.
    pub fn ps(&self, id: &str) -> Result<Vec<u32>> {
        let c = self.container(id)?;
        let mut pids = match &c.record.cgroup {
            Some(cg) => cg.procs()?,
            None if c.is_alive() => vec![c.record.pid],
            None => Vec::new(),
        };
        pids.sort_unstable();
        Ok(pids)
    }

    /// The resource usage of container `id` (`runc events --stats`), read
    /// from its cgroup files: v1 controllers where the host has them, else
    /// cgroup2. Counters the host does not provide are 0.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::NotRunning`] once it
    /// has stopped; [`Error::ControllerMissing`] if it has no cgroup.
    pub fn stats(&self, id: &str) -> Result<crate::cgroup::stats::Stats> {
        let c = self.container(id)?;
        if !c.is_alive() {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "cgroup",
            setting: "stats",
        })?;
        Ok(cg.stats())
    }

    /// How many of container `id`'s processes the kernel's OOM killer has
    /// killed since it was created (what `runc events` reports as `oom`
    /// events), from its memory cgroup.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown ID; [`Error::ControllerMissing`]
    /// if it has no cgroup.
    pub fn oom_kills(&self, id: &str) -> Result<u64> {
        let c = self.container(id)?;
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "memory",
            setting: "oom events",
        })?;
        Ok(cg.oom_kills())
    }

    /// Changes the limits of a live container (`runc update`): memory,
    /// pids, cpu (shares, quota, period, realtime, idle, cpuset), blockIO,
    /// hugepage, network, rdma and `unified` entries of `resources` are
    /// written to its cgroup, as at
    /// create; fields left out are unchanged. Device rules are not
    /// changed (as in runc), and the limits recorded in the bundle are not
    /// rewritten.
    ///
    /// Caveats: on cgroup v2 a period without a quota writes `max PERIOD`
    /// to `cpu.max`, dropping the quota; on v1 a memory limit above an
    /// existing `memsw` limit is refused by the kernel.
    ///
    /// # Errors
    /// [`Error::NotRunning`] unless created, running or paused;
    /// [`Error::ControllerMissing`] or [`Error::Io`] as at create
    /// (limits before the failing one stay applied).
    pub fn update(&self, id: &str, resources: &ocikit_types::runtime::Resources) -> Result<()> {
        let c = self.container(id)?;
        let _span = tracing::debug_span!("update", id = %id).entered();
        if !c.is_alive() {
            return Err(Error::NotRunning { id: id.to_owned() });
        }
        let cg = c.record.cgroup.as_ref().ok_or(Error::ControllerMissing {
            controller: "cgroup",
            setting: "update",
        })?;
        let mut r = resources.clone();
        r.devices.clear();
        cg.apply(&r)
    }
}
