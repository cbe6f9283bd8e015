//! Resource usage read from a container's cgroup, shaped like runc's
//! `types.Stats` (`runc events --stats`), for cgroup v1 and v2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroup::Cgroup;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A container's resource usage, with runc's JSON field names (the
/// `data` of a `runc events --stats` event; runc's `intel_rdt` and
/// `network_interfaces`, which this engine does not measure, are left to
/// the caller).
///
/// Values a host does not provide are 0 (or empty), as in runc.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// CPU time and throttling.
    #[serde(default)]
    pub cpu: CpuStats,
    /// The cpuset the group may use.
    #[serde(default)]
    pub cpuset: CpusetStats,
    /// Memory use and limits.
    #[serde(default)]
    pub memory: MemoryStats,
    /// Task counts.
    #[serde(default)]
    pub pids: PidsStats,
    /// Block I/O counters.
    #[serde(default)]
    pub blkio: BlkioStats,
    /// Huge page use by page size (`2MB`, ...); always empty today.
    #[serde(default)]
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// CPU statistics (runc's `cpu`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CpuStats {
    /// CPU time used.
    #[serde(default)]
    pub usage: CpuUsage,
    /// CFS bandwidth throttling.
    #[serde(default)]
    pub throttling: Throttling,
}

/// CPU time in nanoseconds (runc's `cpu.usage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CpuUsage {
    /// Total CPU time (v1 `cpuacct.usage`, v2 `cpu.stat` `usage_usec`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Per-CPU time (v1 `cpuacct.usage_percpu`; empty on v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Per-CPU kernel time (v1 `cpuacct.usage_all`; empty on v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    /// Per-CPU user time (v1 `cpuacct.usage_all`; empty on v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    /// Time in the kernel (v1 `cpuacct.stat` `system`, v2 `system_usec`).
    #[serde(default)]
    pub kernel: u64,
    /// Time in user space (v1 `cpuacct.stat` `user`, v2 `user_usec`).
    #[serde(default)]
    pub user: u64,
}

/// CFS throttling counters (runc's `cpu.throttling`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Throttling {
    /// Enforcement periods elapsed (`nr_periods`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the group was throttled (`nr_throttled`).
    #[serde(rename = "throttledPeriods", default, skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Time throttled, in nanoseconds.
    #[serde(rename = "throttledTime", default, skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// The cpuset (runc's `cpuset`; only `cpus` and `mems` are read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CpusetStats {
    /// CPUs the group may run on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    /// Memory nodes the group may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
}

/// Memory statistics (runc's `memory`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Page cache (v1 `cache`, v2 `file` of `memory.stat`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory use.
    #[serde(default)]
    pub usage: MemoryEntry,
    /// Memory plus swap use.
    #[serde(default)]
    pub swap: MemoryEntry,
    /// Kernel memory (v1 `memory.kmem.*`).
    #[serde(default)]
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1 `memory.kmem.tcp.*`).
    #[serde(rename = "kernelTCP", default)]
    pub kernel_tcp: MemoryEntry,
    /// Every counter of `memory.stat`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// One memory counter (runc's `MemoryEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryEntry {
    /// The limit in bytes; `u64::MAX` when unlimited on v2.
    #[serde(default)]
    pub limit: u64,
    /// Current use in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak use in bytes (v1 `max_usage_in_bytes`, v2 `memory.peak`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    #[serde(default)]
    pub failcnt: u64,
}

/// Task counts (runc's `pids`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PidsStats {
    /// Tasks in the group (`pids.current`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub current: u64,
    /// The limit (`pids.max`); 0 when unlimited.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Block I/O counters (runc's `blkio`; only bytes and operations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlkioStats {
    /// Bytes transferred per device and operation.
    #[serde(
        rename = "ioServiceBytesRecursive",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Operations per device and operation.
    #[serde(
        rename = "ioServicedRecursive",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One block I/O counter (runc's `BlkioEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlkioEntry {
    /// Device major number.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub major: u64,
    /// Device minor number.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The count.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value: u64,
}

/// Huge page use of one page size (runc's `Hugetlb`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HugetlbStats {
    /// Current use in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak use in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max: u64,
    /// How often the limit was hit.
    #[serde(default)]
    pub failcnt: u64,
}

