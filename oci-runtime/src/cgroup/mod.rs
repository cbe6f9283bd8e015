//! Control groups: finding the hierarchies (pure v1, pure v2 or hybrid),
//! creating the container's group in each, applying limits, removing it.

pub(crate) mod devicefilter;
pub(crate) mod devices;
mod freezer;
mod kernel_tcp;
mod limits;
pub(crate) mod stats;

pub(crate) use crate::cgroup::devices::allow_devices;
pub(crate) use crate::cgroup::freezer::FreezerState;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// One cgroup hierarchy to show inside the container when a `cgroup`
/// mount is asked for on a v1 or hybrid host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CgroupBind {
    /// Directory name under the mount (`memory`, `cpu,cpuacct`, `unified`).
    pub(crate) name: String,
    /// The container's cgroup directory on the host.
    pub(crate) host_dir: PathBuf,
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
mod tests;
