//! Control groups: finding the hierarchies (pure v1, pure v2 or hybrid),
//! creating the container's group in each, applying limits, removing it.

use std::io;
use std::path::{Path, PathBuf};

use ocikit_types::runtime::{BlockIo, Device, DeviceCgroup, Resources};
use serde::{Deserialize, Serialize};

use crate::setup::rootfs::CgroupBind;
use crate::{Error, Result};

mod devicefilter;
pub(crate) mod stats;

const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hierarchy {
    /// The mount point's last component (`memory`, `cpu,cpuacct`, `unified`).
    pub(crate) name: String,
    /// The v1 controllers it carries; empty for cgroup2.
    pub(crate) controllers: Vec<String>,
    pub(crate) mountpoint: PathBuf,
    pub(crate) v2: bool,
}

/// Parses /proc/self/mountinfo text into the cgroup hierarchies, one per
/// set of controllers (bind mounts of the same hierarchy are skipped).
pub(crate) fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 {
            continue;
        }
        // Only the hierarchy's root is usable as a base for new groups.
        if left[3] != "/" {
            continue;
        }
        let mountpoint = PathBuf::from(left[4].replace("\\040", " "));
        let name = mountpoint
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let h = match right[0] {
            "cgroup2" => Hierarchy {
                name,
                controllers: Vec::new(),
                mountpoint,
                v2: true,
            },
            "cgroup" => {
                let controllers: Vec<String> = right[2]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(String::from)
                    .collect();
                if controllers.is_empty() {
                    continue;
                }
                Hierarchy {
                    name,
                    controllers,
                    mountpoint,
                    v2: false,
                }
            }
            _ => continue,
        };
        if !out
            .iter()
            .any(|o| o.v2 == h.v2 && o.controllers == h.controllers)
        {
            out.push(h);
        }
    }
    out
}

/// The hierarchies of this host.
pub(crate) fn hierarchies() -> Result<Vec<Hierarchy>> {
    let path = "/proc/self/mountinfo";
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    Ok(parse_mountinfo(&text))
}

/// The container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cgroup {
    pub(crate) dirs: Vec<(Hierarchy, PathBuf)>,
}

/// How the init enters the container's cgroup by itself, never taking
/// the write side of the kernel's global migration lock
/// (`cgroup_threadgroup_rwsem`), whose first writer after a quiet spell
/// waits for an RCU grace period: 5 to 30 ms here, right after another
/// runtime ran. Writing a pid to `cgroup.procs` takes it; a
/// single-threaded process writing `0` to a v1 `tasks` file (moving
/// itself) and a clone into a cgroup2 group do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The `tasks` file of the group in each v1 hierarchy.
    pub(crate) v1_tasks: Vec<PathBuf>,
    /// The group in the cgroup2 hierarchy, if the host has one.
    pub(crate) v2_dir: Option<PathBuf>,
}

/// The relative cgroup path for a config's `cgroupsPath`.
pub(crate) fn relative_path(cgroups_path: &str, id: &str) -> Result<PathBuf> {
    if cgroups_path.is_empty() {
        return Ok(PathBuf::from("ocikit").join(id));
    }
    if cgroups_path.contains(':') {
        return Err(Error::Unsupported {
            feature: "systemd cgroup path (slice:prefix:name)",
        });
    }
    let rel = cgroups_path.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") || rel.is_empty() {
        return Err(Error::BadConfig {
            field: "linux.cgroupsPath",
            expected: "a path without '..' below the cgroup root",
            found: cgroups_path.to_owned(),
        });
    }
    Ok(PathBuf::from(rel))
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| Error::io("write cgroup file", path, e))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io("read cgroup file", path, e))
}

