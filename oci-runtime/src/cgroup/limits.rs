//! Resource limits: `linux.resources` written to the v1 controller
//! files where a hierarchy carries the controller, else to the cgroup2
//! group's files.

use std::io;
use std::path::PathBuf;

use ocikit_types::runtime::{BlockIo, Resources};

use super::devicefilter;
use super::devices::device_rules;
use super::{write, Cgroup};
use crate::error::{Error, Result};

impl Cgroup {
    /// Where `controller`'s file lives: a v1 hierarchy carrying it, else the
    /// v2 group when the file exists there.
    pub(crate) fn file(&self, controller: &'static str, v1: &str, v2: &str) -> Option<PathBuf> {
        if v1.is_empty() && v2.is_empty() {
            return None;
        }
        if let Some((_, dir)) = self
            .dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == controller))
        {
            return (!v1.is_empty()).then(|| dir.join(v1));
        }
        if v2.is_empty() {
            return None;
        }
        self.dirs
            .iter()
            .filter(|(h, _)| h.v2)
            .map(|(_, dir)| dir.join(v2))
            .find(|p| p.exists())
    }

    pub(super) fn set(
        &self,
        controller: &'static str,
        setting: &'static str,
        v1: (&str, String),
        v2: (&str, String),
    ) -> Result<()> {
        let is_v1 = self
            .dirs
            .iter()
            .any(|(h, _)| h.controllers.iter().any(|c| c == controller));
        let path = self
            .file(controller, v1.0, v2.0)
            .ok_or(Error::ControllerMissing {
                controller,
                setting,
            })?;
        write(&path, if is_v1 { &v1.1 } else { &v2.1 })
    }

    /// Applies the limits of `resources`: memory (with kernelTCP on v1),
    /// pids, cpu, cpuset,
    /// blockIO, hugepages, network (v1 only), rdma, `unified`, and v1
    /// device rules.
    pub(crate) fn apply(&self, r: &Resources) -> Result<()> {
        let max = |v: i64| {
            if v < 0 {
                "max".to_owned()
            } else {
                v.to_string()
            }
        };
        if let Some(m) = &r.memory {
            if let Some(limit) = m.limit {
                self.set(
                    "memory",
                    "memory.limit",
                    ("memory.limit_in_bytes", limit.to_string()),
                    ("memory.max", max(limit)),
                )?;
            }
            if let Some(res) = m.reservation {
                self.set(
                    "memory",
                    "memory.reservation",
                    ("memory.soft_limit_in_bytes", res.to_string()),
                    ("memory.low", max(res)),
                )?;
            }
            if let Some(swap) = m.swap {
                let v2 = match m.limit {
                    Some(l) if swap > 0 && l > 0 => (swap - l).max(0).to_string(),
                    _ => max(swap),
                };
                self.set(
                    "memory",
                    "memory.swap",
                    ("memory.memsw.limit_in_bytes", swap.to_string()),
                    ("memory.swap.max", v2),
                )?;
            }
        }
        if let Some(m) = &r.memory {
            if let Some(sw) = m.swappiness {
                self.set(
                    "memory",
                    "memory.swappiness",
                    ("memory.swappiness", sw.to_string()),
                    ("", String::new()),
                )?;
            }
            if m.disable_oom_killer == Some(true) {
                self.set(
                    "memory",
                    "memory.disableOOMKiller",
                    ("memory.oom_control", "1".into()),
                    ("", String::new()),
                )?;
            }
            if m.kernel.is_some() {
                tracing::warn!("memory.kernel is deprecated and ignored");
            }
            if let Some(tcp) = m.kernel_tcp {
                self.apply_kernel_tcp(tcp)?;
            }
        }
        if let Some(p) = &r.pids {
            let v = if p.limit <= 0 {
                "max".to_owned()
            } else {
                p.limit.to_string()
            };
            self.set(
                "pids",
                "pids.limit",
                ("pids.max", v.clone()),
                ("pids.max", v),
            )?;
        }
        if let Some(c) = &r.cpu {
            if let Some(shares) = c.shares {
                let weight = if shares == 0 {
                    100
                } else {
                    1 + (shares.saturating_sub(2) * 9999) / 262142
                };
                self.set(
                    "cpu",
                    "cpu.shares",
                    ("cpu.shares", shares.to_string()),
                    ("cpu.weight", weight.to_string()),
                )?;
            }
            if c.quota.is_some() || c.period.is_some() {
                let period = c.period.unwrap_or(100_000);
                if c.period.is_some() {
                    self.set(
                        "cpu",
                        "cpu.period",
                        ("cpu.cfs_period_us", period.to_string()),
                        (
                            "cpu.max",
                            format!("{} {period}", c.quota.map_or("max".into(), max)),
                        ),
                    )?;
                }
                if let Some(q) = c.quota {
                    self.set(
                        "cpu",
                        "cpu.quota",
                        ("cpu.cfs_quota_us", q.to_string()),
                        ("cpu.max", format!("{} {period}", max(q))),
                    )?;
                }
            }
            if let Some(b) = c.burst {
                self.set(
                    "cpu",
                    "cpu.burst",
                    ("cpu.cfs_burst_us", b.to_string()),
                    ("cpu.max.burst", b.to_string()),
                )?;
            }
            if let Some(p) = c.realtime_period {
                self.set(
                    "cpu",
                    "cpu.realtimePeriod",
                    ("cpu.rt_period_us", p.to_string()),
                    ("", String::new()),
                )?;
            }
            if let Some(rt) = c.realtime_runtime {
                self.set(
                    "cpu",
                    "cpu.realtimeRuntime",
                    ("cpu.rt_runtime_us", rt.to_string()),
                    ("", String::new()),
                )?;
            }
            if let Some(idle) = c.idle {
                self.set(
                    "cpu",
                    "cpu.idle",
                    ("", String::new()),
                    ("cpu.idle", idle.to_string()),
                )?;
            }
            if let Some(cpus) = &c.cpus {
                self.set(
                    "cpuset",
                    "cpu.cpus",
                    ("cpuset.cpus", cpus.clone()),
                    ("cpuset.cpus", cpus.clone()),
                )?;
            }
            if let Some(mems) = &c.mems {
                self.set(
                    "cpuset",
                    "cpu.mems",
                    ("cpuset.mems", mems.clone()),
                    ("cpuset.mems", mems.clone()),
                )?;
            }
        }
        if let Some(b) = &r.block_io {
            self.apply_block_io(b)?;
        }
        for h in &r.hugepage_limits {
            let size = &h.page_size;
            if size.is_empty() || !size.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::BadConfig {
                    field: "linux.resources.hugepageLimits.pageSize",
                    expected: "a page size like 2MB",
                    found: size.clone(),
                });
            }
            let (v1, v2) = (
                format!("hugetlb.{size}.limit_in_bytes"),
                format!("hugetlb.{size}.max"),
            );
            self.set(
                "hugetlb",
                "hugepageLimits",
                (&v1, h.limit.to_string()),
                (&v2, h.limit.to_string()),
            )?;
            // The reservation limit, where the kernel has one, follows the
            // fault limit (as runc does) so reserved pages are capped too.
            let (v1, v2) = (
                format!("hugetlb.{size}.rsvd.limit_in_bytes"),
                format!("hugetlb.{size}.rsvd.max"),
            );
            if let Some(p) = self.file("hugetlb", &v1, &v2).filter(|p| p.exists()) {
                write(&p, &h.limit.to_string())?;
            }
        }
        if let Some(n) = &r.network {
            if let Some(id) = n.class_id {
                self.set(
                    "net_cls",
                    "network.classID",
                    ("net_cls.classid", id.to_string()),
                    ("", String::new()),
                )?;
            }
            for p in &n.priorities {
                self.set(
                    "net_prio",
                    "network.priorities",
                    ("net_prio.ifpriomap", format!("{} {}", p.name, p.priority)),
                    ("", String::new()),
                )?;
            }
        }
        for (device, limit) in &r.rdma {
            let mut line = device.clone();
            if let Some(h) = limit.hca_handles {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = limit.hca_objects {
                line.push_str(&format!(" hca_object={o}"));
            }
            self.set(
                "rdma",
                "rdma",
                ("rdma.max", line.clone()),
                ("rdma.max", line),
            )?;
        }
        if !r.unified.is_empty() {
            let (_, dir) =
                self.dirs
                    .iter()
                    .find(|(h, _)| h.v2)
                    .ok_or(Error::ControllerMissing {
                        controller: "cgroup2",
                        setting: "unified",
                    })?;
            for (key, value) in &r.unified {
                if key.contains('/') || key.starts_with('.') {
                    return Err(Error::BadConfig {
                        field: "linux.resources.unified",
                        expected: "a cgroup interface file name",
                        found: key.clone(),
                    });
                }
                write(&dir.join(key), value)?;
            }
        }
        if !r.devices.is_empty() {
            if let Some((_, dir)) = self
                .dirs
                .iter()
                .find(|(h, _)| h.controllers.iter().any(|c| c == "devices"))
            {
                for rule in device_rules(r) {
                    let (file, line) = rule;
                    write(&dir.join(file), &line)?;
                }
            } else if let Some((_, dir)) = self.dirs.iter().find(|(h, _)| h.v2) {
                // Pure cgroup v2: an eBPF program does the controller's job.
                match devicefilter::install(dir, &device_rules(r)) {
                    Ok(()) => {}
                    // As runc: an unprivileged user cannot load the
                    // program, and cannot create device nodes either.
                    Err(Error::Io { source, .. })
                        if !rustix::process::geteuid().is_root()
                            && source.kind() == io::ErrorKind::PermissionDenied =>
                    {
                        tracing::debug!("rootless: device rules not enforced by eBPF: {source}");
                    }
                    Err(e) => return Err(e),
                }
            } else {
                return Err(Error::ControllerMissing {
                    controller: "devices",
                    setting: "devices",
                });
            }
        }
        Ok(())
    }
}