fn text(path: Option<PathBuf>) -> String {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// A one-number file: `max` is `u64::MAX`, absent or garbage 0.
fn num(path: Option<PathBuf>) -> u64 {
    let t = text(path);
    match t.trim() {
        "max" => u64::MAX,
        t => t.parse().unwrap_or(0),
    }
}

/// A `key value` per line file (`memory.stat`, `cpu.stat`).
pub(crate) fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// A cpuset list (`0-3,5`).
pub(crate) fn cpu_list(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
            out.extend(a..=b);
        }
    }
    out
}

/// v1 `blkio.*_recursive` lines (`8:0 Read 4096`, `Total 4096`).
pub(crate) fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f.as_slice() else {
                return None;
            };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: (*op).to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`) as runc maps
/// it: bytes and operations, `Read` and `Write`.
pub(crate) fn blkio_v2(text: &str) -> BlkioStats {
    let mut s = BlkioStats::default();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut s.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.io_serviced_recursive, "Read"),
                "wios" => (&mut s.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }
    s
}

/// Nanoseconds per USER_HZ tick (100 on Linux) in `cpuacct.stat`.
const NS_PER_TICK: u64 = 10_000_000;

impl Cgroup {
    fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == controller))
            .map(|(_, d)| d.as_path())
    }

    fn v2_file(&self, name: &str) -> Option<PathBuf> {
        self.dirs
            .iter()
            .filter(|(h, _)| h.v2)
            .map(|(_, d)| d.join(name))
            .find(|p| p.exists())
    }

    /// How many times the kernel's OOM killer has killed a process of
    /// the group: `oom_kill` of v1 `memory.oom_control` or of v2
    /// `memory.events`; 0 where neither exists.
    pub(crate) fn oom_kills(&self) -> u64 {
        let file = match self.v1_dir("memory") {
            Some(dir) => Some(dir.join("memory.oom_control")),
            None => self.v2_file("memory.events"),
        };
        keyed(&text(file)).get("oom_kill").copied().unwrap_or(0)
    }

    /// The group's resource usage; files missing on this host read as 0.
    pub(crate) fn stats(&self) -> Stats {
        let mut s = Stats::default();
        // CPU time.
        if let Some(dir) = self.v1_dir("cpuacct") {
            let u = &mut s.cpu.usage;
            u.total = num(Some(dir.join("cpuacct.usage")));
            u.percpu = text(Some(dir.join("cpuacct.usage_percpu")))
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            // "cpu user system" per line after a header.
            for l in text(Some(dir.join("cpuacct.usage_all"))).lines().skip(1) {
                let f: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect();
                if let [_, user, system] = f.as_slice() {
                    u.percpu_user.push(*user);
                    u.percpu_kernel.push(*system);
                }
            }
            let st = keyed(&text(Some(dir.join("cpuacct.stat"))));
            u.user = st.get("user").copied().unwrap_or(0) * NS_PER_TICK;
            u.kernel = st.get("system").copied().unwrap_or(0) * NS_PER_TICK;
        } else if let Some(p) = self.v2_file("cpu.stat") {
            let st = keyed(&text(Some(p)));
            let get = |k: &str| st.get(k).copied().unwrap_or(0);
            s.cpu.usage.total = get("usage_usec") * 1000;
            s.cpu.usage.user = get("user_usec") * 1000;
            s.cpu.usage.kernel = get("system_usec") * 1000;
            s.cpu.throttling = Throttling {
                periods: get("nr_periods"),
                throttled_periods: get("nr_throttled"),
                throttled_time: get("throttled_usec") * 1000,
            };
        }
        if let Some(dir) = self.v1_dir("cpu") {
            let st = keyed(&text(Some(dir.join("cpu.stat"))));
            let get = |k: &str| st.get(k).copied().unwrap_or(0);
            s.cpu.throttling = Throttling {
                periods: get("nr_periods"),
                throttled_periods: get("nr_throttled"),
                throttled_time: get("throttled_time"),
            };
        }
        // cpuset.
        let cpus = self.file("cpuset", "cpuset.cpus", "cpuset.cpus.effective");
        s.cpuset.cpus = cpu_list(&text(cpus));
        let mems = self.file("cpuset", "cpuset.mems", "cpuset.mems.effective");
        s.cpuset.mems = cpu_list(&text(mems));
        // Memory.
        if let Some(dir) = self.v1_dir("memory") {
            let entry = |prefix: &str| MemoryEntry {
                limit: num(Some(dir.join(format!("{prefix}limit_in_bytes")))),
                usage: num(Some(dir.join(format!("{prefix}usage_in_bytes")))),
                max: num(Some(dir.join(format!("{prefix}max_usage_in_bytes")))),
                failcnt: num(Some(dir.join(format!("{prefix}failcnt")))),
            };
            s.memory.usage = entry("memory.");
            s.memory.swap = entry("memory.memsw.");
            s.memory.kernel = entry("memory.kmem.");
            s.memory.kernel_tcp = entry("memory.kmem.tcp.");
            s.memory.raw = keyed(&text(Some(dir.join("memory.stat"))));
            s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        } else if let Some(current) = self.v2_file("memory.current") {
            let usage = num(Some(current));
            let events = keyed(&text(self.v2_file("memory.events")));
            s.memory.usage = MemoryEntry {
                limit: num(self.v2_file("memory.max")),
                usage,
                max: num(self.v2_file("memory.peak")),
                failcnt: events.get("max").copied().unwrap_or(0),
            };
            // runc reports v2 swap as memory plus swap, like v1 memsw.
            if let Some(swap) = self.v2_file("memory.swap.current") {
                s.memory.swap = MemoryEntry {
                    limit: num(self.v2_file("memory.swap.max"))
                        .saturating_add(s.memory.usage.limit),
                    usage: num(Some(swap)) + usage,
                    max: 0,
                    failcnt: 0,
                };
            }
            s.memory.raw = keyed(&text(self.v2_file("memory.stat")));
            s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
        }
        // Pids.
        s.pids.current = num(self.file("pids", "pids.current", "pids.current"));
        let limit = num(self.file("pids", "pids.max", "pids.max"));
        s.pids.limit = if limit == u64::MAX { 0 } else { limit };
        // Block I/O.
        if let Some(dir) = self.v1_dir("blkio") {
            let read = |a: &str, b: &str| {
                let t = text(Some(dir.join(a)));
                blkio_v1(
                    if t.trim().is_empty() {
                        text(Some(dir.join(b)))
                    } else {
                        t
                    }
                    .as_str(),
                )
            };
            s.blkio.io_service_bytes_recursive = read(
                "blkio.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes_recursive",
            );
            s.blkio.io_serviced_recursive = read(
                "blkio.io_serviced_recursive",
                "blkio.throttle.io_serviced_recursive",
            );
        } else if let Some(p) = self.v2_file("io.stat") {
            s.blkio = blkio_v2(&text(Some(p)));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(cpu_list("0-2,5\n"), [0, 1, 2, 5]);
        assert_eq!(cpu_list(""), Vec::<u16>::new());
        let k = keyed("usage_usec 10\nuser_usec 7\nbad\n");
        assert_eq!(k["usage_usec"], 10);
        assert_eq!(k.len(), 2);
        let v1 = blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(v1.len(), 2);
        assert_eq!(
            (v1[0].major, v1[0].op.as_str(), v1[0].value),
            (8, "Read", 4096)
        );
        let v2 = blkio_v2("259:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
        assert_eq!(v2.io_service_bytes_recursive.len(), 2);
        assert_eq!(v2.io_serviced_recursive[1].value, 4);
    }

    #[test]
    fn json_keys_are_runcs() {
        let mut s = Stats::default();
        s.cpu.usage.total = 5;
        s.cpu.throttling.throttled_periods = 1;
        s.memory.usage.usage = 3;
        s.pids.current = 1;
        let v = serde_json::to_value(&s).unwrap();
        for key in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert_eq!(v["cpu"]["throttling"]["throttledPeriods"], 1);
        assert!(v["memory"].get("kernelTCP").is_some());
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"]["usage"].get("max").is_none(), "omitempty");
        assert_eq!(v["pids"]["current"], 1);
        let back: Stats = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