impl Cgroup {
    /// Creates the group `rel` in every hierarchy.
    pub(crate) fn create(hierarchies: &[Hierarchy], rel: &Path) -> Result<Cgroup> {
        let mut dirs = Vec::new();
        for h in hierarchies {
            let dir = h.mountpoint.join(rel);
            if h.v2 {
                enable_v2_controllers(&h.mountpoint, rel);
            }
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create cgroup", &dir, e))?;
            if h.controllers.iter().any(|c| c == "cpuset") {
                // A v1 cpuset group refuses tasks until cpus and mems are set.
                let mut cur = h.mountpoint.clone();
                for c in rel.components() {
                    let parent = cur.clone();
                    cur.push(c);
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        if read(&cur.join(f))?.trim().is_empty() {
                            write(&cur.join(f), &read(&parent.join(f))?)?;
                        }
                    }
                }
            }
            dirs.push((h.clone(), dir));
        }
        Ok(Cgroup { dirs })
    }

    /// Moves process `pid` into the group in every hierarchy.
    pub(crate) fn add(&self, pid: u32) -> Result<()> {
        for (_, dir) in &self.dirs {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// How the init enters this group itself (see [`Entry`]).
    pub(crate) fn entry(&self) -> Entry {
        let mut e = Entry::default();
        for (h, dir) in &self.dirs {
            if h.v2 {
                e.v2_dir = Some(dir.clone());
            } else {
                e.v1_tasks.push(dir.join("tasks"));
            }
        }
        e
    }

    /// The processes in the group.
    pub(crate) fn procs(&self) -> Result<Vec<u32>> {
        let Some((_, dir)) = self
            .dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == "pids" || c == "freezer"))
            .or(self.dirs.first())
        else {
            return Ok(Vec::new());
        };
        Ok(read(&dir.join("cgroup.procs"))?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
    }

    /// The freezer of the group: the v1 `freezer` hierarchy, else the
    /// cgroup2 group when it has `cgroup.freeze` (not in the root group).
    fn freezer(&self) -> Option<Freezer> {
        if let Some((_, dir)) = self
            .dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == "freezer"))
        {
            return Some(Freezer::V1(dir.clone()));
        }
        self.dirs
            .iter()
            .filter(|(h, _)| h.v2)
            .map(|(_, dir)| dir)
            .find(|dir| dir.join("cgroup.freeze").exists())
            .map(|dir| Freezer::V2(dir.clone()))
    }

    /// Whether the group is frozen (or freezing); false without a freezer.
    pub(crate) fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some(Freezer::V1(dir)) => std::fs::read_to_string(dir.join("freezer.state"))
                .is_ok_and(|s| s.trim() != "THAWED"),
            Some(Freezer::V2(dir)) => {
                std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
            }
            None => false,
        }
    }

    /// Freezes (`FreezerState::Frozen`) or thaws the group, waiting until
    /// the kernel reports every task frozen.
    pub(crate) fn freeze(&self, state: FreezerState) -> Result<()> {
        let freezer = self.freezer().ok_or(Error::ControllerMissing {
            controller: "freezer",
            setting: "pause",
        })?;
        let frozen = state == FreezerState::Frozen;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        match &freezer {
            Freezer::V1(dir) => {
                let file = dir.join("freezer.state");
                let want = if frozen { "FROZEN" } else { "THAWED" };
                let mut tries = 0u32;
                loop {
                    // Re-writing FROZEN retries tasks that were busy (in
                    // vfork, say) on the previous attempt, as runc does.
                    if tries % 10 == 0 {
                        write(&file, want)?;
                    }
                    if read(&file)?.trim() == want {
                        return Ok(());
                    }
                    if std::time::Instant::now() > deadline {
                        break;
                    }
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if frozen {
                    let _ = write(&file, "THAWED");
                }
                Err(Error::io(
                    "freeze cgroup",
                    file,
                    io::Error::from(io::ErrorKind::TimedOut),
                ))
            }
            Freezer::V2(dir) => {
                write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
                let events = dir.join("cgroup.events");
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                loop {
                    if read(&events)?.lines().any(|l| l.trim() == want) {
                        return Ok(());
                    }
                    if std::time::Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if frozen {
                    let _ = write(&dir.join("cgroup.freeze"), "0");
                }
                Err(Error::io(
                    "freeze cgroup",
                    events,
                    io::Error::from(io::ErrorKind::TimedOut),
                ))
            }
        }
    }

    /// For a `cgroup` mount inside the container.
    pub(crate) fn binds(&self) -> Vec<CgroupBind> {
        self.dirs
            .iter()
            .map(|(h, dir)| CgroupBind {
                name: h.name.clone(),
                host_dir: dir.clone(),
            })
            .collect()
    }

    /// Removes the group from every hierarchy, waiting briefly for exiting
    /// processes to leave it.
    pub(crate) fn remove(&self) -> Result<()> {
        for (_, dir) in &self.dirs {
            let mut tries = 0;
            loop {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e) => return Err(Error::io("remove cgroup", dir, e)),
                }
            }
        }
        Ok(())
    }

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

    fn set(
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

    /// Applies the limits of `resources`: memory, pids, cpu, cpuset,
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
            if m.kernel.is_some() || m.kernel_tcp.is_some() {
                tracing::warn!("memory.kernel and memory.kernelTCP are deprecated and ignored");
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
    fn apply_block_io(&self, b: &BlockIo) -> Result<()> {
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

/// Where a group's freezer lives.
#[derive(Debug)]
enum Freezer {
    /// A v1 `freezer` group directory (`freezer.state`).
    V1(PathBuf),
    /// A cgroup2 group directory (`cgroup.freeze`, `cgroup.events`).
    V2(PathBuf),
}

/// What [`Cgroup::freeze`] makes of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FreezerState {
    /// Every task stopped.
    Frozen,
    /// Running again.
    Thawed,
}

/// `r` with an allow rule appended for each of `devices` (linux.devices)
/// that a device cgroup governs, as runc does: a container may use the
/// devices its config creates even under a deny-all rule. Unchanged when
/// `r` has no device rules.
pub(crate) fn allow_devices(r: &Resources, devices: &[Device]) -> Resources {
    let mut r = r.clone();
    if r.devices.is_empty() {
        return r;
    }
    for d in devices {
        let kind = match d.kind.as_str() {
            "c" | "u" => "c",
            "b" => "b",
            _ => continue,
        };
        let mut rule = DeviceCgroup::all(true);
        rule.kind = Some(kind.to_owned());
        rule.major = d.major;
        rule.minor = d.minor;
        r.devices.push(rule);
    }
    r
}

/// The v1 device rules for `r`, then the devices every container gets
/// (the ones the engine creates in /dev, plus ptmx and the pts).
pub(crate) fn device_rules(r: &Resources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let num = |n: Option<i64>| n.map_or("*".to_owned(), |n| n.to_string());
    for d in &r.devices {
        let file = if d.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        let kind = d.kind.clone().unwrap_or_else(|| "a".into());
        let access = d.access.clone().unwrap_or_else(|| "rwm".into());
        if kind == "a" && d.major.is_none() && d.minor.is_none() {
            out.push((file, "a".to_owned()));
        } else {
            out.push((
                file,
                format!("{kind} {}:{} {access}", num(d.major), num(d.minor)),
            ));
        }
    }
    for (ma, mi) in [
        "1:3", "1:5", "1:7", "1:8", "1:9", "5:0", "5:1", "5:2", "136:*",
    ]
    .map(|s| s.split_once(':').unwrap_or(("", "")))
    {
        out.push(("devices.allow", format!("c {ma}:{mi} rwm")));
    }
    out
}

/// Enables the common v2 controllers in every ancestor of `rel`, so the
/// new group gets their interface files. Failures only mean a limit will
/// later report its controller missing.
fn enable_v2_controllers(mount: &Path, rel: &Path) {
    let available = std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<String> = available
        .split_whitespace()
        .filter(|c| ["cpu", "cpuset", "memory", "pids", "io", "hugetlb"].contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    let mut cur = mount.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        cur.push(c);
        let _ = std::fs::create_dir_all(&cur);
    }
    let mut cur = mount.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        for w in &wanted {
            if let Err(e) = std::fs::write(cur.join("cgroup.subtree_control"), w) {
                tracing::debug!(dir = %cur.display(), controller = %w, error = %e, "cannot enable cgroup controller");
            }
        }
        if i + 1 < comps.len() {
            cur.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
28 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
29 26 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
30 26 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:12 - cgroup cgroup rw,xattr,name=systemd
31 26 0:27 /sub /mnt/memsub rw,nosuid shared:11 - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_layout() {
        let h = parse_mountinfo(HYBRID);
        let names: Vec<_> = h.iter().map(|h| (h.name.as_str(), h.v2)).collect();
        assert_eq!(
            names,
            [("unified", true), ("cpu,cpuacct", false), ("memory", false)]
        );
        assert_eq!(h[1].controllers, ["cpu", "cpuacct"]);
    }

    #[test]
    fn pure_v2_layout() {
        let h = parse_mountinfo("35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        assert_eq!(h.len(), 1);
        assert!(h[0].v2);
        assert_eq!(h[0].mountpoint, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn paths() {
        assert_eq!(relative_path("", "c1").unwrap(), Path::new("ocikit/c1"));
        assert_eq!(relative_path("/a/b", "c1").unwrap(), Path::new("a/b"));
        assert!(relative_path("/a/../..", "c").is_err());
        assert!(matches!(
            relative_path("system.slice:ocikit:c", "c"),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn limits_go_to_v1_or_v2_files() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = dir.path().join("memory/c");
        let v2 = dir.path().join("unified/c");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("pids.max"), "max").unwrap();
        let h = |name: &str, c: &[&str], v2| Hierarchy {
            name: name.into(),
            controllers: c.iter().map(|s| s.to_string()).collect(),
            mountpoint: dir.path().join(name),
            v2,
        };
        let cg = Cgroup {
            dirs: vec![
                (h("memory", &["memory"], false), v1.clone()),
                (h("unified", &[], true), v2.clone()),
            ],
        };
        let mut r = Resources::default();
        let mut m = ocikit_types::runtime::Memory::default();
        m.limit = Some(1 << 20);
        r.memory = Some(m);
        r.pids = Some(ocikit_types::runtime::Pids::new(10));
        cg.apply(&r).unwrap();
        assert_eq!(
            std::fs::read_to_string(v1.join("memory.limit_in_bytes")).unwrap(),
            "1048576"
        );
        assert_eq!(std::fs::read_to_string(v2.join("pids.max")).unwrap(), "10");
        r.pids = None;
        let mut cpu = ocikit_types::runtime::Cpu::default();
        cpu.shares = Some(512);
        r.cpu = Some(cpu);
        let e = cg.apply(&r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cgroup controller cpu is not available on this host (needed for cpu.shares)"
        );
    }

    #[test]
    fn block_io_files() {
        use ocikit_types::runtime::{ThrottleDevice, WeightDevice};
        let mut b = BlockIo::default();
        let mut t = ThrottleDevice::default();
        t.major = 254;
        t.rate = Some(1 << 20);
        b.throttle_read_bps_device = vec![t.clone()];
        t.rate = Some(0);
        b.throttle_write_iops_device = vec![t];
        let none = |_: &str| false;
        assert_eq!(
            block_io_writes(&b, false, &none).unwrap(),
            [
                ("blkio.throttle.read_bps_device", "254:0 1048576".to_owned()),
                ("blkio.throttle.write_iops_device", "254:0 0".to_owned()),
            ]
        );
        assert_eq!(
            block_io_writes(&b, true, &none).unwrap(),
            [
                ("io.max", "254:0 rbps=1048576".to_owned()),
                ("io.max", "254:0 wiops=max".to_owned()),
            ]
        );
        b = BlockIo::default();
        b.weight = Some(500);
        let mut wd = WeightDevice::default();
        wd.major = 8;
        wd.weight = Some(10);
        b.weight_device = vec![wd];
        let e = block_io_writes(&b, false, &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cgroup controller blkio weight (BFQ or CFQ group scheduling) is not available \
             on this host (needed for blockIO.weight)"
        );
        let cfq = |f: &str| f == "blkio.weight";
        assert_eq!(
            block_io_writes(&b, false, &cfq).unwrap(),
            [
                ("blkio.weight", "500".to_owned()),
                ("blkio.weight_device", "8:0 10".to_owned()),
            ]
        );
        let bfq = |f: &str| f == "blkio.bfq.weight";
        assert_eq!(
            block_io_writes(&b, false, &bfq).unwrap()[1],
            ("blkio.bfq.weight_device", "8:0 10".to_owned())
        );
        let io = |f: &str| f == "io.weight";
        assert_eq!(
            block_io_writes(&b, true, &io).unwrap(),
            [
                ("io.weight", "default 4950".to_owned()),
                ("io.weight", "8:0 1".to_owned()),
            ]
        );
        b.leaf_weight = Some(100);
        assert!(block_io_writes(&b, true, &io).is_err());
    }

    #[test]
    fn hugepages_network_rdma_files() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = dir.path().join("unified/c");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("hugetlb.2MB.max"), "max").unwrap();
        std::fs::write(v2.join("hugetlb.2MB.rsvd.max"), "max").unwrap();
        let cg = Cgroup {
            dirs: vec![(
                Hierarchy {
                    name: "unified".into(),
                    controllers: Vec::new(),
                    mountpoint: dir.path().join("unified"),
                    v2: true,
                },
                v2.clone(),
            )],
        };
        let mut r = Resources::default();
        r.hugepage_limits = vec![ocikit_types::runtime::HugepageLimit::new("2MB", 4 << 20)];
        cg.apply(&r).unwrap();
        for f in ["hugetlb.2MB.max", "hugetlb.2MB.rsvd.max"] {
            assert_eq!(std::fs::read_to_string(v2.join(f)).unwrap(), "4194304");
        }
        r.hugepage_limits = vec![ocikit_types::runtime::HugepageLimit::new("../x", 1)];
        assert!(matches!(cg.apply(&r), Err(Error::BadConfig { .. })));
        r.hugepage_limits.clear();
        let mut n = ocikit_types::runtime::Network::default();
        n.class_id = Some(7);
        r.network = Some(n);
        assert!(matches!(
            cg.apply(&r),
            Err(Error::ControllerMissing {
                controller: "net_cls",
                ..
            })
        ));
        r.network = None;
        r.rdma
            .insert("mlx4_0".into(), ocikit_types::runtime::Rdma::default());
        assert!(matches!(
            cg.apply(&r),
            Err(Error::ControllerMissing {
                controller: "rdma",
                ..
            })
        ));
    }

    #[test]
    fn configured_devices_are_allowed() {
        let mut r = Resources::default();
        r.devices = vec![DeviceCgroup::all(false)];
        let mut c = Device::new("c", "/dev/test1");
        (c.major, c.minor) = (Some(10), Some(666));
        let mut b = Device::new("b", "/dev/test2");
        (b.major, b.minor) = (Some(8), Some(666));
        let p = Device::new("p", "/dev/test3");
        let rules = device_rules(&allow_devices(&r, &[c, b, p]));
        assert_eq!(rules[0], ("devices.deny", "a".to_owned()));
        assert_eq!(rules[1], ("devices.allow", "c 10:666 rwm".to_owned()));
        assert_eq!(rules[2], ("devices.allow", "b 8:666 rwm".to_owned()));
        assert_eq!(rules[3], ("devices.allow", "c 1:3 rwm".to_owned()));
        assert!(
            allow_devices(&Resources::default(), &[Device::new("c", "/dev/x")])
                .devices
                .is_empty()
        );
    }

    #[test]
    fn default_device_rules() {
        let mut r = Resources::default();
        r.devices = vec![ocikit_types::runtime::DeviceCgroup::all(false)];
        let rules = device_rules(&r);
        assert_eq!(rules[0], ("devices.deny", "a".to_owned()));
        assert!(rules.contains(&("devices.allow", "c 1:3 rwm".to_owned())));
        assert!(rules.contains(&("devices.allow", "c 136:* rwm".to_owned())));
    }

    #[test]
    fn device_rules_without_devices_controller_or_cgroup2_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = dir.path().join("memory/c");
        std::fs::create_dir_all(&v1).unwrap();
        let cg = Cgroup {
            dirs: vec![(
                Hierarchy {
                    name: "memory".into(),
                    controllers: vec!["memory".into()],
                    mountpoint: dir.path().join("memory"),
                    v2: false,
                },
                v1,
            )],
        };
        let mut r = Resources::default();
        r.devices = vec![DeviceCgroup::all(false)];
        assert!(matches!(
            cg.apply(&r),
            Err(Error::ControllerMissing {
                controller: "devices",
                ..
            })
        ));
    }
}