impl Cgroup {
    /// `linux.resources.blockIO`: the v1 `blkio` group, else the v2 group
    /// with the `io` controller.
    pub(super) fn apply_block_io(&self, b: &BlockIo) -> Result<()> {
        let v1 = self
            .dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == "blkio"))
            .map(|(_, d)| (d, false));
        let v2 = || {
            self.dirs
                .iter()
                .filter(|(h, _)| h.v2)
                .map(|(_, d)| d)
                .find(|d| d.join("io.max").exists())
                .map(|d| (d, true))
        };
        let (dir, is_v2) = v1.or_else(v2).ok_or(Error::ControllerMissing {
            controller: "blkio",
            setting: "blockIO",
        })?;
        for (file, value) in block_io_writes(b, is_v2, &|f| dir.join(f).exists())? {
            write(&dir.join(file), &value)?;
        }
        Ok(())
    }
}

/// The (file, value) writes for `blockIO`, one per line the kernel
/// takes, on v1 (`blkio.*`) or v2 (`io.*`). Weights go to the BFQ file
/// where it `exists`, else to the CFQ (v1) or `io.weight` (v2) one; a
/// weight with neither file is an error rather than silently dropped.
pub(crate) fn block_io_writes(
    b: &BlockIo,
    v2: bool,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    let missing = |setting| Error::ControllerMissing {
        controller: "blkio weight (BFQ or CFQ group scheduling)",
        setting,
    };
    // blkio weights are 10-1000; io.weight is 1-10000 (runc's mapping).
    let weight = |w: u16| -> (&'static str, String) {
        if v2 {
            if exists("io.bfq.weight") {
                ("io.bfq.weight", w.to_string())
            } else {
                let w = u64::from(w.clamp(10, 1000));
                ("io.weight", (1 + (w - 10) * 9999 / 990).to_string())
            }
        } else if exists("blkio.bfq.weight") {
            ("blkio.bfq.weight", w.to_string())
        } else {
            ("blkio.weight", w.to_string())
        }
    };
    if let Some(w) = b.weight {
        let (file, value) = weight(w);
        if !exists(file) {
            return Err(missing("blockIO.weight"));
        }
        out.push((
            file,
            if v2 {
                format!("default {value}")
            } else {
                value
            },
        ));
    }
    if b.leaf_weight.is_some() || b.weight_device.iter().any(|d| d.leaf_weight.is_some()) {
        if v2 || !exists("blkio.leaf_weight") {
            return Err(missing("blockIO.leafWeight"));
        }
        if let Some(w) = b.leaf_weight {
            out.push(("blkio.leaf_weight", w.to_string()));
        }
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            let (file, value) = weight(w);
            if !exists(file) {
                return Err(missing("blockIO.weightDevice"));
            }
            let file = match file {
                "blkio.bfq.weight" => "blkio.bfq.weight_device",
                "blkio.weight" => "blkio.weight_device",
                // v2 takes per-device lines in the same file.
                _ => file,
            };
            out.push((file, format!("{}:{} {value}", d.major, d.minor)));
        }
        if let Some(w) = d.leaf_weight {
            out.push((
                "blkio.leaf_weight_device",
                format!("{}:{} {w}", d.major, d.minor),
            ));
        }
    }
    let throttles = [
        (&b.throttle_read_bps_device, "read_bps_device", "rbps"),
        (&b.throttle_write_bps_device, "write_bps_device", "wbps"),
        (&b.throttle_read_iops_device, "read_iops_device", "riops"),
        (&b.throttle_write_iops_device, "write_iops_device", "wiops"),
    ];
    for (devices, v1_name, v2_key) in throttles {
        for d in devices {
            let rate = d.rate.unwrap_or(0);
            if v2 {
                let value = if rate == 0 {
                    "max".to_owned()
                } else {
                    rate.to_string()
                };
                out.push((
                    "io.max",
                    format!("{}:{} {v2_key}={value}", d.major, d.minor),
                ));
            } else {
                let file = match v1_name {
                    "read_bps_device" => "blkio.throttle.read_bps_device",
                    "write_bps_device" => "blkio.throttle.write_bps_device",
                    "read_iops_device" => "blkio.throttle.read_iops_device",
                    _ => "blkio.throttle.write_iops_device",
                };
                out.push((file, format!("{}:{} {rate}", d.major, d.minor)));
            }
        }
    }
    Ok(out)
}
